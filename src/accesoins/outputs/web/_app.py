"""The FastAPI application: API routers, problem-details errors, static front end."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from accesoins import __version__
from accesoins.http_problems import install_problem_handlers
from accesoins.indicators import UNDER_SERVED
from accesoins.labels import APL_CLASS_NOTE, format_threshold
from accesoins.outputs.web._api import api_router
from accesoins.outputs.web._scenarios import ScenarioService
from accesoins.outputs.web._service import ObservatoryService

log = logging.getLogger(__name__)
STATIC_DIR = Path(str(resources.files("accesoins.outputs.web").joinpath("static")))
_DESCRIPTION = f"""
API de l'observatoire **accesoins** : accès aux soins de premier recours par commune, IRIS et
carreau de 200 m.

Toutes les routes lisent le dernier instantané de l'entrepôt, ou celui donné par `?snapshot=`.
Les erreurs sont des *problem details* (RFC 9457, `application/problem+json`) avec `title` et `detail` en
français. Densités en praticiens pour 100 000 habitants ; APL en consultations accessibles par habitant et par
an (médecins généralistes ; sous-dotée si APL < {format_threshold(UNDER_SERVED)} ;
classes indicatives : {APL_CLASS_NOTE}).
"""


def _warm(service: ObservatoryService) -> None:
    """Load the latest snapshot and its national reference in the background (first click stays fast)."""
    try:
        data = service.snapshot(None)
        service.national_reference(data)
    except Exception:  # a missing store is reported by the API itself
        log.warning("préchargement de l'instantané impossible", exc_info=True)


def create_app(store_path: str | Path, *, warm: bool = True) -> FastAPI:
    """Web observatory over the DuckDB store at ``store_path`` (read only, snapshots cached in memory)."""
    service = ObservatoryService(store_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=_warm, args=(service,), name="accesoins-warm", daemon=True).start()
        yield
        app.state.scenarios.close()

    app = FastAPI(
        title="accesoins — observatoire de l'accès aux soins",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below with the vendored Swagger UI: no CDN, works offline
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.service = service
    app.state.scenarios = ScenarioService(service)  # one what-if engine cached per snapshot
    install_problem_handlers(app)
    app.include_router(api_router)

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="accesoins — documentation de l'API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="data:,",
        )

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
