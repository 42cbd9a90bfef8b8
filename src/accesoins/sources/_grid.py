"""INSEE Filosofi 200 m population grid.

Refuses what cannot be: a cell given twice, a cell outside France, a population that is
negative, infinite or larger than a 200 m square can hold.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from accesoins.errors import DataFileError
from accesoins.sources._table import Column, first_line, parse_numbers, read_table
from accesoins.sources._validate import (
    check_projected,
    check_unique_names,
    unique_rows,
)

GRID_CRS = "EPSG:3035"
CELL_M = 200.0
MAX_CELL_POPULATION = 50_000.0  # the densest 200 m cells of Paris hold about 10,000 people
MAX_QPV_POPULATION = 100_000.0  # the largest QPV hold about 40,000 people
LARGE_FILE_BYTES = 64 * 2**20  # above this, only NEEDED_COLUMNS are read (the national file: ~500 MB)
NEEDED_COLUMNS = ("idcar_200m", "ind", "imputed")


def _needed_columns(path: Path, head: str, sep: str) -> pd.DataFrame:
    """Only the cell, population and imputation columns of a large file (a national one holds ~30).

    Read by pandas' C parser as text, so the national file takes a few hundred
    megabytes instead of every field of 2.3 million lines; an unclosed quote
    is a French error naming its line. Unlike small files, extra fields beyond
    the header are not refused here (the parser skips them with the unread columns).
    """
    header = [c.strip().strip('"').lstrip("\ufeff") for c in head.rstrip("\r\n").split(sep)]
    check_unique_names(header, path=path)
    wanted = [i for i, c in enumerate(header) if c in NEEDED_COLUMNS]
    try:
        frame = pd.read_csv(
            path, sep=sep, usecols=wanted, dtype=str, keep_default_na=False, encoding="utf-8", engine="c"
        )
    except UnicodeDecodeError as exc:
        raise DataFileError(f"encodage illisible (UTF-8 attendu) : {exc.reason}", path=path) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        line = re.search(r"line (\d+)", str(exc))  # pandas: "line" counts from 1, "row" from 0
        row = re.search(r"row (\d+)", str(exc))
        raise DataFileError(
            "ligne mal formée (guillemet non fermé ou champs en trop)",
            path=path,
            line=int(line.group(1)) if line else int(row.group(1)) + 1 if row else None,
        ) from exc
    frame.columns = [header[i] for i in wanted]
    return frame


def read_filosofi_grid(path: str | Path) -> gpd.GeoDataFrame:
    """Populated 200 m cells (ETRS89-LAEA, EPSG:3035) of an INSEE Filosofi grid extract.

    Accepts the INSEE column names (``idcar_200m``/``Idcar_200m``, ``ind``/``Ind``)
    and lower-left corners ``x_ll, y_ll`` or the corner encoded in the
    identifier (``CRS3035RES200mN{y}E{x}``); an extract or the whole national
    file (over ``LARGE_FILE_BYTES``, only the needed columns are read). Returns ``cell_id``,
    ``population`` (individuals, may be fractional), ``imputed`` (bool) and the
    cell square as geometry.
    """
    path = Path(path)
    head = first_line(path).lower()
    sep = ";" if head.count(";") > head.count(",") else ","
    if path.stat().st_size > LARGE_FILE_BYTES:
        frame = _needed_columns(path, head, sep)
    else:
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
