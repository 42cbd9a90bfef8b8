"""Zones on the population mesh: parent communes, population shares and supply that respects precision.

A *mesh* is the finest population layer of a build: 200 m cells (a cell
belongs to the zone holding its centre), IRIS polygons (shared by area), and,
for the rest of each commune, the commune itself (areal weighting, used only
where nothing finer exists). Columns: ``unit_id``, ``commune_code``,
``population``, ``population_standardised``, ``how`` (``centre`` or
``surface``), ``method`` and the polygon. :func:`zone_weights` gives the share
of each mesh unit that lies in each zone; indicators aggregate with it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accesoins.sources import RURAL_SUFFIX

METRIC_CRS = "EPSG:2154"
POINT_PRECISIONS = ("etablissement", "adresse")
MIN_SHARE = 1e-9

MESH_METHODS = {
    "carreau": "carreaux de 200 m (centre)",
    "iris": "IRIS (part de surface)",
    "commune": "commune (part de surface)",
}


def parent_communes(zones: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill ``commune_code``/``commune_codes`` where the file gave none: communes covering ≥ 1 % of the zone,
    the parent being the one with the largest overlap."""
    missing = zones["commune_code"].fillna("").eq("") & zones.geometry.notna()
    if not missing.any():
        return zones
    z = zones.loc[missing, ["zone_id", "geometry"]].to_crs(METRIC_CRS)
    c = communes[["commune_code", "geometry"]].to_crs(METRIC_CRS)
    pieces = gpd.overlay(z, c, how="intersection", keep_geom_type=True)
    pieces["area"] = pieces.area
    pieces["share"] = pieces["area"] / pieces["zone_id"].map(z.set_index("zone_id").area)
    pieces = pieces[pieces["share"] >= 0.01].sort_values(["zone_id", "area"], ascending=[True, False])
    listed = pieces.groupby("zone_id", sort=False)["commune_code"].agg(";".join)
    out = zones.copy()
    out.loc[missing, "commune_codes"] = out.loc[missing, "zone_id"].map(listed).fillna("").to_numpy()
    out.loc[missing, "commune_code"] = out.loc[missing, "commune_codes"].str.split(";").str[0].to_numpy()
    return out


