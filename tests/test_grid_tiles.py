"""The build's 200 m grid step on tiles: the real Bordeaux 8 × 8 km Filosofi window, Gironde supply.

Small tiles are forced (the grid has 1,292 cells, under the tiling threshold),
and the tiled build must give the in-memory build's cell APL and cost pairs to
1e-12, with one progress call per tile; on a Dask ``LocalCluster`` as well.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accesoins.geo import parse_territory
from accesoins.indicators import _tiles
from accesoins.observatory import Build, BuildOptions, Results, compute, load_inputs
from accesoins.parameters import TileParameters, load_tile_parameters

pytestmark = pytest.mark.slow  # reads Bordeaux Métropole's sources and computes it three times

SMALL = TileParameters(tile_above_cells=1, max_tile_pairs=5_000, scheduler_timeout_s=5)  # forces 16 tiles


@pytest.fixture(scope="module")
def loaded(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Every source of Bordeaux Métropole read once (the grid window lies in it)."""
    store = tmp_path_factory.mktemp("grid") / "s.duckdb"
    return load_inputs(BuildOptions(parse_territory("243300316"), data_dir, store))


@pytest.fixture(scope="module")
def in_memory(loaded: Build) -> Results:
    assert len(loaded.grid) < load_tile_parameters().tile_above_cells  # the build's default path
    return compute(copy.deepcopy(loaded))


def _tiled(
    loaded: Build, monkeypatch: pytest.MonkeyPatch, dask: str = ""
) -> tuple[Results, list[tuple[int, int]]]:
    monkeypatch.setattr(_tiles, "load_tile_parameters", lambda: SMALL)
    b = copy.deepcopy(loaded)
    b.options = BuildOptions(b.options.territory, b.options.data_dir, b.options.store_path, dask=dask)
    calls: list[tuple[int, int]] = []
    return compute(b, tiles=lambda done, total: calls.append((done, total))), calls


def _cells(results: Results) -> pd.DataFrame:
    table = results.indicators.query("level == 'carreau' and profession == 'generaliste'")
    return table.set_index("unit_id").sort_index()


def _costs(results: Results) -> pd.Series:
    costs = results.costs[results.costs["level"] == "carreau"]
    return costs.set_index(["origin_id", "destination_id"])["travel_time_min"].sort_index()


def _check_same(tiled: Results, whole: Results) -> None:
    a, b = _cells(tiled), _cells(whole)
    assert len(a) == len(b) == 1292
    assert a.index.equals(b.index)
    assert np.abs(a["apl"].to_numpy() - b["apl"].to_numpy()).max() <= 1e-12
    assert a.drop(columns="apl").equals(b.drop(columns="apl"))
    ta, tb = _costs(tiled), _costs(whole)
    assert ta.index.equals(tb.index) and len(ta) == 34_262  # cells × practice sites within 20 min
    assert np.abs(ta.to_numpy() - tb.to_numpy()).max() <= 1e-12


def test_grid_on_tiles_equals_in_memory_with_progress_per_tile(
    loaded: Build, in_memory: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiled, calls = _tiled(loaded, monkeypatch)
    _check_same(tiled, in_memory)
    total = calls[0][1]
    assert total == 16  # about 80 cells × 60 halo sites each
    assert calls == [(done, total) for done in range(total + 1)]  # 0/8 at the start, then each tile
    cells = _cells(in_memory)
    bordeaux = cells[cells["apl"] > 0]
    assert 4.0 < float(bordeaux["apl"].median()) < 8.0  # central Bordeaux: consultations per inhabitant


def test_grid_tiles_on_a_dask_local_cluster(
    loaded: Build, in_memory: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        tiled, calls = _tiled(loaded, monkeypatch, dask=cluster.scheduler_address)
        assert cluster.scheduler.transition_counter > 0  # the tiles ran on the cluster
    _check_same(tiled, in_memory)
    assert sorted(calls) == [(done, 16) for done in range(17)]


def test_build_command_shows_each_tile(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``accesoins build`` reports the tiles under the step (a line per tenth without a terminal)."""
    from typer.testing import CliRunner

    from accesoins.cli import app

    monkeypatch.setattr(_tiles, "load_tile_parameters", lambda: SMALL)
    store = tmp_path / "s.duckdb"
    args = ["build", "--territory", "243300316", "--data-dir", str(data_dir), "--store", str(store)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines() if "tuiles" in line]
    assert lines[0] == "tuiles : 0/16" and lines[-1] == "tuiles : 16/16" and len(lines) == 11
    step = result.output.index("Indicateurs par carreau de 200 m")
    assert step < result.output.index("tuiles : 0/16") < result.output.index("Indicateurs des IRIS, QPV")
