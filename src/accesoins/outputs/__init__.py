"""Outputs: exports of snapshot tables for spreadsheets and GIS (CSV, GeoPackage, GeoParquet), fiches,
brochure; every people count goes through :func:`public_layer`, the one disclosure gate."""

from accesoins.outputs._brochure import BrochureConfig, build_brochure, load_brochure_config
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
    senior_count,
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
from accesoins.outputs._retirements import horizon_table, retirement_section
from accesoins.outputs._trends import trend_section, trend_svg

__all__ = [
    "APL_CLASSES",
    "COLUMN_DOCS",
    "EXPORT_FORMATS",
    "FORMATS",
    "GRID_STEPS_M",
    "PEOPLE_COLUMNS",
    "BrochureConfig",
    "Gate",
    "ReportBuilder",
    "Violation",
    "build_brochure",
    "check_disclosure",
    "check_frame",
    "disclosure_k",
    "export_observatory",
    "export_table",
    "horizon_table",
    "load_brochure_config",
    "public_layer",
    "public_layers",
    "public_sites",
    "public_zone_comparison",
    "render_pdf",
    "retirement_section",
    "senior_count",
    "snapshot_gate",
    "trend_section",
    "trend_svg",
]
