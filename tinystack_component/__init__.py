"""TinyStack: a secure, cheap, multi-AZ AWS home for a container app, as one Pulumi component."""

from .args import (
    BastionArgs,
    DatabaseArgs,
    DatabaseEngine,
    FrontEnd,
    TinyStackArgs,
    TinyStackArgsError,
)
from .tinystack import TinyStack

__all__ = [
    "BastionArgs",
    "DatabaseArgs",
    "DatabaseEngine",
    "FrontEnd",
    "TinyStack",
    "TinyStackArgs",
    "TinyStackArgsError",
]
