"""E2SFCA at national size: accesoins against PySAL ``access``, on one synthetic cost table.

Synthetic France: ``--communes`` communes (default 35,000) placed over a
France-sized box in Lambert-93-like kilometres (clustered around towns, plus a
uniform background), populations drawn from a lognormal, general practitioners
drawn from a Poisson law proportional to population. Every commune is both a
demand unit (origin) and a supply site (destination); the cost is the straight
line at ``--speed-kph`` in minutes, and only pairs within the cutoff are kept
(self-pairs included, at cost 0): about 7 million pairs.

Both implementations get the same long table ``origin_id, destination_id,
travel_time_min`` (origin = demand, destination = supply) and the same DREES
steps 10 = 1, 15 = 0.6667, 20 = 0.3333 with ``max_cost`` / ``cutoff`` = 20 min.
PySAL's ``step_fn`` gives weight ``w_k`` for ``c <= limit_k``; accesoins for
``c < limit_k``. They differ only on costs exactly equal to a limit; the script
counts such pairs (continuous costs: none) and stops if it finds any.

Prints ``key=value`` lines; the last one is ``ratio=<PySAL median / ours median>``
when both are run. Exit status 1 if the two disagree by more than 1e-9 of the
largest access value.

    python bench/e2sfca.py                       # both, 5 runs of ours, 1 of PySAL
    python bench/e2sfca.py --communes 5000 --repeat 9 --pysal-repeat 2
    python bench/e2sfca.py --only ours --cache /tmp/e2sfca.npz   # one side as a whole process
    python bench/e2sfca.py --whole-process 3    # whole processes, alternated, with the pairwise ratio
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from accesoins.indicators import catchment_access, cost_pairs, floating_catchment, parse_decay

STEPS = {10.0: 1.0, 15.0: 0.6667, 20.0: 0.3333}
DECAY_SPEC = "steps:" + ",".join(f"{k:g}={v:g}" for k, v in STEPS.items())
CUTOFF_MIN = 20.0
BOX_KM = ((100.0, 1100.0), (6100.0, 7100.0))  # x, y: Lambert-93-like, about metropolitan France

FloatArray = npt.NDArray[np.float64]


def synthetic_france(
    n_communes: int, *, seed: int, speed_kph: float
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Demand, supply (both indexed by commune id) and the long cost table within the cutoff."""
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = BOX_KM
    n_towns = 120
    towns = np.column_stack([rng.uniform(x0, x1, n_towns), rng.uniform(y0, y1, n_towns)])
    n_clustered = int(0.55 * n_communes)
    around = rng.integers(0, n_towns, n_clustered)
    spread_km = rng.uniform(15.0, 60.0, n_towns)[around]
    clustered = towns[around] + rng.normal(size=(n_clustered, 2)) * spread_km[:, None]
    background = np.column_stack(
        [rng.uniform(x0, x1, n_communes - n_clustered), rng.uniform(y0, y1, n_communes - n_clustered)]
    )
    xy = np.vstack([clustered, background])
    xy[:, 0] = np.clip(xy[:, 0], x0, x1)
    xy[:, 1] = np.clip(xy[:, 1], y0, y1)

    population = np.round(rng.lognormal(mean=6.3, sigma=1.4, size=n_communes)) + 1.0
    gps = rng.poisson(population / 1100.0).astype(np.float64)
    ids = pd.Index(np.arange(1001, 1001 + n_communes, dtype=np.int64), name="commune_id")

    reach_km = CUTOFF_MIN / 60.0 * speed_kph
    i, j = cKDTree(xy).query_pairs(reach_km, output_type="ndarray").T
    dist_km = np.hypot(*(xy[i] - xy[j]).T)
    self_ = np.arange(n_communes)
    origin = np.concatenate([i, j, self_])
    destination = np.concatenate([j, i, self_])
    minutes = np.concatenate([dist_km, dist_km, np.zeros(n_communes)]) / speed_kph * 60.0
    costs = pd.DataFrame(
        {
            "origin_id": ids.to_numpy()[origin],
            "destination_id": ids.to_numpy()[destination],
            "travel_time_min": minutes,
        }
    )
    return (
        pd.Series(population, index=ids, name="population"),
        pd.Series(gps, index=ids, name="gp"),
        costs,
    )


