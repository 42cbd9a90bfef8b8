"""Snapshots of the store and what each one contains."""

from __future__ import annotations

from fastapi import APIRouter

from accesoins.outputs.web._api.deps import ServiceDep, SnapshotDep
from accesoins.outputs.web._schemas import CatalogPublic, SnapshotPublic

router = APIRouter(tags=["instantanés"])


@router.get("/snapshots", response_model=list[SnapshotPublic], summary="Liste des instantanés")
def list_snapshots(service: ServiceDep) -> list[SnapshotPublic]:
    """Instantanés complets de l'entrepôt, du plus ancien au plus récent."""
    return [SnapshotPublic(**row) for row in service.snapshot_rows()]


@router.get("/catalog", response_model=CatalogPublic, summary="Niveaux, professions et indicateurs")
def catalog(service: ServiceDep, data: SnapshotDep) -> CatalogPublic:
    """Niveaux géographiques, professions, indicateurs et méthodes de classes disponibles."""
    return CatalogPublic.model_validate(service.catalog(data))
