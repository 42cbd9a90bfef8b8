"""Scenarios on the real Gironde and Alpes-Maritimes snapshots: monotonicity, locality, incremental = full."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from accesoins.cli import app
from accesoins.errors import ConfigurationError, DataFileError
from accesoins.scenarios import (
    AddPopulation,
    AddSite,
    Change,
    Remove,
    Retirements,
    Scenario,
    ScenarioEngine,
    brute_force,
    choose_sites,
    coverage_problem,
    read_scenario,
    solve,
)
from accesoins.sources import read_enrichment
from accesoins.store import Store

pytestmark = pytest.mark.slow

GRAND_PARC = {"lon": -0.5840, "lat": 44.8573}  # Bordeaux, a large social-housing estate


@pytest.fixture(scope="module")
def engine(store_path: Path, gironde: str) -> ScenarioEngine:
    with Store(store_path, read_only=True) as store:
        return ScenarioEngine.from_store(store, gironde)


def _check_incremental(engine: ScenarioEngine, scenario: Scenario) -> pd.DataFrame:
    fast, full = engine.run(scenario), engine.full(scenario)
    assert np.allclose(fast.table["apl_after"], full.table["apl_after"], rtol=0, atol=1e-12)
    return fast.table


def test_removing_every_gp_of_a_commune(engine: ScenarioEngine) -> None:
    table = _check_incremental(
        engine, Scenario(nom="t", changements=[Change(retirer=Remove(commune="33522"))])
    )
    communes = table[table["level"] == "commune"].set_index("unit_id")
    assert communes.loc["33522", "delta"] < -0.1  # Talence loses its GPs
    assert (table["delta"] <= 1e-12).all()  # no unit's APL rises
    assert (communes["delta"] < -1e-12).sum() < len(communes) / 4  # only the catchment moves


def test_adding_a_site_never_lowers_any_apl(engine: ScenarioEngine) -> None:
    scenario = Scenario(
        nom="msp", changements=[Change(ajouter_site=AddSite(nom="MSP", generalistes=4, **GRAND_PARC))]
    )
    result = engine.run(scenario)
    table = _check_incremental(engine, scenario)
    assert (table["delta"] >= -1e-12).all()
    assert table.set_index(["level", "unit_id"]).loc[("commune", "33063"), "delta"] > 0
    assert result.touched_units < 100  # of 535 communes: only those within 20 min of the new site


def test_population_lowers_apl_only_within_reach(engine: ScenarioEngine) -> None:
    change = AddPopulation(nom="ZAC", lon=-0.5530, lat=44.8550, logements=3000)
    table = _check_incremental(engine, Scenario(nom="p", changements=[Change(ajouter_population=change)]))
    communes = table[table["level"] == "commune"].set_index("unit_id")
    assert (table["delta"] <= 1e-12).all()
    moved = set(communes.index[communes["delta"] < -1e-12])
    assert "33063" in moved
    level = engine.levels["commune"]
    w = level.weights
    row = level.units.index.get_loc("33063")
    sites = w[row].indices  # sites Bordeaux residents reach within 20 min
    reachable = set(level.units.index[np.unique(w[:, sites].tocsc().indices)])
    assert moved <= reachable and len(reachable) < len(communes)


def test_point_outside_the_territory_is_refused(engine: ScenarioEngine) -> None:
    far = Scenario(
        nom="x", changements=[Change(ajouter_site=AddSite(nom="Nice", lon=7.26, lat=43.70, generalistes=1))]
    )
    with pytest.raises(ConfigurationError, match="hors du territoire"):
        engine.run(far)


def _enrichment(engine: ScenarioEngine, path: Path) -> Path:
    """Sample enrichment file: birth years for the first 300 GPs of the snapshot (made up, for the format)."""
    ids = sorted(
        engine.activities.loc[engine.activities["profession"] == "generaliste", "practitioner_id"].unique()
    )
    years = [1950 + (int(i[-4:]) % 40) for i in ids[:300]]
    # the first half written as the RPPS file writes them: 12 characters, type digit 8 + RPPS
    pairs = enumerate(zip(ids[:300], years, strict=True))
    rows = [f"{'8' if n < 150 else ''}{i},{y}," for n, (i, y) in pairs]
    rows.append(f"{ids[300]},,2028-03-31")
    path.write_text(
        "practitioner_id,annee_naissance,date_retraite\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    return path


def test_retirement_projection_in_five_years(engine: ScenarioEngine, tmp_path: Path) -> None:
    path = _enrichment(engine, tmp_path / "enrichissement.csv")
    table = read_enrichment(path)
    assert len(table) == 301 and table["practitioner_id"].str.len().eq(11).all()
    assert Remove(praticiens=["810003456789"]).praticiens == ["10003456789"]
    scenario = Scenario(nom="2031", changements=[Change(retraites=Retirements(fichier=path, horizon=2031))])
    result = engine.run(scenario)
    assert "médecin(s) généraliste(s) en moins" in result.messages[0]
    gone = int(result.messages[0].split()[0])
    expected = (
        sum(1 for y in table["birth_year"].dropna() if 2031 - y >= 67) + 1
    )  # + the planned 2028 retirement
    assert gone == expected
    assert (result.table["delta"] <= 1e-12).all() and (result.table["delta"] < 0).any()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "10001234567,1850,",
            "ligne 3, colonne « annee_naissance » : année de naissance invraisemblable « 1850 »",
        ),
        ("10001234567,,2031-02-30", "ligne 3, colonne « date_retraite » : date impossible « 2031-02-30 »"),
        ("10001234567,,", "ligne 3 : ni année de naissance ni date de retraite"),
        ("1000123,1960,", "ligne 3, colonne « practitioner_id » : code invalide « 1000123 »"),
        ("10000000001,1961,", "ligne 3, colonne « practitioner_id » : praticien « 10000000001 » en double"),
    ],
)
def test_enrichment_bad_rows(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "enrichissement.csv"
    path.write_text(
        f"practitioner_id,annee_naissance,date_retraite\n10000000001,1960,\n{row}\n", encoding="utf-8"
    )
    with pytest.raises(DataFileError) as err:
        read_enrichment(path)
    assert message in str(err.value) and "enrichissement.csv" in str(err.value)


@pytest.fixture(scope="module")
def candidates() -> gpd.GeoDataFrame:
    points = {
        "Grand Parc": (-0.5840, 44.8573),
        "Langon": (-0.2480, 44.5530),
        "Lesparre": (-0.9380, 45.3070),
        "Blaye": (-0.6630, 45.1280),
        "Sainte-Foy": (0.2190, 44.8380),
        "Créon": (-0.3480, 44.7740),
    }
    return gpd.GeoDataFrame(
        {"candidate": list(points)}, geometry=[shapely.Point(p) for p in points.values()], crs="EPSG:4326"
    )


@pytest.mark.parametrize("model", ["mclp", "pmedian"])
def test_optimiser_equals_brute_force(
    engine: ScenarioEngine, candidates: gpd.GeoDataFrame, model: str
) -> None:
    matrix, weights, _ = coverage_problem(engine, candidates, radius_min=10)
    for k in (1, 2, 3):
        chosen = solve(matrix, weights, k=k, radius_min=10, model=model)  # type: ignore[arg-type]
        assert len(chosen) == k
        best = brute_force(matrix, weights, k=k, radius_min=10, model=model)  # type: ignore[arg-type]
        if model == "mclp":
            got = float(weights[(np.nan_to_num(matrix[:, chosen], nan=np.inf) <= 10).any(axis=1)].sum())
        else:
            got = float((np.nan_to_num(matrix[:, chosen], nan=20.0).min(axis=1) * weights).sum())
        assert got == pytest.approx(best, rel=1e-9)


def test_site_choice_explained_in_french(engine: ScenarioEngine, candidates: gpd.GeoDataFrame) -> None:
    choice = choose_sites(engine, candidates, k=2, radius_min=10)
    assert len(choice.chosen) == 2
    assert choice.explanation.endswith(f"minutes avec {', '.join(choice.chosen)}.")
    assert "habitants aujourd'hui sous-dotés gagneraient un accès à moins de 10 minutes" in choice.explanation
    assert choice.covered_residents >= choice.ranking["covered_residents"].max()


def test_two_new_sites_with_one_name_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "deux.yaml"
    path.write_text(
        "nom: deux MSP\nchangements:\n"
        "  - ajouter_site: {nom: MSP, lon: -0.58, lat: 44.86, generalistes: 2}\n"
        "  - ajouter_site: {nom: MSP, lon: -0.55, lat: 44.85, generalistes: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as caught:
        read_scenario(path)
    assert str(caught.value) == (
        f"{path} : scénario invalide : plusieurs nouveaux sites portent le nom « MSP » : "
        "donnez à chacun un nom différent"
    )


def test_scenario_cli(store_path: Path, gironde: str, tmp_path: Path) -> None:
    path = tmp_path / "msp.yaml"
    path.write_text(
        f"nom: MSP Grand Parc\ninstantane: {gironde}\nchangements:\n"
        f"  - ajouter_site: {{nom: MSP, lon: {GRAND_PARC['lon']}, lat: {GRAND_PARC['lat']}, "
        "generalistes: 4}\n",
        encoding="utf-8",
    )
    assert read_scenario(path).changements[0].ajouter_site is not None
    result = CliRunner().invoke(
        app,
        [
            "scenario",
            "run",
            str(path),
            "--store",
            str(store_path),
            "--no-save",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "nouveau site « MSP » : 4 ETP de généralistes" in result.output
    out = pd.read_csv(tmp_path / "out" / "scenario.csv", dtype={"unit_id": str})
    assert (out["delta"] >= -1e-12).all() and len(out[out["level"] == "commune"]) == 535
    bad = tmp_path / "bad.yaml"
    bad.write_text("nom: x\nchangements:\n  - ajouter_site: {nom: a, lon: 1, lat: 2}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["scenario", "run", str(bad), "--store", str(store_path), "--no-save"])
    assert (
        result.exit_code == 2
        and "scénario invalide à « changements.0.ajouter_site.generalistes »" in result.output
    )


def test_scenario_saved_beside_its_snapshot(store_path: Path, gironde: str, tmp_path: Path) -> None:
    copy = tmp_path / "store.duckdb"
    shutil.copy(store_path, copy)
    path = tmp_path / "msp.yaml"
    path.write_text(
        f"nom: MSP Grand Parc\ninstantane: {gironde}\nchangements:\n"
        f"  - ajouter_site: {{nom: MSP, lon: {GRAND_PARC['lon']}, lat: {GRAND_PARC['lat']}, "
        "generalistes: 4}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["scenario", "run", str(path), "--store", str(copy)])
    assert result.exit_code == 0, result.output
    with Store(copy, read_only=True) as store:
        saved = store.con.execute("SELECT scenario_id, snapshot_id, name, definition FROM scenarios").df()
        rows = store.con.execute(
            "SELECT level, count(*) AS n, min(delta) AS low FROM scenario_results "
            "GROUP BY level ORDER BY level"
        ).df()
    assert list(saved["snapshot_id"]) == [gironde] and saved["name"].iloc[0] == "MSP Grand Parc"
    assert saved["definition"].iloc[0] == path.read_text(encoding="utf-8")
    assert dict(zip(rows["level"], rows["n"], strict=True)) == {"carreau": 1292, "commune": 535}
    assert (rows["low"] >= -1e-12).all()
