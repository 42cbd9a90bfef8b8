"""What-if engine: apply a scenario to a snapshot and recompute the APL incrementally.

The snapshot's unit → site weights are loaded once. A change touches some
sites (supply changed, new site) and some units (demand changed); only the
ratios of the sites whose catchment contains a touched unit, then the access
of the units that reach a touched site, are recomputed — the rest of the
territory keeps its values. :meth:`ScenarioEngine.full` recomputes everything,
to check the incremental path (they are equal, tested).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from accesoins import indicators, network, sources
from accesoins.errors import ConfigurationError, StoreError
from accesoins.french import format_number
from accesoins.geo import Level
from accesoins.indicators import CostPairs, PairWeights, cost_pairs, floating_catchment
from accesoins.labels import label_of
from accesoins.parameters import AplParameters, load_apl_parameters
from accesoins.scenarios._model import AddPopulation, AddSite, ChangeSite, Remove, Retirements, Scenario
from accesoins.store import Store, snapshot_year
from accesoins.store import practitioner_departures as store_departures

log = logging.getLogger(__name__)


@dataclass
class _Level:
    """Demand units of one level and their weights to the sites."""

    name: str
    units: gpd.GeoDataFrame  # indexed by unit_id; population, population_standardised, point, density
    weights: sp.csr_matrix  # units × sites


@dataclass
class ScenarioResult:
    """APL before and after, per unit of each level, and what was recomputed."""

    name: str
    table: pd.DataFrame  # level, unit_id, name, population, apl_before, apl_after, delta
    touched_sites: int
    touched_units: int
    messages: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Plain-French reading of the result."""
        lines = list(self.messages)
        for level, rows in self.table.groupby("level", sort=False):
            lines.append(
                level_summary(
                    str(level),
                    rows["population"].to_numpy(dtype=np.float64),
                    rows["apl_before"].to_numpy(dtype=np.float64),
                    rows["apl_after"].to_numpy(dtype=np.float64),
                    rows["delta"].to_numpy(dtype=np.float64),
                )
            )
        return lines


def level_summary(
    level: str, population: np.ndarray, before: np.ndarray, after: np.ndarray, delta: np.ndarray
) -> str:
    """One level's line of a what-if summary: mean APL, under-served units and residents, changed units.

    Means are weighted by the residents; a unit without population or without APL is left out.
    """
    pop = np.nan_to_num(population, nan=0.0)
    total = max(float(pop.sum()), 1.0)
    mean_before = float(np.nansum(before * pop) / total)
    mean_after = float(np.nansum(after * pop) / total)
    under_b = before < indicators.UNDER_SERVED
    under_a = after < indicators.UNDER_SERVED
    return (
        f"{label_of(Level, level)} : APL moyenne {format_number(mean_before, 2)} → "
        f"{format_number(mean_after, 2)} ; "
        f"unités sous-dotées {int(under_b.sum())} → {int(under_a.sum())} "
        f"({_fr(pop[under_b].sum())} → {_fr(pop[under_a].sum())} habitants) ; "
        f"{int((np.abs(delta) > 1e-9).sum())} unité(s) modifiée(s)"
    )


def _fr(value: float) -> str:
    return format_number(value)


