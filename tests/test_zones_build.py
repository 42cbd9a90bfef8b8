"""Zones in the real builds: Nice IRIS and QPV (06), Bordeaux IRIS and quartiers (33), and a territory
built alone with its surroundings (Bordeaux Métropole = Gironde)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, compute, load_inputs
from accesoins.store import Store, indicator_layer

pytestmark = pytest.mark.slow


def test_nice_iris_are_named_polygons_with_apl(store_path: Path, alpes_maritimes: str) -> None:
    with Store(store_path, read_only=True) as store:
        iris = indicator_layer(store, alpes_maritimes, level="iris", profession="generaliste")
    nice = iris[iris["parent_id"] == "06088"].set_index("unit_id")
    assert len(nice) == 146 and nice.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert not iris[iris["parent_id"] != "06088"].geom_type.isin(["Polygon", "MultiPolygon"]).any()
    assert nice.loc["060880101", "name"] == "Saleya-Château" and nice["apl"].notna().all()
    lowest = nice.nsmallest(3, "apl")
    assert list(lowest["name"]) == LOWEST_NICE_IRIS
    assert lowest["apl"].to_numpy() == pytest.approx(LOWEST_NICE_APL, abs=5e-4)


LOWEST_NICE_IRIS = ["La Clua", "Crémat-Bellet", "Lingostière-Saint-Isidore"]
LOWEST_NICE_APL = [1.4390, 2.8382, 3.0156]


def test_nice_qpv_against_the_rest_of_nice(store_path: Path, alpes_maritimes: str) -> None:
    with Store(store_path, read_only=True) as store:
        qpv = indicator_layer(store, alpes_maritimes, level="qpv", profession="generaliste").set_index(
            "unit_id"
        )
        table = store.table("zone_comparison", alpes_maritimes)
    assert len(qpv) == 14 and qpv.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    nice = qpv[qpv["parent_id"] == "06088"]
    assert len(nice) == 6 and (nice["population_method"] == "iris").all()
    assert (nice["unlocated_share"] == 0).all()  # the 06 supply is known to the IRIS, whose outlines Nice has
    # outside Nice the IRIS have no outline: the supply's location inside the commune is unknown
    assert (qpv.loc[qpv["parent_id"] != "06088", "unlocated_share"] == 1).all()
    gp = table[table["profession"] == "generaliste"].set_index("unit_id")
    moulins = gp.loc["QN00608I"]
    assert moulins["population_in"] == pytest.approx(MOULINS["population_in"], rel=1e-4)
    assert moulins["density_ratio"] == pytest.approx(MOULINS["density_ratio"], abs=1e-3)
    assert moulins["ratio_low"] < moulins["density_ratio"] < moulins["ratio_high"] < 1.0
    assert moulins["apl_ratio"] == pytest.approx(MOULINS["apl_ratio"], abs=1e-3)
    ariane = gp.loc["QN00612M"]
    assert ariane["density_ratio"] == pytest.approx(ARIANE["density_ratio"], abs=1e-3)
    assert ariane["apl_ratio"] == pytest.approx(ARIANE["apl_ratio"], abs=1e-3)


MOULINS = {"population_in": 7555.942, "density_ratio": 0.2356, "apl_ratio": 1.2371}
ARIANE = {"density_ratio": 1.2834, "apl_ratio": 0.8400}


def test_bordeaux_iris_and_quartiers_from_the_grid(store_path: Path, gironde: str) -> None:
    with Store(store_path, read_only=True) as store:
        iris = indicator_layer(store, gironde, level="iris", profession="generaliste").set_index("unit_id")
        quartiers = indicator_layer(store, gironde, level="quartier", profession="generaliste")
        table = store.table("zone_comparison", gironde)
    assert len(iris) == 88 and (iris["parent_id"] == "33063").all()
    assert (iris["population_method"] == "carreau").sum() == BORDEAUX_IRIS_ON_GRID
    # 234.4 of the 363.9 GP ETP of Bordeaux are at the town hall (RPPS without establishment)
    assert iris["unlocated_share"].iloc[0] == pytest.approx((363.916667 - 129.5) / 363.916667, abs=1e-6)
    # located ETP, each in one IRIS; one establishment point (0.5 ETP) lies 2 m outside the IRIS outlines
    assert iris["etp"].sum() == pytest.approx(129.0, abs=1e-5)
    bordeaux = quartiers[quartiers["parent_id"] == "33063"].set_index("name")
    assert len(bordeaux) == 8 and len(quartiers) == 38
    assert bordeaux["etp"].sum() == pytest.approx(129.5, abs=1e-5)
    gp = table[(table["profession"] == "generaliste") & (table["level"] == "quartier")].set_index("name")
    maritime = gp.loc["Bordeaux Maritime"]
    assert maritime["density_ratio"] == pytest.approx(MARITIME_RATIO, abs=1e-3)
    assert maritime["ratio_high"] < 1.0


BORDEAUX_IRIS_ON_GRID = 86  # Le Lac 1 and Bacalan 1 lie mostly north of the grid window
MARITIME_RATIO = 0.0125


def test_bordeaux_metropole_alone_equals_gironde(
    data_dir: Path, store_path: Path, gironde: str, tmp_path: Path
) -> None:
    options = BuildOptions(parse_territory("243300316"), data_dir, tmp_path / "s.duckdb", vintage=2023)
    inputs = load_inputs(options)
    results = compute(inputs)
    alone = results.indicators
    with Store(store_path, read_only=True) as store:
        whole = store.table("indicators", gironde)
    key = ["level", "unit_id", "profession"]
    for level in ("commune", "carreau"):
        a = alone[alone["level"] == level].set_index(key)["apl"].dropna()
        w = whole[whole["level"] == level].set_index(key)["apl"].reindex(a.index)
        assert len(a) > 0 and w.notna().all()
        assert (a - w).abs().max() < 1e-9
    communes = results.units[results.units["level"] == "commune"]
    assert len(communes) == 28  # reported on the territory only
    gradignan = alone.set_index(key).loc[("commune", "33192", "generaliste"), "apl"]
    assert gradignan == pytest.approx(2.682, abs=1e-3)  # 2.25 when the métropole stopped at its edge
    assert "17 (" in results.summary["edge_warning"] and "33003" in results.summary["edge_warning"]
    assert results.summary["surrounding_communes"] > 200
