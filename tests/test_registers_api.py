"""Registers' HTTP surface: every endpoint against every role, CSRF, audit through the API, and a bounded
schemathesis run on the OpenAPI schema (no server error), on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

import test_registers_support as support
from accesoins.registers import SYSTEM, create_registers_app
from accesoins.registers._api import api as api_router
from accesoins.registers._pages import pages as pages_router
from accesoins.registers._schemas import DirectoryCreate

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
from test_registers_support import DIRECTORY, PASSWORD, PREMISES_NEAR, PROJECT, REQUEST

postgres = support.postgres
ROLES = ["anonyme", "public", "agent", "administrateur", "partenaire"]
SIGNED = {"public", "agent", "administrateur", "partenaire"}
STAFF = {"agent", "administrateur"}
READERS = STAFF | {"partenaire"}
ADMIN = {"administrateur"}
EVERYONE = set(ROLES)
PERSONAL = [
    REQUEST["professional_name"], REQUEST["email"], REQUEST["phone"], REQUEST["notes"],
    PREMISES_NEAR["contact_name"], PREMISES_NEAR["contact_phone"],
    PROJECT["porteur_name"], PROJECT["porteur_email"], PROJECT["porteur_phone"],
    PROJECT["partners"][0]["contact_name"], PROJECT["partners"][0]["contact_email"],
]  # fmt: skip
P = "/registres"
A = "/registres/api"
_n = itertools.count()

# (method, path) → roles that may use it. Others get 401 (anonymous) or 403 (signed in) from the API,
# and a redirect to the sign-in page (anonymous) or a 403 page from the HTML pages.
ACCESS: dict[tuple[str, str], set[str]] = {
    ("POST", f"{A}/session"): EVERYONE,
    ("GET", f"{A}/session"): SIGNED,
    ("DELETE", f"{A}/session"): EVERYONE,
    ("GET", f"{A}/demandes"): STAFF,
    ("POST", f"{A}/demandes"): STAFF,
    ("GET", f"{A}/demandes/{{request_id}}"): STAFF,
    ("PATCH", f"{A}/demandes/{{request_id}}"): STAFF,
    ("GET", f"{A}/demandes/{{request_id}}/rapprochements"): STAFF,
    ("GET", f"{A}/locaux"): STAFF,
    ("POST", f"{A}/locaux"): STAFF,
    ("GET", f"{A}/locaux/{{premises_id}}"): STAFF,
    ("PATCH", f"{A}/locaux/{{premises_id}}"): STAFF,
    ("GET", f"{A}/projets"): READERS,
    ("POST", f"{A}/projets"): STAFF,
    ("GET", f"{A}/projets/{{project_id}}"): READERS,
    ("PATCH", f"{A}/projets/{{project_id}}"): STAFF,
    ("GET", f"{A}/annuaire"): EVERYONE,
    ("GET", f"{A}/annuaire/{{entry_id}}"): EVERYONE,
    ("POST", f"{A}/annuaire"): STAFF,
    ("PUT", f"{A}/annuaire/{{entry_id}}"): STAFF,
    ("DELETE", f"{A}/annuaire/{{entry_id}}"): STAFF,
    ("GET", f"{A}/comptes"): ADMIN,
    ("POST", f"{A}/comptes"): ADMIN,
    ("GET", f"{A}/journal"): ADMIN,
    ("GET", f"{A}/personnes/export"): ADMIN,
    ("POST", f"{A}/retention"): ADMIN,
    ("GET", P): EVERYONE,
    ("GET", f"{P}/annuaire"): EVERYONE,
    ("GET", f"{P}/annuaire/guide"): EVERYONE,
    ("GET", f"{P}/connexion"): EVERYONE,
    ("POST", f"{P}/connexion"): EVERYONE,
    ("POST", f"{P}/deconnexion"): EVERYONE,
    ("GET", f"{P}/espace"): READERS,
    ("GET", f"{P}/demandes"): STAFF,
    ("POST", f"{P}/demandes"): STAFF,
    ("GET", f"{P}/demandes/{{request_id}}"): STAFF,
    ("POST", f"{P}/demandes/{{request_id}}/suivi"): STAFF,
    ("GET", f"{P}/locaux"): STAFF,
    ("POST", f"{P}/locaux"): STAFF,
    ("GET", f"{P}/projets"): READERS,
    ("GET", f"{P}/projets/{{project_id}}"): READERS,
    ("POST", f"{P}/projets/{{project_id}}/etape"): STAFF,
    ("POST", f"{P}/projets"): STAFF,
    ("GET", f"{P}/adresses"): STAFF,
    ("POST", f"{P}/adresses"): STAFF,
}


class Api:
    """An application with one account per role, a signed-in client per role, and seeded rows."""

    def __init__(self, url: str) -> None:
        self.app: FastAPI = create_registers_app(url, secret="secret-de-test")
        self.regs = self.app.state.registers
        self.clients: dict[str, TestClient] = {"anonyme": TestClient(self.app)}
        self.csrf: dict[str, str] = {"anonyme": ""}
        for role in SIGNED:
            self.regs.create_user(f"{role}@example.org", PASSWORD, role=role)
            client = TestClient(self.app)
            r = client.post(f"{A}/session", json={"email": f"{role}@example.org", "password": PASSWORD})
            assert r.status_code == 200, r.text
            self.clients[role], self.csrf[role] = client, r.json()["csrf_token"]
        agent = self.clients["agent"]
        headers = {"X-CSRF-Token": self.csrf["agent"]}
        assert agent.post(f"{A}/demandes", json=REQUEST, headers=headers).status_code == 201
        assert agent.post(f"{A}/locaux", json=PREMISES_NEAR, headers=headers).status_code == 201
        assert agent.post(f"{A}/projets", json=PROJECT, headers=headers).status_code == 201
        for entry in DIRECTORY:
            assert agent.post(f"{A}/annuaire", json=entry, headers=headers).status_code == 201

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.regs.engine.dispose()


@pytest.fixture(scope="module", params=support.BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'registres.sqlite'}"
    else:
        url = request.getfixturevalue("postgres").database(migrated=False)
    instance = Api(url)
    yield instance
    instance.close()


def _call(api: Api, role: str, method: str, path: str) -> Any:
    """One request with a valid body for the route (and the role's CSRF token)."""
    n = next(_n)
    client, csrf = api.clients[role], api.csrf[role]
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if (method, path) in {("DELETE", f"{A}/session"), ("POST", f"{P}/deconnexion")} and csrf:
        client = TestClient(api.app)  # logout ends the session: sign in again, keep the role's own session
        signed = client.post(f"{A}/session", json={"email": f"{role}@example.org", "password": PASSWORD})
        csrf = signed.json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf}
    ids = {"request_id": 1, "premises_id": 1, "project_id": 1, "entry_id": 1}
    if method == "DELETE" and "entry_id" in path:
        ids["entry_id"] = api.regs.create_directory_entry(SYSTEM, DirectoryCreate(**DIRECTORY[2])).id
    url = path.format(**ids)
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    bodies: dict[tuple[str, str], Any] = {
        ("POST", f"{A}/session"): {"email": "nobody@example.org", "password": "mauvais"},
        ("POST", f"{A}/demandes"): REQUEST,
        ("PATCH", f"{A}/demandes/{{request_id}}"): {"notes": "Rappelée"},
        ("POST", f"{A}/locaux"): PREMISES_NEAR,
        ("PATCH", f"{A}/locaux/{{premises_id}}"): {"rent_eur_month": 950},
        ("POST", f"{A}/projets"): PROJECT,
        ("PATCH", f"{A}/projets/{{project_id}}"): {"stage": "financement"},
        ("POST", f"{A}/annuaire"): DIRECTORY[2],
        ("PUT", f"{A}/annuaire/{{entry_id}}"): DIRECTORY[0],
        ("POST", f"{A}/comptes"): {"email": f"u{n}@example.org", "role": "agent", "password": PASSWORD},
    }
    if (method, path) in bodies:
        kwargs["json"] = bodies[(method, path)]
    forms = {
        f"{P}/connexion": {"email": "nobody@example.org", "password": "mauvais"},
        f"{P}/deconnexion": {"csrf_token": csrf},
        f"{P}/demandes": {"csrf_token": csrf, "professional_name": "Dr Form", "profession": "infirmier"},
        f"{P}/demandes/{{request_id}}/suivi": {"csrf_token": csrf, "statut": "en_cours", "note": "Appel"},
        f"{P}/projets/{{project_id}}/etape": {"csrf_token": csrf, "etape": "financement", "note": "Dossier"},
        f"{P}/locaux": {"csrf_token": csrf, "label": "L", "lat": "44.8", "lon": "-0.6", "surface_m2": "30"},
        f"{P}/projets": {"csrf_token": csrf, "name": "MSP", "kind": "msp", "stage": "porteur"},
        f"{P}/adresses": {"csrf_token": csrf, "structure": "PMI", "kind": "pmi", "commune": "Pessac"}
        | {"lat": "44,8", "lon": "-0,6"},
    }
    if method == "POST" and path in forms:
        kwargs["data"] = forms[path]
    params = {
        f"{A}/personnes/export": {"email": REQUEST["email"]},
        f"{P}/annuaire": {"besoin": "centre_de_sante", "lieu": "Mérignac"},
        f"{P}/annuaire/guide": {"commune": "Mérignac"},
    }
    kwargs["params"] = params.get(path, {})
    return client.request(method, url, **kwargs)


