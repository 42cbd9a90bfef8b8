"""Errors of the web API as RFC 9457 problem details (``application/problem+json``), titles in French."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from accesoins.errors import AccesoinsError, StoreError, UnknownChoiceError

PROBLEM_JSON = "application/problem+json"


class ProblemError(AccesoinsError):
    """A request the observatory cannot answer: HTTP status, short French title, French detail."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


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


def problem_response(request: Request, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


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


def install_problem_handlers(app: FastAPI) -> None:
    """Turn every error into a French problem-details response."""

    @app.exception_handler(ProblemError)
    async def _web_problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail)

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
        return problem_response(request, exc.status_code, title, detail)
