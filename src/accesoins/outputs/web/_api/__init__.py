"""API routers by domain: snapshots, layers, units (fiches, comparisons), downloads, scenarios, departures."""

from fastapi import APIRouter

from accesoins.outputs.web._api import departures, downloads, layers, scenarios, snapshots, units

api_router = APIRouter(prefix="/api")
api_router.include_router(snapshots.router)
api_router.include_router(layers.router)
api_router.include_router(units.router)
api_router.include_router(downloads.router)
api_router.include_router(scenarios.router)
api_router.include_router(departures.router)

__all__ = ["api_router"]
