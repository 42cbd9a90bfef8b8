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
from accesoins.geo._coverage import Coverage, covered_departments, on_covered
from accesoins.geo._establishments import establishments_in
from accesoins.geo._place import PRECISIONS, assign_units, commune_points, place_activities
from accesoins.geo._surroundings import Surroundings, with_surroundings
from accesoins.geo._territory import Territory, parse_territory
from accesoins.geo._zones import (
    MESH_METHODS,
    in_territory,
    named_polygons,
    parent_communes,
    population_mesh,
    urban_unit_parts,
    whole_commune_parts,
    zone_mesh,
    zone_supply,
    zone_units,
    zone_weights,
    zones_from_iris,
)

__all__ = [
    "MESH_METHODS",
    "PRECISIONS",
    "UNIT_COLUMNS",
    "Coverage",
    "Level",
    "Precision",
    "Surroundings",
    "Territory",
    "assign_units",
    "commune_origins",
    "commune_points",
    "covered_departments",
    "establishments_in",
    "grid_cells",
    "hull_coverage",
    "in_cells",
    "in_territory",
    "locate_activities",
    "named_polygons",
    "on_covered",
    "overlapping",
    "parent_communes",
    "parse_territory",
    "place_activities",
    "population_mesh",
    "practice_sites",
    "site_points",
    "unit_rows",
    "units_table",
    "urban_unit_parts",
    "whole_commune_parts",
    "with_surroundings",
    "zone_mesh",
    "zone_supply",
    "zone_units",
    "zone_weights",
    "zones_from_iris",
]
