"""Snapshots are self-contained: fiche, brochure, web fiche and what-if work once the data folder is gone.

The Alpes-Maritimes (IRIS, distancier) and Gironde (RPPS + FINESS, 200 m grid)
are built from a copy of the real files that is deleted before anything reads
the store; a road-network snapshot (real OSM extract of Bure, Meuse) runs a
scenario the same way.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from accesoins.cli import app
from accesoins.geo import parse_territory
from accesoins.observatory import BUILD_STEPS, BuildOptions, build_observatory
from accesoins.outputs.web import create_app
from accesoins.scenarios import AddSite, Change, Scenario, ScenarioEngine
from accesoins.sources import read_apl_drees
from accesoins.store import Store
from test_reports import pdf_text

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
WORKBOOK = "apl_drees/apl_medecins_generalistes_2022_2023_drees.xlsx"
FILES = {
    "06": [
        WORKBOOK,
        "apl_reference_06/gp_iris_06_2022.csv",
        "apl_reference_06/pop_iris_06_2019_insee.xlsx",
        "travel_times/od_iris_06_alpes_maritimes_le30min.csv",
        "filosofi_iris/filosofi2018_disp_iris_dep06.csv",
        "health_status/cartosante_zonage_infirmiers_communes.csv",
        "qpv/anct_qpv2024_alpes_maritimes_06_simplifie.geojson",
    ],
    "33": [
        WORKBOOK,
        "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv",
        "health_professionals/finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv",
        "population_grid/filosofi2021_200m_bordeaux_centre_8x8km_epsg3035.csv",
        "filosofi_iris/filosofi2018_disp_iris_dep33.csv",  # no IRIS in this build: not attached
        "health_status/cartosante_zonage_infirmiers_communes.csv",
    ],
}
NICE = {"lon": 7.2620, "lat": 43.7031, "unit": "06088"}
BORDEAUX = {"lon": -0.5840, "lat": 44.8573, "unit": "33063"}


def _copy(data_dir: Path, target: Path, names: list[str]) -> Path:
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / name, target / name)
    return target


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, dict[str, str]]:
    """A store with snapshots of 06 and 33 whose data folders no longer exist."""
    root = tmp_path_factory.mktemp("moved")
    store = root / "store.duckdb"
    ids = {}
    for territory, vintage in (("06", 2022), ("33", 2023)):
        folder = _copy(data_dir, root / f"data-{territory}", FILES[territory])
        options = BuildOptions(parse_territory(territory), folder, store, vintage=vintage)
        ids[territory] = build_observatory(options)
        shutil.rmtree(folder)
    return store, ids


def test_snapshot_records_no_data_folder(moved: tuple[Path, dict[str, str]]) -> None:
    store, ids = moved
    with Store(store, read_only=True) as s:
        meta = s.metadata(ids["06"])
        kept = s.table("od_times", ids["06"])
        iris = s.table("units", ids["06"], where="level = 'iris'")
    assert "data_dir" not in meta
    assert meta["territory"] == ["06"] and meta["territory_kind"] == "departement"
    assert set(kept["origin_id"]) <= set(iris["unit_id"]) and kept["travel_time_min"].max() <= 20


def test_drees_references_kept(moved: tuple[Path, dict[str, str]], data_dir: Path) -> None:
    store, ids = moved
    with Store(store, read_only=True) as s:
        refs = s.table("drees_references", ids["06"]).set_index(["scope", "code"])
    drees = read_apl_drees(data_dir / WORKBOOK, 2022)
    dep = drees[drees["commune_code"].str.startswith("06") & drees["apl"].notna()]
    mean = (dep["apl"] * dep["population_total"]).sum() / dep["population_total"].sum()
    assert refs.loc[("departement", "06"), "apl"] == pytest.approx(mean)
    assert refs.loc[("departement", "06"), "communes"] == len(dep) == 163
    assert refs.loc[("commune", "06088"), "apl"] == pytest.approx(
        dep.set_index("commune_code").loc["06088", "apl"]
    )
    assert set(refs.index.get_level_values("scope")) == {"national", "departement", "commune"}


@pytest.mark.parametrize(("territory", "place"), [("06", NICE), ("33", BORDEAUX)])
def test_what_if_without_data_folder(
    moved: tuple[Path, dict[str, str]], territory: str, place: dict[str, object]
) -> None:
    store, ids = moved
    with Store(store, read_only=True) as s:
        engine = ScenarioEngine.from_store(s, ids[territory])
    site = AddSite(nom="MSP", lon=place["lon"], lat=place["lat"], generalistes=5)
    result = engine.run(Scenario(nom="t", changements=[Change(ajouter_site=site)]))
    communes = result.table[result.table["level"] == "commune"].set_index("unit_id")
    assert communes.loc[place["unit"], "delta"] > 0.01
    assert (result.table["delta"] >= -1e-12).all()


@pytest.mark.parametrize(
    ("territory", "unit", "name"), [("06", "06088", "Nice"), ("33", "33063", "Bordeaux")]
)
def test_fiche_and_brochure_without_data_folder(
    moved: tuple[Path, dict[str, str]], tmp_path: Path, territory: str, unit: str, name: str
) -> None:
    store, ids = moved
    fiche, brochure = tmp_path / "fiche.pdf", tmp_path / "brochure.pdf"
    runner = CliRunner()
    common = ["--store", str(store), "--snapshot", ids[territory]]
    done = runner.invoke(app, ["report", "--unit", unit, "--out", str(fiche), *common])
    assert done.exit_code == 0, done.output
    assert name in pdf_text(fiche)
    contacts = str(REPO / "docs" / "brochure_contacts.yaml")
    args = ["brochure", "-t", territory, "--contacts", contacts, "--out", str(brochure), *common]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    text = pdf_text(brochure)
    assert "communes sous-dotées" in text
    if territory == "33":  # the FINESS establishments were kept in the snapshot
        assert "fichier FINESS complet" in text and "MSP D'ARSAC" in text


@pytest.mark.parametrize(("territory", "unit", "vintage"), [("06", "06088", 2022), ("33", "33063", 2023)])
def test_web_national_reference_without_data_folder(
    moved: tuple[Path, dict[str, str]], data_dir: Path, territory: str, unit: str, vintage: int
) -> None:
    store, ids = moved
    drees = read_apl_drees(data_dir / WORKBOOK, vintage)
    ok = drees["apl"].notna() & drees["population_total"].notna()
    weights = drees.loc[ok, "population_total"]
    mean = float((drees.loc[ok, "apl"] * weights).sum() / weights.sum())
    with TestClient(create_app(store, warm=False)) as client:
        fiche = client.get(f"/api/units/commune/{unit}", params={"snapshot": ids[territory]}).json()
    gp = next(p for p in fiche["professions"] if p["profession"] == "generaliste")
    assert gp["national"]["apl"] == pytest.approx(mean) and gp["national"]["vintage"] == vintage
    published = drees.set_index("commune_code").loc[unit, "apl"]
    assert gp["national"]["apl_drees_unit"] == pytest.approx(published)


@pytest.mark.parametrize(("territory", "unit"), [("06", "06088"), ("33", "33063")])
def test_local_indicators_and_zoning_without_data_folder(
    moved: tuple[Path, dict[str, str]], territory: str, unit: str
) -> None:
    store, ids = moved
    params = {"snapshot": ids[territory]}
    with TestClient(create_app(store, warm=False)) as client:
        fiche = client.get(f"/api/units/commune/{unit}", params=params).json()
        catalog = client.get("/api/catalog", params=params).json()
        if territory == "06":
            iris = client.get("/api/units/iris/060880702", params=params).json()
            qpv = client.get("/api/units/qpv/QN00610M", params=params).json()
    assert [z["zone"] for z in fiche["official_zoning"]] == ["sur_dotee"]
    listed = {(i["level"], i["id"]) for i in catalog["local_indicators"]}
    if territory == "33":  # no IRIS in this Gironde build: the Filosofi IRIS table is left out
        assert listed == set()
    else:
        assert ("iris", "taux_pauvrete") in listed
        poverty = next(r for r in iris["local_indicators"] if r["indicator"] == "taux_pauvrete")
        assert poverty["value"] == 45.4 and iris["priority"]["bivariate"] == "A1-B3"
        assert [z["zone"] for z in qpv["official_zoning"]] == ["zac", "sur_dotee"]  # the QPV's, its commune's


SAULX_GPS = """RPPS,Nom,Prenom,FINESS,RaisonSociale,Commune,LibCommune,CodePostal,Specialite,Etablissement
810000000011,A,A,,CABINET A,55348,Montiers-sur-Saulx,55290,Spécialiste en Médecine Générale,non
810000000012,B,B,,CABINET B,55348,Montiers-sur-Saulx,55290,Spécialiste en Médecine Générale,non
810000000013,C,C,,CABINET C,52184,Effincourt,52230,Spécialiste en Médecine Générale,non
"""
SAULX = "55348,52378,52184"  # Montiers-sur-Saulx, Paroy-sur-Saulx, Effincourt: inside the OSM extract


def test_road_network_snapshot_runs_a_scenario(data_dir: Path, tmp_path: Path) -> None:
    """Three communes of the real Bure–Saudron OSM extract; the GPs are synthetic (no real list)."""
    folder = tmp_path / "data"
    _copy(data_dir, folder, ["osm/bure_55_saudron_52_overpass_2022-03-14.osm.pbf"])
    (folder / "health_professionals").mkdir()
    (folder / "health_professionals" / "rpps_saulx_synthetique.csv").write_text(SAULX_GPS, encoding="utf-8")
    store = tmp_path / "store.duckdb"
    options = BuildOptions(parse_territory(SAULX), folder, store, cost="route")
    steps: list[str] = []
    sid = build_observatory(options, steps.append)
    assert len(steps) == len(set(steps)) == BUILD_STEPS  # every named step announced once
    shutil.rmtree(folder)
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
    with Store(store, read_only=True) as s:
        assert s.metadata(sid)["cost_source"] == "route"
        assert "osm" in set(s.sources(sid)["name"])
        graph = s.table("road_graph", sid)
        stored = s.table("indicators", sid, where="level = 'commune' AND profession = 'generaliste'")
        engine = ScenarioEngine.from_store(s, sid)
    assert graph["mode"].tolist() == ["car"]
    # A new practice beside Paroy-sur-Saulx's town hall: its access rises, priced on the stored graph.
    site = AddSite(nom="MSP", lon=5.2566, lat=48.5123, generalistes=2)
    table = engine.run(Scenario(nom="t", changements=[Change(ajouter_site=site)])).table.set_index("unit_id")
    assert table.loc["52378", "delta"] > 0.1
    before = stored.set_index("unit_id")["apl"].reindex(table.index)
    assert np.allclose(table["apl_before"], before, rtol=0, atol=1e-9)
    # the fiche and the brochure of the road snapshot, still without the data folder
    fiche, brochure = tmp_path / "fiche.pdf", tmp_path / "brochure.pdf"
    common = ["--store", str(store), "--snapshot", sid]
    done = CliRunner().invoke(app, ["report", "--unit", "52378", "--out", str(fiche), *common])
    assert done.exit_code == 0, done.output
    assert "Paroy-sur-Saulx" in pdf_text(fiche) and "réseau routier" in pdf_text(fiche)
    contacts = str(REPO / "docs" / "brochure_contacts.yaml")
    args = ["brochure", "-t", SAULX, "--contacts", contacts, "--out", str(brochure), *common]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "Montiers-sur-Saulx" in pdf_text(brochure)
    assert (table["delta"] >= -1e-12).all() and table["apl_after"].notna().all()
