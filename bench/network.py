"""Benchmark of the network stage: cutoff many-to-many travel times and graph building.

Compares :func:`accesoins.network.travel_time_pairs` with networkx (one
``single_source_dijkstra_path_length`` with ``cutoff`` per origin) and with
``scipy.sparse.csgraph.dijkstra(indices=..., limit=...)`` on the same queries,
checks that every time equals networkx within 1e-6, and prints pairs per second
and speed ratios. Graphs: a synthetic 300 × 300 grid (90,000 nodes, 100 m
edges, random speeds per road class) and the car/walk graphs of the real OSM
extracts in ``$ACCESOINS_DATA/osm``. Then measures time and peak memory per
million graph nodes for building a graph from a (synthetic) ``.osm.pbf`` and
for querying it, to plan a département (1–3 M nodes).

Run: ``python bench/network.py`` (about 45 s on 2 cores; ``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numba
import numpy as np
from scipy.sparse.csgraph import dijkstra

import accesoins.network._dijkstra as dijkstra_module
from accesoins.network import RoadGraph, build_graph, graph_from_ways, read_osm_ways, travel_time_pairs

DATA = Path(os.environ.get("ACCESOINS_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
# Speeds of the synthetic grid (km/h) and their shares: mostly slow streets, some main roads.
GRID_SPEEDS_KPH = np.array([20.0, 30.0, 50.0, 70.0, 90.0])
GRID_SHARES = np.array([0.35, 0.3, 0.2, 0.1, 0.05])


def grid_graph(side: int, *, spacing_m: float = 100.0, seed: int = 0) -> RoadGraph:
    """A ``side × side`` grid, both directions, random speed per street segment."""
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    speed = rng.choice(GRID_SPEEDS_KPH, size=len(u), p=GRID_SHARES)
    minutes = spacing_m / (speed * 1000.0 / 60.0) * rng.uniform(0.9, 1.1, size=len(u))
    tail, head = np.concatenate([u, v]), np.concatenate([v, u])
    t, length = np.concatenate([minutes, minutes]), np.full(2 * len(u), spacing_m)
    order = np.lexsort((head, tail))
    tail, head, t, length = tail[order], head[order], t[order], length[order]
    indptr = np.zeros(side * side + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=side * side), out=indptr[1:])
    rows, cols = np.divmod(np.arange(side * side), side)
    lat = 45.0 + rows * spacing_m / 111_195.0
    lon = 2.0 + cols * spacing_m / (111_195.0 * np.cos(np.radians(45.0)))
    return RoadGraph("car", indptr, head.astype(np.int32), t, length, lon, lat, np.arange(side * side))


def to_networkx(graph: RoadGraph) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(graph.n_nodes))
    tails = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    g.add_weighted_edges_from(
        zip(tails.tolist(), graph.indices.tolist(), graph.time_min.tolist(), strict=True)
    )
    return g


def networkx_pairs(
    g: nx.DiGraph, origins: np.ndarray, destinations: np.ndarray, cutoff: float
) -> dict[tuple[int, int], float]:
    """Reference: one cutoff Dijkstra per origin (positions in the input arrays as keys)."""
    out: dict[tuple[int, int], float] = {}
    for i, o in enumerate(origins.tolist()):
        lengths = nx.single_source_dijkstra_path_length(g, o, cutoff=cutoff, weight="weight")
        for j, d in enumerate(destinations.tolist()):
            if d in lengths:
                out[(i, j)] = lengths[d]
    return out


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def check_equal(ours: tuple[np.ndarray, np.ndarray, np.ndarray], ref: dict[tuple[int, int], float]) -> float:
    got = {(int(i), int(j)): float(m) for i, j, m in zip(*ours, strict=True)}
    if set(got) != set(ref):
        raise SystemExit(f"FAIL: pair sets differ ({len(got)} vs networkx {len(ref)})")
    err = max((abs(got[k] - ref[k]) for k in ref), default=0.0)
    if err > 1e-6:
        raise SystemExit(f"FAIL: max difference with networkx {err:.3g} min")
    return err


def bench_query(
    name: str,
    graph: RoadGraph,
    n_origins: int,
    n_destinations: int,
    cutoff: float,
    *,
    n_nx_origins: int,
    seed: int = 1,
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    origins = rng.choice(graph.n_nodes, size=min(n_origins, graph.n_nodes), replace=False)
    destinations = rng.choice(graph.n_nodes, size=min(n_destinations, graph.n_nodes), replace=False)
    sub = origins[:n_nx_origins]
    g = to_networkx(graph)
    csr = graph.matrix()
    threads = numba.get_num_threads()
    travel_time_pairs(graph, sub[:2], destinations, max_time_min=cutoff)  # warm the compiled kernel

    def ours_1() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        numba.set_num_threads(1)
        try:
            return travel_time_pairs(graph, sub, destinations, max_time_min=cutoff)
        finally:
            numba.set_num_threads(threads)

    # Rounds of networkx, scipy, accesoins (1 thread, all threads) one after the other: the
    # ratio of each round is taken, then the median, so a drift of the machine's load cancels out.
    rounds: dict[str, list[float]] = {"networkx": [], "scipy": [], "one": [], "all": []}
    ref: dict[tuple[int, int], float] = {}
    ours = ours_1()
    for _ in range(3):
        t, ref = timed(lambda: networkx_pairs(g, sub, destinations, cutoff), repeat=1)
        rounds["networkx"].append(t)
        rounds["scipy"].append(timed(lambda: dijkstra(csr, indices=sub, limit=cutoff)[:, destinations])[0])
        rounds["one"].append(timed(ours_1)[0])
        rounds["all"].append(
            timed(lambda: travel_time_pairs(graph, sub, destinations, max_time_min=cutoff))[0]
        )
    err = check_equal(ours, ref)
    nx_t = np.array(rounds["networkx"])
    ratio = {k: float(np.median(nx_t / np.array(v))) for k, v in rounds.items()}
    t_nx = float(np.median(nx_t))
    n_pairs = len(sub) * len(destinations)
    t_full, full = timed(
        lambda: travel_time_pairs(graph, origins, destinations, max_time_min=cutoff), repeat=2
    )
    print(f"\n[{name}] {graph.n_nodes:,} nodes, {graph.n_edges:,} edges, cutoff {cutoff:g} min")
    print(
        f"  same query, {len(sub)} origins × {len(destinations)} destinations = {n_pairs:,} pairs "
        f"({len(ref):,} within cutoff), max |Δ| vs networkx = {err:.1e} min; medians of 3 rounds"
    )
    print(f"  networkx            {t_nx:8.3f} s  {n_pairs / t_nx:12,.0f} pairs/s")
    for label, key in (
        ("scipy dijkstra", "scipy"),
        ("accesoins 1 thread", "one"),
        (f"accesoins {threads} threads", "all"),
    ):
        t = float(np.median(rounds[key]))
        print(f"  {label:19s} {t:8.3f} s  {n_pairs / t:12,.0f} pairs/s  ×{ratio[key]:6.1f} vs networkx")
    big = len(origins) * len(destinations)
    print(
        f"  full query {len(origins)} × {len(destinations)} = {big:,} pairs "
        f"({len(full[0]):,} within cutoff): {t_full:.3f} s, {big / t_full:,.0f} pairs/s"
    )
    return {"ratio_1": ratio["one"], "ratio_n": ratio["all"], "ratio_scipy": ratio["scipy"]}


def write_grid_osm(
    path: Path, side: int, *, spacing_m: float = 100.0, way_nodes: int = 11, seed: int = 0
) -> None:
    """A synthetic ``.osm.pbf``: a grid of streets cut in ways of ``way_nodes`` nodes."""
    import osmium

    rng = np.random.default_rng(seed)
    classes = ["residential", "tertiary", "secondary", "primary", "unclassified"]
    dlat = spacing_m / 111_195.0
    dlon = dlat / np.cos(np.radians(45.0))
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for r in range(side):
            for c in range(side):
                node = osmium.osm.mutable.Node(
                    id=r * side + c + 1, location=(2.0 + c * dlon, 45.0 + r * dlat)
                )
                writer.add_node(node)
        way_id = 1
        step = way_nodes - 1
        for r in range(side):
            for start in range(0, side - 1, step):
                span = range(start, min(start + way_nodes, side))
                for ids in ([r * side + c + 1 for c in span], [c * side + r + 1 for c in span]):
                    tags = {"highway": classes[int(rng.integers(len(classes)))]}
                    writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=ids, tags=tags))
                    way_id += 1


def _peak_rss_reset() -> int:
    """Reset the kernel's peak-RSS counter (Linux) and return the current RSS in bytes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _rss("VmRSS")
    except OSError:
        return -1


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return -1


