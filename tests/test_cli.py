"""The command line: fca on user files, exports, validate-apl output, French errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from accesoins.cli import app

runner = CliRunner()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def fca_files(tmp_path: Path) -> dict[str, Path]:
    """Three communes A, B, C; a GP in A (2) and in C (1); an asymmetric cost table (minutes)."""
    return {
        "demand": _write(tmp_path / "demand.csv", "id,value\nA,1000\nB,500\nC,2000\n"),
        "supply": _write(tmp_path / "supply.csv", "id,value\nA,2\nC,1\n"),
        "costs": _write(
            tmp_path / "costs.csv", "origin,destination,cost\nA,A,0\nB,A,12\nA,C,18\nB,C,25\nC,C,5\nC,A,9\n"
        ),
    }


def _fca(files: dict[str, Path], out: Path, *extra: str, **replace: Path) -> Any:
    """Run ``accesoins fca`` on the fixture files, some of them replaced."""
    paths = {**files, **replace}
    args = ["fca", "--demand", str(paths["demand"]), "--supply", str(paths["supply"]),
            "--costs", str(paths["costs"]), "--out", str(out), *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_fca_hand_computed(fca_files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "access.csv"
    result = _fca(
        fca_files, out, "--decay", "steps:10=1,15=0.6667,20=0.3333", "--cutoff", "30", "--scale", "100000"
    )
    assert result.exit_code == 0, result.output
    access = pd.read_csv(out).set_index("id")["access"]
    # weights: A→A 1, B→A 0.6667 (12 min), A→C 0.3333 (18), B→C 0 (25 ≥ 20), C→C 1, C→A 1 (9)
    # catchment A = 1000·1 + 500·0.6667 + 2000·1 = 3333.35 ; catchment C = 1000·0.3333 + 2000·1 = 2333.3
    r_a, r_c = 2 / 3333.35 * 1e5, 1 / 2333.3 * 1e5
    assert access["A"] == pytest.approx(r_a + 0.3333 * r_c)
    assert access["B"] == pytest.approx(0.6667 * r_a)
    assert access["C"] == pytest.approx(r_a + r_c)


def test_fca_cutoff_and_exp_decay(fca_files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "access.csv"
    result = _fca(fca_files, out, "--decay", "exp:0.12", "--cutoff", "10")
    assert result.exit_code == 0, result.output
    access = pd.read_csv(out).set_index("id")["access"]
    assert access["B"] == 0.0  # 12 min > cutoff 10: B reaches nothing
    # kept pairs: A→A (0 min), C→C (5), C→A (9); weights exp(-0.12 t)
    r_a = 2 / (1000 + 2000 * math.exp(-0.12 * 9))
    r_c = 1 / (2000 * math.exp(-0.12 * 5))
    assert access["A"] == pytest.approx(r_a, rel=1e-12)
    assert access["C"] == pytest.approx(math.exp(-1.08) * r_a + math.exp(-0.6) * r_c, rel=1e-12)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--decay", "log:2"], "fonction de décroissance invalide : « log:2 »"),
        (["--decay", "steps:15=1,10=0.5"], "seuils croissants"),
    ],
)
def test_fca_bad_decay(fca_files: dict[str, Path], tmp_path: Path, args: list[str], message: str) -> None:
    result = _fca(fca_files, tmp_path / "o.csv", *args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("demand", "id\tvalue\nA\t1000\n", "demand_bad.csv, ligne 1 : mauvais séparateur"),  # « ; » is read
        (
            "costs",
            "origin,destination,cost\nA,A,0\nB,A,douze\n",
            "costs_bad.csv, ligne 3, colonne « cost » : valeur non numérique « douze »",
        ),
        ("costs", "origin,destination,cost\nA,A,0\nA,A,3\n", "couple en double"),
        (
            "demand",
            "id,value\nA,-1000\n",
            "demand_bad.csv, ligne 2, colonne « value » : valeur impossible « -1000 »",
        ),
        (
            "supply",
            "id,value\nA,inf\n",
            "supply_bad.csv, ligne 2, colonne « value » : valeur infinie « inf »",
        ),
        (
            "costs",
            "origin,destination,cost\nA,A,-3\n",
            "costs_bad.csv, ligne 2, colonne « cost » : valeur impossible",
        ),
    ],
)
def test_fca_bad_files(
    fca_files: dict[str, Path], tmp_path: Path, name: str, text: str, message: str
) -> None:
    bad = _write(tmp_path / f"{name}_bad.csv", text)
    result = _fca(fca_files, tmp_path / "o.csv", **{name: bad})
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "nan"], "--scale doit être un nombre fini strictement positif (reçu : nan)"),
        (["--scale", "inf"], "--scale doit être un nombre fini strictement positif (reçu : inf)"),
        (["--scale", "-1"], "--scale doit être un nombre fini strictement positif (reçu : -1.0)"),
        (["--cutoff", "-5"], "--cutoff doit être un coût fini strictement positif (reçu : -5.0)"),
        (["--cutoff", "0"], "--cutoff doit être un coût fini strictement positif (reçu : 0.0)"),
        (["--cutoff", "nan"], "--cutoff doit être un coût fini strictement positif (reçu : nan)"),
    ],
)
def test_fca_refuses_impossible_options(
    fca_files: dict[str, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "o.csv"
    result = _fca(fca_files, out, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_fca_out_directory(fca_files: dict[str, Path], tmp_path: Path) -> None:
    result = _fca(fca_files, tmp_path)
    assert result.exit_code == 2
    assert f"--out {tmp_path} est un répertoire" in " ".join(result.output.split())


def test_registers_import_directory(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["registers", "import", "demandes", str(tmp_path), "--db", str(tmp_path / "r.db")]
    )
    assert result.exit_code == 2
    assert f"{tmp_path} : c'est un répertoire" in " ".join(result.output.split())


@pytest.mark.slow
def test_validate_apl_prints_rho_last(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["validate-apl", "--territory", "06", "--vintage", "2022", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("rho=") and 0.74 <= float(lines[-1][4:]) <= 1.0
    assert any("erreur absolue moyenne" in line for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "gpkg", "parquet"])
def test_indicators_export(store_path: Path, gironde: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"communes.{fmt}"
    result = runner.invoke(
        app,
        [
            "indicators",
            "--level",
            "commune",
            "--profession",
            "generaliste",
            "--format",
            fmt,
            "--out",
            str(out),
            "--snapshot",
            gironde,
            "--store",
            str(store_path),
        ],
    )
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        table = pd.read_csv(out, dtype={"unit_id": str})
    else:
        table = pyogrio.read_dataframe(out) if fmt == "gpkg" else pd.read_parquet(out)
    assert len(table) == 535
    assert {"unit_id", "headcount", "etp", "density_per_100k", "apl", "apl_class", "n_commune"} <= set(
        table.columns
    )


def test_indicators_carry_local_indicators(store_path: Path, gironde: str, tmp_path: Path) -> None:
    """Gironde IRIS, every profession: Filosofi 2018 and the priority class (GP APL × poverty) on each row."""
    out = tmp_path / "iris.csv"
    where = ["--snapshot", gironde, "--store", str(store_path)]
    result = runner.invoke(app, ["indicators", "--level", "iris", "--out", str(out), *where])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"unit_id": str}).set_index(["unit_id", "profession"])
    bacalan = table.loc["330630204"]  # Bacalan 4, Bordeaux
    assert list(bacalan.index) == ["generaliste", "neurologue"]
    assert bacalan["taux_pauvrete"].tolist() == [36.7, 36.7]
    assert bacalan["priority_class"].tolist() == ["A1-B3", "A1-B3"]
    assert bacalan["priority_need"].tolist() == ["taux_pauvrete", "taux_pauvrete"]


def test_unknown_snapshot_and_missing_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["indicators", "--store", str(tmp_path / "absent.duckdb")])
    assert result.exit_code == 2 and "lancez d'abord « accesoins build »" in result.output


def test_bad_territory(data_dir: Path) -> None:
    result = runner.invoke(app, ["validate-apl", "--territory", "Gironde", "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "territoire « Gironde » non reconnu" in result.output


@pytest.mark.slow
def test_road_cost_needs_an_extract_covering_the_territory(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["validate-apl", "--territory", "33", "--cost", "route", "--data-dir", str(data_dir)],
        env={"ACCESOINS_STORE": str(tmp_path / "s.duckdb")},
    )
    assert result.exit_code == 2
    assert "Fichier introuvable pour « extrait OpenStreetMap couvrant le territoire »" in result.output
    assert "--cost vol_oiseau" in result.output


def test_isochrones_command(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "iso.geojson"
    result = runner.invoke(
        app,
        [
            "isochrones",
            "--osm",
            str(data_dir / "osm/saint_barthelemy_977_2014.osm.pbf"),
            "--lon",
            "-62.85",
            "--lat",
            "17.897",
            "--minutes",
            "5,10",
            "--out",
            str(out),
            "--store",
            str(tmp_path / "s.duckdb"),
        ],
    )
    assert result.exit_code == 0, result.output
    layer = pyogrio.read_dataframe(out)
    assert list(layer["time_min"]) == [5.0, 10.0]
    areas = layer.to_crs("EPSG:32620").area
    assert 0 < areas.iloc[0] < areas.iloc[1]
    far = runner.invoke(
        app,
        [
            "isochrones",
            "--osm",
            str(data_dir / "osm/saint_barthelemy_977_2014.osm.pbf"),
            "--lon",
            "-62.0",
            "--lat",
            "17.0",
            "--out",
            str(out),
            "--store",
            str(tmp_path / "s.duckdb"),
        ],
    )
    assert far.exit_code == 2 and "à plus de 500 m du réseau" in far.output


@pytest.mark.slow
def test_grid_export_respects_disclosure(store_path: Path, gironde: str, tmp_path: Path) -> None:
    from accesoins.outputs import check_disclosure

    out = tmp_path / "carreaux.gpkg"
    result = runner.invoke(
        app,
        [
            "indicators",
            "--level",
            "carreau",
            "--profession",
            "generaliste",
            "--format",
            "gpkg",
            "--out",
            str(out),
            "--snapshot",
            gironde,
            "--store",
            str(store_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert check_disclosure(out) == []
    layer = pyogrio.read_dataframe(out)
    assert layer["population"].sum() == pytest.approx(326921.5)  # grouping keeps the total
    assert (layer["secret"] == "fusion").sum() == 16 and (layer["population"] >= 11).all()


@pytest.mark.slow
def test_zones_compares_bordeaux_quartiers_with_the_rest_of_bordeaux(store_path: Path, gironde: str) -> None:
    args = ["zones", "--commune", "33063", "--snapshot", gironde, "--store", str(store_path)]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Bordeaux Maritime" in result.stdout and "Caudéran" in result.stdout
    assert (
        "0,01 [0,00 ; 0,12]" in result.stdout
    )  # Bordeaux Maritime: 0.5 located GP ETP for 60,101 inhabitants
    assert "64 %" in result.stdout  # share of Bordeaux's GP ETP placed at the town hall
    wrong = runner.invoke(app, [*args[:1], "--profession", "sage-femme", *args[3:]])
    assert wrong.exit_code == 2 and "aucune comparaison de zones" in wrong.output


def test_version_and_typer_texts_are_french() -> None:
    from accesoins import __version__

    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"accesoins {__version__}"
    help_text = runner.invoke(app, ["--help"], terminal_width=200).output
    assert "Affiche cette aide et quitte." in help_text and "Commandes" in help_text
    assert "Installe l'autocomplétion" in help_text
    assert "Utilisation : " in help_text and "Usage:" not in help_text
    for english in ("Show this message", "Install completion", "Show completion", "Commands"):
        assert english not in help_text
    missing = runner.invoke(app, ["diff"], terminal_width=200)
    assert missing.exit_code == 2 and "Argument manquant : 'before'." in missing.output
    unknown = runner.invoke(app, ["statistiques"], terminal_width=200)
    assert "Commande inconnue : 'statistiques'." in unknown.output


def test_fca_reads_semicolon_files_with_decimal_commas(fca_files: dict[str, Path], tmp_path: Path) -> None:
    """A French spreadsheet's CSV (« ; », decimal comma, BOM) gives the same result as the comma files."""
    french = {
        name: _write(tmp_path / f"fr_{name}.csv", "\ufeff" + path.read_text("utf-8").replace(",", ";"))
        for name, path in fca_files.items()
    }
    french["supply"] = _write(tmp_path / "fr_supply.csv", "id;value\nA;2,0\nC;1\n")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert _fca(fca_files, a, "--cutoff", "30").exit_code == 0
    result = _fca(french, b, "--cutoff", "30")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))


