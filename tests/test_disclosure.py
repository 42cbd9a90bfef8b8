"""The public gate: small units merged in fixed groups or masked, crafted violations caught, exports pass."""

from __future__ import annotations

import warnings
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
    Gate,
    check_disclosure,
    check_frame,
    export_observatory,
    export_table,
    public_layer,
    snapshot_gate,
)
from accesoins.outputs.web import create_app
from accesoins.store import Store, indicator_layer


def _cells(cells: dict[tuple[int, int], float]) -> gpd.GeoDataFrame:
    """200 m cells of the INSEE grid (EPSG:3035) keyed by (north, east) corner, one profession."""
    ids = [f"CRS3035RES200mN{n}E{e}" for n, e in cells]
    pops = list(cells.values())
    return gpd.GeoDataFrame(
        {"unit_id": ids, "name": ids, "parent_id": "33063", "profession": "generaliste",
         "headcount": [1] * len(ids), "etp": [0.5] * len(ids), "population": pops,
         "population_standardised": pops, "density_per_100k": [5e4 / p if p else np.nan for p in pops],
         "apl": [2.0 + i for i in range(len(ids))], "apl_class": ""},
        geometry=[box(e, n, e + 200, n + 200) for n, e in cells], crs=3035)  # fmt: skip


def _gate(territory: object = box(0, 0, 64_000, 64_000), k: int = 11) -> Gate:
    return Gate(k, gpd.GeoSeries([territory], crs=3035))


def test_small_cells_merge_in_their_1km_square_then_climb() -> None:
    layer = _cells(
        {
            (1000, 1000): 5.0,
            (1200, 1400): 7.0,
            (1400, 1000): 300.0,  # 1 km square: 12 ≥ 11
            (2000, 3000): 4.0,
            (3400, 2000): 3.0,
            (2200, 2200): 4.0,
        }
    )  # 2 km square (2000, 2000): 11
    out = public_layer(layer, "carreau", _gate()).set_index("unit_id")
    one = out.loc["CRS3035RES1000mN1000E1000"]
    assert one["population"] == 12 and one["secret"] == "fusion" and one["headcount"] == 2
    assert one["unites_fusionnees"] == "CRS3035RES200mN1000E1000;CRS3035RES200mN1200E1400"
    assert one["density_per_100k"] == pytest.approx(1.0 * 100_000 / 12)
    assert one["apl"] == pytest.approx((2 * 5 + 3 * 7) / 12)
    assert one["geometry"].area == pytest.approx(2 * 200 * 200)
    two = out.loc["CRS3035RES2000mN2000E2000"]
    assert two["population"] == 11 and len(two["unites_fusionnees"].split(";")) == 3
    assert out.loc["CRS3035RES200mN1400E1000", "population"] == 300  # big cells are shown as they are
    assert out["population"].sum() == pytest.approx(layer["population"].sum())
    assert check_frame(pd.DataFrame(out.reset_index().drop(columns="geometry"))) == []


def test_square_cut_by_the_territory_or_still_small_is_masked() -> None:
    layer = _cells({(1000, 1000): 5.0, (1200, 1400): 7.0, (40_000, 40_000): 3.0, (1400, 1000): 300.0})
    half = box(0, 0, 1500, 64_000)  # cuts the 1 km square at (1000, 1000)
    out = public_layer(layer, "carreau", _gate(half)).set_index("unit_id")
    masked = out[out["secret"] == "masque"]
    assert sorted(masked.index) == [
        "CRS3035RES200mN1000E1000",
        "CRS3035RES200mN1200E1400",
        "CRS3035RES200mN40000E40000",
    ]
    assert masked["population"].isna().all() and masked["density_per_100k"].isna().all()
    assert masked["apl"].isna().all() and (masked["headcount"] == 1).all()  # practitioners stay public
    whole = public_layer(layer, "carreau", _gate()).set_index("unit_id")
    lonely = whole.loc["CRS3035RES200mN40000E40000"]  # alone up to 16 km: masked
    assert lonely["secret"] == "masque" and np.isnan(lonely["population"])


def test_groups_do_not_depend_on_the_territory() -> None:
    """Two territories covering the same whole square publish the same group: nothing to difference."""
    layer = _cells({(1000, 1000): 5.0, (1200, 1400): 7.0, (1400, 1000): 300.0, (5000, 5000): 40.0})
    small = box(900, 900, 2100, 2100)
    a = public_layer(layer, "carreau", _gate()).set_index("unit_id")
    b = public_layer(layer[layer["population"] < 100], "carreau", _gate(small)).set_index("unit_id")
    shared = a.index.intersection(b.index)
    assert "CRS3035RES1000mN1000E1000" in shared
    assert (a.loc[shared, "population"] == b.loc[shared, "population"]).all()


