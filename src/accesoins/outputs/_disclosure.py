"""The public gate: the only reader of people counts for what leaves the machine.

:func:`public_layer` takes a table of units (one row per unit, or per unit ×
profession) and returns it safe to publish: no unit shows a count of residents
from 1 to ``k - 1``. Every web route, download, scenario map, PDF fiche,
brochure, export and ``accesoins indicators`` goes through it.

Merge groups depend only on the geography, never on the territory or the
snapshot, so two public outputs cannot be differenced to find a small unit back:

- a 200 m cell of the INSEE grid (``CRS3035RES200mN{N}E{E}``) with fewer than
  ``k`` residents joins the other small cells of its 1 km parent square (floor
  of the coordinates); while that group is under ``k`` it climbs to the 2 km,
  4 km, 8 km then 16 km square. A square that the territory does not cover
  wholly would gather different cells in another territory, so its small cells
  are suppressed instead; so are those still under ``k`` at 16 km;
- an IRIS with fewer than ``k`` residents joins the other small IRIS of its
  commune (territories are made of whole communes), suppressed if still under ``k``;
- a commune (or any other unit) with fewer than ``k`` residents is suppressed:
  merging communes would depend on which of them the territory holds.

Groups follow the resident count (``population``) alone: it is the same in every
snapshot of the grid's vintage, whereas the age-standardised population depends
on the build's demand method. A derived count under ``k`` on a row that shows
``k`` residents or more (a standardised population of 9.6 for 11 residents) is
blanked with its density.

A merged group is one row, identified by its square (``CRS3035RES1000mN…E…``)
or ``{commune}_iris_regroupes``, with summed counts, densities recomputed on
the group and population-weighted APL (APL is per resident, so the group's
figure discloses no count). A suppressed unit keeps its practitioners
(headcounts are public, the national directory publishes them by address) but
loses every people count and every per-resident figure (densities, APL),
since a density with the public full-time equivalents gives the count back.

:func:`check_disclosure` scans a finished export (CSV, GeoPackage, GeoParquet)
and lists the violations: a resident or patient count in ``1..k-1``, a density
that gives such a count back (full-time equivalents × 100 000 / density), a column holding
practitioners' names.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accesoins.errors import ConfigurationError, DataFileError
from accesoins.indicators import apl_class
from accesoins.parameters import load_retirement_parameters
from accesoins.settings import get_settings
from accesoins.store import Store

__all__ = [
    "GRID_STEPS_M",
    "PEOPLE_COLUMNS",
    "Gate",
    "ScenarioGate",
    "Violation",
    "check_disclosure",
    "check_frame",
    "disclosure_k",
    "public_layer",
    "public_sites",
    "scenario_gate",
    "senior_count",
    "snapshot_gate",
]

GRID_STEPS_M: tuple[int, ...] = (1000, 2000, 4000, 8000, 16000)
"""Sides of the nested INSEE grid squares a small 200 m cell climbs through, smallest first."""

PEOPLE_COLUMNS: tuple[str, ...] = (
    "population", "population_standardised", "habitants", "residents", "patients", "n_patients",
    "beneficiaires", "nb_patients", "nb_habitants", "menages", "individus",
)  # fmt: skip
"""Columns that count people (residents, patients): never shown in ``1..k-1``."""

_PEOPLE_PATTERN = re.compile(
    r"^(?:pop|population|habitants?|residents?|patients?|n_patients|nb_patients|"
    r"nb_habitants|beneficiaires?|menages|individus)(?:_.*)?$"
)
_NAME_COLUMNS = frozenset({
    "nom", "prenom", "prenoms", "nom_exercice", "prenom_exercice", "nom_d_exercice", "prenom_d_exercice",
    "first_name", "last_name", "family_name", "given_name", "surname", "practitioner_name", "nom_praticien",
    "prenom_praticien", "nom_medecin", "nom_professionnel", "full_name", "nom_complet",
})  # fmt: skip
_RATES = (
    ("density_per_100k", "etp", "population"),  # densities are full-time equivalents per 100 000
    ("std_density_per_100k", "etp", "population_standardised"),
)
_SUMMED = ("headcount", "etp", "n_commune", "n_etablissement", "n_iris")
_WEIGHTED = ("apl", "apl_before", "apl_after")  # per-resident figures: population-weighted mean of a group
_ZONE_COMPARISON = (  # inside / rest of commune (zone_comparison): per-resident, blanked with the zone
    "density_in", "density_rest", "density_ratio", "ratio_low", "ratio_high", "std_density_ratio",
    "apl_in", "apl_rest", "apl_ratio", "density_rest_uu", "density_ratio_uu", "ratio_low_uu", "ratio_high_uu",
    "apl_rest_uu", "apl_ratio_uu",
)  # fmt: skip
_PER_RESIDENT = (
    *(r for r, _, _ in _RATES),
    *_WEIGHTED,
    "delta",
    "apl_class",
    "density_per_km2",
    *_ZONE_COMPARISON,
)
_CELL_ID = re.compile(r"^CRS3035RES200mN(\d+)E(\d+)$")
_EDGE_M = 5.0  # a square must lie this far inside the territory (geometries are rounded to about 1 m)
GATE_COLUMNS = ("unites_fusionnees", "secret")
_VARYING = ("apl_before", "apl_after", "delta")  # what changes from one what-if's table to the next
_REPLAYS = 16  # scenario table layouts a gate keeps (a few levels per snapshot)


def _normalise(name: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_.lower()).strip("_")


def _is_people_column(name: str) -> bool:
    return bool(_PEOPLE_PATTERN.match(_normalise(name))) and "density" not in name and "densite" not in name


@dataclass(frozen=True)
class Violation:
    """One breach of the disclosure rules found in an export."""

    layer: str
    column: str
    rows: int
    message: str

    def __str__(self) -> str:
        where = f"couche « {self.layer} », " if self.layer else ""
        return f"{where}colonne « {self.column} » : {self.message}"


# -- the gate ----------------------------------------------------------------------------------------


def disclosure_k(parameters: Mapping[str, Any]) -> int:
    """Threshold of a snapshot: the ``disclosure_k`` recorded at build, else the settings' one."""
    recorded = parameters.get("disclosure_k")
    return int(recorded) if recorded is not None else get_settings().disclosure_k


