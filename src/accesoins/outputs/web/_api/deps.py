"""Typed dependencies of the API routes: the service and the requested snapshot."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Request

from accesoins.outputs.web._service import ObservatoryService, SnapshotData


def get_service(request: Request) -> ObservatoryService:
    service: ObservatoryService = request.app.state.service
    return service


ServiceDep = Annotated[ObservatoryService, Depends(get_service)]


def get_snapshot(
    service: ServiceDep,
    snapshot: Annotated[
        str | None,
        Query(description="Instantané : identifiant, « latest » (défaut) ou « previous ».", max_length=80),
    ] = None,
) -> SnapshotData:
    return service.snapshot(snapshot)


SnapshotDep = Annotated[SnapshotData, Depends(get_snapshot)]
ProfessionQuery = Annotated[str, Query(description="Profession (voir /api/catalog).", max_length=40)]
MeasureQuery = Annotated[
    str,
    Query(
        description="Indicateur : density_per_100k, std_density_per_100k, apl, headcount, nearest_m.",
        max_length=40,
    ),
]
MethodQuery = Annotated[
    Literal["seuils", "quantiles", "jenks"],
    Query(
        description="Méthode de classes : seuils (classes de lecture de l'APL, indicatives ; "
        "quantiles pour un autre indicateur), quantiles ou jenks (seuils naturels, Fisher-Jenks)."
    ),
]
ClassesQuery = Annotated[int, Query(ge=3, le=7, description="Nombre de classes (3 à 7).")]
