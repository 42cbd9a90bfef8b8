"""Web observatory (``accesoins serve``): a FastAPI JSON API and a MapLibre front end.

Reads the snapshots of a store (latest by default) and serves, under ``/api``,
classified GeoJSON layers, practice sites, a unit's fiche with département and
national references, comparisons and CSV/GeoJSON downloads; ``/`` serves the
static French front end (plain JavaScript modules, MapLibre GL JS vendored).
"""

from accesoins.outputs.web._app import create_app
from accesoins.outputs.web._service import ObservatoryService

__all__ = ["ObservatoryService", "create_app"]
