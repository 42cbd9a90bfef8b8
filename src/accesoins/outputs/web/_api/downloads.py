"""Downloads (CSV, GeoJSON) of what the page shows."""

from __future__ import annotations

from typing import Literal

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
from accesoins.outputs.web._api.units import UnitQuery

router = APIRouter(prefix="/downloads", tags=["téléchargements"])
_MEDIA = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json"}
_ERRORS = problem_responses(e404="Valeur inconnue", e422="Paramètre non valide")


def _attachment(body: bytes, name: str, fmt: str) -> Response:
    return Response(
        body, media_type=_MEDIA[fmt], headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    )


@router.get(
    "/layers/{level}.{fmt}",
    summary="Télécharger une couche d'indicateurs",
    response_class=Response,
    responses=_ERRORS,
)
def download_layer(
    level: str,
    fmt: Literal["csv", "geojson"],
    service: ServiceDep,
    data: SnapshotDep,
    profession: ProfessionQuery = "generaliste",
    measure: MeasureQuery = "density_per_100k",
    method: MethodQuery = "quantiles",
    classes: ClassesQuery = 5,
) -> Response:
    """La couche affichée (mêmes paramètres que /api/layers), en CSV (sans géométrie) ou GeoJSON."""
    write = service.layer_csv if fmt == "csv" else service.layer_geojson
    body = write(data, level=level, profession=profession, measure=measure, method=method, classes=classes)
    return _attachment(body, f"accesoins_{data.snapshot_id}_{level}_{profession}_{measure}", fmt)


@router.get(
    "/sites.{fmt}", summary="Télécharger les lieux d'exercice", response_class=Response, responses=_ERRORS
)
def download_sites(
    fmt: Literal["csv", "geojson"],
    service: ServiceDep,
    data: SnapshotDep,
    profession: ProfessionQuery | None = None,
) -> Response:
    """Lieux d'exercice avec leur précision, en CSV (longitude, latitude) ou GeoJSON."""
    body = (
        service.sites_csv(data, profession=profession)
        if fmt == "csv"
        else service.sites_geojson(data, profession=profession)
    )
    return _attachment(body, f"accesoins_{data.snapshot_id}_sites_{profession or 'toutes'}", fmt)


@router.get(
    "/units/{level}/{unit_id}.csv",
    summary="Télécharger une fiche (CSV)",
    response_class=Response,
    responses=_ERRORS,
)
def download_fiche(level: str, unit_id: str, service: ServiceDep, data: SnapshotDep) -> Response:
    """Les chiffres de la fiche, une ligne par profession."""
    body = service.fiches_csv([service.fiche(data, level=level, unit_id=unit_id)])
    return _attachment(body, f"accesoins_{data.snapshot_id}_fiche_{unit_id}", "csv")


@router.get(
    "/compare/{level}.csv",
    summary="Télécharger une comparaison (CSV)",
    response_class=Response,
    responses=_ERRORS,
)
def download_compare(
    level: str, a: UnitQuery, b: UnitQuery, service: ServiceDep, data: SnapshotDep
) -> Response:
    """Les chiffres des deux fiches comparées, une ligne par unité et profession."""
    body = service.fiches_csv(service.compare(data, level=level, a=a, b=b)["units"])
    return _attachment(body, f"accesoins_{data.snapshot_id}_comparaison_{a}_{b}", "csv")
