"""Outputs: exports of snapshot tables for spreadsheets and GIS (CSV, GeoPackage, GeoParquet), fiches,
brochure, territory diagnostic (PDF + DOCX); every people count goes through :func:`public_layer`, the one
disclosure gate."""

from accesoins.outputs._brochure import BrochureConfig, build_brochure, load_brochure_config
from accesoins.outputs._diagnostic import Diagnostic, build_diagnostic, write_diagnostic
from accesoins.outputs._disclosure import (
    GRID_STEPS_M,
    PEOPLE_COLUMNS,
    Gate,
    Violation,
    check_disclosure,
    check_frame,
    disclosure_k,
    public_layer,
    public_sites,
    snapshot_gate,
)
from accesoins.outputs._export import FORMATS, export_table
from accesoins.outputs._gpkg import (
    APL_CLASSES,
    COLUMN_DOCS,
    EXPORT_FORMATS,
    export_observatory,
    public_layers,
    public_zone_comparison,
)
from accesoins.outputs._report import ReportBuilder, render_pdf

__all__ = [
    "APL_CLASSES",
    "COLUMN_DOCS",
    "EXPORT_FORMATS",
    "FORMATS",
    "GRID_STEPS_M",
    "PEOPLE_COLUMNS",
    "BrochureConfig",
    "Diagnostic",
    "Gate",
    "ReportBuilder",
    "Violation",
    "build_brochure",
    "build_diagnostic",
    "check_disclosure",
    "check_frame",
    "disclosure_k",
    "export_observatory",
    "export_table",
    "load_brochure_config",
    "public_layer",
    "public_layers",
    "public_sites",
    "public_zone_comparison",
    "render_pdf",
    "snapshot_gate",
    "write_diagnostic",
]
