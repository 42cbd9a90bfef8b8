"""Origins made ready once for many small sets of new sites (the what-ifs of a scenario engine).

A what-if adds one or a few sites to a snapshot whose demand units never change: projecting,
indexing and snapping the units again at every what-if was most of its cost. :func:`prepare_origins`
does that once per layer of units; :meth:`PreparedOrigins.indexed` then costs only the new sites.
The times are those :meth:`CostSource.travel_times` gives for the same points (tested).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from accesoins.network._costs import (
    CostSource,
    CrowFlyCosts,
    CrowFlyPoints,
    FloatArray,
    IndexedCosts,
    OdTableCosts,
    _metric_xy,
)
from accesoins.network._road_costs import RoadNetworkCosts, _lonlat

log = logging.getLogger(__name__)

_UNKNOWN_UNIT = -2  # code of a site's unit that is none of the origins (origin codes are ≥ -1)


@dataclass(frozen=True)
class NewSites:
    """Sites placed by coordinates: WGS84 points, the unit containing each ("" when none) and its density.

    The unit makes a site's own unit cost the intra-unit time (as the ``unit_id`` of a
    destinations layer does); the density per km² sets the crow-fly speed at the site.
    """

    lon: FloatArray
    lat: FloatArray
    unit_id: tuple[str, ...]
    density_per_km2: FloatArray

    def __len__(self) -> int:
        return len(self.unit_id)

    def frame(self) -> gpd.GeoDataFrame:
        """The sites as a destinations layer (``id`` is the site's position, as text)."""
        return gpd.GeoDataFrame(
            {
                "id": [str(i) for i in range(len(self))],
                "unit_id": list(self.unit_id),
                "density_per_km2": self.density_per_km2,
            },
            geometry=gpd.points_from_xy(self.lon, self.lat),
            crs="EPSG:4326",
        )


class PreparedOrigins(Protocol):
    """A layer of origins ready for :meth:`indexed` against any number of small site sets."""

    def indexed(self, sites: NewSites, *, max_time_min: float) -> IndexedCosts:
        """Travel times from the origins to ``sites`` within ``max_time_min``, by positions."""
        ...


def prepare_origins(cost: CostSource, origins: pd.DataFrame) -> PreparedOrigins:
    """``origins`` (``id`` and, for the crow-fly and road models, point geometries) ready for ``cost``."""
    if isinstance(cost, CrowFlyCosts):
        return _CrowFlyOrigins(cost, gpd.GeoDataFrame(origins))
    if isinstance(cost, RoadNetworkCosts):
        return _RoadOrigins(cost, gpd.GeoDataFrame(origins))
    if isinstance(cost, OdTableCosts):
        return _OdOrigins(cost, origins)
    return _AnyOrigins(cost, origins)


class _CrowFlyOrigins:
    """Origins projected, given their speeds and indexed in a k-d tree once."""

    def __init__(self, cost: CrowFlyCosts, origins: gpd.GeoDataFrame) -> None:
        codes, uniques = pd.factorize(origins["id"].to_numpy(dtype=object))
        self.cost = cost
        self.codes = {str(u): i for i, u in enumerate(uniques)}
        density = None
        if "density_per_km2" in origins:
            density = origins["density_per_km2"].to_numpy(dtype=np.float64)
        self.points = CrowFlyPoints(
            _metric_xy(origins, cost.crs), cost.speeds(density, len(origins)), codes.astype(np.int64)
        )
        self.tree = cKDTree(self.points.xy_m)
        self.to_metric = pyproj.Transformer.from_crs("EPSG:4326", cost.crs, always_xy=True)

    def indexed(self, sites: NewSites, *, max_time_min: float) -> IndexedCosts:
        x, y = self.to_metric.transform(np.asarray(sites.lon), np.asarray(sites.lat))
        dest = CrowFlyPoints(
            np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)]),
            self.cost.speeds(sites.density_per_km2, len(sites)),
            np.array([self.codes.get(u, _UNKNOWN_UNIT) for u in sites.unit_id], dtype=np.int64),
        )
        return self.cost.indexed(self.points, dest, max_time_min=max_time_min, origin_tree=self.tree)


