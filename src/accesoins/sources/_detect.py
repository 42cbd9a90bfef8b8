"""Recognise a source file by its first lines, not its name, and read it with the matching loader.

A renamed or freshly downloaded file is read the same way; a file that is
none of the known formats gets a French error naming it and its line 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._annuaire import read_annuaire_sante, read_rpps_2017
from accesoins.sources._finess import read_finess_extraction, read_finess_geoloc_wgs84, read_finess_stock
from accesoins.sources._gp_iris import read_gp_iris

_PEEK_BYTES = 65_536
TEXT_SUFFIXES = (".csv", ".txt")


@dataclass(frozen=True)
class FileFormat:
    """A file format: its name, its catalogue source, its loader and what its header looks like."""

    name: str
    source: str
    reader: Callable[[Path], pd.DataFrame]
    matches: Callable[[list[str], list[str]], bool]  # (fields of line 1, fields of line 2)
    header: str  # shown when no format matches


def _fields(line: str) -> list[str]:
    return [f.strip().strip('"').lower() for f in re.split(r"[,;|\t]", line.lstrip("\ufeff"))]


def _tagged(tag: str) -> Callable[[list[str], list[str]], bool]:
    """First field ``tag``, possibly under the ``finess;etalab;…`` title line."""
    return lambda first, second: first[0] == tag or (first[0] == "finess" and second[0] == tag)


PROFESSIONALS = (
    FileFormat(
        "annuaire_sante",
        "annuaire_sante",
        read_annuaire_sante,
        lambda first, _: "identification nationale pp" in first,
        "Type d'identifiant PP|Identifiant PP|Identification nationale PP|…",
    ),
    FileFormat(
        "rpps_2017",
        "annuaire_sante",
        read_rpps_2017,
        lambda first, _: first[0] == "rpps",
        "RPPS,Nom,Prenom,FINESS,RaisonSociale,Commune,…",
    ),
    FileFormat(
        "gp_iris",
        "gp_iris",
        read_gp_iris,
        lambda first, _: {"iris", "lon", "lat", "weight"} <= set(first),
        "id,nom,prenom,…,iris,lon,lat,…,weight,NB",
    ),
)
ESTABLISHMENTS = (
    FileFormat(
        "finess_extraction",
        "finess",
        read_finess_extraction,
        _tagged("structureet"),
        "structureet;… (extraction etalab-cs1100507)",
    ),
    FileFormat(
        "finess_stock",
        "finess",
        read_finess_stock,
        _tagged("nofinesset"),
        "nofinesset;nofinessej;rs;… (stock etalab_stock_et)",
    ),
    FileFormat(
        "finess_geoloc_wgs84",
        "finess",
        read_finess_geoloc_wgs84,
        lambda first, _: first[:4] == ["code", "label", "long", "lat"],
        "code,label,long,lat",
    ),
)


def _match(path: Path, formats: tuple[FileFormat, ...]) -> FileFormat | None:
    try:
        with path.open("rb") as f:
            head = f.read(_PEEK_BYTES).decode("utf-8", errors="replace")
    except FileNotFoundError as exc:
        raise DataFileError("fichier introuvable", path=path) from exc
    lines = [*[line for line in head.splitlines() if line.strip()][:2], "", ""]
    first, second = _fields(lines[0]), _fields(lines[1])
    return next((fmt for fmt in formats if fmt.matches(first, second)), None)


def find_by_header(data_dir: Path, formats: tuple[FileFormat, ...]) -> list[tuple[Path, FileFormat]]:
    """Text files (``.csv``, ``.txt``) under ``data_dir`` whose header is one of ``formats``, by path."""
    found = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in TEXT_SUFFIXES:
            fmt = _match(path, formats)
            if fmt is not None:
                found.append((path, fmt))
    return found


def detect_format(path: str | Path, formats: tuple[FileFormat, ...]) -> FileFormat:
    """The format among ``formats`` whose header the first lines of ``path`` show."""
    path = Path(path)
    fmt = _match(path, formats)
    if fmt is not None:
        return fmt
    expected = " ; ".join(f"« {fmt.header} »" for fmt in formats)
    raise DataFileError(f"en-tête non reconnu. En-têtes attendus : {expected}", path=path, line=1)


def read_professionals(path: str | Path) -> pd.DataFrame:
    """Practice activities of any professionals file (Annuaire Santé, RPPS 2017, GPs per IRIS)."""
    return detect_format(path, PROFESSIONALS).reader(Path(path))


def read_establishments(path: str | Path) -> pd.DataFrame:
    """Establishments of any FINESS file (daily extraction, yearly stock, geolocated 2017 file)."""
    return detect_format(path, ESTABLISHMENTS).reader(Path(path))
