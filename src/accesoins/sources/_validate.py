"""Checks shared by every loader: impossible values become French errors with their place.

One implementation of what "impossible" means for a source file, reused by all
loaders of ``sources/`` (and the OpenStreetMap reader): numbers that are not
finite or out of their range, coordinates outside France (DROM included),
duplicated keys, duplicated column names, overlong fields and invalid
geometries. Each check raises a :class:`~accesoins.errors.DataFileError`
naming the file, the line and the column of the first offending value, or
(for the ``drop`` policy of :func:`unique_rows`) logs a French warning that
counts what it removed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from accesoins.errors import DataFileError

log = logging.getLogger(__name__)

MAX_FIELD_CHARS = 4_096
"""Longest field accepted in a text source (official fields are a few hundred characters)."""
MAX_LINE_CHARS = 65_536
"""Longest line accepted in a text source (checked before any CSV parsing)."""

# Longitude/latitude boxes (WGS84 degrees, about 0.5° of margin) of metropolitan France with Corsica
# and of each overseas territory where French care is counted (DROM and Saint-Pierre-et-Miquelon,
# Saint-Martin, Saint-Barthélemy). A point outside all of them cannot be a French place of care.
FRANCE_BOXES: tuple[tuple[str, float, float, float, float], ...] = (
    ("France métropolitaine", -5.8, 41.0, 10.0, 51.6),
    ("Antilles (Guadeloupe, Martinique, Saint-Martin, Saint-Barthélemy)", -63.6, 14.0, -60.5, 18.6),
    ("Guyane", -55.0, 1.8, -51.0, 6.3),
    ("La Réunion", 54.9, -21.8, 56.2, -20.5),
    ("Mayotte", 44.6, -13.5, 45.7, -12.2),
    ("Saint-Pierre-et-Miquelon", -56.9, 46.4, -55.8, 47.5),
)
_BOXES = np.array([b[1:] for b in FRANCE_BOXES])


Lines = Sequence[int] | np.ndarray | int | None
"""Where rows are: the line of each row, the line of the first row, or None for features (GeoJSON...)."""


def _fail(problem: str, path: str | Path, lines: Lines, i: int, column: str | None) -> None:
    if lines is None:
        raise DataFileError(problem, path=path, feature=i + 1, column=column)
    line = lines + i if isinstance(lines, int) else int(lines[i])
    raise DataFileError(problem, path=path, line=line, column=column)


def check_file(path: Path) -> None:
    """Refuse a path that is missing or a directory (French error)."""
    if path.is_dir():
        raise DataFileError("c'est un répertoire : donnez le chemin d'un fichier", path=path)
    if not path.exists():
        raise DataFileError("fichier introuvable", path=path)


def file_bytes(path: Path) -> bytes:
    """Content of a source file; a missing file, a directory or an unreadable file is a French error."""
    check_file(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataFileError(f"fichier illisible ({exc.strerror})", path=path) from exc


def in_france(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Mask of the points (WGS84 degrees) inside one of :data:`FRANCE_BOXES`."""
    lon = np.asarray(lon, dtype=float)[:, None]
    lat = np.asarray(lat, dtype=float)[:, None]
    inside = (lon >= _BOXES[:, 0]) & (lat >= _BOXES[:, 1]) & (lon <= _BOXES[:, 2]) & (lat <= _BOXES[:, 3])
    return np.asarray(inside.any(axis=1), dtype=bool)


def check_lonlat(
    lon: pd.Series | np.ndarray,
    lat: pd.Series | np.ndarray,
    *,
    path: str | Path,
    lines: Lines,
    columns: tuple[str, str],
    allow_missing: bool = False,
) -> None:
    """Refuse WGS84 points outside France (swapped lon/lat, sign errors, ±∞, 1e308...).

    ``lines`` is the line of each row, or the line of the first row when rows
    follow one another. With ``allow_missing``, a point whose two coordinates
    are empty (NaN) is accepted (a place not yet geolocated).
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    missing = np.isnan(x) & np.isnan(y) if allow_missing else np.zeros(len(x), dtype=bool)
    bad = ~missing & ~in_france(x, y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        column = columns[1] if np.isfinite(x[i]) and abs(x[i]) <= 180 and not abs(y[i]) <= 90 else columns[0]
        swapped = " (longitude et latitude inversées ?)" if in_france(y[i : i + 1], x[i : i + 1])[0] else ""
        _fail(
            f"point hors de France : longitude {x[i]:g}, latitude {y[i]:g}{swapped} ; {int(bad.sum())} "
            "point(s) concerné(s). Coordonnées WGS84 attendues en degrés, en métropole ou dans un DROM.",
            path,
            lines,
            i,
            column,
        )


@cache
def _to_wgs84(source_crs: str) -> Transformer:
    return Transformer.from_crs(source_crs, "EPSG:4326", always_xy=True)


def check_projected(
    x: pd.Series | np.ndarray,
    y: pd.Series | np.ndarray,
    *,
    crs: str,
    path: str | Path,
    lines: Lines,
    columns: tuple[str, str],
) -> None:
    """Refuse projected points (``crs``, metres) that do not fall in France once in WGS84."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    finite = np.isfinite(xs) & np.isfinite(ys)
    lon = np.full(xs.shape, np.inf)
    lat = np.full(xs.shape, np.inf)
    if finite.any():
        lon[finite], lat[finite] = _to_wgs84(crs).transform(xs[finite], ys[finite])
    bad = ~in_france(lon, lat)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _fail(
            f"point hors de France : x {xs[i]:g}, y {ys[i]:g} ({crs}) ; {int(bad.sum())} point(s)",
            path,
            lines,
            i,
            columns[0] if not np.isfinite(xs[i]) or np.isfinite(ys[i]) else columns[1],
        )


