"""FINESS establishments (places of care): number, name, category, commune, coordinates.

Three layouts of the official « FINESS Extraction du Fichier des établissements »
(data.gouv.fr) are read into one schema (:data:`FINESS_COLUMNS`), coordinates
in both Lambert 93 (EPSG:2154, metres) and WGS84 (EPSG:4326, degrees):

- the 2017 Gironde file already converted to WGS84 (``code,label,long,lat``),
  whose category is inferred from the name;
- the yearly stock file ``etalab_stock_et_<date>.csv`` (one line per
  establishment, 42 named columns, Lambert 93 coordinates);
- the daily extraction ``etalab-cs1100507-stock-<date>.csv`` (no header, lines
  ``structureet;…`` and ``geolocalisation;…`` joined on the FINESS number).

The official files are Windows-1252; UTF-8 copies are accepted too. A FINESS
number given twice is refused, and so is a point outside France (DROM included);
an establishment without coordinates is kept, not located.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from accesoins.errors import DataFileError
from accesoins.sources._table import Column, read_table
from accesoins.sources._validate import Lines, check_lonlat, file_bytes, unique_rows

__all__ = [
    "FINESS_COLUMNS",
    "SITE_TYPES",
    "classify_site_names",
    "read_finess_extraction",
    "read_finess_geoloc_wgs84",
    "read_finess_stock",
    "site_types_from_categories",
]

logger = logging.getLogger(__name__)

FINESS_COLUMNS: tuple[str, ...] = (
    "finess",
    "name",
    "category_code",
    "category_label",
    "site_type",
    "commune_code",
    "x",
    "y",
    "lon",
    "lat",
    "geo_source",
)
"""Columns of every FINESS loader; ``x``/``y`` EPSG:2154 metres, ``lon``/``lat`` WGS84."""

FINESS_PATTERN = r"\d[0-9AB]\d{7}"
COMMUNE_PATTERN = r"\d{5}|2[AB]\d{3}"

# fmt: off
SITE_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "centre_sante": ("Centre de santé", frozenset({"124"})),
    "maison_sante": ("Maison de santé pluriprofessionnelle", frozenset({"603"})),
    "pharmacie": ("Pharmacie d'officine", frozenset({"620", "627"})),
    "hopital": (
        "Hôpital ou clinique",
        frozenset(
            {"101", "106", "108", "109", "114", "115", "122", "127", "128", "129", "131", "161", "292",
             "355", "362", "365", "697"}
        ),
    ),
    "ehpad": ("EHPAD", frozenset({"500", "501", "502"})),
    "laboratoire": ("Laboratoire de biologie médicale", frozenset({"610", "611"})),
    "pmi": ("Protection maternelle et infantile (PMI)", frozenset({"223", "230"})),
    "autre": ("Autre établissement", frozenset()),
}
# fmt: on
"""Our coarse site types: French label and the FINESS category codes (``categetab``) they cover."""

# Name rules, tried in this order on the upper-case, accent-free name; the first match wins.
_NAME_RULES: tuple[tuple[str, str], ...] = (
    ("autre", r"^(?:ECOLE|EC\.|IFSI|SSIAD|GCS|CAMSP|SESSAD)\b"),
    ("pharmacie", r"\bPHARMACIE\b|\bOFFICINE\b"),
    ("laboratoire", r"\bLBM\b|\bLABM\b|\bLABORATOIRE\b.*\b(?:ANALYSE|BIOLOGI)"),
    ("ehpad", r"\bEHPAD\b|\bE\.H\.P\.A\.D\b"),
    ("centre_sante", r"\b(?:CENTRE|CTRE)\b(?: (?!EXAMENS?\b)[A-Z]+)? (?:DE )?SANTE\b(?! MENT)"),
    ("maison_sante", r"\bMAISON (?:DE )?SANTE\b(?! PROTESTANTE| POUR MALADIES)|\bMSP\b|\bPLURI ?(?:DI|PRO)"),
    ("hopital", r"\b(?:CH|CHU|CHR|CHS|CHI)\b|\bC\.H\.|HOSPIT|\bHOPITAL\b|CLINIQUE\b"),
    ("pmi", r"\bP\.?M\.?I\b|PROTECTION MATERNELLE"),
)

_PROJECTIONS = {
    "LAMBERT_93": 2154,
    "UTM_N20": 5490,  # Guadeloupe, Martinique, Saint-Martin, Saint-Barthélemy (RGAF09)
    "UTM_N21": 4467,  # Saint-Pierre-et-Miquelon (RGSPM06)
    "UTM_N22": 2972,  # Guyane (RGFG95)
    "UTM_S38": 4471,  # Mayotte (RGM04)
    "UTM_S40": 2975,  # La Réunion (RGR92)
}

# Field order of the daily extraction etalab-cs1100507, from the data.gouv.fr documentation of
# « FINESS Extraction du Fichier des établissements » (XML tag names of the structureet and
# geolocalisation sections); the first field is the section tag.
STRUCTUREET_FIELDS: tuple[str, ...] = (
    "section", "nofinesset", "nofinessej", "rs", "rslongue", "complrs", "compldistrib", "numvoie",
    "typvoie", "voie", "compvoie", "lieuditbp", "commune", "departement", "libdepartement",
    "ligneacheminement", "telephone", "telecopie", "categetab", "libcategetab", "categagretab",
    "libcategagretab", "siret", "codeape", "codemft", "libmft", "codesph", "libsph", "dateouv",
    "dateautor", "datemaj", "numuai",
)  # fmt: skip
GEOLOCALISATION_FIELDS: tuple[str, ...] = (
    "section", "nofinesset", "coordxet", "coordyet", "sourcecoordet", "datemaj",
)  # fmt: skip


def decode_official(path: Path, sep: str, *, encodings: tuple[str, ...] = ("utf-8", "cp1252")) -> str:
    """Text of ``path`` in the first of ``encodings`` that decodes it.

    A Windows-1252 file with accents is never valid UTF-8, so trying UTF-8 first
    is a safe detection. When no encoding fits, the error of the last one names
    the file, the line and the column (via :func:`read_table`).
    """
    raw = file_bytes(path)
    for encoding in encodings[:-1]:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    try:
        return raw.decode(encodings[-1])
    except UnicodeDecodeError:
        read_table(path, [], sep=sep, encoding=encodings[-1])  # raises the French error
        raise


def ascii_upper(names: pd.Series) -> pd.Series:
    """Names in upper case without accents and with single spaces, for the name rules."""
    return (
        names.fillna("")
        .astype(str)
        .str.normalize("NFKD")
        .str.encode("ascii", errors="ignore")
        .str.decode("ascii")
        .str.upper()
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )


def classify_site_names(names: pd.Series) -> pd.Series:
    """Site type key (see :data:`SITE_TYPES`) inferred from establishment names.

    Used when no FINESS category is available (2017 geolocated file, site names of
    the 2017 RPPS extraction). Rules are regular expressions tried in order; the
    first match wins, else ``autre``.

    Examples
    --------
    >>> classify_site_names(pd.Series([
    ...     "CENTRE MUNICIPAL DE SANTE D'ARCACHON", "CENTRE EXAMENS DE SANTE DE LA GIRONDE",
    ...     "MSP D'ARSAC", "PHARMACIE CHURET", "HOPITAL SAINT-ANDRE - CHU", "LBM EXALAB",
    ... ])).tolist()
    ['centre_sante', 'autre', 'maison_sante', 'pharmacie', 'hopital', 'laboratoire']
    """
    upper = ascii_upper(names)
    result = pd.Series(pd.NA, index=names.index, dtype="object")
    for key, pattern in _NAME_RULES:
        hit = result.isna() & upper.str.contains(pattern, regex=True)
        result[hit] = key
    return result.fillna("autre").astype(str)


def site_types_from_categories(codes: pd.Series) -> pd.Series:
    """Site type key for FINESS category codes (``categetab``); ``autre`` when not listed."""
    lookup = {code: key for key, (_, codes_) in SITE_TYPES.items() for code in codes_}
    return codes.fillna("").astype(str).str.strip().map(lookup).fillna("autre").astype(str)


@cache
def _transformer(source_epsg: int, target_epsg: int) -> Transformer:
    return Transformer.from_crs(source_epsg, target_epsg, always_xy=True)


def _lonlat_to_lambert93(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = _transformer(4326, 2154).transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _projected_to_lonlat(
    x: np.ndarray, y: np.ndarray, sources: pd.Series, path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 lon/lat of projected coordinates whose CRS is the last token of ``sources``.

    Returns lon, lat and the Lambert 93 mask (rows in metropolitan France, whose
    x/y are kept as EPSG:2154); a missing or unknown token means Lambert 93.
    """
    token = sources.fillna("").astype(str).str.rsplit(",", n=1).str[-1].str.strip().str.upper()
    epsg = token.map(_PROJECTIONS).fillna(2154).astype(int).to_numpy()
    unknown = ~token.isin(list(_PROJECTIONS)) & token.ne("") & np.isfinite(x)
    if unknown.any():
        logger.warning(
            "%s : projection inconnue (%s) pour %d établissement(s), Lambert 93 supposé",
            path.name,
            ", ".join(sorted(set(token[unknown]))),
            int(unknown.sum()),
        )
    lon = np.full(x.shape, np.nan)
    lat = np.full(x.shape, np.nan)
    for code in np.unique(epsg):
        rows = epsg == code
        lon[rows], lat[rows] = _transformer(int(code), 4326).transform(x[rows], y[rows])
    return lon, lat, epsg == 2154


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.loc[:, list(FINESS_COLUMNS)].reset_index(drop=True)
    for col in ("x", "y", "lon", "lat"):
        out[col] = out[col].astype("float64")
    for col in FINESS_COLUMNS:
        if col not in ("x", "y", "lon", "lat"):
            out[col] = out[col].fillna("").astype(str)
    return out


