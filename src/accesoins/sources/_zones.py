"""Infra-communal zones: IRIS contours, QPV perimeters (2015 and 2024) and the user's own quartiers.

Every loader returns the same zone schema (:data:`ZONE_COLUMNS`, polygons in
EPSG:4326) so the geo and indicator stages treat IRIS, QPV and quartiers alike:
``zone_id``, ``name``, ``commune_code`` (parent commune, "" when the file does
not say), ``commune_codes`` (every commune the zone lies in, ``;``-separated)
and ``iris_codes`` (``;``-separated, for quartiers given as lists of IRIS).
Invalid polygons are repaired with a warning; a feature without geometry, a
missing code or a duplicated code stops the reading with a French error that
names the file, the feature (``ligne``) and the column.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from accesoins.errors import DataFileError
from accesoins.sources._table import Column, first_line, read_table
from accesoins.sources._validate import check_file, check_lonlat, check_unique_names, valid_polygons

log = logging.getLogger(__name__)

ZONE_CRS = "EPSG:4326"
ZONE_COLUMNS = ("zone_id", "name", "commune_code", "commune_codes", "iris_codes")
IRIS_CODE = r"\d{9}|2[AB]\d{7}"
COMMUNE_CODE = r"\d{5}|2[AB]\d{3}"


def _reject(
    mask: pd.Series | np.ndarray,
    problem: Callable[[int], str],
    *,
    path: Path,
    column: str,
    first_line: int = 1,
) -> None:
    """French error on the first row where ``mask`` holds (``problem(i)`` describes row ``i``)."""
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    if len(rows):
        raise DataFileError(problem(int(rows[0])), path=path, line=int(rows[0]) + first_line, column=column)


def _read_layer(path: Path, what: str) -> gpd.GeoDataFrame:
    """Any OGR vector file, attribute names lower-cased; a Shapefile without ``.cpg`` is read as UTF-8.

    Polygons are checked by the sources' one validator: invalid ones repaired with
    a French warning, missing or non-areal ones refused, all of them in France.
    """
    check_file(path)
    encoding = "utf-8" if path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists() else None
    try:
        frame = pyogrio.read_dataframe(path, encoding=encoding)
    except Exception as exc:  # pyogrio raises DataSourceError and others
        raise DataFileError(f"{what} illisibles ({exc})", path=path) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise DataFileError(f"{what} : le fichier n'a pas de géométrie", path=path)
    if frame.crs is None:
        raise DataFileError(f"{what} : système de coordonnées absent (fichier .prj ou « crs »)", path=path)
    check_unique_names([c.lower() for c in frame.columns], path=path)
    frame.columns = [c if c == frame.geometry.name else c.lower() for c in frame.columns]
    frame = frame.set_geometry(frame.geometry.name)
    polygons = valid_polygons(frame.geometry, path=path, lines=None, column="geometry", what=what)
    frame = frame.set_geometry(gpd.GeoSeries(polygons, index=frame.index, crs=frame.crs))
    corners = frame.geometry.to_crs(ZONE_CRS).bounds.to_numpy()
    for lon, lat in ((0, 1), (2, 3)):
        check_lonlat(corners[:, lon], corners[:, lat], path=path, lines=None, columns=("geometry",) * 2)
    return frame


def _column(frame: pd.DataFrame, names: tuple[str, ...], path: Path, what: str) -> str:
    """The first of ``names`` present (lower-cased), else a French error listing them."""
    for name in names:
        if name in frame.columns:
            return name
    expected = " ou ".join(f"« {n.upper() if n.islower() else n} »" for n in names[:3])
    raise DataFileError(f"{what} : colonne {expected} attendue", path=path, line=1)


def _codes(values: pd.Series, pattern: str, path: Path, column: str, what: str) -> pd.Series:
    """Codes as text (leading zeros restored for numeric fields), each matching ``pattern``, unique."""
    text = values.astype("string").fillna("").str.strip().str.replace(r"\.0$", "", regex=True)
    if pattern == IRIS_CODE:
        text = text.where(~text.str.fullmatch(r"\d{8}"), "0" + text)
    bad = ~text.str.fullmatch(pattern)
    _reject(bad, lambda i: f"{what} : code « {text.iloc[i]} » invalide", path=path, column=column)
    _reject(
        text.duplicated(), lambda i: f"{what} : code « {text.iloc[i]} » en double", path=path, column=column
    )
    return text.astype(object)


def _zones(frame: gpd.GeoDataFrame, **columns: object) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame(
        {"zone_id": columns.pop("zone_id"), **columns}, geometry=frame.geometry.to_numpy(), crs=frame.crs
    )
    for name in ZONE_COLUMNS:
        if name not in out.columns:
            out[name] = ""
    return out.to_crs(ZONE_CRS).reset_index(drop=True)


def read_iris_contours(path: str | Path) -> gpd.GeoDataFrame:
    """IRIS polygons (IGN CONTOURS-IRIS or IRIS GE; GeoPackage, Shapefile or GeoJSON; any CRS).

    Columns ``CODE_IRIS``/``code_iris``/``iris``, ``NOM_IRIS``/``nom_iris`` and
    ``INSEE_COM``/``insee_com`` (else the first five characters of the code).
    """
    path = Path(path)
    what = "contours IRIS"
    frame = _read_layer(path, what)
    code_col = _column(frame, ("code_iris", "iris", "dcomiris"), path, what)
    codes = _codes(frame[code_col], IRIS_CODE, path, code_col, what)
    name_col = next((c for c in ("nom_iris", "libiris", "lib_iris") if c in frame.columns), None)
    names = frame[name_col].astype("string").fillna("").astype(object) if name_col else codes
    commune_col = next((c for c in ("insee_com", "depcom", "code_insee") if c in frame.columns), None)
    if commune_col is None:
        commune = codes.str[:5]
    else:
        commune = frame[commune_col].astype("string").fillna("").str.strip().astype(object)
        _reject(
            ~commune.str.fullmatch(COMMUNE_CODE),
            lambda i: f"{what} : code commune « {commune.iloc[i]} » invalide",
            path=path,
            column=commune_col,
        )
    return _zones(frame, zone_id=codes, name=names, commune_code=commune, commune_codes=commune)


def read_qpv(path: str | Path) -> gpd.GeoDataFrame:
    """QPV perimeters: 2015 (``CODE_QP``, ``NOM_QP``, ``COMMUNE_QP``) or 2024 (``code_qp``/``lib_qp`` or
    the short ``q``, ``n``, ``com``, ``z``), any OGR format and CRS.

    Besides the zone schema: ``qpv_code``, ``commune_name`` (2015 names),
    ``generation`` (2015 or 2024), ``zoning`` (ARS doctors' zoning ``ZIP``/``ZAC``
    when the file has ``z``) and ``population`` when the file has ``pop``.
    """
    path = Path(path)
    what = "QPV"
    frame = _read_layer(path, what)
    code_col = _column(frame, ("code_qp", "code_qpv", "q"), path, what)
    codes = _codes(frame[code_col], r"Q[PN]\w{6}", path, code_col, what)
    name_col = next((c for c in ("nom_qp", "lib_qp", "n") if c in frame.columns), code_col)
    if "com" in frame.columns:
        listed = frame["com"].map(_code_list).astype(object)
    else:
        listed = pd.Series([""] * len(frame), dtype=object)
    out = _zones(
        frame,
        zone_id=codes,
        name=frame[name_col].astype("string").fillna("").astype(object),
        commune_code=listed.str.split(";").str[0],
        commune_codes=listed,
        qpv_code=codes,
        commune_name=frame["commune_qp"].astype(str) if "commune_qp" in frame.columns else "",
        generation=codes.str.startswith("QN").map({True: 2024, False: 2015}).to_numpy(),
        zoning=frame["z"].astype("string").fillna("").astype(object) if "z" in frame.columns else "",
    )
    if "pop" in frame.columns:
        out["population"] = pd.to_numeric(
            frame["pop"].astype(str).str.replace(r"\s", "", regex=True), errors="coerce"
        ).to_numpy()
    return out


def _code_list(value: object) -> str:
    """``["06088", "06123"]`` (a JSON list read as list or text) → ``06088;06123``."""
    items = value if isinstance(value, list | tuple) else re.findall(r"\w+", str(value))
    return ";".join(str(i) for i in items if re.fullmatch(COMMUNE_CODE, str(i)))


def read_quartiers(path: str | Path) -> gpd.GeoDataFrame:
    """The user's quartiers: polygons with a code and a name, or a CSV listing the IRIS of each quartier.

    Polygons (GeoJSON, GeoPackage, Shapefile; any CRS): code in ``code``/
    ``code_quartier``/``id``/``gid``, name in ``nom``/``name``/``libelle``,
    commune in ``insee``/``insee_com``/``code_insee`` when present; the zone
    identifier is ``<commune>-<code>`` when the code is not unique alone.
    CSV (``,`` or ``;``): columns ``code_quartier``, ``nom_quartier``,
    ``code_iris``, one line per IRIS; the quartier has no geometry of its own
    (the geo stage takes the union of its IRIS).
    """
    path = Path(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return _quartiers_from_iris_list(path)
    what = "quartiers"
    frame = _read_layer(path, what)
    code_col = next((c for c in ("code", "code_quartier", "id", "gid", "fid") if c in frame.columns), None)
    name_col = _column(frame, ("nom", "name", "libelle", "nom_quartier"), path, what)
    commune_col = next(
        (c for c in ("insee", "insee_com", "code_insee", "commune") if c in frame.columns), None
    )
    commune = (
        frame[commune_col].astype("string").fillna("").str.strip().astype(object)
        if commune_col
        else pd.Series([""] * len(frame), dtype=object)
    )
    raw = (
        frame[code_col].astype("string").fillna("").str.replace(r"\.0$", "", regex=True)
        if code_col
        else pd.Series([str(i + 1) for i in range(len(frame))], dtype="string")
    )
    ident = raw if not raw.duplicated().any() else None
    if ident is None or (commune != "").any():
        ident = (commune.astype("string") + "-" + raw).str.strip("-")
    codes = _codes(ident, r"\S+", path, code_col or "code", what)
    return _zones(
        frame,
        zone_id=codes,
        name=frame[name_col].astype("string").fillna("").astype(object),
        commune_code=commune,
        commune_codes=commune,
    )


def _quartiers_from_iris_list(path: Path) -> gpd.GeoDataFrame:
    head = first_line(path)
    sep = ";" if head.count(";") > head.count(",") else ","
    table = read_table(
        path,
        [
            Column("code_quartier", "text", nullable=False),
            Column("nom_quartier", "text", nullable=False),
            Column("code_iris", "code", IRIS_CODE, nullable=False),
        ],
        sep=sep,
    )
    _reject(
        table.duplicated(["code_quartier", "code_iris"]),
        lambda i: f"IRIS « {table['code_iris'].iloc[i]} » listé deux fois pour le quartier",
        path=path,
        column="code_iris",
        first_line=2,
    )
    grouped = table.groupby("code_quartier", sort=False)
    names = grouped["nom_quartier"].first()
    iris = grouped["code_iris"].agg(lambda s: ";".join(s))
    communes = grouped["code_iris"].agg(lambda s: ";".join(dict.fromkeys(c[:5] for c in s)))
    return gpd.GeoDataFrame(
        {
            "zone_id": names.index.astype(str),
            "name": names.to_numpy(),
            "commune_code": communes.str.split(";").str[0].to_numpy(),
            "commune_codes": communes.to_numpy(),
            "iris_codes": iris.to_numpy(),
        },
        geometry=[None] * len(names),
        crs=ZONE_CRS,
    )
