"""French label of every code the stages produce: the one place where a code becomes words.

Each stage owns the enums of its codes (values as stored in snapshots); pages,
PDFs, the web and messages show ``label(code)``, never the code. A test checks
that every member of every enum in :data:`ENUMS` has a label.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from accesoins.french import format_number
from accesoins.geo import Level, Precision
from accesoins.indicators import APL_CLASS_BOUNDS, AplClass, DemandMethod, apl_class
from accesoins.network import CostSourceCode
from accesoins.sources import Profession, SourceName, ZoningClass, load_professions

__all__ = [
    "APL_CLASS_NOTE",
    "ENUMS",
    "LOCAL_SOURCES",
    "apl_class_label",
    "apl_class_range",
    "format_threshold",
    "label",
    "label_of",
    "level_plural",
]

ENUMS: tuple[type[StrEnum], ...] = (
    AplClass,
    CostSourceCode,
    DemandMethod,
    Level,
    Precision,
    Profession,
    SourceName,
    ZoningClass,
)
"""Every enum of codes that may reach a French page."""

LOCAL_SOURCES: dict[str, str] = {"departures": "Fichier local des départs en retraite (âges)"}
"""Local files a snapshot records among its sources (no official publisher, not in ``sources.CATALOG``)."""

APL_CLASS_NOTE = "indicatif — ce n'est pas le zonage de l'ARS"
"""Shown beside accesoins' own APL classes: the ARS zoning adds criteria of its own."""

# Keyed by enum type: members of different enums share values ("commune", "iris") and hashes.
_LABELS: dict[type[StrEnum], dict[str, str]] = {
    ZoningClass: {
        ZoningClass.TRES_SOUS_DOTEE: "zone très sous-dotée (zonage de l'ARS)",
        ZoningClass.SOUS_DOTEE: "zone sous-dotée (zonage de l'ARS)",
        ZoningClass.INTERMEDIAIRE: "zone intermédiaire (zonage de l'ARS)",
        ZoningClass.TRES_DOTEE: "zone très dotée (zonage de l'ARS)",
        ZoningClass.SUR_DOTEE: "zone sur-dotée (zonage de l'ARS)",
        ZoningClass.ZIP: "zone d'intervention prioritaire (ZIP, zonage de l'ARS)",
        ZoningClass.ZAC: "zone d'action complémentaire (ZAC, zonage de l'ARS)",
        ZoningClass.HORS_ZONAGE: "hors zone prioritaire (zonage de l'ARS)",
        ZoningClass.NON_DISPONIBLE: "zonage non disponible",
    },
    AplClass: {
        AplClass.SOUS_DOTEE: "sous-dotée",
        AplClass.INTERMEDIAIRE: "intermédiaire",
        AplClass.BIEN_DOTEE: "bien dotée",
    },
    CostSourceCode: {
        CostSourceCode.VOL_OISEAU: "temps de trajet estimés à vol d'oiseau "
        "(distance corrigée, vitesse moyenne)",
        CostSourceCode.ROUTE: "temps de trajet en voiture sur le réseau routier OpenStreetMap",
        CostSourceCode.MARCHE: "temps de trajet à pied sur les chemins OpenStreetMap",
        CostSourceCode.DISTANCIER: "temps de trajet lus dans un distancier (table de temps entre unités)",
    },
    DemandMethod: {
        DemandMethod.INSEE_AGES_IRIS: "population pondérée par l'âge (âges de l'INSEE par IRIS)",
        DemandMethod.RATIO_DREES: "population pondérée par l'âge selon le ratio de la DREES",
        DemandMethod.NON_STANDARDISEE: "population totale, sans pondération par l'âge",
    },
    Level: {
        Level.COMMUNE: "commune",
        Level.IRIS: "IRIS",
        Level.CARREAU: "carreau de 200 m",
        Level.QPV: "quartier prioritaire (QPV)",
        Level.QUARTIER: "quartier",
    },
    Precision: {
        Precision.ETABLISSEMENT: "à l'adresse de l'établissement (FINESS)",
        Precision.ADRESSE: "à l'adresse d'exercice",
        Precision.IRIS: "au centre de l'IRIS",
        Precision.COMMUNE: "au centre de la commune (localisation approchée)",
        Precision.INCONNUE: "localisation inconnue",
    },
    SourceName: {
        SourceName.ANNUAIRE_SANTE: "Annuaire santé (RPPS)",
        SourceName.FINESS: "FINESS (établissements)",
        SourceName.APL_DREES: "APL de la DREES",
        SourceName.POPULATION_IRIS: "Population par âge et par IRIS (INSEE)",
        SourceName.GP_IRIS: "Médecins généralistes par IRIS (étude tierce)",
        SourceName.OD_TABLE: "Distancier (temps de trajet entre unités)",
        SourceName.FILOSOFI_GRID: "Population carroyée 200 m (INSEE Filosofi)",
        SourceName.QPV: "Quartiers prioritaires (QPV)",
        SourceName.IRIS_CONTOURS: "Contours des IRIS (IGN)",
        SourceName.QUARTIERS: "Quartiers de la collectivité",
        SourceName.URBAN_UNITS: "Unités urbaines (INSEE)",
        SourceName.OSM: "OpenStreetMap (réseau routier)",
        SourceName.LOCAL_INDICATORS: "Indicateurs locaux de besoin (INSEE, CartoSanté…)",
        SourceName.ARS_ZONING: "Zonage de l'ARS (CartoSanté)",
        SourceName.COMMUNE_BASSINS: "Bassins de vie des communes (INSEE)",
    },
}
_LEVEL_PLURALS = {
    Level.COMMUNE: "Communes",
    Level.IRIS: "IRIS",
    Level.CARREAU: "Carreaux de 200 m",
    Level.QPV: "Quartiers prioritaires (QPV)",
    Level.QUARTIER: "Quartiers",
}


