"""Locate practice activities and territorial units.

Reads the activity tables of :mod:`accesoins.sources`, FINESS establishments,
optional BAN addresses and commune contours; returns point layers with a
``precision`` per placement (establishment / address / IRIS / commune) and the
unit (commune, IRIS, 200 m cell, QPV) that contains each point.
"""

from accesoins.geo._build import (
    UNIT_COLUMNS,
    commune_origins,
    grid_cells,
    hull_coverage,
    in_cells,
    locate_activities,
    overlapping,
    practice_sites,
    site_points,
    unit_rows,
    units_table,
)
from accesoins.geo._codes import Level, Precision
from accesoins.geo._establishments import establishments_in
from accesoins.geo._place import PRECISIONS, assign_units, commune_points, place_activities
from accesoins.geo._territory import Territory, parse_territory

__all__ = [
    "PRECISIONS",
    "UNIT_COLUMNS",
    "Level",
    "Precision",
    "Territory",
    "assign_units",
    "commune_origins",
    "commune_points",
    "establishments_in",
    "grid_cells",
    "hull_coverage",
    "in_cells",
    "locate_activities",
    "overlapping",
    "parse_territory",
    "place_activities",
    "practice_sites",
    "site_points",
    "unit_rows",
    "units_table",
]
