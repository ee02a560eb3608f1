"""Placeholder for the reachability analysis (replaced on merge by the real module).

Only the shared interface is here, so the plan command and its tests run on this branch.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from .recording import Recorded


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    ports: tuple[str, ...]
    sources: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()


def find_edges(resources: Sequence[Recorded]) -> list[Edge]:
    return []
