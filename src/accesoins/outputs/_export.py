"""Exports of indicator tables: CSV, GeoPackage, GeoParquet."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd

from accesoins.errors import UnknownChoiceError

Format = Literal["csv", "gpkg", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "gpkg", "parquet")


def export_table(frame: pd.DataFrame, path: str | Path, *, fmt: str, layer: str = "indicateurs") -> Path:
    """Write ``frame`` to ``path`` in ``fmt``; the file appears whole or not at all.

    CSV gets no geometry (UTF-8, comma, point as decimal separator); GeoPackage
    and GeoParquet keep it (EPSG:4326).
    """
    if fmt not in FORMATS:
        raise UnknownChoiceError("Format", fmt, FORMATS)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partiel-{path.name}")  # same extension: GDAL picks its driver from it
    partial.unlink(missing_ok=True)
    if fmt == "csv":
        table = pd.DataFrame(frame).drop(columns=[c for c in ("geometry",) if c in frame.columns])
        table.to_csv(partial, index=False)
    elif fmt == "gpkg":
        gpd.GeoDataFrame(frame).to_file(partial, layer=layer, driver="GPKG", engine="pyogrio")
    else:
        gpd.GeoDataFrame(frame).to_parquet(partial)
    partial.replace(path)
    return path
