"""What-ifs under load: the cached fast path gives the results of a fresh engine and a fresh gate,
and a full what-if queue answers 503 with ``Retry-After`` at once instead of waiting.

The fast path keeps, per snapshot, what every what-if reads unchanged (the engine's base weights by
column and APL before, the gate's layout of a scenario table); these tests run several what-ifs
through one service, then compare the last one with a newly loaded engine and a new gate (whose
first call gates the table from scratch).
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from accesoins.http_problems import ProblemError
from accesoins.outputs import Gate, public_layer
from accesoins.outputs.web import create_app
from accesoins.outputs.web._scenarios import ScenarioCreate, ScenarioService
from accesoins.scenarios import AddSite, Change, Scenario, ScenarioEngine
from accesoins.store import Store

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

GRAND_PARC = {"lon": -0.5840, "lat": 44.8573}  # Bordeaux, a large social-housing estate
OTHER_SITES = [(-0.57, 44.84), (-0.6, 44.9), (-0.55, 44.83), (-0.62, 44.80)]


def _what_if(cells: dict[tuple[int, int], float], before: list[float], after: list[float]) -> pd.DataFrame:
    """A scenario table of 200 m cells (as the web service hands it to the gate)."""
    ids = [f"CRS3035RES200mN{n}E{e}" for n, e in cells]
    return pd.DataFrame(
        {"level": "carreau", "unit_id": ids, "name": ids, "population": list(cells.values()),
         "apl_before": before, "apl_after": after, "delta": np.subtract(after, before),
         "parent_id": "33063", "population_standardised": list(cells.values())})  # fmt: skip


def test_replayed_scenario_tables_equal_a_fresh_gate() -> None:
    """Second and later what-ifs replay the first one's groups: same frames as gating them afresh."""
    cells = {(1000, 1000): 5.0, (1200, 1400): 7.0, (1400, 1000): 300.0, (1600, 1600): 0.0,
             (2000, 3000): 4.0, (3400, 2000): 3.0, (2200, 2200): 4.0, (40_000, 40_000): 3.0}  # fmt: skip
    rng = np.random.default_rng(15)
    gate = Gate(11, gpd.GeoSeries([box(0, 0, 64_000, 64_000)], crs=3035))
    before = rng.uniform(1, 6, len(cells)).tolist()
    for turn in range(4):
        after = (np.asarray(before) + rng.uniform(0, 0.5, len(cells))).tolist()
        if turn == 2:
            after[1] = np.nan  # a member without APL drops out of its group's weighted mean
        frame = _what_if(cells, before, after)
        got = public_layer(frame, "carreau", gate)
        fresh = public_layer(frame, "carreau", Gate(11, gate.communes))
        pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(fresh), check_exact=True)
        one = got.set_index("unit_id").loc["CRS3035RES1000mN1000E1000"]
        weights = [5.0, 7.0] if turn != 2 else [5.0]
        values = [after[0], after[1]] if turn != 2 else [after[0]]
        assert one["apl_after"] == pytest.approx(np.average(values, weights=weights), abs=1e-12)
        assert np.isnan(got.set_index("unit_id").loc["CRS3035RES200mN40000E40000", "apl_after"])
    assert len(gate._replays) == 1
    other = dict(cells) | {(1000, 1000): 12.0}  # another population: laid out afresh, not replayed
    frame = _what_if(other, before, before)
    got = public_layer(frame, "carreau", gate)
    fresh = public_layer(frame, "carreau", Gate(11, gate.communes))
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(fresh), check_exact=True)
    assert got.set_index("unit_id").loc["CRS3035RES200mN1000E1000", "secret"] == ""
    assert len(gate._replays) == 1  # same columns and length: the newer layout replaced the older


class _Blocked(ScenarioService):
    """A service whose what-ifs wait for a signal (the queue fills without timing anything)."""

    def __init__(self, max_waiting: int) -> None:
        super().__init__(None, max_waiting=max_waiting)  # type: ignore[arg-type]
        self.release = threading.Event()
        self.started = 0

    def simulate(self, request: ScenarioCreate) -> bytes:
        self.started += 1
        self.release.wait(timeout=30)
        return b"{}"