class _RoadOrigins:
    """Origins snapped to the road graph once."""

    def __init__(self, cost: RoadNetworkCosts, origins: gpd.GeoDataFrame) -> None:
        self.cost = cost
        self.n = len(origins)
        self.snapped = cost.snapped(*_lonlat(origins), "origin")

    def indexed(self, sites: NewSites, *, max_time_min: float) -> IndexedCosts:
        dest = self.cost.snapped(np.asarray(sites.lon), np.asarray(sites.lat), "destination")
        oi, dj, minutes = self.cost.node_pairs(self.snapped, dest, max_time_min=max_time_min)
        return IndexedCosts(
            np.asarray(oi, dtype=np.int64), np.asarray(dj, dtype=np.int64), minutes, self.n, len(sites)
        )


class _OdOrigins:
    """The origin–destination table's rows from these origins, grouped by destination unit once."""

    def __init__(self, cost: OdTableCosts, origins: pd.DataFrame) -> None:
        table = cost.table
        self.n = len(origins)
        origin = pd.Index(origins["id"].to_numpy(dtype=object)).get_indexer(
            table["origin_id"].to_numpy(dtype=object)
        )
        known = origin >= 0
        units, uniques = pd.factorize(table["destination_id"].to_numpy(dtype=object)[known])
        order = np.argsort(units, kind="stable")
        bounds = np.flatnonzero(np.diff(units[order])) + 1
        minutes = table["travel_time_min"].to_numpy(dtype=np.float64)[known][order]
        rows = origin[known][order].astype(np.int64)
        self.by_unit = {
            str(u): (o, t)
            for u, o, t in zip(uniques, np.split(rows, bounds), np.split(minutes, bounds), strict=True)
        }
        self.units = frozenset(str(u) for u in table["destination_id"].to_numpy(dtype=object))

    def indexed(self, sites: NewSites, *, max_time_min: float) -> IndexedCosts:
        parts = []
        for j, unit in enumerate(sites.unit_id):
            origin, minutes = self.by_unit.get(unit, (np.empty(0, dtype=np.int64), np.empty(0)))
            within = minutes <= max_time_min
            parts.append((origin[within], np.full(int(within.sum()), j, dtype=np.int64), minutes[within]))
        unmatched = sum(u not in self.units for u in sites.unit_id)
        if unmatched:
            log.warning("%d site(s) dont l'unité est absente de la table de temps", unmatched)
        if not parts:
            return IndexedCosts(
                np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0), self.n, 0
            )
        o, d, t = (np.concatenate(p) for p in zip(*parts, strict=True))
        return IndexedCosts(o, d, t, self.n, len(sites))


class _AnyOrigins:
    """Any other cost source (an origin–destination table): its ``travel_times``, turned into positions."""

    def __init__(self, cost: CostSource, origins: pd.DataFrame) -> None:
        self.cost = cost
        self.origins = origins
        self.index = pd.Index(origins["id"].to_numpy(dtype=object))

    def indexed(self, sites: NewSites, *, max_time_min: float) -> IndexedCosts:
        dest = sites.frame()
        costs = self.cost.travel_times(self.origins, dest, max_time_min=max_time_min)
        o = self.index.get_indexer(costs["origin_id"].to_numpy(dtype=object))
        d = pd.Index(dest["id"]).get_indexer(costs["destination_id"].to_numpy(dtype=object))
        known = (o >= 0) & (d >= 0)
        return IndexedCosts(
            o[known].astype(np.int64),
            d[known].astype(np.int64),
            costs["travel_time_min"].to_numpy(dtype=np.float64)[known],
            len(self.index),
            len(sites),
        )