def check_range(
    values: pd.Series | np.ndarray,
    *,
    path: str | Path,
    column: str,
    lines: Lines,
    minimum: float = 0.0,
    maximum: float = np.inf,
    allow_missing: bool = False,
) -> None:
    """Refuse numbers that are not finite or outside ``[minimum, maximum]`` (counts, populations, times)."""
    if isinstance(values, np.ndarray) or pd.api.types.is_numeric_dtype(values):
        v = np.asarray(values, dtype=float)
    else:
        v = np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)
    missing = np.isnan(v) if allow_missing else np.zeros(len(v), dtype=bool)
    bad = ~missing & ~(np.isfinite(v) & (v >= minimum) & (v <= maximum))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if np.isnan(v[i]):
            problem = "valeur manquante ou non numérique"
        elif not np.isfinite(v[i]):
            problem = f"valeur infinie « {v[i]:g} »"
        elif v[i] < minimum:
            problem = f"valeur impossible « {v[i]:g} » (minimum {minimum:g})"
        else:
            problem = f"valeur invraisemblable « {v[i]:g} » (maximum {maximum:g})"
        _fail(f"{problem} ; {int(bad.sum())} ligne(s) concernée(s)", path, lines, i, column)


def unique_rows(
    frame: pd.DataFrame,
    keys: Sequence[str],
    *,
    path: str | Path,
    lines: Lines,
    what: str,
    policy: Literal["refuse", "drop"] = "refuse",
    column: str | None = None,
) -> pd.DataFrame:
    """``frame`` with each key once.

    ``refuse``: a repeated key is an error at its second line. ``drop``: rows
    repeated *exactly* (every column equal) are removed with a French warning
    that counts them, and a key repeated with other values is still an error.
    ``column`` names the key column as the file does (default: the first key).
    """
    if policy == "drop":
        exact = frame.duplicated(keep="first").to_numpy()
        if exact.any():
            log.warning(
                "%s : %d ligne(s) en double (identiques à une ligne précédente) retirée(s)",
                Path(path).name,
                int(exact.sum()),
            )
            frame = frame[~exact]
            if isinstance(lines, int):
                lines = np.arange(len(exact)) + lines
            lines = None if lines is None else np.asarray(lines)[~exact]
    repeated = frame.duplicated(list(keys), keep="first").to_numpy()
    if repeated.any():
        i = int(np.flatnonzero(repeated)[0])
        value = " / ".join(str(frame[k].iloc[i]) for k in keys)
        _fail(
            f"{what} « {value} » en double ; {int(repeated.sum())} ligne(s) concernée(s). "
            "Chaque clé doit être unique : corrigez ou dédoublonnez le fichier.",
            path,
            lines,
            i,
            column or keys[0],
        )
    return frame


def check_unique_names(names: Sequence[object], *, path: str | Path, line: int = 1) -> None:
    """Refuse a header that names a column twice (pandas would rename or refuse it silently)."""
    seen: set[str] = set()
    for name in names:
        text = str(name).strip()
        if text in seen and text != "":
            raise DataFileError(
                "colonne en double dans l'en-tête : chaque nom de colonne doit être unique",
                path=path,
                line=line,
                column=text,
            )
        seen.add(text)


def check_field_lengths(frame: pd.DataFrame, *, path: str | Path, first_line: Lines) -> None:
    """Refuse a text field longer than :data:`MAX_FIELD_CHARS` (a broken quote or a corrupt file)."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        lengths = values.astype("string").str.len().fillna(0).to_numpy()
        long = lengths > MAX_FIELD_CHARS
        if long.any():
            i = int(np.flatnonzero(long)[0])
            _fail(
                f"champ trop long ({int(lengths[i])} caractères, au plus {MAX_FIELD_CHARS}) : "
                "guillemet non fermé ou fichier corrompu ?",
                path,
                first_line,
                i,
                str(column),
            )


def valid_polygons(
    geometry: pd.Series, *, path: str | Path, lines: Lines, column: str, what: str
) -> np.ndarray:
    """Polygons of ``geometry``: invalid ones repaired (French warning), missing or non-areal ones refused."""
    geoms = np.asarray(geometry, dtype=object)
    missing = shapely.is_missing(geoms)
    empty = missing | np.array([g is not None and shapely.is_empty(g) for g in geoms], dtype=bool)
    if empty.any():
        _fail(f"{what} sans géométrie", path, lines, int(np.flatnonzero(empty)[0]), column)
    coords_ok = np.array([np.isfinite(shapely.get_coordinates(g)).all() for g in geoms], dtype=bool)
    if not coords_ok.all():
        _fail(
            f"{what} : coordonnée non finie dans la géométrie",
            path,
            lines,
            int(np.flatnonzero(~coords_ok)[0]),
            column,
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        log.warning(
            "%s : %d géométrie(s) invalide(s) réparée(s) (%s)",
            Path(path).name,
            int(invalid.sum()),
            reasons[0],
        )
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        geoms[invalid] = [_areal_part(g) for g in geoms[invalid]]
    areal = np.isin(shapely.get_type_id(geoms), [3, 6]) & ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    if not areal.all():
        i = int(np.flatnonzero(~areal)[0])
        _fail(
            f"{what} : la géométrie n'est pas un polygone d'aire non nulle ({geoms[i].geom_type})",
            path,
            lines,
            i,
            column,
        )
    return geoms


def _areal_part(geometry: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a repaired geometry (make_valid may add lines or points of collapsed parts)."""
    parts = [p for p in shapely.get_parts(geometry) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else geometry
