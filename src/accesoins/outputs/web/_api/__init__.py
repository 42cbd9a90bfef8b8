"""API routers grouped by domain: snapshots, map layers, units (fiches, comparisons), downloads, scenarios."""

from fastapi import APIRouter

from accesoins.outputs.web._api import downloads, layers, scenarios, snapshots, units

api_router = APIRouter(prefix="/api")
api_router.include_router(snapshots.router)
api_router.include_router(layers.router)
api_router.include_router(units.router)
api_router.include_router(downloads.router)
api_router.include_router(scenarios.router)

__all__ = ["api_router"]
