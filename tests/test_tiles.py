"""Tiled floating catchment on the real Bordeaux 200 m grid and Gironde FINESS sites.

The tiled path (local scheduler and a Dask LocalCluster) must give the
in-memory result and the DataFrame path (``catchment_access``) to 1e-12.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from accesoins import indicators, sources
from accesoins.indicators import FcaResult, in_memory_catchment, parse_decay, plan_tiles, tiled_catchment
from accesoins.network import CrowFlyCosts, CrowFlyPoints

DECAY = parse_decay("steps:10=1,15=0.6667,20=0.3333")
CUTOFF = 20.0
TILE_PAIRS = 200_000  # small tiles, so the 1,292 cells of the 8 × 8 km window are cut into many


@pytest.fixture(scope="module")
def case(data_dir: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    grid = sources.read_filosofi_grid(
        data_dir / "population_grid" / "filosofi2021_200m_bordeaux_centre_8x8km_epsg3035.csv"
    )
    cells = gpd.GeoDataFrame(
        {"id": grid["cell_id"], "population": grid["population"]},
        geometry=grid.geometry.centroid,
        crs=grid.crs,
    )
    finess = sources.read_finess_geoloc_wgs84(
        data_dir / "health_professionals" / "finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv"
    )
    sites = gpd.GeoDataFrame(
        {"id": finess["finess"]},
        geometry=gpd.points_from_xy(finess["lon"], finess["lat"]),
        crs="EPSG:4326",
    )
    return cells, sites


def _points(case: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> tuple[CrowFlyPoints, CrowFlyPoints]:
    return CrowFlyCosts().points(*case)


def _check_equal(a: FcaResult, b: FcaResult) -> None:
    assert np.abs(a.access - b.access).max() <= 1e-12
    assert np.abs(a.ratio - b.ratio).max() <= 1e-12
    assert np.abs(a.catchment_demand - b.catchment_demand).max() <= 1e-9  # sums of ~1e5 inhabitants


def test_tiles_cover_every_cell_once_with_their_halo(case: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    cells, sites = _points(case)
    halo = CrowFlyCosts().reach_m(CUTOFF)
    assert halo == pytest.approx(20 / 60 * 50 * 1000 / 1.3)  # 20 min at 50 km/h, detour 1.3
    tiles = plan_tiles(cells.xy_m, sites.xy_m, max_pairs=TILE_PAIRS, halo_m=halo)
    assert len(tiles) == 8  # about 160 cells × 1,200 sites each
    assert all(len(t.origins) * len(t.destinations) <= TILE_PAIRS for t in tiles)
    covered = np.sort(np.concatenate([t.origins for t in tiles]))
    assert covered.tolist() == list(range(len(cells)))
    for t in tiles:  # every site within the reach of a tile's cell is in its halo
        dist = np.hypot(*(cells.xy_m[t.origins, None, :] - sites.xy_m[None, :, :]).transpose(2, 0, 1))
        assert set(np.flatnonzero((dist <= halo).any(axis=0))) <= set(t.destinations.tolist())


def test_tiled_equals_in_memory_and_dataframe_path(case: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    cells_gdf, sites_gdf = case
    cells, sites = _points(case)
    demand = cells_gdf["population"].to_numpy(dtype=np.float64)
    supply = np.ones(len(sites))
    whole = in_memory_catchment(demand, supply, cells, sites, CrowFlyCosts(), decay=DECAY, cutoff=CUTOFF)
    tiled = tiled_catchment(
        demand,
        supply,
        cells,
        sites,
        CrowFlyCosts(),
        decay=DECAY,
        cutoff=CUTOFF,
        max_pairs=TILE_PAIRS,
        dask="",
    )
    _check_equal(tiled, whole)
    costs = CrowFlyCosts().travel_times(cells_gdf, sites_gdf, max_time_min=CUTOFF)
    frame = indicators.catchment_access(
        pd.Series(demand, index=cells_gdf["id"]),
        pd.Series(supply, index=pd.Index(sites_gdf["id"])),
        costs,
        decay=DECAY,
        cutoff=CUTOFF,
    )
    assert np.abs(frame.access.to_numpy() - tiled.access).max() <= 1e-12
    # every establishment reached: the supply is conserved, sum(P × A) = sum(S) over reached sites
    reached = tiled.catchment_demand > 0
    assert float(demand @ tiled.access) == pytest.approx(float(supply[reached].sum()), rel=1e-12)
    assert int(reached.sum()) == int((frame.catchment_demand > 0).sum()) > 500


@pytest.mark.slow
def test_tiles_on_a_dask_local_cluster_named_by_the_settings(
    case: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    cells_gdf, _ = case
    cells, sites = _points(case)
    demand = cells_gdf["population"].to_numpy(dtype=np.float64)
    supply = np.ones(len(sites))
    whole = in_memory_catchment(demand, supply, cells, sites, CrowFlyCosts(), decay=DECAY, cutoff=CUTOFF)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("ACCESOINS_DASK", cluster.scheduler_address)
        tiled = tiled_catchment(
            demand, supply, cells, sites, CrowFlyCosts(), decay=DECAY, cutoff=CUTOFF, max_pairs=TILE_PAIRS
        )
        assert cluster.scheduler.transition_counter > 0  # the tiles ran on the cluster
    _check_equal(tiled, whole)