def load_or_build(
    n_communes: int, *, seed: int, speed_kph: float, cache: Path | None
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Read the synthetic case from ``cache`` (``.npz``) when it matches, else build (and save) it."""
    key = np.array([n_communes, seed, speed_kph])
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            if np.array_equal(z["key"], key):
                ids = pd.Index(z["ids"], name="commune_id")
                costs = pd.DataFrame(
                    {
                        "origin_id": z["origin"],
                        "destination_id": z["destination"],
                        "travel_time_min": z["cost"],
                    }
                )
                return (
                    pd.Series(z["population"], index=ids, name="population"),
                    pd.Series(z["gp"], index=ids, name="gp"),
                    costs,
                )
    demand, supply, costs = synthetic_france(n_communes, seed=seed, speed_kph=speed_kph)
    if cache is not None:
        np.savez(
            cache,
            key=key,
            ids=demand.index.to_numpy(),
            population=demand.to_numpy(),
            gp=supply.to_numpy(),
            origin=costs["origin_id"].to_numpy(),
            destination=costs["destination_id"].to_numpy(),
            cost=costs["travel_time_min"].to_numpy(),
        )
    return demand, supply, costs


def as_insee_codes(
    demand: pd.Series, supply: pd.Series, costs: pd.DataFrame
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Same case with identifiers as 5-character strings, like INSEE commune codes (1001 -> "01001")."""
    codes = pd.Index([f"{i:05d}" for i in demand.index], name=demand.index.name)
    position = demand.index.get_indexer
    costs = pd.DataFrame(
        {
            "origin_id": codes[position(costs["origin_id"])],
            "destination_id": codes[position(costs["destination_id"])],
            "travel_time_min": costs["travel_time_min"],
        }
    )
    return demand.set_axis(codes), supply.set_axis(codes[position(supply.index)]), costs


def timed(fn: Callable[[], pd.Series], repeat: int) -> tuple[list[float], pd.Series]:
    """Run ``fn`` ``repeat`` times; wall-clock seconds of each run and the last result."""
    seconds: list[float] = []
    result = pd.Series(dtype=np.float64)
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def run_ours(
    demand: pd.Series, supply: pd.Series, costs: pd.DataFrame, repeat: int, *, kernel: bool
) -> tuple[float, pd.Series]:
    """Time the DataFrame wrapper, then (``kernel``) the bare kernel (weights, two products); median s."""
    decay = parse_decay(DECAY_SPEC)
    seconds, access = timed(
        lambda: catchment_access(demand, supply, costs, decay=decay, cutoff=CUTOFF_MIN).access, repeat
    )
    median = statistics.median(seconds)
    print(f"ours_runs_s={','.join(f'{t:.3f}' for t in seconds)}")
    print(f"ours_median_s={median:.3f}")
    if kernel:
        pairs = cost_pairs(costs, demand.index, supply.index)
        p, s = demand.to_numpy(dtype=np.float64), supply.to_numpy(dtype=np.float64)
        kernel_s, _ = timed(
            lambda: pd.Series(floating_catchment(p, s, pairs.weights(decay, cutoff=CUTOFF_MIN)).access),
            repeat,
        )
        print(f"kernel_median_s={statistics.median(kernel_s):.3f}")
    return median, access


def run_pysal(
    demand: pd.Series, supply: pd.Series, costs: pd.DataFrame, repeat: int
) -> tuple[float, pd.Series]:
    """Time PySAL ``access`` (object construction and ``enhanced_two_stage_fca``); median seconds."""
    import access  # lazy: optional dev dependency

    logging.getLogger("access").setLevel(logging.WARNING)
    demand_df = demand.rename("population").reset_index()
    supply_df = supply.rename("gp").reset_index()

    def once() -> pd.Series:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # pandas 3: inplace= in access.Access
            model = access.Access(
                demand_df=demand_df,
                demand_index="commune_id",
                demand_value="population",
                supply_df=supply_df,
                supply_index="commune_id",
                supply_value="gp",
                cost_df=costs,
                cost_origin="origin_id",
                cost_dest="destination_id",
                cost_name="travel_time_min",
            )
            out = model.enhanced_two_stage_fca(
                name="e2sfca",
                cost="travel_time_min",
                max_cost=CUTOFF_MIN,
                weight_fn=access.weights.step_fn(STEPS),
                normalize=False,
            )
        series: pd.Series = out["e2sfca_gp"]
        return series

    seconds, result = timed(once, repeat)
    median = statistics.median(seconds)
    print(f"pysal_runs_s={','.join(f'{t:.3f}' for t in seconds)}")
    print(f"pysal_median_s={median:.3f}")
    return median, result


def whole_process(args: argparse.Namespace) -> int:
    """Whole processes, alternated (ours, PySAL, load-only baseline) ``args.whole_process`` times.

    Each run is a fresh interpreter that imports its library, reads the cached
    case and computes once: what a user waiting for a command sees. The ratio
    is taken pair by pair (PySAL run k / ours run k), so a machine whose speed
    drifts between rounds affects both sides of a pair alike.
    """
    cache = args.cache or Path(tempfile.gettempdir()) / f"e2sfca-{args.communes}-{args.seed}.npz"
    load_or_build(args.communes, seed=args.seed, speed_kph=args.speed_kph, cache=cache)
    base = [sys.executable, __file__, "--communes", str(args.communes), "--seed", str(args.seed)]
    base += ["--speed-kph", str(args.speed_kph), "--ids", args.ids, "--cache", str(cache)]
    commands = {
        "ours": [*base, "--only", "ours", "--repeat", "1"],
        "pysal": [*base, "--only", "pysal"],
        "load": [*base, "--only", "load"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.whole_process):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            seconds[name].append(time.perf_counter() - start)
    for name, runs in seconds.items():
        print(f"process_{name}_runs_s={','.join(f'{t:.2f}' for t in runs)}")
        print(f"process_{name}_median_s={statistics.median(runs):.2f}")
    rounds = list(zip(seconds["pysal"], seconds["ours"], seconds["load"], strict=True))
    # beyond the shared baseline (interpreter, imports, reading the case): a rough estimate only
    net = [(p - base_s) / max(o - base_s, 1e-3) for p, o, base_s in rounds]
    print(f"process_ratio_beyond_load={statistics.median(net):.1f}")
    print(f"process_ratio={statistics.median([p / o for p, o, _ in rounds]):.1f}")  # PySAL / ours
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=35_000, help="number of communes (default 35000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of accesoins (median quoted)")
    parser.add_argument("--pysal-repeat", type=int, default=1, help="runs of PySAL access (about 40 s each)")
    parser.add_argument(
        "--only",
        choices=("ours", "pysal", "both", "load"),
        default="both",
        help="ours: the wrapper only, no kernel timing (whole-process comparison); load: read the case only",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--speed-kph", type=float, default=120.0, help="crow-fly speed (default 120)")
    parser.add_argument(
        "--ids", choices=("int", "code"), default="int", help="int64 ids, or INSEE-like strings (code)"
    )
    parser.add_argument("--cache", type=Path, help=".npz file keeping the synthetic case between runs")
    parser.add_argument(
        "--whole-process",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="time whole processes instead: ROUNDS alternated runs of ours, PySAL and a load-only baseline",
    )
    args = parser.parse_args(argv)
    if args.whole_process:
        return whole_process(args)

    demand, supply, costs = load_or_build(
        args.communes, seed=args.seed, speed_kph=args.speed_kph, cache=args.cache
    )
    if args.ids == "code":
        demand, supply, costs = as_insee_codes(demand, supply, costs)
    on_limit = int(np.isin(costs["travel_time_min"].to_numpy(), list(STEPS)).sum())
    print(f"communes={args.communes} pairs={len(costs)} ids={args.ids} on_step_limit={on_limit}")
    print(f"decay={DECAY_SPEC} cutoff_min={CUTOFF_MIN:g}")
    if on_limit and args.only == "both":
        print("costs on a step limit: PySAL (<=) and accesoins (<) weigh them differently", file=sys.stderr)
        return 1

    ours = pysal = None
    if args.only in ("ours", "both"):
        ours = run_ours(demand, supply, costs, args.repeat, kernel=args.only == "both")
    if args.only in ("pysal", "both"):
        pysal = run_pysal(demand, supply, costs, args.pysal_repeat)
    if ours is None or pysal is None:
        return 0

    mine, theirs = ours[1], pysal[1].reindex(ours[1].index)
    scale = float(np.nanmax(np.abs(theirs.to_numpy())))
    diff = float(np.nanmax(np.abs(mine.to_numpy() - theirs.to_numpy())))
    ok = not theirs.isna().any() and diff <= 1e-9 * scale
    print(f"max_abs_diff={diff:.3e} max_access={scale:.6e} equal={'yes' if ok else 'NO'}")
    print(f"ratio={pysal[0] / ours[0]:.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
