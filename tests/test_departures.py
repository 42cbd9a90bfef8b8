"""Retirements from a local file and trends, on two real builds of Bordeaux Métropole (issue 13 §4–5).

The departures file is synthetic (``departures_support``: real RPPS identifiers of the Gironde 2017
extraction, seeded birth years, since no real file of ages exists). The EPCI (Gironde files, its
surroundings included) costs less than the whole département and gives Bordeaux the same figures.
Both snapshots are built from a
copy of the real files; the copy is deleted before anything reads the store, so every route below
works from the snapshot alone.
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from accesoins.cli import app
from accesoins.errors import DataFileError
from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, build_observatory
from accesoins.outputs import ReportBuilder, horizon_table, retirement_section, senior_count
from accesoins.outputs.web import create_app
from accesoins.parameters import load_retirement_parameters
from accesoins.scenarios import ScenarioEngine, read_scenario
from accesoins.sources import sha256_of
from accesoins.store import Store, practitioner_departures, snapshot_year
from browser_support import SHOTS, chromium, serve
from departures_support import UNKNOWN_IDS, write_departures
from test_reports import pdf_text
from test_self_contained import FILES

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

BORDEAUX = "33063"
EPCI = "243300316"  # Bordeaux Métropole


class Built:
    """Two Gironde snapshots with departures, the store, the synthetic file's content."""

    def __init__(self, store: Path, first: str, second: str, table: pd.DataFrame, output: str) -> None:
        self.store, self.first, self.second, self.table, self.output = store, first, second, table, output


@pytest.fixture(scope="module")
def built(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("departs")
    copy = root / "data"
    for name in FILES["33"]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / name, copy / name)
    departures = root / "departs.csv"
    table = write_departures(data_dir, departures)
    store = root / "accesoins.duckdb"
    first = build_observatory(BuildOptions(parse_territory(EPCI), copy, store, departures=departures))
    result = CliRunner().invoke(
        app,
        ["build", "-t", EPCI, "--data-dir", str(copy), "--store", str(store), "--departs", str(departures)],
    )
    assert result.exit_code == 0, result.output
    with Store(store, read_only=True) as s:
        second = s.latest()
        sources = s.sources(second)
    row = sources[sources["name"] == "departures"].iloc[0]
    assert row["sha256"] == sha256_of(departures) and row["rows"] == 1167
    shutil.rmtree(copy)  # from here on, only the snapshots
    departures.unlink()
    return Built(store, first, second, table, result.output)


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    with TestClient(create_app(built.store)) as c:
        yield c


def test_build_reports_matches_and_keeps_only_known_practitioners(built: Built) -> None:
    text = re.sub(r"\s+", " ", built.output)
    assert (
        "départs (departs.csv) : 1167 praticien(s) du territoire ou de ses environs retrouvé(s), "
        "129 identifiant(s) inconnu(s)" in text
    )
    with Store(built.store, read_only=True) as s:
        stored = practitioner_departures(s, built.second)
        meta = s.metadata(built.second)
        activities = s.table("activities", built.second)
        around = (
            s.table("surrounding_activities", built.second) if s.has_table("surrounding_activities") else None
        )
    assert (meta["departures_matched"], meta["departures_unknown"]) == (1167, 129)
    known = set(activities["practitioner_id"]) | (
        set(around["practitioner_id"]) if around is not None else set()
    )
    assert len(stored) == 1167 and set(stored["practitioner_key"]) <= known
    assert not set(UNKNOWN_IDS) & set(stored["practitioner_key"])
    # the 12-character « 8 + RPPS » identifiers of the file were matched as 11-digit keys
    expected = built.table.set_index("practitioner_key").loc[stored["practitioner_key"]]
    assert stored["birth_year"].tolist() == expected["birth_year"].tolist()
    assert stored["departure_year"].tolist() == expected["departure_year"].tolist()


def test_bad_departures_file_stores_nothing(data_dir: Path, built: Built, tmp_path: Path) -> None:
    bad = tmp_path / "departs.csv"
    bad.write_text("practitioner_id,annee_naissance,date_retraite\n10100499945,1850,\n", encoding="utf-8")
    with Store(built.store, read_only=True) as s:
        before = len(s.snapshots())
    options = BuildOptions(parse_territory(EPCI), data_dir, built.store, departures=bad)
    with pytest.raises(DataFileError) as err:
        build_observatory(options)
    assert "departs.csv" in str(err.value) and "ligne 2, colonne « annee_naissance »" in str(err.value)
    with Store(built.store, read_only=True) as s:
        assert len(s.snapshots()) == before


@pytest.fixture(scope="module")
def engine(built: Built) -> ScenarioEngine:
    with Store(built.store, read_only=True) as s:
        return ScenarioEngine.from_store(s, built.second)


