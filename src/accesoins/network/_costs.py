"""Cost sources: crow-fly model and origin–destination tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from accesoins.errors import ConfigurationError
from accesoins.network._codes import CostSourceCode
from accesoins.parameters import CrowFlyParameters, load_crowfly_parameters

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

COST_COLUMNS = ["origin_id", "destination_id", "travel_time_min"]
METRIC_CRS = "EPSG:2154"  # Lambert-93, metres: metropolitan France


@runtime_checkable
class CostSource(Protocol):
    """Anything that gives travel times from demand units to supply sites.

    ``origins`` and ``destinations`` are point GeoDataFrames with an ``id``
    column (any CRS). The result has the columns ``origin_id``,
    ``destination_id``, ``travel_time_min``, one row per reachable pair with a
    time ≤ ``max_time_min``; unreachable pairs are absent.
    """

    name: str

    def travel_times(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, *, max_time_min: float
    ) -> pd.DataFrame: ...


@dataclass(frozen=True)
class CrowFlyPoints:
    """One point layer for the crow-fly model: metric coordinates, speed and an integer unit code.

    Identifiers are factorised once, at the edge (:meth:`CrowFlyCosts.points`);
    everything after works on positions.
    """

    xy_m: FloatArray
    speed_kph: FloatArray
    unit: IntArray

    def __len__(self) -> int:
        return int(self.unit.size)

    def take(self, positions: IntArray) -> CrowFlyPoints:
        """The points at ``positions`` (a tile and its halo)."""
        return CrowFlyPoints(self.xy_m[positions], self.speed_kph[positions], self.unit[positions])


@dataclass(frozen=True)
class IndexedCosts:
    """Travel times of the reachable pairs, by position in the origin and destination layers."""

    origin: IntArray
    destination: IntArray
    travel_time_min: FloatArray
    n_origins: int
    n_destinations: int


def _metric_xy(points: gpd.GeoDataFrame, crs: str) -> FloatArray:
    if points.crs is None:
        raise ConfigurationError("couche de points sans système de coordonnées (CRS) : précisez-le")
    projected = points.geometry.to_crs(crs)
    return np.column_stack([projected.x.to_numpy(), projected.y.to_numpy()])


class CrowFlyCosts:
    """Fixed access time + straight-line distance × detour factor ÷ speed, speed by density class.

    The speed of a pair is the harmonic mean of the speeds of the density
    classes of its two ends (half of the trip in each): ``time = d × detour ×
    (1/v_o + 1/v_d) / 2``. Densities come from a ``density_per_km2`` column of
    each layer (missing: the intermediate class). A unit to itself costs
    ``intra_unit_min`` when origin and destination share an ``id`` or
    ``unit_id``. Parameters: ``parameters/crowfly.yaml``.
    """

    name: str = CostSourceCode.VOL_OISEAU

    def __init__(self, parameters: CrowFlyParameters | None = None, *, crs: str = METRIC_CRS) -> None:
        self.parameters = parameters or load_crowfly_parameters()
        self.crs = crs

    def _speeds(self, layer: gpd.GeoDataFrame) -> FloatArray:
        if "density_per_km2" not in layer.columns:
            return self.speeds(None, len(layer))
        return self.speeds(layer["density_per_km2"].to_numpy(dtype=np.float64), len(layer))

    def speeds(self, density_per_km2: FloatArray | None, n: int) -> FloatArray:
        """Speed of each of ``n`` points from its density class (no densities: the intermediate class)."""
        p = self.parameters
        speeds = np.asarray(p.speeds_kph, dtype=np.float64)
        if density_per_km2 is None:
            return np.full(n, speeds[len(speeds) // 2])
        dens = np.nan_to_num(np.asarray(density_per_km2, dtype=np.float64), nan=0.0)
        cls = np.searchsorted(np.asarray(p.density_breaks_per_km2), dens, "right")
        return np.asarray(speeds[cls], dtype=np.float64)

    def points(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame
    ) -> tuple[CrowFlyPoints, CrowFlyPoints]:
        """Both layers as arrays, factorised once: an origin's ``id`` and a site's unit share one code."""
        key = "unit_id" if "unit_id" in destinations.columns else "id"
        codes, _ = pd.factorize(
            np.concatenate([origins["id"].to_numpy(dtype=object), destinations[key].to_numpy(dtype=object)])
        )
        codes = codes.astype(np.int64, copy=False)
        n = len(origins)
        return (
            CrowFlyPoints(_metric_xy(origins, self.crs), self._speeds(origins), codes[:n]),
            CrowFlyPoints(_metric_xy(destinations, self.crs), self._speeds(destinations), codes[n:]),
        )

    def reach_m(self, max_time_min: float) -> float:
        """Largest straight-line distance that can be travelled within ``max_time_min``."""
        p = self.parameters
        return max(max_time_min - p.access_min, 0.0) / 60.0 * max(p.speeds_kph) * 1000.0 / p.detour_factor

    def indexed(
        self,
        origins: CrowFlyPoints,
        destinations: CrowFlyPoints,
        *,
        max_time_min: float,
        origin_tree: cKDTree | None = None,
    ) -> IndexedCosts:
        """Travel times of the pairs within ``max_time_min``, by integer positions (no identifiers).

        The k-d tree pass keeps pairs at zero distance (coincident points), so
        each pair occurs once. ``origin_tree`` is the origins' tree when already built.
        """
        p = self.parameters
        tree_o = cKDTree(origins.xy_m) if origin_tree is None else origin_tree
        tree_d = cKDTree(destinations.xy_m)
        pairs = tree_o.sparse_distance_matrix(tree_d, self.reach_m(max_time_min), output_type="ndarray")
        i = pairs["i"].astype(np.int64, copy=False)
        j = pairs["j"].astype(np.int64, copy=False)
        dist_m = pairs["v"]
        rate = 0.5 * (1.0 / origins.speed_kph[i] + 1.0 / destinations.speed_kph[j])
        minutes = dist_m / 1000.0 * p.detour_factor * rate * 60.0 + np.where(dist_m > 0, p.access_min, 0.0)
        minutes[origins.unit[i] == destinations.unit[j]] = p.intra_unit_min
        keep = minutes <= max_time_min
        return IndexedCosts(i[keep], j[keep], minutes[keep], len(origins), len(destinations))

    def reach_km(self, max_time_min: float) -> float:
        """Longest straight-line distance (km) a trip of ``max_time_min`` can cover."""
        return self.reach_m(max_time_min) / 1000.0

    def travel_times(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, *, max_time_min: float
    ) -> pd.DataFrame:
        o, d = self.points(origins, destinations)
        costs = self.indexed(o, d, max_time_min=max_time_min)
        return pd.DataFrame(
            {
                "origin_id": origins["id"].to_numpy()[costs.origin],
                "destination_id": destinations["id"].to_numpy()[costs.destination],
                "travel_time_min": costs.travel_time_min,
            }
        )


class OdTableCosts:
    """Travel times read from an origin–destination table between units.

    ``table`` has ``origin_id, destination_id, travel_time_min`` between
    *units* (communes, IRIS). Origins are matched on their ``id``, sites on
    their ``unit_id`` (the unit that contains them), so every site of a unit
    gets that unit's times. The table is used in its own orientation.
    """

    name: str = CostSourceCode.DISTANCIER

    def __init__(self, table: pd.DataFrame) -> None:
        missing = [c for c in COST_COLUMNS if c not in table.columns]
        if missing:
            raise ConfigurationError(f"table de temps sans colonne(s) {', '.join(missing)}")
        self.table = table[COST_COLUMNS]

    def travel_times(
        self,
        origins: gpd.GeoDataFrame | pd.DataFrame,
        destinations: gpd.GeoDataFrame | pd.DataFrame,
        *,
        max_time_min: float,
    ) -> pd.DataFrame:
        key = "unit_id" if "unit_id" in destinations.columns else "id"
        sites = pd.DataFrame(
            {"destination_id": destinations["id"].to_numpy(), "unit": destinations[key].to_numpy()}
        )
        t = self.table[self.table["travel_time_min"] <= max_time_min]
        t = t[t["origin_id"].isin(origins["id"])]
        merged = t.rename(columns={"destination_id": "unit"}).merge(sites, on="unit", how="inner")
        unmatched = int((~sites["unit"].isin(self.table["destination_id"])).sum())
        if unmatched:
            log.warning("%d site(s) dont l'unité est absente de la table de temps", unmatched)
        return merged[COST_COLUMNS].reset_index(drop=True)
