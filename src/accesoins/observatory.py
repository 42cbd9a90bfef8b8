"""Build the observatory of a territory: sources → geo → network → indicators → store.

This module only chains the public interfaces of the stages. A build is a
list of named steps (:data:`LOAD_STEPS`, then :data:`COMPUTE_STEPS`) that
each read and fill one :class:`Build`; every file is read and validated
before the store is touched, and ``build_observatory`` writes the result as
one atomic snapshot. A new step (a new zone level...) is one more entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import geopandas as gpd
import pandas as pd

from accesoins import geo, indicators, network, sources
from accesoins.errors import AccesoinsError, MissingSourceError
from accesoins.indicators import DemandMode
from accesoins.parameters import AplParameters, load_apl_parameters
from accesoins.settings import get_settings
from accesoins.store import Store

log = logging.getLogger(__name__)

__all__ = [
    "BUILD_STEPS",
    "COMPUTE_STEPS",
    "LOAD_STEPS",
    "Build",
    "BuildOptions",
    "CostMode",
    "DemandMode",
    "Results",
    "build_observatory",
    "compute",
    "load_inputs",
    "validate_apl",
]


CostMode = Literal["auto", "table", "vol_oiseau", "route"]
ZONE_SOURCES: dict[str, tuple[str, Callable[[Path], gpd.GeoDataFrame]]] = {
    "iris": ("iris_contours", sources.read_iris_contours),
    "qpv": ("qpv", sources.read_qpv),
    "quartier": ("quartiers", sources.read_quartiers),
}
Progress = Callable[[str], None]
ROAD_COVERAGE = 0.8  # share of the territory an OSM extract must cover
STORED_ACTIVITY_COLUMNS = (  # the activities kept in a snapshot
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
    dask: str | None = None  # Dask scheduler of the tiled grid (None: ACCESOINS_DASK); not recorded
    partial: bool = False  # build the covered départements of the territory, name the others
    urban_units: Path | None = None  # INSEE commune → unité urbaine table (else found in data_dir)
    indicators: tuple[Path, ...] = ()  # local indicator tables; none given: those of the data folder
    zonings: tuple[Path, ...] = ()  # ARS zoning exports; none given: those of the data folder
    departures: Path | None = None  # local file of birth years or planned departures (personal data)

    def parameters(self) -> dict[str, Any]:
        """Options as recorded in the snapshot (the territory by kind and codes; no data folder)."""
        return {
            "territory": self.territory.codes,
            "territory_kind": self.territory.kind,
            "vintage": self.vintage,
            "cost": self.cost,
            "demand": self.demand,
            "activity": self.activity,
            "disclosure_k": get_settings().disclosure_k,  # the public gate of this snapshot's outputs
        }


class BuildStateError(AccesoinsError):
    """A build step ran before the step that prepares what it reads (a bug in the step list)."""


@dataclass
class Build:
    """What the steps of one build read and write, in the order they fill it."""

    options: BuildOptions
    params: AplParameters
    files: list[tuple[str, Path, int]] = field(default_factory=list)
    drees: pd.DataFrame | None = None  # commune APL of the territory
    references: pd.DataFrame | None = None
    communes_: gpd.GeoDataFrame | None = None
    history: pd.Series | None = None
    raw_files: list[tuple[str, Path, pd.DataFrame]] = field(default_factory=list)
    raw_activities: pd.DataFrame | None = None
    establishments: pd.DataFrame | None = None
    activities_: gpd.GeoDataFrame | None = None
    iris: pd.DataFrame | None = None  # indexed by iris_code
    od: pd.DataFrame | None = None
    grid: gpd.GeoDataFrame | None = None
    qpv: gpd.GeoDataFrame | None = None
    iris_std: pd.Series | None = None
    demand: pd.DataFrame | None = None
    consultations_per_gp: float = 0.0
    sites_: gpd.GeoDataFrame | None = None
    cost_: network.CostSource | None = None
    iris_apl: pd.Series | None = None
    unit_levels: list[gpd.GeoDataFrame] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)
    costs: list[pd.DataFrame] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    every_commune: gpd.GeoDataFrame | None = None  # France, to find the territory's surroundings
    territory_codes: frozenset[str] = frozenset()  # reported communes (the rest only feeds catchments)
    edge_warning: str = ""
    zones: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None
    tile_progress: indicators.TileProgress | None = None  # tiles of the 200 m grid done, in all
    urban_units: pd.DataFrame | None = None  # membership of the unités urbaines touching the build
    local: indicators.LocalIndicators | None = None
    zoning: pd.DataFrame | None = None
    commune_bassins: pd.DataFrame | None = None
    departures: pd.DataFrame | None = None  # practitioner_departures of the build's practitioners

    @property
    def communes(self) -> gpd.GeoDataFrame:
        return _ready(self.communes_, "communes")

    @property
    def activities(self) -> gpd.GeoDataFrame:
        return _ready(self.activities_, "activities")

    @property
    def sites(self) -> gpd.GeoDataFrame:
        return _ready(self.sites_, "sites")

    @property
    def cost(self) -> network.CostSource:
        return _ready(self.cost_, "cost")

    @property
    def uses_iris(self) -> bool:
        """APL on IRIS: an IRIS distancier and IRIS ages are both at hand."""
        return isinstance(self.cost_, network.OdTableCosts) and self.iris is not None


T = TypeVar("T")


def _ready(value: T | None, name: str) -> T:
    if value is None:
        raise BuildStateError(f"étape de construction mal ordonnée : « {name} » n'est pas encore calculé")
    return value


@dataclass
class Results:
    """Everything a snapshot holds besides its sources."""

    units: gpd.GeoDataFrame
    indicators: pd.DataFrame
    sites: gpd.GeoDataFrame
    activities: gpd.GeoDataFrame
    costs: pd.DataFrame
    summary: dict[str, Any]
    kept: dict[str, pd.DataFrame]  # what later stages read instead of the raw files
    comparison: pd.DataFrame | None = None  # QPV / quartiers against the rest of their commune
    surroundings: dict[str, pd.DataFrame] = field(default_factory=dict)  # catchments only, never reported


Step = tuple[str, Callable[[Build], None]]


def _noop(_: str) -> None:
    return None


# -- loading steps ---------------------------------------------------------------------------------


def _load_drees(b: Build) -> None:
    paths = sources.locate("apl_drees", b.options.data_dir, required=False)
    if paths:
        b.drees = sources.read_apl_drees(paths[-1], b.options.vintage)
        b.files.append(("apl_drees", paths[-1], len(b.drees)))


def _load_professionals(b: Build) -> None:
    """Every professional file of the data folder (recognised by header), ETP shared over all of them.

    A practitioner's activities outside the territory still share their time, so a
    territory built alone gets the same ETP as the département around it.
    """
    frames = []
    for path, fmt in sources.find_by_header(b.options.data_dir, sources.PROFESSIONALS):
        frames.append((fmt.source, path, fmt.reader(path)))
    if not frames:
        raise MissingSourceError(
            "professionnels de santé",
            searched=[b.options.data_dir],
            hint="Aucun fichier .csv ou .txt de professionnels (Annuaire Santé, RPPS, médecins par IRIS, "
            "reconnus à leur en-tête) dans le répertoire de données.",
        )
    rows = pd.concat([f for _, _, f in frames], keys=range(len(frames)), names=["file", None])
    rows["etp"] = indicators.fill_etp(rows).to_numpy()
    b.raw_files = [(source, path, rows.xs(i, level="file")) for i, (source, path, _) in enumerate(frames)]


def _load_communes(b: Build) -> None:
    """The territory's communes and, for catchments, every commune within reach around it.

    Départements of the territory where no professionals file has general
    practitioners are refused, or left out and named with ``partial`` (never
    computed as zero supply).
    """
    restore = b.drees["commune_code"] if b.drees is not None else ()
    every = sources.read_communes(restore_delegated=restore)
    b.history = sources.commune_code_history()
    gp = sources.Profession.GENERALISTE
    gps = [act.loc[act["profession"] == gp, "commune_code"] for _, _, act in b.raw_files]
    covered = geo.covered_departments(gps, every, b.history)  # the APL needs general practitioners
    asked = b.options.territory.select(every)
    coverage = geo.on_covered(
        b.options.territory,
        asked,
        covered,
        partial=b.options.partial,
        searched=[b.options.data_dir],
    )
    if coverage.missing:
        log.warning("%s", coverage.warning())
        b.summary["missing_departments"] = list(coverage.missing)
        b.summary["coverage_warning"] = coverage.warning()
    around = geo.with_surroundings(coverage.communes, every, _surroundings_km(b), covered_departments=covered)
    if around.missing:
        log.warning("%s", around.warning())
        b.edge_warning = around.warning()
    communes = around.communes
    b.communes_, b.territory_codes = communes, around.territory_codes
    if b.drees is not None:
        asked_codes = pd.Index(communes["commune_code"]).union(pd.Index(asked["commune_code"]))
        b.references = indicators.drees_references(b.drees, b.options.vintage, asked_codes)
        drees = b.drees[b.drees["commune_code"].isin(communes["commune_code"])].reset_index(drop=True)
        b.drees = None if b.options.territory.kind == "departement" and drees.empty else drees
    codes, history, frames = set(communes["commune_code"]), b.history, []
    for source, path, act in b.raw_files:
        act = act[act["commune_code"].map(history).fillna(act["commune_code"]).isin(codes)]
        if not act.empty:
            frames.append(act)
            b.files.append((source, path, len(act)))
    if not frames:
        raise MissingSourceError(
            "professionnels de santé du territoire",
            searched=[b.options.data_dir],
            hint="Aucun fichier de professionnels ne contient d'activité dans ce territoire.",
        )
    b.raw_activities = pd.concat(frames, ignore_index=True)


def _load_departures(b: Build) -> None:
    """The local departures file, kept for the build's practitioners only (territory and surroundings).

    Identifiers of the file that are not in the build are counted (a French warning) and dropped:
    the snapshot keeps no personal data about practitioners it does not hold.
    """
    path = b.options.departures
    if path is None:
        return
    table = sources.departures_table(sources.read_enrichment(path))
    known = pd.Index(_ready(b.raw_activities, "raw_activities")["practitioner_id"].astype(str).unique())
    matched = table["practitioner_key"].isin(known)
    b.departures = table[matched].reset_index(drop=True)
    b.summary["departures_matched"] = int(matched.sum())
    b.summary["departures_unknown"] = int((~matched).sum())
    b.files.append(("departures", path, int(matched.sum())))
    if not matched.all():
        log.warning(
            "%s : %d identifiant(s) de praticien inconnu(s) dans ce territoire, ignoré(s)",
            path.name,
            int((~matched).sum()),
        )


def _surroundings_km(b: Build) -> float:
    """Twice the longest catchment radius: supply within reach, and that supply's own demand."""
    reach_min = b.params.decay.reach_min
    if b.options.cost in ("route", "table"):
        radius = reach_min / 60.0 * max(network.load_road_speeds().car.rural.values())
    else:
        radius = network.CrowFlyCosts().reach_km(reach_min)
    return 2.0 * radius


