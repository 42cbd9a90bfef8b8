"""Cost sources: crow-fly model and origin–destination tables."""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from accesoins.errors import ConfigurationError
from accesoins.network._codes import CostSourceCode
from accesoins.parameters import CrowFlyParameters, load_crowfly_parameters

log = logging.getLogger(__name__)

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


def _metric_xy(points: gpd.GeoDataFrame, crs: str) -> np.ndarray:
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

    def _speeds(self, layer: gpd.GeoDataFrame) -> np.ndarray:
        p = self.parameters
        speeds = np.asarray(p.speeds_kph, dtype=np.float64)
        if "density_per_km2" not in layer.columns:
            return np.full(len(layer), speeds[len(speeds) // 2])
        dens = layer["density_per_km2"].to_numpy(dtype=np.float64)
        cls = np.searchsorted(np.asarray(p.density_breaks_per_km2), np.nan_to_num(dens, nan=0.0), "right")
        return np.asarray(speeds[cls], dtype=np.float64)

    def reach_km(self, max_time_min: float) -> float:
        """Longest straight-line distance a trip of ``max_time_min`` can cover."""
        p = self.parameters
        return max(max_time_min - p.access_min, 0.0) / 60.0 * max(p.speeds_kph) / p.detour_factor

    def travel_times(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, *, max_time_min: float
    ) -> pd.DataFrame:
        p = self.parameters
        xy_o = _metric_xy(origins, self.crs)
        xy_d = _metric_xy(destinations, self.crs)
        v_o, v_d = self._speeds(origins), self._speeds(destinations)
        reach_m = self.reach_km(max_time_min) * 1000.0
        pairs = cKDTree(xy_o).sparse_distance_matrix(cKDTree(xy_d), reach_m, output_type="ndarray")
        i, j, dist_m = pairs["i"], pairs["j"], pairs["v"]
        # sparse_distance_matrix omits zero distances: add coincident points back.
        zero = cKDTree(xy_o).query_ball_tree(cKDTree(xy_d), 1e-6)
        zi = np.repeat(np.arange(len(zero)), [len(z) for z in zero]).astype(np.int64)
        zj = np.fromiter((k for z in zero for k in z), dtype=np.int64, count=len(zi))
        i = np.concatenate([i, zi])
        j = np.concatenate([j, zj])
        dist_m = np.concatenate([dist_m, np.zeros(len(zi))])
        hours = dist_m / 1000.0 * p.detour_factor * 0.5 * (1.0 / v_o[i] + 1.0 / v_d[j])
        minutes = hours * 60.0 + np.where(dist_m > 0, p.access_min, 0.0)
        out = pd.DataFrame(
            {
                "origin_id": origins["id"].to_numpy()[i],
                "destination_id": destinations["id"].to_numpy()[j],
                "travel_time_min": minutes,
            }
        )
        same_unit = _same_unit(origins, destinations, i, j)
        out.loc[same_unit, "travel_time_min"] = p.intra_unit_min
        out = out.drop_duplicates(["origin_id", "destination_id"])
        return out[out["travel_time_min"] <= max_time_min].reset_index(drop=True)


def _same_unit(
    origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    key = "unit_id" if "unit_id" in destinations.columns else "id"
    dest_unit = destinations[key].to_numpy()[j]
    return np.asarray(origins["id"].to_numpy()[i] == dest_unit)


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
