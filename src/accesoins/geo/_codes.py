"""Codes produced by the geo stage: how precisely a practice is located, and the levels of units.

The values are the strings stored in snapshots; their French labels live in :mod:`accesoins.labels`.
"""

from __future__ import annotations

from enum import StrEnum


class Precision(StrEnum):
    """Where an activity was placed, from the most to the least precise."""

    ETABLISSEMENT = "etablissement"
    ADRESSE = "adresse"
    IRIS = "iris"
    COMMUNE = "commune"
    INCONNUE = "inconnue"


class Level(StrEnum):
    """Geographic level of a unit of the observatory."""

    COMMUNE = "commune"
    IRIS = "iris"
    CARREAU = "carreau"
    QPV = "qpv"
    QUARTIER = "quartier"