@pytest.mark.slow
def test_indicators_csv_excel(store_path: Path, gironde: str, tmp_path: Path) -> None:
    out = tmp_path / "communes.csv"
    args = ["indicators", "--level", "commune", "--profession", "generaliste", "--format", "csv-excel",
            "--out", str(out), "--snapshot", gironde, "--store", str(store_path)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    table = pd.read_csv(out, sep=";", decimal=",", dtype={"Code": str}, encoding="utf-8-sig")
    assert len(table) == 535
    apl = "APL (consultations par hab. et par an)"
    assert {"Code", "Nom", "Effectif (praticiens)", apl} <= set(table.columns)
    bordeaux = table.set_index("Code").loc["33063"]
    assert bordeaux["Nom"] == "Bordeaux" and bordeaux["Effectif (praticiens)"] == 400
    assert bordeaux[apl] == pytest.approx(4.52, abs=0.01)
    assert ";4,5" in raw.decode("utf-8-sig")  # decimal comma in the file itself


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_build_names_an_unreachable_dask_scheduler(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "s.duckdb"
    address = f"tcp://127.0.0.1:{_closed_port()}"
    args = ["build", "--territory", "33", "--data-dir", str(data_dir), "--store", str(store)]
    result = runner.invoke(app, [*args, "--dask", address])
    assert result.exit_code == 2, result.output
    assert f"ordonnanceur Dask injoignable à l'adresse « {address} »" in result.output
    assert "Traceback" not in result.output and not store.exists()
    monkeypatch.setenv("ACCESOINS_DASK", "hote-inconnu.invalid:8786")  # the setting, when --dask is absent
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "« hote-inconnu.invalid:8786 »" in result.output
    result = runner.invoke(app, ["validate-apl", "--territory", "33", "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "« hote-inconnu.invalid:8786 »" in result.output
