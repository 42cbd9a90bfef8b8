"""HTML pages of the registers (French, server-rendered, usable without JavaScript).

Residents use the directory (``/registres/annuaire``) and its printable guide per commune; staff sign in
and record requests and premises, then read the proposed matches; partners follow projects' stages.
Forms carry the session's CSRF token in a hidden ``csrf_token`` field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ValidationError

from accesoins.french import format_number
from accesoins.http_problems import ProblemError
from accesoins.registers._api import (
    PREFIX,
    RowId,
    authenticate,
    check_csrf,
    current_actor,
    end_session,
    registers_of,
    set_session,
)
from accesoins.registers._schemas import (
    DIRECTORY_KINDS,
    OWNER_KINDS,
    PROFESSIONS,
    PROJECT_KINDS,
    REQUEST_STATUSES,
    STAGES,
    STATUS_LABELS,
    DirectoryCreate,
    PremisesCreate,
    ProjectCreate,
    ProjectOut,
    ProjectPartnerView,
    ProjectUpdate,
    RequestCreate,
    RequestStatus,
    Stage,
    french_error,
)
from accesoins.registers._security import PROJECT_READERS, STAFF, Actor
from accesoins.registers._service import PlaceNotFoundError, Registers

_env = Environment(loader=PackageLoader("accesoins.registers", "templates"), autoescape=select_autoescape())
_env.filters["fr"] = lambda x, d=1: "" if x is None else format_number(x, d)
_env.filters["date_fr"] = lambda d: d.strftime("%d/%m/%Y") if d else ""
CRITERIA = {
    "lieu": "lieu souhaité",
    "surface": "surface",
    "date": "date de disponibilité",
    "accessibilite": "accessibilité",
    "sous_dotation": "sous-dotation de la commune",
}
_env.globals.update(
    KINDS=DIRECTORY_KINDS,
    PROFESSIONS=PROFESSIONS,
    OWNER_KINDS=OWNER_KINDS,
    PROJECT_KINDS=PROJECT_KINDS,
    STAGES=STAGES,
    PREFIX=PREFIX,
    STAGE_ORDER=list(STAGES),
    CRITERIA=CRITERIA,
    REQUEST_STATUSES=REQUEST_STATUSES,
    STATUS_LABELS=STATUS_LABELS,
)
LABELS = {
    "professional_name": "nom",
    "profession": "profession",
    "email": "courriel",
    "phone": "téléphone",
    "wished_lat": "latitude souhaitée",
    "wished_lon": "longitude souhaitée",
    "wished_radius_km": "rayon",
    "surface_min_m2": "surface minimale",
    "wished_date": "date souhaitée",
    "label": "nom du local",
    "lat": "latitude",
    "lon": "longitude",
    "surface_m2": "surface",
    "rent_eur_month": "loyer",
    "available_on": "date de disponibilité",
    "owner_kind": "propriétaire",
    "contact_phone": "téléphone",
    "name": "nom du projet",
    "kind": "type",
    "stage": "étape",
    "porteur_name": "porteur",
    "porteur_email": "courriel du porteur",
    "porteur_phone": "téléphone du porteur",
    "structure": "structure",
    "commune": "commune",
    "opening_hours": "horaires",
}

Who = Annotated[Actor, Depends(current_actor)]
Regs = Annotated[Registers, Depends(registers_of)]
pages = APIRouter(prefix=PREFIX, include_in_schema=False)


def render(
    request: Request, template: str, actor: Actor, *, status: int = 200, **context: Any
) -> HTMLResponse:
    html = _env.get_template(template).render(request=request, actor=actor, **context)
    return HTMLResponse(html, status_code=status)


def guard(request: Request, actor: Actor, roles: frozenset[str]) -> Response | None:
    """Redirect anonymous visitors to the sign-in page; refuse other roles with a 403 page."""
    if actor.user_id is None:
        target = f"{PREFIX}/connexion?suite={quote(request.url.path)}"
        return RedirectResponse(target, status_code=303)
    if actor.role not in roles:
        return render(
            request,
            "erreur.html",
            actor,
            status=403,
            title="Accès refusé",
            message=f"Le rôle « {actor.role} » ne donne pas accès à cette page.",
        )
    return None


def form_model(model: type[BaseModel], form: dict[str, str]) -> tuple[Any, list[str]]:
    """Validate a submitted form against ``model``: the model, or French messages per field."""
    data: dict[str, Any] = {k: v for k, v in form.items() if k != "csrf_token" and v.strip() != ""}
    for name, field in model.model_fields.items():
        if field.annotation is bool:
            data[name] = name in form
        elif "float" in str(field.annotation) and name in data:
            data[name] = data[name].replace(",", ".")  # decimal comma as typed in French
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            where = str(err["loc"][0]) if err["loc"] else "formulaire"
            messages.append(f"{LABELS.get(where, where)} : {french_error(err)}")
        return None, messages


async def read_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@pages.get("")
def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/annuaire", status_code=303)


# --- residents ----------------------------------------------------------------------------------------
@pages.get("/annuaire", response_class=HTMLResponse)
def directory_page(
    request: Request,
    actor: Who,
    regs: Regs,
    besoin: Annotated[str, Query(max_length=40)] = "",
    mots: Annotated[str, Query(max_length=200)] = "",
    lieu: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    need = besoin if besoin in DIRECTORY_KINDS else None
    searched = bool(need or mots or lieu)
    hits: list[dict[str, Any]] = []
    found, problem = "", ""
    if searched:
        try:
            hits, found = regs.search_directory(need=need, text=mots, place=lieu)
        except PlaceNotFoundError as exc:
            problem = str(exc)
    communes = sorted({e.commune for e in regs.directory()})
    return render(
        request,
        "annuaire.html",
        actor,
        besoin=besoin,
        mots=mots,
        lieu=lieu,
        hits=hits,
        found=found,
        problem=problem,
        searched=searched,
        communes=communes,
    )


@pages.get("/annuaire/guide", response_class=HTMLResponse)
def guide_page(
    request: Request, actor: Who, regs: Regs, commune: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    entries = regs.guide(commune) if commune else []
    groups: dict[str, list[Any]] = {}
    for e in sorted(entries, key=lambda e: (list(DIRECTORY_KINDS).index(e.kind), e.structure)):
        groups.setdefault(e.kind, []).append(e)
    communes = sorted({e.commune for e in regs.directory()})
    status = 200 if entries or not commune else 404
    return render(
        request,
        "guide.html",
        actor,
        status=status,
        commune=entries[0].commune if entries else commune,
        groups=groups,
        communes=communes,
        today=dt.date.today(),
    )


# --- session --------------------------------------------------------------------------------------------
@pages.get("/connexion", response_class=HTMLResponse)
def login_page(
    request: Request, actor: Who, suite: Annotated[str, Query(max_length=300)] = ""
) -> HTMLResponse:
    return render(request, "connexion.html", actor, suite=suite, problem="")


@pages.post("/connexion", response_model=None)
def login_form(
    request: Request,
    actor: Who,
    regs: Regs,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    suite: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    try:
        user = authenticate(regs, email, password)
    except ProblemError as exc:  # too many attempts
        return render(request, "connexion.html", actor, status=exc.status, suite=suite, problem=exc.detail)
    if user is None:
        return render(
            request,
            "connexion.html",
            actor,
            status=401,
            suite=suite,
            problem="Adresse électronique ou mot de passe incorrect.",
        )
    target = suite if suite.startswith(f"{PREFIX}/") and "//" not in suite else f"{PREFIX}/espace"
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, user.id)
    return response


@pages.post("/deconnexion")
def logout_form(
    request: Request, actor: Who, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    if actor.user_id is not None:
        check_csrf(request, actor, csrf_token)
    response = RedirectResponse(f"{PREFIX}/annuaire", status_code=303)
    end_session(request, response)
    return response


@pages.get("/espace", response_class=HTMLResponse, response_model=None)
def space_page(request: Request, actor: Who) -> Response:
    return guard(request, actor, STAFF | PROJECT_READERS) or render(request, "espace.html", actor)


# --- staff: requests, premises, useful addresses -----------------------------------------------------
@pages.get("/demandes", response_class=HTMLResponse, response_model=None)
def requests_page(request: Request, actor: Who, regs: Regs) -> Response:
    denied = guard(request, actor, STAFF)
    if denied:
        return denied
    return render(request, "demandes.html", actor, rows=regs.requests(actor), problems=[], values={})


async def _staff_form(
    request: Request,
    actor: Actor,
    *,
    model: type[BaseModel],
    template: str,
    rows: Callable[[], Any],
    create: Callable[[Any], str],
) -> Response:
    """A staff creation form: CSRF check, validation (the page again with French problems), then redirect.

    ``rows`` lists what the page shows; ``create`` records the validated data and returns where to go next.
    """
    denied = guard(request, actor, STAFF)
    if denied:
        return denied
    form = await read_form(request)
    check_csrf(request, actor, form.get("csrf_token"))
    data, problems = form_model(model, form)
    if problems:
        return render(request, template, actor, status=422, rows=rows(), problems=problems, values=form)
    return RedirectResponse(create(data), status_code=303)


@pages.post("/demandes", response_model=None)
async def requests_form(request: Request, actor: Who, regs: Regs) -> Response:
    return await _staff_form(
        request,
        actor,
        model=RequestCreate,
        template="demandes.html",
        rows=lambda: regs.requests(actor),
        create=lambda data: f"{PREFIX}/demandes/{regs.create_request(actor, data).id}",
    )


@pages.get("/demandes/{request_id}", response_class=HTMLResponse, response_model=None)
def request_page(request: Request, request_id: RowId, actor: Who, regs: Regs) -> Response:
    denied = guard(request, actor, STAFF)
    if denied:
        return denied
    row = regs.request(actor, request_id)
    return render(request, "demande.html", actor, row=row, matches=regs.matches(actor, request_id))


@pages.post("/demandes/{request_id}/suivi", response_model=None)
def follow_up_form(
    request: Request,
    request_id: RowId,
    actor: Who,
    regs: Regs,
    statut: Annotated[RequestStatus, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    denied = guard(request, actor, STAFF)
    if denied:
        return denied
    check_csrf(request, actor, csrf_token)
    regs.follow_up(actor, request_id, status=statut, note=note.replace("\x00", ""))
    return RedirectResponse(f"{PREFIX}/demandes/{request_id}", status_code=303)


def _list_with_form(
    path: str,
    template: str,
    model: type[BaseModel],
    rows: Callable[[Registers, Actor], Any],
    create: Callable[[Registers, Actor, Any], object],
) -> None:
    """A staff page listing a register with its creation form (GET), and the form's handler (POST)."""
    name = path.strip("/")

    @pages.get(path, response_class=HTMLResponse, response_model=None, name=f"{name}_page")
    def list_page(request: Request, actor: Who, regs: Regs) -> Response:
        denied = guard(request, actor, STAFF)
        if denied:
            return denied
        return render(request, template, actor, rows=rows(regs, actor), problems=[], values={})

    @pages.post(path, response_model=None, name=f"{name}_form")
    async def creation_form(request: Request, actor: Who, regs: Regs) -> Response:
        def record(data: Any) -> str:
            create(regs, actor, data)
            return f"{PREFIX}{path}"

        return await _staff_form(
            request,
            actor,
            model=model,
            template=template,
            rows=lambda: rows(regs, actor),
            create=record,
        )


