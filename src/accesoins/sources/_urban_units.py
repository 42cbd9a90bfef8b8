"""INSEE's commune → unité urbaine table (2020 zoning), to compare a QPV with the rest of its urban unit.

Two official layouts carry it: the composition file « Unités urbaines 2020 »
(sheet ``Composition_communale``: ``CODGEO``, ``LIBGEO``, ``UU2020``,
``LIBUU2020``…) and the « table d'appartenance géographique des communes »
(sheet ``COM``: ``CODGEO``, …, ``UU2020``, no UU name). Both are xlsx with a
few banner lines above the header, or CSV exports of them. A commune outside
any urban unit has a code ending in ``000`` (« commune hors unité urbaine »).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._drees import read_workbook
from accesoins.sources._table import Column, read_table
from accesoins.sources._validate import check_file, check_unique_names, file_bytes, unique_rows

__all__ = ["RURAL_SUFFIX", "read_urban_units"]

RURAL_SUFFIX = "000"
"""End of the pseudo-code of the communes outside any urban unit (« 06000 »)."""

_HEADER_ROWS = 20  # the header is searched in the first rows (row 6 in INSEE's files)
_COMMUNE = r"\d[0-9AB]\d{3}"
_UU = r"[0-9][0-9AB][0-9A-Z]\d{2}"
_UU_COLUMN = re.compile(r"UU20\d\d")


def read_urban_units(path: str | Path) -> pd.DataFrame:
    """``commune_code``, ``commune_name``, ``uu_code``, ``uu_name`` (names empty when the file has none).

    The header is the first line holding ``CODGEO`` and a ``UU20xx`` column;
    the lines above it (INSEE's banner) are skipped. A commune given twice or
    a malformed code stops the reading with the file, line and column.
    """
    path = Path(path)
    check_file(path)
    if path.suffix.lower() in (".xlsx", ".xls"):
        frame, header_line = read_workbook(path, lambda: _sheet(path))
    else:
        frame, header_line = _csv(path)
    uu_column = next(str(c) for c in frame.columns if _UU_COLUMN.fullmatch(str(c)))
    name_column = f"LIB{uu_column}"
    lines = np.arange(len(frame)) + header_line + 1
    codes = frame["CODGEO"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True).str.zfill(5)
    uu = frame[uu_column].astype(str).str.strip().str.replace(r"\.0$", "", regex=True).str.zfill(5)
    for column, values, pattern in (("CODGEO", codes, _COMMUNE), (uu_column, uu, _UU)):
        bad = ~values.str.fullmatch(pattern)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFileError(
                f"code « {frame[column].iloc[i]} » invalide", path=path, line=int(lines[i]), column=column
            )
    names = (
        frame[name_column].fillna("").astype(str).str.strip()
        if name_column in frame.columns
        else pd.Series("", index=frame.index)
    )
    commune_names = (
        frame["LIBGEO"].fillna("").astype(str).str.strip()
        if "LIBGEO" in frame.columns
        else pd.Series("", index=frame.index)
    )
    out = pd.DataFrame(
        {
            "commune_code": codes.to_numpy(),
            "commune_name": commune_names.to_numpy(),
            "uu_code": uu.to_numpy(),
            "uu_name": names.to_numpy(),
        }
    )
    unique_rows(out, ["commune_code"], path=path, lines=lines, what="commune", column="CODGEO")
    return out


def _is_header(cells: list[str]) -> bool:
    return "CODGEO" in cells and any(_UU_COLUMN.fullmatch(c) for c in cells)


def _sheet(path: Path) -> tuple[pd.DataFrame, int]:
    """The first sheet with a CODGEO / UU20xx header, read as text, and the header's row number."""
    with pd.ExcelFile(path, engine="openpyxl") as book:
        for sheet in book.sheet_names:
            top = pd.read_excel(book, sheet_name=sheet, header=None, nrows=_HEADER_ROWS, dtype=str)
            for row in range(len(top)):
                cells = [str(c).strip() for c in top.iloc[row].tolist()]
                if _is_header(cells):
                    frame = pd.read_excel(book, sheet_name=sheet, header=row, dtype=str)
                    check_unique_names([re.sub(r"\.\d+$", "", str(c)) for c in frame.columns], path=path)
                    frame = frame[frame["CODGEO"].notna()].reset_index(drop=True)
                    if frame.empty:
                        raise DataFileError("aucune ligne après l'en-tête", path=path, line=row + 1)
                    return frame, row + 1
    raise DataFileError(
        "aucune feuille avec les colonnes « CODGEO » et « UU2020 » (composition communale des unités "
        "urbaines ou table d'appartenance géographique de l'INSEE)",
        path=path,
    )


def _csv(path: Path) -> tuple[pd.DataFrame, int]:
    """A CSV export (``;`` or ``,``), banner lines skipped, and the header's line number."""
    text = file_bytes(path).decode("utf-8-sig", errors="replace")
    for number, line in enumerate(text.splitlines()[:_HEADER_ROWS]):
        sep = ";" if line.count(";") >= line.count(",") else ","
        cells = [c.strip().strip('"') for c in line.split(sep)]
        if _is_header(cells):
            frame = read_table(
                path,
                [Column("CODGEO", "text", nullable=False)],
                sep=sep,
                encoding="utf-8-sig",
                skip_lines=number,
            )
            return frame, number + 1
    raise DataFileError(
        f"en-tête « CODGEO ; UU2020 » introuvable dans les {_HEADER_ROWS} premières lignes", path=path, line=1
    )
