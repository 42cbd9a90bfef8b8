"""Car and walking graphs built from OpenStreetMap, and travel times on them.

Reads an OSM extract (see :mod:`accesoins.network._osm`) and returns a
:class:`RoadGraph`: compressed sparse row (CSR) arrays of directed edges with
their time in minutes and length in metres, plus node coordinates (WGS 84).
Built graphs are cached in ``.npz`` files keyed by the extract's checksum, the
mode and the speed parameters. Travel times between point layers come from
:func:`travel_time_pairs` (arrays) and :class:`RoadNetworkCosts` (the
:class:`~accesoins.network.CostSource` protocol).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from numba import get_num_threads, njit, prange
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from accesoins.errors import ConfigurationError, NetworkError, UnknownChoiceError
from accesoins.network._osm import (
    OsmWays,
    RoadSpeedParameters,
    file_checksum,
    load_road_speeds,
    read_osm_ways,
)

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("car", "walk")
COST_NAMES = {"car": "route", "walk": "marche"}
EARTH_RADIUS_M = 6_371_008.8
GRAPH_FORMAT = 2  # bump when the arrays or the build rules change: invalidates caches
MAX_BLOCK_CELLS = 4_000_000  # dense (sources × targets) block computed at once, float64
PARALLEL_MIN_WORK = 5_000_000  # sources × graph nodes below which threads are not started
_KERNEL_LOCK = threading.Lock()


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres between WGS 84 points (arrays, degrees).

    Examples
    --------
    >>> round(float(haversine_m(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]))[0]))
    111195
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


@dataclass(repr=False)
class RoadGraph:
    """A directed road or walking graph in CSR form.

    Edges of node ``u`` are ``indices[indptr[u]:indptr[u + 1]]`` with weights
    ``time_min`` (minutes) and ``length_m`` (metres). Nodes carry WGS 84
    coordinates and their OpenStreetMap identifier.
    """

    mode: str
    indptr: np.ndarray
    indices: np.ndarray
    time_min: np.ndarray
    length_m: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    node_osm_id: np.ndarray
    key: str = ""
    _tree: cKDTree | None = field(default=None, repr=False, compare=False)
    _reverse: RoadGraph | None = field(default=None, repr=False, compare=False)
    _chain: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"RoadGraph(mode={self.mode!r}, n_nodes={self.n_nodes}, n_edges={self.n_edges}, key={self.key!r})"
        )

    @property
    def n_nodes(self) -> int:
        return len(self.node_lon)

    @property
    def n_edges(self) -> int:
        return len(self.indices)

    def matrix(self) -> sparse.csr_matrix:
        """Times in minutes as a ``scipy.sparse`` CSR matrix (row = tail node)."""
        shape = (self.n_nodes, self.n_nodes)
        return sparse.csr_matrix((self.time_min, self.indices, self.indptr), shape=shape)

    def reversed(self) -> RoadGraph:
        """The graph with every edge turned round (cached)."""
        if self._reverse is None:
            shape = (self.n_nodes, self.n_nodes)
            edge = np.arange(self.n_edges, dtype=np.float64)
            order = sparse.csr_matrix((edge + 1.0, self.indices, self.indptr), shape=shape).T.tocsr()
            order.sort_indices()
            perm = order.data.astype(np.int64) - 1
            self._reverse = RoadGraph(
                self.mode,
                order.indptr.astype(np.int64),
                order.indices.astype(np.int32),
                self.time_min[perm],
                self.length_m[perm],
                self.node_lon,
                self.node_lat,
                self.node_osm_id,
                self.key + ":reversed",
                self._tree,
                self,
            )
        return self._reverse

    def chain_nodes(self) -> np.ndarray:
        """Boolean mask of the nodes inside a chain, which a search can skip (cached).

        A chain node has exactly two neighbours and is either two-way with both
        (in and out degree 2) or one-way through (one edge in, one edge out to
        the other neighbour): a shortest path entering it can only go on.
        """
        if self._chain is None:
            n = np.int64(self.n_nodes)
            out_degree = np.diff(self.indptr)
            in_degree = np.bincount(self.indices, minlength=self.n_nodes)
            tails = np.repeat(np.arange(n), out_degree)
            heads = self.indices.astype(np.int64)
            pairs = np.unique(np.concatenate([tails * n + heads, heads * n + tails]))
            neighbours = np.bincount(pairs // n, minlength=self.n_nodes)
            two_way = (out_degree == 2) & (in_degree == 2)
            one_way = (out_degree == 1) & (in_degree == 1)
            self._chain = (neighbours == 2) & (two_way | one_way)
        return self._chain

    def snap(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point and its great-circle distance in metres.

        Uses a KD-tree on unit-sphere coordinates, so the nearest node is exact
        anywhere on Earth.
        """
        if self._tree is None:
            self._tree = cKDTree(_unit_xyz(self.node_lon, self.node_lat))
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        if len(lon) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        chord, node = self._tree.query(_unit_xyz(lon, lat))
        snap_m = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(np.asarray(chord) / 2, 1.0))
        return np.asarray(node, dtype=np.int64), snap_m

    def save(self, path: str | Path) -> None:
        """Write the arrays to an uncompressed ``.npz`` file (atomic rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
        np.savez(
            tmp,
            mode=np.array(self.mode),
            key=np.array(self.key),
            indptr=self.indptr,
            indices=self.indices,
            time_min=self.time_min,
            length_m=self.length_m,
            node_lon=self.node_lon,
            node_lat=self.node_lat,
            node_osm_id=self.node_osm_id,
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> RoadGraph:
        """Read a graph written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                str(z["mode"]),
                z["indptr"],
                z["indices"],
                z["time_min"],
                z["length_m"],
                z["node_lon"],
                z["node_lat"],
                z["node_osm_id"],
                str(z["key"]),
            )


