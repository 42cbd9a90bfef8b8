"""Every web route that serves people counts goes through the public gate (real Gironde snapshot)."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from accesoins.outputs import check_frame
from accesoins.outputs.web import create_app
from accesoins.store import Store, indicator_layer

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TWO_RESIDENTS = "CRS3035RES200mN2470000E3484000"  # served as 2.0 by /api/units before the gate


@pytest.fixture(scope="module")
def client(store_path: Path, gironde: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_path, warm=False)) as c:
        yield c


@pytest.fixture(scope="module")
def small_cells(store_path: Path, gironde: str) -> list[str]:
    with Store(store_path, read_only=True) as store:
        raw = indicator_layer(store, gironde, level="carreau", profession="generaliste")
    cells = raw.loc[(raw["population"] > 0) & (raw["population"] < 11), "unit_id"].tolist()
    assert len(cells) == 54 and TWO_RESIDENTS in cells
    return [str(c) for c in cells]


def _properties(body: bytes) -> pd.DataFrame:
    return pd.DataFrame([f["properties"] for f in json.loads(body)["features"]])


def _safe(table: pd.DataFrame, small: list[str]) -> None:
    """No count of 1..10, and no small cell shown with a population of its own."""
    assert check_frame(table) == []
    shown = table[table["unit_id"].isin(small)]
    assert shown.get("population", pd.Series(dtype=float)).isna().all()


@pytest.mark.parametrize("level", ["commune", "carreau"])
@pytest.mark.parametrize("measure", ["density_per_100k", "std_density_per_100k", "headcount", "apl"])
def test_layers_and_downloads(
    client: TestClient, gironde: str, small_cells: list[str], level: str, measure: str
) -> None:
    params = {"snapshot": gironde, "measure": measure, "classes": 4}
    layer = client.get(f"/api/layers/{level}", params=params)
    assert layer.status_code == 200
    _safe(_properties(layer.content), small_cells)
    geojson = client.get(f"/api/downloads/layers/{level}.geojson", params=params)
    _safe(_properties(geojson.content), small_cells)
    csv = client.get(f"/api/downloads/layers/{level}.csv", params=params)
    _safe(pd.read_csv(io.BytesIO(csv.content), dtype={"unit_id": str}), small_cells)


def test_grid_layer_groups(client: TestClient, gironde: str) -> None:
    table = _properties(client.get("/api/layers/carreau", params={"snapshot": gironde}).content)
    groups = table[table["secret"] == "fusion"].set_index("unit_id")
    assert len(groups) == 16 and groups.loc["CRS3035RES1000mN2470000E3483000", "population"] == 23
    assert groups.loc["CRS3035RES8000mN2464000E3480000", "population"] == 12  # holds the 2-resident cell
    assert len(table) == 1254 and not (table["secret"] == "masque").any()


def test_fiches_search_and_compare_of_small_cells(
    client: TestClient, gironde: str, small_cells: list[str]
) -> None:
    snap = {"snapshot": gironde}
    fiche = client.get(f"/api/units/carreau/{TWO_RESIDENTS}", params=snap).json()
    assert fiche["unit_id"] == "CRS3035RES8000mN2464000E3480000" and fiche["population"] == 12
    assert any(f"« {TWO_RESIDENTS} » compte moins de 11 habitants" in n for n in fiche["notes"])
    rows = []
    for cell in small_cells:
        fiche = client.get(f"/api/units/carreau/{cell}", params=snap).json()
        assert fiche["population"] is None or fiche["population"] >= 11
        assert fiche["population"] is None or fiche["unit_id"] != cell  # a merged cell answers with its group
        rows.append(
            {
                "unit_id": fiche["unit_id"],
                "population": fiche["population"],
                "population_standardised": fiche["population_standardised"],
            }
        )
        csv = client.get(f"/api/downloads/units/carreau/{cell}.csv", params=snap)
        assert check_frame(pd.read_csv(io.BytesIO(csv.content), dtype={"unit_id": str})) == []
    assert check_frame(pd.DataFrame(rows)) == []
    found = client.get("/api/units/carreau", params={**snap, "q": "N2470000E3483800", "limit": 10}).json()
    assert [u["unit_id"] for u in found] == ["CRS3035RES1000mN2470000E3483000"]  # found through its group
    everything = client.get("/api/units/carreau", params={**snap, "limit": 5000}).json()
    _safe(pd.DataFrame(everything), small_cells)
    pair = {**snap, "a": TWO_RESIDENTS, "b": small_cells[0]}
    assert client.get("/api/compare/carreau", params=pair).status_code == 200
    csv = client.get("/api/downloads/compare/carreau.csv", params=pair)
    assert check_frame(pd.read_csv(io.BytesIO(csv.content), dtype={"unit_id": str})) == []


@pytest.mark.slow
def test_scenario_delta_at_grid_level_is_gated(
    client: TestClient, gironde: str, small_cells: list[str]
) -> None:
    site = {"nom": "MSP Grand Parc", "lon": -0.5755, "lat": 44.8565, "generalistes": 4}
    body = {"snapshot": gironde, "level": "carreau", "changements": [{"ajouter_site": site}]}
    response = client.post("/api/scenarios", json=body)
    assert response.status_code == 200, response.text
    table = _properties(response.content)
    _safe(table, small_cells)
    assert len(table) == 1254 and TWO_RESIDENTS not in set(table["unit_id"])  # same groups as the map
    group = table.set_index("unit_id").loc["CRS3035RES1000mN2470000E3483000"]
    assert group["population"] == 23
    assert group["delta"] == pytest.approx(group["apl_after"] - group["apl_before"])


@pytest.mark.slow
def test_iris_layer_of_alpes_maritimes_is_gated(
    client: TestClient, store_path: Path, alpes_maritimes: str
) -> None:
    with Store(store_path, read_only=True) as store:
        raw = indicator_layer(store, alpes_maritimes, level="iris", profession="generaliste")
    small = raw.loc[(raw["population"] > 0) & (raw["population"] < 11), "unit_id"]
    params = {"snapshot": alpes_maritimes, "measure": "density_per_100k"}
    csv = client.get("/api/downloads/layers/iris.csv", params=params)
    assert csv.status_code == 200, csv.text
    table = pd.read_csv(io.BytesIO(csv.content), dtype={"unit_id": str})
    _safe(table, [str(u) for u in small])
    assert small.empty and len(table) == 500 and table["secret"].isna().all()  # no IRIS of 06 under 11