def read_finess_geoloc_wgs84(path: str | Path) -> pd.DataFrame:
    """FINESS establishments of the 2017 file already in WGS84 (``code,label,long,lat``).

    It has no category: ``category_code`` is empty, ``site_type`` and
    ``category_label`` are inferred from the name (:func:`classify_site_names`),
    ``commune_code`` is empty. ``x``/``y`` are computed from lon/lat.
    """
    path = Path(path)
    frame = read_table(
        path,
        [
            Column("code", "code", pattern=FINESS_PATTERN, nullable=False),
            Column("label", nullable=False),
            Column("long", "float", nullable=False),
            Column("lat", "float", nullable=False),
        ],
        sep=",",
    )
    unique_rows(frame, ["code"], path=path, lines=2, what="numéro FINESS")
    lon = frame["long"].to_numpy(dtype=float)
    lat = frame["lat"].to_numpy(dtype=float)
    check_lonlat(lon, lat, path=path, lines=2, columns=("long", "lat"))
    x, y = _lonlat_to_lambert93(lon, lat)
    site_type = classify_site_names(frame["label"])
    out = pd.DataFrame(
        {
            "finess": frame["code"],
            "name": frame["label"],
            "category_code": "",
            "category_label": site_type.map({k: v[0] for k, v in SITE_TYPES.items()}),
            "site_type": site_type,
            "commune_code": "",
            "x": x,
            "y": y,
            "lon": lon,
            "lat": lat,
            "geo_source": "WGS84 du fichier (converti de Lambert 93 par son auteur)",
        }
    )
    return _finish(out)


