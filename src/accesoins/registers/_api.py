"""JSON API of the registers under ``/registres/api`` (roles checked by typed dependencies).

Anonymous visitors reach only the public directory and the sign-in route; agents and administrators
the registers; partners the projects without personal data; administrators the accounts, the audit
log, the retention rule and the RGPD export.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from accesoins.http_problems import ProblemError, problem_responses
from accesoins.registers._models import User
from accesoins.registers._schemas import (
    AuditOut,
    DirectoryCreate,
    DirectoryHit,
    DirectoryKind,
    DirectoryOut,
    LoginIn,
    MatchOut,
    PremisesCreate,
    PremisesOut,
    PremisesUpdate,
    ProjectCreate,
    ProjectOut,
    ProjectPartnerView,
    ProjectUpdate,
    RequestCreate,
    RequestOut,
    RequestStatus,
    RequestUpdate,
    SessionOut,
    UserCreate,
    UserOut,
)
from accesoins.registers._security import (
    ADMIN,
    ANONYMOUS,
    CSRF_HEADER,
    LOGIN_WINDOW_S,
    PROJECT_READERS,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    STAFF,
    Actor,
    same_token,
)
from accesoins.registers._service import Registers

PREFIX = "/registres"
RowId = Annotated[int, Path(ge=1, le=2_147_483_647, description="numéro de la fiche")]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def registers_of(request: Request) -> Registers:
    registers: Registers = request.app.state.registers
    return registers


def current_actor(request: Request) -> Actor:
    """The signed-in user of the session cookie's open session, or an anonymous resident."""
    key = request.app.state.registers_signer.read(request.cookies.get(SESSION_COOKIE))
    found = registers_of(request).session_user(key) if key else None
    if found is None:
        return ANONYMOUS
    user, csrf = found
    return Actor(user.id, user.email, user.role, csrf)


def check_csrf(request: Request, actor: Actor, form_token: str | None = None) -> None:
    if request.method in UNSAFE and not same_token(
        actor.csrf, form_token or request.headers.get(CSRF_HEADER)
    ):
        raise ProblemError(
            403,
            "Jeton CSRF manquant ou non valide",
            f"Renvoyez le jeton reçu à la connexion dans l'en-tête {CSRF_HEADER} (ou le champ csrf_token).",
        )


def allowed(actor: Actor, roles: frozenset[str]) -> None:
    if actor.user_id is None:
        raise ProblemError(
            401,
            "Connexion requise",
            "Connectez-vous (POST /registres/api/session) pour accéder aux registres.",
        )
    if actor.role not in roles:
        raise ProblemError(
            403, "Accès refusé", f"Le rôle « {actor.role} » ne donne pas accès à cette ressource."
        )


