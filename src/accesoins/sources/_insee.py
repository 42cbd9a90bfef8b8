"""INSEE population files: IRIS population by age band, commune population by single year of age."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._drees import read_workbook
from accesoins.sources._table import Column, parse_numbers, read_table
from accesoins.sources._validate import check_range, check_unique_names, unique_rows

IRIS_CODE = r"\d{9}|\d[AB0-9]\d{7}"
MAX_IRIS_POPULATION = 100_000.0  # IRIS hold about 2,000 people; the largest a few tens of thousands
MAX_COMMUNE_AGE_POPULATION = 100_000.0  # people of one sex and one year of age in a commune

# Age bands of the IRIS census file (base-ic-evol-struct-pop): suffix -> [first age, last age]
IRIS_AGE_COLUMNS: dict[str, tuple[int, int]] = {
    "POP0002": (0, 2), "POP0305": (3, 5), "POP0610": (6, 10), "POP1117": (11, 17), "POP1824": (18, 24),
    "POP2539": (25, 39), "POP4054": (40, 54), "POP5564": (55, 64), "POP6579": (65, 79), "POP80P": (80, 120),
    "POP0014": (0, 14), "POP1529": (15, 29), "POP3044": (30, 44), "POP4559": (45, 59), "POP6074": (60, 74),
    "POP75P": (75, 120),
}  # fmt: skip


def read_iris_population(path: str | Path, *, sheet: str | None = None) -> tuple[pd.DataFrame, int]:
    """IRIS population by age band from an INSEE ``base-ic-evol-struct-pop`` file (xlsx or csv).

    Returns the table (``iris_code`` on 9 characters, ``commune_code`` on 5,
    ``population``, and one column per age band named as in
    :data:`IRIS_AGE_COLUMNS`) and the census year (e.g. 2019 for ``P19_``).
    Codes written as numbers (leading zero lost) are padded back. An IRIS given
    twice is refused, as are populations that are negative, infinite or beyond
    any IRIS.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xls"):
        raw = read_workbook(path, lambda: _iris_sheet(path, sheet))
        check_unique_names([re.sub(r"\.\d+$", "", str(c)) for c in raw.columns], path=path)
        if "IRIS" not in raw.columns or "COM" not in raw.columns:
            raise DataFileError("colonnes « IRIS » et « COM » attendues", path=path, line=1)
        raw = raw[raw["IRIS"].notna()].astype({c: str for c in ("IRIS", "COM")})
        if raw.empty:
            raise DataFileError("aucune ligne de données après l'en-tête", path=path, line=2)
    else:
        raw = read_table(path, [Column("IRIS", "code", r"\d{7,9}|\d[AB0-9]\d{7}")], sep=";")
    header_line = 1
    prefix = next((m.group(1) for c in raw.columns if (m := re.fullmatch(r"P(\d{2})_POP", str(c)))), None)
    if prefix is None:
        raise DataFileError("colonne de population « Pxx_POP » introuvable", path=path, line=header_line)
    needed = ["IRIS", "COM", f"P{prefix}_POP", *(f"P{prefix}_{k}" for k in IRIS_AGE_COLUMNS)]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise DataFileError(
            f"colonne(s) absente(s) : {', '.join(missing)}", path=path, line=1, column=missing[0]
        )
    lines = raw.index.to_numpy() + 2
    out = pd.DataFrame(
        {
            "iris_code": raw["IRIS"].str.strip().str.replace(r"\.0$", "", regex=True).str.zfill(9),
            "commune_code": raw["COM"].str.strip().str.replace(r"\.0$", "", regex=True).str.zfill(5),
        }
    )
    bad = ~out["iris_code"].str.fullmatch(IRIS_CODE) | out["iris_code"].str[:5].ne(out["commune_code"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"code IRIS « {out['iris_code'].iloc[i]} » invalide ou hors de sa commune "
            f"« {out['commune_code'].iloc[i]} »",
            path=path,
            line=int(lines[i]),
            column="IRIS",
        )
    unique_rows(out, ["iris_code"], path=path, lines=lines, what="IRIS")
    for col in [f"P{prefix}_POP", *(f"P{prefix}_{k}" for k in IRIS_AGE_COLUMNS)]:
        values = parse_numbers(raw[col].reset_index(drop=True), path=path, column=col, first_line=2)
        check_range(values, path=path, column=col, lines=lines, maximum=MAX_IRIS_POPULATION)
        out[col.split("_", 1)[1] if col != f"P{prefix}_POP" else "population"] = values.to_numpy()
    return out.reset_index(drop=True), 2000 + int(prefix)


def _iris_sheet(path: Path, sheet: str | None) -> pd.DataFrame:
    """The sheet of ``path`` with an ``IRIS`` column (or ``sheet``), codes as text."""
    with pd.ExcelFile(path, engine="openpyxl") as book:
        name = sheet or next(
            (s for s in book.sheet_names if "IRIS" in pd.read_excel(book, sheet_name=s, nrows=0).columns),
            None,
        )
        if name is None:
            raise DataFileError("aucune feuille avec une colonne « IRIS »", path=path)
        return pd.read_excel(book, sheet_name=name, dtype={"IRIS": str, "COM": str})


def read_population_single_age(path: str | Path) -> pd.DataFrame:
    """INSEE population by sex and single year of age per commune (``SEXEs_AGED100aaa``).

    Returns ``commune_code``, ``year`` and one column per age 0..100 (both sexes
    summed, 100 = 100 and over).
    """
    path = Path(path)
    frame = read_table(
        path, [Column("CODGEO", "code", r"\d{5}|2[AB]\d{3}", nullable=False), Column("YEAR", "int")], sep=","
    )
    unique_rows(frame, ["CODGEO", "YEAR"], path=path, lines=2, what="commune et année")
    ages: dict[int, pd.Series] = {}
    for col in frame.columns:
        m = re.fullmatch(r"SEXE[12]_AGED100(\d{3})", col)
        if m:
            values = parse_numbers(
                frame[col], path=path, column=col, first_line=2, minimum=0, maximum=MAX_COMMUNE_AGE_POPULATION
            )
            age = int(m.group(1))
            ages[age] = ages.get(age, 0.0) + values
    if not ages:
        raise DataFileError("aucune colonne SEXE1_AGED100xxx", path=path, line=1)
    out = pd.DataFrame({"commune_code": frame["CODGEO"], "year": frame["YEAR"]})
    return pd.concat([out, pd.DataFrame({a: ages[a] for a in sorted(ages)})], axis=1)
