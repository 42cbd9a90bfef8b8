"""In-process cost of one web what-if (``ScenarioService.simulate``: engine, public gate, delta map).

    python bench/web_whatif.py --store /tmp/lat.duckdb [--repeat 100] [--level commune]

Loads the latest snapshot of the store and its engine once, then places a new MSP with 4 GPs at a
different commune's point for each of ``--repeat`` what-ifs (as ``bench/web_latency.py`` does over
HTTP) and prints the median and p95 thread CPU time and wall time per what-if, in milliseconds, and
how the time splits between the engine, the public gate (all levels) and the delta map's text.
Compare two versions
with ``farm-bench --vs`` (the set-up is the same for both, the what-ifs dominate with --repeat 100+).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import shapely

from accesoins.outputs.web._scenarios import ScenarioCreate, ScenarioService
from accesoins.outputs.web._service import ObservatoryService


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store", type=Path, default=Path(os.environ.get("ACCESOINS_STORE", "var/accesoins.duckdb"))
    )
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--level", default="commune", choices=["commune", "iris", "carreau"])
    args = parser.parse_args()
    observatory = ObservatoryService(args.store)
    service = ScenarioService(observatory)
    data = observatory.snapshot(None)
    communes = data.units.loc["commune"]
    points = [
        (round(p.x, 5), round(p.y, 5))
        for p in shapely.point_on_surface(communes.geometry.dropna().to_numpy())
    ]
    requests = [
        ScenarioCreate.model_validate(
            {"level": args.level, "changements": [{"ajouter_site": {"lon": x, "lat": y, "generalistes": 4}}]}
        )
        for x, y in points
    ]
    service.simulate(requests[0])  # loads the engine, fills the per-snapshot caches
    engine = service.engine(data.snapshot_id)
    cpu, wall = [], []
    for i in range(args.repeat):
        w, c = time.perf_counter(), time.thread_time()
        service.simulate(requests[i % len(requests)])
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - w)
    parts: dict[str, list[float]] = {"engine": [], "gate": [], "map": []}
    for i in range(min(args.repeat, 30)):
        c = time.thread_time()
        result = engine.run(requests[i % len(requests)].to_scenario(data.snapshot_id))
        parts["engine"].append(time.thread_time() - c)
        c = time.thread_time()
        maps = service._maps(data, result.table)
        table = {k: result.table[k].to_numpy() for k in ("apl_before", "apl_after", "delta")}
        figures = {
            lv: m.gate.figures({k: v[m.positions] for k, v in table.items()}) for lv, m in maps.items()
        }
        parts["gate"].append(time.thread_time() - c)
        c = time.thread_time()
        maps[args.level].collection(figures[args.level], {})
        parts["map"].append(time.thread_time() - c)
    print(f"snapshot={data.snapshot_id}")
    print(f"what_ifs={args.repeat}")
    for name, values in (("cpu", cpu), ("wall", wall), *parts.items()):
        a = 1e3 * np.asarray(values)
        print(f"{name}_p50_ms={np.percentile(a, 50):.2f}")
        print(f"{name}_p95_ms={np.percentile(a, 95):.2f}")


if __name__ == "__main__":
    main()
