"""Fuzzing campaign of the source loaders: counts per outcome and per source type.

    python bench/fuzz.py [--per-source 40] [--seed 0] [--only osm_xml] [--show 5]

Builds seeded mutants of every source type from the real files of
``$ACCESOINS_DATA`` (``tests/fuzz_support.py``), loads each with its loader and
prints, per source type, how many ended in a French error with a location,
a French error without one, a traceback, accepted and sane, accepted with an
impossible value. Then the first ``--show`` tracebacks and impossible values.
Exit status 1 when there is any traceback or impossible value (the goal is 0).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fuzz_support import OUTCOMES, SOURCE_TYPES, mutants, run_mutant  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-source", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", action="append", choices=sorted(SOURCE_TYPES), default=None)
    parser.add_argument("--show", type=int, default=5)
    args = parser.parse_args()
    data = Path(os.environ.get("ACCESOINS_DATA", REPO.parent / "shared" / "data"))
    logging.disable(logging.WARNING)  # loaders' French warnings (repairs, removed duplicates)
    warnings.simplefilter("ignore")
    counts: dict[str, Counter[str]] = {}
    bad = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or list(SOURCE_TYPES):
            source = SOURCE_TYPES[name]
            seed = source.seed(data)
            counts[name] = Counter()
            for mutant in mutants(name, seed, count=args.per_source, rng_seed=args.seed):
                outcome = run_mutant(source, mutant, Path(tmp))
                counts[name][outcome.outcome] += 1
                if outcome.outcome in (OUTCOMES[2], OUTCOMES[4]):
                    bad.append(outcome)
    width = max(map(len, counts)) + 2
    print("source".ljust(width) + "".join(f"{o:>28}" for o in OUTCOMES) + f"{'total':>8}")
    total: Counter[str] = Counter()
    for name, counter in counts.items():
        total.update(counter)
        print(
            name.ljust(width) + "".join(f"{counter[o]:>28}" for o in OUTCOMES) + f"{sum(counter.values()):>8}"
        )
    print("total".ljust(width) + "".join(f"{total[o]:>28}" for o in OUTCOMES) + f"{sum(total.values()):>8}")
    print(f"{sum(total.values())} mutants en {time.perf_counter() - started:.1f} s")
    for outcome in bad[: args.show]:
        print(f"\n[{outcome.outcome}] {outcome.mutant.source} / {outcome.mutant.name}\n{outcome.detail}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
