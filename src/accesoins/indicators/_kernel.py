"""Compiled loops of the floating-catchment kernel (numba).

One pass over the pairs per step, with no temporary arrays: the two sparse
products of the E2SFCA cost about as much as reading the pairs twice. The
tests check them against a plain loop-based reference implementation.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@njit(cache=True, nogil=True)
def step_weights(
    cost: FloatArray, limits: FloatArray, weights: FloatArray, beyond: float
) -> FloatArray:  # pragma: no cover
    """Weight ``weights[k]`` for ``limits[k-1] <= cost < limits[k]``, ``beyond`` from the last limit on."""
    table = np.full(limits.size + 1, beyond)
    table[: limits.size] = weights
    out = np.empty(cost.size)
    for i in range(cost.size):
        step = 0
        for k in range(limits.size):  # branch-free: count the limits at or below the cost
            step += cost[i] >= limits[k]
        out[i] = table[step]
    return out


@njit(cache=True, nogil=True)
def has_duplicate_pairs(
    origin: IntArray, destination: IntArray, n_origins: int, n_destinations: int
) -> bool:  # pragma: no cover
    """Whether a pair occurs twice (counting sort by origin, then one stamp per destination)."""
    starts = np.zeros(n_origins + 1, dtype=np.int64)
    for k in range(origin.size):
        starts[origin[k] + 1] += 1
    for i in range(n_origins):
        starts[i + 1] += starts[i]
    fill = starts[:-1].copy()
    by_origin = np.empty(origin.size, dtype=np.int64)
    for k in range(origin.size):
        by_origin[fill[origin[k]]] = destination[k]
        fill[origin[k]] += 1
    stamp = np.full(n_destinations, -1, dtype=np.int64)
    for i in range(n_origins):
        for k in range(starts[i], starts[i + 1]):
            d = by_origin[k]
            if stamp[d] == i:
                return True
            stamp[d] = i
    return False


@njit(cache=True, nogil=True)
def two_steps(
    origin: IntArray,
    destination: IntArray,
    weight: FloatArray,
    demand: FloatArray,
    supply: FloatArray,
    n_origins: int,
    scale: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # pragma: no cover
    """Catchment demand and ratio per destination, access per origin."""
    n_destinations = supply.size
    catchment = np.zeros(n_destinations)
    for k in range(origin.size):
        catchment[destination[k]] += weight[k] * demand[origin[k]]
    ratio = np.zeros(n_destinations)
    for j in range(n_destinations):
        if catchment[j] > 0.0:
            ratio[j] = supply[j] / catchment[j] * scale
    access = np.zeros(n_origins)
    for k in range(origin.size):
        access[origin[k]] += weight[k] * ratio[destination[k]]
    return catchment, ratio, access