@pytest.fixture(scope="module")
def counts(built: Built) -> pd.DataFrame:
    """Distinct practitioners and those aged 60 and over, per commune × profession (stored activities)."""
    with Store(built.store, read_only=True) as s:
        acts = s.table("activities", built.second)
        year = snapshot_year(s, built.second)
    acts = acts[["commune_code", "profession", "practitioner_id"]].drop_duplicates()
    births = built.table.set_index("practitioner_key")["birth_year"]
    acts["senior"] = (year - acts["practitioner_id"].map(births)).ge(load_retirement_parameters().senior_age)
    acts["senior"] = acts["senior"].fillna(False).astype(bool)
    return acts.groupby(["commune_code", "profession"]).agg(
        n=("practitioner_id", "size"), seniors=("senior", "sum")
    )


def test_bordeaux_seniors_and_apl_at_horizon(engine: ScenarioEngine, counts: pd.DataFrame) -> None:
    section = retirement_section(engine, level="commune", unit_id=BORDEAUX, k=11)
    gp = next(p for p in section["professions"] if p["profession"] == "generaliste")
    n, seniors = counts.loc[(BORDEAUX, "generaliste")]
    assert (gp["practitioners"], n) == (400, 400)
    assert gp["seniors"] == seniors == 167 and gp["seniors_text"] == "167"  # well above both thresholds
    assert section["horizon_year"] == section["year"] + 5 and section["age"] == 67
    assert section["apl_horizon"] < section["apl_today"]
    assert section["apl_today"] == pytest.approx(4.5129, abs=1e-4)
    # every unit: the APL at the horizon is never above today's (departures only remove supply)
    table = horizon_table(engine, 5, 67)
    assert (table["apl_after"] <= table["apl_before"] + 1e-12).all()
    assert (table["apl_after"] < table["apl_before"] - 1e-9).sum() > 100


def test_disclosure_rule_masks_small_counts(engine: ScenarioEngine, counts: pd.DataFrame) -> None:
    assert senior_count(4, 2) == (None, "non diffusé (moins de 5 praticiens)")
    assert senior_count(10, 2) == (None, "moins de 3") and senior_count(10, 0) == (None, "moins de 3")
    assert senior_count(10, 8) == (None, "au moins 8") and senior_count(10, 7) == (7, "7")
    seen = set()
    cache: dict[tuple[int, int], pd.DataFrame] = {}
    for commune in counts.index.get_level_values("commune_code").unique():
        section = retirement_section(engine, level="commune", unit_id=str(commune), k=11, cache=cache)
        for p in section["professions"]:
            n, seniors = counts.loc[(commune, p["profession"])]
            assert p["seniors_text"] == senior_count(n, seniors)[1]
            if p["seniors"] is None:
                seen.add(p["seniors_text"].split(" ")[0])
            else:
                assert min(p["seniors"], n - p["seniors"]) >= 3 and n >= 5
    assert {"non", "moins"} <= seen  # both masked forms occur on the real communes


def _no_personal_data(text: str, built: Built) -> None:
    keys = set(built.table["practitioner_key"])
    assert not keys & set(re.findall(r"\d{11}", text))
    assert "birth_year" not in text and "annee_naissance" not in text and "departure_year" not in text


def test_api_departures_from_the_snapshot_alone(client: TestClient, built: Built) -> None:
    info = client.get("/api/departs", params={"snapshot": built.second})
    assert info.status_code == 200 and info.json()["available"] is True
    fiche = client.get(f"/api/units/commune/{BORDEAUX}/departs", params={"snapshot": built.second})
    assert fiche.status_code == 200
    body = fiche.json()
    assert body["professions"][0]["seniors"] == 167 and body["apl_horizon"] < body["apl_today"]
    assert f"en {body['horizon_year']}" in body["text"] and "," in body["apl_horizon_text"]
    later = client.get(
        f"/api/units/commune/{BORDEAUX}/departs", params={"snapshot": built.second, "horizon": 10, "age": 65}
    ).json()
    assert later["horizon_year"] == body["year"] + 10 and later["apl_horizon"] < body["apl_horizon"]
    sim = client.post(
        "/api/scenarios",
        json={
            "snapshot": built.second,
            "level": "commune",
            "changements": [{"retraites": {"horizon_annees": 5}}],
        },
    )
    assert sim.status_code == 200, sim.text
    result = sim.json()
    assert "médecin(s) généraliste(s) en moins" in result["summary"][0]
    bordeaux = next(f["properties"] for f in result["features"] if f["properties"]["unit_id"] == BORDEAUX)
    assert bordeaux["apl_after"] == pytest.approx(body["apl_horizon"], rel=1e-9)
    assert all(
        f["properties"]["delta"] is None or f["properties"]["delta"] <= 1e-12 for f in result["features"]
    )
    for response in (info, fiche, sim):
        _no_personal_data(response.text, built)
    for path in ("/api/layers/commune", "/api/downloads/sites.csv", f"/api/units/commune/{BORDEAUX}"):
        _no_personal_data(client.get(path, params={"snapshot": built.second}).text, built)


