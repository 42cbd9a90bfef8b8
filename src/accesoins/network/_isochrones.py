"""Isochrones: the area reachable from sites within time budgets.

Reads a :class:`~accesoins.network.RoadGraph` and a point layer of sites and
returns a GeoDataFrame (``site_id``, ``time_min``, ``geometry``, EPSG:4326)
with one polygon per site and budget. The polygon is the buffer of every
reached piece of road: whole edges whose far end is reached within the budget,
plus the reached part of the edges that are left midway (cut by linear
interpolation of the remaining time). A buffer, rather than a concave hull,
keeps the fields between roads out, and grows with the budget by construction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer
from scipy.sparse.csgraph import dijkstra

from accesoins.errors import ConfigurationError, UnknownChoiceError
from accesoins.network._graph import RoadGraph
from accesoins.network._road_costs import _lonlat

log = logging.getLogger(__name__)

DEFAULT_TIMES_MIN = (5.0, 10.0, 15.0, 20.0)
DEFAULT_BUFFER_M = {"car": 100.0, "walk": 50.0}
DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}


def _metric_crs(graph: RoadGraph) -> CRS:
    """UTM zone of the graph's centre (metres)."""
    lon, lat = float(np.median(graph.node_lon)), float(np.median(graph.node_lat))
    zone = int((lon + 180) // 6) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def reached_segments(graph: RoadGraph, minutes: np.ndarray, budget_min: float, xy: np.ndarray) -> np.ndarray:
    """Pieces of edges reached within ``budget_min``: array ``(n, 2, 2)`` of segment end points.

    ``minutes`` is the time from the site to every node (``inf`` if not
    reached); ``xy`` the node coordinates (any planar CRS).

    Examples
    --------
    >>> g = RoadGraph("walk", np.array([0, 1, 1]), np.array([1]), np.array([2.0]), np.array([150.0]),
    ...               np.zeros(2), np.zeros(2), np.arange(2))
    >>> reached_segments(g, np.array([0.0, 2.0]), 1.0, np.array([[0.0, 0.0], [150.0, 0.0]]))
    array([[[ 0.,  0.],
            [75.,  0.]]])
    """
    tails = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    start = minutes[tails]
    ok = start <= budget_min
    tail, head, t0, w = tails[ok], graph.indices[ok], start[ok], graph.time_min[ok]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(w > 0, np.clip((budget_min - t0) / w, 0.0, 1.0), 1.0)
    a = xy[tail]
    b = a + fraction[:, None] * (xy[head] - a)
    return np.stack([a, b], axis=1)


def isochrones(
    graph: RoadGraph,
    sites: gpd.GeoDataFrame,
    *,
    times_min: Sequence[float] = DEFAULT_TIMES_MIN,
    max_snap_m: float = 500.0,
    buffer_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Polygons reachable from each site within each of ``times_min`` minutes.

    Each site (a point layer with an ``id``) is snapped to its nearest graph
    node; a site farther than ``max_snap_m`` metres is reported in the log and
    gets no row. The polygon is the union of the reached road pieces buffered
    by ``buffer_m`` metres (default: 100 m by car, 50 m on foot).

    Returns a GeoDataFrame with ``site_id``, ``time_min``, ``geometry`` in
    EPSG:4326, ordered by site then time.
    """
    budgets = sorted(float(t) for t in times_min)
    if not budgets or budgets[0] <= 0:
        raise ConfigurationError("durées d'isochrone invalides : des minutes > 0 sont attendues")
    buffer_m = DEFAULT_BUFFER_M[graph.mode] if buffer_m is None else float(buffer_m)
    if buffer_m <= 0:
        raise ConfigurationError(f"tampon d'isochrone invalide : {buffer_m} m (> 0 attendu)")
    lon, lat = _lonlat(sites)
    node, snap_m = graph.snap(lon, lat)
    far = snap_m > max_snap_m
    if far.any():
        log.warning(
            "%d site(s) à plus de %.0f m du réseau (%s) : pas d'isochrone pour %s",
            int(far.sum()),
            max_snap_m,
            graph.mode,
            list(sites["id"].to_numpy()[far])[:10],
        )
    crs = _metric_crs(graph)
    to_metric = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    xy = np.column_stack(to_metric.transform(graph.node_lon, graph.node_lat))
    matrix = graph.matrix()
    ids, times, geoms = [], [], []
    for site_id, n, skip in zip(sites["id"].to_numpy(), node, far, strict=True):
        if skip:
            continue
        minutes = np.asarray(dijkstra(matrix, indices=int(n), limit=budgets[-1]))
        for budget in budgets:
            segments = reached_segments(graph, minutes, budget, xy)
            # Buffer each piece, then one cascaded union: far faster in GEOS than
            # buffering a MultiLineString of thousands of parts.
            pieces = (
                shapely.buffer(shapely.linestrings(segments), buffer_m, quad_segs=4) if len(segments) else []
            )
            site_disc = shapely.buffer(shapely.points(xy[n]), buffer_m, quad_segs=4)
            geoms.append(shapely.union_all(np.append(pieces, site_disc)))
            ids.append(site_id)
            times.append(budget)
    out = gpd.GeoDataFrame(
        {"site_id": ids, "time_min": np.asarray(times, dtype=np.float64)},
        geometry=gpd.GeoSeries(geoms, crs=crs),
    )
    return out.to_crs("EPSG:4326")


def export_isochrones(polygons: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write isochrones to GeoJSON (``.geojson``/``.json``) or GeoPackage (``.gpkg``) with pyogrio."""
    path = Path(path)
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise UnknownChoiceError("Extension de fichier d'isochrones", path.suffix, DRIVERS)
    pyogrio.write_dataframe(polygons, path, driver=driver)
    return path
