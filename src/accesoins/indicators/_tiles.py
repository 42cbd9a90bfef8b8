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

:func:`tiled_access` is the second step alone (ratios already known, e.g. the
build's 200 m cells seen from the communes' catchments): tiles are then
independent, and each finished tile is reported (``progress(done, total)``).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import pandas as pd

from accesoins.errors import ConfigurationError
from accesoins.french import format_number
from accesoins.indicators._apl import access_from_ratios
from accesoins.indicators._decay import Decay
from accesoins.indicators._fca import CostPairs, FcaResult, PairWeights, floating_catchment
from accesoins.parameters import AplParameters, load_tile_parameters

if TYPE_CHECKING:  # at run time the cost model is only called: indicators need not load geopandas
    from distributed import Client

    from accesoins.network import CostSource, CrowFlyCosts, CrowFlyPoints, IndexedCosts

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
TileProgress = Callable[[int, int], None]  # tiles done, tiles in all
DEFAULT_SCHEDULER_PORT = 8786  # Dask's, when an address names none


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
    max_pairs: int | None = None,
    dask: str | None = None,
) -> FcaResult:
    """E2SFCA of ``origins`` (demand) to ``destinations`` (supply) on crow-fly costs, tile by tile.

    ``max_pairs``: bound on a tile's points × halo sites (bounds the memory of a task;
    default ``parameters/tiles.yaml``). ``dask``: address of a Dask distributed
    scheduler (``tcp://host:8786``); ``None`` takes the ``ACCESOINS_DASK``
    setting; an empty address (or no setting) runs the tiles on the local
    threaded scheduler.
    """
    address = scheduler_address(dask)
    p = np.ascontiguousarray(demand, dtype=np.float64)
    s = np.ascontiguousarray(supply, dtype=np.float64)
    bound = load_tile_parameters().max_tile_pairs if max_pairs is None else max_pairs
    tiles = plan_tiles(origins.xy_m, destinations.xy_m, max_pairs=bound, halo_m=costs.reach_m(cutoff))
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
        with connected(address) as client:
            done = client.get(graph, [catchment, ratio, access], sync=True)  # type: ignore[no-untyped-call]
    else:
        from dask.threaded import get

        done = get(graph, [catchment, ratio, access])
    return FcaResult(access=done[2], ratio=done[1], catchment_demand=done[0])


def scheduler_address(dask: str | None = None) -> str:
    """The Dask scheduler to use: ``dask`` when given (``""``: local threads), else ``ACCESOINS_DASK``."""
    from accesoins.settings import get_settings

    return (get_settings().dask or "") if dask is None else dask


def _unreachable(address: str, timeout: float) -> ConfigurationError:
    seconds = format_number(timeout, 0 if timeout.is_integer() else 1)
    return ConfigurationError(
        f"ordonnanceur Dask injoignable à l'adresse « {address} » (connexion refusée ou sans réponse "
        f"en {seconds} s) : vérifiez --dask ou ACCESOINS_DASK (ex. tcp://hôte:8786), "
        "ou omettez-les pour calculer sur cette machine"
    )