@cache
def _profession_labels() -> dict[str, str]:
    """Profession labels are defined once, in ``parameters/professions.csv``."""
    table = load_professions()
    return dict(zip(table["profession"], table["label"], strict=True))


def label(code: StrEnum) -> str:
    """French label of a code.

    Examples
    --------
    >>> label(Precision.ETABLISSEMENT), label(AplClass.BIEN_DOTEE), label(Profession.GENERALISTE)
    ("à l'adresse de l'établissement (FINESS)", 'bien dotée', 'Médecin généraliste')
    """
    if isinstance(code, Profession):
        return _profession_labels()[code.value]
    return _LABELS[type(code)][code.value]


def label_of(kind: type[StrEnum], value: object, *, default: str = "—") -> str:
    """Label of a stored ``value`` of enum ``kind``; ``default`` for a value that is no code of it.

    Snapshots store plain strings: a value written by another version shows as
    ``default`` rather than as a raw code.

    Examples
    --------
    >>> label_of(CostSourceCode, "table"), label_of(Level, "canton")
    ('temps de trajet lus dans un distancier (table de temps entre unités)', '—')
    """
    try:
        return label(kind(str(value)))
    except ValueError:
        return default


def level_plural(level: Level) -> str:
    """Plural heading of a level (« Carreaux de 200 m »), for lists and menus."""
    return _LEVEL_PLURALS[level]


def format_threshold(value: float) -> str:
    """A class bound the French way, without useless decimals (« 2,5 », « 4 »)."""
    return format_number(value, 0 if float(value).is_integer() else 1)


def apl_class_range(cls: AplClass) -> str:
    """The values of an APL class in words (« moins de 2,5 », « 2,5 à moins de 4 », « 4 et plus »)."""
    uppers = dict(APL_CLASS_BOUNDS)
    order = [c for c, _ in APL_CLASS_BOUNDS]
    i = order.index(cls)
    if i == 0:
        return f"moins de {format_threshold(uppers[cls])}"
    lower = format_threshold(uppers[order[i - 1]])
    if i == len(order) - 1:
        return f"{lower} et plus"
    return f"{lower} à moins de {format_threshold(uppers[cls])}"


def apl_class_label(value: float | None, *, note: bool = False) -> str:
    """Label of the class of an APL value (« APL non calculée » when missing), with the ARS note if asked.

    Examples
    --------
    >>> apl_class_label(2.0), apl_class_label(4.2, note=True), apl_class_label(None)
    ('sous-dotée', "bien dotée (indicatif — ce n'est pas le zonage de l'ARS)", 'APL non calculée')
    """
    cls = apl_class(value)
    if cls is None:
        return "APL non calculée"
    return f"{label(cls)} ({APL_CLASS_NOTE})" if note else label(cls)
