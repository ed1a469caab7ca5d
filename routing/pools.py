"""Pool strategies: who among the reps able to take a lead gets it.

`round_robin` is smooth weighted round robin (the algorithm nginx uses for weighted upstreams): each
turn every eligible rep's current weight grows by its weight, the rep with the highest current
weight wins (the first in pool order on a tie) and gives back the sum of the eligible weights. Over
any run of turns each rep's share of turns tracks weight / total weight within one turn, interleaved
rather than in bursts (weights 3:1 give a a b a, not a a a b). The state is a small map of current
weights per pool, persisted in ops.routing_pools, so the rotation continues across runs.

`fewest` gives the lead to the eligible rep with the fewest assignments in the pool's period (day,
week or month, UTC) per unit of weight; ties go to the first in pool order. Its state is the counts,
read from the assignments themselves, so there is nothing to persist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["PoolState", "pick_fewest", "pick_round_robin"]


@dataclass
class PoolState:
    """One pool's round-robin state: rep email (lower-cased) -> current weight, turns handed out."""

    current: dict[str, float] = field(default_factory=dict)
    turns: int = 0

    def snapshot(self, reps: list[str]) -> list[float]:
        """The current weights in pool order (the audit stores them next to the candidates)."""
        current = self.current
        return [current.get(rep, 0.0) for rep in reps]


def pick_round_robin(state: PoolState, eligible: list[tuple[str, float]]) -> str:
    """Take one turn among `eligible` (rep, weight) in pool order; returns the rep, updates state."""
    total = 0.0
    best: str | None = None
    best_weight = 0.0
    current = state.current
    for rep, weight in eligible:
        value = current.get(rep, 0.0) + weight
        current[rep] = value
        total += weight
        if best is None or value > best_weight:
            best, best_weight = rep, value
    assert best is not None, "pick_round_robin needs at least one eligible rep"
    current[best] -= total
    state.turns += 1
    return best


def pick_fewest(
    eligible: list[tuple[str, float]], count: Callable[[str], int]
) -> tuple[str, dict[str, int]]:
    """The rep with the fewest assignments per unit of weight; returns it and the counts compared."""
    counts = {rep: count(rep) for rep, _ in eligible}
    best = min(eligible, key=lambda rw: counts[rw[0]] / rw[1])[0]
    return best, counts
