"""Pydantic schemas of the web API responses (one per use; French descriptions for OpenAPI)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SnapshotPublic(BaseModel):
    """Un instantané complet de l'entrepôt."""

    snapshot_id: str = Field(description="Identifiant de l'instantané (territoire-horodatage).")
    territory: str = Field(description="Territoire construit (département, EPCI ou liste de communes).")
    created_at: str = Field(description="Date de construction (UTC).")
    latest: bool = Field(description="Vrai pour l'instantané servi par défaut (le plus récent).")


class Choice(BaseModel):
    """Une valeur possible d'un paramètre, avec son libellé français."""

    id: str
    label: str


class LevelChoice(Choice):
    count: int = Field(description="Nombre d'unités de ce niveau.")


class MeasureChoice(Choice):
    unit: str = Field(description="Unité de l'indicateur.")
    generaliste_only: bool = Field(
        description="Vrai si l'indicateur n'existe que pour les médecins généralistes."
    )
    levels: list[str] = Field(
        description="Niveaux où l'indicateur a un sens (pas de densité au carreau de 200 m)."
    )


class SourceVintage(BaseModel):
    """Millésime d'une source de l'instantané."""

    source: str
    label: str = Field(description="Nom de la source.")
    vintage: str = Field(description="Année des données (d'après le fichier ou les paramètres APL).")


class PrecisionChoice(Choice):
    color: str = Field(description="Couleur des sites de cette précision sur la carte.")


class LocalIndicatorChoice(BaseModel):
    """Un indicateur local attaché à l'instantané (pauvreté, ALD, personnes seules…)."""

    id: str = Field(description="Clé de l'indicateur (ex. taux_pauvrete).")
    level: str = Field(description="Niveau de ses valeurs (iris, commune, qpv, carreau, bassin_vie).")
    label: str
    unit: str
    year: int | None = Field(description="Année des données.")
    source: str = Field(description="Producteur et fichier d'origine.")
    is_count: bool = Field(description="Vrai pour un effectif de personnes (soumis au secret statistique).")
    on_map: bool = Field(description="Vrai si l'indicateur peut être affiché en couche sur la carte.")


class CatalogPublic(BaseModel):
    """Niveaux, professions, indicateurs et méthodes de classes disponibles dans un instantané."""

    snapshot_id: str
    territory: str = Field(description="Territoire de l'instantané.")
    created_at: str = Field(description="Date de construction (UTC).")
    description: str = Field(description="Paramètres de construction en une ligne (APL, temps, demande…).")
    precision: dict[str, int] = Field(description="Activités par précision de localisation (code).")
    precision_labels: dict[str, str] = Field(description="Libellé français de chaque code de précision.")
    levels: list[LevelChoice]
    professions: list[Choice]
    measures: list[MeasureChoice]
    methods: list[Choice]
    precisions: list[PrecisionChoice]
    sources: list[SourceVintage] = Field(description="Millésime de chaque source, pour l'en-tête des pages.")
    local_indicators: list[LocalIndicatorChoice] = Field(
        default=[], description="Indicateurs locaux de besoin attachés à la construction."
    )


class UnitSummary(BaseModel):
    """Une unité (commune, IRIS, carreau) dans une liste de recherche."""

    unit_id: str
    name: str | None
    population: float | None


class DepartementReference(BaseModel):
    """Référence départementale : agrégat pondéré par la population des communes de l'instantané."""

    code: str
    label: str
    headcount: int | None
    etp: float | None
    population: float | None
    density_per_100k: float | None
    std_density_per_100k: float | None
    apl: float | None


class NationalReference(BaseModel):
    """Référence nationale : APL moyenne de la France entière publiée par la DREES."""

    apl: float = Field(description="APL moyenne nationale pondérée par la population.")
    vintage: int | None = Field(description="Millésime DREES.")
    label: str
    apl_drees_unit: float | None = Field(description="APL publiée par la DREES pour cette commune.")


class Change(BaseModel):
    """Évolution depuis l'instantané précédent du même territoire."""

    previous_snapshot_id: str
    changed: bool
    headcount_before: float | None = None
    headcount_after: float | None = None
    headcount_delta: float | None = None
    density_per_100k_before: float | None = None
    density_per_100k_after: float | None = None
    density_per_100k_delta: float | None = None
    apl_before: float | None = None
    apl_after: float | None = None
    apl_delta: float | None = None
    arrivals: int | None = Field(default=None, description="Praticiens arrivés dans la commune.")
    departures: int | None = Field(default=None, description="Praticiens partis de la commune.")


