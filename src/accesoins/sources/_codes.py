"""Codes of the sources stage: source names (the catalogue, recorded in snapshots) and professions.

The values are the strings stored in snapshots; French labels in :mod:`accesoins.labels`
(those of professions come from ``parameters/professions.csv``).
"""

from __future__ import annotations

from enum import StrEnum


class SourceName(StrEnum):
    """Name of an official source in the catalogue and in a snapshot's ``sources`` table."""

    ANNUAIRE_SANTE = "annuaire_sante"
    FINESS = "finess"
    APL_DREES = "apl_drees"
    POPULATION_IRIS = "population_iris"
    GP_IRIS = "gp_iris"
    OD_TABLE = "od_table"
    FILOSOFI_GRID = "filosofi_grid"
    QPV = "qpv"
    IRIS_CONTOURS = "iris_contours"
    QUARTIERS = "quartiers"
    URBAN_UNITS = "unites_urbaines"
    OSM = "osm"
    LOCAL_INDICATORS = "indicateurs_locaux"
    ARS_ZONING = "zonage_ars"
    COMMUNE_BASSINS = "commune_bassins"


class Profession(StrEnum):
    """Profession keys of ``parameters/professions.csv`` (``autre``: every profession outside it)."""

    GENERALISTE = "generaliste"
    AUTRE_SPECIALISTE = "autre_specialiste"
    DENTISTE = "dentiste"
    GYNECOLOGUE = "gynecologue"
    INFIRMIER = "infirmier"
    KINESITHERAPEUTE = "kinesitherapeute"
    NEUROLOGUE = "neurologue"
    OPHTALMOLOGUE = "ophtalmologue"
    ORTHOPHONISTE = "orthophoniste"
    ORTHOPTISTE = "orthoptiste"
    PEDIATRE = "pediatre"
    PHARMACIEN = "pharmacien"
    PSYCHIATRE = "psychiatre"
    SAGE_FEMME = "sage_femme"
    AUTRE = "autre"