def test_iris_merge_in_their_commune_and_small_communes_are_masked() -> None:
    iris = pd.DataFrame({"unit_id": ["330630101", "330630102", "330630103", "333180101"],
                         "parent_id": ["33063", "33063", "33063", "33318"],
                         "population": [6.0, 8.0, 2000.0, 4.0], "apl": [3.0, 4.0, 5.0, 1.0]})  # fmt: skip
    out = public_layer(iris, "iris", _gate()).set_index("unit_id")
    assert out.loc["33063_iris_regroupes", "population"] == 14
    assert out.loc["33063_iris_regroupes", "parent_id"] == "33063"
    assert out.loc["333180101", "secret"] == "masque" and np.isnan(out.loc["333180101", "apl"])
    communes = pd.DataFrame({"unit_id": ["33001", "33002"], "population": [7.0, 500.0]})
    out = public_layer(communes, "commune", _gate()).set_index("unit_id")
    assert out.loc["33001", "secret"] == "masque" and out.loc["33002", "population"] == 500


def test_site_density_is_blanked_in_a_masked_commune() -> None:
    from accesoins.outputs import public_sites

    communes = public_layer(
        pd.DataFrame({"unit_id": ["33001", "33002"], "population": [7.0, 500.0]}), "commune", _gate()
    )
    sites = gpd.GeoDataFrame(
        {"commune_code": ["33001", "33002"], "density_per_km2": [3.5, 250.0]},
        geometry=gpd.points_from_xy([0, 1], [0, 1]),
        crs=4326,
    )
    out = public_sites(sites, communes)
    assert np.isnan(out["density_per_km2"].iloc[0]) and out["density_per_km2"].iloc[1] == 250


def test_scenario_columns_are_weighted_and_unknown_counts_stay_unknown() -> None:
    table = pd.DataFrame({"unit_id": ["CRS3035RES200mN1000E1000", "CRS3035RES200mN1200E1200"],
                          "population": [4.0, 8.0], "apl_before": [1.0, 2.0], "apl_after": [2.0, 2.0],
                          "delta": [1.0, 0.0], "headcount": pd.array([pd.NA, 2], dtype="Int64")})  # fmt: skip
    row = public_layer(table, "carreau", _gate()).iloc[0]
    assert row["population"] == 12 and row["apl_before"] == pytest.approx(20 / 12)
    assert row["delta"] == pytest.approx(2.0 - 20 / 12) and pd.isna(row["headcount"])


def test_invalid_k() -> None:
    with pytest.raises(ConfigurationError, match="seuil"):
        _gate(k=0)


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
    good = _cells({(0, 0): 50.0, (0, 200): 60.0})
    good.to_file(path, layer="bon", driver="GPKG", engine="pyogrio")
    _cells({(0, 0): 5.0, (0, 200): 60.0}).to_file(path, layer="mauvais", driver="GPKG", engine="pyogrio")
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


