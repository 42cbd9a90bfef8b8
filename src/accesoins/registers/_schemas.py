"""Pydantic schemas of the registers: one per use (creation, update, agent view, partner view, public)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

ROLES = ("public", "agent", "administrateur", "partenaire")
Role = Literal["public", "agent", "administrateur", "partenaire"]
REQUEST_STATUSES = ("nouvelle", "en_cours", "installee", "abandonnee")
STATUS_LABELS = {
    "nouvelle": "nouvelle",
    "en_cours": "en cours",
    "installee": "installée",
    "abandonnee": "abandonnée",
    "disponible": "disponible",
    "reserve": "réservé",
    "loue": "loué",
    "proposee": "proposé",
}
"""French label of each status of a request, a premises or a match (pages show these, never the codes)."""
CLOSED_STATUSES = ("installee", "abandonnee")
RequestStatus = Literal["nouvelle", "en_cours", "installee", "abandonnee"]
PROFESSIONS = {
    "generaliste": "médecin généraliste",
    "infirmier": "infirmier ou infirmière",
    "kinesitherapeute": "masseur-kinésithérapeute",
    "chirurgien_dentiste": "chirurgien-dentiste",
    "sage_femme": "sage-femme",
    "pediatre": "pédiatre",
    "autre": "autre profession",
}
Profession = Literal[
    "generaliste", "infirmier", "kinesitherapeute", "chirurgien_dentiste", "sage_femme", "pediatre", "autre"
]
OWNER_KINDS = {
    "bailleur_social": "bailleur social",
    "commune": "commune",
    "intercommunalite": "intercommunalité",
    "prive": "propriétaire privé",
    "autre": "autre",
}
OwnerKind = Literal["bailleur_social", "commune", "intercommunalite", "prive", "autre"]
PremisesStatus = Literal["disponible", "reserve", "loue"]
PROJECT_KINDS = {
    "msp": "maison de santé pluriprofessionnelle",
    "centre_de_sante": "centre de santé",
    "cpts": "communauté professionnelle territoriale de santé",
}
ProjectKind = Literal["msp", "centre_de_sante", "cpts"]
STAGES = {
    "site": "choix du site",
    "mode_de_gestion": "mode de gestion",
    "porteur": "porteur",
    "financement": "financement",
    "projet_de_sante": "projet de santé",
    "recrutement": "recrutement",
    "ouverture": "ouverture",
}
Stage = Literal[
    "site", "mode_de_gestion", "porteur", "financement", "projet_de_sante", "recrutement", "ouverture"
]
DIRECTORY_KINDS = {
    "centre_de_sante": "centre de santé",
    "msp": "maison de santé",
    "medecin_generaliste": "médecin généraliste",
    "pmi": "protection maternelle et infantile (PMI)",
    "cmp": "centre médico-psychologique (santé mentale)",
    "planning_familial": "planning familial, contraception",
    "pass": "permanence d'accès aux soins de santé (PASS)",
    "pharmacie": "pharmacie",
    "autre": "autre lieu d'aide",
}
DirectoryKind = Literal[
    "centre_de_sante",
    "msp",
    "medecin_generaliste",
    "pmi",
    "cmp",
    "planning_familial",
    "pass",
    "pharmacie",
    "autre",
]


_ERRORS = {
    "missing": "obligatoire",
    "float_parsing": "nombre attendu",
    "int_parsing": "nombre entier attendu",
    "date_from_datetime_parsing": "date attendue (jj/mm/aaaa)",
    "date_parsing": "date attendue",
    "string_too_short": "obligatoire",
    "string_too_long": "texte trop long",
    "string_pattern_mismatch": "format non valide",
    "literal_error": "valeur non reconnue",
    "greater_than": "valeur trop petite",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "extra_forbidden": "champ inconnu",
}


def french_error(err: Any) -> str:
    """French message of one pydantic error (``ValidationError.errors()`` item)."""
    text = _ERRORS.get(str(err.get("type", "")), "valeur non valide")
    given = err.get("input")
    if isinstance(given, str | int | float) and err.get("type") != "missing":
        text += f" (reçu « {given} »)"
    return text


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("caractère nul interdit")
    return value


Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_no_nul)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)
]
Long = Annotated[str, StringConstraints(max_length=5000), AfterValidator(_no_nul)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    AfterValidator(_no_nul),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[0-9 +().-]*$")]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Day = Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- installation requests -------------------------------------------------------------------------------
class RequestCreate(_In):
    professional_name: Name = Field(description="nom du ou de la professionnelle")
    email: Email = ""
    phone: Phone = ""
    profession: Profession
    project: Long = Field("", description="projet d'installation en quelques lignes")
    wished_commune: Short = Field("", description="commune ou quartier souhaité")
    wished_lat: Lat | None = None
    wished_lon: Lon | None = None
    wished_radius_km: float = Field(5.0, gt=0, le=200, description="rayon acceptable autour du lieu (km)")
    surface_min_m2: float | None = Field(None, ge=0, le=100_000)
    needs_accessibility: bool = True
    received_on: Day | None = Field(None, description="date de la demande (aujourd'hui par défaut)")
    wished_date: Day | None = Field(None, description="date d'installation souhaitée")
    status: RequestStatus = "nouvelle"
    notes: Long = Field("", description="notes de suivi")


class RequestUpdate(_In):
    professional_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    profession: Profession | None = None
    project: Long | None = None
    wished_commune: Short | None = None
    wished_lat: Lat | None = None
    wished_lon: Lon | None = None
    wished_radius_km: float | None = Field(None, gt=0, le=200)
    surface_min_m2: float | None = Field(None, ge=0, le=100_000)
    needs_accessibility: bool | None = None
    wished_date: Day | None = None
    status: RequestStatus | None = None
    notes: Long | None = None


class RequestOut(_Out):
    id: int
    professional_name: str
    email: str
    phone: str
    profession: str
    project: str
    wished_commune: str
    wished_lat: float | None
    wished_lon: float | None
    wished_radius_km: float
    surface_min_m2: float | None
    needs_accessibility: bool
    received_on: dt.date
    wished_date: dt.date | None
    status: str
    closed_on: dt.date | None
    notes: str
    anonymised_at: dt.datetime | None


# --- premises ---------------------------------------------------------------------------------------------
class PremisesCreate(_In):
    label: Name
    address: Short = ""
    commune: Short = ""
    lat: Lat
    lon: Lon
    surface_m2: float = Field(gt=0, le=100_000)
    rent_eur_month: float | None = Field(None, ge=0, le=1_000_000)
    accessible_pmr: bool = False
    available_on: Day | None = None
    owner_kind: OwnerKind = "autre"
    owner_name: Short = ""
    contact_name: Short = ""
    contact_phone: Phone = ""
    status: PremisesStatus = "disponible"


class PremisesUpdate(_In):
    label: Name | None = None
    address: Short | None = None
    commune: Short | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    surface_m2: float | None = Field(None, gt=0, le=100_000)
    rent_eur_month: float | None = Field(None, ge=0, le=1_000_000)
    accessible_pmr: bool | None = None
    available_on: Day | None = None
    owner_kind: OwnerKind | None = None
    owner_name: Short | None = None
    contact_name: Short | None = None
    contact_phone: Phone | None = None
    status: PremisesStatus | None = None


class PremisesOut(_Out):
    id: int
    label: str
    address: str
    commune: str
    lat: float
    lon: float
    surface_m2: float
    rent_eur_month: float | None
    accessible_pmr: bool
    available_on: dt.date | None
    owner_kind: str
    owner_name: str
    contact_name: str
    contact_phone: str
    status: str


class Criterion(BaseModel):
    """One part of a match score, explained in French."""

    name: Literal["lieu", "surface", "date", "accessibilite", "sous_dotation"]
    points: float
    max_points: float
    explanation: str


class MatchOut(_Out):
    id: int
    request_id: int
    premises_id: int
    premises_label: str
    premises_commune: str
    score: float = Field(description="score sur 100")
    criteria: list[Criterion]
    apl: float | None = Field(description="APL (médecins généralistes) de la commune du local")
    status: str


# --- coordinated-practice projects ---------------------------------------------------------------------
class PartnerIn(_In):
    organisation: Name
    role: Short = ""
    contact_name: Short = ""
    contact_email: Email = ""


class DocumentIn(_In):
    title: Name
    kind: Annotated[str, StringConstraints(max_length=60), AfterValidator(_no_nul)] = ""
    location: Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)] = Field(
        "", description="où trouver le document (dossier partagé, référence)"
    )
    dated: Day | None = None


class ProjectCreate(_In):
    name: Name
    kind: ProjectKind
    commune: Short = ""
    stage: Stage = "site"
    description: Long = ""
    porteur_name: Short = ""
    porteur_email: Email = ""
    porteur_phone: Phone = ""
    partners: list[PartnerIn] = Field(default_factory=list, max_length=100)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=200)


class ProjectUpdate(_In):
    name: Name | None = None
    commune: Short | None = None
    stage: Stage | None = None
    stage_note: Long = Field("", description="note sur l'étape atteinte")
    description: Long | None = None
    porteur_name: Short | None = None
    porteur_email: Email | None = None
    porteur_phone: Phone | None = None
    partners: list[PartnerIn] | None = Field(None, max_length=100)
    documents: list[DocumentIn] | None = Field(None, max_length=200)


class StageOut(_Out):
    stage: str
    reached_on: dt.date
    note: str


class PartnerPublic(_Out):
    organisation: str
    role: str


class PartnerOut(PartnerPublic):
    contact_name: str
    contact_email: str


class DocumentOut(_Out):
    title: str
    kind: str
    location: str
    dated: dt.date | None


class ProjectPartnerView(_Out):
    """What a partner may read: stage, partners' organisations, documents — no personal data."""

    id: int
    name: str
    kind: str
    commune: str
    stage: str
    stage_label: str
    description: str
    stages: list[StageOut]
    partners: list[PartnerPublic]
    documents: list[DocumentOut]