class ProfessionFigures(BaseModel):
    """Chiffres d'une profession dans une unité."""

    profession: str
    label: str
    headcount: int | None = Field(
        description="Effectif de praticiens (inconnu si l'offre n'est connue que par IRIS)."
    )
    etp: float | None = Field(description="Équivalents temps plein.")
    precision: dict[str, int] = Field(description="Activités par précision de localisation (code).")
    precision_labels: dict[str, str] = Field(description="Libellé français de chaque code de précision.")
    density_per_100k: float | None = Field(description="Équivalents temps plein pour 100 000 habitants.")
    std_density_per_100k: float | None = Field(description="Densité sur la population standardisée par âge.")
    apl: float | None = Field(
        description="APL : consultations accessibles par habitant et par an (généralistes)."
    )
    apl_class: str | None = Field(
        description="Code de la classe d'APL : sous_dotee, intermediaire ou bien_dotee "
        "(seuils dans parameters/apl_classes.yaml)."
    )
    apl_class_label: str | None = Field(
        description="Libellé français de la classe d'APL, indicatif (ce n'est pas le zonage de l'ARS)."
    )
    departement: DepartementReference | None
    national: NationalReference | None
    change: Change | None


class ZoneComparisonRow(BaseModel):
    """Une zone (QPV, quartier) comparée au reste de sa commune et de son unité urbaine (une profession)."""

    model_config = ConfigDict(extra="allow")

    profession: str
    label: str
    density_in: float | None = Field(description="ETP pour 100 000 habitants dans la zone.")
    density_rest: float | None = Field(description="ETP pour 100 000 habitants dans le reste de la commune.")
    density_ratio: float | None = Field(description="Rapport des densités zone / reste de la commune.")
    ratio_low: float | None = Field(description="Borne basse de l'intervalle de confiance à 95 %.")
    ratio_high: float | None = Field(description="Borne haute (vide : infinie).")
    density_ratio_uu: float | None = Field(description="Rapport des densités zone / reste de l'unité urbaine")
    ratio_low_uu: float | None = None
    ratio_high_uu: float | None = None
    uu_note: str = Field(description="Unité urbaine comparée, ou pourquoi elle ne l'est pas (en français).")


class LocalIndicatorValue(BaseModel):
    """Valeur d'un indicateur local pour une unité, à côté de celle du territoire."""

    indicator: str
    level: str
    label: str
    unit: str
    year: int | None
    source: str
    is_count: bool
    digits: int = Field(description="Décimales à afficher.")
    value: float | None = Field(
        description="Valeur de l'unité (absente : secret du producteur ou unité regroupée)."
    )
    reference: float | None = Field(
        description="Valeur du territoire (médiane des unités, ou total d'un effectif)."
    )
    reference_label: str = Field(description="Comment la valeur du territoire est obtenue.")
    note: str = Field(description="Précision (ex. valeur du bassin de vie).")


class PriorityClass(BaseModel):
    """Classe de priorité d'accesoins : accès (APL) × besoin, en terciles du territoire."""

    bivariate: str = Field(description="A1 (APL la plus faible) à A3, B1 (besoin le plus faible) à B3.")
    rank: int | None = Field(description="Rang parmi les unités prioritaires A1-B3.")
    need: str = Field(description="Indicateur de besoin croisé.")
    need_label: str
    note: str = Field(description="Rappel : classe indicative, pas le zonage de l'ARS.")


class OfficialZoning(BaseModel):
    """Zonage officiel de l'ARS d'une profession pour une unité."""

    profession: str
    profession_label: str
    zone: str
    label: str = Field(description="Classe du zonage en français.")
    source: str = Field(description="Qui a fixé le zonage et d'où il vient.")
    aid: str = Field(description="Aides à l'installation liées à cette zone (vide : aucune).")
    rule: str = Field(description="Règle d'installation liée à cette zone (vide : aucune).")
    scope: str = Field(description="Unité à laquelle le zonage s'applique (la commune d'un IRIS…).")


class FichePublic(BaseModel):
    """Fiche d'une unité : population, praticiens, densités, APL, références et évolution."""

    snapshot_id: str
    previous_snapshot_id: str | None
    territory: str
    level: str
    level_label: str
    unit_id: str
    name: str | None
    parent_id: str | None
    departement: str | None
    population: float | None
    population_standardised: float | None
    apl_threshold: float = Field(description="Seuil de sous-dotation (consultations par habitant et par an).")
    professions: list[ProfessionFigures]
    notes: list[str] = Field(
        description="Remarques en français (références absentes, localisation approchée…)."
    )
    comparison: list[ZoneComparisonRow] = Field(
        default_factory=list,
        description="QPV ou quartier : comparaison au reste de sa commune et de son unité urbaine (ONPV).",
    )
    local_indicators: list[LocalIndicatorValue] = Field(
        default=[], description="Indicateurs locaux de besoin."
    )
    priority: PriorityClass | None = Field(default=None, description="Classe de priorité accès × besoin.")
    official_zoning: list[OfficialZoning] = Field(default=[], description="Zonages officiels de l'ARS.")


class ComparisonPublic(BaseModel):
    """Deux fiches côte à côte."""

    snapshot_id: str
    level: str
    units: list[FichePublic]
