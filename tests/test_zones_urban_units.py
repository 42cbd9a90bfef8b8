"""Unités urbaines: INSEE's commune → UU table and the QPV comparison against the rest of the urban unit.

The membership used on the real Alpes-Maritimes build is SYNTHETIC (no INSEE
table is in the data folder): Nice with six real neighbouring communes of the
06, plus Saint-Raphaël (83) to stand for a commune of the unité urbaine outside
the build, and Aiglun outside any unité urbaine.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from accesoins import outputs, sources
from accesoins.cli import app
from accesoins.errors import DataFileError
from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, build_observatory
from accesoins.outputs import ReportBuilder
from accesoins.store import Store

SYNTHETIC_NICE_UU = {  # commune → (name, UU): invented membership, for the test only
    "06088": "Nice",
    "06123": "Saint-Laurent-du-Var",
    "06027": "Cagnes-sur-Mer",
    "06149": "La Trinité",
    "06114": "Saint-André-de-la-Roche",
    "06159": "Villefranche-sur-Mer",
    "06161": "Villeneuve-Loubet",
    "83118": "Saint-Raphaël",
}
BANNER = "Unités urbaines 2020 - composition communale (SYNTHÉTIQUE, pour les tests)\nSource : tests\n\n"


def _write_csv(path: Path) -> Path:
    rows = [f"{code};{name};06701;Nice" for code, name in SYNTHETIC_NICE_UU.items()]
    rows.append("06001;Aiglun;06000;Communes hors unité urbaine")
    path.write_text(BANNER + "CODGEO;LIBGEO;UU2020;LIBUU2020\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_composition_csv_with_banner(tmp_path: Path) -> None:
    table = sources.read_urban_units(_write_csv(tmp_path / "UU2020_test.csv"))
    assert len(table) == 9
    nice = table.set_index("commune_code").loc["06088"]
    assert (nice["uu_code"], nice["uu_name"], nice["commune_name"]) == ("06701", "Nice", "Nice")
    assert table.set_index("commune_code").loc["06001", "uu_code"].endswith(sources.RURAL_SUFFIX)


def test_appartenance_xlsx_without_uu_names(tmp_path: Path) -> None:
    """The « table d'appartenance » layout: banner rows, sheet COM, no LIBUU2020, codes stored as numbers."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Lisez-moi"
    sheet = book.create_sheet("COM")
    for _ in range(5):
        sheet.append(["Table d'appartenance géographique des communes au 1er janvier 2024"])
    sheet.append(["CODGEO", "LIBGEO", "DEP", "UU2020", "TUU2017"])
    sheet.append(["06088", "Nice", "06", "06701", 7])
    sheet.append([1001, "L'Abergement-Clémenciat", "01", "01000", 0])
    path = tmp_path / "table-appartenance-geo-communes-24.xlsx"
    book.save(path)
    table = sources.read_urban_units(path)
    assert table.to_dict("list") == {
        "commune_code": ["06088", "01001"],
        "commune_name": ["Nice", "L'Abergement-Clémenciat"],
        "uu_code": ["06701", "01000"],
        "uu_name": ["", ""],
    }