def test_retirements_need_a_departures_table(store_path: Path, gironde: str) -> None:
    with TestClient(create_app(store_path)) as c:
        assert c.get("/api/departs", params={"snapshot": gironde}).json()["available"] is False
        fiche = c.get(f"/api/units/commune/{BORDEAUX}/departs", params={"snapshot": gironde}).json()
        assert fiche["available"] is False and "--departs" in fiche["text"]
        sim = c.post(
            "/api/scenarios",
            json={"snapshot": gironde, "changements": [{"retraites": {"horizon_annees": 5}}]},
        )
        assert sim.status_code == 422 and "fichier de départs" in sim.json()["detail"]
        trend = c.get(f"/api/units/commune/{BORDEAUX}/trend", params={"snapshot": gironde}).json()
        assert trend["first"] is True and "Un seul instantané" in trend["text"] and trend["svg"] == ""


def test_trend_route_with_two_snapshots(client: TestClient, built: Built) -> None:
    r = client.get(f"/api/units/commune/{BORDEAUX}/trend", params={"snapshot": built.second})
    assert r.status_code == 200
    body = r.json()
    assert body["first"] is False and [p["snapshot_id"] for p in body["points"]] == [
        built.first,
        built.second,
    ]
    with Store(built.store, read_only=True) as s:
        for point in body["points"]:
            row = s.table(
                "indicators",
                point["snapshot_id"],
                where="level = 'commune' AND unit_id = ? AND profession = 'generaliste'",
                args=[BORDEAUX],
            ).iloc[0]
            assert point["apl"] == pytest.approx(row["apl"]) and point["headcount"] == 400
            assert point["population"] == 254_436
    assert body["svg"].startswith("<svg") and body["svg"].count("<circle") == 2 and "4,51" in body["svg"]
    assert "2 instantanés" in body["text"]
    missing = client.get("/api/units/commune/99999/trend", params={"snapshot": built.second})
    assert missing.status_code == 404 and "99999" in missing.json()["detail"]


def test_pdf_fiche_shows_seniors_horizon_and_trend(built: Built, tmp_path: Path) -> None:
    with Store(built.store, read_only=True) as s:
        out = ReportBuilder(s, built.second).render(BORDEAUX, tmp_path / "fiche.pdf")
    text = pdf_text(out)
    assert "Départs en retraite (fichier local)" in text and "dont 60 ans et plus" in text
    assert re.search(r"Médecin généraliste 400 167", text)
    assert re.search(r"APL aux médecins généralistes : 4,51 aujourd'hui, \d,\d\d en 20\d\d", text)
    assert "Évolution sur les instantanés du territoire" in text
    assert "APL aux médecins généralistes sur 2 instantanés" in text
    _no_personal_data(text, built)


def test_departures_panel_in_the_browser(built: Built) -> None:
    """The « Départs » panel runs the scenario and maps the APL change, on desktop and phone widths."""
    with serve(create_app(built.store), name="accesoins-departs") as url, chromium() as browser:
        for name, viewport in (("bureau", (1400, 900)), ("telephone", (390, 844))):
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                locale="fr-FR",
                is_mobile=name != "bureau",
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(f"{url}/?snapshot={built.second}")
            page.wait_for_function("() => (document.body.dataset.layerReady || '') !== ''", timeout=60_000)
            page.wait_for_selector("#departs:not([hidden])", timeout=20_000)
            page.locator("#departs-details summary").click()
            assert page.input_value("#dep-horizon") == "5" and page.input_value("#dep-age") == "67"
            page.click("#dep-run")
            page.wait_for_function(
                "() => (document.body.dataset.scenarioReady || '').startsWith('commune:')", timeout=60_000
            )
            summary = page.locator("#dep-result").inner_text()
            assert "médecin(s) généraliste(s) en moins" in summary and "Départs en retraite d'ici" in summary
            legend = page.locator("#legend").inner_text()
            assert "baisse" in legend and "Maison de santé simulée" not in legend
            page.screenshot(path=str(SHOTS / f"departs_{name}.png"), full_page=name != "bureau")
            if name == "bureau":  # the web fiche: 60 and over, APL at the horizon, the trend chart
                page.fill("#search", BORDEAUX)
                page.wait_for_selector(f'#unit-list button[data-unit="{BORDEAUX}"]')
                page.click(f'#unit-list button[data-unit="{BORDEAUX}"]')
                page.wait_for_selector("#fiche-departs", timeout=30_000)
                page.wait_for_selector("#fiche-trend svg", timeout=30_000)
                assert page.locator('[data-field="generaliste.seniors"]').inner_text() == "167"
                page.set_viewport_size({"width": 1400, "height": 2400})
                page.locator("#fiche").screenshot(path=str(SHOTS / "fiche_departs_bordeaux.png"))
            context.close()
            assert not errors, f"erreurs JavaScript : {errors}"


def test_yaml_scenario_without_file_reads_the_stored_table(engine: ScenarioEngine, tmp_path: Path) -> None:
    path = tmp_path / "retraites.yaml"
    horizon = (engine.reference_year or 0) + 5
    path.write_text(f"nom: Départs\nchangements:\n  - retraites: {{horizon: {horizon}}}\n", encoding="utf-8")
    result = engine.run(read_scenario(path))
    expected = horizon_table(engine, 5, 67)
    assert result.table["apl_after"].tolist() == pytest.approx(expected["apl_after"].tolist())
    assert result.messages[0].startswith("475 médecin(s) généraliste(s) en moins")
