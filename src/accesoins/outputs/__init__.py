"""Outputs: exports of snapshot tables for spreadsheets and GIS (CSV, GeoPackage, GeoParquet)."""

from accesoins.outputs._disclosure import (
    DEFAULT_K,
    PEOPLE_COLUMNS,
    Violation,
    check_disclosure,
    check_frame,
    disclose_layer,
    merge_small_units,
)
from accesoins.outputs._export import FORMATS, export_table
from accesoins.outputs._gpkg import (
    APL_CLASSES,
    COLUMN_DOCS,
    EXPORT_FORMATS,
    export_observatory,
    public_layers,
)
from accesoins.outputs._report import ReportBuilder, render_pdf

__all__ = [
    "APL_CLASSES",
    "COLUMN_DOCS",
    "DEFAULT_K",
    "EXPORT_FORMATS",
    "FORMATS",
    "PEOPLE_COLUMNS",
    "ReportBuilder",
    "Violation",
    "check_disclosure",
    "check_frame",
    "disclose_layer",
    "export_observatory",
    "export_table",
    "merge_small_units",
    "public_layers",
    "render_pdf",
]
