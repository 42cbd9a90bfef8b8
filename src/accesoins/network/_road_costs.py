"""Road and walking travel times as a cost source (:class:`RoadNetworkCosts`)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from accesoins.errors import ConfigurationError, NetworkError
from accesoins.network._dijkstra import travel_time_pairs
from accesoins.network._graph import RoadGraph

log = logging.getLogger(__name__)

COST_NAMES = {"car": "route", "walk": "marche"}


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

    def _nodes(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Node of each point (-1 beyond ``max_snap_m``) and its snapping distance in metres."""
        node, snap_m = self.graph.snap(lon, lat)
        return np.where(snap_m <= self.max_snap_m, node, -1), snap_m

    def snap_report(self, points: gpd.GeoDataFrame) -> pd.DataFrame:
        """One row per point: ``id``, ``node``, ``snap_m`` and ``reachable`` (snap ≤ ``max_snap_m``)."""
        node, snap_m = self._nodes(*_lonlat(points))
        return pd.DataFrame(
            {"id": points["id"].to_numpy(), "node": node, "snap_m": snap_m, "reachable": node >= 0}
        )

    def snapped(self, lon: np.ndarray, lat: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_nodes`, the points out of reach logged (``label``: origin or destination)."""
        node, snap = self._nodes(lon, lat)
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
        return node, snap

    def node_pairs(
        self,
        origins: tuple[np.ndarray, np.ndarray],
        destinations: tuple[np.ndarray, np.ndarray],
        *,
        max_time_min: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions and times of the pairs within ``max_time_min`` between snapped (node, metres) points."""
        (o_node, o_snap), (d_node, d_snap) = origins, destinations
        oi, dj, minutes = travel_time_pairs(self.graph, o_node, d_node, max_time_min=max_time_min)
        if self.connector_speed_kph is not None:
            minutes = minutes + (o_snap[oi] + d_snap[dj]) / (self.connector_speed_kph * 1000.0 / 60.0)
            within = minutes <= max_time_min
            oi, dj, minutes = oi[within], dj[within], minutes[within]
        return oi, dj, minutes

    def travel_times(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, *, max_time_min: float
    ) -> pd.DataFrame:
        o = self.snapped(*_lonlat(origins), "origin")
        d = self.snapped(*_lonlat(destinations), "destination")
        oi, dj, minutes = self.node_pairs(o, d, max_time_min=max_time_min)
        return pd.DataFrame(
            {
                "origin_id": origins["id"].to_numpy()[oi],
                "destination_id": destinations["id"].to_numpy()[dj],
                "travel_time_min": minutes,
            }
        )