@dataclass(frozen=True, eq=False)
class Gate:
    """What the disclosure control of one snapshot needs: the threshold and the territory's communes.

    ``communes`` (geometries in any CRS) tells which grid squares lie wholly
    inside the territory: only those may publish a merged group of cells.
    """

    k: int
    communes: gpd.GeoSeries
    _outlines: dict[tuple[float, ...], Any] = field(default_factory=dict, repr=False)
    _plans: dict[tuple[str, int], tuple[pd.Series, list[str]]] = field(default_factory=dict, repr=False)
    _replays: dict[tuple[Any, ...], ScenarioGate] = field(default_factory=dict, repr=False)
    _replays_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigurationError(f"seuil de secret k = {self.k} invalide : indiquez un entier ≥ 1")

    def inside(self, squares: np.ndarray) -> np.ndarray:
        """Whether each square (EPSG:3035 polygons) lies wholly inside the territory."""
        if squares.size == 0 or self.communes.empty:
            return np.zeros(squares.size, dtype=bool)
        bounds = tuple(float(v) for v in shapely.total_bounds(squares))
        if bounds not in self._outlines:
            communes = self.communes.to_crs(3035)
            near = communes[communes.intersects(shapely.box(*bounds))]
            self._outlines[bounds] = shapely.union_all(near.to_numpy())
        outline = self._outlines[bounds]
        return np.asarray(shapely.contains(outline, shapely.buffer(squares, _EDGE_M, join_style="mitre")))


def snapshot_gate(store: Store, snapshot_id: str) -> Gate:
    """The gate of a snapshot: its recorded ``k`` and its communes."""
    communes = store.geotable("units", snapshot_id, where="level = ?", args=["commune"])
    return Gate(disclosure_k(store.metadata(snapshot_id)), communes.geometry)