def _segment_speeds_car(
    ways: OsmWays,
    way_of_seg: np.ndarray,
    mid_lon: np.ndarray,
    mid_lat: np.ndarray,
    junction_lon: np.ndarray,
    junction_lat: np.ndarray,
    params: RoadSpeedParameters,
) -> np.ndarray:
    car = params.car
    urban = ways.urban_tag[way_of_seg].astype(np.int8)
    unknown = urban < 0
    if unknown.any():
        # Junction density on a square grid in a local equirectangular projection.
        lat0 = math.radians(float(np.mean(mid_lat)))
        kx = EARTH_RADIUS_M * math.cos(lat0) * math.pi / 180 / car.urban_detection.cell_m
        ky = EARTH_RADIUS_M * math.pi / 180 / car.urban_detection.cell_m
        jx, jy = np.floor(junction_lon * kx).astype(np.int64), np.floor(junction_lat * ky).astype(np.int64)
        sx, sy = np.floor(mid_lon * kx).astype(np.int64), np.floor(mid_lat * ky).astype(np.int64)
        x0, y0 = min(sx.min(), jx.min(initial=sx.min())), min(sy.min(), jy.min(initial=sy.min()))
        width = max(sx.max(), jx.max(initial=sx.max())) - x0 + 1
        cells, counts = np.unique((jx - x0) * width + (jy - y0), return_counts=True)
        dense = cells[counts >= car.urban_detection.min_junctions]
        is_dense = np.isin((sx - x0) * width + (sy - y0), dense)
        urban = np.where(unknown, is_dense.astype(np.int8), urban)
    names, class_of_way = np.unique(ways.highway, return_inverse=True)
    speed_urban = np.array([car.urban.get(c, np.nan) for c in names])[class_of_way[way_of_seg]]
    speed_rural = np.array([car.rural.get(c, np.nan) for c in names])[class_of_way[way_of_seg]]
    speed = np.where(urban == 1, speed_urban, speed_rural)
    tagged = ways.maxspeed_kph[way_of_seg]
    return np.asarray(np.where(np.isfinite(tagged), tagged * car.maxspeed_factor, speed))


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Insert a zero bit between the 16 low bits of ``v`` (uint64)."""
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
    return np.asarray((v | (v << np.uint64(1))) & np.uint64(0x55555555))


def _z_order(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Permutation sorting points along a Z-order (Morton) curve on a 65,536² grid.

    Examples
    --------
    >>> _z_order(np.array([1.0, 0.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0, 0.0])).tolist()
    [3, 2, 1, 0]
    """

    def quantise(a: np.ndarray) -> np.ndarray:
        span = float(a.max() - a.min()) if len(a) else 0.0
        scaled = (a - a.min()) / span * 65535 if span > 0 else np.zeros_like(a)
        return scaled.astype(np.uint64)

    code = _spread_bits(quantise(lon)) | (_spread_bits(quantise(lat)) << np.uint64(1))
    return np.argsort(code, kind="stable")


