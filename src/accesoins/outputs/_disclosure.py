"""Disclosure control of public outputs: no count of residents or patients below k is shown.

Reads indicator layers (one row per unit × profession, with geometry) and returns
them with every unit of fewer than ``k`` residents merged with adjacent units of
the same parent (IRIS into their commune's other IRIS, 200 m cells with their
neighbours in the same commune, communes with neighbouring communes) until the
merged unit reaches ``k``; a unit with no neighbour at all is suppressed (its
people counts and derived rates are emptied). Merging keeps totals exact, so no
hidden figure can be found back by subtraction.

:func:`check_disclosure` scans a finished export (CSV, GeoPackage, GeoParquet)
and lists the violations: a resident or patient count in ``1..k-1``, a density
that gives such a count back (full-time equivalents × 100 000 / density), a column holding
practitioners' names. Headcounts of practitioners are public (the national
directory publishes them by address) and are never masked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from accesoins.errors import ConfigurationError, DataFileError
from accesoins.indicators import apl_class

__all__ = [
    "DEFAULT_K",
    "PEOPLE_COLUMNS",
    "Violation",
    "check_disclosure",
    "check_frame",
    "disclose_layer",
    "merge_small_units",
]

DEFAULT_K = 11
"""Smallest count of residents or patients a public output may show (INSEE / CNIL practice)."""

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
_SUMMED = (
    "headcount",
    "etp",
    "n_commune",
    "n_etablissement",
    "n_iris",
    "population",
    "population_standardised",
)


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


# -- merging ---------------------------------------------------------------------------------------------


def merge_small_units(
    units: gpd.GeoDataFrame,
    *,
    k: int = DEFAULT_K,
    population: str = "population",
    parent: str = "parent_id",
    max_gap_m: float = 2000.0,
) -> pd.Series:
    """Group label of each unit so that every group counts at least ``k`` residents.

    ``units`` has one row per unit (``unit_id``, geometry, ``population`` and
    optionally ``parent_id``). The smallest unit under ``k`` is merged with its
    least-populated touching group — one of the same parent when there is one —
    and so on until every group reaches ``k``. Units with no population
    (``NaN`` or 0) are left alone. A group touching no other joins the nearest
    one within ``max_gap_m`` metres (centroid distance); with none, it keeps its
    label and is suppressed later (:func:`disclose_layer`). Returns, indexed by
    ``unit_id``, the ``unit_id`` of the most-populated member of each unit's group.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> cells = gpd.GeoDataFrame({"unit_id": ["a", "b", "c"], "population": [5.0, 40.0, 3.0]},
    ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)])
    >>> merge_small_units(cells).tolist()
    ['b', 'b', 'b']
    """
    n = len(units)
    ids = units["unit_id"].astype(str).to_numpy()
    pop = pd.to_numeric(units[population], errors="coerce").fillna(0).to_numpy(dtype=float)
    parents = units[parent].astype(str).to_numpy() if parent in units.columns else np.full(n, "")
    geoms = units.geometry.to_numpy()
    centres = _metric_centres(units)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left != right
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(left[keep], right[keep], strict=True):
        neighbours[a].add(int(b))
    group = np.arange(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    total = {i: pop[i] for i in range(n)}
    stuck: set[int] = set()
    while True:
        small = [g for g, t in total.items() if 0 < t < k and g not in stuck]
        if not small:
            break
        g = min(small, key=lambda x: (total[x], x))
        around = {int(group[b]) for m in members[g] for b in neighbours[m]} - {g}
        if not around:
            around = _nearest_groups(g, members, group, centres, max_gap_m)
        if not around:
            stuck.add(g)
            continue
        same_parent = {h for h in around if parents[members[h][0]] == parents[members[g][0]]}
        candidates = same_parent or around
        target = min(candidates, key=lambda h: (total[h], h))
        for m in members.pop(g):
            group[m] = target
            members[target].append(m)
        total[target] += total.pop(g)
    label = np.empty(n, dtype=object)
    for members_ in members.values():
        head = max(members_, key=lambda m: (pop[m], -m))
        label[members_] = ids[head]
    return pd.Series(label, index=pd.Index(ids, name="unit_id"), name="group_id")


def _metric_centres(units: gpd.GeoDataFrame) -> np.ndarray:
    """Centroids in metres (Lambert 93 when the layer is in degrees), as an (n, 2) array."""
    geo = units.geometry
    if geo.crs is not None and geo.crs.is_geographic:
        geo = geo.to_crs(2154)
    centres = geo.centroid
    return np.column_stack([centres.x.to_numpy(), centres.y.to_numpy()])


def _nearest_groups(
    g: int, members: dict[int, list[int]], group: np.ndarray, centres: np.ndarray, max_gap_m: float
) -> set[int]:
    own = np.asarray(members[g])
    others = np.flatnonzero(group != g)
    if others.size == 0:
        return set()
    gaps = np.sqrt(((centres[others][:, None, :] - centres[own][None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    best = int(np.argmin(gaps))
    return {int(group[others[best]])} if gaps[best] <= max_gap_m else set()


def disclose_layer(layer: gpd.GeoDataFrame | pd.DataFrame, *, k: int = DEFAULT_K) -> gpd.GeoDataFrame:
    """Indicator layer safe to publish: units under ``k`` residents merged (or suppressed).

    ``layer`` is what :func:`accesoins.store.indicator_layer` returns (one row per
    unit × profession). Merged units get the identifier of their most-populated
    member, the names joined with « + », summed counts, recomputed densities and
    a population-weighted APL; ``unites_fusionnees`` lists the members and
    ``secret`` says ``fusion`` or ``masque``. Suppressed units keep their
    geometry and practitioners' headcount but lose every people count and rate.
    """
    if k < 1:
        raise ConfigurationError(f"seuil de secret k = {k} invalide : indiquez un entier ≥ 1 (11 par défaut)")
    frame = gpd.GeoDataFrame(layer.copy()) if "geometry" in layer.columns else pd.DataFrame(layer.copy())
    if frame.empty:
        return gpd.GeoDataFrame(frame.assign(unites_fusionnees="", secret=""))
    frame["unit_id"] = frame["unit_id"].astype(str)
    units = frame.drop_duplicates("unit_id").reset_index(drop=True)
    people = [c for c in frame.columns if c != "geometry" and _is_people_column(str(c))]
    units["_people"] = units[people].apply(pd.to_numeric, errors="coerce").min(axis=1) if people else np.nan
    if "geometry" in units.columns:
        crs = getattr(layer, "crs", None)
        groups = merge_small_units(
            gpd.GeoDataFrame(units, geometry="geometry", crs=crs), k=k, population="_people"
        )
    else:
        groups = pd.Series(units["unit_id"].to_numpy(), index=units["unit_id"])
    frame["_group"] = frame["unit_id"].map(groups)
    if (frame["_group"] == frame["unit_id"]).all() and not _small(units["_people"], k).any():
        return gpd.GeoDataFrame(frame.drop(columns="_group").assign(unites_fusionnees="", secret=""))
    keys = ["_group", "profession"] if "profession" in frame.columns else ["_group"]
    size = frame.groupby("_group")["unit_id"].transform("nunique")
    small_ids = set(units.loc[_small(units["_people"], k), "unit_id"])
    plain = (size == 1) & ~frame["unit_id"].isin(small_ids)
    pieces = [_aggregate(rows, k) for _, rows in frame[~plain].groupby(keys, sort=False, dropna=False)]
    kept = frame[plain].assign(unites_fusionnees="", secret="")
    out = pd.concat([kept, pd.DataFrame(pieces)], ignore_index=True)
    ordered = [c for c in frame.columns if c != "_group" and c in out.columns] + [
        "unites_fusionnees",
        "secret",
    ]
    out = out[ordered]
    if "geometry" in out.columns:
        return gpd.GeoDataFrame(out, geometry="geometry", crs=getattr(layer, "crs", None))
    return gpd.GeoDataFrame(out)


def _small(people: pd.Series, k: int) -> pd.Series:
    pop = people.fillna(0)
    return (pop > 0) & (pop < k)


def _aggregate(rows: pd.DataFrame, k: int) -> dict[str, object]:
    head = rows.loc[rows["unit_id"] == rows["_group"].iloc[0]].iloc[0]
    record: dict[str, object] = head.to_dict()
    record["unit_id"] = str(rows["_group"].iloc[0])
    pop = pd.to_numeric(rows.get("population"), errors="coerce").fillna(0)
    merged = len(rows) > 1
    for col in _SUMMED:
        if col in rows.columns:
            known = rows[col].notna().all()  # one unknown member (headcount known only per IRIS) → unknown
            record[col] = rows[col].sum() if known and len(rows) else np.nan
    if merged:
        if "name" in rows.columns:
            names = [str(x) for x in rows.sort_values("population", ascending=False)["name"]]
            record["name"] = (
                " + ".join(names) if len(names) <= 4 else f"{names[0]} + {len(names) - 1} voisins"
            )
        if "geometry" in rows.columns:
            record["geometry"] = shapely.union_all(rows.geometry.to_numpy())
        for rate, num, den in _RATES:
            if rate in rows.columns and num in rows.columns and den in rows.columns:
                d = float(record[den]) if pd.notna(record[den]) else 0.0  # type: ignore[arg-type]
                record[rate] = float(record[num]) * 100_000 / d if d > 0 else np.nan  # type: ignore[arg-type]
        if "apl" in rows.columns:
            apl = pd.to_numeric(rows["apl"], errors="coerce")
            ok = apl.notna() & (pop > 0)
            record["apl"] = float(np.average(apl[ok], weights=pop[ok])) if ok.any() else np.nan
            if "apl_class" in rows.columns:
                record["apl_class"] = _apl_class(record["apl"])  # type: ignore[arg-type]
    sums = [
        pd.to_numeric(rows[c], errors="coerce").sum()
        for c in rows.columns
        if c != "geometry" and _is_people_column(str(c))
    ]
    total = float(min(sums)) if sums else 0.0
    record["unites_fusionnees"] = ";".join(sorted(rows["unit_id"].astype(str))) if merged else ""
    record["secret"] = "fusion" if merged else ""
    if 0 < total < k:
        for col in (*PEOPLE_COLUMNS, "density_per_100k", "std_density_per_100k"):
            if col in record:
                record[col] = np.nan
        record["secret"] = "masque"
    return record


def _apl_class(apl: float) -> str:
    cls = apl_class(apl)
    return "" if cls is None else cls.value


# -- checking ------------------------------------------------------------------------------------------


def check_frame(frame: pd.DataFrame, *, k: int = DEFAULT_K, layer: str = "") -> list[Violation]:
    """Disclosure violations in one table (see :func:`check_disclosure`).

    Examples
    --------
    >>> bad = pd.DataFrame({"unit_id": ["a", "b"], "population": [250, 7]})
    >>> [str(v) for v in check_frame(bad)]
    ['colonne « population » : 1 ligne(s) comptent entre 1 et 10 personnes (seuil k = 11)']
    """
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


def check_disclosure(path: str | Path, *, k: int = DEFAULT_K) -> list[Violation]:
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
