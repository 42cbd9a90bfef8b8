"""The communes around a territory whose residents and practitioners share its catchments.

A floating catchment reaches ``r`` km from each resident: supply within ``r``
of the territory, and the demand within ``r`` of that supply, both matter. A
territory built alone therefore needs every commune within ``2 r`` of its
outline; the build computes them all and reports the territory only. Where a
neighbouring département has no supply file in the data folder, its communes
are left out and the build names the territory's communes that lose part of
their catchment.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

METRIC_CRS = "EPSG:2154"


@dataclass(frozen=True)
class Surroundings:
    """Communes to compute (territory and neighbours); per département lacking files, the communes hit."""

    communes: gpd.GeoDataFrame
    territory_codes: frozenset[str]
    missing: dict[str, tuple[str, ...]]

    def warning(self) -> str:
        """French message naming the départements without files and the communes they affect ("" if none)."""
        if not self.missing:
            return ""
        parts = []
        for dep, codes in sorted(self.missing.items()):
            listed = ", ".join(codes[:10]) + ("…" if len(codes) > 10 else "")
            parts.append(f"{dep} ({len(codes)} commune(s) touchée(s) : {listed})")
        return (
            "bassins incomplets au bord du territoire : aucun fichier de professionnels pour le(s) "
            "département(s) voisin(s) " + " ; ".join(parts)
        )


def with_surroundings(
    territory: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    reach_km: float,
    *,
    covered_departments: Collection[str],
) -> Surroundings:
    """The territory's communes plus every commune within ``reach_km`` of its outline.

    ``territory`` and ``communes`` hold ``commune_code``, ``department`` and
    polygons. Neighbours in départements outside ``covered_departments`` (no
    supply file) are left out; ``missing`` lists, for each such département,
    the territory communes within ``reach_km`` of its left-out communes.
    """
    codes = frozenset(territory["commune_code"])
    metric = _candidates(territory, communes, reach_km).to_crs(METRIC_CRS)
    own = metric["commune_code"].isin(codes).to_numpy()
    outline = metric.geometry[own].union_all()
    near = metric.geometry.distance(outline).to_numpy() <= reach_km * 1000.0
    covered = metric["department"].isin(set(covered_departments)).to_numpy() | own
    keep = metric.index[own | (near & covered)]
    missing: dict[str, tuple[str, ...]] = {}
    left_out = metric[near & ~covered]
    if len(left_out):
        inside = metric[own]
        for dep, group in left_out.groupby("department"):
            edge = group.geometry.union_all()
            hit = inside.geometry.distance(edge) <= reach_km * 1000.0
            missing[str(dep)] = tuple(sorted(inside.loc[hit, "commune_code"]))
    chosen = communes[communes.index.isin(keep)]
    return Surroundings(communes=chosen.reset_index(drop=True), territory_codes=codes, missing=missing)


def _candidates(territory: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, reach_km: float) -> gpd.GeoDataFrame:
    """Communes meeting a conservative lon/lat box around the territory (a fast pre-filter)."""
    west, south, east, north = territory.to_crs("EPSG:4326").total_bounds
    lat = min(max(abs(south), abs(north)) + reach_km / 110.0, 89.0)
    margin_lon = reach_km / (111.0 * math.cos(math.radians(lat)))
    margin_lat = reach_km / 110.0
    box = shapely.box(west - margin_lon, south - margin_lat, east + margin_lon, north + margin_lat)
    geographic = communes.to_crs("EPSG:4326") if communes.crs != "EPSG:4326" else communes
    hit = np.zeros(len(communes), dtype=bool)
    hit[geographic.sindex.query(box, predicate="intersects")] = True
    return communes[hit | communes["commune_code"].isin(territory["commune_code"]).to_numpy()]
