"""Plain-loop reference of the enhanced two-step floating catchment (E2SFCA), for tests only.

Written to be obviously right rather than fast: dictionaries keyed by
identifier, one loop over the cost pairs per step, decays written with
:mod:`math`. Orientation as in accesoins: each pair is ``(origin, destination,
cost)`` with origin = demand unit and destination = supply site, and the same
directed cost is used in both steps.

    step 1   catchment[d] = sum over pairs (o, d, c) of weight(c) * demand[o]
             ratio[d]     = scale * supply[d] / catchment[d]   (0 if catchment[d] == 0)
    step 2   access[o]    = sum over pairs (o, d, c) of weight(c) * ratio[d]

A pair counts only when ``cost <= cutoff`` (when a cutoff is given) and when both
identifiers are known; the others are skipped.

Examples
--------
>>> access, ratio = e2sfca({"a": 100.0, "b": 300.0}, {"a": 1.0},
...                        [("a", "a", 0.0), ("b", "a", 12.0)], drees_steps, scale=1000)
>>> round(access["a"], 6), round(access["b"], 6)
(3.333222, 2.222259)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

Weight = Callable[[float], float]
Pair = tuple[Hashable, Hashable, float]

DREES_STEPS: tuple[tuple[float, float], ...] = ((10.0, 1.0), (15.0, 0.6667), (20.0, 0.3333))


def steps(limits_weights: Sequence[tuple[float, float]]) -> Weight:
    """Step weight: the weight of the first limit strictly above the cost, 0 beyond the last one."""

    def weight(cost: float) -> float:
        for limit, w in limits_weights:
            if cost < limit:
                return w
        return 0.0

    return weight


def drees_steps(cost: float) -> float:
    """DREES APL weights: 1 below 10 min, 0.6667 from 10 to 15, 0.3333 from 15 to 20, then 0."""
    return steps(DREES_STEPS)(cost)


def exponential(beta: float) -> Weight:
    """``exp(-beta * cost)``."""
    return lambda cost: math.exp(-beta * cost)


def gaussian(d0: float) -> Weight:
    """``exp(-(cost / d0)**2 / 2)``."""
    return lambda cost: math.exp(-0.5 * (cost / d0) ** 2)


def gravity(beta: float) -> Weight:
    """``max(cost, 1) ** -beta``."""
    return lambda cost: max(cost, 1.0) ** -beta


def uniform(cost: float) -> float:
    """Weight 1 (classic 2SFCA, with a cutoff)."""
    return 1.0


def e2sfca(
    demand: Mapping[Hashable, float],
    supply: Mapping[Hashable, float],
    pairs: Iterable[Pair],
    weight: Weight,
    *,
    cutoff: float | None = None,
    scale: float = 1.0,
) -> tuple[dict[Hashable, float], dict[Hashable, float]]:
    """Access per demand unit and ratio per supply site, by two loops over the pairs."""
    kept: list[Pair] = []
    for origin, destination, cost in pairs:
        if origin not in demand or destination not in supply:
            continue
        if cutoff is not None and cost > cutoff:
            continue
        kept.append((origin, destination, cost))

    catchment: dict[Hashable, float] = {d: 0.0 for d in supply}
    for origin, destination, cost in kept:
        catchment[destination] += weight(cost) * demand[origin]

    ratio: dict[Hashable, float] = {}
    for destination in supply:
        if catchment[destination] > 0:
            ratio[destination] = scale * supply[destination] / catchment[destination]
        else:
            ratio[destination] = 0.0

    access: dict[Hashable, float] = {o: 0.0 for o in demand}
    for origin, destination, cost in kept:
        access[origin] += weight(cost) * ratio[destination]
    return access, ratio
