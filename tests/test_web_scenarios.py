"""What-ifs in the web observatory (POST /api/scenarios) on the real Gironde snapshot; the « Simuler » panel.

The API's delta per unit must be the engine's own (``ScenarioEngine.run``); bad bodies and points outside
the territory are French problem details. The end-to-end test places a site on the map in Debian's
Chromium (Playwright), runs it and checks that the delta layer and the summary are drawn; screenshots go
to artefacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from accesoins.outputs.web import create_app
from accesoins.scenarios import AddSite, Change, Scenario, ScenarioEngine
from accesoins.store import Store
from browser_support import SHOTS, chromium, serve

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow
PROBLEM = "application/problem+json"
GRAND_PARC = {"lon": -0.5840, "lat": 44.8573}  # Bordeaux, a large social-housing estate


@pytest.fixture(scope="module")
def client(store_path: Path, gironde: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_path, warm=False)) as c:
        yield c


@pytest.fixture(scope="module")
def engine(store_path: Path, gironde: str) -> ScenarioEngine:
    with Store(store_path, read_only=True) as store:
        return ScenarioEngine.from_store(store, gironde)


def _msp(gironde: str, **extra: Any) -> dict[str, Any]:
    site = {"nom": "MSP Grand Parc", **GRAND_PARC, "generalistes": 4}
    return {"snapshot": gironde, "changements": [{"ajouter_site": site}], **extra}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["instance"] == "/api/scenarios"
    return body


def _deltas(collection: dict[str, Any]) -> dict[str, float]:
    return {f["properties"]["unit_id"]: f["properties"]["delta"] for f in collection["features"]}


def test_msp_grand_parc_delta_map_equals_the_engine(
    client: TestClient, engine: ScenarioEngine, gironde: str
) -> None:
    r = client.post("/api/scenarios", json=_msp(gironde))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["snapshot_id"] == gironde
    assert body["level"] == "commune" and len(body["features"]) == 535
    got = _deltas(body)
    assert min(got.values()) >= -1e-12  # a new site never lowers anyone's APL
    assert got["33063"] > 0  # Bordeaux gains
    scenario = Scenario(
        nom="MSP Grand Parc",
        changements=[Change(ajouter_site=AddSite(nom="MSP Grand Parc", generalistes=4, **GRAND_PARC))],
    )
    result = engine.run(scenario)
    direct = result.table[result.table["level"] == "commune"].set_index("unit_id")
    assert set(got) == set(direct.index)
    assert np.allclose([got[u] for u in direct.index], direct["delta"], rtol=0, atol=1e-9)
    bordeaux = next(f["properties"] for f in body["features"] if f["properties"]["unit_id"] == "33063")
    assert bordeaux["apl_before"] == pytest.approx(direct.loc["33063", "apl_before"], abs=1e-9)
    assert bordeaux["apl_after"] == pytest.approx(direct.loc["33063", "apl_after"], abs=1e-9)
    # the engine's French summary, with decimal commas; the grid line is read after the public gate
    expected = [re.sub(r"(\d)\.(\d)", r"\1,\2", line) for line in result.summary()]
    assert body["summary"][:-1] == expected[:-1]
    assert body["summary"][-1].startswith("carreau de 200 m : APL moyenne")
    assert "1292" not in body["summary"][-1]
    assert body["summary"][0] == "nouveau site « MSP Grand Parc » : 4 ETP de généralistes"
    assert body["points"] == [{"kind": "site", "nom": "MSP Grand Parc", **GRAND_PARC, "generalistes": 4.0}]
    # diverging legend: three losses, unchanged, three gains; every commune counted once
    legend = body["legend"]
    labels = [c["label"] for c in legend["classes"]]
    assert len(labels) == 7 and labels[3] == "inchangée"
    assert labels[0].startswith("baisse") and labels[-1].startswith("hausse")
    assert sum(c["count"] for c in legend["classes"]) + legend["missing"]["count"] == 535
    assert sum(c["count"] for c in legend["classes"][:3]) == 0
    changed = sum(1 for d in got.values() if abs(d) > 1e-9)
    assert sum(c["count"] for c in legend["classes"][4:]) == changed > 0
    assert bordeaux["color"] == legend["classes"][-1]["color"]  # the largest gain
    west, south, east, north = body["changed_bbox"]
    assert west < GRAND_PARC["lon"] < east and south < GRAND_PARC["lat"] < north


def test_grid_level_and_departures(client: TestClient, gironde: str) -> None:
    cells = client.post("/api/scenarios", json=_msp(gironde, level="carreau")).json()
    assert cells["level"] == "carreau" and len(cells["features"]) == 1254  # through the public gate
    assert min(d for d in _deltas(cells).values() if d is not None) >= -1e-12  # masked small cells: None
    body = {"snapshot": gironde, "changements": [{"retirer": {"commune": "33522"}}]}
    gone = client.post("/api/scenarios", json=body).json()
    deltas = _deltas(gone)
    assert max(deltas.values()) <= 1e-12 and deltas["33522"] < -0.1  # Talence loses its GPs
    assert "médecin(s) généraliste(s) en moins" in gone["summary"][0] and gone["points"] == []


def test_engine_loaded_once_per_snapshot(client: TestClient, gironde: str) -> None:
    service = client.app.state.scenarios  # type: ignore[attr-defined]
    first = service.engine(gironde)
    assert client.post("/api/scenarios", json=_msp(gironde)).status_code == 200
    assert service.engine(gironde) is first


def test_concurrent_what_ifs_share_the_engine_and_give_the_sequential_results(
    client: TestClient, gironde: str
) -> None:
    """No lock around runs: eight different what-ifs at once equal the same ones run one by one."""
    from concurrent.futures import ThreadPoolExecutor

    from accesoins.outputs.web._scenarios import ScenarioCreate

    service = client.app.state.scenarios  # type: ignore[attr-defined]
    sites = [(-0.58 + 0.01 * i, 44.84 - 0.005 * i) for i in range(8)]
    bodies = [
        ScenarioCreate.model_validate(
            {
                "snapshot": gironde,
                "changements": [{"ajouter_site": {"lon": x, "lat": y, "generalistes": 2 + i}}],
            }
        )
        for i, (x, y) in enumerate(sites)
    ]
    alone = [service.simulate(b) for b in bodies]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(service.simulate, bodies))
    assert together == alone
    assert len({json.loads(t)["touched_units"] for t in together}) > 1  # the what-ifs do differ


def test_point_outside_the_territory_is_a_french_422(client: TestClient, gironde: str) -> None:
    nice = {"snapshot": gironde, "changements": [{"ajouter_site": {"lon": 7.26, "lat": 43.70}}]}
    problem = _problem(client.post("/api/scenarios", json=nice), 422)
    assert problem["title"] == "Scénario impossible"
    assert problem["detail"].startswith("le point (7.26000, 43.70000) est hors du territoire de l'instantané")


@pytest.mark.parametrize(
    ("changes", "extra", "status", "detail"),
    [
        ([], {}, 422, "corps « changements » : au moins 1 élément(s) attendu(s)"),
        (
            [{"ajouter_site": {**GRAND_PARC, "generalistes": 0}}],
            {},
            422,
            "corps « changements.0.ajouter_site.generalistes » : valeur au moins 0",
        ),
        ([{"ajouter_site": {"lon": 200, "lat": 44.8}}], {}, 422, "changements.0.ajouter_site.lon"),
        (
            [{"ajouter_site": GRAND_PARC, "retirer": {"commune": "33063"}}],
            {},
            422,
            "chaque changement a exactement une clé : ajouter_site, ajouter_population, retirer ou retraites",
        ),
        ([{"retraites": {"fichier": "/etc/passwd", "horizon": 2031}}], {}, 422, "champ inconnu"),
        (
            [
                {"ajouter_site": {"lon": -0.584, "lat": 44.857}},
                {"ajouter_site": {"lon": -0.55, "lat": 44.85}},
            ],
            {},
            422,
            "plusieurs nouveaux sites portent le nom « Maison de santé » : donnez à chacun un nom différent",
        ),
        (
            [{"ajouter_site": {**GRAND_PARC, "nom": "MSP"}}, {"ajouter_site": {**GRAND_PARC, "nom": "MSP"}}],
            {},
            422,
            "plusieurs nouveaux sites portent le nom « MSP »",
        ),
        ([{"retirer": {"commune": "06088"}}], {}, 422, "la commune « 06088 » n'est pas dans l'instantané"),
        (
            [{"ajouter_site": GRAND_PARC}],
            {"level": "iris"},
            404,
            "Niveau « iris » introuvable dans les résultats du scénario. Valeurs possibles : commune",
        ),
        ([{"ajouter_site": GRAND_PARC}], {"snapshot": "33-19990101T000000"}, 404, "Instantané « 33-1999"),
    ],
)
def test_bad_bodies_are_french_problems(
    client: TestClient, gironde: str, changes: list[Any], extra: dict[str, Any], status: int, detail: str
) -> None:
    body = {"snapshot": gironde, "changements": changes, **extra}
    problem = _problem(client.post("/api/scenarios", json=body), status)
    assert detail in problem["detail"]


# -- end to end: the « Simuler » panel in Chromium ------------------------------------------------------


@pytest.fixture(scope="module")
def server(store_path: Path, gironde: str) -> Iterator[str]:
    with serve(create_app(store_path), name="accesoins-e2e-scenarios") as url:
        yield url


def test_simuler_panel_places_a_site_and_draws_the_delta_map(server: str, gironde: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="fr-FR")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/?snapshot={gironde}")
        page.wait_for_function(
            "() => (document.body.dataset.layerReady || '').startsWith('commune:generaliste:apl:535')",
            timeout=60_000,
        )
        page.click("#simuler summary")
        page.click("#sim-place")
        assert page.get_attribute("#sim-place", "aria-pressed") == "true"
        assert page.is_visible("#sim-hint")
        lon, lat = GRAND_PARC["lon"], GRAND_PARC["lat"]
        page.evaluate(f"window.accesoinsMap.jumpTo({{center: [{lon}, {lat}], zoom: 10}})")
        page.wait_for_function("() => window.accesoinsMap.loaded()")
        xy = page.evaluate(
            f"(() => {{ const p = window.accesoinsMap.project([{lon}, {lat}]); "
            "const r = window.accesoinsMap.getCanvas().getBoundingClientRect(); "
            "return [r.left + p.x, r.top + p.y]; })()"
        )
        page.mouse.click(xy[0], xy[1])
        assert page.get_attribute("#sim-place", "aria-pressed") == "false"
        assert float(page.input_value("#sim-lon")) == pytest.approx(lon, abs=1e-3)
        assert float(page.input_value("#sim-lat")) == pytest.approx(lat, abs=1e-3)
        assert page.input_value("#sim-etp") == "4"
        assert page.get_attribute("#fiche", "data-unit-id") is None  # placing does not open a fiche
        page.click("#sim-run")
        page.wait_for_function(
            "() => (document.body.dataset.scenarioReady || '').startsWith('commune:535')", timeout=60_000
        )
        drawn = page.evaluate("window.accesoinsMap.queryRenderedFeatures({layers: ['scenario-fill']}).length")
        assert drawn > 10
        assert page.evaluate("window.accesoinsMap.getLayoutProperty('unites-fill', 'visibility')") == "none"
        summary = page.locator("#sim-summary").inner_text()
        assert "nouveau site « Maison de santé » : 4 ETP de généralistes" in summary
        assert "commune : APL moyenne" in summary
        assert "Bordeaux" in page.locator("#sim-top").inner_text()
        top = page.locator('#sim-top td[data-field="delta"]').first.get_attribute("data-value")
        assert float(top) > 0
        legend = page.locator("#legend").inner_text()
        assert "Écart d'APL (après − avant)" in legend and "inchangée" in legend and "hausse" in legend
        page.screenshot(path=str(SHOTS / "simulation_msp_grand_parc.png"))
        page.locator("#simuler").screenshot(path=str(SHOTS / "simulation_panneau.png"))
        page.click("#sim-back")
        page.wait_for_function(
            "() => (document.body.dataset.layerReady || '').startsWith('commune:')", timeout=60_000
        )
        visibility = "(id) => window.accesoinsMap.getLayoutProperty(id, 'visibility')"
        assert page.evaluate(visibility, "scenario-fill") == "none"
        assert page.evaluate(visibility, "unites-fill") == "visible"
        assert "Accessibilité potentielle localisée" in page.locator("#legend").inner_text()
        # keyboard only, French decimal commas, on a projector (large characters), 200 m grid
        page.check("#large")
        page.fill("#sim-lon", "-0,5840")
        page.fill("#sim-lat", "44,8573")
        page.fill("#sim-etp", "6")
        page.select_option("#sim-level", "carreau")
        page.focus("#sim-nom")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => (document.body.dataset.scenarioReady || '').startsWith('carreau:1254')", timeout=60_000
        )
        assert "6 ETP de généralistes" in page.locator("#sim-summary").inner_text()
        assert page.evaluate(visibility, "scenario-fill") == "visible"
        page.screenshot(path=str(SHOTS / "simulation_carreaux_grands_caracteres.png"))
        assert not errors, f"erreurs JavaScript : {errors}"
