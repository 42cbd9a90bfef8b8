"""Settings of the registers and their mounting into a FastAPI application."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import OperationalError

from accesoins import __version__
from accesoins.errors import AccesoinsError
from accesoins.http_problems import install_problem_handlers, problem_response
from accesoins.registers._api import api
from accesoins.registers._db import make_engine, migrate
from accesoins.registers._matching import AplLookup
from accesoins.registers._pages import pages
from accesoins.registers._security import SessionSigner
from accesoins.registers._service import PlaceNotFoundError, RegisterNotFoundError, Registers

log = logging.getLogger(__name__)
DEFAULT_URL = "sqlite:///var/registres.sqlite"
RETRY_AFTER_S = 2


class RegistersSettings(BaseSettings):
    """``ACCESOINS_REGISTERS_URL`` (database), ``…_SECRET`` (cookie signing key), ``…_SECURE_COOKIE``."""

    model_config = SettingsConfigDict(env_prefix="ACCESOINS_REGISTERS_", extra="ignore")

    url: str | None = Field(default=None, description="base des registres (sqlite:///… ou postgresql://…)")
    secret: str | None = Field(default=None, description="clé de signature des cookies de session")
    secure_cookie: bool = Field(
        default=False, description="cookies réservés à HTTPS (à activer en production)"
    )
    retention_months: int = Field(default=24, ge=1, description="conservation des demandes closes (mois)")


def open_registers(url: str, *, store_path: str | Path | None = None, upgrade: bool = True) -> Registers:
    """Registers over ``url`` (migrated to the latest schema), with APL from the store when it has one."""
    engine = make_engine(url)
    if upgrade:
        migrate(engine)
    apl = None
    if store_path is not None and Path(store_path).exists():
        try:
            apl = AplLookup.from_store(store_path)
        except AccesoinsError:
            log.warning("APL indisponible pour les rapprochements : %s", store_path, exc_info=True)
    return Registers(engine, apl=apl)


def install_registers(
    app: FastAPI, registers: Registers, *, secret: str | None = None, secure_cookie: bool = False
) -> None:
    """Add the registers' API and pages to ``app`` (which already has the problem-details handlers)."""
    if not secret:
        log.warning(
            "ACCESOINS_REGISTERS_SECRET absent : clé de session aléatoire (sessions perdues au redémarrage)"
        )
        secret = secrets.token_urlsafe(32)
    app.state.registers = registers
    app.state.registers_signer = SessionSigner(secret)
    app.state.registers_secure_cookie = secure_cookie

    @app.exception_handler(RegisterNotFoundError)
    async def _not_found(request: Request, exc: RegisterNotFoundError) -> JSONResponse:
        return problem_response(request, 404, "Fiche introuvable", str(exc))

    @app.exception_handler(PlaceNotFoundError)
    async def _place(request: Request, exc: PlaceNotFoundError) -> JSONResponse:
        return problem_response(request, 404, "Lieu introuvable", str(exc))

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("registres indisponibles : %s", exc.orig)
        return problem_response(
            request,
            503,
            "Registres momentanément indisponibles",
            "La base des registres est occupée ou injoignable : rien n'a été enregistré, "
            f"réessayez dans {RETRY_AFTER_S} secondes.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    app.include_router(api)
    app.include_router(pages)


def mount_registers(app: FastAPI, *, store_path: str | Path | None = None) -> bool:
    """Hook of the web observatory: mount the registers when ``ACCESOINS_REGISTERS_URL`` is set."""
    settings = RegistersSettings()
    if not settings.url:
        return False
    registers = open_registers(settings.url, store_path=store_path)
    install_registers(app, registers, secret=settings.secret, secure_cookie=settings.secure_cookie)
    log.info("registres locaux montés sous /registres")
    return True


def create_registers_app(
    url: str, *, store_path: str | Path | None = None, secret: str | None = None, secure_cookie: bool = False
) -> FastAPI:
    """A stand-alone application serving only the registers (tests, or a separate service)."""
    app = FastAPI(
        title="accesoins — registres locaux",
        version=__version__,
        description="Registres locaux : demandes d'installation, locaux, rapprochements, projets d'exercice "
        "coordonné, annuaire des adresses utiles. Erreurs en *problem details* (RFC 9457) en français.",
        docs_url="/registres/api/docs",
        redoc_url=None,
        openapi_url="/registres/api/openapi.json",
    )
    install_problem_handlers(app)
    install_registers(
        app, open_registers(url, store_path=store_path), secret=secret, secure_cookie=secure_cookie
    )
    return app
