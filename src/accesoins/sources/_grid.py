"""INSEE Filosofi 200 m population grid and QPV perimeters.

Both refuse what cannot be: a cell or a QPV code given twice, a cell outside
France, a population that is negative, infinite or larger than a 200 m square
can hold, a QPV without an areal geometry. Invalid QPV polygons (self-crossing
rings...) are repaired with a French warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from accesoins.errors import DataFileError
from accesoins.sources._table import Column, first_line, parse_numbers, read_table
from accesoins.sources._validate import (
    check_field_lengths,
    check_lonlat,
    check_projected,
    check_range,
    check_unique_names,
    unique_rows,
    valid_polygons,
)

GRID_CRS = "EPSG:3035"
CELL_M = 200.0
MAX_CELL_POPULATION = 50_000.0  # the densest 200 m cells of Paris hold about 10,000 people
MAX_QPV_POPULATION = 100_000.0  # the largest QPV hold about 40,000 people


def read_filosofi_grid(path: str | Path) -> gpd.GeoDataFrame:
    """Populated 200 m cells (ETRS89-LAEA, EPSG:3035) of an INSEE Filosofi grid extract.

    Accepts the INSEE column names (``idcar_200m``/``Idcar_200m``, ``ind``/``Ind``)
    and lower-left corners ``x_ll, y_ll`` or the corner encoded in the
    identifier (``CRS3035RES200mN{y}E{x}``). Returns ``cell_id``,
    ``population`` (individuals, may be fractional), ``imputed`` (bool) and the
    cell square as geometry.
    """
    path = Path(path)
    head = first_line(path).lower()
    sep = ";" if head.count(";") > head.count(",") else ","
    frame = read_table(
        path, [Column("idcar_200m", "code", r"CRS3035RES200mN\d+E\d+", required=False)], sep=sep
    )
    check_unique_names([c.lower() for c in frame.columns], path=path)
    frame.columns = [c.lower() for c in frame.columns]
    if "idcar_200m" not in frame.columns or "ind" not in frame.columns:
        raise DataFileError("colonnes « idcar_200m » et « ind » attendues", path=path, line=1)
    ident = frame["idcar_200m"].str.extract(r"N(?P<y>\d+)E(?P<x>\d+)")
    bad = ident["x"].isna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataFileError(
            f"identifiant de carreau invalide « {frame['idcar_200m'].iloc[i]} »",
            path=path,
            line=i + 2,
            column="idcar_200m",
        )
    unique_rows(frame, ["idcar_200m"], path=path, lines=2, what="carreau")
    x = ident["x"].astype(float).to_numpy()
    y = ident["y"].astype(float).to_numpy()
    check_projected(
        x + CELL_M / 2, y + CELL_M / 2, crs=GRID_CRS, path=path, lines=2, columns=("idcar_200m", "idcar_200m")
    )
    pop = parse_numbers(
        frame["ind"], path=path, column="ind", first_line=2, minimum=0, maximum=MAX_CELL_POPULATION
    )
    imputed = frame.get("imputed", pd.Series("0", index=frame.index)).isin(["1", "true", "True"])
    return gpd.GeoDataFrame(
        {"cell_id": frame["idcar_200m"], "population": pop.astype(float), "imputed": imputed.to_numpy()},
        geometry=shapely.box(x, y, x + CELL_M, y + CELL_M),
        crs=GRID_CRS,
    )


def read_qpv(path: str | Path) -> gpd.GeoDataFrame:
    """QPV perimeters (2015 ``QPxxxxxx`` or 2024 ``QNxxxxxM`` generations), any OGR format.

    Returns ``qpv_code``, ``name``, ``commune_name``, ``generation`` (2015 or
    2024), ``population`` when the file has it, and the polygons in EPSG:4326.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError("fichier introuvable (ou répertoire au lieu d'un fichier)", path=path)
    try:
        with warnings.catch_warnings():  # unclosed rings, unparsable values: checked below, in French
            warnings.simplefilter("ignore")
            frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises DataSourceError, GEOSException and others
        raise DataFileError(f"périmètres QPV illisibles ({exc})", path=path) from exc
    check_unique_names([c.lower() for c in frame.columns], path=path)
    cols = {c.lower(): c for c in frame.columns}
    code_col = cols.get("code_qp") or cols.get("code_qpv")
    if code_col is None:
        raise DataFileError("colonne « CODE_QP » (ou « code_qpv ») attendue", path=path, column="CODE_QP")
    if frame.empty:
        raise DataFileError("aucun périmètre QPV dans le fichier", path=path)
    if frame.crs is None:
        raise DataFileError("système de coordonnées absent (EPSG:4326 ou 2154 attendu)", path=path)
    name_col = cols.get("nom_qp") or cols.get("lib_qp") or code_col
    codes = frame[code_col].astype(str).str.strip()
    bad = ~codes.str.fullmatch(r"QP\d{6}|QN\d{5}[A-Z]")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFileError(
            f"code QPV invalide « {codes.iloc[i]} »", path=path, feature=i + 1, column=code_col
        )
    check_field_lengths(frame.drop(columns=frame.geometry.name), path=path, first_line=None)
    geometry = valid_polygons(frame.geometry, path=path, lines=None, column="geometry", what="QPV")
    out = gpd.GeoDataFrame(
        {
            "qpv_code": codes,
            "name": frame[name_col].astype(str),
            "commune_name": frame[cols["commune_qp"]].astype(str) if "commune_qp" in cols else "",
        },
        geometry=geometry,
        crs=frame.crs,
    )
    unique_rows(out, ["qpv_code"], path=path, lines=None, what="code QPV")
    out["generation"] = out["qpv_code"].str.startswith("QN").map({True: 2024, False: 2015})
    if "pop" in cols:
        text = frame[cols["pop"]].astype(str).str.replace(r"\s", "", regex=True)
        population = pd.to_numeric(text.mask(text.isin(["", "None", "nan"])), errors="coerce")
        check_range(
            population,
            path=path,
            column=cols["pop"],
            lines=None,
            maximum=MAX_QPV_POPULATION,
            allow_missing=True,
        )
        out["population"] = population
    out = out.to_crs("EPSG:4326")
    bounds = out.geometry.bounds.to_numpy()
    for corner in ((0, 1), (2, 3)):
        check_lonlat(
            bounds[:, corner[0]],
            bounds[:, corner[1]],
            path=path,
            lines=None,
            columns=("geometry", "geometry"),
        )
    return out
