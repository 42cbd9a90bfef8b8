"""Latency of the web observatory's fiche (``GET /api/units/commune/{code}``) on a running server.

Starts ``accesoins serve`` on a free port in a separate process (or uses ``--url``), waits until it
answers, then times ``--requests`` fiche requests from one keep-alive HTTP client:

* ``fiche_first``: each commune requested for the first time (the snapshot is loaded, the fiche is
  computed and then cached by the server);
* ``fiche_repeat``: the same communes again (cached fiche: routing, validation, JSON);
* ``layer``: the classified commune GeoJSON layer (cached after the first request);
* under load, ``--concurrency`` clients at once (50 by default, asyncio on one loopback connection
  pool): ``load_scenario`` POSTs ``/api/scenarios`` (a new MSP with 4 GPs at a different commune's
  point each time), ``load_read`` GETs fiches, both mixed in the same burst as a public page would.

The snapshot itself is loaded by the first request (``snapshot_load``: tables read once per snapshot id).
Prints ``key=value`` lines, latencies in milliseconds (p50, p95, p99, max).

    python bench/web_latency.py --store /tmp/web.duckdb               # Gironde snapshot built beforehand
    python bench/web_latency.py --url http://127.0.0.1:8000 --requests 500
    python bench/web_latency.py --store /tmp/web.duckdb --concurrency 50 --load-requests 200
    python bench/web_latency.py --store /tmp/web.duckdb --peer ../old-checkout/src --pairs 3

``--peer``: the same measures on a server run from another checkout's sources, alternated with this one
(fresh servers each time) ``--pairs`` times, then the median ratio this/peer of each figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import httpx
import numpy as np
import shapely


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(store: Path, source: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``accesoins serve`` on a free port; ``source``: another checkout's ``src`` folder (a peer version)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "accesoins", "serve", "--store", str(store), "--port", str(port)]
    env = dict(os.environ, PYTHONPATH=str(source)) if source is not None else None
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"accesoins serve stopped: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            httpx.get(f"{url}/api/snapshots", timeout=1).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("accesoins serve did not answer within 60 s")


def _stats(name: str, ms: list[float], figures: dict[str, float]) -> None:
    """Print the percentiles of ``ms`` and keep them in ``figures``."""
    a = np.asarray(ms)
    print(f"{name}_n={a.size}")
    for key, value in (
        (f"{name}_p50_ms", np.percentile(a, 50)),
        (f"{name}_p95_ms", np.percentile(a, 95)),
        (f"{name}_p99_ms", np.percentile(a, 99)),
        (f"{name}_max_ms", a.max()),
    ):
        figures[key] = float(value)
        print(f"{key}={value:.2f}")


def _points(client: httpx.Client, params: dict[str, str]) -> list[tuple[float, float]]:
    """A point inside each commune of the snapshot (where a what-if places its new MSP)."""
    layer = client.get("/api/layers/commune", params={**params, "measure": "apl"})
    layer.raise_for_status()
    points = []
    for feature in layer.json()["features"]:
        if feature.get("geometry"):
            p = shapely.geometry.shape(feature["geometry"]).representative_point()
            points.append((round(p.x, 5), round(p.y, 5)))
    return points


async def _load(
    url: str,
    snapshot: str | None,
    codes: list[str],
    points: list[tuple[float, float]],
    n: int,
    conc: int,
    client: str,
) -> dict[str, list[float]]:
    """``n`` scenario POSTs and ``n`` fiche GETs, interleaved, at most ``conc`` in flight.

    ``client``: ``aiohttp`` (C parser: the client takes little of the machine it shares with the
    server) or ``httpx`` (pure-Python parser: on a two-core machine it takes as much CPU as the server).
    """
    params = {"snapshot": snapshot} if snapshot else {}
    gate = asyncio.Semaphore(conc)
    times: dict[str, list[float]] = {"load_scenario": [], "load_read": []}
    errors: dict[str, int] = {"load_scenario": 0, "load_read": 0}

    def body(i: int) -> dict[str, object]:
        lon, lat = points[i % len(points)]
        return {
            "snapshot": snapshot,
            "changements": [{"ajouter_site": {"lon": lon, "lat": lat, "generalistes": 4}}],
        }

    async def timed(kind: str, call: Callable[[], Awaitable[int]]) -> None:
        async with gate:
            t = time.perf_counter()
            status = await call()
            times[kind].append(1e3 * (time.perf_counter() - t))
            errors[kind] += status >= 400

    if client == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=conc)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:

            async def post(i: int) -> int:
                async with session.post("/api/scenarios", json=body(i)) as r:
                    await r.read()
                    return r.status

            async def get(i: int) -> int:
                async with session.get(f"/api/units/commune/{codes[i % len(codes)]}", params=params) as r:
                    await r.read()
                    return r.status

            await _burst(n, timed, post, get)
    else:
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as session:

            async def post(i: int) -> int:
                return (await session.post("/api/scenarios", json=body(i))).status_code

            async def get(i: int) -> int:
                r = await session.get(f"/api/units/commune/{codes[i % len(codes)]}", params=params)
                return r.status_code

            await _burst(n, timed, post, get)
    for kind, count in errors.items():
        print(f"{kind}_errors={count}")
    return times


async def _burst(
    n: int,
    timed: Callable[[str, Callable[[], Awaitable[int]]], Awaitable[None]],
    post: Callable[[int], Awaitable[int]],
    get: Callable[[int], Awaitable[int]],
) -> None:
    """The ``n`` POSTs and ``n`` GETs, interleaved, all started at once (the semaphore admits them)."""
    jobs = []
    for i in range(n):
        jobs.append(timed("load_scenario", partial(post, i)))
        jobs.append(timed("load_read", partial(get, i)))
    await asyncio.gather(*jobs)


def _measure(url: str, args: argparse.Namespace) -> dict[str, float]:
    """Every measure against the server at ``url``; prints them and returns them by key."""
    figures: dict[str, float] = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        params = {"snapshot": args.snapshot} if args.snapshot else {}
        t = time.perf_counter()
        units = client.get("/api/units/commune", params={**params, "limit": 5000})
        units.raise_for_status()
        print(f"snapshot_load_ms={1e3 * (time.perf_counter() - t):.1f}")
        codes = [u["unit_id"] for u in units.json()]
        # first fiche: reads the DREES workbook once (national reference)
        t = time.perf_counter()
        client.get("/api/units/commune/" + codes[0], params=params).raise_for_status()
        print(f"first_fiche_ms={1e3 * (time.perf_counter() - t):.1f}")
        sample = [codes[i % len(codes)] for i in range(1, args.requests + 1)]
        print(f"server={url}")
        print(f"communes={len(codes)}")
        for name in ("fiche_first", "fiche_repeat"):
            ms = []
            for code in sample:
                t = time.perf_counter()
                r = client.get(f"/api/units/commune/{code}", params=params)
                ms.append(1e3 * (time.perf_counter() - t))
                r.raise_for_status()
            _stats(name, ms, figures)
        ms = []
        for _ in range(20):
            t = time.perf_counter()
            client.get("/api/layers/commune", params={**params, "measure": "apl"}).raise_for_status()
            ms.append(1e3 * (time.perf_counter() - t))
        _stats("layer", ms, figures)
        if not args.concurrency:
            return figures
        points = _points(client, params)
        t = time.perf_counter()  # first what-if loads the snapshot's engine
        site = {"lon": points[0][0], "lat": points[0][1], "generalistes": 4}
        body = {"snapshot": args.snapshot, "changements": [{"ajouter_site": site}]}
        client.post("/api/scenarios", json=body).raise_for_status()
        print(f"first_scenario_ms={1e3 * (time.perf_counter() - t):.1f}")
    print(f"concurrency={args.concurrency}")
    print(f"client={args.client}")
    t = time.perf_counter()
    load = asyncio.run(
        _load(url, args.snapshot, codes, points, args.load_requests, args.concurrency, args.client)
    )
    wall = time.perf_counter() - t
    for name, ms in load.items():
        _stats(name, ms, figures)
    figures["load_scenarios_per_s"] = args.load_requests / wall
    print(f"load_wall_s={wall:.2f}")
    print(f"load_scenarios_per_s={figures['load_scenarios_per_s']:.1f}")
    return figures


def _served(args: argparse.Namespace, source: Path | None = None) -> dict[str, float]:
    """:func:`_measure` on a server of its own (started, then stopped), or on ``--url``."""
    if args.url:
        return _measure(args.url.rstrip("/"), args)
    proc, url = _start(args.store, source)
    try:
        return _measure(url, args)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--store", type=Path, default=Path(os.environ.get("ACCESOINS_STORE", "var/accesoins.duckdb"))
    )
    parser.add_argument("--url", help="an already running server (otherwise one is started)")
    parser.add_argument("--snapshot", default=None, help="snapshot id (default: the latest)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight at once (0: skip)")
    parser.add_argument("--load-requests", type=int, default=200, help="scenario POSTs (and as many reads)")
    parser.add_argument(
        "--client", choices=["aiohttp", "httpx"], default="aiohttp", help="HTTP client of the load phase"
    )
    parser.add_argument(
        "--peer",
        type=Path,
        help="another checkout's src folder: its server is measured in turn with this one (fresh servers)",
    )
    parser.add_argument("--pairs", type=int, default=3, help="this/peer runs alternated (with --peer)")
    args = parser.parse_args()
    if args.peer is None:
        _served(args)
        return
    if args.url:
        raise SystemExit("--peer starts both servers itself: give --store, not --url")
    ratios: dict[str, list[float]] = {}
    for pair in range(args.pairs):
        runs = {}
        for side, source in (("this", None), ("peer", args.peer)):
            print(f"pair={pair + 1} side={side}")
            runs[side] = _served(args, source)
        for key, value in runs["this"].items():
            if runs["peer"].get(key):
                ratios.setdefault(key, []).append(value / runs["peer"][key])
    print("ratios this/peer, median of the pairs (below 1: this version is faster, above for per_s):")
    for key in ("load_scenario_p50_ms", "load_scenario_p95_ms", "load_scenario_p99_ms", "load_read_p95_ms",
                "load_scenarios_per_s", "fiche_first_p50_ms", "fiche_repeat_p50_ms"):  # fmt: skip
        if key in ratios:
            print(f"ratio_{key}={np.median(ratios[key]):.3f}")


if __name__ == "__main__":
    main()
