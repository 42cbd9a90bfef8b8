"""Outputs: exports of snapshot tables for spreadsheets and GIS (CSV, GeoPackage, GeoParquet)."""

from accesoins.outputs._brochure import BrochureConfig, build_brochure, load_brochure_config
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
    "BrochureConfig",
    "ReportBuilder",
    "Violation",
    "build_brochure",
    "check_disclosure",
    "check_frame",
    "disclose_layer",
    "export_observatory",
    "export_table",
    "load_brochure_config",
    "merge_small_units",
    "public_layers",
    "render_pdf",
]
