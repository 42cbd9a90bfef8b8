"""FINESS establishments of a territory, with the commune that contains each."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

ESTABLISHMENT_COLUMNS = ["finess", "label", "site_type", "commune_code"]


def establishments_in(establishments: pd.DataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Geolocated establishments lying in ``communes`` (``commune_code`` polygons), one point each.

    The brochure lists them by type and commune; keeping them in the snapshot
    spares it the FINESS file.
    """
    located = establishments[establishments["lon"].notna() & establishments["lat"].notna()]
    points = gpd.GeoDataFrame(
        {"finess": located["finess"], "label": located["name"], "site_type": located["site_type"]},
        geometry=gpd.points_from_xy(located["lon"], located["lat"]),
        crs="EPSG:4326",
    )
    outline = communes[["commune_code", "geometry"]].to_crs("EPSG:4326")
    joined = gpd.sjoin(points, outline, predicate="within", how="inner")
    joined = joined.drop_duplicates("finess")
    return gpd.GeoDataFrame(
        joined[ESTABLISHMENT_COLUMNS].reset_index(drop=True),
        geometry=joined.geometry.to_numpy(),
        crs="EPSG:4326",
    )
