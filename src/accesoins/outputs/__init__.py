"""Outputs: exports of snapshot tables for spreadsheets and GIS (CSV, GeoPackage, GeoParquet)."""

from accesoins.outputs._export import FORMATS, export_table

__all__ = ["FORMATS", "export_table"]
