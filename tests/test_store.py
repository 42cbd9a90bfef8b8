"""Snapshot store: atomic builds (kill, Ctrl-C, broken input) and differences between snapshots."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from accesoins.store import Store, diff_snapshots, indicator_layer

pytestmark = pytest.mark.slow

RPPS = "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv"
TERRITORY = "33063,33318,33522,33281"  # Bordeaux, Pessac, Talence, Mérignac


def _data_copy(data_dir: Path, target: Path, *, rpps_text: str | None = None) -> Path:
    """A data directory of links to the real files, with an optional replacement RPPS file."""
    for sub in ("apl_drees", "health_professionals"):
        (target / sub).mkdir(parents=True)
        for f in (data_dir / sub).iterdir():
            (target / sub / f.name).symlink_to(f)
    if rpps_text is not None:
        (target / RPPS).unlink()
        (target / RPPS).write_bytes(
            rpps_text.encode("latin-1") if rpps_text.startswith("LATIN1:") else rpps_text.encode("utf-8")
        )
    return target


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accesoins", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path]:
    """A store holding one snapshot of four communes, and its data directory."""
    root = tmp_path_factory.mktemp("small")
    data = _data_copy(data_dir, root / "data")
    store = root / "store.duckdb"
    done = _cli("build", "--territory", TERRITORY, "--data-dir", str(data), "--store", str(store))
    assert done.returncode == 0, done.stderr
    return store, data


def _state(store: Path) -> tuple[list[str], int, int]:
    with Store(store, read_only=True) as s:
        ids = list(s.snapshots()["snapshot_id"])
        n_ind = s.con.execute("SELECT count(*) FROM indicators").fetchone()[0]  # type: ignore[index]
        n_all = s.con.execute("SELECT count(*) FROM snapshots").fetchone()[0]  # type: ignore[index]
    return ids, int(n_ind), int(n_all)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_build_leaves_previous_snapshot_intact(small_store: tuple[Path, Path], sig: int) -> None:
    store, data = small_store
    before = _state(store)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("slow_commit.py")),
            "build",
            "--territory",
            TERRITORY,
            "--data-dir",
            str(data),
            "--store",
            str(store),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # printed once the first table is written inside the transaction
        if "SNAPSHOT-WRITING" in line:
            break
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # kill it: a build left running would lock the store of the next tests
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"la construction n'a pas pris fin dans les 60 s après le signal {sig} :\n{err[-3000:]}")
    assert proc.returncode != 0
    if sig == signal.SIGINT:
        assert "Interrompu : rien n'a été écrit" in err
    assert _state(store) == before


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t[: len(t) // 2].rsplit(",", 3)[0], r"ligne \d+.*tronqu"),
        (lambda t: t.replace(",", ";"), r"mauvais séparateur : « , » \(virgule\) attendu, « ; »"),
        (
            lambda t: t.replace("CodePostal,", "CP,", 1),
            r"ligne 1, colonne « CodePostal » : colonne\(s\) absente",
        ),
        (
            lambda t: t.replace(",33140,Créon", ",33I40,Créon", 1),
            r"ligne 2, colonne « Commune » : code invalide",
        ),
        (lambda t: "LATIN1:" + t, r"Latin-1"),
    ],
    ids=["tronque", "separateur", "colonne", "code", "latin1"],
)
def test_broken_input_gives_french_error_and_leaves_store_untouched(
    small_store: tuple[Path, Path], data_dir: Path, tmp_path: Path, mutate: object, message: str
) -> None:
    store, _ = small_store
    before = _state(store)
    text = (data_dir / RPPS).read_text(encoding="utf-8")
    broken = mutate(text)  # type: ignore[operator]
    if broken.startswith("LATIN1:"):
        broken = "LATIN1:" + broken[7:]
        data = _data_copy(data_dir, tmp_path / "data")
        (data / RPPS).unlink()
        (data / RPPS).write_bytes(broken[7:].encode("latin-1"))
    else:
        data = _data_copy(data_dir, tmp_path / "data", rpps_text=broken)
    done = _cli("build", "--territory", TERRITORY, "--data-dir", str(data), "--store", str(store))
    assert done.returncode == 2
    assert "rpps_2017_gironde33_generalistes_neurologues.csv" in done.stderr
    assert pd.Series([done.stderr.replace("\n", " ")]).str.contains(message, regex=True).iloc[0], done.stderr
    assert "Traceback" not in done.stderr
    assert _state(store) == before


def test_diff_lists_departures_and_apl_change(
    small_store: tuple[Path, Path], data_dir: Path, tmp_path: Path
) -> None:
    store, _ = small_store
    text = (data_dir / RPPS).read_text(encoding="utf-8").splitlines()
    kept = [line for line in text if ",33522,Talence," not in line]  # every activity in Talence leaves
    data = _data_copy(data_dir, tmp_path / "data", rpps_text="\n".join(kept) + "\n")
    done = _cli("build", "--territory", TERRITORY, "--data-dir", str(data), "--store", str(store))
    assert done.returncode == 0, done.stderr
    raw = pd.read_csv(data_dir / RPPS, dtype=str)
    gone = raw[raw["Commune"].eq("33522")]["RPPS"].str[1:]
    stays = raw[raw["Commune"].isin(["33063", "33318", "33281"])]["RPPS"].str[1:]
    with Store(store, read_only=True) as s:
        ids = list(s.snapshots()["snapshot_id"])
        result = diff_snapshots(s, ids[-2], ids[-1])
        after = indicator_layer(s, ids[-1], level="commune", profession="generaliste").set_index("unit_id")
    assert set(result.departures["practitioner_id"]) == set(gone) - set(stays)
    assert result.arrivals.empty
    talence = result.changes.set_index(["unit_id", "profession"]).loc[("33522", "generaliste")]
    assert talence["headcount_after"] == 0 and talence["headcount_before"] > 0
    assert talence["apl_delta"] < 0
    assert after.loc["33522", "etp"] == 0
    apl = result.changes["apl_delta"].dropna().to_numpy()
    assert (apl[:-1] <= apl[1:]).all() and apl[0] < -0.1  # largest losses first
    cli = _cli("diff", "precedent", "dernier", "--store", str(store), "--out", str(tmp_path / "diff"))
    assert cli.returncode == 0 and "départ(s)" in cli.stdout
    assert "les plus fortes baisses d'abord" in cli.stdout and "Talence" in cli.stdout
    assert re.search(r"\d,\d\d → \d,\d\d \(-\d,\d\d\)", cli.stdout), cli.stdout  # decimal commas
    assert len(pd.read_csv(tmp_path / "diff" / "departures.csv")) == len(result.departures)
    # the web maps what changed since the previous snapshot of the territory (public tables on both sides)
    import warnings

    from accesoins.outputs.web import create_app

    with warnings.catch_warnings():  # starlette's TestClient announces its move when imported
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(create_app(store, warm=False)) as client:
        measures = {m["id"] for m in client.get("/api/catalog").json()["measures"]}
        params = {"profession": "generaliste", "measure": "apl_delta", "method": "quantiles"}
        layer = client.get("/api/layers/commune", params=params).json()
    delta = {f["properties"]["unit_id"]: f["properties"]["value"] for f in layer["features"]}
    assert {"apl_delta", "headcount_delta"} <= measures
    assert delta["33522"] == pytest.approx(talence["apl_delta"], abs=1e-6) and delta["33522"] < 0
    assert "Évolution de l'APL" in layer["legend"]["label"]
    # a snapshot of another territory: refused with a French error, nothing compared
    other = tmp_path / "autre.duckdb"
    shutil.copy(store, other)
    with duckdb.connect(str(other)) as con:
        con.execute("UPDATE snapshots SET territory = 'Autre territoire' WHERE snapshot_id = ?", [ids[-1]])
    refused = _cli("diff", ids[-2], ids[-1], "--store", str(other))
    assert refused.returncode == 2 and "ne portent pas sur le même territoire" in refused.stderr
    assert "Traceback" not in refused.stderr
