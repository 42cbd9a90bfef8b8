"""Exports of indicator tables: CSV, GeoPackage, GeoParquet."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd

from accesoins.errors import UnknownChoiceError

Format = Literal["csv", "csv-excel", "gpkg", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "csv-excel", "gpkg", "parquet")
# French headers of the spreadsheet CSV (« csv-excel »); other columns keep their name.
EXCEL_HEADERS: dict[str, str] = {
    "snapshot_id": "Instantané",
    "unit_id": "Code",
    "id": "Code",
    "name": "Nom",
    "parent_id": "Code englobant",
    "level": "Niveau",
    "profession": "Profession",
    "headcount": "Effectif (praticiens)",
    "etp": "Équivalents temps plein",
    "population": "Population",
    "population_standardised": "Population standardisée (âge)",
    "density_per_100k": "Densité (ETP pour 100 000 hab.)",
    "std_density_per_100k": "Densité standardisée (ETP pour 100 000 hab.)",
    "apl": "APL (consultations par hab. et par an)",
    "apl_class": "Classe d'APL",
    "access": "Accessibilité",
    "apl_before": "APL avant",
    "apl_after": "APL après",
    "delta": "Écart d'APL",
    "n_commune": "Activités localisées à la commune",
    "n_etablissement": "Activités localisées à l'établissement",
    "n_iris": "Activités localisées à l'IRIS",
    "practitioner_id": "Identifiant du praticien",
    "communes": "Communes",
}


def export_table(frame: pd.DataFrame, path: str | Path, *, fmt: str, layer: str = "indicateurs") -> Path:
    """Write ``frame`` to ``path`` in ``fmt``; the file appears whole or not at all.

    CSV gets no geometry (UTF-8, comma, point as decimal separator: for analysts); ``csv-excel`` is
    the same table for French spreadsheets (« ; », decimal comma, UTF-8 with BOM, French headers);
    GeoPackage and GeoParquet keep the geometry (EPSG:4326).
    """
    if fmt not in FORMATS:
        raise UnknownChoiceError("Format", fmt, FORMATS)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partiel-{path.name}")  # same extension: GDAL picks its driver from it
    partial.unlink(missing_ok=True)
    if fmt in ("csv", "csv-excel"):
        table = pd.DataFrame(frame).drop(columns=[c for c in ("geometry",) if c in frame.columns])
        if fmt == "csv":
            table.to_csv(partial, index=False)
        else:
            table = table.rename(columns=EXCEL_HEADERS)
            table.to_csv(partial, index=False, sep=";", decimal=",", encoding="utf-8-sig")
    elif fmt == "gpkg":
        gpd.GeoDataFrame(frame).to_file(partial, layer=layer, driver="GPKG", engine="pyogrio")
    else:
        gpd.GeoDataFrame(frame).to_parquet(partial)
    partial.replace(path)
    return path
