"""Geographic steps of a build: activities on points, practice sites, demand units, grid cells.

Each function takes the validated tables of :mod:`accesoins.sources` and
returns GeoDataFrames; the observatory pipeline only chains them.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from accesoins.geo._place import assign_units, commune_points, place_activities

UNIT_COLUMNS = [
    "level",
    "unit_id",
    "name",
    "parent_id",
    "population",
    "population_standardised",
    "point_lon",
    "point_lat",
    "density_per_km2",
]
CELL_AREA_KM2 = 0.04  # a 200 m cell


def locate_activities(
    activities: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    establishments: pd.DataFrame | None,
    history: pd.Series,
) -> gpd.GeoDataFrame:
    """Points of the activities; supply already given per IRIS keeps its point and precision ``iris``."""
    by_iris = activities.get("iris_code", pd.Series("", index=activities.index)).fillna("") != ""
    placed = place_activities(
        activities[~by_iris], communes, establishments=establishments, commune_history=history
    )
    if by_iris.any():
        iris_rows = activities[by_iris]
        iris_rows = gpd.GeoDataFrame(
            iris_rows.assign(site_id="iris:" + iris_rows["iris_code"], precision="iris"),
            geometry=gpd.points_from_xy(iris_rows["lon"], iris_rows["lat"]),
            crs="EPSG:4326",
        ).drop(columns=["lon", "lat"])
        placed = pd.concat([placed, iris_rows], ignore_index=True) if len(placed) else iris_rows
    return gpd.GeoDataFrame(placed, geometry="geometry", crs="EPSG:4326")


def practice_sites(
    activities: gpd.GeoDataFrame, consultations: pd.Series, communes: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """One row per practice site: precision, point, professions, commune, IRIS, GP consultations.

    Only establishments keep a name (the FINESS one); a private practice's name
    often holds the practitioner's, which public outputs do not need. The
    commune's density sets the crow-fly speed class of the site.
    """
    located = activities[activities["site_id"] != ""]
    first = located.drop_duplicates("site_id").set_index("site_id")
    professions = located.groupby("site_id")["profession"].agg(lambda p: ",".join(sorted(set(p))))
    names = first.get("site_name", pd.Series("", index=first.index)).fillna("")
    density = communes.set_index("commune_code")["density_per_km2"]
    sites = gpd.GeoDataFrame(
        {
            "label": names.where(first["precision"].eq("etablissement"), ""),
            "precision": first["precision"],
            "professions": professions.reindex(first.index),
            "commune_code": first["commune_code"],
            "iris_code": first.get("iris_code", pd.Series("", index=first.index)).fillna(""),
            "n_activities": located.groupby("site_id").size(),
            "consultations": consultations.groupby(located["site_id"]).sum().reindex(first.index).fillna(0.0),
            "density_per_km2": first["commune_code"].map(density).astype(float),
        },
        geometry=first.geometry,
        crs=activities.crs,
    )
    sites.index.name = "site_id"
    return sites


def site_points(sites: gpd.GeoDataFrame, unit_id: pd.Series) -> gpd.GeoDataFrame:
    """Sites as cost destinations: ``id``, the demand ``unit_id`` holding each, density."""
    return gpd.GeoDataFrame(
        {"id": sites.index, "unit_id": unit_id.to_numpy(), "density_per_km2": sites["density_per_km2"]},
        geometry=sites.geometry,
        crs=sites.crs,
    )


def commune_origins(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Communes as cost origins, at their town hall (or inner point)."""
    return gpd.GeoDataFrame(
        {"id": communes["commune_code"], "density_per_km2": communes["density_per_km2"]},
        geometry=commune_points(communes).values,
        crs=communes.crs,
    )


def unit_rows(
    level: str,
    unit_id: pd.Series | pd.Index,
    geometry: gpd.GeoSeries | np.ndarray,
    *,
    crs: object,
    name: pd.Series | pd.Index,
    parent_id: pd.Series | np.ndarray,
    population: pd.Series | np.ndarray,
    population_standardised: pd.Series | np.ndarray,
    points: gpd.GeoSeries | None = None,
    density_per_km2: pd.Series | np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """The rows of one level of the units table (every level has the same columns)."""
    n = len(unit_id)
    empty = np.full(n, np.nan)
    points_4326 = points.to_crs("EPSG:4326") if points is not None else None
    frame = gpd.GeoDataFrame(
        {
            "level": level,
            "unit_id": np.asarray(unit_id),
            "name": np.asarray(name),
            "parent_id": np.asarray(parent_id),
            "population": np.asarray(population, dtype=np.float64),
            "population_standardised": np.asarray(population_standardised, dtype=np.float64),
            "point_lon": empty if points_4326 is None else points_4326.x.to_numpy(),
            "point_lat": empty if points_4326 is None else points_4326.y.to_numpy(),
            "density_per_km2": empty if density_per_km2 is None else np.asarray(density_per_km2),
        },
        geometry=np.asarray(geometry),
        crs=crs,
    )
    return frame.to_crs("EPSG:4326")


def units_table(levels: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """The units table of a snapshot: the rows of every level, in EPSG:4326."""
    return gpd.GeoDataFrame(
        pd.concat(levels, ignore_index=True)[[*UNIT_COLUMNS, "geometry"]], crs="EPSG:4326"
    )


def grid_cells(grid: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cell centres as cost origins, with their commune and residents per km²."""
    centres = gpd.GeoDataFrame({"id": grid["cell_id"]}, geometry=grid.geometry.centroid, crs=grid.crs)
    centres["commune_code"] = assign_units(
        centres, communes.to_crs(grid.crs), unit_id="commune_code"
    ).to_numpy()
    centres["density_per_km2"] = grid["population"].to_numpy() / CELL_AREA_KM2
    return centres.to_crs("EPSG:4326")


def in_cells(points: gpd.GeoDataFrame, grid: gpd.GeoDataFrame) -> pd.Series:
    """Cell holding each point (empty string outside the grid)."""
    return assign_units(points.to_crs(grid.crs), grid, unit_id="cell_id")


def overlapping(layer: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Features of ``layer`` that intersect the territory.

    Features are first kept by the territory's box in the layer's own CRS
    (widened by 1 % of its size), so a national layer (2.3 million 200 m cells)
    is not reprojected whole; the test itself stays in WGS84.
    """
    x0, y0, x1, y1 = communes.to_crs(layer.crs).total_bounds
    margin = 0.01 * max(x1 - x0, y1 - y0)
    near = layer.cx[x0 - margin : x1 + margin, y0 - margin : y1 + margin]
    outline = communes.to_crs("EPSG:4326").union_all()
    return near[near.to_crs("EPSG:4326").intersects(outline)]


def hull_coverage(lon: np.ndarray, lat: np.ndarray, communes: gpd.GeoDataFrame) -> float:
    """Share of the territory's area inside the convex hull of points (e.g. a road graph's nodes)."""
    outline = communes.to_crs("EPSG:2154").union_all()
    nodes = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    hull = nodes.to_crs("EPSG:2154").union_all().convex_hull
    return float(hull.intersection(outline).area / outline.area) if outline.area > 0 else 0.0