_list_with_form(
    "/locaux",
    "locaux.html",
    PremisesCreate,
    rows=lambda regs, actor: regs.premises_list(actor),
    create=lambda regs, actor, data: regs.create_premises(actor, data),
)
_list_with_form(  # the public directory, managed by staff
    "/adresses",
    "adresses.html",
    DirectoryCreate,
    rows=lambda regs, actor: regs.directory(),
    create=lambda regs, actor, data: regs.create_directory_entry(actor, data),
)


# --- projects -----------------------------------------------------------------------------------------
@pages.get("/projets", response_class=HTMLResponse, response_model=None)
def projects_page(request: Request, actor: Who, regs: Regs) -> Response:
    denied = guard(request, actor, PROJECT_READERS)
    if denied:
        return denied
    rows = [_visible(actor, v) for v in regs.projects(actor)]
    return render(request, "projets.html", actor, rows=rows, problems=[], values={})


@pages.post("/projets", response_model=None)
async def project_form(request: Request, actor: Who, regs: Regs) -> Response:
    return await _staff_form(
        request,
        actor,
        model=ProjectCreate,
        template="projets.html",
        rows=lambda: [_visible(actor, v) for v in regs.projects(actor)],
        create=lambda data: f"{PREFIX}/projets/{regs.create_project(actor, data)['id']}",
    )


@pages.get("/projets/{project_id}", response_class=HTMLResponse, response_model=None)
def project_page(request: Request, project_id: RowId, actor: Who, regs: Regs) -> Response:
    denied = guard(request, actor, PROJECT_READERS)
    if denied:
        return denied
    return render(request, "projet.html", actor, p=_visible(actor, regs.project(actor, project_id)))


@pages.post("/projets/{project_id}/etape", response_model=None)
def project_stage_form(
    request: Request,
    project_id: RowId,
    actor: Who,
    regs: Regs,
    etape: Annotated[Stage, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    denied = guard(request, actor, STAFF)
    if denied:
        return denied
    check_csrf(request, actor, csrf_token)
    update = ProjectUpdate.model_validate({"stage": etape, "stage_note": note.replace("\x00", "")})
    regs.update_project(actor, project_id, update)
    return RedirectResponse(f"{PREFIX}/projets/{project_id}", status_code=303)


def _visible(actor: Actor, view: dict[str, Any]) -> dict[str, Any]:
    """A partner's copy of a project holds no personal data (not only hidden by the template)."""
    model = ProjectOut if actor.is_staff else ProjectPartnerView
    return model.model_validate(view).model_dump()
