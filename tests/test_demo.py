"""The embedded demo territory (Bordeaux Métropole): a machine with no data folder builds and serves it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from accesoins import demo
from accesoins.cli import app
from accesoins.outputs.web import create_app
from accesoins.store import Store

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_demo_files_are_small_real_extracts(data_dir: Path) -> None:
    files = [p for p in demo.data_dir().rglob("*") if p.is_file()]
    assert len(files) >= 4 and sum(p.stat().st_size for p in files) < 3_000_000
    rpps = pd.read_csv(next(demo.data_dir().rglob("rpps_*.csv")), dtype=str)
    full = pd.read_csv(next(data_dir.rglob("rpps_2017_*.csv")), dtype=str)
    assert len(rpps) == 901 and rpps["Commune"].nunique() <= 28
    same = full[full["Commune"].isin(set(rpps["Commune"]))].reset_index(drop=True)
    pd.testing.assert_frame_equal(rpps, same)  # the rows of the real file, unchanged


@pytest.mark.slow
def test_build_and_serve_without_a_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCESOINS_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./data here, no ../shared
    store = tmp_path / "var" / "accesoins.duckdb"
    monkeypatch.setenv("ACCESOINS_STORE", str(store))
    result = CliRunner().invoke(app, ["build", "--territory", demo.DEMO_TERRITORY])
    assert result.exit_code == 0, result.output
    assert "données de démonstration embarquées" in result.output
    with Store(store, read_only=True) as s:
        sid = s.latest()
        units = s.table("units", sid)
        sources = set(s.sources(sid)["name"])
    assert units["level"].value_counts().to_dict() == {"carreau": 1292, "commune": 28}
    assert sources == {"annuaire_sante", "finess", "filosofi_grid", "apl_drees"}
    with TestClient(create_app(store, warm=False)) as client:
        bordeaux = client.get("/api/units/commune/33063").json()
        found = client.get("/api/units/commune", params={"q": "Le Bouscat"}).json()
    assert bordeaux["name"] == "Bordeaux" and bordeaux["population"] == 254_436
    gp = next(p for p in bordeaux["professions"] if p["profession"] == "generaliste")
    assert gp["headcount"] == 400 and gp["apl"] > 2.5  # the same 400 GPs of RPPS 2017 as the Gironde build
    assert [u["name"] for u in found] == ["Le Bouscat"]
