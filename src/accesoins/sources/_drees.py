"""DREES APL workbook: one sheet per vintage (commune APL) and a parameters sheet.

A commune listed twice is refused (its APL would count twice downstream), as
are APL values and populations that are negative, infinite or beyond any
French commune.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._finess import COMMUNE_PATTERN
from accesoins.sources._table import parse_numbers
from accesoins.sources._validate import check_range, unique_rows

_HEADER = "Code commune INSEE"
# Beginning of the six column titles of a vintage sheet, in order (the sheet is read by position).
_TITLES = (
    _HEADER,
    "Commune",
    "APL aux médecins généralistes",
    "APL aux médecins généralistes de moins de 65 ans",
    "Population standardisée",
    "Population totale",
)
_HEADER_ROWS = 30  # the header is searched in the first rows of the sheet (row 9 in the DREES files)
MAX_APL = 1_000.0  # consultations per inhabitant and year: the highest commune APL is about 15
MAX_COMMUNE_POPULATION = 3_000_000.0  # Paris, the largest commune, has about 2.1 million people
_T = TypeVar("_T")


def _open(path: Path) -> pd.ExcelFile:
    return read_workbook(path, lambda: pd.ExcelFile(path, engine="openpyxl"))


def read_workbook(path: Path, read: Callable[[], _T]) -> _T:
    """``read()`` of an Excel workbook, its failures turned into French errors naming ``path``.

    openpyxl raises many kinds of exceptions for a file that is not a valid
    workbook (zipfile.BadZipFile, KeyError, XML syntax errors, ValueError...).
    """
    if path.is_dir():
        raise DataFileError("répertoire donné au lieu d'un classeur Excel", path=path)
    try:
        return read()
    except DataFileError:
        raise
    except FileNotFoundError as exc:
        raise DataFileError("fichier introuvable", path=path) from exc
    except Exception as exc:  # openpyxl / zipfile / lxml: any failure means an unreadable workbook
        raise DataFileError(
            f"classeur Excel illisible ou tronqué ({type(exc).__name__}) : téléchargez de nouveau le fichier",
            path=path,
        ) from exc


def apl_vintages_in(path: str | Path) -> list[int]:
    """Vintages present in a DREES APL workbook (sheets named ``APL <year>``)."""
    with _open(Path(path)) as book:
        names = list(book.sheet_names)
    return sorted(int(m.group(1)) for s in names if (m := re.fullmatch(r"APL (\d{4})", str(s))))


def read_apl_drees(path: str | Path, vintage: int) -> pd.DataFrame:
    """Commune APL of one vintage of the DREES workbook.

    Returns ``commune_code``, ``name``, ``apl``, ``apl_under65``,
    ``population_standardised``, ``population_total`` (one row per commune or
    municipal arrondissement, as published).
    """
    path = Path(path)
    with _open(path) as book:
        return _read_vintage(book, path, vintage)


def _read_vintage(book: pd.ExcelFile, path: Path, vintage: int) -> pd.DataFrame:
    sheet = f"APL {vintage}"
    if sheet not in book.sheet_names:
        raise DataFileError(
            f"feuille « {sheet} » absente ; feuilles présentes : {', '.join(map(str, book.sheet_names))}",
            path=path,
        )
    head = read_workbook(
        path, lambda: pd.read_excel(book, sheet_name=sheet, header=None, nrows=_HEADER_ROWS, dtype=str)
    )
    rows = (
        head.index[head.iloc[:, 0].astype(str).str.strip().eq(_HEADER)] if head.shape[1] else head.index[:0]
    )
    if rows.empty:
        raise DataFileError(
            f"en-tête « {_HEADER} » introuvable dans les {_HEADER_ROWS} premières lignes "
            f"de la feuille « {sheet} »",
            path=path,
            column="A",
        )
    header_row = int(rows[0])
    titles = [str(v).strip() for v in head.iloc[header_row].tolist()] + [""] * len(_TITLES)
    for k, expected in enumerate(_TITLES):
        if not titles[k].startswith(expected) or (k == 2 and "moins de 65" in titles[k]):
            raise DataFileError(
                f"colonne « {expected} » attendue en position {k + 1}, « {titles[k]} » lue",
                path=path,
                line=header_row + 1,
                column="ABCDEF"[k],
            )
    table = read_workbook(
        path,
        lambda: pd.read_excel(
            book, sheet_name=sheet, header=None, skiprows=header_row + 2, dtype=object, keep_default_na=False
        ),
    )
    table = table.reindex(columns=range(6)).replace("", np.nan)
    table.columns = [
        "commune_code", "name", "apl", "apl_under65", "population_standardised", "population_total",
    ]  # fmt: skip
    table = table[table.notna().any(axis=1)].copy()
    table["commune_code"] = table["commune_code"].fillna("")
    if table.empty:
        raise DataFileError(f"aucune commune dans la feuille « {sheet} »", path=path, line=header_row + 3)
    lines = table.index.to_numpy() + header_row + 3  # sheet rows (1-based) after the header and units rows
    code = table["commune_code"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    code = code.where(code.str.len() != 4, "0" + code)  # a code stored as a number lost its leading zero
    bad = ~code.str.fullmatch(COMMUNE_PATTERN)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"code commune invalide « {code.iloc[i]} »", path=path, line=int(lines[i]), column=_HEADER
        )
    table["commune_code"] = code
    unique_rows(table, ["commune_code"], path=path, lines=lines, what="commune", column=_HEADER)
    for col, title, maximum in (
        ("apl", titles[2], MAX_APL),
        ("apl_under65", titles[3], MAX_APL),
        ("population_standardised", titles[4], MAX_COMMUNE_POPULATION),
        ("population_total", titles[5], MAX_COMMUNE_POPULATION),
    ):
        numbers = _numbers(table[col], path, title, lines)
        check_range(numbers, path=path, column=title, lines=lines, maximum=maximum)
        table[col] = numbers
    return table.reset_index(drop=True)


def _numbers(values: pd.Series, path: Path, column: str, lines: np.ndarray) -> pd.Series:
    """Numbers of a sheet column (cells may hold numbers or text), errors at their sheet row."""
    text = values.astype(object).where(values.notna(), "").astype(str)
    try:
        return parse_numbers(text, path=path, column=column, first_line=0, allow_empty=True)
    except DataFileError as exc:
        raise DataFileError(exc.problem, path=path, line=int(lines[exc.line or 0]), column=column) from exc


def read_apl_parameters_sheet(path: str | Path) -> dict[str, object]:
    """Numbers of the workbook's ``Paramètres`` sheet (to check our parameter files).

    Returns ``activity`` (the thresholds of the activity table), ``decay``
    (the weights of the distance table) and ``age_weights`` (``{vintage:
    [19 weights]}``).
    """
    path = Path(path)
    with _open(path) as book:
        if "Paramètres" not in book.sheet_names:
            raise DataFileError("feuille « Paramètres » absente", path=path)
        sheet = read_workbook(path, lambda: pd.read_excel(book, sheet_name="Paramètres", header=None))
    try:
        return _parameters(sheet, path)
    except (IndexError, ValueError, TypeError, AttributeError) as exc:  # a cell moved or emptied
        raise DataFileError(
            f"feuille « Paramètres » inattendue ({type(exc).__name__}) : tableaux des âges, des temps de "
            "trajet ou de l'activité introuvables",
            path=path,
        ) from exc


def _parameters(sheet: pd.DataFrame, path: Path) -> dict[str, object]:
    first = sheet.iloc[:, 0].fillna("").astype(str)
    age_row = int(first.index[first.str.startswith("Tranche d'âge")][0])
    years = [int(re.search(r"(\d{4})", str(v)).group(1)) for v in sheet.iloc[age_row, 1:].dropna()]  # type: ignore[union-attr]
    weights = sheet.iloc[age_row + 1 : age_row + 20, 1 : 1 + len(years)].astype(float)
    decay_row = int(first.index[first.str.startswith("Temps de trajet")][0])
    decay = sheet.iloc[decay_row + 1 : decay_row + 5, 1].astype(float).tolist()
    activity_row = int(first.index[first.str.startswith("Moins de 250")][0])
    imputed = re.search(r"offre de (\d[\d\s]*\d) consultations", " ".join(first))
    if imputed is None:
        raise DataFileError("activité imputée (« une offre de … consultations ») introuvable", path=path)
    activity = {
        "floor": float(sheet.iloc[activity_row + 1, 1]),
        "ceiling": float(sheet.iloc[activity_row + 3, 1]),
        "imputed_new": float(re.sub(r"\s", "", imputed.group(1))),
    }
    return {
        "activity": activity,
        "decay": decay,
        "age_weights": {y: weights.iloc[:, k].tolist() for k, y in enumerate(years)},
    }