def _segments(ways: OsmWays, keep_way: np.ndarray) -> tuple[np.ndarray, ...]:
    """Consecutive node pairs of the kept ways: ``(u, v, way_of_seg, lon, lat, osm_ids)``."""
    n_flat = int(ways.way_start[-1])
    way_of_node = np.repeat(np.arange(ways.n_ways, dtype=np.int64), np.diff(ways.way_start))
    first = np.arange(n_flat - 1)
    seg = first[(way_of_node[:-1] == way_of_node[1:]) & keep_way[way_of_node[:-1]]]
    del first
    way_of_seg = way_of_node[seg]
    del way_of_node
    osm_ids, node_of_flat = np.unique(ways.node_osm_id, return_inverse=True)
    lon = np.zeros(len(osm_ids))
    lat = np.zeros(len(osm_ids))
    lon[node_of_flat], lat[node_of_flat] = ways.lon, ways.lat
    return node_of_flat[seg], node_of_flat[seg + 1], way_of_seg, lon, lat, osm_ids


def _directed_edges(
    ways: OsmWays, mode: str, params: RoadSpeedParameters, keep_way: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Directed edges ``(tail, head, time_min, length_m)`` plus node ``lon, lat, osm_ids``."""
    u, v, way_of_seg, lon, lat, osm_ids = _segments(ways, keep_way)
    length = haversine_m(lon[u], lat[u], lon[v], lat[v])
    if mode == "car":
        # Junction: a node with three segment ends or more (ways meeting or crossing).
        junction = np.bincount(u, minlength=len(osm_ids)) + np.bincount(v, minlength=len(osm_ids)) >= 3
        mid_lon, mid_lat = (lon[u] + lon[v]) / 2, (lat[u] + lat[v]) / 2
        speed = _segment_speeds_car(ways, way_of_seg, mid_lon, mid_lat, lon[junction], lat[junction], params)
        del mid_lon, mid_lat
        oneway = ways.oneway[way_of_seg]
        forward, backward = oneway >= 0, oneway <= 0
    else:
        speed = np.full(len(u), params.walk.speed_kph)
        forward = backward = np.ones(len(u), dtype=bool)
    minutes = length / (speed * 1000.0 / 60.0)
    del speed, way_of_seg
    tail = np.concatenate([u[forward], v[backward]])
    head = np.concatenate([v[forward], u[backward]])
    time_min = np.concatenate([minutes[forward], minutes[backward]])
    length_m = np.concatenate([length[forward], length[backward]])
    return tail, head, time_min, length_m, lon, lat, osm_ids


def graph_from_ways(
    ways: OsmWays, mode: str, *, params: RoadSpeedParameters | None = None, largest_component: bool = True
) -> RoadGraph:
    """Build the ``mode`` graph ("car" or "walk") from parsed ways.

    Car edges follow ``oneway`` (yes/-1/roundabout/motorway); walking edges go
    both ways. Parallel edges keep the fastest. With ``largest_component``
    (default) only the largest strongly connected component is kept, so that
    every snapped point can reach every other one. Nodes are numbered along a
    Z-order curve (neighbours in space are neighbours in memory: faster
    searches on large graphs).
    """
    if mode not in MODES:
        raise UnknownChoiceError("Mode de déplacement", mode, MODES)
    params = params or load_road_speeds()
    keep_way = ways.car if mode == "car" else ways.foot
    if not keep_way.any():
        raise NetworkError(f"aucune voie utilisable en mode « {mode} » dans l'extrait OpenStreetMap")
    tail, head, time_min, length_m, lon, lat, osm_ids = _directed_edges(ways, mode, params, keep_way)
    keep = tail != head  # self-loops
    tail, head, time_min, length_m = tail[keep], head[keep], time_min[keep], length_m[keep]
    # Used nodes only, then parallel edges: keep the fastest.
    used = np.zeros(len(lon), dtype=bool)
    used[tail] = True
    used[head] = True
    renumber = np.cumsum(used) - 1
    tail, head = renumber[tail], renumber[head]
    del renumber
    lon, lat, osm_ids = lon[used], lat[used], osm_ids[used]
    n = int(used.sum())
    pair = tail * np.int64(n) + head
    order = np.lexsort((time_min, pair))
    pair = pair[order]
    keep = np.ones(len(pair), dtype=bool)
    keep[1:] = pair[1:] != pair[:-1]
    order = order[keep]
    del pair, keep
    tail, head, time_min, length_m = tail[order], head[order], time_min[order], length_m[order]
    if largest_component:
        adjacency = sparse.csr_matrix((np.ones(len(tail), dtype=np.int8), (tail, head)), shape=(n, n))
        n_comp, label = connected_components(adjacency, directed=True, connection="strong")
        del adjacency
        if n_comp > 1:
            keep_node = label == int(np.argmax(np.bincount(label)))
            new_id = np.cumsum(keep_node) - 1
            keep_edge = keep_node[tail] & keep_node[head]
            log.info("%s graph: kept %d of %d nodes (largest strongly connected component)",
                     mode, int(keep_node.sum()), n)  # fmt: skip
            tail, head = new_id[tail[keep_edge]], new_id[head[keep_edge]]
            time_min, length_m = time_min[keep_edge], length_m[keep_edge]
            lon, lat, osm_ids = lon[keep_node], lat[keep_node], osm_ids[keep_node]
            n = int(keep_node.sum())
    spatial = _z_order(lon, lat)
    new_id = np.empty(n, dtype=np.int64)
    new_id[spatial] = np.arange(n)
    tail, head = new_id[tail], new_id[head]
    del new_id
    lon, lat, osm_ids = lon[spatial], lat[spatial], osm_ids[spatial]
    order = np.argsort(tail, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return RoadGraph(
        mode=mode,
        indptr=indptr,
        indices=head[order].astype(np.int32),
        time_min=time_min[order].astype(np.float64),
        length_m=length_m[order].astype(np.float64),
        node_lon=lon,
        node_lat=lat,
        node_osm_id=osm_ids.astype(np.int64),
    )


def build_graph(
    path: str | Path, mode: str, *, params: RoadSpeedParameters | None = None, largest_component: bool = True
) -> RoadGraph:
    """Read an OSM extract and build its ``mode`` graph ("car" or "walk").

    Examples
    --------
    >>> import os
    >>> from pathlib import Path
    >>> data = Path(os.environ.get("ACCESOINS_DATA", "../shared/data"))
    >>> g = build_graph(data / "osm" / "saint_barthelemy_977_2014.osm.pbf", "walk")
    >>> g.n_nodes > 1000, g.mode
    (True, 'walk')
    """
    if mode not in MODES:
        raise UnknownChoiceError("Mode de déplacement", mode, MODES)
    ways = read_osm_ways(path, params=params)
    graph = graph_from_ways(ways, mode, params=params, largest_component=largest_component)
    log.info("%s: %s graph with %d nodes, %d edges", Path(path).name, mode, graph.n_nodes, graph.n_edges)
    return graph


def graph_cache_key(
    path: str | Path, mode: str, *, params: RoadSpeedParameters | None = None, largest_component: bool = True
) -> str:
    """Cache key of a built graph: file checksum, mode, parameters, build rules."""
    params = params or load_road_speeds()
    scope = "scc" if largest_component else "all"
    return f"{file_checksum(path)[:20]}-{mode}-{params.digest()}-{scope}-v{GRAPH_FORMAT}"


def load_or_build(
    path: str | Path,
    mode: str,
    cache_dir: str | Path | None = None,
    *,
    params: RoadSpeedParameters | None = None,
    largest_component: bool = True,
) -> RoadGraph:
    """The ``mode`` graph of an extract, read from ``cache_dir`` when already built.

    The cache file is ``<cache_dir>/graph-<key>.npz`` with the key of
    :func:`graph_cache_key`; a changed file, mode or speed table gives a new
    key. Without ``cache_dir`` the graph is always built.
    """
    if mode not in MODES:
        raise UnknownChoiceError("Mode de déplacement", mode, MODES)
    if cache_dir is None:
        return build_graph(path, mode, params=params, largest_component=largest_component)
    key = graph_cache_key(path, mode, params=params, largest_component=largest_component)
    cache_file = Path(cache_dir) / f"graph-{key}.npz"
    if cache_file.is_file():
        try:
            graph = RoadGraph.load(cache_file)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("unreadable graph cache %s (%s): rebuilding", cache_file, exc)
        else:
            log.info("graph read from cache %s", cache_file)
            return graph
    graph = build_graph(path, mode, params=params, largest_component=largest_component)
    graph.key = key
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    graph.save(cache_file)
    return graph


# --- many-to-many travel times ------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _one_source(
    src: int, indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, target_slot: np.ndarray,
    n_targets: int, cutoff: float, out_row: np.ndarray, dist: np.ndarray, state: np.ndarray,
    pos: np.ndarray, heap_node: np.ndarray, heap_key: np.ndarray, touched: np.ndarray,
) -> None:  # fmt: skip
    """Dijkstra from ``src`` up to ``cutoff``; writes target times in ``out_row``, resets its state.

    Indexed binary heap with decrease-key, keys stored beside the nodes for
    locality; ``state`` is 0 unseen, 1 queued, 2 settled. Stops when the heap
    is empty (every node within ``cutoff`` settled) or every target is settled.
    """
    n_touched = 1
    touched[0] = src
    dist[src] = 0.0
    state[src] = 1
    heap_node[0] = src
    heap_key[0] = 0.0
    pos[src] = 0
    size = 1
    remaining = n_targets
    while size > 0:
        u = heap_node[0]
        du = heap_key[0]
        size -= 1
        if size > 0:  # move the last item down from the root
            last = heap_node[size]
            key = heap_key[size]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and heap_key[c + 1] < heap_key[c]:
                    c += 1
                if heap_key[c] >= key:
                    break
                heap_node[i] = heap_node[c]
                heap_key[i] = heap_key[c]
                pos[heap_node[i]] = i
                i = c
            heap_node[i] = last
            heap_key[i] = key
            pos[last] = i
        state[u] = 2
        slot = target_slot[u]
        if slot >= 0:
            out_row[slot] = du
            remaining -= 1
            if remaining == 0:
                break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if state[v] == 2:
                continue
            nd = du + weight[e]
            if nd > cutoff:
                continue
            if state[v] == 0:
                state[v] = 1
                touched[n_touched] = v
                n_touched += 1
                i = size
                size += 1
            elif nd < dist[v]:
                i = pos[v]
            else:
                continue
            dist[v] = nd
            while i > 0:  # move up
                p = (i - 1) >> 1
                if heap_key[p] <= nd:
                    break
                heap_node[i] = heap_node[p]
                heap_key[i] = heap_key[p]
                pos[heap_node[i]] = i
                i = p
            heap_node[i] = v
            heap_key[i] = nd
            pos[v] = i
    for k in range(n_touched):
        w = touched[k]
        dist[w] = np.inf
        state[w] = 0


@njit(cache=True, nogil=True)
def _sources_block(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, sources: np.ndarray,
    target_slot: np.ndarray, n_targets: int, cutoff: float, out: np.ndarray, lo: int, hi: int,
) -> None:  # fmt: skip
    """Run the searches of ``sources[lo:hi]`` with one set of working arrays (41 bytes per node)."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    state = np.zeros(n, dtype=np.int8)
    pos = np.empty(n, dtype=np.int64)
    heap_node = np.empty(n, dtype=np.int64)
    heap_key = np.empty(n, dtype=np.float64)
    touched = np.empty(n, dtype=np.int64)
    for k in range(lo, hi):
        _one_source(
            sources[k], indptr, indices, weight, target_slot, n_targets, cutoff, out[k],
            dist, state, pos, heap_node, heap_key, touched,
        )  # fmt: skip


@njit(cache=True, nogil=True)
def _many_serial(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, sources: np.ndarray,
    target_slot: np.ndarray, n_targets: int, cutoff: float, n_blocks: int,
) -> np.ndarray:  # fmt: skip
    """Dense times from each source to each target slot, in this thread."""
    out = np.full((len(sources), n_targets), np.inf)
    _sources_block(indptr, indices, weight, sources, target_slot, n_targets, cutoff, out, 0, len(sources))
    return out


@njit(cache=True, parallel=True)
def _many_parallel(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, sources: np.ndarray,
    target_slot: np.ndarray, n_targets: int, cutoff: float, n_blocks: int,
) -> np.ndarray:  # fmt: skip
    """Dense times from each source to each target slot; sources split in ``n_blocks`` parallel runs."""
    m = len(sources)
    out = np.full((m, n_targets), np.inf)
    for b in prange(n_blocks):
        _sources_block(
            indptr, indices, weight, sources, target_slot, n_targets, cutoff, out,
            b * m // n_blocks, (b + 1) * m // n_blocks,
        )  # fmt: skip
    return out


@njit(cache=True, nogil=True)
def _contract(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Graph between the ``keep`` nodes: each chain of other nodes becomes one edge.

    Every node not kept must be a chain node (see :meth:`RoadGraph.chain_nodes`);
    walking on from a chain node means taking its out-edge that does not go back.
    The weight of a new edge is the sum of the chain's weights, added in path
    order. Returns ``(indptr, indices, weight, new_id)`` with ``new_id[node]``
    the kept node's index (-1 otherwise); kept nodes keep their relative order.
    """
    n = len(indptr) - 1
    new_id = np.full(n, -1, dtype=np.int64)
    n_kept = 0
    for u in range(n):
        if keep[u]:
            new_id[u] = n_kept
            n_kept += 1
    out_ptr = np.zeros(n_kept + 1, dtype=np.int64)
    out_ind = np.empty(len(indices), dtype=np.int32)
    out_w = np.empty(len(indices), dtype=np.float64)
    k = 0
    for u in range(n):
        if not keep[u]:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            prev = u
            v = indices[e]
            w = weight[e]
            steps = 0
            while not keep[v] and steps <= n:
                nxt = -1
                w_next = 0.0
                for f in range(indptr[v], indptr[v + 1]):
                    if indices[f] != prev:
                        nxt = indices[f]
                        w_next = weight[f]
                        break
                if nxt < 0:
                    break
                w += w_next
                prev = v
                v = nxt
                steps += 1
            if keep[v] and v != u:
                out_ind[k] = new_id[v]
                out_w[k] = w
                k += 1
        out_ptr[new_id[u] + 1] = k
    return out_ptr, out_ind[:k].copy(), out_w[:k].copy(), new_id


def _many_to_many_dense(
    indptr: np.ndarray, indices: np.ndarray, weight: np.ndarray, sources: np.ndarray,
    targets: np.ndarray, cutoff: float,
) -> np.ndarray:  # fmt: skip
    """Dense ``(len(sources), len(targets))`` times, ``inf`` beyond ``cutoff``; nodes must be distinct.

    Threads only pay off on large queries: starting them costs milliseconds, so
    small ones (fewer than ``PARALLEL_MIN_WORK`` source × node) run in this thread.
    """
    n_nodes = len(indptr) - 1
    target_slot = np.full(n_nodes, -1, dtype=np.int64)
    target_slot[targets] = np.arange(len(targets))
    n_blocks = max(1, min(get_num_threads(), len(sources)))
    parallel = n_blocks > 1 and len(sources) * n_nodes >= PARALLEL_MIN_WORK
    kernel = _many_parallel if parallel else _many_serial
    with _KERNEL_LOCK:  # numba's default "workqueue" threading layer must not be entered twice at once
        out = kernel(
            indptr,
            indices,
            weight,
            sources.astype(np.int64),
            target_slot,
            len(targets),
            float(cutoff),
            n_blocks,
        )
    return np.asarray(out)


def _search_graph(graph: RoadGraph, query_nodes: np.ndarray) -> tuple[np.ndarray, ...]:
    """CSR arrays of ``graph`` with its chains contracted, query nodes kept; and ``new_id``."""
    keep = ~graph.chain_nodes()
    keep[query_nodes] = True
    indptr = graph.indptr.astype(np.int64, copy=False)
    indices = graph.indices.astype(np.int32, copy=False)
    weight = graph.time_min.astype(np.float64, copy=False)
    if keep.mean() > 0.9:  # little to gain
        return indptr, indices, weight, np.arange(graph.n_nodes, dtype=np.int64)
    return tuple(_contract(indptr, indices, weight, keep))


def _expand(
    group: np.ndarray, members: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each item of ``group`` (a unique-node index), all original members: (item, member)."""
    reps = counts[group]
    item = np.repeat(np.arange(len(group)), reps)
    offset = np.arange(len(item)) - np.repeat(np.cumsum(reps) - reps, reps)
    return item, members[starts[group][item] + offset]


def _groups(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    valid = np.flatnonzero(nodes >= 0)
    unique, inverse = np.unique(nodes[valid], return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(unique))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return unique, valid[order], starts, counts


def travel_time_pairs(
    graph: RoadGraph, origin_nodes: np.ndarray, destination_nodes: np.ndarray, *, max_time_min: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shortest times from origin nodes to destination nodes, up to ``max_time_min``.

    ``origin_nodes`` and ``destination_nodes`` are node indices (``-1`` for a
    point that could not be snapped: it gets no pair). Returns
    ``(origin_idx, destination_idx, minutes)``: positions in the input arrays
    and the time of every pair reachable within ``max_time_min`` (inclusive).

    Repeated nodes are computed once; chains of degree-2 nodes are contracted
    into single edges (query nodes kept); Dijkstra runs from the smaller side
    (on the reversed graph when destinations are fewer), stops at the cutoff
    and when every target is settled, in compiled code (numba), in parallel
    for large queries.

    Examples
    --------
    >>> g = RoadGraph("walk", np.array([0, 1, 2, 2]), np.array([1, 2]), np.array([1.0, 2.0]),
    ...               np.array([75.0, 150.0]), np.zeros(3), np.zeros(3), np.arange(3))
    >>> travel_time_pairs(g, np.array([0, 0, -1]), np.array([2, 1]), max_time_min=10)
    (array([0, 0, 1, 1]), array([0, 1, 0, 1]), array([3., 1., 3., 1.]))
    """
    if not max_time_min >= 0:
        raise ConfigurationError(
            f"temps maximal invalide : {max_time_min} (un nombre de minutes ≥ 0 est attendu)"
        )
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    destination_nodes = np.asarray(destination_nodes, dtype=np.int64)
    uo, mem_o, start_o, count_o = _groups(origin_nodes)
    ud, mem_d, start_d, count_d = _groups(destination_nodes)
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if len(uo) == 0 or len(ud) == 0:
        return empty
    backward = len(ud) < len(uo)
    search = graph.reversed() if backward else graph
    sources, targets = (ud, uo) if backward else (uo, ud)
    indptr, indices, weight, new_id = _search_graph(search, np.concatenate([sources, targets]))
    sources_c, targets_c = new_id[sources], new_id[targets]
    rows_per_block = max(1, MAX_BLOCK_CELLS // len(targets))
    parts_s, parts_t, parts_m = [], [], []
    for lo in range(0, len(sources), rows_per_block):
        block = _many_to_many_dense(
            indptr, indices, weight, sources_c[lo : lo + rows_per_block], targets_c, max_time_min
        )
        r, c = np.nonzero(block <= max_time_min)
        parts_s.append(r + lo)
        parts_t.append(c)
        parts_m.append(block[r, c])
    s_idx, t_idx, minutes = np.concatenate(parts_s), np.concatenate(parts_t), np.concatenate(parts_m)
    o_u, d_u = (t_idx, s_idx) if backward else (s_idx, t_idx)
    item, o_idx = _expand(o_u, mem_o, start_o, count_o)
    d_u, minutes = d_u[item], minutes[item]
    item, d_idx = _expand(d_u, mem_d, start_d, count_d)
    o_idx, minutes = o_idx[item], minutes[item]
    order = np.lexsort((d_idx, o_idx))
    return o_idx[order], d_idx[order], minutes[order]


def _lonlat(points: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    if points.crs is None:
        raise NetworkError("couche de points sans système de coordonnées (CRS) : précisez-le (set_crs)")
    if "id" not in points.columns:
        raise NetworkError("couche de points sans colonne « id »")
    geom = points.geometry.to_crs("EPSG:4326")
    if len(geom) and not geom.geom_type.eq("Point").all():
        raise NetworkError("seuls des points sont acceptés (utilisez .centroid ou representative_point())")
    return geom.x.to_numpy(dtype=np.float64), geom.y.to_numpy(dtype=np.float64)


class RoadNetworkCosts:
    """Travel times on an OpenStreetMap graph (car: "route", walk: "marche").

    Each point is snapped to its nearest graph node; a point farther than
    ``max_snap_m`` metres from any node is *unreachable*: it gets no pair and
    is listed by :meth:`snap_report` and in the log. Times are network times
    between the snapped nodes; with ``connector_speed_kph`` the straight legs
    from each point to its node are added at that speed (e.g. 4.5 km/h on
    foot). Pairs beyond ``max_time_min`` are absent, as in every
    :class:`~accesoins.network.CostSource`.

    Examples
    --------
    Two nodes 1 km apart, 1.5 min each way:

    >>> g = RoadGraph("car", np.array([0, 1, 2]), np.array([1, 0]), np.array([1.5, 1.5]),
    ...               np.array([1000.0, 1000.0]), np.array([2.0, 2.0]), np.array([48.0, 48.009]),
    ...               np.array([10, 11]))
    >>> pts = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=gpd.points_from_xy([2.0, 2.0], [48.0, 48.009]),
    ...                        crs="EPSG:4326")
    >>> RoadNetworkCosts(g).travel_times(pts, pts, max_time_min=10)
      origin_id destination_id  travel_time_min
    0         a              a              0.0
    1         a              b              1.5
    2         b              a              1.5
    3         b              b              0.0
    """

    def __init__(
        self, graph: RoadGraph, *, max_snap_m: float = 500.0, connector_speed_kph: float | None = None
    ) -> None:
        if not max_snap_m >= 0:
            raise ConfigurationError(f"distance d'accrochage invalide : {max_snap_m} (mètres ≥ 0)")
        if connector_speed_kph is not None and not connector_speed_kph > 0:
            raise ConfigurationError(
                f"vitesse d'accès au réseau invalide : {connector_speed_kph} (km/h > 0 attendus)"
            )
        self.graph = graph
        self.max_snap_m = float(max_snap_m)
        self.connector_speed_kph = connector_speed_kph
        self.name = COST_NAMES[graph.mode]

    def _nodes(self, points: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        node, snap_m = self.graph.snap(*_lonlat(points))
        return np.where(snap_m <= self.max_snap_m, node, -1), snap_m

    def snap_report(self, points: gpd.GeoDataFrame) -> pd.DataFrame:
        """One row per point: ``id``, ``node``, ``snap_m`` and ``reachable`` (snap ≤ ``max_snap_m``)."""
        node, snap_m = self._nodes(points)
        return pd.DataFrame(
            {"id": points["id"].to_numpy(), "node": node, "snap_m": snap_m, "reachable": node >= 0}
        )

    def travel_times(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, *, max_time_min: float
    ) -> pd.DataFrame:
        o_node, o_snap = self._nodes(origins)
        d_node, d_snap = self._nodes(destinations)
        for label, node, snap in (("origin", o_node, o_snap), ("destination", d_node, d_snap)):
            bad = int((node < 0).sum())
            if bad:
                log.warning(
                    "%d %s point(s) farther than %.0f m from the %s network (max %.0f m): unreachable",
                    bad,
                    label,
                    self.max_snap_m,
                    self.graph.mode,
                    float(snap.max()),
                )
        oi, dj, minutes = travel_time_pairs(self.graph, o_node, d_node, max_time_min=max_time_min)
        if self.connector_speed_kph is not None:
            minutes = minutes + (o_snap[oi] + d_snap[dj]) / (self.connector_speed_kph * 1000.0 / 60.0)
            within = minutes <= max_time_min
            oi, dj, minutes = oi[within], dj[within], minutes[within]
        return pd.DataFrame(
            {
                "origin_id": origins["id"].to_numpy()[oi],
                "destination_id": destinations["id"].to_numpy()[dj],
                "travel_time_min": minutes,
            }
        )