def read_finess_stock(path: str | Path) -> pd.DataFrame:
    """FINESS establishments of the yearly stock file ``etalab_stock_et_<date>.csv``.

    ``;``-separated with a 42-column header (``nofinesset;nofinessej;rs;…``), possibly
    preceded by a title line ``finess;etalab;…``; Windows-1252 (official) or UTF-8.
    ``coordx``/``coordy`` are projected coordinates (Lambert 93 in metropolitan
    France; the projection is the last token of ``sourcegeocod``).
    """
    path = Path(path)
    text = decode_official(path, ";")
    first = text.split("\n", 1)[0].lstrip("\ufeff")
    skip = 1 if first.split(";", 1)[0].strip().lower() == "finess" else 0
    frame = read_table(
        path,
        [
            Column("nofinesset", "code", pattern=FINESS_PATTERN, nullable=False),
            Column("rs"),
            Column("categetab", "code", pattern=r"\d{3}"),
            Column("libcategetab"),
            Column("liblongcategetab", required=False),
            Column("cog", "code", pattern=COMMUNE_PATTERN),
            Column("coordx", "float"),
            Column("coordy", "float"),
            Column("sourcegeocod", required=False),
        ],
        sep=";",
        skip_lines=skip,
        text=text,
    )
    unique_rows(frame, ["nofinesset"], path=path, lines=skip + 2, what="numéro FINESS")
    long_label = frame.get("liblongcategetab", pd.Series("", index=frame.index))
    sources = frame.get("sourcegeocod", pd.Series("", index=frame.index))
    return _from_projected(
        path,
        lines=skip + 2,
        columns=("coordx", "coordy"),
        finess=frame["nofinesset"],
        name=frame["rs"],
        category_code=frame["categetab"],
        category_label=long_label.where(long_label.ne(""), frame["libcategetab"]),
        commune_code=frame["cog"],
        x=frame["coordx"],
        y=frame["coordy"],
        sources=sources,
    )


def _from_projected(
    path: Path,
    *,
    lines: Lines,
    columns: tuple[str, str],
    finess: pd.Series,
    name: pd.Series,
    category_code: pd.Series,
    category_label: pd.Series,
    commune_code: pd.Series,
    x: pd.Series,
    y: pd.Series,
    sources: pd.Series,
) -> pd.DataFrame:
    x_arr = x.to_numpy(dtype=float, na_value=np.nan)
    y_arr = y.to_numpy(dtype=float, na_value=np.nan)
    lon, lat, lambert = _projected_to_lonlat(x_arr, y_arr, sources, path)
    check_lonlat(lon, lat, path=path, lines=lines, columns=columns, allow_missing=True)
    out = pd.DataFrame(
        {
            "finess": finess.to_numpy(),
            "name": name.to_numpy(),
            "category_code": category_code.to_numpy(),
            "category_label": category_label.to_numpy(),
            "site_type": site_types_from_categories(category_code).to_numpy(),
            "commune_code": commune_code.to_numpy(),
            "x": np.where(lambert, x_arr, np.nan),
            "y": np.where(lambert, y_arr, np.nan),
            "lon": lon,
            "lat": lat,
            "geo_source": sources.to_numpy(),
        }
    )
    return _finish(out)


