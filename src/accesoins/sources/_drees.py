"""DREES APL workbook: one sheet per vintage (commune APL) and a parameters sheet."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._table import parse_numbers

_HEADER = "Code commune INSEE"


def _open(path: Path) -> pd.ExcelFile:
    try:
        return pd.ExcelFile(path, engine="openpyxl")
    except FileNotFoundError as exc:
        raise DataFileError("fichier introuvable", path=path) from exc
    except Exception as exc:  # openpyxl raises zipfile / KeyError / InvalidFileException
        raise DataFileError(f"classeur Excel illisible ({type(exc).__name__})", path=path) from exc


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
    head = pd.read_excel(book, sheet_name=sheet, header=None, nrows=30, dtype=str)
    rows = head.index[head.iloc[:, 0].astype(str).str.strip().eq(_HEADER)]
    if rows.empty:
        raise DataFileError(f"en-tête « {_HEADER} » introuvable dans la feuille « {sheet} »", path=path)
    header_row = int(rows[0])
    table = pd.read_excel(book, sheet_name=sheet, skiprows=header_row, dtype={_HEADER: str})
    table = table.iloc[1:]  # units row
    if table.shape[1] < 6:
        raise DataFileError(f"6 colonnes attendues dans « {sheet} », {table.shape[1]} lues", path=path)
    table = table.iloc[:, :6]
    table.columns = [
        "commune_code", "name", "apl", "apl_under65", "population_standardised", "population_total",
    ]  # fmt: skip
    table = table[table["commune_code"].notna()].copy()
    table["commune_code"] = table["commune_code"].astype(str).str.strip().str.zfill(5)
    for col in ("apl", "apl_under65", "population_standardised", "population_total"):
        table[col] = parse_numbers(
            table[col], path=path, column=col, first_line=header_row + 3, allow_empty=True
        )
    return table.reset_index(drop=True)


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
        sheet = pd.read_excel(book, sheet_name="Paramètres", header=None)
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
