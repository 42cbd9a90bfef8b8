"""End-to-end builds of the two reference territories, and APL validation against DREES."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, validate_apl
from accesoins.store import Store, indicator_layer

pytestmark = pytest.mark.slow


def test_gironde_build_has_every_commune_and_precisions(store_path: Path, gironde: str) -> None:
    with Store(store_path, read_only=True) as store:
        communes = indicator_layer(store, gironde, level="commune", profession="generaliste")
        activities = store.table("activities", gironde)
        sources = store.sources(gironde)
        meta = store.metadata(gironde)
    assert len(communes) == 535 and communes["unit_id"].is_unique
    assert communes["apl"].notna().all()
    bordeaux = communes.set_index("unit_id").loc["33063"]
    assert bordeaux["name"] == "Bordeaux"
    assert (
        bordeaux["headcount"] == 400
    )  # distinct RPPS with a GP activity in 33063 (443 activities, pandas check)
    assert bordeaux["density_per_100k"] == pytest.approx(bordeaux["etp"] / 254436 * 1e5)
    # every activity is placed, with its precision
    assert activities["precision"].value_counts().to_dict() == {"commune": 1100, "etablissement": 370}
    assert (communes["n_commune"] + communes["n_etablissement"]).sum() == (
        activities["profession"] == "generaliste"
    ).sum()
    assert set(sources["name"]) >= {"apl_drees", "annuaire_sante", "finess", "filosofi_grid"}
    assert sources["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert meta["cost_source"] == "vol_oiseau" and meta["demand_method"] == "ratio_standardisation_drees"


def test_bordeaux_grid_gets_cell_densities_and_apl(store_path: Path, gironde: str) -> None:
    with Store(store_path, read_only=True) as store:
        cells = indicator_layer(store, gironde, level="carreau", profession="generaliste").set_index(
            "unit_id"
        )
    assert len(cells) == 1292
    assert cells["population"].sum() == pytest.approx(326921.5)
    assert cells["apl"].notna().all() and (cells["apl"] > 0).all()
    aubiers = (
        cells.loc["CRS3035RES200mN2478000E3485400"]
        if "CRS3035RES200mN2478000E3485400" in cells.index
        else cells.loc[cells["population"].idxmax()]
    )
    assert aubiers["population"] == 2368
    with_gp = cells[cells["etp"] > 0]
    assert len(with_gp) > 20
    assert np.allclose(with_gp["density_per_100k"], with_gp["etp"] / with_gp["population"] * 1e5)


def test_alpes_maritimes_iris_apl(store_path: Path, alpes_maritimes: str) -> None:
    with Store(store_path, read_only=True) as store:
        iris = indicator_layer(store, alpes_maritimes, level="iris", profession="generaliste").set_index(
            "unit_id"
        )
        communes = indicator_layer(store, alpes_maritimes, level="commune", profession="generaliste")
        meta = store.metadata(alpes_maritimes)
    assert len(iris) == 500 and iris["apl"].notna().all()
    assert meta["demand_method"] == "insee_ages_iris" and meta["cost_source"] == "distancier"
    # communes: standardised-population-weighted mean of their IRIS, as DREES asks
    nice = iris[iris["parent_id"] == "06088"]
    expected = (nice["apl"] * nice["population_standardised"]).sum() / nice["population_standardised"].sum()
    assert communes.set_index("unit_id").loc["06088", "apl"] == pytest.approx(expected)
    assert iris["etp"].sum() == pytest.approx(1213.5 - 0.5)  # one row outside France (Monaco, IRIS 404)
    assert iris["headcount"].isna().sum() == (iris["etp"] > 0).sum()  # counts per IRIS: no headcount


@pytest.mark.parametrize(
    ("territory", "vintage", "floor"), [("06", 2022, 0.74), ("06", 2023, 0.80), ("33", 2023, 0.53)]
)
def test_validate_apl_against_drees(
    data_dir: Path, tmp_path: Path, territory: str, vintage: int, floor: float
) -> None:
    options = BuildOptions(parse_territory(territory), data_dir, tmp_path / "unused.duckdb", vintage=vintage)
    comparison, _ = validate_apl(options)
    assert comparison.n_units == {"06": 163, "33": 535}[territory]
    assert floor <= comparison.rho < 1.0
    assert comparison.lines()[-1] == f"rho={comparison.rho:.4f}"
    assert not (tmp_path / "unused.duckdb").exists()  # validation writes nothing
