"""Registers on SQLite and PostgreSQL: migrations, explained matches, audit, retention, RGPD export,
directory search, CSV import/export with row-level French errors, and the ``registers`` CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, inspect, select, update
from typer.testing import CliRunner

import test_registers_support as support
from accesoins.cli import app as cli_app
from accesoins.registers import (
    SYSTEM,
    AplLookup,
    PlaceNotFoundError,
    Registers,
    current_revision,
    export_csv,
    head_revision,
    import_csv,
    make_engine,
    migrate,
)
from accesoins.registers._csv import RegisterImportError
from accesoins.registers._models import AuditEvent, InstallationRequest, Match
from accesoins.registers._schemas import DirectoryCreate, PremisesCreate, ProjectCreate, RequestCreate
from test_registers_support import DIRECTORY, PASSWORD, PREMISES_FAR, PREMISES_NEAR, PROJECT, REQUEST

postgres, db_url, empty_db_url = support.postgres, support.db_url, support.empty_db_url
AGENT = SYSTEM.__class__(7, "agent@example.org", "agent")


def _apl() -> AplLookup:
    """Two synthetic communes: Mérignac under-served (APL 2.0), Libourne well served (4.5)."""
    frame = gpd.GeoDataFrame(
        {"unit_id": ["33281", "33243"], "name": ["Mérignac", "Libourne"], "apl": [2.0, 4.5]},
        geometry=[shapely.box(-0.75, 44.80, -0.60, 44.88), shapely.box(-0.30, 44.88, -0.20, 44.95)],
        crs="EPSG:4326",
    )
    return AplLookup(frame, snapshot_id="test")


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def regs(engine: Engine) -> Registers:
    return Registers(engine, apl=_apl())


def test_migrations_from_empty_database(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    assert current_revision(engine) is None
    assert migrate(engine) == head_revision() == "0002"
    tables = set(inspect(engine).get_table_names())
    assert {
        "reg_request",
        "reg_premises",
        "reg_match",
        "reg_project",
        "reg_directory",
        "reg_audit",
        "reg_user",
        "reg_session",
        "reg_login_attempt",
        "reg_alembic_version",
    } <= tables
    assert migrate(engine) == "0002"  # idempotent
    engine.dispose()


def test_matches_are_scored_and_explained(regs: Registers) -> None:
    request = regs.create_request(AGENT, RequestCreate(**REQUEST))
    near = regs.create_premises(AGENT, PremisesCreate(**PREMISES_NEAR))
    far = regs.create_premises(AGENT, PremisesCreate(**PREMISES_FAR))
    matches = regs.matches(AGENT, request.id)
    assert [m["premises_id"] for m in matches] == [near.id, far.id]
    best, worst = matches
    # near: within 3 km, 55 ≥ 40 m², free before the wished date, accessible, APL 2.0 < 2.5 → all points
    assert best["score"] == 100.0 and best["apl"] == 2.0
    points = {c["name"]: c["points"] for c in best["criteria"]}
    assert points == {
        "lieu": 30.0,
        "surface": 20.0,
        "date": 15.0,
        "accessibilite": 10.0,
        "sous_dotation": 25.0,
    }
    why = {c["name"]: c["explanation"] for c in best["criteria"]}
    assert "dans le rayon souhaité de 3,0 km" in why["lieu"]
    assert "Mérignac sous-dotée : APL 2,00" in why["sous_dotation"]
    # far: 30/40 m² = 15 points of surface only; 9 months late, not accessible, APL 4.5
    assert worst["score"] == 15.0 and worst["apl"] == 4.5
    assert "9,0 mois après" in {c["name"]: c["explanation"] for c in worst["criteria"]}["date"]
    # closing the request withdraws its proposals
    regs.update_request(AGENT, request.id, regs_update(status="installee"))
    assert regs.matches(AGENT, request.id) == []
    assert regs.request(AGENT, request.id).closed_on == dt.date.today()


def regs_update(**values: object) -> object:
    from accesoins.registers._schemas import RequestUpdate

    return RequestUpdate(**values)


def test_without_snapshot_the_score_is_rescaled(engine: Engine) -> None:
    regs = Registers(engine)
    request = regs.create_request(AGENT, RequestCreate(**REQUEST))
    regs.create_premises(AGENT, PremisesCreate(**PREMISES_NEAR))
    (match,) = regs.matches(AGENT, request.id)
    assert match["score"] == 100.0 and match["apl"] is None
    assert "sous_dotation" not in {c["name"] for c in match["criteria"]}


def test_personal_data_reads_and_writes_are_audited(regs: Registers) -> None:
    request = regs.create_request(AGENT, RequestCreate(**REQUEST))
    regs.request(AGENT, request.id)
    regs.requests(AGENT)
    regs.create_project(AGENT, ProjectCreate(**PROJECT))
    partner = SYSTEM.__class__(9, "partenaire@example.org", "partenaire")
    regs.projects(partner)  # a partner's view holds no personal data: not an access to log
    with regs.session() as s:
        events = [(e.user_email, e.action, e.entity, e.entity_id) for e in s.scalars(select(AuditEvent))]
    assert (AGENT.email, "creation", "request", str(request.id)) in events
    assert (AGENT.email, "lecture", "request", str(request.id)) in events
    assert sum(1 for e in events if e[1] == "lecture" and e[2] == "request") == 2
    assert (AGENT.email, "creation", "project", "1") in events
    assert not [e for e in events if e[0] == partner.email]


def test_retention_anonymises_old_closed_requests(regs: Registers) -> None:
    old = regs.create_request(AGENT, RequestCreate(**REQUEST))
    recent = regs.create_request(AGENT, RequestCreate(**{**REQUEST, "status": "abandonnee"}))
    still_open = regs.create_request(AGENT, RequestCreate(**REQUEST))
    regs.create_premises(AGENT, PremisesCreate(**PREMISES_NEAR))
    with regs.session() as s:
        s.execute(
            update(InstallationRequest)
            .where(InstallationRequest.id == old.id)
            .values(status="installee", closed_on=dt.date(2023, 1, 15))
        )
    assert regs.anonymise_closed(SYSTEM, months=24, today=dt.date(2026, 11, 22)) == [old.id]
    gone = regs.request(AGENT, old.id)
    assert (gone.professional_name, gone.email, gone.phone, gone.notes) == ("anonymisé", "", "", "")
    assert gone.anonymised_at is not None and gone.profession == "generaliste"
    assert regs.request(AGENT, recent.id).professional_name == REQUEST["professional_name"]
    assert regs.request(AGENT, still_open.id).email == REQUEST["email"]
    with regs.session() as s:
        assert s.scalars(select(Match).where(Match.request_id == old.id)).all() == []
        actions = [e.action for e in s.scalars(select(AuditEvent))]
    assert "anonymisation" in actions
    assert regs.anonymise_closed(SYSTEM, months=24, today=dt.date(2026, 11, 22)) == []


def test_rgpd_export_of_one_person(regs: Registers) -> None:
    regs.create_request(AGENT, RequestCreate(**REQUEST))
    regs.create_request(AGENT, RequestCreate(**{**REQUEST, "email": "autre@example.org"}))
    regs.create_project(AGENT, ProjectCreate(**{**PROJECT, "porteur_email": "Camille.Martin@example.org"}))
    data = regs.export_person(AGENT, "camille.martin@example.org")
    text = json.dumps(data, ensure_ascii=False)
    assert len(data["demandes_installation"]) == 1 and len(data["projets_portes"]) == 1
    assert "autre@example.org" not in text and "password_hash" not in text
    assert data["demandes_installation"][0]["notes"] == "Rappeler en juin"
    with regs.session() as s:
        assert "export" in [e.action for e in s.scalars(select(AuditEvent))]


def test_directory_nearest_first(regs: Registers) -> None:
    for entry in DIRECTORY:
        regs.create_directory_entry(AGENT, DirectoryCreate(**entry))
    hits, found = regs.search_directory(need="centre_de_sante", place="merignac")
    assert found == "Mérignac"
    assert [h["commune"] for h in hits] == ["Mérignac", "Pessac", "Bordeaux"]
    assert hits[0]["distance_km"] < hits[1]["distance_km"] < hits[2]["distance_km"]
    hits, _ = regs.search_directory(place="44.84, -0.56", text="espagnol")
    assert [h["structure"] for h in hits] == ["Centre de santé Bordeaux Bastide"]
    with pytest.raises(PlaceNotFoundError, match="Bordeaux, Mérignac, Pessac"):
        regs.search_directory(place="Lyon")
    hits, found = regs.search_directory(place="Libourne")  # from the snapshot's communes
    assert found == "Libourne" and hits[0]["commune"] == "Bordeaux"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_import_reports_every_bad_cell_and_imports_nothing(regs: Registers, tmp_path: Path) -> None:
    bad = _write(
        tmp_path / "locaux.csv",
        "label;commune;lat;lon;surface_m2;accessible_pmr;available_on\n"
        "Cabinet A;Mérignac;44,84;-0,63;55;oui;01/07/2026\n"
        "Cabinet B;Pessac;44.80;-0.63;grand;non;\n"
        "Cabinet C;Pessac;;-0.63;40;peut-être;31/02/2026\n",
    )
    with pytest.raises(RegisterImportError) as caught:
        import_csv(regs, "locaux", bad, actor=SYSTEM)
    where = [(e.line, e.column) for e in caught.value.errors]
    assert where == [(3, "surface_m2"), (4, "lat"), (4, "accessible_pmr"), (4, "available_on")]
    assert f"{bad}, ligne 3, colonne « surface_m2 » : nombre attendu (reçu « grand »)" in str(caught.value)
    assert regs.premises_list(AGENT) == []
    header = _write(tmp_path / "h.csv", "label,ville,lat,lon\nA,B,1,2\n")
    with pytest.raises(RegisterImportError, match="ligne 1, colonne « ville » : colonne inconnue"):
        import_csv(regs, "locaux", header, actor=SYSTEM)
    good = _write(
        tmp_path / "ok.csv",
        "label;commune;lat;lon;surface_m2;accessible_pmr;available_on\n"
        "Cabinet A;Mérignac;44,84;-0,63;55;oui;01/07/2026\n",
    )
    assert import_csv(regs, "locaux", good, actor=SYSTEM) == 1
    (row,) = regs.premises_list(AGENT)
    assert (row.lat, row.accessible_pmr, row.available_on) == (44.84, True, dt.date(2026, 7, 1))


def test_csv_round_trip_of_each_register(regs: Registers, tmp_path: Path) -> None:
    regs.create_request(AGENT, RequestCreate(**REQUEST))
    regs.create_premises(AGENT, PremisesCreate(**PREMISES_NEAR))
    regs.create_project(AGENT, ProjectCreate(**PROJECT))
    regs.create_directory_entry(AGENT, DirectoryCreate(**DIRECTORY[0]))
    for name in ("demandes", "locaux", "projets", "annuaire"):
        path = tmp_path / f"{name}.csv"
        assert export_csv(regs, name, path, actor=SYSTEM) == 1
        assert import_csv(regs, name, path, actor=SYSTEM) == 1
    assert [r.professional_name for r in regs.requests(AGENT)] == [REQUEST["professional_name"]] * 2
    assert [p["stage"] for p in regs.projects(AGENT)] == ["financement"] * 2
    with regs.session() as s:
        exported = {e.entity for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "export"))}
    assert exported == {"demandes", "locaux", "projets"}


def test_cli_registers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESOINS_STORE", str(tmp_path / "absent.duckdb"))  # no snapshot: no APL criterion
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli_app, ["registers", *args, "--db", db])
        assert result.exit_code == 0, result.output
        return result.output

    assert "révision 0002" in run("migrate")
    assert "créé (rôle agent)" in run(
        "create-user", "agent@example.org", "--role", "agent", "--password", PASSWORD
    )
    csv = _write(
        tmp_path / "demandes.csv",
        "professional_name;profession;email;status\n"
        "Dr A;generaliste;a@example.org;nouvelle\nDr B;dentiste;b@example.org;nouvelle\n",
    )
    failed = runner.invoke(cli_app, ["registers", "import", "demandes", str(csv), "--db", db])
    assert failed.exit_code == 2
    assert "ligne 3, colonne « profession » : valeur non reconnue" in " ".join(failed.output.split())
    csv.write_text("professional_name;profession;email;status\nDr A;generaliste;a@example.org;installee\n")
    assert "1 ligne(s) importée(s)" in run("import", "demandes", str(csv))
    assert "1 ligne(s)" in run("export", "demandes", str(tmp_path / "out.csv"))
    assert "Dr A" in (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "0 demande(s) anonymisée(s)" in run("anonymise", "--months", "12")
    run("export-person", "a@example.org", "--out", str(tmp_path / "a.json"))
    exported = json.loads((tmp_path / "a.json").read_text())
    assert exported["demandes_installation"][0]["professional_name"] == "Dr A"
    bad_role = runner.invoke(
        cli_app,
        ["registers", "create-user", "x@example.org", "--role", "chef", "--password", PASSWORD, "--db", db],
    )
    assert bad_role.exit_code == 2 and "Rôles possibles" in bad_role.output


@pytest.mark.slow
def test_apl_of_the_commune_containing_the_premises_from_a_real_snapshot(
    store_path: Path, gironde: str, tmp_path: Path
) -> None:
    from accesoins.store import Store, indicator_layer

    lookup = AplLookup.from_store(store_path, snapshot=gironde)
    with Store(store_path, read_only=True) as store:
        layer = indicator_layer(store, gironde, level="commune", profession="generaliste")
    expected = float(layer.loc[layer["unit_id"] == "33063", "apl"].iloc[0])
    bordeaux = lookup.at(44.8378, -0.5792)  # place Pey-Berland
    assert bordeaux is not None and bordeaux.unit_id == "33063" and bordeaux.apl == pytest.approx(expected)
    assert lookup.at(48.8566, 2.3522) is None  # Paris is outside the Gironde snapshot
    engine = make_engine(f"sqlite:///{tmp_path / 'r.sqlite'}")
    migrate(engine)
    regs = Registers(engine, apl=lookup)
    request = regs.create_request(AGENT, RequestCreate(**REQUEST))
    regs.create_premises(AGENT, PremisesCreate(**{**PREMISES_NEAR, "lat": 44.8378, "lon": -0.5792}))
    (match,) = regs.matches(AGENT, request.id)
    assert match["apl"] == pytest.approx(expected)
    assert "commune Bordeaux" in {c["name"]: c["explanation"] for c in match["criteria"]}["sous_dotation"]
    engine.dispose()
