"""Placement of activities, territories, and the crow-fly cost source."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from accesoins.errors import ConfigurationError
from accesoins.geo import commune_points, parse_territory, place_activities
from accesoins.network import CrowFlyCosts, OdTableCosts
from accesoins.parameters import CrowFlyParameters
from accesoins.sources import commune_code_history, read_communes, read_finess_geoloc_wgs84, read_rpps_2017


@pytest.fixture(scope="module")
def gironde_communes() -> gpd.GeoDataFrame:
    return parse_territory("33").select(read_communes())


def test_place_rpps_2017_with_finess(data_dir: Path, gironde_communes: gpd.GeoDataFrame) -> None:
    rpps = read_rpps_2017(data_dir / "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv")
    finess = read_finess_geoloc_wgs84(
        data_dir / "health_professionals/finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv"
    )
    placed = place_activities(
        rpps, gironde_communes, establishments=finess, commune_history=commune_code_history()
    )
    counts = placed["precision"].value_counts().to_dict()
    assert counts == {"commune": 1100, "etablissement": 370}  # 2 of the 372 FINESS links are not in the file
    pellegrin = placed[placed["finess_site"] == "330781360"]  # Groupe hospitalier Pellegrin - CHU
    assert len(pellegrin) == 100 and (pellegrin["precision"] == "etablissement").all()
    point = finess.set_index("finess").loc["330781360"]
    assert pellegrin.geometry.iloc[0].x == pytest.approx(point["lon"])
    at_commune = placed[placed["precision"] == "commune"]
    halls = commune_points(gironde_communes)
    bordeaux_hall = halls[gironde_communes["commune_code"] == "33063"].iloc[0]
    in_bordeaux = at_commune[at_commune["commune_code"] == "33063"]
    assert in_bordeaux.geometry.geom_equals(bordeaux_hall).all()
    assert in_bordeaux["site_id"].eq("commune:33063").all()


def test_territories(gironde_communes: gpd.GeoDataFrame) -> None:
    communes = read_communes()
    assert len(gironde_communes) == 534
    metropole = parse_territory("243300316").select(communes)
    assert len(metropole) == 28 and "33063" in set(metropole["commune_code"])
    assert len(parse_territory("33063, 33318").select(communes)) == 2
    with pytest.raises(ConfigurationError, match="code\\(s\\) commune inconnu\\(s\\) : 33999"):
        parse_territory("33063,33999").select(communes)
    nouvelle_aquitaine = parse_territory("R75").select(communes)  # région code 75, not Paris
    assert set(nouvelle_aquitaine["department"]) == {
        "16",
        "17",
        "19",
        "23",
        "24",
        "33",
        "40",
        "47",
        "64",
        "79",
        "86",
        "87",
    }
    assert len(nouvelle_aquitaine) == 4_293 and "75101" not in set(nouvelle_aquitaine["commune_code"])
    france = parse_territory("France").select(communes)
    assert len(france) == len(communes) and {"33063", "75101", "97411"} <= set(france["commune_code"])


def test_crowfly_times(gironde_communes: gpd.GeoDataFrame) -> None:
    params = CrowFlyParameters(
        detour_factor=1.3,
        density_breaks_per_km2=[150, 1500],
        speeds_kph=[50, 50, 35],
        intra_unit_min=0.0,
        source="test",
    )
    points = commune_points(gironde_communes)
    layer = gpd.GeoDataFrame(
        {"id": gironde_communes["commune_code"], "density_per_km2": gironde_communes["density_per_km2"]},
        geometry=points.values,
        crs=points.crs,
    )
    times = (
        CrowFlyCosts(params)
        .travel_times(layer, layer, max_time_min=20)
        .set_index(["origin_id", "destination_id"])["travel_time_min"]
    )
    metric = layer.set_index("id").to_crs("EPSG:2154").geometry
    km = metric["33063"].distance(metric["33318"]) / 1000  # Bordeaux → Pessac town halls
    assert km == pytest.approx(5.4, abs=0.3)
    assert times[("33063", "33318")] == pytest.approx(km * 1.3 / 35 * 60)  # both dense: 35 km/h
    assert times[("33063", "33063")] == 0.0
    assert times[("33318", "33063")] == times[("33063", "33318")]
    assert times.max() <= 20 and len(times) > 534
    assert ("33063", "33529") not in times.index  # Bordeaux → Le Verdon (≈ 90 km) is beyond 20 min


def test_crowfly_coincident_points_and_access_time() -> None:
    params = CrowFlyParameters(
        detour_factor=1.3,
        density_breaks_per_km2=[],
        speeds_kph=[60],
        access_min=2.0,
        intra_unit_min=0.0,
        source="test",
    )
    origins = gpd.GeoDataFrame(
        {"id": ["a", "b"]}, geometry=[shapely.Point(0, 45), shapely.Point(0.01, 45)], crs="EPSG:4326"
    )
    sites = gpd.GeoDataFrame(
        {"id": ["s"], "unit_id": ["x"]}, geometry=[shapely.Point(0, 45)], crs="EPSG:4326"
    )
    times = CrowFlyCosts(params).travel_times(origins, sites, max_time_min=30).set_index("origin_id")
    assert times.loc["a", "travel_time_min"] == 0.0  # same place: no access time
    metres = (
        gpd.GeoSeries([shapely.Point(0, 45), shapely.Point(0.01, 45)], crs=4326)
        .to_crs(2154)
        .distance(gpd.GeoSeries([shapely.Point(0, 45)] * 2, crs=4326).to_crs(2154))
    )
    assert times.loc["b", "travel_time_min"] == pytest.approx(2.0 + metres.iloc[1] / 1000 * 1.3 / 60 * 60)


def test_od_table_costs_orientation() -> None:
    table = pd.DataFrame(
        {
            "origin_id": ["i1", "i2", "i1"],
            "destination_id": ["i2", "i1", "i1"],
            "travel_time_min": [7.0, 25.0, 0.0],
        }
    )
    sites = pd.DataFrame({"id": ["s1", "s2"], "unit_id": ["i1", "i2"]})
    out = OdTableCosts(table).travel_times(pd.DataFrame({"id": ["i1", "i2"]}), sites, max_time_min=20)
    got = {(o, d): t for o, d, t in out.itertuples(index=False)}
    assert got == {("i1", "s2"): 7.0, ("i1", "s1"): 0.0}  # i2 → i1 takes 25 min: not transposed from i1 → i2
    assert np.isfinite(out["travel_time_min"]).all()
