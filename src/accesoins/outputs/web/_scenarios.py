"""What-ifs of the web observatory: the request body, one cached engine per snapshot, the delta map.

Reads a validated scenario (new site, new residents, departure of a commune's
GPs) and the snapshot's cached units; returns the engine's French summary and
a GeoJSON of the APL change per unit (after − before) with a diverging legend.
Loading an engine takes about half a second, so it is done once per snapshot;
a what-if then only recomputes the units within reach of the changes, on a
pool of worker threads of its own (concurrent what-ifs share the engine). When
:data:`MAX_WAITING` what-ifs are already waiting or running, the next one is
answered at once with a 503 and ``Retry-After`` instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from accesoins.errors import ConfigurationError
from accesoins.http_problems import ProblemError, not_found
from accesoins.outputs._disclosure import ScenarioGate, scenario_gate
from accesoins.outputs.web._classes import format_fr
from accesoins.outputs.web._service import LEVELS, MISSING_COLOR, ObservatoryService, SnapshotData
from accesoins.parameters import load_retirement_parameters
from accesoins.scenarios import (
    AddPopulation,
    AddSite,
    Change,
    Remove,
    Retirements,
    Scenario,
    ScenarioEngine,
    level_summary,
)

log = logging.getLogger(__name__)

UNCHANGED_EPS = 1e-9  # |delta| at or below this is "inchangée" (as in ScenarioResult.summary)
# Diverging palette (ColorBrewer RdBu, 7 classes, readable by colour-blind users): losses red, gains blue.
_LOSSES = ["#b2182b", "#ef8a62", "#fddbc7"]  # strong → weak
_UNCHANGED = "#f7f7f7"
_GAINS = ["#d1e5f0", "#67a9cf", "#2166ac"]  # weak → strong
_STEPS = (0.0, 0.25, 0.5, 1.0)  # class bounds as fractions of the largest |delta|
MAX_WAITING = 64  # what-ifs waiting or running at once (a few ms each: well under a second of work)
RETRY_AFTER_S = 2  # seconds a client is asked to wait when the what-ifs are saturated
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps's output, without a new encoder per call
_FIGURES = ("apl_before", "apl_after", "delta")  # what changes from one what-if to the next


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteCreate(_Strict):
    """Une maison de santé (ou tout lieu d'exercice) ajoutée en un point, avec ses généralistes."""

    nom: str = Field(default="Maison de santé", min_length=1, max_length=80)
    lon: float = Field(ge=-180, le=180, description="Longitude WGS84 en degrés.")
    lat: float = Field(ge=-90, le=90, description="Latitude WGS84 en degrés.")
    generalistes: float = Field(default=4, gt=0, le=200, description="ETP de médecins généralistes.")


class PopulationCreate(_Strict):
    """Des habitants nouveaux (programme de logements) en un point."""

    nom: str = Field(default="Logements", min_length=1, max_length=80)
    lon: float = Field(ge=-180, le=180, description="Longitude WGS84 en degrés.")
    lat: float = Field(ge=-90, le=90, description="Latitude WGS84 en degrés.")
    logements: int = Field(gt=0, le=100_000)
    personnes_par_logement: float = Field(default=2.1, gt=0, le=10)


class RemoveCreate(_Strict):
    """Départ de tous les médecins généralistes d'une commune."""

    commune: str = Field(pattern=r"^[0-9][0-9AB][0-9]{3}$", description="Code INSEE de la commune.")


class RetirementsCreate(_Strict):
    """Départs en retraite d'ici un horizon, lus dans la table des départs de l'instantané (fichier local)."""

    horizon_annees: int = Field(
        default_factory=lambda: load_retirement_parameters().horizon_years,
        ge=1,
        le=30,
        description="Horizon en années après l'année de l'instantané (défaut : 5).",
    )
    age: int = Field(
        default_factory=lambda: load_retirement_parameters().retirement_age,
        ge=50,
        le=90,
        description="Âge de départ en retraite (défaut : 67 ans).",
    )


class ChangeCreate(_Strict):
    """Un changement, écrit comme dans un fichier de scénario : exactement une clé."""

    ajouter_site: SiteCreate | None = None
    ajouter_population: PopulationCreate | None = None
    retirer: RemoveCreate | None = None
    retraites: RetirementsCreate | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ChangeCreate:
        given = (self.ajouter_site, self.ajouter_population, self.retirer, self.retraites)
        if sum(v is not None for v in given) != 1:
            raise ValueError(
                "chaque changement a exactement une clé : ajouter_site, ajouter_population, retirer "
                "ou retraites"
            )
        return self


class ScenarioCreate(_Strict):
    """Une simulation : instantané (dernier par défaut), niveau de la carte des écarts, changements."""

    snapshot: str | None = Field(
        default=None,
        max_length=80,
        description="Instantané : identifiant, « latest » (défaut) ou « previous ».",
    )
    level: Literal["commune", "iris", "carreau"] = Field(
        default="commune", description="Niveau de la carte des écarts : commune (défaut), iris ou carreau."
    )
    nom: str = Field(default="Simulation", min_length=1, max_length=80)
    changements: list[ChangeCreate] = Field(min_length=1, max_length=20)

    def to_scenario(self, snapshot_id: str, reference_year: int | None = None) -> Scenario:
        """The engine's scenario for these changes (a French ConfigurationError when they contradict).

        Retirement horizons count in years from ``reference_year`` (the snapshot's year).
        """
        changes: list[Change] = []
        for c in self.changements:
            if c.ajouter_site is not None:
                changes.append(Change(ajouter_site=AddSite(**c.ajouter_site.model_dump())))
            elif c.ajouter_population is not None:
                changes.append(Change(ajouter_population=AddPopulation(**c.ajouter_population.model_dump())))
            elif c.retirer is not None:
                changes.append(Change(retirer=Remove(commune=c.retirer.commune)))
            elif c.retraites is not None:
                if reference_year is None:
                    raise ConfigurationError(
                        "année de l'instantané inconnue : départs impossibles à projeter"
                    )
                horizon = reference_year + c.retraites.horizon_annees
                changes.append(Change(retraites=Retirements(horizon=horizon, age=c.retraites.age)))
        try:
            return Scenario(nom=self.nom, instantane=snapshot_id, changements=changes)
        except ValidationError as exc:  # e.g. two new sites with one name
            raise ConfigurationError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from exc


def delta_legend(delta: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Diverging classes of APL changes, symmetric around zero, and their French legend.

    Class 0 is « inchangée » (|delta| ≤ 1e-9); bounds are ¼, ½ and all of the largest |delta|,
    on both sides. Returns the colour of each unit (grey when the delta is missing) and the legend.

    Examples
    --------
    >>> colors, legend = delta_legend(np.array([0.0, 0.02, 0.1, -0.04, np.nan]))
    >>> colors.tolist()
    ['#f7f7f7', '#d1e5f0', '#2166ac', '#ef8a62', '#bdbdbd']
    >>> [c["label"] for c in legend["classes"]][3:]
    ['inchangée', 'hausse de 0,000 à 0,025', 'hausse de 0,025 à 0,050', 'hausse de 0,050 à 0,100']
    """
    delta = np.asarray(delta, dtype=float)
    finite = np.isfinite(delta)
    changed = finite & (np.abs(delta) > UNCHANGED_EPS)
    top = float(np.abs(delta[changed]).max()) if changed.any() else 0.0
    digits = 2 if top == 0 else max(2, int(np.ceil(-np.log10(top / 4))) + 1)  # 2 significant digits
    bounds = [s * top for s in _STEPS]
    magnitude = np.digitize(np.abs(np.where(changed, delta, 0.0)), bounds[1:-1], right=True)  # 0..2
    colors = np.full(len(delta), MISSING_COLOR, dtype=object)
    colors[finite & ~changed] = _UNCHANGED
    gains, losses = changed & (delta > 0), changed & (delta < 0)
    colors[gains] = np.array(_GAINS, dtype=object)[magnitude[gains]]
    colors[losses] = np.array(_LOSSES[::-1], dtype=object)[magnitude[losses]]

    def label(sense: str, i: int) -> str:
        return f"{sense} de {format_fr(bounds[i], digits)} à {format_fr(bounds[i + 1], digits)}"

    rows = [(label("baisse", i), _LOSSES[::-1][i], int((losses & (magnitude == i)).sum())) for i in (2, 1, 0)]
    rows.append(("inchangée", _UNCHANGED, int((finite & ~changed).sum())))
    rows += [(label("hausse", i), _GAINS[i], int((gains & (magnitude == i)).sum())) for i in (0, 1, 2)]
    legend = {
        "measure": "apl_delta",
        "label": "Écart d'APL (après − avant)",
        "unit": "consultations par habitant et par an",
        "max_abs": top,
        "classes": [{"label": lab, "color": col, "count": n} for lab, col, n in rows],
        "missing": {
            "label": "non renseigné (population nulle ou APL non calculée)",
            "color": MISSING_COLOR,
            "count": int((~finite).sum()),
        },
    }
    return colors, legend


class ScenarioService:
    """What-ifs over the observatory's snapshots, one :class:`ScenarioEngine` cached per snapshot.

    An engine only reads its arrays during a run (each run copies what it changes), so runs share it
    without a lock. They run in their own pool of worker threads, as many as processors: a burst of
    what-ifs waits there, in order, without holding the threads that serve the map and the fiches;
    beyond ``max_waiting`` what-ifs in the service, the next is refused (503, ``Retry-After``).
    """

    def __init__(self, observatory: ObservatoryService, *, max_waiting: int = MAX_WAITING) -> None:
        self.observatory = observatory
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._engines: dict[str, ScenarioEngine] = {}
        self._executor: ThreadPoolExecutor | None = None  # started on the first what-if
        self._waiting = 0  # what-ifs admitted and not finished (read and changed on the event loop only)
        self._layouts: dict[str, _Layouts] = {}  # by snapshot: its what-if tables through the gate

    def engine(self, snapshot_id: str) -> ScenarioEngine:
        """The snapshot's engine (loaded once, then shared by concurrent runs)."""
        with self._lock:
            if snapshot_id in self._engines:
                return self._engines[snapshot_id]
        with self._load_lock:
            with self._lock:
                if snapshot_id in self._engines:
                    return self._engines[snapshot_id]
            log.info("chargement du moteur de scénarios de l'instantané %s", snapshot_id)
            obs = self.observatory
            try:
                with obs._store_lock, obs._open() as store:
                    engine = ScenarioEngine.from_store(store, snapshot_id)
            except ConfigurationError as exc:
                raise ProblemError(422, "Scénarios indisponibles", str(exc)) from exc
            with self._lock:
                self._engines[snapshot_id] = engine
            return engine

    async def simulate_in_pool(self, request: ScenarioCreate) -> bytes:
        """:meth:`simulate` on the what-if worker threads (the event loop and read threads stay free).

        Refused with a 503 problem and ``Retry-After`` when ``max_waiting`` what-ifs are already in.
        """
        if self._waiting >= self.max_waiting:
            raise ProblemError(
                503,
                "Simulations saturées",
                f"{self._waiting} simulations sont déjà en cours ou en attente : rien n'a été calculé, "
                f"réessayez dans {RETRY_AFTER_S} secondes.",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool(), self.simulate, request)
        finally:
            self._waiting -= 1

    def _pool(self) -> ThreadPoolExecutor:
        """The what-if threads, as many as processors, kept for the service's life.

        Threads that last keep what each of them builds once (a coordinate transformer costs several
        milliseconds per new thread), which a pool of short-lived threads would rebuild again and again.
        """
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="whatif")
            return self._executor

    def close(self) -> None:
        """Stop the what-if threads (the server stops); a later what-if starts new ones."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def simulate(self, request: ScenarioCreate) -> bytes:
        """GeoJSON of the APL change per unit of ``request.level``, with summary and legend members.

        Every figure leaves through the public gate: each level of the engine's table is gated by its
        :class:`ScenarioGate` (laid out once per snapshot), the summary is read from the gated rows.
        """
        data = self.observatory.snapshot(request.snapshot)
        engine = self.engine(data.snapshot_id)
        self._check_communes(data, request)
        try:
            result = engine.run(request.to_scenario(data.snapshot_id, engine.reference_year))
        except ConfigurationError as exc:  # point outside the territory, unknown site...
            raise ProblemError(422, "Scénario impossible", str(exc)) from exc
        maps = self._maps(data, result.table)
        if request.level not in maps:
            raise not_found("Niveau", request.level, list(maps), where="dans les résultats du scénario")
        table = {c: result.table[c].to_numpy(dtype=np.float64) for c in _FIGURES}
        figures = {
            level: m.gate.figures({c: v[m.positions] for c, v in table.items()}) for level, m in maps.items()
        }
        summary = list(result.messages)
        for level, m in maps.items():
            f = figures[level]
            summary.append(level_summary(level, m.population, f["apl_before"], f["apl_after"], f["delta"]))
        extra = {
            "snapshot_id": data.snapshot_id,
            "level": request.level,
            "level_label": LEVELS[request.level],
            "nom": request.nom,
            "summary": [_french_numbers(line) for line in summary],
            "touched_units": result.touched_units,
            "points": [p for p in (_point(c) for c in request.changements) if p is not None],
        }
        return maps[request.level].collection(figures[request.level], extra)

    def _maps(self, data: SnapshotData, table: pd.DataFrame) -> dict[str, _DeltaMap]:
        """Each level's :class:`_DeltaMap` for the rows of ``table`` (laid out again if they changed)."""
        ids = table["unit_id"].astype(str).to_numpy(dtype=object)
        population = pd.to_numeric(table["population"], errors="coerce").to_numpy(dtype=np.float64)
        with self._lock:
            known = self._layouts.get(data.snapshot_id)
        if known is not None and known.matches(ids, population):
            return known.maps
        layout = _Layouts(ids, population, _delta_maps(data, table))
        with self._lock:
            self._layouts[data.snapshot_id] = layout
        return layout.maps

    @staticmethod
    def _check_communes(data: SnapshotData, request: ScenarioCreate) -> None:
        communes = data.commune_departement
        for c in request.changements:
            if c.retirer is not None and c.retirer.commune not in communes:
                raise ProblemError(
                    422,
                    "Commune inconnue",
                    f"la commune « {c.retirer.commune} » n'est pas dans l'instantané {data.snapshot_id} "
                    f"(territoire {data.territory}) : donnez le code INSEE d'une de ses communes.",
                )


def _json_value(value: object) -> str:
    """``value`` as ``json.dumps(..., ensure_ascii=False)`` writes it, without an encoder call per value.

    Examples
    --------
    >>> [_json_value(v) for v in (None, "Talence « sud »", 4.5128829835, 3, True)]
    ['null', '"Talence « sud »"', '4.5128829835', '3', 'true']
    """
    if value is None:
        return "null"
    if type(value) is str:
        return str(encode_basestring(value))
    if type(value) is float:
        return float.__repr__(value)
    if type(value) is int:  # not bool: json writes true/false
        return int.__repr__(value)
    return _ENCODER.encode(value)


@dataclass(frozen=True, eq=False)
class _DeltaMap:
    """One level of a snapshot's what-if tables, through the public gate once.

    The units, names and residents of the engine's table are the same at every what-if: the gate lays
    them out once (:class:`ScenarioGate`), each feature's constant text (geometry, identifier, name,
    residents) is written once, and a what-if only gates and writes its three APL figures.
    """

    positions: np.ndarray  # rows of this level in the engine's table
    gate: ScenarioGate
    population: np.ndarray  # residents of each gated row (NaN when masked)
    heads: list[str]  # each gated feature's text up to its figures
    bounds: np.ndarray  # west, south, east, north of each gated row (NaN without geometry)

    def collection(self, figures: dict[str, np.ndarray], extra: dict[str, Any]) -> bytes:
        """The delta map's GeoJSON: ``extra`` members, legend, changed units' extent, one feature per row."""
        delta = figures["delta"]
        colors, legend = delta_legend(delta)
        changed = np.abs(delta) > UNCHANGED_EPS
        head = {"type": "FeatureCollection", **extra, "legend": legend, "changed_bbox": self._bbox(changed)}
        columns = [_json_numbers(figures[c]) for c in _FIGURES]
        features = [
            f'{h}{b}, "apl_after": {a}, "delta": {d}, "color": "{c}"}}}}'
            for h, b, a, d, c in zip(self.heads, *columns, colors.tolist(), strict=True)
        ]
        text = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[' + ",".join(features) + "]}"
        return text.encode("utf-8")

    def _bbox(self, changed: np.ndarray) -> list[float] | None:
        """[west, south, east, north] of the changed units (the map zooms there)."""
        boxes = self.bounds[changed]
        boxes = boxes[~np.isnan(boxes).any(axis=1)]
        if not len(boxes):
            return None
        west, south = boxes[:, 0].min(), boxes[:, 1].min()
        east, north = boxes[:, 2].max(), boxes[:, 3].max()
        return [round(float(v), 6) for v in (west, south, east, north)]


@dataclass(frozen=True, eq=False)
class _Layouts:
    """A snapshot's :class:`_DeltaMap` by level, and the rows of the engine's table they were made for."""

    ids: np.ndarray
    population: np.ndarray
    maps: dict[str, _DeltaMap]

    def matches(self, ids: np.ndarray, population: np.ndarray) -> bool:
        """Whether a table with these units and residents has the same layout."""
        return np.array_equal(ids, self.ids) and np.array_equal(population, self.population, equal_nan=True)


def _delta_maps(data: SnapshotData, table: pd.DataFrame) -> dict[str, _DeltaMap]:
    """Each level of a what-if's table through the gate, with its features' constant text.

    The gate gets the units' parents and standardised population too, so it forms the same groups as
    on the map.
    """
    maps = {}
    levels = table["level"].astype(str).to_numpy(dtype=object)
    for level in dict.fromkeys(levels):
        positions = np.flatnonzero(levels == level)
        rows = table.iloc[positions].reset_index(drop=True)
        keys = data.gate_keys.loc[level].reindex(pd.Index(rows["unit_id"].astype(str), dtype=object))
        framed = rows.assign(**{c: keys[c].to_numpy() for c in keys.columns})
        gate = scenario_gate(framed, level, data.gate)
        if gate is None:  # figures of another type than float: not a what-if table
            raise ProblemError(500, "Simulation impossible", f"table du niveau « {level} » inattendue")
        public = pd.DataFrame(gate.result)
        units = data.units.loc[level]
        ids = public["unit_id"].astype(str).to_numpy(dtype=object)
        shapes = units.geometry.reindex(pd.Index(ids, dtype=object)).to_numpy()
        texts = shapely.to_geojson(shapes)
        fixed = public[["unit_id", "name", "population"]].assign(unit_id=ids)
        rows_text = json.loads(fixed.to_json(orient="values", double_precision=10))
        names = [f"{_ENCODER.encode(c)}: " for c in ("unit_id", "name", "population")]
        heads = [
            f'{{"type":"Feature","geometry":{t if t is not None else "null"},"properties":{{'
            + ", ".join(n + _json_value(v) for n, v in zip(names, row, strict=True))
            + ', "apl_before": '
            for t, row in zip(texts, rows_text, strict=True)
        ]
        maps[level] = _DeltaMap(
            positions,
            gate,
            pd.to_numeric(public["population"], errors="coerce").to_numpy(dtype=np.float64),
            heads,
            shapely.bounds(shapes),
        )
    return maps


def _json_numbers(values: np.ndarray) -> list[str]:
    """Figures as the delta map writes them: 10 decimals at most, ``null`` when missing.

    Examples
    --------
    >>> _json_numbers(np.array([4.51288298351234, -1e-12, np.nan, 2.0]))
    ['4.5128829835', '-0.0', 'null', '2.0']
    """
    return ["null" if v != v else float.__repr__(v) for v in np.round(values, 10).tolist()]


def _point(change: ChangeCreate) -> dict[str, Any] | None:
    """A placed site or housing programme, for the marker on the delta map (None for a departure)."""
    if change.ajouter_site is not None:
        s = change.ajouter_site
        return {"kind": "site", "nom": s.nom, "lon": s.lon, "lat": s.lat, "generalistes": s.generalistes}
    if change.ajouter_population is not None:
        p = change.ajouter_population
        return {"kind": "population", "nom": p.nom, "lon": p.lon, "lat": p.lat, "logements": p.logements}
    return None


def _french_numbers(line: str) -> str:
    """Decimal comma in the engine's summary lines.

    Examples
    --------
    >>> _french_numbers("commune : APL moyenne 3.25 → 3.26")
    'commune : APL moyenne 3,25 → 3,26'
    """
    return re.sub(r"(?<=\d)\.(?=\d)", ",", line)
