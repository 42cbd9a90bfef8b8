"""Never a blank map: IRIS of the Alpes-Maritimes as polygons where IGN contours exist, circles elsewhere.

Only Nice has IRIS contours in the data folder: its 146 IRIS are polygons; the other IRIS are circles at
the centre given by their practitioners, or around their commune's centre when nothing locates them,
and the map says so in French. Screenshots (desktop and phone) go to artefacts/screenshots/.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely

from accesoins.outputs.web import create_app
from accesoins.store import Store
from browser_support import SHOTS, chromium, serve

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_iris_layer_geometries_and_message(store_path: Path, alpes_maritimes: str) -> None:
    with Store(store_path, read_only=True) as s:
        units = s.geotable("units", alpes_maritimes, where="level = 'iris'")
    stored = Counter(units.geometry.geom_type.fillna("aucune"))
    with TestClient(create_app(store_path, warm=False)) as client:
        layer = client.get("/api/layers/iris", params={"snapshot": alpes_maritimes, "measure": "apl"}).json()
        qpv = client.get("/api/layers/qpv", params={"snapshot": alpes_maritimes}).json()
    served = Counter(f["geometry"]["type"] for f in layer["features"])  # every feature has a geometry
    placement = Counter(f["properties"]["placement"] for f in layer["features"])
    assert served["MultiPolygon"] == placement["contour"] == stored["MultiPolygon"] == 146  # IGN, Nice
    assert placement["point"] == stored["Point"] == 211  # centre of an IRIS known from its practitioners
    assert placement["commune"] == stored["aucune"] == 143  # nothing locates them: around their commune
    assert served["Point"] == 211 + 143
    shapes = [f for f in layer["features"] if f["geometry"]["type"] == "MultiPolygon"]
    assert {f["properties"]["unit_id"][:5] for f in shapes} == {"06088"}
    note = layer["geometries"]
    assert (note["polygons"], note["points"], note["unknown_position"], note["absent"]) == (146, 354, 143, 0)
    assert note["message"].startswith("contours IRIS non fournis pour 354 sur 500 (")
    assert "autour du centre de leur commune pour 143" in note["message"]
    assert qpv["geometries"]["message"] == ""  # QPV all have their perimeter: no message


@pytest.fixture(scope="module")
def server(store_path: Path, alpes_maritimes: str) -> Iterator[str]:
    with serve(create_app(store_path), name="accesoins-zones-e2e") as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize(("device", "width", "height"), [("ordinateur", 1400, 900), ("telephone", 390, 844)])
def test_iris_map_is_never_blank(
    server: str, alpes_maritimes: str, device: str, width: int, height: int
) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/?snapshot={alpes_maritimes}")
        ready = "() => (document.body.dataset.layerReady || '').startsWith('{}:')"
        page.wait_for_function(ready.format("commune"), timeout=60_000)
        page.select_option("#level", "iris")
        page.wait_for_function(ready.format("iris"), timeout=60_000)
        drawn = "window.accesoinsMap.queryRenderedFeatures({{layers: ['{}']}}).length"
        circles = page.evaluate(drawn.format("unites-circle"))
        polygons = page.evaluate(drawn.format("unites-fill"))
        note = page.locator("#map-note")
        assert note.is_visible()
        assert note.inner_text().startswith("Contours IRIS non fournis pour 354 sur 500")
        assert circles > 100 and polygons > 0
        page.screenshot(path=str(SHOTS / f"iris_06_cercles_{device}.png"))
        if device == "ordinateur":  # a QPV's fiche shows its comparison with the rest of Nice
            page.select_option("#level", "qpv")
            page.wait_for_function(ready.format("qpv"), timeout=60_000)
            fetch = f"fetch('/api/layers/qpv?snapshot={alpes_maritimes}').then((r) => r.json())"
            layer = page.evaluate(fetch)
            geom = next(f["geometry"] for f in layer["features"] if f["properties"]["unit_id"] == "QN00608I")
            point = shapely.from_geojson(json.dumps(geom)).representative_point()
            page.evaluate(f"window.accesoinsMap.jumpTo({{center: [{point.x}, {point.y}], zoom: 14}})")
            page.wait_for_function("() => window.accesoinsMap.loaded()")
            xy = page.evaluate(
                f"(() => {{ const p = window.accesoinsMap.project([{point.x}, {point.y}]); "
                "const r = window.accesoinsMap.getCanvas().getBoundingClientRect(); "
                "return [r.left + p.x, r.top + p.y]; })()"
            )
            page.mouse.click(xy[0], xy[1])
            page.wait_for_selector('#fiche[data-unit-id="QN00608I"]', timeout=20_000)
            cell = page.locator('[data-field="comparaison.generaliste.ratio"]')
            assert cell.inner_text() == "0,24 [0,03 ; 0,84]"
            assert "Unité urbaine : table INSEE non fournie." in page.locator("#fiche").inner_text()
            cell.scroll_into_view_if_needed()
            page.locator("#fiche table").last.screenshot(path=str(SHOTS / "fiche_qpv_les_moulins.png"))
        context.close()
    assert not errors, f"erreurs JavaScript : {errors}"


def test_qpv_fiche_carries_its_comparison(store_path: Path, alpes_maritimes: str) -> None:
    """The fiche of a QPV gives its ONPV comparison; without an INSEE table it says so for the UU."""
    with Store(store_path, read_only=True) as s:
        stored = s.table("zone_comparison", alpes_maritimes, where="unit_id = 'QN00608I'")
    with TestClient(create_app(store_path, warm=False)) as client:
        fiche = client.get("/api/units/qpv/QN00608I", params={"snapshot": alpes_maritimes}).json()
        commune = client.get("/api/units/commune/06088", params={"snapshot": alpes_maritimes}).json()
    gp = next(r for r in fiche["comparison"] if r["profession"] == "generaliste")
    row = stored[stored["profession"].eq("generaliste")].iloc[0]
    assert gp["density_ratio"] == pytest.approx(row["density_ratio"]) == pytest.approx(0.2356, abs=1e-4)
    assert (gp["ratio_low"], gp["ratio_high"]) == pytest.approx((row["ratio_low"], row["ratio_high"]))
    assert gp["density_ratio_uu"] is None and gp["uu_note"] == "unité urbaine : table INSEE non fournie"
    assert commune["comparison"] == []  # only zones are compared with the rest of their commune
