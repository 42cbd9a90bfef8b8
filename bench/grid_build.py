"""``accesoins build`` of a département with a large 200 m grid: the grid step on tiles, end to end.

The data folder has only an 8 × 8 km Filosofi extract (1,292 cells, under the
tiling threshold of ``parameters/tiles.yaml``). This script writes a
**synthetic** Filosofi file in the INSEE format (``idcar_200m``, ``ind``) of
``--cells`` cells drawn on the **real Gironde communes** (a cell drawn with a
probability proportional to its commune's density + 5, population lognormal,
seeded) into a temporary data folder beside symbolic links to the real DREES
APL workbook, RPPS 2017 and FINESS 2017 files, then runs the real command line
``accesoins build --territory 33`` in a fresh process. It prints the per-tile
progress lines of the build, its wall time, its peak memory (``ru_maxrss`` of
the child) and what the snapshot holds (cells, cost pairs, median cell APL).

    python bench/grid_build.py                      # 100,000 cells
    python bench/grid_build.py --cells 200000 --dask tcp://127.0.0.1:8786
    python bench/grid_build.py --filosofi carreaux_200m_met.csv   # a given (e.g. national) file
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CELL_M = 200.0
REAL_FILES = (
    "apl_drees/apl_medecins_generalistes_2022_2023_drees.xlsx",
    "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv",
    "health_professionals/finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv",
)


def synthetic_filosofi(path: Path, n_cells: int, seed: int) -> None:
    """Write ``n_cells`` distinct populated 200 m cells of Gironde in the Filosofi CSV format."""
    import geopandas as gpd

    from accesoins import sources

    rng = np.random.default_rng(seed)
    communes = sources.read_communes()
    dep = communes[communes["department"].eq("33")].to_crs("EPSG:3035")
    x0, y0, x1, y1 = (np.floor(dep.total_bounds / CELL_M) * CELL_M).tolist()
    xs, ys = np.arange(x0, x1 + CELL_M, CELL_M), np.arange(y0, y1 + CELL_M, CELL_M)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    centres = gpd.GeoDataFrame(
        {"x": gx, "y": gy}, geometry=gpd.points_from_xy(gx + CELL_M / 2, gy + CELL_M / 2), crs=dep.crs
    )
    joined = gpd.sjoin(centres, dep[["density_per_km2", "geometry"]], predicate="within", how="inner")
    joined = joined[~joined.index.duplicated()]
    weight = joined["density_per_km2"].to_numpy() + 5.0
    pick = joined.iloc[rng.choice(len(joined), size=n_cells, replace=False, p=weight / weight.sum())]
    ident = [f"CRS3035RES200mN{int(y)}E{int(x)}" for x, y in zip(pick["x"], pick["y"], strict=True)]
    population = np.round(rng.lognormal(2.5, 1.0, n_cells) * 2) / 2 + 0.5
    with path.open("w", encoding="utf-8") as f:
        f.write("idcar_200m,ind\n")
        f.writelines(f"{i},{p}\n" for i, p in zip(ident, population, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dask", default="", help="tcp://… of a Dask scheduler (default: local threads)")
    parser.add_argument("--filosofi", type=Path, help="a Filosofi 200 m CSV to use instead (e.g. national)")
    args = parser.parse_args()
    real = Path(os.environ["ACCESOINS_DATA"])
    with tempfile.TemporaryDirectory(prefix="accesoins-grid-build-") as tmp:
        data = Path(tmp) / "data"
        for name in REAL_FILES:
            (data / name).parent.mkdir(parents=True, exist_ok=True)
            (data / name).symlink_to(real / name)
        grid = data / "population_grid" / f"filosofi_200m_synthetique_gironde_{args.cells}.csv"
        grid.parent.mkdir(parents=True)
        if args.filosofi:
            (grid.parent / "carreaux_200m_met.csv").symlink_to(args.filosofi.resolve())
        else:
            synthetic_filosofi(grid, args.cells, args.seed)
        store = Path(tmp) / "s.duckdb"
        command = [sys.executable, "-m", "accesoins", "build", "--territory", "33"]
        command += ["--data-dir", str(data), "--store", str(store)]
        command += ["--dask", args.dask] if args.dask else []
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert child.stdout is not None
        for line in child.stdout:
            if "tuiles" in line or "•" in line or "Instantané" in line or "Erreur" in line:
                print(f"{time.perf_counter() - start:7.1f} s  {line.rstrip()}", flush=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        if status != 0:
            print(f"build failed: status={status}")
            return 1
        from accesoins.store import Store

        with Store(store, read_only=True) as s:
            sid = str(s.snapshots()["snapshot_id"].iloc[-1])
            cells = s.table("indicators", sid, where="level = 'carreau' AND profession = 'generaliste'")
            pairs = s.table("costs", sid, where="level = 'carreau'")
        print(f"cells={len(cells)} cost_pairs={len(pairs)} median_cell_apl={cells['apl'].median():.3f}")
        print(f"seconds={seconds:.1f} peak_rss_mb={usage.ru_maxrss / 1024:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