def _probe(address: str, timeout: float) -> None:
    """Open and close a TCP connection to a ``tcp://`` or ``tls://`` address (a refusal answers at once)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return  # inproc://, ucx://: left to Dask
    try:
        port = parts.port or DEFAULT_SCHEDULER_PORT
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
    except (OSError, ValueError) as exc:
        raise _unreachable(address, timeout) from exc


@contextmanager
def connected(address: str) -> Iterator[Client]:
    """A client of the Dask scheduler at ``address``; a French error naming it when it cannot be reached.

    The wait is short (``scheduler_timeout_s`` of ``parameters/tiles.yaml``):
    a wrong address fails in seconds, not after Dask's default 30 s.
    """
    timeout = load_tile_parameters().scheduler_timeout_s
    _probe(address, timeout)
    from distributed import Client  # the engine is loaded only when tiles run

    try:
        client = Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise _unreachable(address, timeout) from exc
    with client:
        yield client


def check_scheduler(address: str) -> None:
    """Fail early, in French, when the Dask scheduler at ``address`` cannot be reached (``""``: nothing)."""
    if address:
        with connected(address):
            pass


@dataclass(frozen=True)
class TiledAccess:
    """Access of every origin, and the reachable pairs by global positions (what a snapshot keeps)."""

    access: FloatArray
    pairs: IndexedCosts


def _tile_spread(
    costs: CrowFlyCosts,
    origins: CrowFlyPoints,
    destinations: CrowFlyPoints,
    ratio: FloatArray,
    decay: Decay,
    cutoff: float,
) -> tuple[FloatArray, IndexedCosts]:
    """Second step on one tile from known ratios of its halo sites; its pairs, by tile positions."""
    c = costs.indexed(origins, destinations, max_time_min=cutoff)
    pairs = CostPairs(c.origin, c.destination, c.travel_time_min, c.n_origins, c.n_destinations)
    return pairs.weights(decay, cutoff=cutoff).spread(ratio), c


def tiled_access(
    ratio: npt.ArrayLike,
    origins: CrowFlyPoints,
    destinations: CrowFlyPoints,
    costs: CrowFlyCosts,
    *,
    decay: Decay,
    cutoff: float,
    max_pairs: int | None = None,
    dask: str | None = None,
    progress: TileProgress | None = None,
) -> TiledAccess:
    """Access of ``origins`` from the known supply-to-demand ``ratio`` of each destination, tile by tile.

    The second step of the method alone, as the build's 200 m grid needs it:
    tiles are independent Dask tasks (``dask`` and ``max_pairs`` as in
    :func:`tiled_catchment`) and ``progress(done, total)`` is called as each
    tile ends, in the calling thread. Equals the in-memory spread up to the
    order of additions.
    """
    from accesoins.network import IndexedCosts

    address = scheduler_address(dask)
    r = np.ascontiguousarray(ratio, dtype=np.float64)
    bound = load_tile_parameters().max_tile_pairs if max_pairs is None else max_pairs
    tiles = plan_tiles(origins.xy_m, destinations.xy_m, max_pairs=bound, halo_m=costs.reach_m(cutoff))
    run = f"accesoins-access-{uuid.uuid4().hex}"
    keys = [(run, k) for k in range(len(tiles))]
    graph: dict[Any, Any] = {}
    for key, t in zip(keys, tiles, strict=True):
        o, d = origins.take(t.origins), destinations.take(t.destinations)
        graph[key] = (_tile_spread, costs, o, d, r[t.destinations], decay, cutoff)
    report = progress or _silent
    report(0, len(tiles))
    parts = _run_tiles(graph, keys, address, lambda done: report(done, len(tiles)))
    access = _assemble([a for a, _ in parts], [t.origins for t in tiles], len(origins))
    found = [(t, c) for t, (_, c) in zip(tiles, parts, strict=True)]
    pairs = IndexedCosts(
        np.concatenate([t.origins[c.origin] for t, c in found] or [np.zeros(0, dtype=np.int64)]),
        np.concatenate([t.destinations[c.destination] for t, c in found] or [np.zeros(0, dtype=np.int64)]),
        np.concatenate([c.travel_time_min for _, c in found] or [np.zeros(0)]),
        len(origins),
        len(destinations),
    )
    return TiledAccess(access, pairs)


def _silent(done: int, total: int) -> None:
    return None


def _run_tiles(
    graph: dict[Any, Any], keys: list[Any], address: str, finished: Callable[[int], None]
) -> list[Any]:
    """Results of the tasks ``keys`` of ``graph``, calling ``finished(count)`` as each one ends."""
    if address:
        from distributed import as_completed

        with connected(address) as client:
            futures = client.get(graph, keys, sync=False)  # type: ignore[no-untyped-call]
            for done, _ in enumerate(as_completed(futures), start=1):  # type: ignore[no-untyped-call]
                finished(done)
            return list(client.gather(futures))  # type: ignore[no-untyped-call]
    from dask.callbacks import Callback
    from dask.threaded import get

    wanted, count = set(keys), [0]

    def tile_done(key: Any, *_: Any) -> None:
        if key in wanted:
            count[0] += 1
            finished(count[0])

    with Callback(posttask=tile_done):  # type: ignore[no-untyped-call]
        return list(get(graph, keys))


def grid_access(
    cells: pd.DataFrame,
    sites: pd.DataFrame,
    ratios: pd.Series,
    cost: CostSource,
    params: AplParameters,
    *,
    dask: str | None = None,
    progress: TileProgress | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """APL of the 200 m cells from the sites' known ratios, and the cells' cost table (for the snapshot).

    ``cells`` and ``sites`` are cost origins and destinations (``id``);
    ``ratios`` is indexed by site ``id``. A grid of at least
    ``tile_above_cells`` cells on crow-fly costs runs on tiles (Dask tasks,
    ``progress`` per tile); a smaller grid, or road and table costs, in memory
    (:func:`access_from_ratios`). Both give the same APL to 1e-12.
    """
    from accesoins.network import CrowFlyCosts

    plan = load_tile_parameters()
    cutoff = params.decay.reach_min
    ids = pd.Index(cells["id"])
    if not isinstance(cost, CrowFlyCosts) or len(cells) < plan.tile_above_cells:
        table = cost.travel_times(cells, sites, max_time_min=cutoff)
        return access_from_ratios(ids, ratios, table, params), table
    origins, destinations = cost.points(cells, sites)
    ratio = ratios.reindex(pd.Index(sites["id"])).fillna(0.0).to_numpy(dtype=np.float64)
    result = tiled_access(
        ratio,
        origins,
        destinations,
        cost,
        decay=params.decay,
        cutoff=cutoff,
        max_pairs=plan.max_tile_pairs,
        dask=dask,
        progress=progress,
    )
    pairs = result.pairs
    table = pd.DataFrame(
        {
            "origin_id": cells["id"].to_numpy()[pairs.origin],
            "destination_id": sites["id"].to_numpy()[pairs.destination],
            "travel_time_min": pairs.travel_time_min,
        }
    )
    return pd.Series(result.access, index=ids, name="apl"), table


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