def test_a_full_what_if_queue_answers_503_with_retry_after_at_once() -> None:
    service = _Blocked(max_waiting=3)
    body = ScenarioCreate.model_validate({"changements": [{"ajouter_site": GRAND_PARC}]})
    outcomes: list[Any] = []

    async def one() -> None:
        try:
            outcomes.append(await service.simulate_in_pool(body))
        except ProblemError as exc:
            outcomes.append(exc)
            service.release.set()  # the refusal came while the three others were still waiting

    async def burst() -> None:
        async with anyio.create_task_group() as tasks:
            for _ in range(4):
                tasks.start_soon(one)

    anyio.run(burst)
    refused = [o for o in outcomes if isinstance(o, ProblemError)]
    assert len(refused) == 1 and outcomes[0] is refused[0]  # refused first, before any what-if ended
    assert refused[0].status == 503 and refused[0].headers == {"Retry-After": "2"}
    assert "3 simulations sont déjà en cours ou en attente" in refused[0].detail
    assert outcomes[1:] == [b"{}"] * 3 and service._waiting == 0
    assert service.started <= 3  # the refused one never reached a worker thread


@pytest.fixture(scope="module")
def client(store_path: Path, gironde: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_path, warm=False)) as c:
        yield c


def _msp(gironde: str, level: str = "commune", at: dict[str, float] = GRAND_PARC) -> dict[str, Any]:
    site = {"nom": "MSP Grand Parc", **at, "generalistes": 4}
    return {"snapshot": gironde, "level": level, "changements": [{"ajouter_site": site}]}


@pytest.mark.slow
def test_what_if_after_many_equals_a_fresh_engine_and_gate(
    client: TestClient, store_path: Path, gironde: str
) -> None:
    """Real Gironde snapshot: after other what-ifs, the MSP Grand Parc equals a newly loaded engine
    and a new gate, and keeps the figures the uncached service gave (Bordeaux 4.5129 → 4.5549)."""
    for lon, lat in OTHER_SITES:
        for level in ("commune", "carreau"):
            body = _msp(gironde, level, {"lon": lon, "lat": lat})
            assert client.post("/api/scenarios", json=body).is_success
    service: ScenarioService = client.app.state.scenarios  # type: ignore[attr-defined]
    data = service.observatory.snapshot(gironde)
    assert len(data.gate._replays) == 2  # one layout per level of the result (commune, carreau)
    scenario = Scenario(
        nom="MSP Grand Parc",
        changements=[Change(ajouter_site=AddSite(nom="MSP Grand Parc", generalistes=4, **GRAND_PARC))],
    )
    warm = service.engine(gironde).run(scenario)
    with Store(store_path, read_only=True) as store:
        fresh = ScenarioEngine.from_store(store, gironde).run(scenario)
    pd.testing.assert_frame_equal(warm.table, fresh.table, check_exact=True)
    assert (warm.touched_sites, warm.touched_units) == (fresh.touched_sites, fresh.touched_units)
    new_gate = Gate(data.gate.k, data.gate.communes)
    for level, rows in fresh.table.groupby("level", sort=False):
        keys = data.gate_keys.loc[str(level)].reindex(rows["unit_id"].astype(str))
        framed = rows.assign(**{c: keys[c].to_numpy() for c in keys.columns})
        pd.testing.assert_frame_equal(
            pd.DataFrame(public_layer(framed, str(level), data.gate)),
            pd.DataFrame(public_layer(framed, str(level), new_gate)),
            check_exact=True,
        )
    communes = client.post("/api/scenarios", json=_msp(gironde)).json()
    bordeaux = next(f["properties"] for f in communes["features"] if f["properties"]["unit_id"] == "33063")
    assert bordeaux["apl_before"] == pytest.approx(4.5128829835, abs=1e-9)
    assert bordeaux["apl_after"] == pytest.approx(4.5548502994, abs=1e-9)
    assert communes["summary"][1].endswith("24 unité(s) modifiée(s)")
    cells = client.post("/api/scenarios", json=_msp(gironde, "carreau")).json()
    assert len(cells["features"]) == 1254
    square = next(
        f["properties"] for f in cells["features"]
        if f["properties"]["unit_id"] == "CRS3035RES1000mN2470000E3483000"
    )  # fmt: skip
    assert square["population"] == 23 and square["name"] == "CRS3035RES200mN2470000E3483800 + 3 autres"
    assert square["apl_before"] == pytest.approx(5.1308032097, abs=1e-9)
    assert square["apl_after"] == pytest.approx(5.1587814343, abs=1e-9)


@pytest.mark.slow
def test_saturated_route_answers_problem_json_503(client: TestClient, gironde: str) -> None:
    service: ScenarioService = client.app.state.scenarios  # type: ignore[attr-defined]
    service.max_waiting = 0
    try:
        r = client.post("/api/scenarios", json=_msp(gironde))
    finally:
        service.max_waiting = 64
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.headers["content-type"].startswith("application/problem+json")
    body = json.loads(r.text)
    assert body["title"] == "Simulations saturées" and "réessayez dans 2 secondes" in body["detail"]
    assert client.post("/api/scenarios", json=_msp(gironde)).status_code == 200