def bench_scaling(side: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pbf = Path(tmp) / "grid.osm.pbf"
        t0 = time.perf_counter()
        write_grid_osm(pbf, side)
        print(
            f"\n[build] synthetic {side}×{side} grid .osm.pbf written in {time.perf_counter() - t0:.1f} s "
            f"({pbf.stat().st_size / 1e6:.1f} MB)"
        )
        # Timed run (no tracemalloc: it slows Python allocations several-fold), kernel peak RSS.
        base = _peak_rss_reset()
        t0 = time.perf_counter()
        ways = read_osm_ways(pbf)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        graph = graph_from_ways(ways, "car")
        t_graph = time.perf_counter() - t0
        peak_rss = _rss("VmHWM") - base if base >= 0 else -1
        del ways
        # Second run for the peak of Python and numpy allocations.
        tracemalloc.start()
        graph_from_ways(read_osm_ways(pbf), "car")
        _, peak_py = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    mn = graph.n_nodes / 1e6
    print(f"  {graph.n_nodes:,} nodes, {graph.n_edges:,} edges")
    print(
        f"  build per million nodes: read OSM {t_read / mn:.1f} s + graph {t_graph / mn:.1f} s = "
        f"{(t_read + t_graph) / mn:.1f} s; peak memory {peak_py / mn / 1e6:.0f} MB (tracemalloc), "
        f"{peak_rss / mn / 1e6:.0f} MB (RSS increase)"
    )
    graph_mb = sum(
        a.nbytes
        for a in (
            graph.indptr,
            graph.indices,
            graph.time_min,
            graph.length_m,
            graph.node_lon,
            graph.node_lat,
            graph.node_osm_id,
        )
    )
    print(f"  graph in memory: {graph_mb / mn / 1e6:.0f} MB per million nodes")
    # Query: one uncapped Dijkstra per source (the whole graph), per million nodes.
    rng = np.random.default_rng(3)
    sources = rng.choice(graph.n_nodes, size=40, replace=False)
    targets = rng.choice(graph.n_nodes, size=200, replace=False)
    travel_time_pairs(graph, sources[:2], targets, max_time_min=1e9)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    t_q, _ = timed(lambda: travel_time_pairs(graph, sources, targets, max_time_min=1e9), repeat=2)
    numba.set_num_threads(threads)
    per_search = t_q / len(sources)
    # Working arrays of a search thread: dist, heap keys, heap nodes, positions, touched (8 B), state (1 B).
    work_mb = 41 * 1e6 / 1e6
    print(
        f"  query: one uncapped Dijkstra (all nodes settled) costs {per_search / mn * 1e3:.0f} ms per "
        f"million nodes (1 thread); working memory {work_mb:.0f} MB per million nodes and thread, "
        f"plus at most {dijkstra_module.MAX_BLOCK_CELLS * 8 / 1e6:.0f} MB for a block of results"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grid, for a smoke run")
    parser.add_argument("--scaling", type=int, default=0, metavar="SIDE", help="only the build/memory part")
    args = parser.parse_args()
    side = 80 if args.quick else 300
    if args.scaling:
        bench_scaling(args.scaling)
        return
    print(f"Python {sys.version.split()[0]}, numba {numba.__version__}, {numba.get_num_threads()} threads")
    grid = grid_graph(side)
    results = [
        bench_query(f"grid {side}×{side}", grid, 2000, 100, 15.0, n_nx_origins=40 if args.quick else 60)
    ]
    for file, mode, cutoff in (
        ("saint_barthelemy_977_2014.osm.pbf", "car", 10.0),
        ("bure_55_saudron_52_overpass_2022-03-14.osm.pbf", "car", 10.0),
        ("bure_55_saudron_52_overpass_2022-03-14.osm.pbf", "walk", 20.0),
        ("redon_35_overpass_2019-09-09.osm.pbf", "walk", 10.0),
    ):
        path = DATA / "osm" / file
        if not path.is_file():
            print(f"\n[{file}] absent, skipped")
            continue
        graph = build_graph(path, mode)
        results.append(bench_query(f"{file} {mode}", graph, 1000, 50, cutoff, n_nx_origins=300))
    # Build and memory figures in a fresh process: a clean peak RSS, no influence on the timings above.
    subprocess.run([sys.executable, __file__, "--scaling", "100" if args.quick else "400"], check=True)
    print(
        f"\nratio vs networkx on the {side}×{side} grid: ×{results[0]['ratio_1']:.1f} (1 thread), "
        f"×{results[0]['ratio_n']:.1f} ({numba.get_num_threads()} threads); scipy dijkstra: "
        f"×{results[0]['ratio_scipy']:.1f}"
    )


if __name__ == "__main__":
    main()
