"""Seconds per printed fiche: a Gironde build, then batches of fiches rendered from the store.

    ACCESOINS_DATA=../shared/data .venv/bin/python bench/reports.py

Prints ``seconds_per_fiche=`` (median of three batches of three communes after one warm-up fiche).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, build_observatory
from accesoins.outputs import ReportBuilder
from accesoins.store import Store


def main() -> None:
    data = Path(os.environ.get("ACCESOINS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "bench.duckdb"
        sid = build_observatory(BuildOptions(parse_territory("33"), data, store_path, vintage=2023))
        with Store(store_path, read_only=True) as store:
            builder = ReportBuilder(store, sid)
            builder.render("33063", Path(tmp) / "warm.pdf")
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                builder.render_many(["33529", "33243", "33318"], Path(tmp))
                timings.append((time.perf_counter() - started) / 3)
    print(f"seconds_per_fiche={statistics.median(timings):.2f}")


if __name__ == "__main__":
    main()