def _load_establishments(b: Build) -> None:
    linked = _ready(b.raw_activities, "raw_activities").get("finess_site", pd.Series(dtype=str))
    for path, fmt in sources.find_by_header(b.options.data_dir, sources.ESTABLISHMENTS):
        fin = fmt.reader(path)
        if fin["finess"].isin(linked).any():
            b.establishments = fin if b.establishments is None else pd.concat([b.establishments, fin])
            b.files.append(("finess", path, len(fin)))


def _locate_activities(b: Build) -> None:
    raw = _ready(b.raw_activities, "raw_activities")
    placed = geo.locate_activities(raw, b.communes, b.establishments, _ready(b.history, "history"))
    placed["etp"] = indicators.fill_etp(placed)  # ETP already shared over every file: kept as read
    b.activities_ = placed


def _load_iris(b: Build) -> None:
    codes = set(b.communes["commune_code"])
    for path in sources.locate("population_iris", b.options.data_dir, required=False):
        table, year = sources.read_iris_population(path)
        table = table[table["commune_code"].isin(codes)]
        if not table.empty:
            table = table.assign(census_year=year).set_index("iris_code")
            b.iris = table if b.iris is None else pd.concat([b.iris, table])
            b.files.append(("population_iris", path, len(table)))


def _load_od(b: Build) -> None:
    """The first distancier between the IRIS at hand; in ``auto``, only if those IRIS span the territory.

    One cost model serves a whole build: a région whose IRIS ages cover one
    département only is computed on crow-fly times everywhere rather than
    leaving the other départements without an APL.
    """
    if b.options.cost == "auto" and b.iris is not None:
        communes = b.communes.set_index("commune_code")["department"]
        wanted = set(communes.reindex(list(b.territory_codes)).dropna())
        with_iris = set(communes.reindex(b.iris["commune_code"].unique()).dropna())
        if not wanted <= with_iris:
            log.warning(
                "âges par IRIS pour le(s) seul(s) département(s) %s du territoire : pas de distancier, "
                "temps à vol d'oiseau pour tout le territoire",
                ", ".join(sorted(with_iris & wanted)) or "aucun",
            )
            return
    if b.options.cost in ("auto", "table") and b.iris is not None:
        for path in sources.locate("od_table", b.options.data_dir, required=False):
            table = sources.read_od_table(path)
            if table["origin_id"].isin(b.iris.index).any():
                b.od = table
                b.files.append(("od_table", path, len(table)))
                break
    if b.options.cost == "table" and b.od is None:
        raise MissingSourceError(
            "distancier couvrant le territoire",
            searched=[b.options.data_dir],
            hint="Fournissez une table IRIS1,IRIS2,TIME ou utilisez --cost vol_oiseau.",
        )


