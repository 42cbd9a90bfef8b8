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
from accesoins.sources._validate import (
    MAX_FIELD_CHARS,
    MAX_LINE_CHARS,
    check_field_lengths,
    check_file,
    check_range,
    check_unique_names,
    file_bytes,
)

Kind = Literal["text", "code", "int", "float"]

_SEPARATOR_NAMES = {",": "virgule", ";": "point-virgule", "|": "barre verticale", "\t": "tabulation"}


@dataclass(frozen=True)
class Column:
    """Expected column of a source file.

    ``kind`` is ``text`` (any string), ``code`` (string matching ``pattern``),
    ``int`` or ``float`` (parsed, decimal comma accepted). ``required`` columns
    must be present in the header; ``nullable=False`` forbids empty cells.
    Numbers must be finite and within ``[minimum, maximum]`` (no bound by default).
    """

    name: str
    kind: Kind = "text"
    pattern: str | None = None
    required: bool = True
    nullable: bool = True
    minimum: float = -np.inf
    maximum: float = np.inf


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
    _check_line_lengths(path, lines, 0)
    header = _split_header(header_line, sep)
    if trailing_separator and header and header[-1] == "":
        header = header[:-1]
    if len(header) == 1:
        _raise_separator(path, header_line, sep, header_no, columns)
    check_unique_names(header, path=path, line=header_no)
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
    if len(frame) != len(body):  # a quoted field spanning lines: never valid in official files
        raise DataFileError(
            f"{len(body)} lignes lues mais {len(frame)} enregistrements : guillemet mal placé",
            path=path,
            line=header_no + 1,
        )
    if trailing_separator:
        frame = frame.drop(columns="__trailing__")
    frame = frame.apply(lambda s: s.str.strip())
    first_data_line = header_no + 1
    if max(map(len, body)) > MAX_FIELD_CHARS:  # else no field can be too long
        check_field_lengths(frame, path=path, first_line=first_data_line)
    for col in columns:
        if col.name in frame.columns:
            frame[col.name] = _convert(frame[col.name], col, path, first_data_line)
    return frame


def first_line(path: str | Path) -> str:
    """The header line of a text file (for choosing a layout), or a French error when unreadable."""
    check_file(Path(path))
    with Path(path).open(encoding="utf-8", errors="replace") as fh:
        return fh.readline()


def _decode(path: Path, encoding: str, sep: str) -> str:
    raw = file_bytes(path)
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


def _check_line_lengths(path: Path, lines: list[str], first: int) -> None:
    nul = (
        next((i for i, line in enumerate(lines) if "\x00" in line), None)
        if "\x00" in "".join(lines)
        else None
    )
    if nul is not None:
        raise DataFileError(
            "octet nul dans la ligne : fichier corrompu ou encodé en UTF-16 (UTF-8 attendu)",
            path=path,
            line=first + nul + 1,
        )
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    long = np.flatnonzero(lengths > MAX_LINE_CHARS)
    if long.size:
        i = int(long[0])
        raise DataFileError(
            f"ligne trop longue ({int(lengths[i])} caractères, au plus {MAX_LINE_CHARS}) : fichier corrompu "
            "ou séparateur de lignes manquant",
            path=path,
            line=first + i + 1,
        )


def _quoted_field_count(path: Path, line: str, sep: str, line_no: int) -> int:
    """Separators of one line read as CSV; an unclosed or misplaced quote is an error at that line."""
    try:
        return len(next(csv.reader([line], delimiter=sep, strict=True))) - 1
    except csv.Error as exc:
        raise DataFileError(
            f"guillemet non fermé ou mal placé ({exc}) : un champ ne peut pas s'étendre sur plusieurs lignes",
            path=path,
            line=line_no,
        ) from exc


def _check_field_counts(
    path: Path, body: list[str], sep: str, expected: int, header_no: int, header: list[str]
) -> None:
    counts = np.fromiter((line.count(sep) for line in body), dtype=np.int64, count=len(body))
    for i in (i for i, line in enumerate(body) if '"' in line):
        counts[i] = _quoted_field_count(path, body[i], sep, header_no + 1 + i)
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
    values: pd.Series,
    *,
    path: str | Path,
    column: str,
    first_line: int,
    allow_empty: bool = False,
    minimum: float = -np.inf,
    maximum: float = np.inf,
) -> pd.Series:
    """Numbers of one column (decimal comma accepted), as float64.

    The first value that is not a number (or empty, unless ``allow_empty``), infinite
    or outside ``[minimum, maximum]`` is a French :class:`DataFileError` naming its
    line (``first_line`` + position) and column.
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
    numbers = numbers.astype("float64")
    check_range(
        numbers,
        path=path,
        column=column,
        lines=first_line,
        minimum=minimum,
        maximum=maximum,
        allow_missing=True,
    )
    return numbers


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
        numbers = parse_numbers(
            values,
            path=path,
            column=col.name,
            first_line=first_line,
            allow_empty=True,
            minimum=col.minimum,
            maximum=col.maximum,
        )
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
        return numbers.astype("Int64") if col.kind == "int" else numbers.astype("float64")
    return values
