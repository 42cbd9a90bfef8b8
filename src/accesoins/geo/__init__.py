"""Locate practice activities and territorial units.

Reads the activity tables of :mod:`accesoins.sources`, FINESS establishments,
optional BAN addresses and commune contours; returns point layers with a
``precision`` per placement (establishment / address / IRIS / commune) and the
unit (commune, IRIS, 200 m cell, QPV) that contains each point.
"""

from accesoins.geo._place import PRECISIONS, assign_units, commune_points, place_activities
from accesoins.geo._surroundings import Surroundings, with_surroundings
from accesoins.geo._territory import Territory, parse_territory
from accesoins.geo._zones import (
    MESH_METHODS,
    parent_communes,
    population_mesh,
    zone_supply,
    zone_weights,
    zones_from_iris,
)

__all__ = [
    "MESH_METHODS",
    "PRECISIONS",
    "Surroundings",
    "Territory",
    "assign_units",
    "commune_points",
    "parent_communes",
    "parse_territory",
    "place_activities",
    "population_mesh",
    "with_surroundings",
    "zone_supply",
    "zone_weights",
    "zones_from_iris",
]
