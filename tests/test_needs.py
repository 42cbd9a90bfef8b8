"""Local indicators (Filosofi IRIS, census, CartoSanté, INSEE local statistics), ARS zoning, priorities."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from accesoins.errors import DataFileError
from accesoins.indicators import priority_classes
from accesoins.sources import (
    ZoningClass,
    check_indicator_codes,
    read_ars_zoning,
    read_indicator_table,
)
from accesoins.store import Store, indicator_layer


def test_filosofi_iris_keeps_suppressions_as_missing(data_dir: Path) -> None:
    table = read_indicator_table(data_dir / "filosofi_iris" / "filosofi2018_disp_iris_dep06.csv")
    values = table.values.set_index("unit_id")
    assert table.level == "iris" and len(values) == 334
    # INSEE withholds the poverty rate of 35 IRIS of 06 (PROVENANCE §T5b): missing, never 0
    assert values["taux_pauvrete"].isna().sum() == 35
    assert values.loc["060040101", "taux_pauvrete"] == 18.4
    assert values.loc["060040101", "niveau_vie_median"] == 21500
    meta = table.meta.set_index("indicator_id")
    assert meta.loc["taux_pauvrete", "unit"] == "%" and meta.loc["taux_pauvrete", "year"] == 2018
    assert not meta["people"].any()


def test_census_elderly_alone_counts_are_people(data_dir: Path) -> None:
    table = read_indicator_table(data_dir / "iris" / "insee_rp2022_nice_iris_elderly55_alone.csv")
    assert len(table.values) == 146
    assert table.values["seuls_55_plus"].sum() == pytest.approx(46716.6, abs=0.1)
    people = table.meta.set_index("indicator_id")["people"]
    assert people["seuls_55_plus"] and people["seuls_80_plus"] and not people["part_seuls_55_plus"]


def test_cartosante_export_by_bassin_de_vie(data_dir: Path) -> None:
    health = read_indicator_table(
        data_dir / "health_status" / "cartosante_bassins_de_vie_offre_ald_2023_2024.csv"
    )
    assert health.level == "bassin_vie" and len(health.values) == 1709
    ald = health.values.set_index("unit_id")["part_ald"]
    assert ald.isna().sum() == 157  # « N/A - secret statistique »
    assert ald[["33063", "06088", "35238"]].tolist() == [15.7, 19.6, 13.2]
    assert health.names["33063"] == "Bordeaux"
    meta = health.meta.set_index("indicator_id")
    assert meta.loc["part_ald", "year"] == 2024 and meta.loc["apl_cartosante", "year"] == 2023
    social = read_indicator_table(
        data_dir / "health_status" / "insee_statlocales_bassins_de_vie_determinants_sociaux_2021_2024.csv"
    )
    poverty = social.values.set_index("unit_id")["taux_pauvrete"]
    assert len(social.values) == 1707 and poverty["33063"] == 13.2 and poverty["06088"] == 18.0
    assert social.meta.set_index("indicator_id").loc["taux_pauvrete", "year"] == 2021


def test_nurses_zoning_of_every_commune(data_dir: Path) -> None:
    zoning = read_ars_zoning(data_dir / "health_status" / "cartosante_zonage_infirmiers_communes.csv")
    assert len(zoning) == 34919 and set(zoning["profession"]) == {"infirmier"}
    assert zoning["zone"].value_counts().to_dict() == {
        ZoningClass.INTERMEDIAIRE: 15676,
        ZoningClass.TRES_DOTEE: 8792,
        ZoningClass.SUR_DOTEE: 4792,
        ZoningClass.SOUS_DOTEE: 4257,
        ZoningClass.TRES_SOUS_DOTEE: 1400,
        ZoningClass.NON_DISPONIBLE: 2,
    }
    zone = zoning.set_index("commune_code")["zone"]
    assert zone["33063"] == ZoningClass.SUR_DOTEE and zone["06088"] == ZoningClass.SUR_DOTEE
    assert zone["35238"] == ZoningClass.INTERMEDIAIRE


@pytest.mark.parametrize(
    ("row", "problem", "line"),
    [
        ("060040101;18.4;15590", "en double", 3),
        ("060040102;-3;15590", "hors de 0 à 100", 3),
        ("060040102;inf;15590", "infinie", 3),
        ("6004;12;15590", "invalide pour le niveau iris", 3),
    ],
)
def test_bad_indicator_rows_name_line_and_column(tmp_path: Path, row: str, problem: str, line: int) -> None:
    path = tmp_path / "pauvrete.csv"
    path.write_text(f"IRIS;DISP_TP6018;DISP_MED18\n060040101;18.4;21500\n{row}\n", encoding="utf-8")
    (tmp_path / "pauvrete.csv.yaml").write_text(
        "level: iris\ncode_column: IRIS\nyear: 2018\nsource: INSEE\n"
        "columns:\n  DISP_TP6018: {id: taux_pauvrete, label: Taux de pauvreté, unit: '%', share: true}\n"
        "  DISP_MED18: {id: mediane, label: Niveau de vie médian, unit: €}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match=problem) as caught:
        read_indicator_table(path)
    assert caught.value.line == line


def test_people_counts_cannot_be_negative(tmp_path: Path) -> None:
    path = tmp_path / "seuls.csv"
    path.write_text(
        "IRIS,total_population,elderly_55_plus,pct_elderly_55,elderly_55_plus_alone,"
        "pct_elderly_55_alone,elderly_80_plus_alone\n060880101,10,5,50,-2,40,1\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="effectif négatif") as caught:
        read_indicator_table(path)
    assert (caught.value.line, caught.value.column) == (2, "elderly_55_plus_alone")


def test_unknown_table_and_unknown_codes_are_refused(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="non reconnue"):
        read_indicator_table(path)
    table = read_indicator_table(data_dir / "filosofi_iris" / "filosofi2018_disp_iris_nice_06088.csv")
    with pytest.raises(DataFileError, match="code\\(s\\) IRIS inconnu\\(s\\)"):
        check_indicator_codes(table, {"060880101"})
    with pytest.raises(DataFileError, match="aucun code"):
        check_indicator_codes(table, {"330630101"})


@pytest.mark.slow
def test_priority_iris_of_the_alpes_maritimes(store_path: Path, alpes_maritimes: str, data_dir: Path) -> None:
    """Road-time APL of the 06 IRIS × Filosofi 2018 poverty rate (terciles of the territory)."""
    with Store(store_path, read_only=True) as store:
        iris = indicator_layer(store, alpes_maritimes, level="iris", profession="generaliste")
    apl = iris.set_index("unit_id")["apl"]
    poverty = check_indicator_codes(
        read_indicator_table(data_dir / "filosofi_iris" / "filosofi2018_disp_iris_dep06.csv"), set(apl.index)
    ).values.set_index("unit_id")["taux_pauvrete"]
    classes = priority_classes(apl, poverty)
    assert len(classes) == 299  # 334 Filosofi IRIS less the 35 suppressed poverty rates
    assert classes["bivariate"].value_counts()["A1-B3"] == 24
    top = classes[classes["priority"]].head(3)
    assert top.index.tolist() == ["060880702", "060883301", "060880905"]
    assert top["need"].tolist() == [45.4, 30.0, 45.0]
    assert (top["apl"] < classes["apl"].quantile(1 / 3)).all()


def test_priority_classes_with_fixed_thresholds() -> None:
    apl = pd.Series([1.0, 3.0, 5.0, 2.0], index=["a", "b", "c", "d"])
    need = pd.Series([40.0, 10.0, 35.0, float("nan")], index=["a", "b", "c", "d"])
    classes = priority_classes(apl, need, apl_thresholds=(2.5, 4.0), need_thresholds=(15.0, 30.0))
    assert classes.loc["a", "bivariate"] == "A1-B3" and bool(classes.loc["a", "priority"])
    assert classes.loc["b", "bivariate"] == "A2-B1" and classes.loc["c", "bivariate"] == "A3-B3"
    assert "d" not in classes.index  # a suppressed need is not a low need


@pytest.mark.slow
def test_trend_of_bordeaux_across_two_gironde_snapshots(tmp_path: Path, data_dir: Path) -> None:
    """Two builds of the Gironde (APL 2022 then 2023 parameters): one row each, read from its snapshot."""
    from accesoins.geo import parse_territory
    from accesoins.observatory import BuildOptions, build_observatory
    from accesoins.store import unit_trend

    store_file = tmp_path / "trend.duckdb"
    first = build_observatory(BuildOptions(parse_territory("33"), data_dir, store_file, vintage=2022))
    second = build_observatory(BuildOptions(parse_territory("33"), data_dir, store_file, vintage=2023))
    with Store(store_file, read_only=True) as store:
        trend = unit_trend(store, second, level="commune", unit_id="33063", profession="generaliste")
        apl = [
            indicator_layer(store, s, level="commune", profession="generaliste")
            .set_index("unit_id")
            .at["33063", "apl"]
            for s in (first, second)
        ]
    assert trend["snapshot_id"].tolist() == [first, second]
    assert trend["apl_vintage"].tolist() == [2022, 2023]
    assert trend["apl"].tolist() == pytest.approx(apl)
    assert trend["headcount"].tolist() == [400, 400]  # the same RPPS 2017 file in both builds


@pytest.mark.slow
def test_priorites_command_lists_the_priority_iris(
    store_path: Path, alpes_maritimes: str, data_dir: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from accesoins.cli import app

    out = tmp_path / "priorites.csv"
    need = str(data_dir / "filosofi_iris" / "filosofi2018_disp_iris_dep06.csv")
    args = ["priorites", "--besoin", need, "--nombre", "3", "--snapshot", alpes_maritimes,
            "--store", str(store_path), "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Bon Voyage" in result.stdout and "45,4" in result.stdout and "Ariane-Saramito" in result.stdout
    assert "24 unité(s) prioritaire(s)" in result.stdout
    table = pd.read_csv(out, dtype={"unit_id": str})
    assert len(table) == 299 and table["priority"].sum() == 24
    wrong = CliRunner().invoke(app, [*args[:3], "--indicateur", "bonheur", *args[5:]])
    assert wrong.exit_code == 2 and "taux_pauvrete" in wrong.output  # the valid choices are listed
