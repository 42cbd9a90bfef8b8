"""`accesoins report --level iris`: an IRIS fiche with the map of its commune's IRIS (Nice, Bordeaux).

The first page is turned into an image (pdftoppm -r 60) kept in artefacts/screenshots/ to be looked at.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from accesoins.cli import app
from accesoins.store import Store
from browser_support import SHOTS

LES_MOULINS = "060882902"  # IRIS « Les Moulins » of Nice, in the QPV Les Moulins - Le Point du Jour
BACALAN = "330630201"  # IRIS « Bacalan 1 » of Bordeaux


def _text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return " ".join(out.stdout.replace("\u202f", " ").replace("\xa0", " ").split())


def _first_page(path: Path, name: str) -> np.ndarray:
    SHOTS.mkdir(parents=True, exist_ok=True)
    stem = SHOTS / name
    subprocess.run(
        ["pdftoppm", "-r", "60", "-f", "1", "-l", "1", "-png", "-singlefile", str(path), str(stem)],
        check=True,
    )
    return np.asarray(Image.open(f"{stem}.png").convert("RGB"))


def _report(store_path: Path, sid: str, code: str, out: Path) -> str:
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--level",
            "iris",
            "--unit",
            code,
            "--snapshot",
            sid,
            "--store",
            str(store_path),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return _text(out)


def _blue_share(page: np.ndarray) -> float:
    """Share of the page in the « bien dotée » blue of the map (a blank map has none)."""
    r, g, b = page[..., 0].astype(int), page[..., 1].astype(int), page[..., 2].astype(int)
    return float(((b > 140) & (r < 80) & (g > 70) & (g < 140)).mean())


@pytest.mark.slow
def test_iris_fiche_nice_les_moulins(store_path: Path, alpes_maritimes: str, tmp_path: Path) -> None:
    with Store(store_path, read_only=True) as store:
        where = "level = 'iris' AND profession = 'generaliste' AND unit_id = ?"
        row = store.table("indicators", alpes_maritimes, where=where, args=[LES_MOULINS]).iloc[0]
    text = _report(store_path, alpes_maritimes, LES_MOULINS, tmp_path / "moulins.pdf")
    assert "Les Moulins" in text and f"IRIS {LES_MOULINS} · IRIS de Nice" in text
    assert "Carte : les IRIS de Nice" in text
    assert "Les 146 IRIS de Nice colorés par classe d'APL" in text and "trait épais : Les Moulins" in text
    assert f"APL (consultations par an et par habitant) {row['apl']:.2f}".replace(".", ",") in text
    assert f"{row['density_per_100k']:.1f}".replace(".", ",") in text
    # every GP of Nice is known to an IRIS that has an IGN contour
    assert re.search(r"sans lieu connu dans la (commune )?— 0 ?%", text)
    assert _blue_share(_first_page(tmp_path / "moulins.pdf", "fiche_iris_nice_les_moulins")) > 0.02


@pytest.mark.slow
def test_iris_fiche_bordeaux_bacalan(store_path: Path, gironde: str, tmp_path: Path) -> None:
    text = _report(store_path, gironde, BACALAN, tmp_path / "bacalan.pdf")
    assert "Bacalan 1" in text and "Carte : les IRIS de Bordeaux" in text
    assert "Les 88 IRIS de Bordeaux colorés" in text
    # 1 100 of the 1 470 Gironde activities are placed at the town hall: most of Bordeaux's GP supply
    assert re.search(r"sans lieu connu dans la (commune )?— 64 ?%", text)
    assert _blue_share(_first_page(tmp_path / "bacalan.pdf", "fiche_iris_bordeaux_bacalan")) > 0.02


def test_level_iris_refuses_a_commune(store_path: Path, gironde: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["report", "--level", "iris", "--unit", "33063", "--snapshot", gironde, "--store", str(store_path)],
    )
    assert result.exit_code != 0
    assert "« 33063 » n'est pas un code IRIS" in result.output and "330630101" in result.output
