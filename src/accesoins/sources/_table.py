"""Validated reading of delimited text files (CSV, pipe- or semicolon-separated).

One place turns the ways an official file can be broken (wrong encoding, wrong
separator, truncated line, missing column, non-numeric code) into a French
:class:`~accesoins.errors.DataFileError` naming the file, the line and the
column. Loaders describe their columns with :class:`Column` and get back a
DataFrame of strings / numbers they can trust.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from accesoins.errors import DataFileError

Kind = Literal["text", "code", "int", "float"]

_SEPARATOR_NAMES = {",": "virgule", ";": "point-virgule", "|": "barre verticale", "\t": "tabulation"}


@dataclass(frozen=True)
class Column:
    """Expected column of a source file.

    ``kind`` is ``text`` (any string), ``code`` (string matching ``pattern``),
    ``int`` or ``float`` (parsed, decimal comma accepted). ``required`` columns
    must be present in the header; ``nullable=False`` forbids empty cells.
    """

    name: str
    kind: Kind = "text"
    pattern: str | None = None
    required: bool = True
    nullable: bool = True


def read_table(
    path: str | Path,
    columns: Sequence[Column],
    *,
    sep: str,
    encoding: str = "utf-8",
    skip_lines: int = 0,
    trailing_separator: bool = False,
    text: str | None = None,
) -> pd.DataFrame:
    """Read ``path`` and validate it against ``columns``.

    Returns a DataFrame with one column per header field (extra columns kept as
    text); ``int``/``float`` columns are converted. ``skip_lines`` lines before
    the header are ignored. ``trailing_separator`` says every line ends with
    ``sep`` (Annuaire Santé). ``text`` lets a caller pass already-decoded
    content (for archives); ``path`` is then only used in messages.
    """
    path = Path(path)
    if text is None:
        text = _decode(path, encoding, sep)
    lines = text.splitlines()
    if len(lines) <= skip_lines:
        raise DataFileError("le fichier est vide", path=path)
    header_line = lines[skip_lines].lstrip("\ufeff")
    header_no = skip_lines + 1
    header = _split_header(header_line, sep)
    if trailing_separator and header and header[-1] == "":
        header = header[:-1]
    if len(header) == 1:
        _raise_separator(path, header_line, sep, header_no, columns)
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        raise DataFileError(
            f"colonne(s) absente(s) : {', '.join(missing)}. En-tête lu : {', '.join(header[:12])}"
            + (" …" if len(header) > 12 else ""),
            path=path,
            line=header_no,
            column=missing[0],
        )
    body = lines[skip_lines + 1 :]
    while body and body[-1].strip() == "":
        body.pop()
    if not body:
        raise DataFileError("aucune ligne de données après l'en-tête", path=path, line=header_no)
    _check_field_counts(path, body, sep, len(header) + (1 if trailing_separator else 0), header_no, header)
    frame = pd.read_csv(
        io.StringIO("\n".join(body)),
        sep=sep,
        header=None,
        names=header + (["__trailing__"] if trailing_separator else []),
        dtype=str,
        keep_default_na=False,
        na_values=[],
        quoting=csv.QUOTE_MINIMAL,
        engine="c",
    )
    if trailing_separator:
        frame = frame.drop(columns="__trailing__")
    frame = frame.apply(lambda s: s.str.strip())
    first_data_line = header_no + 1
    for col in columns:
        if col.name in frame.columns:
            frame[col.name] = _convert(frame[col.name], col, path, first_data_line)
    return frame


def first_line(path: str | Path) -> str:
    """The header line of a text file (for choosing a layout), or a French error when unreadable."""
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as fh:
            return fh.readline()
    except FileNotFoundError as exc:
        raise DataFileError("fichier introuvable", path=path) from exc


def _decode(path: Path, encoding: str, sep: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataFileError("fichier introuvable", path=path) from exc
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column_no = raw.count(sep.encode(), line_start, exc.start) + 1
        header = raw.split(b"\n", 1)[0].decode(encoding, errors="replace").rstrip("\r").split(sep)
        column = header[column_no - 1].strip().strip('"') if column_no <= len(header) else None
        guess = " Le fichier semble encodé en Latin-1 / Windows-1252 :" if _looks_latin1(raw) else ""
        raise DataFileError(
            f"octet {raw[exc.start]:#04x} invalide pour l'encodage {encoding} (champ n° {column_no}).{guess}"
            f" réenregistrez-le en {encoding.upper()} ou téléchargez à nouveau l'extraction officielle.",
            path=path,
            line=line,
            column=column,
        ) from exc


def _looks_latin1(raw: bytes) -> bool:
    return bool(re.search(rb"[\xc0-\xff][\x00-\x7f]", raw))


def _split_header(line: str, sep: str) -> list[str]:
    return [h.strip().strip('"') for h in next(csv.reader([line], delimiter=sep))]


def _raise_separator(path: Path, header_line: str, sep: str, line: int, columns: Sequence[Column]) -> None:
    found = max(_SEPARATOR_NAMES, key=header_line.count)
    if header_line.count(found) > 0 and found != sep:
        raise DataFileError(
            f"mauvais séparateur : « {sep} » ({_SEPARATOR_NAMES[sep]}) attendu, "
            f"« {found} » ({_SEPARATOR_NAMES[found]}) trouvé dans l'en-tête",
            path=path,
            line=line,
        )
    raise DataFileError(
        f"en-tête illisible : une seule colonne trouvée, attendu {', '.join(c.name for c in columns)}",
        path=path,
        line=line,
    )


def _check_field_counts(
    path: Path, body: list[str], sep: str, expected: int, header_no: int, header: list[str]
) -> None:
    if any('"' in line for line in body[:1000]) or '"' in "".join(body[-1000:]):
        counts = np.fromiter((len(r) - 1 for r in csv.reader(body, delimiter=sep)), dtype=np.int64)
    else:
        counts = np.fromiter((line.count(sep) for line in body), dtype=np.int64, count=len(body))
    bad = np.flatnonzero(counts != expected - 1)
    if bad.size:
        i = int(bad[0])
        got = int(counts[i]) + 1
        last = i == len(body) - 1
        what = "ligne tronquée" if got < expected else "champs en trop"
        if last and got < expected:
            what = "fichier tronqué : la dernière ligne est incomplète"
        raise DataFileError(
            f"{what} ({got} champs au lieu de {expected}) ; {len(bad)} ligne(s) concernée(s)",
            path=path,
            line=header_no + 1 + i,
            column=header[got] if got < min(expected, len(header)) else None,
        )


def parse_numbers(
    values: pd.Series, *, path: str | Path, column: str, first_line: int, allow_empty: bool = False
) -> pd.Series:
    """Numbers of one column (decimal comma accepted), as float64.

    The first value that is not a number (or empty, unless ``allow_empty``) is a
    French :class:`DataFileError` naming its line (``first_line`` + position) and column.
    """
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        empty = numbers.isna()
    else:
        text = values.astype("string").str.strip()
        empty = text.isna() | text.eq("")
        numbers = pd.to_numeric(text.str.replace(",", ".", regex=False).mask(empty), errors="coerce")
    bad = numbers.isna() & ~empty if allow_empty else numbers.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"valeur non numérique « {values.iloc[i]} »", path=path, line=first_line + i, column=column
        )
    return numbers.astype("float64")


def _convert(values: pd.Series, col: Column, path: Path, first_line: int) -> pd.Series:
    empty = values.eq("")
    if not col.nullable and empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataFileError("valeur obligatoire manquante", path=path, line=first_line + i, column=col.name)
    if col.kind == "code" and col.pattern is not None:
        ok = values.str.fullmatch(col.pattern) | empty
        if not ok.all():
            i = int(np.flatnonzero(~ok.to_numpy())[0])
            raise DataFileError(
                f"code invalide « {values.iloc[i]} » (format attendu : {col.pattern})",
                path=path,
                line=first_line + i,
                column=col.name,
            )
        return values
    if col.kind in ("int", "float"):
        numbers = parse_numbers(values, path=path, column=col.name, first_line=first_line, allow_empty=True)
        if col.kind == "int":
            frac = numbers.notna() & (numbers != np.floor(numbers))
            if frac.any():
                i = int(np.flatnonzero(frac.to_numpy())[0])
                raise DataFileError(
                    f"nombre entier attendu, « {values.iloc[i]} » lu",
                    path=path,
                    line=first_line + i,
                    column=col.name,
                )
            return numbers.astype("Int64")
        return numbers.astype("float64")
    return values