def public_layer(frame: pd.DataFrame, level: str, gate: Gate) -> gpd.GeoDataFrame:
    """``frame`` safe to publish: units under ``k`` residents merged in their fixed group, or suppressed.

    ``frame`` has ``unit_id`` and one row per unit (or per unit × profession),
    with its people counts, optionally ``geometry``, ``name``, ``parent_id``
    (the commune of an IRIS) and per-resident figures (densities, ``apl``,
    ``apl_before``/``apl_after``/``delta`` of a scenario). The result has the
    same columns plus ``unites_fusionnees`` (members of a merged group) and
    ``secret`` (``fusion``, ``masque`` or empty); see the module docstring for
    the groups.

    A scenario's table (``apl_before``, ``apl_after``, ``delta`` on otherwise the same units at
    every what-if) is gated once; the next what-ifs replay that layout on their own figures
    (:class:`ScenarioGate`), which gives the same result as gating them afresh.
    """
    replay = scenario_gate(frame, level, gate)
    return _gated(frame, level, gate)[0] if replay is None else replay.apply(frame)


def scenario_gate(frame: pd.DataFrame, level: str, gate: Gate) -> ScenarioGate | None:
    """The gate of a scenario's table of one level, laid out once for the figures of every what-if.

    ``frame`` is as for :func:`public_layer`, with float ``apl_before``, ``apl_after`` and/or
    ``delta`` (None when it has none of them). Its other columns are compared with the layout the
    gate remembers for that level: an equal table reuses it, another one is laid out afresh.
    """
    varying = [c for c in _VARYING if c in frame.columns]
    if not varying or any(frame[c].dtype != np.float64 for c in varying):
        return None
    fixed = pd.DataFrame(frame).drop(columns=varying).reset_index(drop=True)
    key = (level, tuple(frame.columns), len(frame))
    replay = gate._replays.get(key)
    if replay is None or not replay.inputs.equals(fixed):
        result, layout = _gated(frame, level, gate)
        if any(result[c].dtype != np.float64 for c in varying):
            return None
        replay = ScenarioGate(fixed, result, layout, varying)
        with gate._replays_lock:  # what-ifs run on several threads
            if len(gate._replays) >= _REPLAYS:
                gate._replays.pop(next(iter(gate._replays)))
            gate._replays[key] = replay
    return replay


@dataclass(frozen=True)
class _Layout:
    """Where each row of a gated table comes from: input positions of the plain rows, of the masked
    rows, then of the members of each merged group (in the order of the result's rows)."""

    plain: np.ndarray
    hidden: np.ndarray
    groups: list[np.ndarray]


