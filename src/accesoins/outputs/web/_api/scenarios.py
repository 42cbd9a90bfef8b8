"""Scenarios: a what-if on a snapshot (new site, new residents, departures) and its delta map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from accesoins.http_problems import problem_responses
from accesoins.outputs.web._scenarios import ScenarioCreate, ScenarioService

router = APIRouter(tags=["scénarios"])
GEOJSON = "application/geo+json"
_ERRORS = problem_responses(
    e404="Instantané ou niveau inconnu",
    e422="Corps non valide, point hors du territoire ou commune inconnue",
    e503="Entrepôt indisponible, ou trop de simulations en cours (réessayer après Retry-After secondes)",
)


def get_scenarios(request: Request) -> ScenarioService:
    service: ScenarioService = request.app.state.scenarios
    return service


ScenariosDep = Annotated[ScenarioService, Depends(get_scenarios)]


@router.post(
    "/scenarios",
    summary="Simuler un scénario (carte des écarts d'APL)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **_ERRORS},
)
async def simulate(body: ScenarioCreate, scenarios: ScenariosDep) -> Response:
    """Applique les changements (ajouter une maison de santé, des habitants, retirer les généralistes d'une
    commune) à l'instantané et renvoie l'écart d'APL (après − avant) de chaque unité du niveau demandé.

    Réponse GeoJSON : chaque entité porte `apl_before`, `apl_after`, `delta` et `color` ; les membres
    `summary` (lignes en français), `legend` (classes divergentes symétriques autour de zéro), `points`
    (sites et logements placés) et `changed_bbox` (emprise des unités modifiées) accompagnent la collection.
    Un point hors du territoire de l'instantané est refusé (422, message en français) ; quand trop de
    simulations sont déjà en cours, la demande est refusée aussitôt (503, en-tête `Retry-After`).
    """
    return Response(await scenarios.simulate_in_pool(body), media_type=GEOJSON)
