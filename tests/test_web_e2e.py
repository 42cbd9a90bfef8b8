"""End-to-end test of the web observatory in Debian's Chromium (Playwright, never a downloaded browser).

A uvicorn server runs in a thread on 127.0.0.1 (free port) over the Gironde snapshot; the page must draw
the commune layer, open a fiche from a map click and from the keyboard list with the API's numbers, and
compare two communes. Screenshots go to artefacts/screenshots/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely

from accesoins.outputs.web import create_app
from browser_support import SHOTS, chromium, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(store_path: Path, gironde: str) -> Iterator[str]:
    with serve(create_app(store_path), name="accesoins-e2e") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser: Any, server: str, gironde: str) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="fr-FR")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{server}/?snapshot={gironde}")
    ready = "() => (document.body.dataset.layerReady || '').startsWith('commune:generaliste:apl:535')"
    pg.wait_for_function(ready, timeout=60_000)
    yield pg
    context.close()
    assert not errors, f"erreurs JavaScript : {errors}"


def _api_fiche(server: str, gironde: str, code: str) -> dict[str, Any]:
    r = httpx.get(f"{server}/api/units/commune/{code}", params={"snapshot": gironde}, timeout=30)
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def _check_fiche(page: Any, fiche: dict[str, Any]) -> None:
    """The fiche panel shows the API's numbers (raw in data-value, French formatting in the text)."""
    panel = page.locator("#fiche")
    assert panel.locator('[data-field="name"]').inner_text() == fiche["name"]
    population = panel.locator('[data-field="population"]')
    assert float(population.get_attribute("data-value")) == fiche["population"]
    assert population.inner_text().replace("\u202f", " ") == f"{fiche['population']:,.0f}".replace(",", " ")
    for p in fiche["professions"]:
        pre = p["profession"]
        for field in ("headcount", "density_per_100k", "std_density_per_100k", "apl"):
            cell = panel.locator(f'[data-field="{pre}.{field}"]')
            if p[field] is None:
                assert cell.count() == 0 or cell.get_attribute("data-value") == ""
                continue
            assert float(cell.get_attribute("data-value")) == pytest.approx(p[field], rel=1e-12)
        dept = panel.locator(f'[data-field="{pre}.departement.density_per_100k"]')
        assert float(dept.get_attribute("data-value")) == pytest.approx(p["departement"]["density_per_100k"])
        if p["apl"] is not None:
            assert panel.locator(f'[data-field="{pre}.apl_class"]').inner_text() == p["apl_class_label"]
            assert float(
                panel.locator(f'[data-field="{pre}.national.apl"]').get_attribute("data-value")
            ) == pytest.approx(p["national"]["apl"])


def test_layer_draws_and_map_click_opens_fiche(page: Any, server: str, gironde: str) -> None:
    assert page.evaluate("window.accesoinsMap.loaded()") is True
    drawn = page.evaluate("window.accesoinsMap.queryRenderedFeatures({layers: ['unites-fill']}).length")
    assert drawn > 100  # communes tiles may split a commune in several rendered pieces
    assert "APL" in page.locator("#legend").inner_text()
    page.screenshot(path=str(SHOTS / "carte_apl_communes.png"))
    # click inside Bordeaux: a point of its polygon projected to screen pixels
    layer = httpx.get(f"{server}/api/layers/commune", params={"snapshot": gironde}, timeout=30).json()
    geom = next(f["geometry"] for f in layer["features"] if f["properties"]["unit_id"] == "33063")
    point = shapely.from_geojson(json.dumps(geom)).representative_point()
    page.evaluate(f"window.accesoinsMap.jumpTo({{center: [{point.x}, {point.y}], zoom: 11}})")
    page.wait_for_function("() => window.accesoinsMap.loaded()")
    xy = page.evaluate(
        f"(() => {{ const p = window.accesoinsMap.project([{point.x}, {point.y}]); "
        "const r = window.accesoinsMap.getCanvas().getBoundingClientRect(); "
        "return [r.left + p.x, r.top + p.y]; })()"
    )
    page.mouse.click(xy[0], xy[1])
    page.wait_for_selector('#fiche[data-unit-id="33063"]', timeout=20_000)
    fiche = _api_fiche(server, gironde, "33063")
    gp = next(p for p in fiche["professions"] if p["profession"] == "generaliste")
    assert gp["headcount"] == 400 and fiche["population"] == 254_436
    _check_fiche(page, fiche)
    page.screenshot(path=str(SHOTS / "fiche_bordeaux_clic.png"))
    page.set_viewport_size({"width": 1400, "height": 1900})  # the whole side panel, unscrolled
    page.locator("#fiche").screenshot(path=str(SHOTS / "fiche_bordeaux_panneau.png"))


def test_keyboard_list_fiche_and_comparison(page: Any, server: str, gironde: str) -> None:
    page.focus("#search")
    page.keyboard.type("merignac")
    page.wait_for_selector('#unit-list button[data-unit="33281"]')
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.unit") == "33281"
    page.keyboard.press("Enter")
    page.wait_for_selector('#fiche[data-unit-id="33281"]')
    _check_fiche(page, _api_fiche(server, gironde, "33281"))
    page.click("#add-compare")
    page.fill("#search", "")
    page.keyboard.type("33063")
    page.wait_for_selector('#unit-list button[data-unit="33063"]')
    page.focus("#search")
    page.keyboard.press("Enter")
    page.wait_for_selector('#fiche[data-unit-id="33063"]')
    page.focus("#add-compare")
    page.keyboard.press("Enter")
    page.wait_for_selector("#compare-body table")
    text = page.locator("#compare-body").inner_text()
    assert "Mérignac" in text and "Bordeaux" in text
    # both communes' bassin de vie (CartoSanté and INSEE tables) and nurses' zoning: Mérignac | Bordeaux
    page.click("#compare-bassins summary")  # their bassins de vie's indicators, folded below the table
    bassins = page.locator("#compare-bassins").inner_text()
    assert bassins.startswith("Bassins de vie : 24 indicateurs") and "Taux de pauvreté" in bassins
    poverty = page.locator("#compare-bassins tr", has_text="Taux de pauvreté").locator("td").all_inner_texts()
    assert poverty == ["—", "13,2"]  # Mérignac is no bassin's centre and the INSEE table is not in the data
    zoning = page.locator('#compare-body [data-field="compare.zoning.infirmier"] td').all_inner_texts()
    assert zoning == ["zone très dotée (zonage de l'ARS)", "zone sur-dotée (zonage de l'ARS)"]
    href = page.locator("#compare-body a.button").get_attribute("href")
    csv = httpx.get(f"{server}{href}", timeout=30)
    assert csv.status_code == 200 and "33281" in csv.text
    page.screenshot(path=str(SHOTS / "comparaison_clavier.png"))
    page.check("#large")
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "22px"
    page.screenshot(path=str(SHOTS / "grands_caracteres.png"))


def test_grid_level_and_downloads(page: Any, server: str) -> None:
    page.select_option("#level", "carreau")
    page.wait_for_function(
        "() => (document.body.dataset.layerReady || '').startsWith('carreau:')", timeout=60_000
    )
    assert page.evaluate("window.accesoinsMap.queryRenderedFeatures({layers: ['unites-fill']}).length") > 0
    href = page.locator("#dl-layer-csv").get_attribute("href")
    assert href.startswith("/api/downloads/layers/carreau.csv")
    assert len(httpx.get(f"{server}{href}", timeout=30).text.splitlines()) == 1254 + 1  # public units
    page.screenshot(path=str(SHOTS / "carreaux_200m.png"))
