"""The what-if fast path gives what the plain path gives, on the real files.

A what-if adds a site to a snapshot whose units never change: the cost model's origins are
prepared once (:func:`network.prepare_origins`), a scenario table is gated once per level and its
figures replayed (:class:`outputs.ScenarioGate`), a fiche's local indicators are read from a sheet
computed once per level. Each of these is compared here with the path it replaces.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from accesoins.geo import parse_territory
from accesoins.network import (
    CrowFlyCosts,
    IndexedCosts,
    NewSites,
    OdTableCosts,
    RoadNetworkCosts,
    build_graph,
    prepare_origins,
)
from accesoins.network._prepared import _AnyOrigins
from accesoins.outputs import Gate, indicator_rows, indicator_sheet, public_layer
from accesoins.outputs._disclosure import _weighted_means
from accesoins.outputs.web import create_app
from accesoins.outputs.web._scenarios import ScenarioCreate, ScenarioService, _french_numbers
from accesoins.outputs.web._service import ObservatoryService
from accesoins.scenarios import level_summary
from accesoins.sources import read_communes, read_od_table

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _pairs(c: IndexedCosts) -> pd.DataFrame:
    frame = pd.DataFrame({"o": c.origin, "d": c.destination, "t": c.travel_time_min})
    return frame.sort_values(["o", "d"], ignore_index=True)


def _same_costs(cost: object, origins: pd.DataFrame, sites: NewSites, max_time_min: float) -> pd.DataFrame:
    """Prepared origins against the cost source's own ``travel_times``: same pairs, same times."""
    fast = _pairs(prepare_origins(cost, origins).indexed(sites, max_time_min=max_time_min))  # type: ignore[arg-type]
    plain = _pairs(_AnyOrigins(cost, origins).indexed(sites, max_time_min=max_time_min))  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    return fast


def test_prepared_crowfly_origins_equal_travel_times() -> None:
    """Gironde's 535 communes (real contours) to three new sites, one of them in its own commune."""
    communes = parse_territory("33").select(read_communes())
    points = communes.geometry.representative_point()
    codes = communes["commune_code"].to_numpy()
    origins = gpd.GeoDataFrame(
        {"id": codes, "density_per_km2": np.linspace(10, 5000, len(communes))},
        geometry=points.to_numpy(),
        crs=communes.crs,
    ).to_crs("EPSG:4326")
    bordeaux = int(np.flatnonzero(codes == "33063")[0])
    sites = NewSites(
        np.array([-0.5840, -1.1, 0.2]),
        np.array([44.8573, 44.6, 44.9]),
        ("33063", "", "not-a-unit"),
        np.array([5000.0, np.nan, 30.0]),
    )
    pairs = _same_costs(CrowFlyCosts(), origins, sites, 30.0)
    assert len(pairs) == 65 and set(pairs["d"]) == {0, 1, 2}
    intra = pairs[(pairs["o"] == bordeaux) & (pairs["d"] == 0)]["t"]
    assert intra.tolist() == [CrowFlyCosts().parameters.intra_unit_min]  # the site's own unit


def test_prepared_road_origins_equal_travel_times(data_dir: Path) -> None:
    """Saint-Barthélemy's car graph (OSM 2014): 60 nodes to two sites, one beyond the snapping distance."""
    graph = build_graph(data_dir / "osm" / "saint_barthelemy_977_2014.osm.pbf", "car")
    picked = np.random.default_rng(15).choice(graph.n_nodes, 60, replace=False)
    origins = gpd.GeoDataFrame(
        {"id": [f"n{i}" for i in picked]},
        geometry=gpd.points_from_xy(graph.node_lon[picked], graph.node_lat[picked]),
        crs="EPSG:4326",
    )
    sites = NewSites(
        np.array([graph.node_lon[0], -62.0]),
        np.array([graph.node_lat[0], 17.0]),
        ("", ""),
        np.full(2, np.nan),
    )
    for connector in (None, 4.5):
        pairs = _same_costs(RoadNetworkCosts(graph, connector_speed_kph=connector), origins, sites, 15.0)
        assert len(pairs) > 20 and set(pairs["d"]) == {0}  # the site at sea reaches nobody


def test_prepared_od_table_origins_equal_travel_times(data_dir: Path) -> None:
    """The Alpes-Maritimes IRIS distancier (117,769 pairs): 400 IRIS to three sites, one unknown IRIS."""
    table = read_od_table(data_dir / "travel_times" / "od_iris_06_alpes_maritimes_km_min.csv")
    ids = pd.unique(table["origin_id"])[:400]
    origins = pd.DataFrame({"id": ids})
    reached = table.loc[table["origin_id"].isin(ids), "destination_id"].value_counts().index
    sites = NewSites(np.zeros(3), np.zeros(3), (reached[0], reached[40], "999999999"), np.full(3, np.nan))
    pairs = _same_costs(OdTableCosts(table), origins, sites, 20.0)
    assert set(pairs["d"]) == {0, 1} and len(pairs) > 50