@dataclass(frozen=True, eq=False)
class ScenarioGate:
    """A gated scenario table whose figures ``varying`` can be swapped for another what-if's.

    The groups and masks depend on the units and their residents only, never on the APL: the plain
    rows take the new figures as they are, masked rows stay blank and a merged group recomputes its
    population-weighted means (:func:`_weighted_means`, as a fresh gate) and its ``delta``.
    """

    inputs: pd.DataFrame  # the table without ``varying``: the gate applies to this table only
    result: gpd.GeoDataFrame  # the gated table (its ``varying`` columns are those of the first what-if)
    layout: _Layout
    varying: list[str]

    @cached_property
    def _weights(self) -> np.ndarray | None:
        if "population" not in self.inputs.columns:
            return None
        return np.asarray(pd.to_numeric(self.inputs["population"], errors="coerce").fillna(0).to_numpy())

    def figures(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Gated ``varying`` figures (one per row of :attr:`result`) from one per input row."""
        plain, groups = self.layout.plain, self.layout.groups
        start = len(plain) + len(self.layout.hidden)
        pop = self._weights
        merged = {
            c: np.array([values[c][rows[0]] for rows in groups], dtype=np.float64) for c in self.varying
        }
        if pop is not None:
            for col in (c for c in _WEIGHTED if c in merged):
                merged[col] = _weighted_means(values[col], pop, groups)
        if "delta" in merged and "apl_before" in merged and "apl_after" in merged:
            merged["delta"] = merged["apl_after"] - merged["apl_before"]
        out = {}
        for col in self.varying:
            column = np.full(len(self.result), np.nan)
            column[: len(plain)] = values[col][plain]
            column[start:] = merged[col]
            out[col] = column
        return out

    def apply(self, frame: pd.DataFrame) -> gpd.GeoDataFrame:
        """The gated ``frame`` (equal to ``inputs`` outside ``varying``)."""
        figures = self.figures({c: frame[c].to_numpy() for c in self.varying})
        out = self.result.copy()
        for col, column in figures.items():
            out[col] = column
        return out


def _weighted_means(values: np.ndarray, weights: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Each group's mean of ``values`` weighted by ``weights``, over its members with a value and a
    positive weight (NaN when none), for every group in one pass.

    Gating a table afresh and replaying a what-if's figures both compute their group means here,
    so they agree bit for bit (``np.average`` on each group may differ in the last bit).
    """
    out = np.full(len(groups), np.nan)
    if not groups:
        return out
    members = np.concatenate(groups)
    group = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    ok = ~np.isnan(values[members]) & (weights[members] > 0)
    members, group = members[ok], group[ok]
    counts = np.bincount(group, minlength=len(groups))
    has = counts > 0
    starts = (np.cumsum(counts) - counts)[has]
    v, w = values[members], weights[members]
    out[has] = np.add.reduceat(np.multiply(v, w), starts) / np.add.reduceat(w, starts)
    return out


def _gated(frame: pd.DataFrame, level: str, gate: Gate) -> tuple[gpd.GeoDataFrame, _Layout]:
    """:func:`public_layer` computed afresh, with where each of its rows comes from."""
    out = pd.DataFrame(frame).copy()
    out["unit_id"] = out["unit_id"].astype(str)
    people = [c for c in out.columns if c != "geometry" and _is_people_column(str(c))]
    units = out.drop_duplicates("unit_id").set_index("unit_id")
    residents = ["population"] if "population" in people else people  # the same in every snapshot
    counts = units[residents].apply(pd.to_numeric, errors="coerce")
    small = _small(counts.min(axis=1), gate.k) if people else pd.Series(False, index=units.index)
    parents = units["parent_id"].astype(str) if "parent_id" in units.columns else None
    groups, masked = _plan(counts[small.to_numpy()], level, parents, gate)
    ids = out["unit_id"].to_numpy(dtype=object)
    grouped, hide = _member_of(ids, groups.index), _member_of(ids, masked)
    plain = out[~grouped & ~hide]
    hidden = out[hide].copy()
    for col in (*people, *_PER_RESIDENT):
        if col in hidden.columns:
            hidden[col] = np.nan if col != "apl_class" else ""
    pieces = [
        plain.assign(unites_fusionnees="", secret=""),
        hidden.assign(unites_fusionnees="", secret="masque"),
    ]
    members = out[grouped]
    positions: list[np.ndarray] = []
    if not members.empty:
        keys = [members["unit_id"].map(groups)]
        if "profession" in members.columns:
            keys.append(members["profession"])
        records, positions = _merge_groups(members, people, keys)
        pieces.append(pd.DataFrame(records))
        positions = [np.flatnonzero(grouped)[rows] for rows in positions]
    result = pd.concat([p for p in pieces if not p.empty] or [pieces[0]], ignore_index=True)
    result = _blank_derived_counts(result[[*out.columns, *GATE_COLUMNS]], people, gate.k)
    layout = _Layout(np.flatnonzero(~grouped & ~hide), np.flatnonzero(hide), positions)
    if "geometry" in result.columns:
        return gpd.GeoDataFrame(result, geometry="geometry", crs=getattr(frame, "crs", None)), layout
    return gpd.GeoDataFrame(result), layout


def senior_count(practitioners: int, seniors: int) -> tuple[int | None, str]:
    """The practitioners aged 60 and over of a unit and profession, as they may be published.

    Ages come from a local file (personal data): an exact count would tell a reader the age of a
    practitioner they know. With ``min_practitioners`` and ``min_cell`` of ``retirements.yaml``:

    - fewer than ``min_practitioners`` practitioners in the unit: nothing is published;
    - fewer than ``min_cell`` aged 60 and over (0 included): « moins de 3 »;
    - fewer than ``min_cell`` under 60 (or of unknown age): « au moins N − 2 » (N − ``min_cell`` + 1);
    - otherwise the exact count.

    Returns the exact count when it is published (else None) and the French text.

    Examples
    --------
    >>> senior_count(40, 12), senior_count(40, 1), senior_count(40, 39), senior_count(4, 2)
    ((12, '12'), (None, 'moins de 3'), (None, 'au moins 38'), (None, 'non diffusé (moins de 5 praticiens)'))
    """
    rule = load_retirement_parameters()
    if practitioners < rule.min_practitioners:
        return None, f"non diffusé (moins de {rule.min_practitioners} praticiens)"
    if seniors < rule.min_cell:
        return None, f"moins de {rule.min_cell}"
    if practitioners - seniors < rule.min_cell:
        return None, f"au moins {practitioners - rule.min_cell + 1}"
    return seniors, str(seniors)


def public_sites(sites: gpd.GeoDataFrame, communes: pd.DataFrame) -> gpd.GeoDataFrame:
    """Practice sites safe to publish, given the gated commune layer (:func:`public_layer` output).

    A site carries its commune's population density (``density_per_km2``); with the commune's
    public area it gives the population back, so it is blanked where the gate masked the commune.
    """
    out = sites.copy()
    masked = communes.loc[communes["secret"] == "masque", "unit_id"].astype(str)
    if "density_per_km2" in out.columns and "commune_code" in out.columns:
        out.loc[out["commune_code"].astype(str).isin(masked).to_numpy(), "density_per_km2"] = np.nan
    return out


def _blank_derived_counts(frame: pd.DataFrame, people: list[str], k: int) -> pd.DataFrame:
    """Blank a derived count (age-standardised population…) under ``k`` where residents are ``k`` or more.

    Groups follow the resident count alone, which is the same in every snapshot of a vintage (the
    standardised population depends on the build's demand method): grouping on it would let two
    snapshots form different groups.
    """
    for col in people:
        values = pd.to_numeric(frame[col], errors="coerce")
        low = ((values > 0) & (values < k)).to_numpy()
        if col == "population" or not low.any():
            continue
        frame.loc[low, col] = np.nan
        for rate, _, den in _RATES:
            if den == col and rate in frame.columns:
                frame.loc[low, rate] = np.nan
    return frame


def _small(people: pd.Series, k: int) -> pd.Series:
    pop = people.fillna(0)
    return (pop > 0) & (pop < k)


def _plan(
    counts: pd.DataFrame, level: str, parents: pd.Series | None, gate: Gate
) -> tuple[pd.Series, list[str]]:
    """:func:`_groups`, remembered by the gate: the small units of a snapshot are the same for every
    layer and every what-if (only their per-resident figures change), so the groups are formed once."""
    key = (
        level,
        hash(
            (
                tuple(counts.index),
                tuple(counts.fillna(-1.0).to_numpy().ravel()),
                None if parents is None else tuple(parents.reindex(counts.index).astype(str)),
            )
        ),
    )
    if key not in gate._plans:
        gate._plans[key] = _groups(counts, level, parents, gate)
    return gate._plans[key]


def _groups(
    counts: pd.DataFrame, level: str, parents: pd.Series | None, gate: Gate
) -> tuple[pd.Series, list[str]]:
    """Group id of each small unit that can be merged, and the small units to suppress."""
    if counts.empty:
        return pd.Series(dtype=object), []
    if level == "carreau":
        return _grid_groups(counts, gate)
    if level == "iris" and parents is not None:
        keys = parents.reindex(counts.index) + "_iris_regroupes"
        total = counts.groupby(keys.to_numpy()).sum(min_count=1).min(axis=1)
        ok = keys.map(total) >= gate.k
        return keys[ok], list(keys.index[~ok])
    return pd.Series(dtype=object), list(counts.index)


def _grid_groups(counts: pd.DataFrame, gate: Gate) -> tuple[pd.Series, list[str]]:
    """Small 200 m cells merged in the smallest whole square of :data:`GRID_STEPS_M` reaching ``k``."""
    coords = counts.index.to_series().str.extract(_CELL_ID).astype(float)
    masked = list(coords.index[coords.isna().any(axis=1)])
    pending = coords.dropna()
    found: list[pd.Series] = []
    for step in GRID_STEPS_M:
        if pending.empty:
            break
        north = (pending[0] // step * step).astype(int)
        east = (pending[1] // step * step).astype(int)
        keys = "CRS3035RES" + str(step) + "mN" + north.astype(str) + "E" + east.astype(str)
        total = counts.loc[pending.index].groupby(keys).sum(min_count=1).min(axis=1)
        corners = pd.DataFrame({"n": north, "e": east}).groupby(keys).first().reindex(total.index)
        squares = shapely.box(corners["e"], corners["n"], corners["e"] + step, corners["n"] + step)
        whole = pd.Series(gate.inside(np.asarray(squares)), index=total.index)
        cut = keys.map(whole).eq(False)
        masked.extend(keys.index[cut])
        done = ~cut & (keys.map(total) >= gate.k)
        found.append(keys[done])
        pending = pending[~cut & ~done]
    masked.extend(pending.index)
    return (pd.concat(found) if found else pd.Series(dtype=object)), masked


def _member_of(ids: np.ndarray, values: pd.Index | list[str]) -> np.ndarray:
    """Whether each id is one of ``values`` (a set look-up: ``Series.isin`` on Arrow strings is slow)."""
    wanted = set(values)
    return np.fromiter((i in wanted for i in ids), dtype=bool, count=len(ids))


def _merge_groups(
    members: pd.DataFrame, people: list[str], keys: list[pd.Series]
) -> tuple[list[dict[str, object]], list[np.ndarray]]:
    """One row per merged group (of one profession): sums, group densities, weighted APL; and the
    positions of each group's members.

    The groups are those of ``members.groupby(keys, sort=True)``, in that order, each member in its
    row order. Columns are read once as NumPy arrays and each group takes its rows by position, so a
    what-if's map (hundreds of groups) does not pay a pandas call per group and column; each figure is
    the same NumPy reduction over the same values as on the group's own frame, bit for bit.
    """
    codes = members.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    positions = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    records: list[dict[str, object]] = members.iloc[[int(p[0]) for p in positions]].to_dict("records")
    group_ids = keys[0].to_numpy(dtype=object)
    ids = members["unit_id"].astype(str).to_numpy(dtype=object)
    has_pop = "population" in members.columns
    pop = pd.to_numeric(members["population"], errors="coerce").fillna(0).to_numpy() if has_pop else None
    summed = {c: _column(members[c]) for c in dict.fromkeys((*_SUMMED, *people)) if c in members.columns}
    known = {c: members[c].notna().to_numpy() for c in summed}
    weighted = {
        c: pd.to_numeric(members[c], errors="coerce").to_numpy() for c in _WEIGHTED if c in members.columns
    }
    names = members["name"].to_numpy(dtype=object) if "name" in members.columns else None
    parents = None
    if "parent_id" in members.columns:
        parents = members["parent_id"].astype(str).to_numpy(dtype=object)
    shapes = members["geometry"].to_numpy() if "geometry" in members.columns else None
    means = {c: _weighted_means(v, pop, positions) for c, v in weighted.items()} if pop is not None else {}
    for i, (record, rows) in enumerate(zip(records, positions, strict=True)):
        record["unit_id"] = str(group_ids[rows[0]])
        for col, values in summed.items():
            record[col] = _sum(values, rows) if known[col][rows].all() else np.nan
        if names is not None:
            record["name"] = _group_name(sorted(str(x) for x in names[rows]))
        if parents is not None:
            found = set(parents[rows])
            record["parent_id"] = found.pop() if len(found) == 1 else ""
        if shapes is not None:
            record["geometry"] = shapely.union_all(shapes[rows])
        _merge_figures(record, members.columns, {c: float(m[i]) for c, m in means.items()})
        record["unites_fusionnees"] = ";".join(sorted(ids[rows]))
        record["secret"] = "fusion"
    return records, positions


def _group_name(names: list[str]) -> str:
    """Name of a merged group: its members' names, or the first and how many others."""
    return " + ".join(names) if len(names) <= 3 else f"{names[0]} + {len(names) - 1} autres"


def _column(values: pd.Series) -> np.ndarray | pd.Series:
    """A column as a NumPy array when it is numeric (summed by NumPy), else as it is (summed by pandas)."""
    return values.to_numpy() if values.dtype.kind in "biuf" else values.reset_index(drop=True)


def _sum(values: np.ndarray | pd.Series, rows: np.ndarray) -> object:
    """Sum of a group's values, as ``Series.sum`` gives it on the group."""
    if isinstance(values, pd.Series):
        return values.iloc[rows].sum()
    return values[rows].sum()


def _merge_figures(record: dict[str, object], columns: pd.Index, means: dict[str, float]) -> None:
    """A merged group's per-resident figures, from its summed counts: densities, weighted APL
    (``means``, from :func:`_weighted_means`), class."""
    for rate, num, den in _RATES:
        if rate in columns and num in columns and den in columns:
            d = float(record[den]) if pd.notna(record[den]) else 0.0  # type: ignore[arg-type]
            record[rate] = float(record[num]) * 100_000 / d if d > 0 else np.nan  # type: ignore[arg-type]
    record.update(means)
    if "delta" in columns and "apl_before" in columns and "apl_after" in columns:
        record["delta"] = float(record["apl_after"]) - float(record["apl_before"])  # type: ignore[arg-type]
    if "apl_class" in columns:
        record["apl_class"] = _apl_class(float(record.get("apl", np.nan)))  # type: ignore[arg-type]
    if "density_per_km2" in columns:
        record["density_per_km2"] = np.nan


def _apl_class(apl: float) -> str:
    cls = apl_class(apl)
    return "" if cls is None else cls.value


# -- checking ------------------------------------------------------------------------------------------


def check_frame(frame: pd.DataFrame, *, k: int | None = None, layer: str = "") -> list[Violation]:
    """Disclosure violations in one table (see :func:`check_disclosure`; ``k`` defaults to the settings').

    Examples
    --------
    >>> bad = pd.DataFrame({"unit_id": ["a", "b"], "population": [250, 7]})
    >>> [str(v) for v in check_frame(bad)]
    ['colonne « population » : 1 ligne(s) comptent entre 1 et 10 personnes (seuil k = 11)']
    """
    k = get_settings().disclosure_k if k is None else k
    found: list[Violation] = []
    for col in frame.columns:
        name = _normalise(str(col))
        if name in _NAME_COLUMNS:
            found.append(
                Violation(
                    layer,
                    str(col),
                    len(frame),
                    "nom de praticien : les exports publics ne "
                    "contiennent jamais de nom, seulement des effectifs par unité",
                )
            )
            continue
        if name == "geometry" or not _is_people_column(str(col)):
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = int(((values > 0) & (values < k)).sum())
        if bad:
            found.append(
                Violation(
                    layer,
                    str(col),
                    bad,
                    f"{bad} ligne(s) comptent entre 1 et {k - 1} personnes (seuil k = {k})",
                )
            )
    for rate, num, den in _RATES:
        if rate in frame.columns and num in frame.columns and den not in frame.columns:
            density = pd.to_numeric(frame[rate], errors="coerce")
            heads = pd.to_numeric(frame[num], errors="coerce")
            implied = heads * 100_000 / density.where(density > 0)
            bad = int(((implied > 0) & (implied < k - 0.5)).sum())
            if bad:
                found.append(
                    Violation(
                        layer,
                        rate,
                        bad,
                        f"{bad} ligne(s) : ETP × 100 000 / densité redonne moins de {k} habitants",
                    )
                )
    return found


def _read_layers(path: Path) -> dict[str, pd.DataFrame]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return {"": pd.read_csv(path, dtype=str, keep_default_na=False)}
        if suffix in (".parquet", ".geoparquet"):
            return {"": pd.read_parquet(path)}
        if suffix == ".gpkg":
            import pyogrio

            layers = [str(row[0]) for row in pyogrio.list_layers(path)]
            return {
                name: pyogrio.read_dataframe(path, layer=name, read_geometry=False)
                for name in layers
                if name != "layer_styles"
            }
    except (OSError, ValueError) as exc:
        raise DataFileError(f"fichier illisible : {exc}", path=path) from exc
    except Exception as exc:  # pyogrio/pyarrow raise their own error types
        raise DataFileError(f"fichier illisible : {exc}", path=path) from exc
    raise DataFileError(
        "format non pris en charge : CSV, GeoPackage (.gpkg) ou GeoParquet (.parquet)", path=path
    )


def check_disclosure(path: str | Path, *, k: int | None = None) -> list[Violation]:
    """Scan an export for disclosure violations; an empty list means it may be published.

    Every table (every layer of a GeoPackage) is checked: columns counting people
    (:data:`PEOPLE_COLUMNS` and names starting with ``population``, ``habitants``,
    ``patients``…) must not hold a value from 1 to ``k - 1``; a density next to a
    full-time equivalents (``etp``) without its population must not give such a count back; no column
    may carry practitioners' names.
    """
    path = Path(path)
    if not path.exists():
        raise DataFileError("fichier introuvable", path=path)
    found: list[Violation] = []
    for layer, frame in _read_layers(path).items():
        found.extend(check_frame(frame, k=k, layer=layer))
    return found
