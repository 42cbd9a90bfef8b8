"""Latency of the web observatory's fiche (``GET /api/units/commune/{code}``) on a running server.

Starts ``accesoins serve`` on a free port in a separate process (or uses ``--url``), waits until it
answers, then times ``--requests`` fiche requests from one keep-alive HTTP client:

* ``fiche_first``: each commune requested for the first time (the snapshot is loaded, the fiche is
  computed and then cached by the server);
* ``fiche_repeat``: the same communes again (cached fiche: routing, validation, JSON);
* ``layer``: the classified commune GeoJSON layer (cached after the first request).

The snapshot itself is loaded by the first request (``snapshot_load``: tables read once per snapshot id).
Prints ``key=value`` lines, latencies in milliseconds (p50, p99, max).

    python bench/web_latency.py --store /tmp/web.duckdb               # Gironde snapshot built beforehand
    python bench/web_latency.py --url http://127.0.0.1:8000 --requests 500
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "accesoins", "serve", "--store", str(store), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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


def _stats(name: str, ms: list[float]) -> None:
    a = np.asarray(ms)
    print(f"{name}_n={a.size}")
    print(f"{name}_p50_ms={np.percentile(a, 50):.2f}")
    print(f"{name}_p99_ms={np.percentile(a, 99):.2f}")
    print(f"{name}_max_ms={a.max():.2f}")


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
    args = parser.parse_args()
    proc = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        proc, url = _start(args.store)
    try:
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
                _stats(name, ms)
            ms = []
            for _ in range(20):
                t = time.perf_counter()
                client.get("/api/layers/commune", params={**params, "measure": "apl"}).raise_for_status()
                ms.append(1e3 * (time.perf_counter() - t))
            _stats("layer", ms)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