def zones_from_iris(zones: gpd.GeoDataFrame, iris: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Geometry of quartiers given as IRIS lists: the union of their IRIS contours (None when unknown)."""
    listed = zones["iris_codes"].fillna("").ne("") & zones.geometry.isna()
    if not listed.any():
        return zones
    contours = iris.set_index("zone_id").geometry.to_crs(zones.crs)
    geoms = zones.geometry.to_numpy().copy()
    for i in np.flatnonzero(listed.to_numpy()):
        parts = contours.reindex(zones["iris_codes"].iloc[i].split(";")).dropna()
        geoms[i] = shapely.union_all(parts.to_numpy()) if len(parts) else None
    return zones.set_geometry(gpd.GeoSeries(geoms, index=zones.index, crs=zones.crs))


def population_mesh(
    communes: gpd.GeoDataFrame,
    population: pd.DataFrame,
    *,
    fine: gpd.GeoDataFrame | None = None,
    fine_level: str = "iris",
    extent: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """The finest population layer: ``fine`` units (IRIS polygons or 200 m cells), then the rest of communes.

    ``population``: ``population`` and ``population_standardised`` per commune
    code. ``fine``: ``unit_id``, ``commune_code``, ``population``,
    ``population_standardised``, polygons. ``extent``: the area the fine layer
    covers (a grid extract's window; default: the union of its polygons). The
    rest of a commune gets its population minus the fine units' (never below
    zero), spread by area over the commune outside ``extent``.
    """
    parts = []
    c = communes[["commune_code", "geometry"]].to_crs(METRIC_CRS).set_index("commune_code")
    rest_pop = population["population"].reindex(c.index).fillna(0.0).astype(float)
    rest_std = population["population_standardised"].reindex(c.index).fillna(0.0).astype(float)
    rest_geom = c.geometry
    if fine is not None and len(fine):
        f = fine.to_crs(METRIC_CRS)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "unit_id": f["unit_id"].to_numpy(),
                    "commune_code": f["commune_code"].to_numpy(),
                    "population": f["population"].to_numpy(dtype=float),
                    "population_standardised": f["population_standardised"].to_numpy(dtype=float),
                    "how": "centre" if fine_level == "carreau" else "surface",
                    "method": fine_level,
                },
                geometry=f.geometry.to_numpy(),
                crs=METRIC_CRS,
            )
        )
        covered = (
            gpd.GeoSeries([extent], crs=fine.crs).to_crs(METRIC_CRS).iloc[0] if extent else f.union_all()
        )
        sums = f.groupby("commune_code")[["population", "population_standardised"]].sum()
        rest_pop = (rest_pop - sums["population"].reindex(c.index).fillna(0.0)).clip(lower=0.0)
        rest_std = (rest_std - sums["population_standardised"].reindex(c.index).fillna(0.0)).clip(lower=0.0)
        rest_geom = rest_geom.difference(covered)
    keep = ~rest_geom.is_empty & (rest_geom.area > 1.0)
    parts.append(
        gpd.GeoDataFrame(
            {
                "unit_id": "reste:" + c.index[keep],
                "commune_code": c.index[keep],
                "population": rest_pop[keep].to_numpy(),
                "population_standardised": rest_std[keep].to_numpy(),
                "how": "surface",
                "method": "commune",
            },
            geometry=rest_geom[keep].to_numpy(),
            crs=METRIC_CRS,
        )
    )
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=METRIC_CRS)


def zone_weights(zones: gpd.GeoDataFrame, mesh: gpd.GeoDataFrame) -> pd.DataFrame:
    """Share of each mesh unit's population in each zone: ``zone_id``, ``unit_id``, ``share``.

    Cells (``how == "centre"``) count wholly in the zone holding their centre;
    polygons (``surface``) by the share of their area inside the zone. A zone
    that is itself a mesh unit (an IRIS on the IRIS mesh) takes it whole.
    """
    z = zones[zones.geometry.notna()][["zone_id", "geometry"]].to_crs(METRIC_CRS)
    same = mesh["unit_id"].isin(z["zone_id"])
    frames = [
        pd.DataFrame(
            {"zone_id": mesh.loc[same, "unit_id"], "unit_id": mesh.loc[same, "unit_id"], "share": 1.0}
        )
    ]
    z = z[~z["zone_id"].isin(mesh["unit_id"])]
    centre = mesh[(mesh["how"] == "centre") & ~same]
    if len(centre) and len(z):
        pts = gpd.GeoDataFrame(
            {"unit_id": centre["unit_id"]}, geometry=centre.geometry.centroid, crs=METRIC_CRS
        )
        hit = gpd.sjoin(pts, z, how="inner", predicate="within")
        frames.append(pd.DataFrame({"zone_id": hit["zone_id"], "unit_id": hit["unit_id"], "share": 1.0}))
    surface = mesh[(mesh["how"] == "surface") & ~same]
    if len(surface) and len(z):
        pieces = gpd.overlay(surface[["unit_id", "geometry"]], z, how="intersection", keep_geom_type=True)
        area = pieces["unit_id"].map(surface.set_index("unit_id").area)
        frames.append(
            pd.DataFrame(
                {"zone_id": pieces["zone_id"], "unit_id": pieces["unit_id"], "share": pieces.area / area}
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out = out.groupby(["zone_id", "unit_id"], as_index=False)["share"].sum()
    out["share"] = out["share"].clip(upper=1.0)
    return out[out["share"] > MIN_SHARE].reset_index(drop=True)


def zone_supply(activities: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Share of each activity in each zone, respecting the precision of its placement.

    Activities placed at their establishment or address count where their point
    lies (``how`` = ``point``). Activities known only to their IRIS count in an
    IRIS zone of that code, or in other zones by the IRIS's population share
    (``iris``) when the IRIS is a unit of the mesh. Activities placed at the
    town hall (precision ``commune``) are in no zone: their commune reports
    them as supply whose infra-communal location is unknown.
    Returns ``activity`` (index label in ``activities``), ``zone_id``, ``share``, ``how``.
    """
    frames = []
    point = activities[activities["precision"].isin(POINT_PRECISIONS) & activities.geometry.notna()]
    z = zones[zones.geometry.notna()][["zone_id", "geometry"]]
    if len(point) and len(z):
        hit = gpd.sjoin(point[["geometry"]], z.to_crs(point.crs), how="inner", predicate="within")
        frames.append(
            pd.DataFrame({"activity": hit.index, "zone_id": hit["zone_id"], "share": 1.0, "how": "point"})
        )
    if "iris_code" in activities.columns:
        by_iris = activities[activities["precision"].eq("iris") & activities["iris_code"].fillna("").ne("")]
        code = pd.DataFrame({"activity": by_iris.index, "unit_id": by_iris["iris_code"].to_numpy()})
        own = code[code["unit_id"].isin(zones["zone_id"])]
        frames.append(
            pd.DataFrame(
                {"activity": own["activity"], "zone_id": own["unit_id"], "share": 1.0, "how": "iris"}
            )
        )
        spread = code.merge(weights[~weights["zone_id"].isin(weights["unit_id"])], on="unit_id")
        frames.append(spread[["activity", "zone_id", "share"]].assign(how="iris"))
    if not frames:
        return pd.DataFrame({"activity": [], "zone_id": [], "share": [], "how": []})
    return pd.concat(frames, ignore_index=True)


def zone_mesh(
    communes: gpd.GeoDataFrame,
    unit_levels: list[gpd.GeoDataFrame],
    *,
    iris_contours: gpd.GeoDataFrame | None = None,
    iris_population: pd.Series | None = None,
    iris_standardised: pd.Series | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """The finest population layer of a build and its level: 200 m cells, else IRIS with contours,
    else communes.

    ``unit_levels`` are the build's unit tables (``level``, ``unit_id``, ``parent_id``,
    populations, geometry); IRIS need their contours and their (standardised) population.
    """
    by_level = {u["level"].iloc[0]: u for u in unit_levels if len(u)}
    totals = by_level["commune"].set_index("unit_id")[["population", "population_standardised"]]
    if "carreau" in by_level:
        cells = by_level["carreau"]
        fine = gpd.GeoDataFrame(
            {
                "unit_id": cells["unit_id"],
                "commune_code": cells["parent_id"],
                "population": cells["population"],
                "population_standardised": cells["population_standardised"],
            },
            geometry=cells.geometry,
            crs=cells.crs,
        )
        extent = shapely.box(*cells.total_bounds)
        return population_mesh(communes, totals, fine=fine, fine_level="carreau", extent=extent), "carreau"
    if iris_contours is not None and iris_population is not None and iris_standardised is not None:
        known = iris_contours[iris_contours["zone_id"].isin(iris_population.index)]
        fine = gpd.GeoDataFrame(
            {
                "unit_id": known["zone_id"],
                "commune_code": known["commune_code"],
                "population": known["zone_id"].map(iris_population),
                "population_standardised": known["zone_id"].map(iris_standardised),
            },
            geometry=known.geometry,
            crs=known.crs,
        )
        return population_mesh(communes, totals, fine=fine, fine_level="iris"), "iris"
    return population_mesh(communes, totals, fine=None, fine_level="commune", extent=None), "commune"


def whole_commune_parts(
    zones: gpd.GeoDataFrame, mesh: gpd.GeoDataFrame, activities: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mesh weights and located supply of each zone's whole commune(s), to compare a zone with them.

    Only supply located below the commune counts (establishment, address, or an
    IRIS of the mesh): a practitioner at the town hall is in no part of the commune.
    """
    communes = zones[["zone_id", "commune_codes"]].assign(commune_code=zones["commune_codes"].str.split(";"))
    return _parts(communes.explode("commune_code")[["zone_id", "commune_code"]], mesh, activities)


def urban_unit_parts(
    zones: gpd.GeoDataFrame,
    mesh: gpd.GeoDataFrame,
    activities: gpd.GeoDataFrame,
    membership: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mesh weights and located supply of each zone's unité urbaine, as far as the build holds it.

    ``membership``: ``commune_code``, ``uu_code`` (``sources.read_urban_units``).
    The unité urbaine is that of the zone's parent commune, plus the zone's own
    communes (so that the zone is inside the whole it is compared with); its
    communes outside the build (not in ``mesh``) are missing from it. A parent
    commune outside any urban unit gives no row.
    """
    uu_of = membership.set_index("commune_code")["uu_code"]
    uu = zones["commune_code"].map(uu_of)
    urban = uu.notna() & ~uu.fillna("").str.endswith(RURAL_SUFFIX)
    members = membership.groupby("uu_code")["commune_code"].agg(list)
    own = zones["commune_codes"].str.split(";")
    pairs = pd.DataFrame(
        {
            "zone_id": zones.loc[urban, "zone_id"].to_numpy(),
            "commune_code": [
                sorted(set(members[code]) | set(mine))
                for code, mine in zip(uu[urban], own[urban], strict=True)
            ],
        }
    ).explode("commune_code")
    return _parts(pairs, mesh, activities)


def _parts(
    pairs: pd.DataFrame, mesh: gpd.GeoDataFrame, activities: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weights (every mesh unit of the communes) and located supply of ``zone_id`` × ``commune_code``."""
    weights = pairs.merge(mesh[["unit_id", "commune_code"]], on="commune_code")[["zone_id", "unit_id"]]
    iris_mesh = set(mesh.loc[mesh["method"].eq("iris"), "unit_id"])
    located = activities["precision"].isin(POINT_PRECISIONS) | (
        activities["precision"].eq("iris")
        & activities.get("iris_code", pd.Series("", index=activities.index)).isin(iris_mesh)
    )
    act = pd.DataFrame(
        {"activity": activities.index[located], "commune_code": activities.loc[located, "commune_code"]}
    )
    supply = pairs.merge(act, on="commune_code")[["activity", "zone_id"]].assign(share=1.0, how="commune")
    return weights.assign(share=1.0), supply


def zone_units(level: str, zones: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Unit rows of a zone level: name, parent commune, populations of ``table``, a point inside each zone."""
    first = table.drop_duplicates("unit_id").set_index("unit_id")
    inside = zones.geometry.representative_point()
    return gpd.GeoDataFrame(
        {
            "level": level,
            "unit_id": zones["zone_id"],
            "name": zones["name"],
            "parent_id": zones["commune_code"],
            "population": zones["zone_id"].map(first["population"]),
            "population_standardised": zones["zone_id"].map(first["population_standardised"]),
            "point_lon": inside.x.to_numpy(),
            "point_lat": inside.y.to_numpy(),
        },
        geometry=zones.geometry,
        crs=zones.crs,
    )


def named_polygons(units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Units already computed (IRIS of the IRIS table) with the contours' names and polygons where known."""
    contours = zones.set_index("zone_id")
    out = units.to_crs(zones.crs).copy()
    out["point_lon"], out["point_lat"] = out.geometry.x.to_numpy(), out.geometry.y.to_numpy()
    known = out["unit_id"].isin(contours.index)
    out.loc[known, "name"] = out.loc[known, "unit_id"].map(contours["name"]).to_numpy()
    polygons = out["unit_id"].map(contours.geometry)
    return out.set_geometry(
        gpd.GeoSeries(np.where(known, polygons, out.geometry), index=out.index, crs=zones.crs)
    )


def in_territory(units: pd.DataFrame, codes: frozenset[str]) -> pd.Series:
    """Whether each unit is reported on the territory: a commune of it, or a unit whose parent commune is."""
    parent = np.where(units["level"].eq("commune"), units["unit_id"], units["parent_id"])
    return pd.Series(parent, index=units.index).isin(codes)
