"""Outputs: exports of snapshot tables for spreadsheets and GIS (CSV, GeoPackage, GeoParquet), fiches,
brochure, territory diagnostic (PDF + DOCX); every people count goes through :func:`public_layer`, the one
disclosure gate."""

from accesoins.outputs._brochure import BrochureConfig, build_brochure, load_brochure_config
from accesoins.outputs._diagnostic import Diagnostic, build_diagnostic, write_diagnostic
from accesoins.outputs._disclosure import (
    GRID_STEPS_M,
    PEOPLE_COLUMNS,
    Gate,
    ScenarioGate,
    Violation,
    check_disclosure,
    check_frame,
    disclosure_k,
    public_layer,
    public_sites,
    scenario_gate,
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
from accesoins.outputs._needs import (
    PRIORITY_NOTE,
    IndicatorSheet,
    LocalData,
    indicator_rows,
    indicator_sheet,
    local_data,
    priority_need,
    with_local_indicators,
    zone_aid,
    zone_rule,
    zoning_rows,
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
    "PRIORITY_NOTE",
    "BrochureConfig",
    "Diagnostic",
    "Gate",
    "IndicatorSheet",
    "LocalData",
    "ReportBuilder",
    "ScenarioGate",
    "Violation",
    "build_brochure",
    "build_diagnostic",
    "check_disclosure",
    "check_frame",
    "disclosure_k",
    "export_observatory",
    "export_table",
    "horizon_table",
    "indicator_rows",
    "indicator_sheet",
    "load_brochure_config",
    "local_data",
    "priority_need",
    "public_layer",
    "public_layers",
    "public_sites",
    "public_zone_comparison",
    "render_pdf",
    "retirement_section",
    "scenario_gate",
    "senior_count",
    "snapshot_gate",
    "trend_section",
    "trend_svg",
    "with_local_indicators",
    "write_diagnostic",
    "zone_aid",
    "zone_rule",
    "zoning_rows",
]
