"""Units: search, a unit's fiche, comparison of two units."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from accesoins.http_problems import problem_responses
from accesoins.outputs.web._api.deps import ServiceDep, SnapshotDep
from accesoins.outputs.web._schemas import ComparisonPublic, FichePublic, UnitSummary

router = APIRouter(tags=["unités"])
_ERRORS = problem_responses(e404="Niveau ou unité inconnu", e422="Paramètre non valide")
UnitQuery = Annotated[str, Query(min_length=1, max_length=64, description="Code de l'unité (code INSEE…).")]


@router.get(
    "/units/{level}", response_model=list[UnitSummary], summary="Recherche d'unités", responses=_ERRORS
)
def search_units(
    level: str,
    service: ServiceDep,
    data: SnapshotDep,
    q: Annotated[
        str,
        Query(
            max_length=80, description="Texte cherché dans le nom ou le code (sans tenir compte des accents)."
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=5000, description="Nombre maximal de résultats.")] = 50,
) -> list[UnitSummary]:
    """Unités du niveau triées par nom, filtrées par `q`."""
    return [UnitSummary(**u) for u in service.search_units(data, level=level, query=q, limit=limit)]


@router.get(
    "/units/{level}/{unit_id}", response_model=FichePublic, summary="Fiche d'une unité", responses=_ERRORS
)
def fiche(level: str, unit_id: str, service: ServiceDep, data: SnapshotDep) -> FichePublic:
    """Population, praticiens par profession, densités comparées au département, APL et sa classe indicative
    (code et libellé français), référence nationale DREES et évolution depuis l'instantané précédent."""
    return FichePublic.model_validate(service.fiche(data, level=level, unit_id=unit_id))


@router.get(
    "/compare/{level}",
    response_model=ComparisonPublic,
    summary="Comparaison de deux unités",
    responses=_ERRORS,
)
def compare(
    level: str, a: UnitQuery, b: UnitQuery, service: ServiceDep, data: SnapshotDep
) -> ComparisonPublic:
    """Les fiches de deux unités du même niveau, côte à côte."""
    return ComparisonPublic.model_validate(service.compare(data, level=level, a=a, b=b))


@router.get(
    "/zones/{level}/comparaison", summary="Zones comparées au reste de leur commune", responses=_ERRORS
)
def zone_comparison(
    level: str,
    service: ServiceDep,
    data: SnapshotDep,
    profession: Annotated[str, Query(description="Profession (clé, ex. generaliste).")] = "generaliste",
) -> list[dict[str, object]]:
    """Pour chaque QPV ou quartier : densité et APL dans la zone et dans le reste de sa commune, leur rapport
    et son intervalle de confiance à 95 % (question de l'ONPV : la densité est-elle plus faible dans les
    quartiers prioritaires ?). Une zone de moins de k habitants ne garde que ses ETP (secret statistique)."""
    return service.zone_comparison(data, level=level, profession=profession)
