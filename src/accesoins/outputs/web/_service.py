"""Queries and aggregations of the web observatory, on snapshots cached in memory.

Reads a snapshot's tables (indicators, units, sites, sources) once per snapshot
id — snapshots are immutable — and answers the API: layers with their map
classes, sites, a unit's fiche (with département and national references and
the change since the previous snapshot of the territory), comparisons, CSV.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accesoins.errors import StoreError
from accesoins.french import search_key, search_query
from accesoins.geo import Level, Precision
from accesoins.http_problems import ProblemError, not_found
from accesoins.indicators import UNDER_SERVED, AplClass, DemandMethod, apl_class
from accesoins.labels import (
    APL_CLASS_NOTE,
    LOCAL_SOURCES,
    apl_class_label,
    format_threshold,
    label,
    label_of,
    level_plural,
)
from accesoins.network import CostSourceCode, haversine_m
from accesoins.outputs._disclosure import Gate, disclosure_k, public_layer, public_sites
from accesoins.outputs._gpkg import URBAN_UNIT_TEXT, public_zone_comparison
from accesoins.outputs._needs import (
    PRIORITY_NOTE,
    LocalData,
    indicator_sheet,
    local_data,
    with_local_indicators,
    zoning_rows,
)
from accesoins.outputs.web._classes import METHODS, Method, classify, classify_apl, format_fr
from accesoins.sources import CATALOG, POPULATION_YEAR, Profession, SourceName
from accesoins.store import Store, diff_snapshots

log = logging.getLogger(__name__)
T = TypeVar("T")

LEVELS: dict[str, str] = {
    str(lv): level_plural(lv) for lv in (Level.COMMUNE, Level.IRIS, Level.QPV, Level.QUARTIER, Level.CARREAU)
}
_PRECISION_COLORS = {
    Precision.ETABLISSEMENT: "#d81b60",
    Precision.IRIS: "#1e88e5",
    Precision.COMMUNE: "#ffc107",
}
PRECISIONS: dict[str, tuple[str, str]] = {str(p): (label(p), c) for p, c in _PRECISION_COLORS.items()}
"""Precision code -> (French label, colour) of the practice sites on the map."""
MISSING_COLOR = "#bdbdbd"


@dataclass(frozen=True)
class Measure:
    """An indicator that can be mapped: French label, unit, decimals."""

    label: str
    unit: str
    digits: int
    generaliste_only: bool = False
    on_grid: bool = True  # a density of a 200 m cell (a few dozen people) means nothing


MEASURES: dict[str, Measure] = {
    "density_per_100k": Measure(
        "Densité (ETP)", "équivalents temps plein pour 100 000 habitants", 1, on_grid=False
    ),
    "std_density_per_100k": Measure(
        "Densité standardisée par âge (ETP)",
        "équivalents temps plein pour 100 000 habitants standardisés",
        1,
        on_grid=False,
    ),
    "apl": Measure(
        "Accessibilité potentielle localisée (APL)",
        "consultations par habitant et par an",
        2,
        generaliste_only=True,
    ),
    "headcount": Measure("Effectif", "praticiens", 0, on_grid=False),
    "nearest_m": Measure("Distance au lieu d'exercice le plus proche", "mètres à vol d'oiseau", 0),
    "apl_delta": Measure(
        "Évolution de l'APL depuis l'instantané précédent",
        "consultations par habitant et par an (écart)",
        2,
        generaliste_only=True,
    ),
    "headcount_delta": Measure(
        "Évolution de l'effectif depuis l'instantané précédent", "praticiens (écart)", 0, on_grid=False
    ),
}
GRID_LEVEL = "carreau"
PRIORITY_MEASURE = "priorite"
# 3 × 3 bivariate palette (access class A1-A3 × need class B1-B3), Joshua Stevens' blue-pink scheme:
# A1-B3 (weakest access, highest need) is the darkest.
BIVARIATE_COLORS: dict[str, str] = {
    "A3-B1": "#e8e8e8", "A3-B2": "#e4acac", "A3-B3": "#c85a5a",
    "A2-B1": "#b0d5df", "A2-B2": "#ad9ea5", "A2-B3": "#985356",
    "A1-B1": "#64acbe", "A1-B2": "#627f8c", "A1-B3": "#574249",
}  # fmt: skip
_PRECISION_COLUMNS = {"n_commune": "commune", "n_etablissement": "etablissement", "n_iris": "iris"}


RING_DEG = 0.003  # about 300 m: units of unknown position drawn around their commune's inner point


def _placed(frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """``frame`` with a ``placement`` per unit (``contour``, ``point``, ``commune``), never without geometry.

    A unit with neither contour nor point (an IRIS without contour and without any
    practitioner giving its centre) is drawn on a small ring around its commune's
    inner point, so that the map shows it; the map says its position is unknown.
    """
    out = frame.copy()
    kinds = out.geometry.geom_type.fillna("")
    out["placement"] = np.where(kinds.eq("Point"), "point", "contour")
    missing = (out.geometry.isna() | out.geometry.is_empty).to_numpy()
    out.loc[missing, "placement"] = ""
    if not missing.any() or level == Level.COMMUNE or "commune" not in units.index:
        return out
    centres = units.loc["commune"].geometry.representative_point()
    parents = units.loc[level]["parent_id"].reindex(out.loc[missing, "unit_id"]).astype(str)
    rank = parents.groupby(parents).cumcount().to_numpy()
    count = parents.map(parents.value_counts()).to_numpy()
    angle = 2 * np.pi * rank / count
    radius = np.where(count > 1, RING_DEG, 0.0)
    centre = centres.reindex(parents.to_numpy())
    ok = centre.notna().to_numpy()
    x = np.where(ok, centre.x.to_numpy() + radius * np.cos(angle), np.nan)
    y = np.where(ok, centre.y.to_numpy() + radius * np.sin(angle), np.nan)
    placed = [shapely.Point(a, b) if good else None for a, b, good in zip(x, y, ok, strict=True)]
    out.loc[missing, "geometry"] = gpd.GeoSeries(placed, index=out.index[missing], crs=out.crs)
    out.loc[missing, "placement"] = np.where(ok, "commune", "")
    return out


def _comparison_rows(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON rows of a zone comparison: text columns as text, numbers as floats, None when missing or
    infinite (the upper bound of a ratio whose rest has no supply)."""
    text = {"unit_id", "name", "parent_id", "profession", "level", "secret", "unites_fusionnees", "label"}
    text |= set(URBAN_UNIT_TEXT)
    records = rows.to_dict("records")
    return [{c: (str(v) if c in text else _finite(v)) for c, v in row.items()} for row in records]