def role(roles: frozenset[str]) -> Callable[..., Actor]:
    """Dependency: the actor, checked against ``roles`` (and the CSRF token for writes)."""

    def dependency(request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        allowed(actor, roles)
        check_csrf(request, actor)
        return actor

    return dependency


Staff = Annotated[Actor, Depends(role(STAFF))]
Admin = Annotated[Actor, Depends(role(ADMIN))]
ProjectReader = Annotated[Actor, Depends(role(PROJECT_READERS))]
Regs = Annotated[Registers, Depends(registers_of)]

api = APIRouter(prefix=f"{PREFIX}/api")


def document_statuses(router: APIRouter) -> None:
    """Add to each route's OpenAPI the problem statuses it can answer (called once routes are defined).

    Every route: 422 (validation) and 503 (base busy); a role-checked one (``actor``): 401 and 403; a
    route with a row number: 404; the sign-in: 401 and 429.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        params = inspect.signature(route.endpoint).parameters
        statuses = {422, 503}
        if "actor" in params:
            statuses |= {401, 403}
        if "{" in route.path:
            statuses.add(404)
        if route.name == "login":
            statuses |= {401, 429}
        route.responses = {**problem_responses(*sorted(statuses)), **route.responses}


def set_session(request: Request, response: Response, user_id: int) -> str:
    """Open a server-side session, put its signed key in the cookie; return its CSRF token."""
    key, csrf = registers_of(request).open_session(user_id)
    response.set_cookie(
        SESSION_COOKIE,
        request.app.state.registers_signer.sign(key),
        max_age=SESSION_MAX_AGE_S,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=request.app.state.registers_secure_cookie,
    )
    return csrf


def end_session(request: Request, response: Response) -> None:
    """Logout: delete the server-side session (the cookie is then worthless) and the cookie."""
    key = request.app.state.registers_signer.read(request.cookies.get(SESSION_COOKIE))
    if key:
        registers_of(request).end_session(key)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)


def authenticate(regs: Registers, email: str, password: str) -> User | None:
    """Check a password, refusing (429) an account after too many recent attempts (counted in the base)."""
    if not regs.sign_in_allowed(email):
        raise ProblemError(
            429,
            "Trop de tentatives",
            "Trop d'essais de connexion pour ce compte : réessayez dans 15 minutes.",
            headers={"Retry-After": str(LOGIN_WINDOW_S)},
        )
    user = regs.authenticate(email, password)
    if user is not None:
        regs.sign_in_succeeded(email)
    return user


# --- session ------------------------------------------------------------------------------------------
@api.post("/session", tags=["session"], summary="Connexion (renvoie le jeton CSRF)")
def login(body: LoginIn, request: Request, response: Response, regs: Regs) -> SessionOut:
    user = authenticate(regs, body.email, body.password)
    if user is None:
        raise ProblemError(401, "Identifiants non valides", "Adresse électronique ou mot de passe incorrect.")
    csrf = set_session(request, response, user.id)
    return SessionOut(user=UserOut.model_validate(user), csrf_token=csrf)


@api.get("/session", tags=["session"], summary="Compte connecté")
def whoami(actor: Annotated[Actor, Depends(current_actor)], regs: Regs) -> SessionOut:
    user = regs.user(actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise ProblemError(401, "Connexion requise", "Aucune session ouverte.")
    return SessionOut(user=UserOut.model_validate(user), csrf_token=actor.csrf)


@api.delete("/session", tags=["session"], summary="Déconnexion", status_code=204)
def logout(request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Response:
    if actor.user_id is not None:
        check_csrf(request, actor)
    response = Response(status_code=204)
    end_session(request, response)
    return response


# --- installation requests ------------------------------------------------------------------------------
@api.get("/demandes", tags=["demandes d'installation"], summary="Demandes d'installation")
def list_requests(actor: Staff, regs: Regs, statut: RequestStatus | None = None) -> list[RequestOut]:
    return [RequestOut.model_validate(r) for r in regs.requests(actor, status=statut)]


@api.post("/demandes", tags=["demandes d'installation"], status_code=201, summary="Enregistrer une demande")
def create_request(body: RequestCreate, actor: Staff, regs: Regs) -> RequestOut:
    return RequestOut.model_validate(regs.create_request(actor, body))


@api.get("/demandes/{request_id}", tags=["demandes d'installation"], summary="Une demande")
def get_request(request_id: RowId, actor: Staff, regs: Regs) -> RequestOut:
    return RequestOut.model_validate(regs.request(actor, request_id))


@api.patch("/demandes/{request_id}", tags=["demandes d'installation"], summary="Suivi d'une demande")
def update_request(request_id: RowId, body: RequestUpdate, actor: Staff, regs: Regs) -> RequestOut:
    return RequestOut.model_validate(regs.update_request(actor, request_id, body))


@api.get(
    "/demandes/{request_id}/rapprochements",
    tags=["demandes d'installation"],
    summary="Locaux proposés, du meilleur score au moins bon, avec l'explication du score",
)
def request_matches(request_id: RowId, actor: Staff, regs: Regs) -> list[MatchOut]:
    return [MatchOut.model_validate(m) for m in regs.matches(actor, request_id)]


# --- premises ---------------------------------------------------------------------------------------------
@api.get("/locaux", tags=["locaux"], summary="Locaux disponibles ou non")
def list_premises(actor: Staff, regs: Regs) -> list[PremisesOut]:
    return [PremisesOut.model_validate(p) for p in regs.premises_list(actor)]


@api.post("/locaux", tags=["locaux"], status_code=201, summary="Enregistrer un local")
def create_premises(body: PremisesCreate, actor: Staff, regs: Regs) -> PremisesOut:
    return PremisesOut.model_validate(regs.create_premises(actor, body))


@api.get("/locaux/{premises_id}", tags=["locaux"], summary="Un local")
def get_premises(premises_id: RowId, actor: Staff, regs: Regs) -> PremisesOut:
    return PremisesOut.model_validate(regs.premises(actor, premises_id))


@api.patch("/locaux/{premises_id}", tags=["locaux"], summary="Modifier un local")
def update_premises(premises_id: RowId, body: PremisesUpdate, actor: Staff, regs: Regs) -> PremisesOut:
    return PremisesOut.model_validate(regs.update_premises(actor, premises_id, body))


# --- projects ---------------------------------------------------------------------------------------------
def project_json(actor: Actor, view: dict[str, Any]) -> JSONResponse:
    model = ProjectOut if actor.is_staff else ProjectPartnerView
    return JSONResponse(jsonable_encoder(model.model_validate(view)))


PROJECT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ProjectOut | ProjectPartnerView,
        "description": "projet complet (agents) ou sans données personnelles (partenaires)",
    }
}


@api.get(
    "/projets",
    tags=["projets"],
    summary="Projets d'exercice coordonné",
    response_model=None,
    responses={200: {"model": list[ProjectOut] | list[ProjectPartnerView]}},
)
def list_projects(actor: ProjectReader, regs: Regs) -> JSONResponse:
    model = ProjectOut if actor.is_staff else ProjectPartnerView
    return JSONResponse(jsonable_encoder([model.model_validate(v) for v in regs.projects(actor)]))


@api.post("/projets", tags=["projets"], status_code=201, summary="Enregistrer un projet")
def create_project(body: ProjectCreate, actor: Staff, regs: Regs) -> ProjectOut:
    return ProjectOut.model_validate(regs.create_project(actor, body))


@api.get(
    "/projets/{project_id}",
    tags=["projets"],
    summary="Un projet et son étape",
    response_model=None,
    responses=PROJECT_RESPONSE,
)
def get_project(project_id: RowId, actor: ProjectReader, regs: Regs) -> JSONResponse:
    return project_json(actor, regs.project(actor, project_id))


@api.patch("/projets/{project_id}", tags=["projets"], summary="Faire avancer un projet")
def update_project(project_id: RowId, body: ProjectUpdate, actor: Staff, regs: Regs) -> ProjectOut:
    return ProjectOut.model_validate(regs.update_project(actor, project_id, body))


# --- directory (public) -----------------------------------------------------------------------------------
@api.get("/annuaire", tags=["annuaire"], summary="Adresses utiles, les plus proches d'abord (public)")
def search_directory(
    regs: Regs,
    besoin: Annotated[DirectoryKind | None, Query(description="type de lieu cherché")] = None,
    mots: Annotated[str, Query(max_length=200, description="mots à chercher")] = "",
    lieu: Annotated[str, Query(max_length=200, description="commune, ou « latitude, longitude »")] = "",
) -> list[DirectoryHit]:
    hits, _ = regs.search_directory(need=besoin, text=mots, place=lieu)
    return [DirectoryHit.model_validate(h) for h in hits]


@api.get("/annuaire/{entry_id}", tags=["annuaire"], summary="Une adresse (public)")
def get_directory_entry(entry_id: RowId, regs: Regs) -> DirectoryOut:
    return DirectoryOut.model_validate(regs.directory_entry(entry_id))


@api.post("/annuaire", tags=["annuaire"], status_code=201, summary="Ajouter une adresse")
def create_directory_entry(body: DirectoryCreate, actor: Staff, regs: Regs) -> DirectoryOut:
    return DirectoryOut.model_validate(regs.create_directory_entry(actor, body))


@api.put("/annuaire/{entry_id}", tags=["annuaire"], summary="Remplacer une adresse")
def replace_directory_entry(entry_id: RowId, body: DirectoryCreate, actor: Staff, regs: Regs) -> DirectoryOut:
    return DirectoryOut.model_validate(regs.update_directory_entry(actor, entry_id, body))


@api.delete("/annuaire/{entry_id}", tags=["annuaire"], status_code=204, summary="Retirer une adresse")
def delete_directory_entry(entry_id: RowId, actor: Staff, regs: Regs) -> Response:
    regs.delete_directory_entry(actor, entry_id)
    return Response(status_code=204)


# --- administration -----------------------------------------------------------------------------------
@api.get("/comptes", tags=["administration"], summary="Comptes")
def list_users(actor: Admin, regs: Regs) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in regs.users(actor)]


@api.post("/comptes", tags=["administration"], status_code=201, summary="Créer un compte")
def create_user(body: UserCreate, actor: Admin, regs: Regs) -> UserOut:
    user = regs.create_user(body.email, body.password, role=body.role, name=body.name)
    return UserOut.model_validate(user)


@api.get("/journal", tags=["administration"], summary="Journal des accès aux données personnelles")
def audit_log(actor: Admin, regs: Regs, limite: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[AuditOut]:
    return [AuditOut.model_validate(a) for a in regs.audit_log(limit=limite)]


@api.get("/personnes/export", tags=["administration"], summary="Export RGPD des données d'une personne")
def export_person(
    actor: Admin, regs: Regs, email: Annotated[str, Query(min_length=3, max_length=254)]
) -> dict[str, Any]:
    return regs.export_person(actor, email)


@api.post("/retention", tags=["administration"], summary="Anonymiser les demandes closes depuis N mois")
def apply_retention(
    actor: Admin, regs: Regs, mois: Annotated[int, Query(ge=1, le=1200)] = 24
) -> dict[str, list[int]]:
    return {"anonymisees": regs.anonymise_closed(actor, months=mois)}


document_statuses(api)