def test_every_route_is_in_the_access_matrix(api: Api) -> None:
    routes = {
        (method, route.path)
        for router in (api_router, pages_router)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert routes == set(ACCESS)


@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
def test_access_matrix(api: Api, method: str, path: str) -> None:
    allowed = ACCESS[(method, path)]
    for role in ROLES:
        r = _call(api, role, method, path)
        where = f"{role} {method} {path} → {r.status_code} {r.text[:200]}"
        if role in allowed:
            assert r.status_code < 400 or path.endswith(("/session", "/connexion")), where
        elif path.startswith(A):
            assert r.status_code == (401 if role == "anonyme" else 403), where
            assert r.headers["content-type"] == "application/problem+json", where
        elif role == "anonyme":
            assert r.status_code == 303 and "/registres/connexion" in r.headers["location"], where
        else:
            assert r.status_code == 403 and "Accès refusé" in r.text, where
        if role not in STAFF:
            leaked = [value for value in PERSONAL if value in r.text]
            assert not leaked, f"{where} : données personnelles visibles {leaked}"


def test_partner_reads_stage_without_personal_data(api: Api) -> None:
    body = api.clients["partenaire"].get(f"{A}/projets/1").json()
    assert body["stage"] == "financement" and body["partners"] == [
        {"organisation": "ARS Nouvelle-Aquitaine", "role": "financeur"}
    ]
    assert "porteur_name" not in body
    full = api.clients["agent"].get(f"{A}/projets/1").json()
    assert full["porteur_email"] == PROJECT["porteur_email"]


def test_csrf_is_required_for_writes(api: Api) -> None:
    agent = api.clients["agent"]
    assert agent.post(f"{A}/demandes", json=REQUEST).status_code == 403
    r = agent.post(f"{A}/demandes", json=REQUEST, headers={"X-CSRF-Token": "faux"})
    assert r.status_code == 403 and "CSRF" in r.json()["title"]
    form = {"professional_name": "Dr Sans Jeton", "profession": "infirmier"}
    assert agent.post(f"{P}/demandes", data=form, follow_redirects=False).status_code == 403
    assert agent.get(f"{A}/demandes").status_code == 200  # reads need no token


def test_session_cookie_is_signed_and_protected(api: Api) -> None:
    client = TestClient(api.app)
    r = client.post(f"{A}/session", json={"email": "agent@example.org", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/registres" in cookie
    value = client.cookies.get("accesoins_registres")
    client.cookies.set("accesoins_registres", value[:-2] + "xx", path="/registres")
    assert client.get(f"{A}/demandes").status_code == 401
    bad = TestClient(api.app).post(f"{A}/session", json={"email": "agent@example.org", "password": "x" * 12})
    assert bad.status_code == 401 and bad.json()["title"] == "Identifiants non valides"
    client.close()


def test_sign_in_is_throttled_after_repeated_failures(api: Api) -> None:
    client = TestClient(api.app)
    email = "administrateur@example.org"
    for _ in range(5):
        r = client.post(f"{A}/session", json={"email": email, "password": "mauvais mot de passe"})
        assert r.status_code == 401
    r = client.post(f"{A}/session", json={"email": email, "password": PASSWORD})
    assert r.status_code == 429 and "réessayez dans 15 minutes" in r.json()["detail"]
    page = client.post(f"{P}/connexion", data={"email": email.upper(), "password": PASSWORD})
    assert page.status_code == 429 and "Trop d&#39;essais" in page.text
    api.regs.sign_in_succeeded(email)  # other tests sign in with this account
    client.close()


def test_api_reads_are_in_the_audit_log(api: Api) -> None:
    api.clients["agent"].get(f"{A}/demandes/1")
    log = api.clients["administrateur"].get(f"{A}/journal", params={"limite": 50}).json()
    seen = {(e["user_email"], e["action"], e["entity"], e["entity_id"]) for e in log}
    assert ("agent@example.org", "lecture", "request", "1") in seen
    export = api.clients["administrateur"].get(f"{A}/personnes/export", params={"email": REQUEST["email"]})
    assert export.json()["demandes_installation"][0]["phone"] == REQUEST["phone"]


def test_french_problem_details(api: Api) -> None:
    agent = api.clients["agent"]
    r = agent.get(f"{A}/demandes/999")
    assert (
        r.status_code == 404
        and r.json()["detail"] == "demande d'installation n° 999 introuvable dans les registres."
    )
    r = agent.post(
        f"{A}/locaux", json={**PREMISES_NEAR, "surface_m2": -3}, headers={"X-CSRF-Token": api.csrf["agent"]}
    )
    assert r.status_code == 422 and "corps « surface_m2 »" in r.json()["detail"]
    r = api.clients["anonyme"].get(f"{A}/annuaire", params={"lieu": "Lyon"})
    assert r.status_code == 404 and "Mérignac" in r.json()["detail"]


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(api: Api) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_asgi(f"{A}/openapi.json", api.app)
    own = TestClient(api.app)  # its own session: DELETE /session ends it, not the other tests' one
    signed = own.post(f"{A}/session", json={"email": "administrateur@example.org", "password": PASSWORD})
    cookies = {"accesoins_registres": own.cookies.get("accesoins_registres")}
    headers = {"X-CSRF-Token": signed.json()["csrf_token"]}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            try:
                response = case.call(headers=headers, cookies=cookies)
            except Exception as exc:  # the test client re-raises server errors: record, do not shrink
                failures.append(f"{case.method} {case.formatted_path} → {exc!r} {case.body!r}")
                return
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code} {case.body!r}")

        check()
    assert operations == sum(1 for m, p in ACCESS if p.startswith(A))
    assert not failures, json.dumps(failures[:10], ensure_ascii=False, indent=1)


def test_pages_guide_has_a_print_stylesheet(api: Api) -> None:
    r = api.clients["anonyme"].get(f"{P}/annuaire/guide", params={"commune": "merignac"})
    assert r.status_code == 200 and "@media print" in r.text
    assert "Centre de santé de Mérignac" in r.text and "PMI de Mérignac" in r.text
    assert "Centre de santé de Pessac" not in r.text
    assert api.clients["anonyme"].get(f"{P}/annuaire/guide", params={"commune": "Lyon"}).status_code == 404


def test_web_observatory_mounts_the_registers_only_when_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accesoins.app import create_app

    monkeypatch.delenv("ACCESOINS_REGISTERS_URL", raising=False)
    with TestClient(create_app(tmp_path / "absent.duckdb", warm=False)) as client:
        assert client.get(f"{P}/annuaire").status_code == 404
    monkeypatch.setenv("ACCESOINS_REGISTERS_URL", f"sqlite:///{tmp_path / 'registres.sqlite'}")
    monkeypatch.setenv("ACCESOINS_REGISTERS_SECRET", "secret-de-test")
    app = create_app(tmp_path / "absent.duckdb", warm=False)
    with TestClient(app) as client:
        assert "Trouver un lieu de soins" in client.get(f"{P}/annuaire").text
        assert client.get(f"{A}/demandes").status_code == 401
        assert f"{A}/demandes" in client.get("/api/openapi.json").json()["paths"]
    app.state.registers.engine.dispose()