class ProjectOut(ProjectPartnerView):
    porteur_name: str
    porteur_email: str
    porteur_phone: str
    partners: list[PartnerOut]  # type: ignore[assignment]


# --- directory -------------------------------------------------------------------------------------------
class DirectoryCreate(_In):
    structure: Name
    kind: DirectoryKind
    missions: Long = ""
    target_population: Short = ""
    conditions: Long = ""
    address: Short = ""
    commune: Name
    lat: Lat
    lon: Lon
    opening_hours: Short = ""
    phone: Phone = ""
    pmr_accessible: bool = False
    languages: Short = "français"
    secteur_1: bool = False
    tiers_payant: bool = False


class DirectoryOut(_Out):
    id: int
    structure: str
    kind: str
    missions: str
    target_population: str
    conditions: str
    address: str
    commune: str
    lat: float
    lon: float
    opening_hours: str
    phone: str
    pmr_accessible: bool
    languages: str
    secteur_1: bool
    tiers_payant: bool


class DirectoryHit(DirectoryOut):
    distance_km: float | None = Field(description="distance à vol d'oiseau depuis le lieu cherché")


# --- accounts and audit -------------------------------------------------------------------------------
class UserCreate(_In):
    email: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
        ),
        AfterValidator(_no_nul),
    ]
    name: Short = ""
    role: Role
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)] = Field(
        description="au moins 12 caractères"
    )


class UserOut(_Out):
    id: int
    email: str
    name: str
    role: str
    active: bool


class LoginIn(_In):
    email: Annotated[str, StringConstraints(max_length=254), AfterValidator(_no_nul)]
    password: Annotated[str, StringConstraints(max_length=200)]


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="à renvoyer dans l'en-tête X-CSRF-Token des requêtes d'écriture")


class AuditOut(_Out):
    id: int
    at: dt.datetime
    user_id: int | None
    user_email: str
    action: str
    entity: str
    entity_id: str
    detail: str