def _finite(value: Any) -> float | None:
    x = _num(value)
    return x if x is None or math.isfinite(x) else None


def _num(value: Any) -> float | None:
    """JSON-friendly float (None for NaN/None)."""
    if value is None or value is pd.NA:
        return None
    x = float(value)
    return None if math.isnan(x) else x


@dataclass
class NationalReference:
    """National APL computed from the DREES workbook recorded with the snapshot."""

    apl: float | None
    vintage: int | None
    source: str
    note: str
    communes: pd.Series = field(repr=False)  # published APL per commune code


@dataclass
class SnapshotData:
    """Everything the API reads from one snapshot, loaded once."""

    snapshot_id: str
    territory: str
    created_at: str
    metadata: dict[str, Any]
    sources: pd.DataFrame
    references: pd.DataFrame  # published DREES APL kept by the build (national, départements, communes)
    gate: Gate  # the disclosure gate every people count of this snapshot went through
    indicators: pd.DataFrame  # public (gated), indexed by (level, unit_id, profession)
    units: gpd.GeoDataFrame  # public (gated), indexed by (level, unit_id), geometry rounded to ~1 m
    merged_into: dict[tuple[str, str], str]  # (level, small unit) -> its merged group
    gate_keys: pd.DataFrame  # parent_id and population_standardised of every stored unit, by (level, unit_id)
    sites: gpd.GeoDataFrame
    levels: list[str]
    professions: list[str]
    departements: pd.DataFrame  # indexed by (departement, profession)
    commune_departement: dict[str, str]
    previous: str | None
    local: LocalData | None = None  # local indicators, zoning (raw: read through local_frame only)
    raw_keys: pd.DataFrame | None = None  # population and parent of every stored unit, to gate local counts
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    key_locks: dict[tuple[Any, ...], threading.Lock] = field(default_factory=dict, repr=False)

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """Memoise ``compute()`` under ``key`` for this (immutable) snapshot.

        Concurrent requests for the same key wait for one computation instead of repeating it.
        """
        with self.lock:
            if key in self.cache:
                return self.cache[key]  # type: ignore[no-any-return]
            key_lock = self.key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self.lock:
                if key in self.cache:
                    return self.cache[key]  # type: ignore[no-any-return]
            try:
                value = compute()
                with self.lock:
                    self.cache[key] = value
            finally:  # an error (unknown unit...) is not cached and leaves no lock behind
                with self.lock:
                    self.key_locks.pop(key, None)
            return value


def _total_if_known(values: pd.Series) -> float:
    """Sum of the communes' values, unknown (NaN) when one of them is unknown: a partial sum would pass
    for the département's total (headcounts are unknown where the supply came as full-time equivalents)."""
    return float(values.sum()) if values.notna().all() else float("nan")


def _departement_table(communes: pd.DataFrame, commune_dept: dict[str, str]) -> pd.DataFrame:
    """Population-weighted aggregate of the snapshot's communes per département and profession."""
    frame = communes.copy()
    frame["departement"] = frame["unit_id"].map(commune_dept)
    frame["apl_x_pop"] = frame["apl"] * frame["population"]
    frame["pop_with_apl"] = frame["population"].where(frame["apl"].notna(), 0.0)
    agg = frame.groupby(["departement", "profession"]).agg(
        headcount=("headcount", _total_if_known),
        etp=("etp", "sum"),
        population=("population", "sum"),
        population_standardised=("population_standardised", "sum"),
        apl_x_pop=("apl_x_pop", "sum"),
        pop_with_apl=("pop_with_apl", "sum"),
        communes=("unit_id", "nunique"),
    )
    agg["density_per_100k"] = 1e5 * agg["etp"] / agg["population"].where(agg["population"] > 0)
    agg["std_density_per_100k"] = (
        1e5 * agg["etp"] / agg["population_standardised"].where(agg["population_standardised"] > 0)
    )
    agg["apl"] = agg["apl_x_pop"] / agg["pop_with_apl"].where(agg["pop_with_apl"] > 0)
    return agg.drop(columns=["apl_x_pop", "pop_with_apl"])


