"""HTTP errors as RFC 9457 problem details (``application/problem+json``), titles in French.

Shared by the web observatory and the registers (neither imports the other's private modules).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from accesoins.errors import AccesoinsError, StoreError, UnknownChoiceError

PROBLEM_JSON = "application/problem+json"


class ProblemError(AccesoinsError):
    """A request the observatory cannot answer: HTTP status, short French title, French detail."""

    def __init__(
        self, status: int, title: str, detail: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}


def not_found(
    what: str,
    value: object,
    choices: list[str] | None = None,
    *,
    title: str = "",
    where: str = "dans l'instantané",
) -> ProblemError:
    """404 for an unknown level, profession, unit, snapshot... listing valid choices when they are few."""
    detail = f"{what} « {value} » introuvable {where}."
    if choices:
        shown = ", ".join(choices[:20]) + (" …" if len(choices) > 20 else "")
        detail += f" Valeurs possibles : {shown}."
    return ProblemError(404, title or f"{what} inconnu", detail)


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem-details response (``extra`` members are added to the body)."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of the API is answered."""

    type: str = Field(default="about:blank", description="toujours about:blank (le statut HTTP suffit)")
    title: str = Field(description="titre court en français")
    status: int = Field(description="statut HTTP")
    detail: str = Field(description="explication en français")
    instance: str = Field(description="chemin de la requête")
    errors: list[str] | None = Field(default=None, description="un message par paramètre non valide (422)")


_DOCUMENTED = {
    401: "Connexion requise",
    403: "Accès refusé (rôle ou jeton CSRF)",
    404: "Ressource introuvable",
    405: "Méthode non autorisée (l'en-tête Allow donne les méthodes permises)",
    422: "Paramètres ou corps non valides",
    429: "Trop de tentatives (l'en-tête Retry-After donne l'attente en secondes)",
    503: "Service momentanément indisponible (l'en-tête Retry-After donne l'attente en secondes)",
}


def problem_responses(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of error statuses, each an ``application/problem+json`` body.

    ``problem_responses(401, 403)`` uses the generic French descriptions; ``e404="Niveau inconnu"``
    documents a status with the route's own words.
    """
    wanted = {status: _DOCUMENTED[status] for status in statuses}
    wanted |= {int(key.removeprefix("e")): text for key, text in described.items()}
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {"description": text, "content": {PROBLEM_JSON: {"schema": schema}}}
        for status, text in sorted(wanted.items())
    }


def document_problems(app: FastAPI) -> None:
    """Put the ``Problem`` schema in the app's OpenAPI, and replace FastAPI's default 422 body by it."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"] = problem_responses(422)[422]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_FIELDS = {"query": "paramètre", "path": "chemin", "body": "corps"}
_HTTP_TITLES = {404: "Ressource introuvable", 405: "Méthode non autorisée"}


def _validation_message(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    where = f"{_FIELDS.get(loc[0], loc[0])} « {'.'.join(loc[1:])} »" if loc else "requête"
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return f"{where} obligatoire manquant"
    if kind in ("int_parsing", "float_parsing"):
        return f"{where} : nombre attendu, reçu « {err.get('input')} »"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(ctx.values()), "?")
        sense = "au moins" if kind.startswith("greater") else "au plus"
        return f"{where} : valeur {sense} {bound} attendue, reçu « {err.get('input')} »"
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "?")
        return f"{where} : valeur « {err.get('input')} » non reconnue ; valeurs possibles : {expected}"
    if kind in ("string_too_long", "string_too_short", "string_pattern_mismatch"):
        return f"{where} : format non valide (« {err.get('input')} »)"
    if kind in ("too_short", "too_long"):
        sense = "au moins" if kind == "too_short" else "au plus"
        bound = ctx.get("min_length" if kind == "too_short" else "max_length", "?")
        return f"{where} : {sense} {bound} élément(s) attendu(s)"
    if kind == "value_error":  # a validator's own French message
        return f"{where} : {str(ctx.get('error', 'valeur non valide')).removeprefix('Value error, ')}"
    if kind == "extra_forbidden":
        return f"{where} : champ inconnu"
    return f"{where} : valeur non valide (« {err.get('input')} »)"


def _allowed_methods(request: Request) -> str:
    """Every method some route accepts at this path (Starlette's own 405 names only the first route's)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Turn every error into a French problem-details response, documented in the OpenAPI schema."""
    document_problems(app)

    @app.exception_handler(ProblemError)
    async def _web_problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, headers=exc.headers)

    @app.exception_handler(UnknownChoiceError)
    async def _unknown(request: Request, exc: UnknownChoiceError) -> JSONResponse:
        return problem_response(request, 404, "Valeur inconnue", str(exc))

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        return problem_response(request, 503, "Entrepôt indisponible", str(exc))

    @app.exception_handler(AccesoinsError)
    async def _user(request: Request, exc: AccesoinsError) -> JSONResponse:
        return problem_response(request, 422, "Requête impossible", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        messages = [_validation_message(dict(e)) for e in exc.errors()]
        return problem_response(
            request, 422, "Paramètres non valides", " ; ".join(messages) + ".", errors=messages
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _HTTP_TITLES.get(exc.status_code, "Erreur")
        detail = (
            f"Aucune ressource à l'adresse {request.url.path}." if exc.status_code == 404 else title + "."
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return problem_response(request, exc.status_code, title, detail, headers=headers)