def test_bad_files_name_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "UU2020_bad.csv"
    bad.write_text(BANNER + "CODGEO;UU2020\n06088;06701\n6X088;06701\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"ligne 6, colonne « CODGEO »"):
        sources.read_urban_units(bad)
    twice = tmp_path / "UU2020_twice.csv"
    twice.write_text("CODGEO,UU2020\n06088,06701\n06088,06701\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"ligne 3.*en double"):
        sources.read_urban_units(twice)
    none = tmp_path / "UU2020_none.csv"
    none.write_text("CODE;UU\n06088;06701\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="CODGEO"):
        sources.read_urban_units(none)


@pytest.fixture(scope="module")
def nice_uu(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store with one Alpes-Maritimes build given the synthetic unité urbaine of Nice."""
    root = tmp_path_factory.mktemp("uu")
    store = root / "uu.duckdb"
    options = BuildOptions(parse_territory("06"), data_dir, store, vintage=2022)
    options = dataclasses.replace(options, urban_units=_write_csv(root / "UU2020_test.csv"))
    return store, build_observatory(options)


@pytest.mark.slow
def test_nice_qpv_against_rest_of_unite_urbaine(nice_uu: tuple[Path, str]) -> None:
    """Ratios vs the rest of the UU recomputed by hand from the snapshot's stored tables."""
    store_path, sid = nice_uu
    with Store(store_path, read_only=True) as store:
        comparison = store.table("zone_comparison", sid)
        table = store.table("indicators", sid)
        activities = store.table("activities", sid)
        iris = store.geotable("units", sid, where="level = 'iris'")
        members = store.table("urban_units", sid)
        public = outputs.public_zone_comparison(store, sid, outputs.snapshot_gate(store, sid))
    assert set(members["commune_code"]) == {*SYNTHETIC_NICE_UU, "06001"}
    gp = comparison[comparison["profession"].eq("generaliste")].set_index("unit_id")
    moulins = gp.loc["QN00608I"]  # Les Moulins - Le Point du Jour (Nice)
    built = [c for c in SYNTHETIC_NICE_UU if c.startswith("06")]
    gp_rows = table[table["profession"].eq("generaliste")]
    communes = gp_rows[gp_rows["level"].eq("commune")].set_index("unit_id")
    population = communes.loc[built, "population"].sum()
    assert moulins["population_rest_uu"] == pytest.approx(population - moulins["population_in"], rel=1e-9)
    located_iris = set(iris.loc[iris.geometry.geom_type.isin(["Polygon", "MultiPolygon"]), "unit_id"])
    assert len(located_iris) == 146  # the IGN contours of Nice: only supply known to them is located
    gps = activities[activities["profession"].eq("generaliste") & activities["commune_code"].isin(built)]
    etp = gps.loc[gps["iris_code"].isin(located_iris), "etp"].sum()
    assert moulins["etp_rest_uu"] == pytest.approx(etp - moulins["etp_in"], rel=1e-9)
    density_rest = moulins["etp_rest_uu"] * 1e5 / moulins["population_rest_uu"]
    assert moulins["density_rest_uu"] == pytest.approx(density_rest, rel=1e-9)
    assert moulins["density_ratio_uu"] == pytest.approx(moulins["density_in"] / density_rest, rel=1e-9)
    assert moulins["ratio_low_uu"] < moulins["density_ratio_uu"] < moulins["ratio_high_uu"]
    std = communes.loc[built, "population_standardised"]
    apl_total = (communes.loc[built, "apl"] * std).sum()
    zone = table[table["level"].eq("qpv") & table["unit_id"].eq("QN00608I")]
    std_zone = float(zone.loc[zone["profession"].eq("generaliste"), "population_standardised"].iloc[0])
    apl_rest = (apl_total - moulins["apl_in"] * std_zone) / (std.sum() - std_zone)
    assert moulins["apl_rest_uu"] == pytest.approx(apl_rest, rel=1e-6)
    assert "Nice (06701) : 7 commune(s) dans la construction" in moulins["uu_note"]
    assert moulins["uu_outside"] == "83118"
    # Cannes is in no unité urbaine of this table: said, not silently left out
    assert gp.loc["QN00603M", "uu_note"] == "unité urbaine : commune 06029 absente de la table INSEE"
    assert pd.isna(gp.loc["QN00603M", "density_ratio_uu"])
    layer = public["comparaison_qpv"]
    assert {"density_ratio_uu", "uu_note"} <= set(layer.columns)


def test_comparison_says_when_no_table(alpes_maritimes: str, store_path: Path) -> None:
    """Without an INSEE table (the data folder has none) every row says so, in the public layer too."""
    with Store(store_path, read_only=True) as store:
        gate = outputs.snapshot_gate(store, alpes_maritimes)
        public = outputs.public_zone_comparison(store, alpes_maritimes, gate)
    layer = public["comparaison_qpv"]
    assert set(layer["uu_note"]) == {"unité urbaine : table INSEE non fournie"}
    assert layer["density_ratio_uu"].isna().all()


@pytest.mark.slow
def test_nice_fiche_and_cli_show_the_unite_urbaine(nice_uu: tuple[Path, str], tmp_path: Path) -> None:
    store_path, sid = nice_uu
    with Store(store_path, read_only=True) as store:
        out = ReportBuilder(store, sid).render("06088", tmp_path / "nice.pdf")
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(out), "-"], check=True, capture_output=True, text=True
        ).stdout.split()
    ).replace("\u202f", " ")
    assert "Rapport au reste de l'unité urbaine" in text
    assert "0,24 [0,03 ; 0,84]" in text and "0,29 [0,04 ; 1,05]" in text  # Les Moulins: commune, then UU
    assert "Reste de l'unité urbaine Nice (06701) : 7 commune(s) dans la construction" in text
    result = CliRunner().invoke(
        app, ["zones", "--commune", "06088", "--store", str(store_path), "--snapshot", sid]
    )
    assert result.exit_code == 0, result.output
    assert "1 commune(s) hors construction, non comptée(s) : 83118" in " ".join(result.output.split())
