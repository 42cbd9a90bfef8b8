"""Building the car and walking graphs from the ways of an OpenStreetMap extract.

Reads an OSM extract (see :mod:`accesoins.network._osm`) and returns a
:class:`~accesoins.network._graph.RoadGraph`: speeds by road class and urban
setting, one-way rules, the fastest of parallel edges, the largest strongly
connected component, nodes numbered along a Z-order curve.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from accesoins.errors import NetworkError, UnknownChoiceError
from accesoins.network._graph import EARTH_RADIUS_M, RoadGraph, haversine_m
from accesoins.network._osm import OsmWays, RoadSpeedParameters, load_road_speeds, read_osm_ways

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("car", "walk")


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