@pytest.mark.parametrize("size", [1, 2, 7, 8, 9, 130, 300])
def test_group_means_are_weighted_averages(size: int) -> None:
    """Synthetic groups (sizes around NumPy's pairwise-summation blocks, missing values, zero weights)."""
    rng = np.random.default_rng(size)
    n = 40 * size
    values = rng.uniform(0, 10, n)
    values[rng.random(n) < 0.1] = np.nan
    weights = rng.integers(0, 500, n).astype(float)
    groups = np.array_split(rng.permutation(n), 40)
    groups.append(np.array([0]))
    got = _weighted_means(values, weights, groups)
    for mean, rows in zip(got, groups, strict=True):
        ok = ~np.isnan(values[rows]) & (weights[rows] > 0)
        expected = np.average(values[rows][ok], weights=weights[rows][ok]) if ok.any() else np.nan
        assert mean == pytest.approx(expected, rel=1e-14, nan_ok=True)
    assert np.isnan(_weighted_means(np.array([np.nan, 1.0]), np.array([3.0, 0.0]), [np.array([0, 1])]))[0]


@pytest.fixture(scope="module")
def client(store_path: Path, gironde: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_path, warm=False)) as c:
        yield c


@pytest.mark.slow
@pytest.mark.parametrize("level", ["commune", "carreau"])
def test_delta_map_equals_gating_the_table_afresh(client: TestClient, gironde: str, level: str) -> None:
    """Real Gironde snapshot, an MSP in Talence then one in Libourne: each feature and summary line of
    the answer is what a new gate makes of the engine's table, figures to 10 decimals."""
    service: ScenarioService = client.app.state.scenarios  # type: ignore[attr-defined]
    data = service.observatory.snapshot(gironde)
    for lon, lat in ((-0.5890, 44.8060), (-0.2430, 44.9150)):
        body = {"snapshot": gironde, "level": level, "changements": [
            {"ajouter_site": {"lon": lon, "lat": lat, "generalistes": 4}}]}  # fmt: skip
        answer = client.post("/api/scenarios", json=body).json()
        result = service.engine(gironde).run(ScenarioCreate.model_validate(body).to_scenario(gironde))
        gate = Gate(data.gate.k, data.gate.communes)
        lines = []
        for lvl, rows in result.table.groupby("level", sort=False):
            keys = data.gate_keys.loc[str(lvl)].reindex(rows["unit_id"].astype(str))
            framed = rows.assign(**{c: keys[c].to_numpy() for c in keys.columns})
            public = pd.DataFrame(public_layer(framed, str(lvl), gate))
            pop = pd.to_numeric(public["population"], errors="coerce").to_numpy(dtype=float)
            figures = [public[c].to_numpy(dtype=float) for c in ("apl_before", "apl_after", "delta")]
            lines.append(level_summary(str(lvl), pop, *figures))
            if lvl == level:
                expected = public
        got = pd.DataFrame([f["properties"] for f in answer["features"]])
        assert got["unit_id"].tolist() == expected["unit_id"].astype(str).tolist()
        assert got["name"].tolist() == expected["name"].tolist()
        for column in ("population", "apl_before", "apl_after", "delta"):
            want = pd.to_numeric(expected[column], errors="coerce").to_numpy(dtype=float)
            have = pd.to_numeric(got[column], errors="coerce").to_numpy(dtype=float)
            np.testing.assert_allclose(have, np.round(want, 10), rtol=0, atol=1e-12, equal_nan=True)
        assert answer["summary"][1:] == [_french_numbers(line) for line in lines]
        changed = got["delta"].abs() > 1e-9
        shapes = data.units.loc[level].geometry.reindex(got.loc[changed, "unit_id"]).dropna()
        bbox = None if shapes.empty else [round(float(v), 6) for v in shapes.total_bounds]
        assert answer["changed_bbox"] == bbox
    if level == "carreau":
        assert (got["name"].str.contains(" autres| \\+ ")).any()  # merged groups went through the gate


def test_what_if_threads_outlive_a_what_if(client: TestClient, gironde: str) -> None:
    """What-ifs run on the service's own threads (as many as processors), kept between what-ifs;
    closing the service stops them and the next what-if starts new ones."""
    service: ScenarioService = client.app.state.scenarios  # type: ignore[attr-defined]
    body = {"snapshot": gironde, "changements": [{"ajouter_site": {"lon": -0.5890, "lat": 44.8060}}]}
    assert client.post("/api/scenarios", json=body).status_code == 200
    pool = service._executor
    assert client.post("/api/scenarios", json=body).status_code == 200
    assert service._executor is pool and pool is not None
    assert {t.name.split("_")[0] for t in pool._threads} == {"whatif"}
    service.close()
    assert service._executor is None
    answer = client.post("/api/scenarios", json=body)
    assert answer.status_code == 200 and json.loads(answer.text)["features"]


def test_indicator_sheet_rows_equal_indicator_rows(store_path: Path, gironde: str) -> None:
    """Every Gironde commune's local indicators (Filosofi, bassins de vie) from the sheet computed once."""
    observatory = ObservatoryService(store_path)
    data = observatory.snapshot(gironde)
    assert data.local is not None
    frame = observatory.local_frame(data, "commune")
    sheet = indicator_sheet(data.local, "commune", frame, data.gate.k)
    communes = [str(u) for u in data.units.loc["commune"].index]
    with_bassin = 0
    for code in communes:
        rows = sheet.rows(code)
        assert rows == indicator_rows(data.local, "commune", code, frame, data.gate.k)
        with_bassin += any(r["level"] == "bassin_vie" for r in rows)
    assert with_bassin > 0
