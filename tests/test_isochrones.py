"""Isochrones around sites: growth with the budget, format, export, unreachable sites."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from accesoins.errors import ConfigurationError, UnknownChoiceError
from accesoins.network import RoadGraph, build_graph, export_isochrones, isochrones
from accesoins.network._isochrones import reached_segments


@pytest.fixture(scope="session")
def osm_dir() -> Path:
    data = Path(os.environ.get("ACCESOINS_DATA", Path(__file__).parents[1].parent / "shared" / "data"))
    return data / "osm"


@pytest.fixture(scope="session")
def sb_car(osm_dir: Path) -> RoadGraph:
    return build_graph(osm_dir / "saint_barthelemy_977_2014.osm.pbf", "car")


def sites(lonlat: list[tuple[float, float]], ids: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ids},
        geometry=gpd.points_from_xy([p[0] for p in lonlat], [p[1] for p in lonlat]),
        crs="EPSG:4326",
    )


def areas_km2(polygons: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(polygons.to_crs(polygons.estimate_utm_crs()).area / 1e6)


def test_area_grows_with_time_car(sb_car: RoadGraph) -> None:
    out = isochrones(sb_car, sites([(-62.8508372, 17.8957043)], ["gustavia"]), times_min=[2, 5, 10])
    assert list(out.columns) == ["site_id", "time_min", "geometry"]
    assert out.crs == "EPSG:4326"
    assert out["time_min"].tolist() == [2.0, 5.0, 10.0]
    area = areas_km2(out)
    assert (np.diff(area) > 0).all()
    assert 0.1 < area[0] < area[-1] < 30  # the island is about 25 km²
    # Nested: each budget's polygon contains the smaller one.
    geoms = out.geometry.to_numpy()
    assert geoms[2].buffer(1e-9).contains(geoms[1]) and geoms[1].buffer(1e-9).contains(geoms[0])
    assert geoms[0].contains(sites([(-62.8508372, 17.8957043)], ["g"]).geometry.iloc[0])


def test_area_grows_with_time_walk_two_sites(osm_dir: Path) -> None:
    walk = build_graph(osm_dir / "bure_55_saudron_52_overpass_2022-03-14.osm.pbf", "walk")
    two = sites([(5.3526, 48.5036), (5.2870, 48.5420)], ["bure", "saudron"])
    out = isochrones(walk, two, times_min=[5, 10, 15, 20])
    assert out["site_id"].tolist() == ["bure"] * 4 + ["saudron"] * 4
    for site in ("bure", "saudron"):
        area = areas_km2(out[out["site_id"] == site])
        assert (np.diff(area) > 0).all()
    # On foot, 20 minutes reach at most 1.5 km: the polygon stays within that radius (+ buffer).
    bure = out[(out["site_id"] == "bure") & (out["time_min"] == 20)].to_crs(out.estimate_utm_crs())
    centre = two.to_crs(bure.crs).geometry.iloc[0]
    assert bure.geometry.iloc[0].hausdorff_distance(centre) < 1500 + 50 + 500


def test_site_far_from_network_gets_no_row(sb_car: RoadGraph) -> None:
    out = isochrones(sb_car, sites([(-62.70, 17.95), (-62.8508372, 17.8957043)], ["mer", "gustavia"]))
    assert set(out["site_id"]) == {"gustavia"}


def test_partial_edge_is_cut_at_the_budget() -> None:
    g = RoadGraph("walk", np.array([0, 1, 1]), np.array([1]), np.array([2.0]), np.array([150.0]),
                  np.zeros(2), np.zeros(2), np.arange(2))  # fmt: skip
    xy = np.array([[0.0, 0.0], [150.0, 0.0]])
    seg = reached_segments(g, np.array([0.0, 2.0]), 0.5, xy)
    np.testing.assert_allclose(seg, [[[0.0, 0.0], [37.5, 0.0]]])
    seg = reached_segments(g, np.array([0.0, 2.0]), 3.0, xy)
    np.testing.assert_allclose(seg, [[[0.0, 0.0], [150.0, 0.0]]])


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_export(sb_car: RoadGraph, tmp_path: Path, suffix: str) -> None:
    out = isochrones(sb_car, sites([(-62.8508372, 17.8957043)], ["gustavia"]), times_min=[5, 10])
    path = export_isochrones(out, tmp_path / f"iso{suffix}")
    back = pyogrio.read_dataframe(path)
    assert back["site_id"].tolist() == ["gustavia", "gustavia"]
    assert back["time_min"].tolist() == [5.0, 10.0]
    assert back.crs == "EPSG:4326"


def test_bad_options(sb_car: RoadGraph, tmp_path: Path) -> None:
    one = sites([(-62.8508372, 17.8957043)], ["g"])
    with pytest.raises(ConfigurationError, match="durées"):
        isochrones(sb_car, one, times_min=[0, 5])
    with pytest.raises(UnknownChoiceError, match="shp"):
        export_isochrones(isochrones(sb_car, one, times_min=[5]), tmp_path / "iso.shp")
