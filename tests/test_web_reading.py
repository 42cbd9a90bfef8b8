"""The web observatory as a person reads it, in Debian's Chromium: classes of meaning, tooltip, names, phone.

Screenshots (desktop 1280×800, phone 390×844, large print) go to artefacts/screenshots/lecture_*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesoins.outputs.web import create_app
from browser_support import SHOTS, chromium, serve

pytestmark = pytest.mark.slow
READY = "() => (document.body.dataset.layerReady || '').startsWith('{}')"


@pytest.fixture(scope="module")
def server(store_path: Path, gironde: str) -> Iterator[str]:
    with serve(create_app(store_path), name="accesoins-e2e-lecture") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _open(browser: Any, server: str, gironde: str, width: int, height: int) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/?snapshot={gironde}")
    page.wait_for_function(READY.format("commune:generaliste:apl:535"), timeout=60_000)
    return context, page, errors


def _box(page: Any, selector: str) -> dict[str, float]:
    box: dict[str, float] = page.locator(selector).bounding_box()
    return box


def test_desktop_classes_tooltip_names_and_vintages(browser: Any, server: str, gironde: str) -> None:
    context, page, errors = _open(browser, server, gironde, 1280, 800)
    legend = page.locator("#legend").inner_text()
    assert "moins de 2,5 : sous-dotée" in legend
    assert "2,5 à moins de 4 : intermédiaire" in legend and "4 et plus : bien dotée" in legend
    assert page.is_disabled("#classes")  # the classes of meaning have a fixed number
    sources = page.locator("#sources-info").inner_text()
    assert "Annuaire Santé 2017" in sources and "FINESS 2017" in sources and "APL DREES 2023" not in sources
    assert "2023" in sources and "Population communale INSEE 2017" in sources
    # hover Bordeaux: a tooltip with its name, its APL and its class
    page.evaluate("window.accesoinsMap.jumpTo({center: [-0.575, 44.85], zoom: 11.5})")
    page.wait_for_function("() => document.querySelectorAll('.commune-label').length > 3")
    labels = page.locator(".commune-label").all_inner_texts()
    assert "Bordeaux" in labels and "Le Bouscat" in labels
    xy = page.evaluate(
        "(() => { const m = window.accesoinsMap, p = m.project([-0.5792, 44.8378]); "
        "const r = m.getCanvas().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; })()"
    )
    page.mouse.move(xy[0], xy[1])
    page.wait_for_selector(".tooltip", timeout=10_000)
    tip = page.locator(".tooltip").inner_text()
    assert "Bordeaux" in tip and "4 et plus : bien dotée" in tip and "," in tip
    page.screenshot(path=str(SHOTS / "lecture_bureau_infobulle.png"))
    page.click("#lire-details summary")
    assert "par habitant et par an" in page.locator("#comment-lire").inner_text()
    # at the 200 m grid: APL and distance, no density
    page.select_option("#level", "carreau")
    page.wait_for_function(READY.format("carreau:generaliste:apl:1254"), timeout=60_000)
    measures = page.eval_on_selector_all("#measure option", "os => os.map(o => o.value)")
    assert measures == ["apl", "nearest_m", "apl_delta"]  # no density on a 200 m cell
    page.select_option("#measure", "nearest_m")
    page.wait_for_function(READY.format("carreau:generaliste:nearest_m:1254"), timeout=60_000)
    assert "Distance au lieu d'exercice le plus proche" in page.locator("#legend").inner_text()
    page.screenshot(path=str(SHOTS / "lecture_bureau_carreaux_distance.png"))
    # another snapshot chosen: the fiche shown is cleared
    page.locator("#unit-list button").first.click()
    page.wait_for_selector("#fiche [data-field=name]")
    page.evaluate("document.getElementById('snapshot').dispatchEvent(new Event('change'))")
    page.wait_for_function("() => !document.querySelector('#fiche [data-field=name]')")
    context.close()
    assert not errors, f"erreurs JavaScript : {errors}"


@pytest.mark.parametrize("large", [False, True])
def test_phone_map_on_top_and_legend_beside_it(browser: Any, server: str, gironde: str, large: bool) -> None:
    context, page, errors = _open(browser, server, gironde, 390, 844)
    if large:
        page.check("#large")
    page.evaluate("window.scrollTo(0, 0)")
    map_box, legend_box = _box(page, "#map"), _box(page, "#legend")
    assert map_box["y"] < 250, map_box  # the map is seen without scrolling
    assert map_box["y"] + map_box["height"] <= 844
    assert legend_box["y"] >= map_box["y"] + map_box["height"] - 1  # below the map, not over it
    drawn = page.evaluate("window.accesoinsMap.queryRenderedFeatures({layers: ['unites-fill']}).length")
    assert drawn > 10
    page.screenshot(path=str(SHOTS / f"lecture_telephone{'_grands_caracteres' if large else ''}.png"))
    context.close()
    assert not errors, f"erreurs JavaScript : {errors}"


def test_api_docs_work_offline(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = context.new_page()
    outside: list[str] = []

    def only_local(route: Any) -> None:  # no CDN: every request must stay on the server
        if route.request.url.startswith(server) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{server}/api/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert "accesoins" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".swagger-ui .opblock").count() > 10
    assert outside == []
    page.screenshot(path=str(SHOTS / "lecture_api_docs_hors_ligne.png"))
    context.close()