def _load_layers(b: Build) -> None:
    b.grid = _overlapping(b, "filosofi_grid", sources.read_filosofi_grid)
    b.qpv = _overlapping(b, "qpv", sources.read_qpv)


def _overlapping(b: Build, name: str, reader: Callable[[Path], gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
    """The layers of source ``name`` that intersect the territory."""
    parts = []
    for path in sources.locate(name, b.options.data_dir, required=False):
        inside = geo.overlapping(reader(path), b.communes)
        if not inside.empty:
            parts.append(inside)
            b.files.append((name, path, len(inside)))
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs) if parts else None


def _load_zones(b: Build) -> None:
    """IRIS contours, QPV and quartiers of the communes (the first file wins for a code found in two)."""
    for level, (name, reader) in ZONE_SOURCES.items():
        layer = b.qpv if level == "qpv" and b.qpv is not None else _overlapping(b, name, reader)
        if layer is None:
            continue
        layer = layer.drop_duplicates("zone_id").reset_index(drop=True)
        if level == "quartier" and "iris" in b.zones:
            layer = geo.zones_from_iris(layer, b.zones["iris"])
        layer = geo.parent_communes(layer, b.communes)
        layer = layer[layer["commune_code"].isin(b.communes["commune_code"])].reset_index(drop=True)
        if len(layer):
            b.zones[level] = layer


def _load_urban_units(b: Build) -> None:
    """INSEE's unités urbaines (``--unites-urbaines`` or the data folder), those touching the build."""
    given, data_dir = b.options.urban_units, b.options.data_dir
    paths = [given] if given is not None else sources.locate("unites_urbaines", data_dir, required=False)
    if not paths:
        return
    table = sources.read_urban_units(paths[0])
    touched = table.loc[table["commune_code"].isin(b.communes["commune_code"]), "uu_code"]
    kept = table[table["uu_code"].isin(set(touched)) | table["commune_code"].isin(b.communes["commune_code"])]
    b.urban_units = kept.reset_index(drop=True)
    b.files.append((sources.SourceName.URBAN_UNITS, paths[0], len(kept)))


def _load_needs(b: Build) -> None:
    """Local indicator tables and ARS zonings of the territory (the user's files, else the data folder's).

    Each file is checked against the territory's units; the values, the zoning and
    the commune → bassin de vie table (INSEE BV2022, when at hand) go to the snapshot.
    """
    opts, territory = b.options, b.territory_codes or frozenset(b.communes["commune_code"])
    strict_tables, strict_zonings = bool(opts.indicators), bool(opts.zonings)
    paths = list(opts.indicators) or sources.find_indicator_tables(opts.data_dir)
    bassin_files = [p for p in paths if sources.is_commune_bassins(p)]
    if not strict_tables:
        bassin_files += [p for p in sorted(opts.data_dir.rglob("*.csv")) if sources.is_commune_bassins(p)]
    for path in bassin_files:
        table = sources.read_commune_bassins(path)
        table = table[table["commune_code"].isin(territory)]
        if len(table):
            b.commune_bassins = table.reset_index(drop=True)
            b.files.append((sources.SourceName.COMMUNE_BASSINS, path, len(table)))
            break
    known = _known_codes(b, territory)
    tables = [sources.read_indicator_table(p) for p in paths if p not in bassin_files]
    zoning_paths = list(opts.zonings) or sources.find_zonings(opts.data_dir)
    qpv_file = next((path for name, path, _ in b.files if name == "qpv"), None)
    checksums = {p: sources.sha256_of(p) for p in [*(t.path for t in tables), *zoning_paths]}
    if qpv_file is not None:
        checksums[qpv_file] = sources.sha256_of(qpv_file)
    b.local = indicators.local_indicators(tables, known, checksums, strict=strict_tables)
    b.zoning, zoning_files = indicators.official_zoning(
        [(p, sources.read_ars_zoning(p)) for p in zoning_paths],
        territory,
        checksums,
        qpv=b.zones.get("qpv"),
        qpv_file=qpv_file,
        strict=strict_zonings,
    )
    b.files += [(sources.SourceName.LOCAL_INDICATORS, p, n) for p, n in b.local.files]
    b.files += [(sources.SourceName.ARS_ZONING, p, n) for p, n in zoning_files if p != qpv_file]
    b.summary["local_indicators"] = {p.name: n for p, n in b.local.files}
    b.summary["official_zoning"] = {
        str(name): int(n) for name, n in b.zoning.groupby("file_name").size().items()
    }


def _known_codes(b: Build, territory: frozenset[str]) -> dict[str, set[str]]:
    """Codes of the territory's units by level, against which local tables are checked."""
    known: dict[str, set[str]] = {"commune": set(territory)}
    iris: set[str] = set()
    if b.iris is not None:
        iris |= set(b.iris.index[b.iris["commune_code"].isin(territory)])
    for level, zones in b.zones.items():
        inside = zones[zones["commune_code"].isin(territory)]
        if level == "iris":
            iris |= set(inside["zone_id"])
        else:
            known[level] = set(inside["zone_id"])
    if iris:
        known["iris"] = iris
    if b.grid is not None:
        known["carreau"] = set(b.grid["cell_id"])
    bassins = b.commune_bassins
    known["bassin_vie"] = set(bassins["bassin_code"]) if bassins is not None else set(territory)
    department = b.communes.set_index("commune_code")["department"]
    known["departement"] = set(department[department.index.isin(territory)])
    return known


LOAD_STEPS: tuple[Step, ...] = (
    ("Table APL de la DREES", _load_drees),
    ("Professionnels de santé", _load_professionals),
    ("Communes du territoire et de ses environs", _load_communes),
    ("Fichier local des départs", _load_departures),
    ("Établissements FINESS", _load_establishments),
    ("Localisation des activités", _locate_activities),
    ("Population par IRIS", _load_iris),
    ("Distancier", _load_od),
    ("Carroyage et QPV", _load_layers),
    ("Zones infra-communales (IRIS, QPV, quartiers)", _load_zones),
    ("Unités urbaines (INSEE)", _load_urban_units),
    ("Indicateurs locaux et zonages de l'ARS", _load_needs),
)


# -- computing steps -------------------------------------------------------------------------------


def _demand(b: Build) -> None:
    if b.iris is not None:
        b.iris_std = indicators.iris_standardised(b.iris, sources.IRIS_AGE_COLUMNS, b.params)
    b.demand, method = indicators.commune_demand(b.communes, b.iris, b.iris_std, b.drees, b.options.demand)
    b.summary["demand_method"] = method


def _supply(b: Build) -> None:
    level = indicators.activity_level(b.options.activity, b.activities, b.drees, b.params)
    consultations = indicators.gp_activity(b.activities, b.params, consultations_per_gp=level)
    b.consultations_per_gp = level
    b.sites_ = geo.practice_sites(b.activities, consultations, b.communes)
    b.summary.update({"consultations_per_gp": level, "apl_vintage": b.options.vintage})


def _travel_times(b: Build) -> None:
    if b.options.cost == "route":
        b.cost_ = _road_costs(b)
    elif b.od is not None and b.options.cost in ("auto", "table"):
        b.cost_ = network.OdTableCosts(b.od)
    else:
        b.cost_ = network.CrowFlyCosts()
    b.summary["cost_source"] = b.cost.name


def _road_costs(b: Build) -> network.CostSource:
    """Car travel times on the first OpenStreetMap extract that covers most of the territory."""
    data_dir, cache_dir = b.options.data_dir, b.options.store_path.parent / "cache"
    for path in sources.locate("osm", data_dir, required=False):
        graph = network.load_or_build(path, "car", cache_dir)
        territory = b.communes[b.communes["commune_code"].isin(b.territory_codes)]
        if geo.hull_coverage(graph.node_lon, graph.node_lat, territory) >= ROAD_COVERAGE:
            b.files.append(("osm", path, graph.n_edges))
            return network.RoadNetworkCosts(graph)
    raise MissingSourceError(
        "extrait OpenStreetMap couvrant le territoire",
        searched=[data_dir / p for p in sources.CATALOG["osm"].patterns[:2]],
        hint="Placez un extrait .osm.pbf du territoire (ex. Geofabrik) ou utilisez --cost vol_oiseau.",
    )


def _commune_indicators(b: Build) -> None:
    """APL on the APL level (IRIS with a distancier, else communes), densities per commune."""
    demand, sites, communes = _ready(b.demand, "demand"), b.sites, b.communes
    gp_sites = sites[sites["consultations"] > 0]
    reach = b.params.decay.reach_min
    dest = geo.site_points(gp_sites, gp_sites["iris_code" if b.uses_iris else "commune_code"])
    if b.uses_iris:
        iris, iris_std = _ready(b.iris, "iris"), _ready(b.iris_std, "iris_std")
        costs = b.cost.travel_times(pd.DataFrame({"id": iris.index}), dest, max_time_min=reach)
        result = indicators.apl(iris_std, gp_sites["consultations"], costs, b.params)
        b.iris_apl = result.access
        commune_apl = indicators.aggregate_weighted(result.access, iris_std, iris["commune_code"])
    else:
        origins = geo.commune_origins(communes)
        costs = b.cost.travel_times(origins, dest, max_time_min=reach)
        result = indicators.apl(demand["population_standardised"], gp_sites["consultations"], costs, b.params)
        commune_apl = result.access
    sites["ratio"] = result.ratio.reindex(sites.index).fillna(0.0)
    level = "iris" if b.uses_iris else "commune"
    b.summary.update({"unreached_sites": len(result.unreached_supply), "cost_pairs": len(costs)})
    b.summary["apl_level"] = level
    b.costs.append(costs.assign(level=level))
    b.tables.append(
        indicators.level_table(
            "commune",
            b.activities,
            "commune_code",
            demand["population"],
            demand["population_standardised"],
            _professions(b),
            commune_apl,
        )
    )
    b.unit_levels.append(
        geo.unit_rows(
            "commune",
            communes["commune_code"],
            communes.geometry,
            crs=communes.crs,
            name=communes["name"],
            parent_id=communes["department"],
            population=communes["commune_code"].map(demand["population"]),
            population_standardised=communes["commune_code"].map(demand["population_standardised"]),
            points=geo.commune_points(communes),
            density_per_km2=communes["density_per_km2"],
        )
    )


def _iris_indicators(b: Build) -> None:
    if not b.uses_iris:
        return
    iris, iris_std = _ready(b.iris, "iris"), _ready(b.iris_std, "iris_std")
    b.tables.append(
        indicators.level_table(
            "iris",
            b.activities,
            "iris_code",
            iris["population"],
            iris_std,
            _professions(b),
            _ready(b.iris_apl, "iris_apl"),
        )
    )
    with_iris = b.activities[b.activities["iris_code"].fillna("") != ""].drop_duplicates("iris_code")
    points = with_iris.set_index("iris_code").geometry.reindex(iris.index)
    b.unit_levels.append(
        geo.unit_rows(
            "iris",
            iris.index,
            points.to_numpy(),
            crs="EPSG:4326",
            name=iris.index,
            parent_id=iris["commune_code"].to_numpy(),
            population=iris["population"].to_numpy(),
            population_standardised=iris_std.to_numpy(),
        )
    )


def _grid_indicators(b: Build) -> None:
    """Cell densities and APL: ratios of the APL-level catchments, access evaluated at cell centres."""
    if b.grid is None:
        return
    grid, demand, sites = b.grid, _ready(b.demand, "demand"), b.sites
    centres = geo.grid_cells(grid, b.communes)
    ratio = demand["population_standardised"] / demand["population"].where(demand["population"] > 0)
    population = pd.Series(grid["population"].to_numpy(), index=grid["cell_id"])
    std = population * centres["commune_code"].map(ratio).fillna(1.0).to_numpy()
    gp_sites = sites[sites["consultations"] > 0]
    dest = geo.site_points(gp_sites, geo.in_cells(gp_sites, grid))
    cell_apl, cell_costs = indicators.grid_access(
        centres, dest, gp_sites["ratio"], b.cost, b.params, dask=b.options.dask, progress=b.tile_progress
    )
    located = b.activities.assign(cell_id=geo.in_cells(b.activities, grid).to_numpy())
    b.tables.append(
        indicators.level_table("carreau", located, "cell_id", population, std, _professions(b), cell_apl)
    )
    b.unit_levels.append(
        geo.unit_rows(
            "carreau",
            grid["cell_id"],
            grid.geometry,
            crs=grid.crs,
            name=grid["cell_id"],
            parent_id=centres["commune_code"],
            population=grid["population"],
            population_standardised=std,
            points=centres.geometry,
            density_per_km2=centres["density_per_km2"],
        )
    )
    b.costs.append(cell_costs.assign(level="carreau"))
    b.summary["cells"] = len(grid)


def _zone_indicators(b: Build) -> None:
    """Indicators of every zone level and the inside / rest-of-commune comparison of QPV and quartiers.

    An IRIS level already computed from the IRIS table keeps its indicators and
    gets the contours' names and polygons; other levels are new.
    """
    if not b.zones:
        return
    iris_population = b.iris["population"] if b.iris is not None else None
    mesh, mesh_level = geo.zone_mesh(
        b.communes,
        b.unit_levels,
        iris_contours=b.zones.get("iris"),
        iris_population=iris_population,
        iris_standardised=b.iris_std,
    )
    mesh["apl"] = indicators.mesh_apl(mesh, mesh_level, b.tables).to_numpy()
    activities, professions = b.activities, _professions(b)
    located_iris = set(mesh.loc[mesh["method"].eq("iris"), "unit_id"])
    comparisons = []
    for level, zones in b.zones.items():
        if level == "iris":
            located_iris |= set(zones["zone_id"])
        existing = [u for u in b.unit_levels if len(u) and u["level"].iloc[0] == level]
        if existing:
            b.unit_levels = [u for u in b.unit_levels if u is not existing[0]]
            b.unit_levels.append(geo.named_polygons(existing[0], zones))
            continue
        weights = geo.zone_weights(zones, mesh)
        supply = geo.zone_supply(activities, zones, weights)
        table = indicators.zone_indicators(
            zones, weights, mesh, supply, activities, professions=professions, located_iris=located_iris
        )
        b.tables.append(table.drop(columns="parent_id").assign(level=level))
        b.unit_levels.append(geo.zone_units(level, zones, table))
        if level != "iris":
            whole_weights, whole_supply = geo.whole_commune_parts(zones, mesh, activities)
            whole = indicators.zone_indicators(
                zones,
                whole_weights,
                mesh,
                whole_supply,
                activities,
                professions=professions,
                located_iris=located_iris,
            )
            comparison = indicators.onpv_comparison(table, whole)
            urban, zone_units = None, None
            if b.urban_units is not None:
                uu_weights, uu_supply = geo.urban_unit_parts(zones, mesh, activities, b.urban_units)
                uu_whole = indicators.zone_indicators(
                    zones, uu_weights, mesh, uu_supply, activities, professions=professions,
                    located_iris=located_iris,
                )  # fmt: skip
                urban = indicators.onpv_comparison(table, uu_whole)
                zone_units = _zone_urban_units(zones, b.urban_units, set(b.communes["commune_code"]))
            comparison = indicators.with_urban_unit(comparison, urban, zone_units)
            comparisons.append(comparison.assign(level=level))
    b.comparison = pd.concat(comparisons, ignore_index=True) if comparisons else None


def _zone_urban_units(zones: pd.DataFrame, membership: pd.DataFrame, built: set[str]) -> pd.DataFrame:
    """Per zone: its parent commune's unité urbaine, those of its communes missing from the build, a note."""
    uu_of = membership.set_index("commune_code")
    members = membership.groupby("uu_code")["commune_code"].agg(sorted)
    rows = []
    for zone_id, parent in zip(zones["zone_id"], zones["commune_code"], strict=True):
        code = str(uu_of["uu_code"].get(parent, ""))
        if not code:
            rows.append((zone_id, "", "", "", f"unité urbaine : commune {parent} absente de la table INSEE"))
            continue
        if code.endswith(sources.RURAL_SUFFIX):
            rows.append((zone_id, "", "", "", f"unité urbaine : commune {parent} hors unité urbaine"))
            continue
        name = str(uu_of["uu_name"].get(parent, "")) or code
        inside = [c for c in members[code] if c in built]
        outside = [c for c in members[code] if c not in built]
        note = f"reste de l'unité urbaine {name} ({code}) : {len(inside)} commune(s) dans la construction"
        if outside:
            shown = ", ".join(outside[:10]) + (" …" if len(outside) > 10 else "")
            note += f" ; {len(outside)} commune(s) hors construction, non comptée(s) : {shown}"
        rows.append((zone_id, code, name, ";".join(outside), note))
    return pd.DataFrame(rows, columns=["zone_id", "uu_code", "uu_name", "uu_outside", "uu_note"])


def _professions(b: Build) -> list[str]:
    return sorted(b.activities["profession"].unique())


COMPUTE_STEPS: tuple[Step, ...] = (
    ("Demande standardisée", _demand),
    ("Offre (activité des médecins)", _supply),
    ("Temps de trajet", _travel_times),
    ("APL et densités par commune", _commune_indicators),
    ("Indicateurs par IRIS", _iris_indicators),
    ("Indicateurs par carreau de 200 m", _grid_indicators),
    ("Indicateurs des IRIS, QPV et quartiers", _zone_indicators),
)
WRITE_STEP = "Écriture de l'instantané"
BUILD_STEPS = len(LOAD_STEPS) + len(COMPUTE_STEPS) + 1  # + the write


def _run(steps: tuple[Step, ...], b: Build, progress: Progress) -> None:
    for label, step in steps:
        progress(label)
        step(b)


def load_inputs(options: BuildOptions, progress: Progress = _noop) -> Build:
    """Read and validate every source the territory needs, from ``options.data_dir``."""
    if not options.data_dir.is_dir():
        raise MissingSourceError(
            "répertoire de données",
            searched=[options.data_dir],
            hint="Indiquez --data-dir ou la variable ACCESOINS_DATA.",
        )
    b = Build(options, load_apl_parameters(options.vintage))
    _run(LOAD_STEPS, b, progress)
    return b


def compute(b: Build, progress: Progress = _noop, tiles: indicators.TileProgress | None = None) -> Results:
    """Units, sites and indicators of every available level, and the tables kept for later stages.

    ``tiles(done, total)`` follows the tiles of a large 200 m grid.
    """
    b.tile_progress = tiles
    _run(COMPUTE_STEPS, b, progress)
    units = geo.units_table(b.unit_levels)
    table = pd.concat(b.tables, ignore_index=True)
    names = units.set_index(["level", "unit_id"])["name"]
    table["name"] = pd.MultiIndex.from_frame(table[["level", "unit_id"]]).map(names)
    table["apl_class"] = indicators.apl_classes(table["apl"])
    kept = network.cost_tables(b.cost, origin_ids=units["unit_id"], reach_min=b.params.decay.reach_min)
    if b.references is not None:
        kept["drees_references"] = b.references
    if b.urban_units is not None:
        kept["urban_units"] = b.urban_units
    if b.establishments is not None:
        kept["establishments"] = geo.establishments_in(b.establishments, b.communes)
    results = Results(
        units=units,
        indicators=table,
        sites=b.sites.reset_index(),
        activities=b.activities,
        costs=pd.concat(b.costs, ignore_index=True),
        summary=b.summary,
        kept=kept,
        comparison=b.comparison,
    )
    if b.territory_codes and len(b.territory_codes) < len(b.communes):
        b.summary["surrounding_communes"] = len(b.communes) - len(b.territory_codes)
        results = _on_territory(results, b.territory_codes)
    if b.edge_warning:
        b.summary["edge_warning"] = b.edge_warning
    b.summary.update(_summarise(results.activities, results.indicators))
    return results


def _on_territory(results: Results, codes: frozenset[str]) -> Results:
    """Report on the territory: its communes, the units whose parent commune is in it, their sites and costs.

    The surroundings served to compute the catchments of the territory's residents;
    they are kept apart (``surroundings``) so that a what-if on the snapshot sees the
    same catchments, and never reported.
    """
    units = results.units
    inside_units = geo.in_territory(units, codes)
    kept = pd.MultiIndex.from_frame(units.loc[inside_units, ["level", "unit_id"]])
    table = results.indicators
    table = table[pd.MultiIndex.from_frame(table[["level", "unit_id"]]).isin(kept)]
    costs = results.costs
    inside_costs = pd.MultiIndex.from_frame(costs[["level", "origin_id"]]).isin(kept)
    inside_sites = results.sites["commune_code"].isin(codes)
    inside_activities = results.activities["commune_code"].isin(codes)
    comparison = results.comparison
    if comparison is not None:
        comparison = comparison[comparison["parent_id"].isin(codes)].reset_index(drop=True)
    surroundings = {
        "units": units[~inside_units],
        "sites": results.sites[~inside_sites],
        "activities": results.activities[~inside_activities],
        "costs": costs[~inside_costs],
    }
    return Results(
        units=units[inside_units].reset_index(drop=True),
        indicators=table.reset_index(drop=True),
        sites=results.sites[inside_sites].reset_index(drop=True),
        activities=results.activities[inside_activities].reset_index(drop=True),
        costs=costs[inside_costs].reset_index(drop=True),
        summary=results.summary,
        kept=results.kept,
        comparison=comparison,
        surroundings={k: v.reset_index(drop=True) for k, v in surroundings.items() if len(v)},
    )


def _summarise(activities: gpd.GeoDataFrame, table: pd.DataFrame) -> dict[str, Any]:
    precision = activities["precision"].value_counts().to_dict()
    return {
        "activities": len(activities),
        "precision": {str(k): int(v) for k, v in precision.items()},
        "units": table.groupby("level")["unit_id"].nunique().to_dict(),
    }


def validate_apl(
    options: BuildOptions, progress: Progress = _noop, tiles: indicators.TileProgress | None = None
) -> tuple[indicators.AplComparison, Results]:
    """Compare our commune APL with the DREES table of ``options.vintage`` (nothing is stored)."""
    b = load_inputs(options, progress)
    if b.drees is None:
        raise MissingSourceError(
            f"table APL DREES {options.vintage} du territoire",
            searched=[options.data_dir / p for p in sources.CATALOG["apl_drees"].patterns],
        )
    results = compute(b, progress, tiles)
    ours = results.indicators.query("level == 'commune' and profession == 'generaliste'")
    comparison = indicators.compare_apl(
        ours.set_index("unit_id")["apl"], b.drees.set_index("commune_code")["apl"]
    )
    return comparison, results


def build_observatory(
    options: BuildOptions, progress: Progress = _noop, tiles: indicators.TileProgress | None = None
) -> str:
    """Build and store a snapshot; returns its identifier. Nothing is written if any step fails."""
    b = load_inputs(options, progress)
    results = compute(b, progress, tiles)
    progress(WRITE_STEP)
    activities = results.activities
    keep = [c for c in STORED_ACTIVITY_COLUMNS if c in activities.columns]
    with (
        Store(options.store_path) as store,
        store.snapshot(options.territory.label, {**options.parameters(), **results.summary}) as snap,
    ):
        for name, path, rows in b.files:
            snap.add_source(name, path, sources.sha256_of(path), rows)
        snap.append("activities", gpd.GeoDataFrame(activities[keep], geometry=activities.geometry))
        for name, frame in results.surroundings.items():
            if name == "activities":
                frame = gpd.GeoDataFrame(frame[keep], geometry=frame.geometry)
            snap.append(f"surrounding_{name}", frame)
        snap.append("units", results.units)
        snap.append("sites", results.sites)
        snap.append("indicators", results.indicators)
        snap.append("costs", results.costs)
        for name, table in results.kept.items():
            snap.append(name, table)
        if results.comparison is not None:
            snap.append("zone_comparison", results.comparison)
        if b.local is not None:
            snap.append("local_indicator_catalogue", b.local.catalogue)
            snap.append("local_indicators", b.local.values)
        if b.zoning is not None:
            snap.append("official_zoning", b.zoning)
        if b.commune_bassins is not None:
            snap.append("commune_bassins", b.commune_bassins)
        if b.departures is not None:
            snap.append("practitioner_departures", b.departures)
        return snap.snapshot_id
