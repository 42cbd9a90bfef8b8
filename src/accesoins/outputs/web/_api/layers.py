"""Map layers: indicators of a level as classified GeoJSON, practice sites."""

from __future__ import annotations

from fastapi import APIRouter, Response

from accesoins.http_problems import problem_responses
from accesoins.outputs.web._api.deps import (
    ClassesQuery,
    MeasureQuery,
    MethodQuery,
    ProfessionQuery,
    ServiceDep,
    SnapshotDep,
)

router = APIRouter(tags=["couches"])
GEOJSON = "application/geo+json"
_ERRORS = problem_responses(e404="Niveau ou profession inconnu", e422="Paramètre non valide")


@router.get(
    "/layers/{level}",
    summary="Couche d'indicateurs d'un niveau (GeoJSON classé)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **_ERRORS},
)
def layer(
    level: str,
    service: ServiceDep,
    data: SnapshotDep,
    profession: ProfessionQuery = "generaliste",
    measure: MeasureQuery = "density_per_100k",
    method: MethodQuery = "quantiles",
    classes: ClassesQuery = 5,
) -> Response:
    """Unités du niveau (commune, iris, carreau) avec leurs indicateurs pour une profession.

    Chaque entité porte `value` (l'indicateur choisi), `class` (indice de classe, -1 si non renseigné) et
    `color`. Le membre `legend` donne les bornes, les libellés français, l'unité et les effectifs par classe
    (mapclassify : quantiles ou seuils naturels de Fisher-Jenks).
    """
    body = service.layer_geojson(
        data, level=level, profession=profession, measure=measure, method=method, classes=classes
    )
    return Response(body, media_type=GEOJSON)


@router.get(
    "/sites",
    summary="Lieux d'exercice (GeoJSON)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **_ERRORS},
)
def sites(service: ServiceDep, data: SnapshotDep, profession: ProfessionQuery | None = None) -> Response:
    """Lieux d'exercice (points) avec leur précision de localisation (établissement, IRIS, commune)."""
    return Response(service.sites_geojson(data, profession=profession), media_type=GEOJSON)