def _read_section(
    path: Path, rows: list[tuple[int, str]], fields: tuple[str, ...], columns: list[Column]
) -> pd.DataFrame:
    """Validate the lines of one section, reporting errors at their line in ``path``."""
    text = ";".join(fields) + "\n" + "\n".join(line for _, line in rows)
    try:
        return read_table(path, columns, sep=";", text=text)
    except DataFileError as exc:
        if exc.line is None or exc.line < 2:
            raise
        raise DataFileError(exc.problem, path=path, line=rows[exc.line - 2][0], column=exc.column) from exc


def read_finess_extraction(path: str | Path) -> pd.DataFrame:
    """FINESS establishments of the daily extraction ``etalab-cs1100507-stock-<date>.csv``.

    No header: an optional title line ``finess;etalab;…``, then lines
    ``structureet;…`` (:data:`STRUCTUREET_FIELDS`) and ``geolocalisation;…``
    (:data:`GEOLOCALISATION_FIELDS`), joined on ``nofinesset``. The INSEE commune
    code is ``departement`` + ``commune`` (overseas departments ``9A``… ``9F``
    give ``97`` + ``commune``). Error messages give the line in the original file.
    """
    path = Path(path)
    text = decode_official(path, ";")
    sections: dict[str, list[tuple[int, str]]] = {"structureet": [], "geolocalisation": []}
    others = 0
    for number, line in enumerate(text.splitlines(), start=1):
        tag = line.lstrip("\ufeff").split(";", 1)[0].strip().lower()
        if tag in sections:
            sections[tag].append((number, line))
        elif line.strip() and not (number == 1 and tag == "finess"):
            others += 1
    if not sections["structureet"]:
        raise DataFileError(
            "aucune ligne « structureet; » : ce n'est pas une extraction FINESS etalab-cs1100507 "
            "(lignes attendues « structureet;… » et « geolocalisation;… », séparateur « ; »)",
            path=path,
            line=1,
        )
    if others:
        logger.info("%s : %d ligne(s) d'autres sections ignorée(s)", path.name, others)
    etab = _read_section(
        path,
        sections["structureet"],
        STRUCTUREET_FIELDS,
        [
            Column("nofinesset", "code", pattern=FINESS_PATTERN, nullable=False),
            Column("rs"),
            Column("commune", "code", pattern=r"\d{3}|" + COMMUNE_PATTERN),
            Column("departement", "code", pattern=r"\d{2}|2[AB]|9[A-Z]"),
            Column("categetab", "code", pattern=r"\d{3}"),
            Column("libcategetab"),
        ],
    )
    first_lines = [n for n, _ in sections["structureet"]]
    unique_rows(etab, ["nofinesset"], path=path, lines=first_lines, what="numéro FINESS")
    geo_columns = [
        Column("nofinesset", "code", pattern=FINESS_PATTERN, nullable=False),
        Column("coordxet", "float"),
        Column("coordyet", "float"),
        Column("sourcecoordet"),
    ]
    if sections["geolocalisation"]:
        geo = _read_section(path, sections["geolocalisation"], GEOLOCALISATION_FIELDS, geo_columns)
        geo_lines = [n for n, _ in sections["geolocalisation"]]
        geo = unique_rows(
            geo,
            ["nofinesset"],
            path=path,
            lines=geo_lines,
            what="géolocalisation du numéro FINESS",
            policy="drop",
        )
    else:
        geo = pd.DataFrame({c.name: pd.Series(dtype="object") for c in geo_columns})
    geo = geo[["nofinesset", "coordxet", "coordyet", "sourcecoordet"]]
    merged = etab.merge(geo, on="nofinesset", how="left", validate="1:1")
    overseas = merged["departement"].str.fullmatch(r"9[A-Z]")
    commune = merged["commune"].where(
        merged["commune"].str.len() != 3,
        np.where(overseas, "97", merged["departement"]) + merged["commune"],
    )
    commune = commune.where(merged["commune"].ne(""), "")
    return _from_projected(
        path,
        lines=first_lines,
        columns=("coordxet", "coordyet"),
        finess=merged["nofinesset"],
        name=merged["rs"],
        category_code=merged["categetab"],
        category_label=merged["libcategetab"],
        commune_code=commune,
        x=pd.to_numeric(merged["coordxet"]),
        y=pd.to_numeric(merged["coordyet"]),
        sources=merged["sourcecoordet"].fillna(""),
    )
