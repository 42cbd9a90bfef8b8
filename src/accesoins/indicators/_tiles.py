"""Floating catchment tile by tile, so memory is bounded by a tile and tiles can run on Dask.

The demand points are cut into tiles; each tile gets the supply sites within
the catchment's reach of its bounding box (its halo), so every pair
within the cutoff is computed exactly once, by the tile of its origin. Step 1
needs a site's whole catchment: each tile adds its weighted demand per site
and the partial sums are reduced across tiles; step 2 then runs per tile with
the ratios of its halo. Pairs are recomputed in step 2 rather than kept, so no
task ever holds more than one tile's pairs.

Tiles are Dask tasks: the local threaded scheduler by default, a distributed
cluster when an address (``tcp://…``) is given. A tile's points × halo sites
is bounded (a k-d split), so dense towns get small tiles. The result equals the
in-memory path (:func:`in_memory_catchment`) up to the order of additions.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from accesoins.indicators._decay import Decay
from accesoins.indicators._fca import CostPairs, FcaResult, PairWeights, floating_catchment

if TYPE_CHECKING:  # at run time the cost model is only called: indicators need not load geopandas
    from accesoins.network import CrowFlyCosts, CrowFlyPoints

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_TILE_PAIRS = 2_000_000  # bound on a tile's pairs (points × halo sites): ~100 MB


@dataclass(frozen=True)
class Tile:
    """Positions of a tile's demand points and of the supply sites in its halo."""

    origins: IntArray
    destinations: IntArray


def plan_tiles(
    origins_xy: FloatArray, destinations_xy: FloatArray, *, max_pairs: int, halo_m: float
) -> list[Tile]:
    """Tiles whose points × halo sites stay within ``max_pairs`` (halo: the sites within ``halo_m``).

    The points are halved at the median of the box's longer side until the
    bound holds (a k-d split; a single point is never split), so dense towns
    get small tiles and the countryside large ones: a tile's pairs, hence its
    memory, are bounded whatever the density.
    """
    by_x = np.argsort(destinations_xy[:, 0], kind="stable")
    sorted_x = destinations_xy[by_x, 0]
    tiles = []
    stack = [np.arange(len(origins_xy), dtype=np.int64)] if len(origins_xy) else []
    while stack:
        members = stack.pop()
        xy = origins_xy[members]
        low, high = xy.min(axis=0), xy.max(axis=0)
        (x0, y0), (x1, y1) = low - halo_m, high + halo_m
        candidates = by_x[np.searchsorted(sorted_x, x0, "left") : np.searchsorted(sorted_x, x1, "right")]
        y = destinations_xy[candidates, 1]
        near = candidates[(y >= y0) & (y <= y1)]
        if len(members) > 1 and len(members) * len(near) > max_pairs:
            axis = int(np.argmax(high - low))
            half = len(members) // 2
            split = np.argpartition(xy[:, axis], half)
            stack += [members[split[half:]], members[split[:half]]]
            continue
        tiles.append(Tile(np.sort(members), np.sort(near).astype(np.int64)))
    return tiles


def _weights(
    costs: CrowFlyCosts,
    origins: CrowFlyPoints,
    destinations: CrowFlyPoints,
    decay: Decay,
    cutoff: float,
) -> PairWeights:
    """Decay weights of one tile's pairs, by position within the tile and its halo."""
    c = costs.indexed(origins, destinations, max_time_min=cutoff)
    pairs = CostPairs(c.origin, c.destination, c.travel_time_min, c.n_origins, c.n_destinations)
    return pairs.weights(decay, cutoff=cutoff)


def _tile_catchment(
    costs: CrowFlyCosts,
    origins: CrowFlyPoints,
    destinations: CrowFlyPoints,
    demand: FloatArray,
    decay: Decay,
    cutoff: float,
) -> FloatArray:
    """Step 1 on one tile: weighted demand of the tile's points per halo site."""
    w = _weights(costs, origins, destinations, decay, cutoff)
    part = np.bincount(w.destination, weights=w.weight * demand[w.origin], minlength=w.n_destinations)
    return np.asarray(part, dtype=np.float64)


def _reduce(parts: Sequence[FloatArray], destinations: Sequence[IntArray], n_destinations: int) -> FloatArray:
    """Sum the tiles' partial catchments (each over its halo sites) into one weighted demand per site."""
    total = np.zeros(n_destinations)
    for part, positions in zip(parts, destinations, strict=True):
        total[positions] += part
    return total


