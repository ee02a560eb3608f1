"""Placeholder for the contract checks (replaced on merge by the real module).

Only the shared interface is here, so the plan command and its tests run on this branch.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from .reachability import Edge
from .recording import Recorded


@dataclass(frozen=True)
class Violation:
    resource: str
    rule: str
    detail: str


def find_violations(resources: Sequence[Recorded], edges: Sequence[Edge]) -> list[Violation]:
    return []
