"""Disclosure control: small units merged with neighbours, crafted violations caught, exports pass."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from accesoins.cli import app
from accesoins.errors import ConfigurationError, DataFileError
from accesoins.outputs import (
    check_disclosure,
    check_frame,
    disclose_layer,
    export_observatory,
    export_table,
    merge_small_units,
)
from accesoins.store import Store, indicator_layer


def _strip(n: int, populations: list[float], parents: list[str] | None = None) -> gpd.GeoDataFrame:
    """``n`` unit squares in a row (1 km apart in Lambert 93), one profession."""
    return gpd.GeoDataFrame(
        {
            "unit_id": [f"u{i}" for i in range(n)],
            "name": [f"U{i}" for i in range(n)],
            "parent_id": parents or ["p"] * n,
            "profession": "generaliste",
            "headcount": list(range(n)),
            "etp": [0.5 * i for i in range(n)],
            "population": populations,
            "population_standardised": populations,
            "density_per_100k": np.nan,
            "std_density_per_100k": np.nan,
            "apl": [1.0 + i for i in range(n)],
            "apl_class": "",
        },
        geometry=[box(1000 * i, 0, 1000 * (i + 1), 1000) for i in range(n)],
        crs=2154,
    )


def test_small_unit_merged_with_smallest_neighbour_of_same_parent() -> None:
    units = _strip(4, [5.0, 300.0, 20.0, 900.0], parents=["a", "a", "b", "b"])
    groups = merge_small_units(units)
    assert groups.tolist() == ["u1", "u1", "u2", "u3"]  # u0 joins u1 (its only neighbour)
    units = _strip(3, [100.0, 4.0, 50.0], parents=["a", "b", "b"])
    assert merge_small_units(units).tolist() == ["u0", "u2", "u2"]  # same parent preferred over smaller


def test_disclosed_layer_keeps_totals_and_recomputes_rates() -> None:
    layer = _strip(3, [5.0, 40.0, 3.0])
    out = disclose_layer(layer)
    assert len(out) == 1
    row = out.iloc[0]
    assert row["unit_id"] == "u1" and row["population"] == 48 and row["headcount"] == 3
    assert row["secret"] == "fusion" and row["unites_fusionnees"] == "u0;u1;u2"
    assert row["etp"] == 1.5 and row["density_per_100k"] == pytest.approx(1.5 * 100_000 / 48)  # ETP-based
    assert row["apl"] == pytest.approx((1 * 5 + 2 * 40 + 3 * 3) / 48)
    assert row["apl_class"] == "sous-dotée"
    assert row["geometry"].area == pytest.approx(3e6)
    assert check_frame(pd.DataFrame(out.drop(columns="geometry"))) == []


def test_isolated_small_unit_joins_nearby_or_is_masked() -> None:
    near = _strip(2, [6.0, 200.0])
    near.loc[1, "geometry"] = box(1500, 0, 2500, 1000)  # 500 m gap, within 2 km
    assert disclose_layer(near)["population"].tolist() == [206]
    far = _strip(2, [6.0, 200.0])
    far.loc[1, "geometry"] = box(10_000, 0, 11_000, 1000)
    out = disclose_layer(far).set_index("unit_id")
    assert out.loc["u0", "secret"] == "masque" and np.isnan(out.loc["u0", "population"])
    assert out.loc["u0", "headcount"] == 0  # practitioners stay public
    assert out.loc["u1", "population"] == 200


def test_invalid_k() -> None:
    with pytest.raises(ConfigurationError, match="seuil"):
        disclose_layer(_strip(2, [5.0, 50.0]), k=0)


@pytest.mark.parametrize(
    ("frame", "column"),
    [
        (pd.DataFrame({"unit_id": ["a", "b"], "population": [120, 7]}), "population"),
        (pd.DataFrame({"unit_id": ["a"], "n_patients": [3]}), "n_patients"),
        (pd.DataFrame({"unit_id": ["a"], "Habitants": ["10"]}), "Habitants"),
        (pd.DataFrame({"unit_id": ["a"], "etp": [0.5], "density_per_100k": [1e4]}), "density_per_100k"),
        (pd.DataFrame({"commune": ["33063"], "nom_exercice": ["DUPONT"]}), "nom_exercice"),
        (pd.DataFrame({"commune": ["33063"], "Prénom": ["Jean"]}), "Prénom"),
    ],
)
def test_crafted_violations_are_caught(tmp_path: Path, frame: pd.DataFrame, column: str) -> None:
    for fmt in ("csv", "parquet"):
        path = export_table(frame, tmp_path / f"bad.{fmt}", fmt=fmt)
        found = check_disclosure(path)
        assert [v.column for v in found] == [column], (fmt, found)


def test_allowed_values_pass(tmp_path: Path) -> None:
    ok = pd.DataFrame(
        {
            "unit_id": ["a", "b", "c"],
            "population": [0, 11, 250_000],
            "headcount": [12, 1, 400],
            "density_per_100k": [np.nan, 9090.9, 157.2],
            "n_activities": [1, 2, 3],
        }
    )
    assert check_disclosure(export_table(ok, tmp_path / "ok.csv", fmt="csv")) == []


def test_crafted_violation_in_one_gpkg_layer(tmp_path: Path) -> None:
    path = tmp_path / "bad.gpkg"
    good = _strip(2, [50.0, 60.0])
    good.to_file(path, layer="bon", driver="GPKG", engine="pyogrio")
    _strip(2, [5.0, 60.0]).to_file(path, layer="mauvais", driver="GPKG", engine="pyogrio")
    found = check_disclosure(path)
    assert {(v.layer, v.column) for v in found} == {
        ("mauvais", "population"),
        ("mauvais", "population_standardised"),
    }
    assert "couche « mauvais »" in str(found[0])


def test_unreadable_or_unknown_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="introuvable"):
        check_disclosure(tmp_path / "absent.csv")
    (tmp_path / "x.txt").write_text("a")
    with pytest.raises(DataFileError, match="format non pris en charge"):
        check_disclosure(tmp_path / "x.txt")


def test_cli_check_disclosure(tmp_path: Path) -> None:
    bad = export_table(pd.DataFrame({"unit_id": ["a"], "population": [4]}), tmp_path / "bad.csv", fmt="csv")
    good = export_table(pd.DataFrame({"unit_id": ["a"], "population": [40]}), tmp_path / "ok.csv", fmt="csv")
    runner = CliRunner()
    result = runner.invoke(app, ["check-disclosure", str(bad)])
    assert result.exit_code == 1
    assert "population" in result.output and "secret" in result.output
    result = runner.invoke(app, ["check-disclosure", str(good)])
    assert result.exit_code == 0, result.output
    assert "aucune" in result.output.lower()
    result = runner.invoke(app, ["check-disclosure", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2


@pytest.mark.slow
def test_gironde_grid_has_small_cells_and_every_export_passes(
    store_path: Path, gironde: str, tmp_path: Path
) -> None:
    with Store(store_path, read_only=True) as store:
        raw = indicator_layer(store, gironde, level="carreau", profession="generaliste")
        assert ((raw["population"] > 0) & (raw["population"] < 11)).any()  # the real grid needs the control
        assert check_frame(pd.DataFrame(raw.drop(columns="geometry")))
        safe = disclose_layer(raw)
        assert safe["population"].sum() == pytest.approx(raw["population"].sum())
        assert (safe["secret"] == "fusion").any()
        files = export_observatory(store, gironde, tmp_path)
    assert {p.suffix for p in files} == {".gpkg", ".parquet", ".csv"}
    for path in files:
        assert check_disclosure(path) == [], path


def test_unknown_member_count_stays_unknown_after_merge() -> None:
    layer = _strip(2, [5.0, 40.0])
    layer["headcount"] = pd.array([pd.NA, 2], dtype="Int64")
    out = disclose_layer(layer)
    assert len(out) == 1 and pd.isna(out["headcount"].iloc[0]) and out["etp"].iloc[0] == 0.5