def _public_tables(
    indicators: pd.DataFrame, units: gpd.GeoDataFrame, gate: Gate
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Indicators and units of the web levels as the public gate lets them out (small units merged or masked).

    Every route reads these tables only, so no raw people count reaches a response.
    """
    shape = units[["level", "unit_id", "parent_id", "geometry"]]
    public = []
    for level in LEVELS:
        rows = indicators[indicators["level"] == level]
        if rows.empty:
            continue
        frame = rows.merge(shape[shape["level"] == level].drop(columns="level"), on="unit_id", how="left")
        public.append(public_layer(gpd.GeoDataFrame(frame, geometry="geometry", crs=units.crs), level, gate))
    table = pd.concat(public, ignore_index=True)
    kept = ["level", "unit_id", "name", "parent_id", "population", "population_standardised", "geometry"]
    public_units = table.drop_duplicates(["level", "unit_id"])[[*kept, "unites_fusionnees", "secret"]]
    return (
        pd.DataFrame(table.drop(columns=["geometry", "parent_id"])),
        gpd.GeoDataFrame(public_units.reset_index(drop=True), geometry="geometry", crs=units.crs),
    )


def _public_changes(before: SnapshotData, after: SnapshotData, level: str) -> pd.DataFrame:
    """Indicator changes between the public tables of two snapshots, indexed by (unit_id, profession)."""
    measures = ["headcount", "density_per_100k", "apl"]
    empty = pd.DataFrame(columns=measures)
    sides = [
        d.indicators.xs(level, level="level")[measures] if level in d.levels else empty
        for d in (before, after)
    ]
    joined = sides[0].join(sides[1], how="outer", suffixes=("_before", "_after"))
    changed = np.zeros(len(joined), dtype=bool)
    for m in measures:
        x, y = joined[f"{m}_before"].astype(float), joined[f"{m}_after"].astype(float)
        joined[f"{m}_delta"] = y - x
        changed |= ~np.isclose(x.fillna(-1), y.fillna(-1), rtol=0, atol=1e-9)
    return joined[changed]


def _secret_notes(unit: pd.Series, unit_id: str, asked: str, k: int) -> list[str]:
    """What the disclosure gate did to a fiche's unit, in French (empty when nothing)."""
    notes = []
    if unit_id != asked:
        notes.append(
            f"« {asked} » compte moins de {k} habitants : pour respecter le secret statistique, ses chiffres "
            f"sont ceux de son groupe fixe {unit_id}."
        )
    if unit.get("secret") == "fusion":
        members = str(unit.get("unites_fusionnees", "")).split(";")
        notes.append(
            f"Groupe de {len(members)} unités de moins de {k} habitants chacune, regroupées pour le secret "
            "statistique : population, densités et APL sont celles du groupe."
        )
    elif unit.get("secret") == "masque":
        notes.append(
            f"Cette unité compte moins de {k} habitants et son groupe ne les atteint pas : population, "
            "densités et APL sont masquées (secret statistique)."
        )
    return notes


class ObservatoryService:
    """Read side of the web observatory over one store file (thread-safe, cached per snapshot)."""

    def __init__(self, store_path: str | Path) -> None:
        self.store_path = Path(store_path)
        self._store_lock = threading.Lock()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._snapshots: dict[str, SnapshotData] = {}
        self._listing: tuple[float, pd.DataFrame] | None = None
        self.profession_labels = {str(p): label(p) for p in Profession}

    # -- snapshots -------------------------------------------------------------------------------
    def _open(self) -> Store:
        return Store(self.store_path, read_only=True)

    def list_snapshots(self) -> pd.DataFrame:
        """Complete snapshots, oldest first (re-read when the store file changes)."""
        if not self.store_path.exists():
            raise ProblemError(
                503,
                "Entrepôt absent",
                f"aucun entrepôt de données à {self.store_path} : lancez d'abord « accesoins build »",
            )
        mtime = self.store_path.stat().st_mtime
        with self._lock:
            if self._listing is not None and self._listing[0] == mtime:
                return self._listing[1]
        try:
            with self._store_lock, self._open() as store:
                snaps = store.snapshots()[["snapshot_id", "territory", "created_at"]].copy()
        except StoreError:  # a build holds the file: keep serving the snapshots already listed
            if self._listing is None:
                raise
            log.warning("entrepôt %s occupé : liste des instantanés précédente conservée", self.store_path)
            return self._listing[1]
        with self._lock:
            self._listing = (mtime, snaps)
        return snaps

    def snapshot_rows(self) -> list[dict[str, Any]]:
        """Snapshots as dicts (``latest`` marks the one served by default)."""
        snaps = self.list_snapshots()
        last = len(snaps) - 1
        return [
            {
                "snapshot_id": str(r.snapshot_id),
                "territory": str(r.territory),
                "created_at": str(r.created_at),
                "latest": i == last,
            }
            for i, r in enumerate(snaps.itertuples())
        ]

    def resolve(self, snapshot: str | None) -> str:
        """Snapshot id from ``?snapshot=`` (an id, ``latest``/absent, ``previous``)."""
        snaps = self.list_snapshots()
        ids = list(snaps["snapshot_id"])
        if not ids:
            raise ProblemError(
                503,
                "Aucun instantané",
                "l'entrepôt ne contient aucun instantané : lancez « accesoins build »",
            )
        if snapshot in (None, "", "latest", "dernier"):
            return str(ids[-1])
        if snapshot in ("previous", "precedent", "précédent"):
            if len(ids) < 2:
                raise not_found("Instantané", snapshot, where="(il n'y a pas d'instantané précédent)")
            return str(ids[-2])
        if snapshot not in ids:
            raise not_found("Instantané", snapshot, ids[-5:], where="dans l'entrepôt")
        return str(snapshot)

    def snapshot(self, snapshot: str | None = None) -> SnapshotData:
        """The cached data of a snapshot (loaded from the store on first use)."""
        sid = self.resolve(snapshot)
        with self._lock:
            if sid in self._snapshots:
                return self._snapshots[sid]
        with self._load_lock:  # one snapshot loaded at a time, once
            with self._lock:
                if sid in self._snapshots:
                    return self._snapshots[sid]
            data = self._load(sid)
            with self._lock:
                self._snapshots[sid] = data
            return data

    def _load(self, sid: str) -> SnapshotData:
        log.info("chargement de l'instantané %s", sid)
        snaps = self.list_snapshots()
        row = snaps[snaps["snapshot_id"] == sid].iloc[0]
        same = snaps[snaps["territory"] == row["territory"]]["snapshot_id"].tolist()
        previous = same[same.index(sid) - 1] if same.index(sid) > 0 else None
        with self._store_lock, self._open() as store:
            metadata = store.metadata(sid)
            sources = store.sources(sid)
            references = store.kept("drees_references", sid)
            indicators = store.table("indicators", sid)
            units = store.geotable("units", sid)
            sites = store.geotable("sites", sid)
            local = local_data(store, sid)
        gate = Gate(disclosure_k(metadata), units.loc[units["level"] == "commune", "geometry"])
        for col in _PRECISION_COLUMNS:  # columns widened by other snapshots come back empty
            indicators[col] = indicators[col].fillna(0).astype("int64") if col in indicators.columns else 0
        gate_keys = units.set_index(["level", "unit_id"])[["parent_id", "population_standardised"]]
        raw_keys = pd.DataFrame(units[["level", "unit_id", "population", "parent_id"]])
        indicators, units = _public_tables(indicators, units, gate)
        units["geometry"] = shapely.set_precision(units.geometry.to_numpy(), 1e-5)
        merged_into = {
            (str(r.level), member): str(r.unit_id)
            for r in units[units["secret"] == "fusion"].itertuples()
            for member in str(r.unites_fusionnees).split(";")
        }
        communes_units = units[units["level"] == "commune"]
        commune_dept = dict(
            zip(communes_units["unit_id"], communes_units["parent_id"].fillna(""), strict=True)
        )
        communes = indicators[indicators["level"] == "commune"]
        departements = _departement_table(communes, commune_dept)
        levels = [lv for lv in LEVELS if lv in set(indicators["level"])]
        professions = sorted(set(indicators["profession"]))
        return SnapshotData(
            snapshot_id=sid,
            territory=str(row["territory"]),
            created_at=str(row["created_at"]),
            metadata=metadata,
            sources=sources,
            gate=gate,
            references=references,
            indicators=indicators.set_index(["level", "unit_id", "profession"]).sort_index(),
            units=units.set_index(["level", "unit_id"]).sort_index(),
            merged_into=merged_into,
            gate_keys=gate_keys,
            sites=public_sites(sites, units[units["level"] == "commune"]),
            levels=levels,
            professions=professions,
            departements=departements,
            commune_departement=commune_dept,
            previous=previous,
            local=local,
            raw_keys=raw_keys,
        )

    # -- validation ------------------------------------------------------------------------------
    def check_level(self, data: SnapshotData, level: str) -> None:
        if level not in data.levels:
            raise not_found("Niveau", level, data.levels)

    def check_profession(self, data: SnapshotData, profession: str) -> None:
        if profession not in data.professions:
            raise not_found("Profession", profession, data.professions, title="Profession inconnue")

    def check_measure(
        self, profession: str, measure: str, data: SnapshotData | None = None, level: str = ""
    ) -> Measure:
        known = {**MEASURES, **(self.local_measures(data, level) if data is not None else {})}
        if measure not in known:
            raise not_found("Indicateur", measure, list(known))
        spec = known[measure]
        if spec.generaliste_only and profession != "generaliste":
            raise ProblemError(
                422,
                "Indicateur non disponible",
                f"l'APL n'est calculée que pour les médecins généralistes, pas pour « {profession} ».",
            )
        return spec

    def local_measures(self, data: SnapshotData, level: str) -> dict[str, Measure]:
        """Local indicators that can be mapped at ``level``, and the priority map when it has a need."""
        if data.local is None or level not in data.levels:
            return {}
        meta = data.local.indicators_of(level)
        found = {
            str(i): Measure(f"{r['label']} ({r['year']})", str(r["unit"]), 1, on_grid=level == GRID_LEVEL)
            for i, r in meta.iterrows()
        }
        if len(meta) and "priority_class" in self.local_frame(data, level).columns:
            found[PRIORITY_MEASURE] = Measure(
                "Priorités : accès × besoin (3 × 3)", "classe A (APL) × B (besoin)", 0, generaliste_only=True
            )
        return found

    def local_frame(self, data: SnapshotData, level: str) -> pd.DataFrame:
        """Local indicators and priority class of every public unit of ``level`` (one row per unit)."""

        def compute() -> pd.DataFrame:
            units = data.units.loc[level].reset_index()
            frame = pd.DataFrame(units[["unit_id", "name", "parent_id", "population", "secret"]])
            if (level, "generaliste") in data.indicators.index.droplevel("unit_id"):
                apl = data.indicators.xs((level, "generaliste"), level=("level", "profession"))["apl"]
                frame["apl"] = frame["unit_id"].map(apl).to_numpy()
            local, raw = data.local, data.raw_keys
            if local is None or raw is None:
                return frame
            return with_local_indicators(frame, raw[raw["level"] == level], local, level, data.gate)

        return data.cached(("local", level), compute)

    # -- catalogue -------------------------------------------------------------------------------
    def catalog(self, data: SnapshotData) -> dict[str, Any]:
        """Levels, professions, measures and classification methods available in a snapshot."""
        meta = data.metadata
        return {
            "snapshot_id": data.snapshot_id,
            "territory": data.territory,
            "created_at": data.created_at,
            "description": _describe(meta),
            "precision": {str(k): int(v) for k, v in (meta.get("precision") or {}).items()},
            "precision_labels": {str(k): label_of(Precision, k) for k in meta.get("precision") or {}},
            "levels": [
                {
                    "id": lv,
                    "label": LEVELS[lv],
                    "count": len(data.units.loc[lv]) if lv in data.units.index.get_level_values(0) else 0,
                }
                for lv in data.levels
            ],
            "professions": [{"id": p, "label": self.profession_labels.get(p, p)} for p in data.professions],
            "measures": [
                {
                    "id": m,
                    "label": s.label,
                    "unit": s.unit,
                    "generaliste_only": s.generaliste_only,
                    "levels": [lv for lv in data.levels if s.on_grid or lv != GRID_LEVEL],
                }
                for m, s in MEASURES.items()
            ]
            + [
                {
                    "id": m,
                    "label": s.label,
                    "unit": s.unit,
                    "generaliste_only": s.generaliste_only,
                    "levels": [lv],
                }
                for lv in data.levels
                for m, s in self.local_measures(data, lv).items()
            ],
            "methods": [{"id": m, "label": lab} for m, lab in METHODS.items()],
            "precisions": [{"id": p, "label": lab, "color": col} for p, (lab, col) in PRECISIONS.items()],
            "sources": source_vintages(data.sources, meta),
            "local_indicators": [
                {
                    "id": str(r.indicator),
                    "level": str(r.level),
                    "label": str(r.label),
                    "unit": str(r.unit),
                    "year": None if pd.isna(r.year) else int(r.year),
                    "source": str(r.source),
                    "is_count": bool(r.is_count),
                    "on_map": str(r.level) in data.levels,
                }
                for r in (data.local.catalogue if data.local is not None else pd.DataFrame()).itertuples()
            ],
        }

    # -- layers ----------------------------------------------------------------------------------
    def layer_frame(self, data: SnapshotData, *, level: str, profession: str) -> gpd.GeoDataFrame:
        """Indicators of one level and profession with the unit geometry."""
        self.check_level(data, level)
        self.check_profession(data, profession)

        def compute() -> gpd.GeoDataFrame:
            ind = data.indicators.xs((level, profession), level=("level", "profession")).reset_index()
            geom = data.units.loc[level]["geometry"]
            ind["geometry"] = geom.reindex(ind["unit_id"]).to_numpy()
            frame = gpd.GeoDataFrame(ind, geometry="geometry", crs="EPSG:4326")
            inner = frame.geometry.representative_point()  # inside the unit: where its name is written
            frame["label_lon"], frame["label_lat"] = inner.x.round(5), inner.y.round(5)
            frame["nearest_m"] = _nearest_m(frame, self.sites_frame(data, profession=profession))
            changes = self._layer_changes(data, level)
            for m in ("apl", "headcount"):  # what changed since the previous snapshot (gated on both sides)
                delta = changes[f"{m}_delta"].xs(profession, level="profession") if len(changes) else None
                frame[f"{m}_delta"] = (
                    frame["unit_id"].map(delta).astype(float).fillna(0.0).to_numpy()
                    if delta is not None
                    else np.full(len(frame), 0.0 if data.previous else np.nan)
                )
            local = self.local_frame(data, level).set_index("unit_id")
            for col in local.columns.difference(frame.columns):
                frame[col] = frame["unit_id"].map(local[col]).to_numpy()
            return _placed(frame, data.units, level)  # after the distances: a placed point is no position

        return data.cached(("frame", level, profession), compute)

    def layer(
        self, data: SnapshotData, *, level: str, profession: str, measure: str, method: Method, classes: int
    ) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
        """The layer with a ``value``/``class``/``color`` per unit, and its legend."""
        spec = self.check_measure(profession, measure, data, level)
        frame = self.layer_frame(data, level=level, profession=profession)

        def compute() -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
            if measure == PRIORITY_MEASURE:
                needs = data.local.indicators_of(level) if data.local is not None else pd.DataFrame()
                return _priority_layer(frame, spec, needs)
            out = frame.copy()
            values = out[measure].astype(float).to_numpy()
            if method == "seuils" and measure == "apl":
                cls = classify_apl(values)
            else:  # the APL classes of meaning mean nothing for another indicator: quantiles
                cls = classify(values, method=method, k=classes, digits=spec.digits)
            out["value"] = values
            out["class"] = cls.classes
            colors = np.array([*cls.colors, MISSING_COLOR], dtype=object)
            out["color"] = colors[np.where(cls.classes >= 0, cls.classes, len(cls.colors))]
            legend = {
                "measure": measure,
                "label": spec.label,
                "unit": spec.unit,
                "digits": spec.digits,
                "method": method,
                "method_label": METHODS[method if measure == "apl" else "quantiles"]
                if method == "seuils"
                else METHODS[method],
                "bounds": cls.bounds,
                "classes": [
                    {
                        "index": i,
                        "lower": cls.bounds[i],
                        "upper": cls.bounds[i + 1],
                        "label": lab,
                        "color": cls.colors[i],
                        "count": cls.counts[i],
                    }
                    for i, lab in enumerate(cls.labels)
                ],
                "missing": {
                    "label": "non renseigné (population nulle ou indicateur non calculé)",
                    "color": MISSING_COLOR,
                    "count": int((cls.classes < 0).sum()),
                },
            }
            if measure == "apl":
                legend["threshold"] = {
                    "value": UNDER_SERVED,
                    "label": f"{label(AplClass.SOUS_DOTEE)} : APL inférieure à "
                    f"{format_threshold(UNDER_SERVED)} consultations par habitant et par an "
                    f"({APL_CLASS_NOTE})",
                }
            return out, legend

        return data.cached(("layer", level, profession, measure, method, classes), compute)

    def layer_geojson(
        self, data: SnapshotData, *, level: str, profession: str, measure: str, method: Method, classes: int
    ) -> bytes:
        """GeoJSON FeatureCollection of a layer; foreign members ``legend``, ``geometries``, ``level``…"""
        frame, legend = self.layer(
            data, level=level, profession=profession, measure=measure, method=method, classes=classes
        )
        return data.cached(
            ("layer.geojson", level, profession, measure, method, classes),
            lambda: feature_collection(
                frame,
                extra={
                    "snapshot_id": data.snapshot_id,
                    "level": level,
                    "profession": profession,
                    "legend": legend,
                    "geometries": self.geometry_note(data, level, frame),
                },
            ),
        )

    def geometry_note(self, data: SnapshotData, level: str, frame: gpd.GeoDataFrame) -> dict[str, Any]:
        """Polygons and points of a layer, and the French message the map shows when some units have no
        contour (IRIS outside the communes whose IGN contours were given: circles at their centre)."""
        kinds = frame["placement"]
        drawn = kinds.isin(("point", "commune")).to_numpy()
        centred, unknown = int(kinds.eq("point").sum()), int(kinds.eq("commune").sum())
        polygons = int(kinds.eq("contour").sum())
        absent = frame.loc[kinds.eq("").to_numpy(), "unit_id"].astype(str)
        note: dict[str, Any] = {
            "polygons": polygons,
            "points": int(drawn.sum()),
            "unknown_position": unknown,
            "absent": len(absent),
            "message": "",
        }
        parts = []
        if drawn.any():
            what = "IRIS" if level == Level.IRIS else f"des unités « {label_of(Level, level)} »"
            has_communes = "commune" in data.units.index
            communes = data.units.loc["commune"]["name"] if has_communes else pd.Series(dtype=str)
            parents = data.units.loc[level]["parent_id"].reindex(frame.loc[drawn, "unit_id"]).dropna()
            names = parents.astype(str).map(communes).fillna(parents).value_counts().index.tolist()
            some = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
            where = f" ({len(names)} commune(s) : {some})" if level != Level.COMMUNE and names else ""
            parts.append(
                f"contours {what} non fournis pour {int(drawn.sum())} sur {len(frame)}{where} : cercles de "
                "taille selon la population"
                + (f", au centre pour {centred}" if centred else "")
                + (f", autour du centre de leur commune pour {unknown} (lieu inconnu)" if unknown else "")
                + (f" ; polygones pour les {polygons} autres" if polygons else "")
            )
        if len(absent):
            parts.append(
                f"contour et position inconnus pour {len(absent)} unité(s) sur {len(frame)}, absente(s) de "
                f"la carte : {', '.join(absent.head(5))}" + (" …" if len(absent) > 5 else "")
            )
        note["message"] = " ; ".join(parts)
        return note

    def layer_csv(
        self, data: SnapshotData, *, level: str, profession: str, measure: str, method: Method, classes: int
    ) -> bytes:
        frame, legend = self.layer(
            data, level=level, profession=profession, measure=measure, method=method, classes=classes
        )
        table = pd.DataFrame(frame.drop(columns=["geometry", "color"]))
        labels = [c["label"] for c in legend["classes"]]
        table["class_label"] = [labels[c] if c >= 0 else "" for c in table["class"]]
        table.insert(0, "snapshot_id", data.snapshot_id)
        return _csv(table)

    def sites_frame(self, data: SnapshotData, *, profession: str | None) -> gpd.GeoDataFrame:
        """Practice sites (optionally of one profession) with their precision label and colour."""
        if profession is not None:
            self.check_profession(data, profession)

        def compute() -> gpd.GeoDataFrame:
            sites = data.sites
            if profession is not None:
                has = sites["professions"].fillna("").str.split(",").apply(lambda ps: profession in ps)
                sites = sites[has.to_numpy()]
            sites = sites.copy()
            sites["precision_label"] = sites["precision"].map(lambda p: PRECISIONS.get(p, (p, ""))[0])
            sites["color"] = sites["precision"].map(lambda p: PRECISIONS.get(p, ("", MISSING_COLOR))[1])
            return sites

        return data.cached(("sites", profession), compute)

    def sites_geojson(self, data: SnapshotData, *, profession: str | None) -> bytes:
        frame = self.sites_frame(data, profession=profession)
        legend = [
            {"id": p, "label": lab, "color": col, "count": int((frame["precision"] == p).sum())}
            for p, (lab, col) in PRECISIONS.items()
        ]
        return data.cached(
            ("sites.geojson", profession),
            lambda: feature_collection(
                frame, extra={"snapshot_id": data.snapshot_id, "profession": profession, "legend": legend}
            ),
        )

    def sites_csv(self, data: SnapshotData, *, profession: str | None) -> bytes:
        frame = self.sites_frame(data, profession=profession)
        table = pd.DataFrame(frame.drop(columns=["geometry", "color"]))
        table["longitude"], table["latitude"] = frame.geometry.x.round(6), frame.geometry.y.round(6)
        return _csv(table)

    # -- units -----------------------------------------------------------------------------------
    def search_units(self, data: SnapshotData, *, level: str, query: str, limit: int) -> list[dict[str, Any]]:
        """Units of a level whose name or code contains ``query``, names that start with it first.

        Tolerant of case, accents, hyphens, apostrophes, spaces and a leading article (« La Teste »,
        « saint laurent »); sorted by name without its article, as the INSEE lists communes.
        """
        self.check_level(data, level)

        def table() -> pd.DataFrame:
            units = data.units.loc[level][["name", "population", "unites_fusionnees"]].reset_index()
            members = units["unites_fusionnees"].fillna("").str.lower()
            names = units["name"].fillna("").map(search_key)
            units["key"] = names + " " + units["unit_id"].str.lower() + " " + members
            units["bare"] = names.map(search_query)
            return units.sort_values(["bare", "unit_id"]).reset_index(drop=True)

        units = data.cached(("search", level), table)
        wanted = search_query(query)
        if wanted:
            units = units[units["key"].str.contains(wanted, regex=False)]
            units = units.iloc[np.argsort(~units["bare"].str.startswith(wanted).to_numpy(), kind="stable")]
        return [
            {"unit_id": r.unit_id, "name": r.name, "population": _num(r.population)}
            for r in units.head(limit).itertuples()
        ]

    def fiche(self, data: SnapshotData, *, level: str, unit_id: str) -> dict[str, Any]:
        """A unit's fiche: population, practitioners, densities, APL, references and change."""
        self.check_level(data, level)
        return data.cached(("fiche", level, unit_id), lambda: self._fiche(data, level, unit_id))

    def _fiche(self, data: SnapshotData, level: str, asked: str) -> dict[str, Any]:
        unit_id = data.merged_into.get((level, asked), asked)  # a small unit answers with its group
        try:
            unit = data.units.loc[(level, unit_id)]
        except KeyError:
            raise not_found(f"Unité du niveau « {level} »", asked, title="Unité inconnue") from None
        rows = data.indicators.loc[(level, unit_id)] if (level, unit_id) in data.indicators.index else None
        commune = unit_id if level == "commune" else str(unit["parent_id"])
        dept = data.commune_departement.get(commune, "")
        national = self.national_reference(data)
        change = self._changes(data, level, unit_id)
        notes = _secret_notes(unit, unit_id, asked, data.gate.k)
        professions = []
        for profession in data.professions:
            if rows is None or profession not in rows.index:
                continue
            r = rows.loc[profession]
            precision = {
                p: int(r[c]) for c, p in _PRECISION_COLUMNS.items() if c in r.index and int(r[c]) > 0
            }
            ref = (
                data.departements.loc[(dept, profession)]
                if (dept, profession) in data.departements.index
                else None
            )
            apl = _num(r.get("apl"))
            cls = apl_class(apl)
            item: dict[str, Any] = {
                "profession": profession,
                "label": self.profession_labels.get(profession, profession),
                "headcount": None if pd.isna(r["headcount"]) else int(r["headcount"]),
                "etp": _num(r["etp"]),
                "precision": precision,
                "precision_labels": {p: label_of(Precision, p) for p in precision},
                "density_per_100k": _num(r["density_per_100k"]),
                "std_density_per_100k": _num(r.get("std_density_per_100k")),
                "apl": apl,
                "apl_class": None if cls is None else cls.value,
                "apl_class_label": None if cls is None else apl_class_label(apl, note=True),
                "departement": None
                if ref is None
                else {
                    "code": dept,
                    "label": f"Département {dept} : agrégat pondéré par la population des "
                    f"{int(ref['communes'])} communes de l'instantané",
                    "headcount": None if pd.isna(ref["headcount"]) else int(ref["headcount"]),
                    "etp": _num(ref["etp"]),
                    "population": _num(ref["population"]),
                    "density_per_100k": _num(ref["density_per_100k"]),
                    "std_density_per_100k": _num(ref["std_density_per_100k"]),
                    "apl": _num(ref["apl"]) if profession == "generaliste" else None,
                },
                "national": None,
                "change": change.get(profession),
            }
            if profession == "generaliste" and national.apl is not None:
                published = national.communes.get(unit_id) if level == "commune" else None
                item["national"] = {
                    "apl": national.apl,
                    "vintage": national.vintage,
                    "label": national.source,
                    "apl_drees_unit": _num(published),
                }
            professions.append(item)
        if national.apl is None:
            notes.append(national.note)
        notes.append(
            "Pas de référence nationale pour les densités : l'instantané ne couvre que son territoire."
        )
        if data.previous is None:
            notes.append("Aucun instantané précédent de ce territoire : évolution non disponible.")
        if unit_id and level == "commune":
            approx = sum(p["precision"].get("commune", 0) for p in professions)
            if approx:
                notes.append(
                    f"{approx} activité(s) localisée(s) au centre de la commune seulement (adresse "
                    "d'exercice inconnue)."
                )
        needs = self._needs(data, level, unit_id, commune)
        return {
            **needs,
            "snapshot_id": data.snapshot_id,
            "previous_snapshot_id": data.previous,
            "territory": data.territory,
            "level": level,
            "level_label": LEVELS[level],
            "unit_id": unit_id,
            "name": unit["name"],
            "parent_id": unit["parent_id"],
            "departement": dept or None,
            "population": _num(unit["population"]),
            "population_standardised": _num(unit.get("population_standardised")),
            "apl_threshold": UNDER_SERVED,
            "professions": professions,
            "notes": notes,
            "comparison": self._zone_rows(data, level, unit_id),  # QPV / quartier vs the rest (ONPV)
        }

    def _needs(self, data: SnapshotData, level: str, unit_id: str, commune: str) -> dict[str, Any]:
        """Local indicators beside the territory's value, priority class and official zoning of a unit."""
        local = data.local
        if local is None:
            return {}
        frame = self.local_frame(data, level)
        k = data.gate.k
        sheet = data.cached(("indicator-sheet", level), lambda: indicator_sheet(local, level, frame, k))
        rows = sheet.rows(unit_id)
        priority = None
        mine = frame[frame["unit_id"] == unit_id]
        if "priority_class" in frame.columns and len(mine) and mine["priority_class"].iloc[0]:
            need = str(mine["priority_need"].iloc[0])
            rank = mine["priority_rank"].iloc[0]
            priority = {
                "bivariate": str(mine["priority_class"].iloc[0]),
                "rank": None if pd.isna(rank) else int(rank),
                "need": need,
                "need_label": str(local.indicators_of(level).at[need, "label"]),
                "note": PRIORITY_NOTE,
            }
        labels = self.profession_labels
        zoning = [
            {**z, "scope": f"{label_of(Level, level)} {unit_id}"}
            for z in zoning_rows(local, level, unit_id, labels)
        ]
        if level != "commune" and commune:
            zoning += [
                {**z, "scope": f"commune {commune}"} for z in zoning_rows(local, "commune", commune, labels)
            ]
        return {"local_indicators": rows, "priority": priority, "official_zoning": zoning}

    def _layer_changes(self, data: SnapshotData, level: str) -> pd.DataFrame:
        """Public changes of every unit of ``level`` since the previous snapshot (empty without one)."""
        if data.previous is None:
            return pd.DataFrame()
        before = self.snapshot(data.previous)
        return data.cached(("layer-diff", level), lambda: _public_changes(before, data, level))

    def _changes(self, data: SnapshotData, level: str, unit_id: str) -> dict[str, dict[str, Any]]:
        """Change of a unit's public indicators since the previous snapshot of the same territory.

        Both sides are the gated tables, so a change never shows a figure the gate hides.
        """
        if data.previous is None:
            return {}
        prev = data.previous
        changes = self._layer_changes(data, level)  # the same table the map of changes shows

        def compute() -> tuple[pd.DataFrame, pd.DataFrame]:
            with self._store_lock, self._open() as store:
                diff = diff_snapshots(store, prev, data.snapshot_id, level=level)
            return diff.arrivals, diff.departures

        arrivals, departures = data.cached(("diff", level), compute)
        out: dict[str, dict[str, Any]] = {}
        for profession in data.professions:
            item: dict[str, Any] = {"previous_snapshot_id": prev}
            if (unit_id, profession) in changes.index:
                row = changes.loc[(unit_id, profession)]
                for m in ("headcount", "density_per_100k", "apl"):
                    for part in ("before", "after", "delta"):
                        item[f"{m}_{part}"] = _num(row.get(f"{m}_{part}"))
                item["changed"] = True
            else:
                item["changed"] = False
            if level == "commune":
                for name, table in (("arrivals", arrivals), ("departures", departures)):
                    sub = table[table["profession"] == profession]
                    item[name] = int(
                        sub["communes"].fillna("").str.split(",").apply(lambda cs: unit_id in cs).sum()
                    )
            out[profession] = item
        return out

    def zone_comparison(self, data: SnapshotData, *, level: str, profession: str) -> list[dict[str, Any]]:
        """Each QPV or quartier against the rest of its commune and of its unité urbaine (ONPV question),
        through the gate; ``uu_note`` says which unité urbaine, which of its communes are missing, or that
        no table was given."""
        self.check_profession(data, profession)
        layers = self._comparison_layers(data)
        layer = layers.get(f"comparaison_{level}")
        if layer is None:
            raise not_found("Niveau de zones comparées", level, [k.split("_", 1)[1] for k in layers])
        rows = pd.DataFrame(layer[layer["profession"] == profession].drop(columns="geometry"))
        return _comparison_rows(rows.sort_values("density_ratio"))

    def _comparison_layers(self, data: SnapshotData) -> dict[str, gpd.GeoDataFrame]:
        def compute() -> dict[str, gpd.GeoDataFrame]:
            with self._store_lock, self._open() as store:
                return public_zone_comparison(store, data.snapshot_id, data.gate)

        return data.cached(("zone-comparison",), compute)

    def _zone_rows(self, data: SnapshotData, level: str, unit_id: str) -> list[dict[str, Any]]:
        """A QPV's or quartier's comparison with the rest of its commune and unité urbaine, per profession."""
        layer = self._comparison_layers(data).get(f"comparaison_{level}")
        if layer is None:
            return []
        rows = pd.DataFrame(layer[layer["unit_id"] == unit_id].drop(columns="geometry"))
        rows["label"] = [label_of(Profession, p) for p in rows["profession"]]
        return _comparison_rows(rows.sort_values("profession"))

    def compare(self, data: SnapshotData, *, level: str, a: str, b: str) -> dict[str, Any]:
        return {
            "snapshot_id": data.snapshot_id,
            "level": level,
            "units": [self.fiche(data, level=level, unit_id=a), self.fiche(data, level=level, unit_id=b)],
        }

    def fiches_csv(self, fiches: list[dict[str, Any]]) -> bytes:
        """One row per unit × profession with the fiche's figures, then its local indicators (a bassin de
        vie's prefixed ``bassin_vie_``), priority class and official zoning (``zonage_<profession>``)."""
        rows = []
        for f in fiches:
            local = {
                (r["indicator"] if not r["note"] else f"{r['level']}_{r['indicator']}"): r["value"]
                for r in f.get("local_indicators", [])
            }
            priority = f.get("priority") or {}
            if priority:
                local |= {"priority_class": priority["bivariate"], "priority_need": priority["need"]}
            local |= {f"zonage_{z['profession']}": z["zone"] for z in reversed(f.get("official_zoning", []))}
            for p in f["professions"]:
                dept = p["departement"] or {}
                nat = p["national"] or {}
                ch = p["change"] or {}
                rows.append(
                    {
                        "snapshot_id": f["snapshot_id"],
                        "level": f["level"],
                        "unit_id": f["unit_id"],
                        "name": f["name"],
                        "population": f["population"],
                        "profession": p["profession"],
                        "headcount": p["headcount"],
                        "etp": p["etp"],
                        "density_per_100k": p["density_per_100k"],
                        "std_density_per_100k": p["std_density_per_100k"],
                        "apl": p["apl"],
                        "apl_class": p["apl_class"],
                        "departement": dept.get("code"),
                        "departement_density_per_100k": dept.get("density_per_100k"),
                        "departement_apl": dept.get("apl"),
                        "national_apl_drees": nat.get("apl"),
                        "previous_snapshot_id": ch.get("previous_snapshot_id"),
                        "headcount_delta": ch.get("headcount_delta"),
                        "apl_delta": ch.get("apl_delta"),
                        **{f"activities_{k}": v for k, v in p["precision"].items()},
                        **local,
                    }
                )
        return _csv(pd.DataFrame(rows))

    # -- national reference ----------------------------------------------------------------------
    def national_reference(self, data: SnapshotData) -> NationalReference:
        """Population-weighted national mean APL of the DREES workbook recorded in the snapshot's sources."""
        return data.cached(("national",), lambda: self._national_reference(data))

    def _national_reference(self, data: SnapshotData) -> NationalReference:
        refs = data.references
        national = refs[refs["scope"] == "national"]
        if national.empty:
            return NationalReference(
                None,
                None,
                "",
                "Référence nationale non disponible : l'instantané "
                "n'enregistre pas de classeur APL de la DREES.",
                pd.Series(dtype=float),
            )
        row = national.iloc[0]
        vintage = int(row["vintage"])
        communes = refs[refs["scope"] == "commune"]
        return NationalReference(
            float(row["apl"]),
            vintage,
            f"France entière, APL {vintage} publiée par la DREES, moyenne pondérée par la population "
            f"({format_fr(float(row['communes']), 0)} communes)",
            "",
            communes.set_index("code")["apl"].astype(float),
        )


def _priority_layer(
    frame: gpd.GeoDataFrame, spec: Measure, needs: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The bivariate priority map: a colour per access × need class, a 3 × 3 legend.

    ``needs``: the local catalogue of the level, for the need's French label."""
    out = frame.copy()
    keys = list(BIVARIATE_COLORS)
    cls = out["priority_class"].fillna("").astype(str)
    out["value"] = np.nan
    out["class"] = [keys.index(c) if c in BIVARIATE_COLORS else -1 for c in cls]
    out["color"] = [BIVARIATE_COLORS.get(c, MISSING_COLOR) for c in cls]
    counts = cls.value_counts()
    need = str(out["priority_need"].dropna().iloc[0]) if out["priority_need"].notna().any() else ""
    legend = {
        "measure": PRIORITY_MEASURE,
        "label": spec.label,
        "unit": spec.unit,
        "digits": 0,
        "method": "terciles",
        "method_label": "terciles des unités du territoire",
        "bounds": [],
        "classes": [
            {
                "index": i,
                "lower": None,
                "upper": None,
                "label": f"{key} : accès {key[1]}/3 (1 = APL la plus faible), "
                f"besoin {key[4]}/3 (3 = le plus fort)",
                "color": BIVARIATE_COLORS[key],
                "count": int(counts.get(key, 0)),
            }
            for i, key in enumerate(keys)
        ],
        "missing": {
            "label": "non classé (besoin inconnu : secret INSEE, unité regroupée ou sans APL)",
            "color": MISSING_COLOR,
            "count": int((out["class"] < 0).sum()),
        },
        "bivariate": {
            "rows": [[f"A{a}-B{b}" for b in (1, 2, 3)] for a in (3, 2, 1)],  # best access on top
            "x_label": f"besoin : {needs.at[need, 'label'] if need in needs.index else need} →",
            "y_label": "accès (APL) ↑",
            "need": need,
            "note": PRIORITY_NOTE,
        },
    }
    return out, legend


def _describe(meta: dict[str, Any]) -> str:
    """One French line on how a snapshot was built (APL vintage, travel times, demand, activities)."""
    parts = []
    if meta.get("apl_vintage"):
        parts.append(f"paramètres APL DREES {meta['apl_vintage']}")
    if meta.get("cost_source"):
        parts.append(label_of(CostSourceCode, meta["cost_source"]))
    if meta.get("demand_method"):
        parts.append(label_of(DemandMethod, meta["demand_method"]))
    if meta.get("consultations_per_gp"):
        parts.append(
            f"{format_fr(float(meta['consultations_per_gp']), 0)} consultations par médecin et par an"
        )
    precision = meta.get("precision") or {}
    if meta.get("activities"):
        detail = ", ".join(
            f"{label_of(Precision, k)} : {format_fr(float(v), 0)}" for k, v in precision.items()
        )
        parts.append(f"{format_fr(float(meta['activities']), 0)} activités localisées ({detail})")
    return " ; ".join(parts)


def _csv(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV, comma separated, point as decimal separator (like the CLI exports)."""
    text: str = table.to_csv(index=False)
    return text.encode("utf-8")


def source_vintages(files: pd.DataFrame, meta: dict[str, Any]) -> list[dict[str, str]]:
    """The vintage of every source of a snapshot, for the page header and page 1 of the PDFs.

    The year is the one the file name carries (« rpps_2017_… », « filosofi2021_… »); the DREES
    workbook holds several years, the snapshot's APL parameters say which one was used.
    """
    out = []
    for name, group in files.groupby("name", sort=False):
        spec = CATALOG.get(str(name))
        label = (
            spec.label.split(" – ")[0]
            if spec
            else LOCAL_SOURCES.get(str(name)) or label_of(SourceName, name, default=str(name))
        )
        years = sorted({m.group(1) for f in group["file"].astype(str) if (m := _YEAR.search(f))})
        if name == "apl_drees" and meta.get("apl_vintage"):
            years = [str(meta["apl_vintage"])]
        if str(name) in LOCAL_SOURCES:
            years = years or ["fichier local"]
        out.append({"source": str(name), "label": label, "vintage": ", ".join(years) or "millésime inconnu"})
    out.append({"source": "communes", "label": "Population communale INSEE", "vintage": str(POPULATION_YEAR)})
    return out


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


def _nearest_m(units: pd.DataFrame, sites: gpd.GeoDataFrame) -> np.ndarray:
    """Crow-fly metres from each unit's label point to the nearest practice site (NaN without sites)."""
    out = np.full(len(units), np.nan)
    has = units["label_lon"].notna().to_numpy()
    if sites.empty or not has.any():
        return out
    lon, lat = units["label_lon"].to_numpy()[has], units["label_lat"].to_numpy()[has]
    slon, slat = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    best = np.full(len(lon), np.inf)
    for start in range(0, len(slon), 256):  # bounded memory: units × 256 sites at a time
        chunk = slice(start, start + 256)
        d = haversine_m(lon[:, None], lat[:, None], slon[None, chunk], slat[None, chunk])
        best = np.minimum(best, d.min(axis=1))
    out[has] = best
    return out


def feature_collection(frame: gpd.GeoDataFrame, *, extra: dict[str, Any]) -> bytes:
    """GeoJSON bytes of ``frame`` (NaN as null), with foreign members ``extra``."""
    geoms = shapely.to_geojson(frame.geometry.to_numpy())
    props = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    records = json.loads(props.to_json(orient="records", double_precision=6))
    parts = [
        f'{{"type":"Feature","geometry":{g if g is not None else "null"},"properties":{json.dumps(p)}}}'
        for g, p in zip(geoms, records, strict=True)
    ]
    head = json.dumps({"type": "FeatureCollection", **extra})[:-1]
    return (head + ',"features":[' + ",".join(parts) + "]}").encode("utf-8")
