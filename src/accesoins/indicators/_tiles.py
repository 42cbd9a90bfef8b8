"""Floating catchment tile by tile, so memory is bounded by a tile and tiles can run on Dask.

The demand points are cut into square tiles; each tile gets the supply sites
within the catchment's reach of its bounding box (its halo), so every pair
within the cutoff is computed exactly once, by the tile of its origin. Step 1
needs a site's whole catchment: each tile adds its weighted demand per site
and the partial sums are reduced across tiles; step 2 then runs per tile with
the ratios of its halo. Pairs are recomputed in step 2 rather than kept, so no
task ever holds more than one tile's pairs.

Tiles are Dask tasks: the local threaded scheduler by default, a distributed
cluster when an address (``tcp://…``) is given. The result equals the
in-memory path (:func:`in_memory_catchment`) up to the order of additions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accesoins.indicators._decay import Decay
from accesoins.indicators._fca import CostPairs, FcaResult, PairWeights, floating_catchment
from accesoins.network import CrowFlyCosts, CrowFlyPoints

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_TILE_M = 10_000.0  # side of a tile: about 2,500 cells of 200 m, a few million pairs at most


@dataclass(frozen=True)
class Tile:
    """Positions of a tile's demand points and of the supply sites in its halo."""

    origins: IntArray
    destinations: IntArray


def plan_tiles(
    origins_xy: FloatArray, destinations_xy: FloatArray, *, tile_m: float, halo_m: float
) -> list[Tile]:
    """Square tiles of side ``tile_m`` over the demand points, each with the sites within ``halo_m``."""
    if len(origins_xy) == 0:
        return []
    cell = np.floor((origins_xy - origins_xy.min(axis=0)) / tile_m).astype(np.int64)
    key = cell[:, 0] * (int(cell[:, 1].max()) + 1) + cell[:, 1]
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    by_x = np.argsort(destinations_xy[:, 0], kind="stable")
    sorted_x = destinations_xy[by_x, 0]
    tiles = []
    for members in np.split(order, bounds):
        xy = origins_xy[members]
        (x0, y0), (x1, y1) = xy.min(axis=0) - halo_m, xy.max(axis=0) + halo_m
        candidates = by_x[np.searchsorted(sorted_x, x0, "left") : np.searchsorted(sorted_x, x1, "right")]
        y = destinations_xy[candidates, 1]
        near = np.sort(candidates[(y >= y0) & (y <= y1)])
        tiles.append(Tile(members.astype(np.int64), near.astype(np.int64)))
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


def _reduce(parts: Sequence[FloatArray], tiles: Sequence[Tile], n_destinations: int) -> FloatArray:
    """Sum the tiles' partial catchments into one weighted demand per site."""
    total = np.zeros(n_destinations)
    for part, tile in zip(parts, tiles, strict=True):
        total[tile.destinations] += part
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


def _assemble(parts: Sequence[FloatArray], tiles: Sequence[Tile], n_origins: int) -> FloatArray:
    access = np.zeros(n_origins)
    for part, tile in zip(parts, tiles, strict=True):
        access[tile.origins] = part
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
    tile_m: float = DEFAULT_TILE_M,
    dask: str | None = None,
) -> FcaResult:
    """E2SFCA of ``origins`` (demand) to ``destinations`` (supply) on crow-fly costs, tile by tile.

    ``dask``: address of a Dask distributed scheduler (``tcp://host:8786``);
    ``None`` runs the tiles on the local threaded scheduler.
    """
    from dask.base import compute  # the engine is loaded only when tiles run
    from dask.delayed import delayed

    p = np.ascontiguousarray(demand, dtype=np.float64)
    s = np.ascontiguousarray(supply, dtype=np.float64)
    tiles = plan_tiles(origins.xy_m, destinations.xy_m, tile_m=tile_m, halo_m=costs.reach_m(cutoff))
    task = delayed  # impure: keys are not hashes of the tiles' arrays
    inputs = [(origins.take(t.origins), destinations.take(t.destinations)) for t in tiles]
    parts = [
        task(_tile_catchment)(costs, o, d, p[t.origins], decay, cutoff)
        for t, (o, d) in zip(tiles, inputs, strict=True)
    ]
    catchment = task(_reduce)(parts, tiles, len(destinations))
    ratio = task(_ratio)(catchment, s, scale)
    access_parts = [
        task(_tile_access)(costs, o, d, ratio, t.destinations, decay, cutoff)
        for t, (o, d) in zip(tiles, inputs, strict=True)
    ]
    access = task(_assemble)(access_parts, tiles, len(origins))
    if dask:
        from distributed import Client

        with Client(dask) as client:  # type: ignore[no-untyped-call]
            done = client.compute([catchment, ratio, access], sync=True)
    else:
        done = compute(catchment, ratio, access, scheduler="threads")  # type: ignore[no-untyped-call]
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
