"""Local indicators and official zoning of a territory, shaped as the snapshot keeps them.

A build attaches need tables (Filosofi poverty by IRIS, people living alone,
ALD share by bassin de vie…) and ARS zonings. Each table is checked against the
units of the territory (codes of other territories in a national file are left
out, a table with none of them or with unknown codes of the territory is
refused) and flattened into the snapshot tables ``local_indicator_catalogue``
(one row per level × indicator) and ``local_indicators`` (level, unit, indicator,
value; missing = suppressed by the producer). The zoning becomes
``official_zoning`` (level, unit, profession, zone, source).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources import IndicatorTable, ZoningClass, check_indicator_codes

log = logging.getLogger(__name__)

__all__ = ["LocalIndicators", "local_indicators", "official_zoning", "territory_reference"]

CATALOGUE_COLUMNS = (
    "indicator", "label", "unit", "year", "source", "level", "is_count", "file_name", "sha256",
)  # fmt: skip
ZONING_COLUMNS = ("level", "unit_id", "profession", "zone", "source", "file_name", "sha256")


@dataclass
class LocalIndicators:
    """The catalogue, the long table of values and the files they came from (with the rows kept)."""

    catalogue: pd.DataFrame
    values: pd.DataFrame
    files: list[tuple[Path, int]] = field(default_factory=list)


def local_indicators(
    tables: Sequence[IndicatorTable],
    known: Mapping[str, Collection[str]],
    checksums: Mapping[Path, str],
    *,
    strict: bool,
) -> LocalIndicators:
    """Rows of ``tables`` for the units in ``known`` (codes by level), as catalogue and long values.

    ``strict`` (files named by the user): a table of a level the territory lacks,
    with no code of the territory, or giving an indicator of a level that an
    earlier table already gave, is an error. Otherwise (files found in the data
    folder) such a table is skipped, and the tables covering most units come first
    (a département's Filosofi table before a city's extract of it).
    """
    if not strict:

        def coverage(t: IndicatorTable) -> tuple[int, int]:
            return -int(t.values["unit_id"].isin(known.get(t.level, ())).sum()), -len(t.values)

        tables = sorted(tables, key=coverage)
    catalogue: list[dict[str, object]] = []
    values: list[pd.DataFrame] = []
    files: list[tuple[Path, int]] = []
    given: dict[tuple[str, str], Path] = {}
    for table in tables:
        codes = set(known.get(table.level, ()))
        if not codes or not table.values["unit_id"].isin(codes).any():
            if strict:
                raise DataFileError(
                    f"aucun code du niveau {table.level} de la table ne correspond au territoire "
                    f"(ex. {', '.join(table.values['unit_id'].head(5))})",
                    path=table.path,
                )
            continue
        kept = check_indicator_codes(table, codes)
        meta = kept.meta
        repeated = [(table.level, i) in given for i in meta["indicator_id"]]
        if any(repeated) and strict:
            first = meta["indicator_id"][repeated].iloc[0]
            raise DataFileError(
                f"l'indicateur « {first} » ({table.level}) est déjà donné par "
                f"{given[(table.level, first)].name}",
                path=table.path,
            )
        meta = meta[[not r for r in repeated]]
        if meta.empty:
            log.info("%s : indicateurs déjà donnés par une autre table, non repris", table.path.name)
            continue
        for row in meta.itertuples(index=False):
            given[(table.level, str(row.indicator_id))] = table.path
            catalogue.append(
                {
                    "indicator": row.indicator_id,
                    "label": row.label,
                    "unit": row.unit,
                    "year": None if pd.isna(row.year) else int(row.year),
                    "source": row.source,
                    "level": table.level,
                    "is_count": bool(row.people),
                    "file_name": table.path.name,
                    "sha256": checksums[table.path],
                }
            )
        long = kept.values.melt(
            id_vars="unit_id", value_vars=list(meta["indicator_id"]), var_name="indicator", value_name="value"
        )
        values.append(long.assign(level=table.level)[["level", "unit_id", "indicator", "value"]])
        files.append((table.path, len(kept.values)))
    value_frame = (
        pd.concat(values, ignore_index=True)
        if values
        else pd.DataFrame({"level": [], "unit_id": [], "indicator": [], "value": []})
    )
    value_frame["value"] = value_frame["value"].astype("float64")
    catalogue_frame = pd.DataFrame(catalogue, columns=list(CATALOGUE_COLUMNS))
    catalogue_frame["year"] = catalogue_frame["year"].astype("Int64")
    catalogue_frame["is_count"] = catalogue_frame["is_count"].astype(bool)
    return LocalIndicators(catalogue_frame, value_frame, files)


def official_zoning(
    communes: Sequence[tuple[Path, pd.DataFrame]],
    commune_codes: Collection[str],
    checksums: Mapping[Path, str],
    *,
    qpv: pd.DataFrame | None = None,
    qpv_file: Path | None = None,
    strict: bool,
) -> tuple[pd.DataFrame, list[tuple[Path, int]]]:
    """Zoning rows of the territory: commune zonings (:func:`sources.read_ars_zoning` frames) and the
    doctors' ZIP/ZAC of each QPV when the QPV file carries it (``zoning`` column of ``sources.read_qpv``).

    ``strict``: a commune zoning with no commune of the territory is an error (else it is skipped).
    """
    rows, files = [], []
    codes = set(commune_codes)
    for path, frame in communes:
        inside = frame[frame["commune_code"].isin(codes)]
        if inside.empty:
            if strict:
                raise DataFileError("aucune commune du territoire dans ce zonage", path=path, column="Code")
            continue
        rows.append(
            pd.DataFrame(
                {
                    "level": "commune",
                    "unit_id": inside["commune_code"].to_numpy(),
                    "profession": inside["profession"].to_numpy(),
                    "zone": inside["zone"].astype(str).to_numpy(),
                    "source": inside["source"].to_numpy(),
                    "file_name": path.name,
                    "sha256": checksums[path],
                }
            )
        )
        files.append((path, len(inside)))
    if qpv is not None and qpv_file is not None and "zoning" in qpv.columns:
        zoned = qpv[qpv["zoning"].astype(str).str.upper().isin(["ZIP", "ZAC"])]
        if len(zoned):
            rows.append(
                pd.DataFrame(
                    {
                        "level": "qpv",
                        "unit_id": zoned["zone_id"].astype(str).to_numpy(),
                        "profession": "generaliste",
                        "zone": [str(ZoningClass(z.lower())) for z in zoned["zoning"].astype(str)],
                        "source": "zonage des médecins de l'ARS (ZIP/ZAC par QPV), propriété « z » du "
                        f"fichier des QPV — {qpv_file.name}",
                        "file_name": qpv_file.name,
                        "sha256": checksums[qpv_file],
                    }
                )
            )
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(ZONING_COLUMNS))
    return frame.astype({c: "string" for c in ZONING_COLUMNS}), files


def territory_reference(values: pd.Series, *, is_count: bool) -> tuple[float, str]:
    """The territory's value of a local indicator beside a unit's: pooled sum of a count, else the median.

    Returns the value and how it was obtained, in French (« total du territoire », « médiane des unités »).
    """
    known = pd.to_numeric(values, errors="coerce").dropna()
    if known.empty:
        return float("nan"), ""
    if is_count:
        return float(known.sum()), "total du territoire"
    return float(known.median()), f"médiane des {len(known)} unités du territoire"