class ScenarioEngine:
    """A snapshot loaded for what-if analysis (APL level and, when present, the 200 m grid)."""

    def __init__(
        self,
        *,
        params: AplParameters,
        consultations_per_gp: float,
        levels: dict[str, _Level],
        apl_level: str,
        sites: gpd.GeoDataFrame,
        activities: pd.DataFrame,
        cost_model: network.CostSource,
        communes: gpd.GeoDataFrame | None,
        iris_parent: pd.Series | None = None,
        reported: pd.Index | None = None,
        departures: pd.DataFrame | None = None,
        reference_year: int | None = None,
    ) -> None:
        self.params = params
        self.level = consultations_per_gp
        self.levels = levels
        self.apl_level = apl_level
        self.sites = sites
        self.activities = activities
        self.cost_model = cost_model
        self.communes = communes
        self.iris_parent = iris_parent
        self.reported = reported  # units shown in results (None: all); the others are surroundings
        self.departures = departures  # the snapshot's practitioner_departures (personal data), if any
        self.reference_year = reference_year  # year the snapshot was built: retirement horizons count from it
        self.decay = params.decay
        gp = indicators.gp_activity(activities, params, consultations_per_gp=consultations_per_gp)
        self.activity_supply = gp
        self.supply = gp.groupby(activities["site_id"]).sum().reindex(sites.index).fillna(0.0)
        base = self.levels[apl_level]
        self.demand = base.units["population_standardised"].astype(float)
        self._base = self._solve(base.weights, self.demand.to_numpy(), self.supply.to_numpy())
        # What every run reads unchanged, computed once: the base weights by column, each level's
        # APL before, which rows are shown.
        self._base_csc = base.weights.tocsc()
        self._supply0, self._demand0 = self.supply.to_numpy(), self.demand.to_numpy()
        self._before = {
            name: self._base[2] if name == apl_level else level.weights @ self._base[1]
            for name, level in levels.items()
        }
        self._shown = None if reported is None else frozenset(reported)
        # Built on first use, then only read: concurrent runs share them (a race builds one twice).
        self._origins: dict[str, network.PreparedOrigins] = {}
        self._frame: _Template | None = None
        self._trees: dict[str, tuple[shapely.STRtree, np.ndarray]] = {}
        self._polygons: dict[str, gpd.GeoSeries] = {}

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def from_store(cls, store: Store, snapshot_id: str) -> ScenarioEngine:
        """Load a snapshot built by ``accesoins build``."""
        meta = store.metadata(snapshot_id)
        if "apl_level" not in meta:
            raise StoreError(f"instantané {snapshot_id} trop ancien pour les scénarios : reconstruisez-le")
        params = load_apl_parameters(int(meta["apl_vintage"]))
        reported = store.geotable("units", snapshot_id)
        # Catchments reach the communes around the territory: they take part, unreported.
        sites = _with_surroundings(store, snapshot_id, "sites").set_index("site_id")
        activities = _with_surroundings(store, snapshot_id, "activities", geo=False)
        costs = _with_surroundings(store, snapshot_id, "costs", geo=False)
        units = _with_surroundings(store, snapshot_id, "units")
        levels: dict[str, _Level] = {}
        for name in (meta["apl_level"], "carreau"):
            unit_rows = units[units["level"] == name].set_index("unit_id")
            if unit_rows.empty:
                continue
            pairs = cost_pairs(costs[costs["level"] == name], unit_rows.index, sites.index)
            levels[name] = _Level(
                name,
                unit_rows,
                pairs.weights(params.decay, cutoff=params.decay.reach_min).to_csr(),
            )
        communes = reported[reported["level"] == "commune"].set_index("unit_id")
        cost_model = _cost_model(meta, store, snapshot_id)
        iris_parent = levels["iris"].units["parent_id"] if "iris" in levels else None
        return cls(
            params=params,
            consultations_per_gp=float(meta["consultations_per_gp"]),
            levels=levels,
            apl_level=meta["apl_level"],
            sites=sites,
            activities=activities,
            cost_model=cost_model,
            communes=communes,
            iris_parent=iris_parent,
            reported=pd.Index(reported["unit_id"]),
            departures=store_departures(store, snapshot_id),
            reference_year=snapshot_year(store, snapshot_id),
        )

    # -- algebra --------------------------------------------------------------------------------
    def _solve(
        self, weights: sp.csr_matrix, demand: np.ndarray, supply: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        coo = weights.tocoo()
        pw = PairWeights(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, *weights.shape)
        result = floating_catchment(demand, supply, pw)
        return result.catchment_demand, result.ratio, result.access

    # -- scenarios ------------------------------------------------------------------------------
    def run(self, scenario: Scenario, *, incremental: bool = True) -> ScenarioResult:
        """Apply every change of ``scenario`` and return the APL before/after per unit."""
        supply = self.supply.copy()
        demand = self.demand.copy()
        new_sites: list[AddSite] = []
        messages: list[str] = []
        for change in scenario.changements:
            value = change.value
            if isinstance(value, Remove | Retirements):
                ids = self._leaving(value)
                gone = self.activities["practitioner_id"].isin(ids) & self.activities["profession"].eq(
                    "generaliste"
                )
                lost = self.activity_supply[gone].groupby(self.activities.loc[gone, "site_id"]).sum()
                supply.loc[lost.index] = (supply.loc[lost.index] - lost).clip(lower=0.0)
                n_gp = self.activities.loc[gone, "practitioner_id"].nunique()
                messages.append(
                    f"{n_gp} médecin(s) généraliste(s) en moins ({_fr(lost.sum())} consultations/an)"
                )
            elif isinstance(value, ChangeSite):
                if value.site not in supply.index:
                    raise ConfigurationError(f"site « {value.site} » absent de l'instantané")
                if value.generalistes is not None:
                    supply[value.site] = value.generalistes * self.level
                messages.append(f"site {value.site} modifié : {supply[value.site]:.0f} consultations/an")
            elif isinstance(value, AddSite):
                new_sites.append(value)
                messages.append(f"nouveau site « {value.nom} » : {value.generalistes:g} ETP de généralistes")
            elif isinstance(value, AddPopulation):
                unit = value.unite or self._unit_at(value.lon, value.lat)
                ratio = self._std_ratio(unit)
                demand[unit] += value.residents * ratio
                messages.append(
                    f"« {value.nom} » : {_fr(value.residents)} habitants de plus dans l'unité {unit}"
                )
        return self._evaluate(scenario.nom, supply, demand, new_sites, messages, incremental=incremental)

    def full(self, scenario: Scenario) -> ScenarioResult:
        """Same as :meth:`run`, recomputing every unit (reference for the incremental path)."""
        return self.run(scenario, incremental=False)

    def _leaving(self, change: Remove | Retirements) -> pd.Index:
        if isinstance(change, Retirements):
            if change.fichier is not None:
                table = sources.departures_table(sources.read_enrichment(change.fichier))
            elif self.departures is not None and len(self.departures):
                table = self.departures
            else:
                raise ConfigurationError(
                    "cet instantané n'a pas de fichier de départs : reconstruisez-le avec "
                    "« accesoins build --departs FICHIER » ou donnez « fichier » dans le scénario"
                )
            return sources.retiring_by(table, horizon=change.horizon, age=change.age)
        ids = pd.Index(change.praticiens)
        if change.commune is not None:
            site_commune = self.activities["site_id"].map(self.sites["commune_code"])
            mask = site_commune.eq(change.commune) & self.activities["profession"].eq(change.profession)
            ids = ids.union(pd.Index(self.activities.loc[mask, "practitioner_id"].unique()))
        unknown = ids.difference(pd.Index(self.activities["practitioner_id"]))
        if len(unknown):
            log.warning("%d praticien(s) inconnu(s) dans l'instantané ignoré(s)", len(unknown))
        return ids

    def _tree(self, key: str, geometries: gpd.GeoSeries) -> tuple[shapely.STRtree, np.ndarray]:
        """Spatial index of ``geometries`` (built once per key) and their positions in the series."""
        if key not in self._trees:
            keep = np.flatnonzero(geometries.notna().to_numpy())
            self._trees[key] = (shapely.STRtree(geometries.to_numpy()[keep]), keep)
        return self._trees[key]

    def _first_containing(self, key: str, geometries: gpd.GeoSeries, point: shapely.Point) -> int | None:
        """Position of the first geometry (in series order) that contains ``point``, None if none does."""
        tree, positions = self._tree(key, geometries)
        hits = tree.query(point, predicate="within")
        return int(positions[hits].min()) if len(hits) else None

    def _unit_at(self, lon: float, lat: float) -> str:
        """Demand unit of the APL level that contains (or, for point-only units, is nearest to) a point."""
        units = self.levels[self.apl_level].units
        point = shapely.Point(lon, lat)
        if (
            self.communes is not None
            and self._first_containing("communes", self.communes.geometry, point) is None
        ):
            raise ConfigurationError(
                f"le point ({lon:.5f}, {lat:.5f}) est hors du territoire de l'instantané : "
                "vérifiez les coordonnées (longitude, latitude en degrés WGS84) ou le territoire du scénario"
            )
        if self.apl_level not in self._polygons:
            shapes = units.geometry
            self._polygons[self.apl_level] = shapes.where(shapes.geom_type.isin(["Polygon", "MultiPolygon"]))
        inside = self._first_containing(f"polygons:{self.apl_level}", self._polygons[self.apl_level], point)
        if inside is not None:
            return str(units.index[inside])
        metric = f"metric:{self.apl_level}"
        if metric not in self._polygons:
            self._polygons[metric] = units.geometry.to_crs("EPSG:2154")
        tree, positions = self._tree(metric, self._polygons[metric])
        target = gpd.GeoSeries([point], crs="EPSG:4326").to_crs("EPSG:2154").iloc[0]
        nearest = tree.query_nearest(target, all_matches=True)  # ties: the first unit, as idxmin
        return str(units.index[int(positions[nearest].min())])

    def _std_ratio(self, unit: str) -> float:
        units = self.levels[self.apl_level].units
        pop = float(units.loc[unit, "population"])
        return float(units.loc[unit, "population_standardised"]) / pop if pop > 0 else 1.0

    def _prepared(self, level: _Level) -> network.PreparedOrigins:
        """The level's units as origins of the cost model, projected and indexed once per level."""
        if level.name not in self._origins:
            origins: pd.DataFrame = pd.DataFrame({"id": level.units.index})
            if "point_lon" in level.units:
                origins = gpd.GeoDataFrame(
                    {"id": level.units.index, "density_per_km2": level.units["density_per_km2"]},
                    geometry=gpd.points_from_xy(level.units["point_lon"], level.units["point_lat"]),
                    crs="EPSG:4326",
                )
            self._origins[level.name] = network.prepare_origins(self.cost_model, origins)
        return self._origins[level.name]

    def _new_sites(self, new_sites: list[AddSite]) -> dict[str, network.NewSites]:
        """The scenario's new sites as seen from each level: their unit there, their unit's density."""
        if not new_sites:
            return {}
        units = [s.unite or self._unit_at(s.lon, s.lat) for s in new_sites]
        density = self.levels[self.apl_level].units["density_per_km2"].reindex(units)
        density = density.to_numpy(dtype=np.float64)
        lon = np.array([s.lon for s in new_sites], dtype=np.float64)
        lat = np.array([s.lat for s in new_sites], dtype=np.float64)
        seen = {self.apl_level: network.NewSites(lon, lat, tuple(units), density)}
        if "carreau" in self.levels:
            cells = self.levels["carreau"].units
            points = shapely.points(lon, lat)
            found = [self._first_containing("cells", cells.geometry, p) for p in points]
            ids = tuple("" if i is None else str(cells.index[i]) for i in found)
            seen["carreau"] = network.NewSites(lon, lat, ids, density)
        return seen

    def _new_columns(self, level: _Level, sites: dict[str, network.NewSites]) -> sp.csr_matrix:
        """Weights from the level's units to the scenario's new sites (units × new sites)."""
        if level.name not in sites:
            return sp.csr_matrix((len(level.units), 0))
        c = self._prepared(level).indexed(sites[level.name], max_time_min=self.decay.reach_min)
        pairs = CostPairs(c.origin, c.destination, c.travel_time_min, c.n_origins, c.n_destinations)
        return pairs.weights(self.decay, cutoff=self.decay.reach_min).to_csr()

    def _evaluate(
        self,
        name: str,
        supply: pd.Series,
        demand: pd.Series,
        new_sites: list[AddSite],
        messages: list[str],
        *,
        incremental: bool,
    ) -> ScenarioResult:
        base_level = self.levels[self.apl_level]
        sites = self._new_sites(new_sites)
        extra = self._new_columns(base_level, sites)
        s_old = supply.to_numpy()
        s_add = np.array([s.generalistes * self.level for s in new_sites], dtype=np.float64)
        p_new = demand.to_numpy()
        _, ratio0, access0 = self._base
        if incremental:
            # Only the sites whose supply or catchment changed get a new ratio, only the units that
            # reach one of them a new access; the new sites' columns are kept apart (no copy of W).
            hit = np.flatnonzero(s_old != self._supply0)
            changed_units = np.flatnonzero(p_new != self._demand0)
            if len(changed_units):
                hit = np.union1d(hit, base_level.weights[changed_units].indices)
            hit = np.unique(hit).astype(np.int64)
            columns = self._base_csc[:, hit]
            ratio_old = ratio0.copy()
            ratio_old[hit] = _ratio(s_old[hit], columns.T @ p_new)
            ratio_add = _ratio(s_add, extra.T @ p_new)
            units_hit = np.union1d(columns.indices, np.flatnonzero(np.diff(extra.indptr)))
            access = access0.copy()
            access[units_hit] = base_level.weights[units_hit] @ ratio_old + extra[units_hit] @ ratio_add
            touched_sites, touched_units = len(hit) + len(s_add), len(units_hit)
        else:
            weights = sp.hstack([base_level.weights, extra], format="csr")
            _, ratio, access = self._solve(weights, p_new, np.concatenate([s_old, s_add]))
            ratio_old, ratio_add = ratio[: len(s_old)], ratio[len(s_old) :]
            touched_sites, touched_units = len(s_old) + len(s_add), len(p_new)
        after = {self.apl_level: access}
        if self.apl_level == "iris" and self.iris_parent is not None:
            after["commune"] = self._commune_means(access, p_new)
        if "carreau" in self.levels:
            cells = self.levels["carreau"]
            cell_after = cells.weights @ ratio_old
            extra_cells = self._new_columns(cells, sites)
            reached = np.flatnonzero(np.diff(extra_cells.indptr))
            cell_after[reached] += extra_cells[reached] @ ratio_add
            after["carreau"] = cell_after
        return ScenarioResult(name, self._result_table(after), touched_sites, touched_units, messages)

    def _template(self) -> _Template:
        """Every run's table without its figures after the change (built once, then only read)."""
        if self._frame is None:
            base = self.levels[self.apl_level]
            access0 = self._base[2]
            tables = [self._table(self.apl_level, base.units, access0, access0)]
            if self.apl_level == "iris" and self.iris_parent is not None:
                before = self._commune_means(access0, self._demand0)
                index = self._parents[1]
                communes = self.communes.reindex(index) if self.communes is not None else None
                tables.append(self._table("commune", communes, before, before, index=index))
            if "carreau" in self.levels:
                cells = self.levels["carreau"]
                before = self._before["carreau"]
                tables.append(self._table("carreau", cells.units, before, before))
            table = pd.concat(tables, ignore_index=True)
            keep = np.arange(len(table))
            if self._shown is not None:
                ids, shown = table["unit_id"].to_numpy(dtype=object), self._shown
                keep = np.flatnonzero(np.fromiter((u in shown for u in ids), dtype=bool, count=len(ids)))
            levels = tuple(str(t["level"].iloc[0]) for t in tables if len(t))
            self._frame = _Template(table.iloc[keep].reset_index(drop=True), keep, levels)
        return self._frame

    @cached_property
    def _parents(self) -> tuple[np.ndarray, pd.Index]:
        """Each IRIS's commune as a position (-1 without one) among the sorted communes."""
        if self.iris_parent is None:
            return np.empty(0, dtype=np.int64), pd.Index([])
        codes, communes = pd.factorize(self.iris_parent, sort=True)
        return codes.astype(np.int64), pd.Index(communes)

    def _commune_means(self, access: np.ndarray, demand: np.ndarray) -> np.ndarray:
        """Commune APL from its IRIS, weighted by their standardised demand (NaN without demand).

        As :func:`indicators.aggregate_weighted`, with the IRIS → commune grouping done once.
        """
        codes, communes = self._parents
        ok = codes >= 0
        weighted = np.nan_to_num(access * demand)[ok]
        num = np.bincount(codes[ok], weights=weighted, minlength=len(communes))
        den = np.bincount(codes[ok], weights=np.nan_to_num(demand)[ok], minlength=len(communes))
        out = np.full(len(communes), np.nan)
        np.divide(num, den, out=out, where=den > 0)
        return out

    def _result_table(self, after: dict[str, np.ndarray]) -> pd.DataFrame:
        template = self._template()
        values = np.concatenate([after[level] for level in template.levels])[template.keep]
        table = template.frame.copy(deep=False)
        table["apl_after"] = values
        table["delta"] = values - template.frame["apl_before"].to_numpy()
        return table

    @staticmethod
    def _table(
        level: str, units: Any, before: np.ndarray, after: np.ndarray, index: pd.Index | None = None
    ) -> pd.DataFrame:
        idx = units.index if index is None else index
        return pd.DataFrame(
            {
                "level": level,
                "unit_id": idx,
                "name": units["name"].to_numpy() if units is not None and "name" in units else idx,
                "population": units["population"].to_numpy() if units is not None else np.nan,
                "apl_before": before,
                "apl_after": after,
                "delta": after - before,
            }
        )


@dataclass(frozen=True)
class _Template:
    """The rows of every run's table (shown units, all levels) with their APL before the change."""

    frame: pd.DataFrame
    keep: np.ndarray  # positions of these rows among all levels' units, in level order
    levels: tuple[str, ...]


def _ratio(supply: np.ndarray, catchment: np.ndarray) -> np.ndarray:
    """Supply over catchment demand, 0 where nobody is in the catchment."""
    out = np.zeros(len(supply))
    np.divide(supply, catchment, out=out, where=catchment > 0)
    return out


def _with_surroundings(store: Store, snapshot_id: str, name: str, *, geo: bool = True) -> pd.DataFrame:
    """Table ``name`` of the snapshot followed by the rows of its surroundings (``surrounding_<name>``)."""
    read = store.geotable if geo else store.table
    frame = read(name, snapshot_id)
    if not store.has_table(f"surrounding_{name}"):
        return frame
    around = read(f"surrounding_{name}", snapshot_id)
    return pd.concat([frame, around], ignore_index=True) if len(around) else frame


def _cost_model(meta: dict[str, Any], store: Store, snapshot_id: str) -> network.CostSource:
    """The cost source the snapshot was built with, for new sites, rebuilt from the snapshot alone."""
    return network.stored_cost_source(str(meta["cost_source"]), lambda name: store.table(name, snapshot_id))
