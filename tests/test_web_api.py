"""Web API (accesoins.outputs.web) on the real Gironde snapshot: figures, classes, downloads, errors."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, build_observatory
from accesoins.outputs.web import create_app
from accesoins.sources import locate, read_apl_drees
from accesoins.store import Store, diff_snapshots

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(store_path: Path, gironde: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_path, warm=False)) as c:
        yield c


@pytest.fixture()
def store(store_path: Path, gironde: str) -> Iterator[Store]:
    """Opened per test: a connection kept open would stop a later build from writing the store."""
    with Store(store_path, read_only=True) as s:
        yield s


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    return body


def test_snapshots_and_catalog(client: TestClient, store_path: Path, gironde: str) -> None:
    snaps = client.get("/api/snapshots").json()
    assert gironde in [s["snapshot_id"] for s in snaps]
    assert sum(s["latest"] for s in snaps) == 1
    cat = client.get("/api/catalog", params={"snapshot": gironde}).json()
    levels = {lv["id"]: lv["count"] for lv in cat["levels"]}
    assert levels == {"commune": 535, "iris": 88, "quartier": 38, "carreau": 1254}  # 54 small cells in 16
    assert [p["id"] for p in cat["professions"]] == ["generaliste", "neurologue"]
    assert cat["professions"][0]["label"] == "Médecin généraliste"
    assert {m["id"] for m in cat["methods"]} == {"seuils", "quantiles", "jenks"}
    with Store(store_path, read_only=True) as s:
        assert cat["precision"] == s.metadata(gironde)["precision"]
    assert "APL DREES 2023" in cat["description"] and cat["territory"] == "33"


@pytest.mark.parametrize("method", ["quantiles", "jenks"])
def test_commune_layer_has_535_classified_communes(
    client: TestClient, store: Store, gironde: str, method: str
) -> None:
    r = client.get(
        "/api/layers/commune",
        params={
            "snapshot": gironde,
            "profession": "generaliste",
            "measure": "apl",
            "method": method,
            "classes": 5,
        },
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    layer = r.json()
    assert layer["type"] == "FeatureCollection"
    assert len(layer["features"]) == 535
    legend = layer["legend"]
    assert legend["unit"] == "consultations par habitant et par an"
    assert legend["threshold"]["value"] == 2.5
    classes = legend["classes"]
    assert len(classes) == 5
    assert sum(c["count"] for c in classes) + legend["missing"]["count"] == 535
    assert legend["bounds"] == [classes[0]["lower"], *(c["upper"] for c in classes)]
    assert all("," in c["label"] and c["label"].startswith(("de ", "plus de ")) for c in classes)
    apl = store.table("indicators", gironde, where="level = 'commune' AND profession = 'generaliste'")
    expected = dict(zip(apl["unit_id"], apl["apl"], strict=True))
    for f in layer["features"]:
        p = f["properties"]
        assert p["value"] == pytest.approx(expected[p["unit_id"]], abs=1e-6)
        c = classes[p["class"]]
        assert c["lower"] - 1e-6 <= p["value"] <= c["upper"] + 1e-6  # properties keep 6 decimals
        assert p["color"] == c["color"]
    if method == "quantiles":  # equal counts, up to ties
        counts = np.array([c["count"] for c in classes])
        assert counts.max() - counts.min() <= 535 // 5


def test_density_layer_matches_indicators(client: TestClient, gironde: str) -> None:
    layer = client.get("/api/layers/commune", params={"snapshot": gironde, "profession": "neurologue"}).json()
    bordeaux = next(f for f in layer["features"] if f["properties"]["unit_id"] == "33063")["properties"]
    assert bordeaux["headcount"] == 51
    assert bordeaux["value"] == pytest.approx(1e5 * bordeaux["etp"] / 254_436, rel=1e-6)  # ETP-based
    assert layer["legend"]["unit"] == "équivalents temps plein pour 100 000 habitants"


def test_carreau_layer(client: TestClient, gironde: str) -> None:
    layer = client.get("/api/layers/carreau", params={"snapshot": gironde, "method": "jenks"}).json()
    assert len(layer["features"]) == 1254  # 1238 cells of 11 residents or more, 16 groups
    shapes = {f["geometry"]["type"] for f in layer["features"]}
    assert shapes == {"Polygon", "MultiPolygon"}  # a group of scattered small cells is a MultiPolygon


def test_bordeaux_fiche(client: TestClient, store: Store, gironde: str) -> None:
    r = client.get("/api/units/commune/33063", params={"snapshot": gironde})
    assert r.status_code == 200
    fiche = r.json()
    assert fiche["name"] == "Bordeaux"
    assert fiche["population"] == 254_436
    gp = next(p for p in fiche["professions"] if p["profession"] == "generaliste")
    assert gp["headcount"] == 400  # RPPS 2017
    row = store.table(
        "indicators", gironde, where="level = 'commune' AND unit_id = '33063' AND profession = 'generaliste'"
    ).iloc[0]
    assert gp["apl"] == row["apl"]
    assert gp["apl_class"] == row["apl_class"] == "bien_dotee" and row["apl"] >= 4
    assert gp["apl_class_label"] == "bien dotée (indicatif — ce n'est pas le zonage de l'ARS)"
    assert gp["density_per_100k"] == pytest.approx(1e5 * row["etp"] / 254_436)
    # département: population-weighted aggregate of the snapshot's communes
    com = store.table("indicators", gironde, where="level = 'commune' AND profession = 'generaliste'")
    dept = gp["departement"]
    assert dept["code"] == "33"
    assert dept["headcount"] == com["headcount"].sum()
    assert dept["etp"] == pytest.approx(com["etp"].sum())
    assert dept["density_per_100k"] == pytest.approx(1e5 * com["etp"].sum() / com["population"].sum())
    assert dept["apl"] == pytest.approx((com["apl"] * com["population"]).sum() / com["population"].sum())
    assert "535 communes" in dept["label"]
    assert sum(gp["precision"].values()) == row["n_commune"] + row["n_etablissement"]
    neuro = next(p for p in fiche["professions"] if p["profession"] == "neurologue")
    assert neuro["headcount"] == 51 and neuro["apl"] is None and neuro["national"] is None


def test_national_reference_is_the_drees_mean(client: TestClient, data_dir: Path, gironde: str) -> None:
    gp = client.get("/api/units/commune/33063", params={"snapshot": gironde}).json()["professions"][0]
    drees = read_apl_drees(locate("apl_drees", data_dir)[0], 2023)
    ok = drees["apl"].notna() & drees["population_total"].notna()
    weights = drees.loc[ok, "population_total"]
    mean = (drees.loc[ok, "apl"] * weights).sum() / weights.sum()
    assert gp["national"]["apl"] == pytest.approx(mean)
    assert gp["national"]["vintage"] == 2023
    assert "DREES" in gp["national"]["label"]
    published = drees.set_index("commune_code").loc["33063", "apl"]
    assert gp["national"]["apl_drees_unit"] == pytest.approx(published)


def test_under_served_commune(client: TestClient, store: Store, gironde: str) -> None:
    com = store.table(
        "indicators", gironde, where="level = 'commune' AND profession = 'generaliste' AND apl < 2.5"
    )
    assert not com.empty
    code = com.sort_values("apl")["unit_id"].iloc[-1]
    gp = client.get(f"/api/units/commune/{code}", params={"snapshot": gironde}).json()["professions"][0]
    assert gp["apl"] < 2.5 and gp["apl_class"] == "sous_dotee"
    assert gp["apl_class_label"].startswith("sous-dotée (indicatif")


def test_search_and_compare(client: TestClient, gironde: str) -> None:
    found = client.get("/api/units/commune", params={"snapshot": gironde, "q": "merignac"}).json()
    assert [u["unit_id"] for u in found] == ["33281"]  # Mérignac, accents ignored
    assert len(client.get("/api/units/commune", params={"snapshot": gironde, "limit": 5000}).json()) == 535
    comp = client.get("/api/compare/commune", params={"snapshot": gironde, "a": "33063", "b": "33281"}).json()
    assert [u["name"] for u in comp["units"]] == ["Bordeaux", "Mérignac"]
    assert comp["units"][0] == client.get("/api/units/commune/33063", params={"snapshot": gironde}).json()


def test_downloads(client: TestClient, store: Store, gironde: str) -> None:
    params = {"snapshot": gironde, "profession": "generaliste", "measure": "apl", "method": "jenks"}
    r = client.get("/api/downloads/layers/commune.csv", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 535
    bordeaux = next(x for x in rows if x["unit_id"] == "33063")
    assert int(bordeaux["headcount"]) == 400 and bordeaux["class_label"]
    gj = client.get("/api/downloads/layers/commune.geojson", params=params)
    assert json.loads(gj.content) == client.get("/api/layers/commune", params=params).json()
    fiche = list(
        csv.DictReader(
            io.StringIO(
                client.get("/api/downloads/units/commune/33063.csv", params={"snapshot": gironde}).text
            )
        )
    )
    assert [x["profession"] for x in fiche] == ["generaliste", "neurologue"]
    assert int(fiche[0]["headcount"]) == 400 and float(fiche[0]["population"]) == 254_436
    # the fiche's local indicators (its bassin de vie's, CartoSanté and INSEE tables) and nurses' zoning
    shown = client.get("/api/units/commune/33063", params={"snapshot": gironde}).json()
    poverty = next(r for r in shown["local_indicators"] if r["indicator"] == "taux_pauvrete")
    assert poverty["level"] == "bassin_vie" and poverty["value"] == 13.2
    assert [float(x["bassin_vie_taux_pauvrete"]) for x in fiche] == [13.2, 13.2]
    assert [x["zonage_infirmier"] for x in fiche] == ["sur_dotee", "sur_dotee"]
    assert [(z["scope"], z["label"]) for z in shown["official_zoning"]] == [
        ("commune 33063", "zone sur-dotée (zonage de l'ARS)")
    ]
    comp = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    "/api/downloads/compare/commune.csv",
                    params={"snapshot": gironde, "a": "33063", "b": "33281"},
                ).text
            )
        )
    )
    assert len(comp) == 4
    sites = store.table("sites", gironde)
    gp_sites = sites[sites["professions"].str.split(",").apply(lambda ps: "generaliste" in ps)]
    got = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    "/api/downloads/sites.csv", params={"snapshot": gironde, "profession": "generaliste"}
                ).text
            )
        )
    )
    assert len(got) == len(gp_sites)
    layer = client.get("/api/sites", params={"snapshot": gironde, "profession": "generaliste"}).json()
    counts = {x["id"]: x["count"] for x in layer["legend"]}
    assert counts["etablissement"] == (gp_sites["precision"] == "etablissement").sum()
    assert {f["properties"]["precision"] for f in layer["features"]} <= {"commune", "etablissement", "iris"}


@pytest.mark.parametrize(
    ("path", "params", "status", "title"),
    [
        ("/api/layers/departement", {}, 404, "Niveau inconnu"),
        ("/api/layers/commune", {"profession": "chirurgien"}, 404, "Profession inconnue"),
        ("/api/layers/commune", {"measure": "bonheur"}, 404, "Indicateur inconnu"),
        (
            "/api/layers/commune",
            {"profession": "neurologue", "measure": "apl"},
            422,
            "Indicateur non disponible",
        ),
        ("/api/layers/commune", {"classes": "beaucoup"}, 422, "Paramètres non valides"),
        ("/api/layers/commune", {"classes": 12}, 422, "Paramètres non valides"),
        ("/api/layers/commune", {"method": "au_hasard"}, 422, "Paramètres non valides"),
        ("/api/units/commune/99999", {}, 404, "Unité inconnue"),
        ("/api/units/qpv/QN00601M", {}, 404, "Niveau inconnu"),
        ("/api/compare/commune", {"a": "33063"}, 422, "Paramètres non valides"),
        ("/api/nulle-part", {}, 404, "Ressource introuvable"),
    ],
)
def test_errors_are_french_problem_details(
    client: TestClient, gironde: str, path: str, params: dict[str, object], status: int, title: str
) -> None:
    if not path.endswith("nulle-part"):
        params = {"snapshot": gironde, **params}
    body = _problem(client.get(path, params=params), status)
    assert body["title"] == title
    detail = str(body["detail"])
    assert detail and any(
        w in detail for w in ("introuvable", "inconnu", "paramètre", "n'est calculée", "Aucune ressource")
    )


def test_unknown_snapshot(client: TestClient) -> None:
    body = _problem(client.get("/api/catalog", params={"snapshot": "33-19990101T000000"}), 404)
    assert body["title"] == "Instantané inconnu"
    assert "entrepôt" in str(body["detail"])


def test_openapi_is_documented_in_french(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "/api/units/{level}/{unit_id}" in spec["paths"]
    assert spec["paths"]["/api/units/{level}/{unit_id}"]["get"]["summary"] == "Fiche d'une unité"
    assert "problem" in json.dumps(spec["paths"]["/api/layers/{level}"]["get"]["responses"]["404"])


def test_front_end_is_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert "/static/vendor/maplibre-gl.js" in page.text
    assert client.get("/static/vendor/maplibre-gl.js").status_code == 200
    assert client.get("/static/js/app.js").status_code == 200


@pytest.mark.slow
def test_iris_level_of_alpes_maritimes(client: TestClient, store_path: Path, alpes_maritimes: str) -> None:
    cat = client.get("/api/catalog", params={"snapshot": alpes_maritimes}).json()
    assert "iris" in [lv["id"] for lv in cat["levels"]]
    with Store(store_path, read_only=True) as s:
        gps = s.table("indicators", alpes_maritimes, where="profession = 'generaliste'")
    iris, communes = gps[gps["level"] == "iris"], gps[gps["level"] == "commune"]
    layer = client.get("/api/layers/iris", params={"snapshot": alpes_maritimes, "method": "jenks"}).json()
    assert len(layer["features"]) == len(iris) > 0
    code = iris.sort_values("etp")["unit_id"].iloc[-1]
    row = iris.set_index("unit_id").loc[code]
    fiche = client.get(f"/api/units/iris/{code}", params={"snapshot": alpes_maritimes}).json()
    gp = fiche["professions"][0]
    assert gp["etp"] == pytest.approx(row["etp"]) and gp["etp"] > 0
    assert gp["density_per_100k"] == pytest.approx(row["density_per_100k"])
    assert gp["headcount"] == (None if row.isna()["headcount"] else row["headcount"])  # supply known per IRIS
    assert fiche["departement"] == "06" and gp["departement"]["code"] == "06"
    nice = client.get("/api/units/commune/06088", params={"snapshot": alpes_maritimes}).json()
    assert nice["name"] == "Nice"
    # GP supply came as full-time equivalents per IRIS: headcounts unknown, so is their total (not 0)
    assert communes["headcount"].isna().any()
    assert nice["professions"][0]["departement"]["headcount"] is None
    assert nice["professions"][0]["departement"]["etp"] == pytest.approx(communes["etp"].sum())
    assert nice["professions"][0]["national"]["vintage"] == 2022


@pytest.mark.slow
def test_change_since_previous_snapshot(
    store_path: Path, data_dir: Path, gironde: str, tmp_path: Path
) -> None:
    """A second Gironde build (APL 2022 parameters) in a copy of the store: the fiche shows the change."""
    copy = tmp_path / "deux.duckdb"
    shutil.copy(store_path, copy)
    second = build_observatory(BuildOptions(parse_territory("33"), data_dir, copy, vintage=2022))
    with TestClient(create_app(copy, warm=False)) as c:
        fiche = c.get("/api/units/commune/33063", params={"snapshot": second}).json()
    assert fiche["previous_snapshot_id"] == gironde
    with Store(copy, read_only=True) as s:
        diff = diff_snapshots(s, gironde, second)
    gp = fiche["professions"][0]["change"]
    rows = diff.changes[(diff.changes["unit_id"] == "33063") & (diff.changes["profession"] == "generaliste")]
    assert gp["previous_snapshot_id"] == gironde
    assert gp["changed"] == (not rows.empty)
    if not rows.empty:
        assert gp["apl_delta"] == pytest.approx(rows["apl_delta"].iloc[0], nan_ok=True)
    assert gp["arrivals"] == 0 and gp["departures"] == 0  # same RPPS file


def test_store_held_by_a_build(store_path: Path, gironde: str, tmp_path: Path) -> None:
    """While another process writes the store, listed snapshots stay served; otherwise a French 503."""
    copy = tmp_path / "occupe.duckdb"
    shutil.copy(store_path, copy)
    with TestClient(create_app(copy, warm=False)) as c:
        assert c.get("/api/units/commune/33063", params={"snapshot": gironde}).status_code == 200
        script = (
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); "
            "time.sleep(60)"
        )
        holder = subprocess.Popen([sys.executable, "-c", script, str(copy)], stdout=subprocess.PIPE)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == b"ok"
            os.utime(copy)  # the listing is re-read when the file changes
            assert c.get("/api/units/commune/33063", params={"snapshot": gironde}).status_code == 200
            with TestClient(create_app(copy, warm=False)) as fresh:
                body = _problem(fresh.get("/api/snapshots"), 503)
            assert body["title"] == "Entrepôt indisponible" and "écriture" in str(body["detail"])
        finally:
            holder.kill()
            holder.wait()
            if holder.stdout is not None:
                holder.stdout.close()


def test_quartiers_are_served_as_named_polygons(client: TestClient, gironde: str) -> None:
    """The 8 official quartiers of Bordeaux (and those of Cenon, Mérignac, Pessac) are a map level."""
    params = {"snapshot": gironde, "profession": "generaliste", "measure": "apl", "method": "seuils"}
    layer = client.get("/api/layers/quartier", params=params).json()
    features = {f["properties"]["name"]: f for f in layer["features"]}
    assert len(layer["features"]) == 38 and len(features) == 37  # two quartiers share a name
    assert {f["geometry"]["type"] for f in features.values()} <= {"Polygon", "MultiPolygon"}
    maritime = features["Bordeaux Maritime"]["properties"]
    fiche = client.get(f"/api/units/quartier/{maritime['unit_id']}", params={"snapshot": gironde}).json()
    assert fiche["name"] == "Bordeaux Maritime" and fiche["parent_id"] == "33063"
    assert fiche["population"] == pytest.approx(60378.5, abs=0.1)  # grid cells by their centre


def test_quartiers_compared_with_the_rest_of_their_commune(client: TestClient, gironde: str) -> None:
    """The ONPV question on the 8 quartiers of Bordeaux, through the API (located GP supply only)."""
    rows = client.get("/api/zones/quartier/comparaison", params={"snapshot": gironde}).json()
    bordeaux = {r["name"]: r for r in rows if r["parent_id"] == "33063"}
    assert len(bordeaux) == 8 and len(rows) == 38
    maritime = bordeaux["Bordeaux Maritime"]
    assert maritime["density_ratio"] == pytest.approx(0.0125, abs=1e-3) and maritime["ratio_high"] < 1
    assert maritime["ratio_low"] <= maritime["density_ratio"] <= maritime["ratio_high"]
    assert bordeaux["Saint Augustin - Tauzin - Alphonse Dupeux"]["ratio_low"] > 1  # 85 ETP at establishments
    assert [r["density_ratio"] for r in rows if r["density_ratio"] is not None] == sorted(
        r["density_ratio"] for r in rows if r["density_ratio"] is not None
    )
    assert client.get("/api/zones/qpv/comparaison", params={"snapshot": gironde}).status_code == 404