def _ratio(catchment: FloatArray, supply: FloatArray, scale: float) -> FloatArray:
    """Supply-to-demand ratio per site (0 for a site whose catchment holds no demand)."""
    out = np.zeros_like(catchment)
    reached = catchment > 0
    out[reached] = supply[reached] / catchment[reached] * scale
    return out


def _tile_access(
    costs: CrowFlyCosts,
    origins: CrowFlyPoints,
    destinations: CrowFlyPoints,
    ratio: FloatArray,
    positions: IntArray,
    decay: Decay,
    cutoff: float,
) -> FloatArray:
    """Step 2 on one tile: access of the tile's points from the ratios of its halo sites."""
    return _weights(costs, origins, destinations, decay, cutoff).spread(ratio[positions])


def _assemble(parts: Sequence[FloatArray], origins: Sequence[IntArray], n_origins: int) -> FloatArray:
    """Put each tile's access back at its points' positions."""
    access = np.zeros(n_origins)
    for part, positions in zip(parts, origins, strict=True):
        access[positions] = part
    return access


def tiled_catchment(
    demand: npt.ArrayLike,
    supply: npt.ArrayLike,
    origins: CrowFlyPoints,
    destinations: CrowFlyPoints,
    costs: CrowFlyCosts,
    *,
    decay: Decay,
    cutoff: float,
    scale: float = 1.0,
    max_pairs: int = DEFAULT_TILE_PAIRS,
    dask: str | None = None,
) -> FcaResult:
    """E2SFCA of ``origins`` (demand) to ``destinations`` (supply) on crow-fly costs, tile by tile.

    ``max_pairs``: bound on a tile's points × halo sites (bounds the memory of a task).
    ``dask``: address of a Dask distributed scheduler (``tcp://host:8786``);
    ``None`` takes the ``ACCESOINS_DASK`` setting; an empty address (or no
    setting) runs the tiles on the local threaded scheduler.
    """
    from accesoins.settings import get_settings

    address = get_settings().dask if dask is None else dask
    p = np.ascontiguousarray(demand, dtype=np.float64)
    s = np.ascontiguousarray(supply, dtype=np.float64)
    tiles = plan_tiles(origins.xy_m, destinations.xy_m, max_pairs=max_pairs, halo_m=costs.reach_m(cutoff))
    # A plain task graph: building it costs one dict entry per task (Delayed objects cost far more).
    run = f"accesoins-fca-{uuid.uuid4().hex}"
    catchment, ratio, access = f"{run}-catchment", f"{run}-ratio", f"{run}-access"
    graph: dict[Any, Any] = {}
    for k, t in enumerate(tiles):
        o, d = origins.take(t.origins), destinations.take(t.destinations)
        graph[(f"{run}-part", k)] = (_tile_catchment, costs, o, d, p[t.origins], decay, cutoff)
        graph[(f"{run}-access", k)] = (_tile_access, costs, o, d, ratio, t.destinations, decay, cutoff)
    keys = range(len(tiles))
    graph[catchment] = (
        _reduce,
        [(f"{run}-part", k) for k in keys],
        [t.destinations for t in tiles],
        len(destinations),
    )
    graph[ratio] = (_ratio, catchment, s, scale)
    graph[access] = (
        _assemble,
        [(f"{run}-access", k) for k in keys],
        [t.origins for t in tiles],
        len(origins),
    )
    if address:
        from distributed import Client  # the engine is loaded only when tiles run

        with Client(address) as client:  # type: ignore[no-untyped-call]
            done = client.get(graph, [catchment, ratio, access], sync=True)
    else:
        from dask.threaded import get

        done = get(graph, [catchment, ratio, access])
    return FcaResult(access=done[2], ratio=done[1], catchment_demand=done[0])


def in_memory_catchment(
    demand: npt.ArrayLike,
    supply: npt.ArrayLike,
    origins: CrowFlyPoints,
    destinations: CrowFlyPoints,
    costs: CrowFlyCosts,
    *,
    decay: Decay,
    cutoff: float,
    scale: float = 1.0,
) -> FcaResult:
    """The same E2SFCA with every pair in memory at once (the reference of the tiled path)."""
    w = _weights(costs, origins, destinations, decay, cutoff)
    return floating_catchment(demand, supply, w, scale=scale)