@pytest.fixture(scope="module")
def bordeaux(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A snapshot of the commune of Bordeaux alone (own store: the shared one's latest stays Gironde)."""
    from accesoins.geo import parse_territory
    from accesoins.observatory import BuildOptions, build_observatory

    path = tmp_path_factory.mktemp("bordeaux") / "accesoins.duckdb"
    return path, build_observatory(BuildOptions(parse_territory("33063"), data_dir, path, vintage=2023))


@pytest.mark.slow
def test_gironde_grid_has_small_cells_and_every_export_passes(
    store_path: Path, gironde: str, tmp_path: Path
) -> None:
    with Store(store_path, read_only=True) as store:
        raw = indicator_layer(store, gironde, level="carreau", profession="generaliste")
        small = raw[(raw["population"] > 0) & (raw["population"] < 11)]
        assert len(small) == 54  # the real grid needs the control
        assert check_frame(pd.DataFrame(raw.drop(columns="geometry")))
        gate = snapshot_gate(store, gironde)
        assert gate.k == 11 and store.metadata(gironde)["disclosure_k"] == 11  # recorded at build
        safe = public_layer(raw, "carreau", gate).set_index("unit_id")
        assert safe["secret"].value_counts().to_dict() == {"": 1238, "fusion": 16}  # 8 of 1 km, 4 of 2 km…
        assert safe["population"].sum() == pytest.approx(raw["population"].sum())  # nothing masked here
        assert safe.loc["CRS3035RES1000mN2470000E3483000", "population"] == 23  # 4 small cells of its 1 km
        issue = "CRS3035RES200mN2470000E3484000"  # 2 residents, served by the web before the gate
        assert issue not in safe.index
        group = safe.loc["CRS3035RES8000mN2464000E3480000"]  # its 1, 2 and 4 km squares stay under 11
        assert group["population"] == 12 and issue in group["unites_fusionnees"].split(";")
        files = export_observatory(store, gironde, tmp_path)
    assert {p.suffix for p in files} == {".gpkg", ".parquet", ".csv"}
    for path in files:
        assert check_disclosure(path) == [], path


@pytest.mark.slow
def test_exports_of_33_and_33063_cannot_be_differenced(
    store_path: Path, gironde: str, bordeaux: tuple[Path, str], tmp_path: Path
) -> None:
    """The issue's attack: cell …N2477000E3483000 was 162.0 − 159.0 = 3 residents between two exports."""
    layers = {}
    for name, (path, sid) in {"33": (store_path, gironde), "33063": bordeaux}.items():
        with Store(path, read_only=True) as store:
            export_observatory(store, sid, tmp_path / name, formats=["csv"])
        out = tmp_path / name / "carreau_generaliste.csv"
        assert check_disclosure(out) == []
        layers[name] = pd.read_csv(out, dtype={"unit_id": str}).set_index("unit_id")
    dept, city = layers["33"], layers["33063"]
    shared = dept.index.intersection(city.index)
    assert len(shared) == 729  # cells whose centre lies in Bordeaux (the others belong to its neighbours)
    both = dept.loc[shared, "population"].notna() & city.loc[shared, "population"].notna()
    assert (dept.loc[shared[both], "population"] == city.loc[shared[both], "population"]).all()
    merged = city[city["secret"] == "fusion"]
    assert list(merged.index) == ["CRS3035RES1000mN2473000E3484000"] and merged["population"].iloc[0] == 14
    members = merged["unites_fusionnees"].iloc[0]
    assert dept.loc["CRS3035RES1000mN2473000E3484000", "unites_fusionnees"] == members
    for layer in (dept, city):  # every group either matches the other export or is masked
        groups = layer[layer["secret"] == "fusion"]
        assert groups.index.str.match(r"CRS3035RES\d+000mN\d+E\d+$").all()
    issue_cell = "CRS3035RES200mN2477000E3483000"  # its centre lies outside Bordeaux: not in its export
    assert issue_cell not in city.index and issue_cell not in dept.index  # in Gironde: a whole 8 km group
    masked = city.index[city["secret"] == "masque"]
    assert len(masked) > 0 and city.loc[masked, "population"].isna().all()
    assert not masked.isin(dept.index[dept["secret"] == ""]).any()  # never shown elsewhere either
    cell = masked[0]
    with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(create_app(bordeaux[0], warm=False)) as client:  # the web says so on the cell's fiche
        fiche = client.get(f"/api/units/carreau/{cell}").json()
    assert fiche["unit_id"] == cell and fiche["population"] is None
    assert all(p["density_per_100k"] is None and p["apl"] is None for p in fiche["professions"])
    assert any("moins de 11 habitants" in n and "masquées" in n for n in fiche["notes"])
    dept_total = dept["population"].sum()
    city_cells = city.index[city["secret"] == ""]
    assert dept.loc[city_cells, "population"].sum() == city.loc[city_cells, "population"].sum()
    assert dept_total > city["population"].sum()


def test_k_comes_from_the_settings_and_is_recorded(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    from accesoins.geo import parse_territory
    from accesoins.observatory import BuildOptions
    from accesoins.outputs import disclosure_k

    monkeypatch.setenv("ACCESOINS_DISCLOSURE_K", "15")
    options = BuildOptions(parse_territory("33063"), data_dir, data_dir / "absent.duckdb")
    assert options.parameters()["disclosure_k"] == 15
    assert disclosure_k({}) == 15  # a snapshot built before k was recorded
    assert disclosure_k({"disclosure_k": 11}) == 11  # the snapshot's own k wins
    assert [v.column for v in check_frame(pd.DataFrame({"population": [12.0]}))] == ["population"]
