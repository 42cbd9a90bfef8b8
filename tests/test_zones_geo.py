"""Zones on the population mesh (synthetic edge cases), the ONPV interval, surroundings of real communes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.stats import binomtest

from accesoins import geo, indicators, sources

L93 = "EPSG:2154"


def _communes() -> gpd.GeoDataFrame:
    """Two 1 km communes side by side; A has 1,000 inhabitants, B 3,000."""
    return gpd.GeoDataFrame(
        {"commune_code": ["00001", "00002"], "department": ["00", "00"]},
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
        crs=L93,
    )


def _mesh() -> gpd.GeoDataFrame:
    """Commune A covered by four 500 m cells (100, 200, 300, 400 inhabitants); B by nothing finer."""
    cells = gpd.GeoDataFrame(
        {
            "unit_id": ["c1", "c2", "c3", "c4"],
            "commune_code": "00001",
            "population": [100.0, 200.0, 300.0, 400.0],
            "population_standardised": [100.0, 200.0, 300.0, 400.0],
        },
        geometry=[shapely.box(x, y, x + 500, y + 500) for y in (0, 500) for x in (0, 500)],
        crs=L93,
    )
    demand = pd.DataFrame(
        {"population": [1000.0, 3000.0], "population_standardised": [1000.0, 6000.0]},
        index=["00001", "00002"],
    )
    return geo.population_mesh(_communes(), demand, fine=cells, fine_level="carreau")


def test_mesh_weights_by_centre_and_by_area() -> None:
    mesh = _mesh()
    assert list(mesh["method"]) == ["carreau"] * 4 + ["commune"]  # A fully covered: no rest of A
    assert mesh.set_index("unit_id").loc["reste:00002", "population"] == 3000.0
    zone = gpd.GeoDataFrame(
        {"zone_id": ["z"], "name": ["Z"], "commune_code": ["00001"], "commune_codes": ["00001;00002"]},
        geometry=[shapely.box(400, 0, 1500, 400)],  # holds the centre of c2 only, and 20 % of B
        crs=L93,
    )
    weights = geo.zone_weights(zone, mesh).set_index("unit_id")["share"]
    assert weights.to_dict() == pytest.approx({"c2": 1.0, "reste:00002": 0.2})
    mesh["apl"] = [1.0, 2.0, 3.0, 4.0, 5.0]
    activities = gpd.GeoDataFrame(
        {
            "profession": "generaliste",
            "etp": [1.0, 1.0, 0.5],
            "precision": ["etablissement", "commune", "etablissement"],
            "commune_code": ["00001", "00001", "00002"],
        },
        geometry=[shapely.Point(600, 100), shapely.Point(700, 100), shapely.Point(1900, 900)],
        crs=L93,
    )
    supply = geo.zone_supply(activities, zone, geo.zone_weights(zone, mesh))
    assert list(supply["activity"]) == [0]  # the town hall inside the zone is not counted there
    table = indicators.zone_indicators(
        zone, geo.zone_weights(zone, mesh), mesh, supply, activities, professions=["generaliste"]
    ).iloc[0]
    assert table["population"] == pytest.approx(200.0 + 600.0)
    assert table["population_standardised"] == pytest.approx(200.0 + 1200.0)
    assert table["apl"] == pytest.approx((200 * 2.0 + 1200 * 5.0) / 1400)  # DREES: standardised weights
    assert table["density_per_100k"] == pytest.approx(1.0 / 800 * 1e5)
    assert table["unlocated_share"] == pytest.approx(0.5)  # half of A's ETP is at the town hall
    assert table["population_method"] == "commune" and table["fine_population_share"] == pytest.approx(0.25)


def test_iris_known_supply_is_shared_by_population_not_by_its_point() -> None:
    iris = gpd.GeoDataFrame(
        {
            "unit_id": ["000010101"],
            "commune_code": "00001",
            "population": [1000.0],
            "population_standardised": [1000.0],
        },
        geometry=[shapely.box(0, 0, 1000, 1000)],
        crs=L93,
    )
    demand = pd.DataFrame({"population": [1000.0, 0.0], "population_standardised": [1000.0, 0.0]})
    mesh = geo.population_mesh(_communes(), demand.set_axis(["00001", "00002"]), fine=iris)
    zone = gpd.GeoDataFrame({"zone_id": ["q"]}, geometry=[shapely.box(0, 0, 250, 1000)], crs=L93)
    activities = gpd.GeoDataFrame(
        {"precision": ["iris"], "iris_code": ["000010101"], "etp": [2.0], "profession": "generaliste"},
        geometry=[shapely.Point(900, 900)],  # outside the zone: its point is one practice among others
        crs=L93,
    )
    supply = geo.zone_supply(activities, zone, geo.zone_weights(zone, mesh))
    assert supply[["zone_id", "share", "how"]].to_dict("records") == [
        {"zone_id": "q", "share": pytest.approx(0.25), "how": "iris"}
    ]


def test_onpv_interval_is_the_exact_conditional_one() -> None:
    inside = pd.DataFrame(
        {
            "unit_id": ["q"],
            "profession": ["generaliste"],
            "name": ["Q"],
            "parent_id": ["00001"],
            "population": [10_000.0],
            "population_standardised": [10_000.0],
            "etp": [6.0],
            "apl": [2.0],
            "unlocated_share": [0.1],
        }
    )
    whole = inside.assign(population=40_000.0, population_standardised=40_000.0, etp=36.0, apl=3.0)
    row = indicators.onpv_comparison(inside, whole).iloc[0]
    assert row["density_in"] == pytest.approx(60.0) and row["density_rest"] == pytest.approx(100.0)
    assert row["density_ratio"] == pytest.approx(0.6)
    ci = binomtest(6, 36).proportion_ci(confidence_level=0.95, method="exact")
    assert row["ratio_low"] == pytest.approx(ci.low / (1 - ci.low) * 3.0)
    assert row["ratio_high"] == pytest.approx(ci.high / (1 - ci.high) * 3.0)
    assert row["apl_rest"] == pytest.approx((3.0 * 40_000 - 2.0 * 10_000) / 30_000)
    empty = indicators.onpv_comparison(inside.assign(etp=0.0), whole.assign(etp=0.0)).iloc[0]
    assert np.isnan(empty["density_ratio"]) and np.isnan(empty["ratio_low"])


@pytest.mark.slow
def test_bordeaux_metropole_surroundings_on_real_communes() -> None:
    communes = sources.read_communes()
    metropole = geo.parse_territory("243300316").select(communes)
    around = geo.with_surroundings(metropole, communes, 25.0, covered_departments={"33"})
    assert len(around.territory_codes) == 28
    assert set(around.communes["department"]) == {"33"} and 200 < len(around.communes) < 400
    assert set(around.communes["commune_code"]) >= set(metropole["commune_code"])
    assert set(around.missing) == {"17"} and "33003" in around.missing["17"]  # Ambès faces the estuary
    assert "17 (" in around.warning() and "33003" in around.warning()
    alone = geo.with_surroundings(metropole, communes, 25.0, covered_departments={"33", "17"})
    assert not alone.missing and "17" in set(alone.communes["department"]) and alone.warning() == ""
