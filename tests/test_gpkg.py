"""Full GIS export of the real Gironde snapshot: every layer opens, each has its QGIS style row."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from accesoins.cli import app
from accesoins.errors import UnknownChoiceError
from accesoins.outputs import COLUMN_DOCS, export_observatory
from accesoins.store import Store

pytestmark = pytest.mark.slow

STYLE_COLUMNS = [
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
]


@pytest.fixture(scope="module")
def export_dir(store_path: Path, gironde: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    result = CliRunner().invoke(
        app, ["export", "--out", str(out), "--store", str(store_path), "--snapshot", gironde]
    )
    assert result.exit_code == 0, result.output
    return out


def test_every_layer_opens_with_its_style(export_dir: Path) -> None:
    path = export_dir / "observatoire.gpkg"
    layers = {str(name): geom for name, geom in pyogrio.list_layers(path)}
    assert {
        "commune_generaliste",
        "commune_neurologue",
        "carreau_generaliste",
        "carreau_neurologue",
        "sites",
        "lisez_moi",
        "layer_styles",
    } <= set(layers)
    styles = pyogrio.read_dataframe(path, layer="layer_styles")
    assert list(styles.columns) == ["id", *STYLE_COLUMNS] or set(STYLE_COLUMNS) <= set(styles.columns)
    spatial = [name for name, geom in layers.items() if geom is not None]
    for name in spatial:
        frame = pyogrio.read_dataframe(path, layer=name)
        assert len(frame) > 0 and frame.crs.to_epsg() == 4326, name
        rows = styles[styles["f_table_name"] == name]
        assert len(rows) >= 1, f"pas de style pour {name}"
        assert rows["useAsDefault"].astype(int).sum() == 1, name
        assert set(rows["f_geometry_column"]) == {"geom"}
        for qml, sld in zip(rows["styleQML"], rows["styleSLD"], strict=True):
            assert ET.fromstring(qml.split("\n", 1)[1]).tag == "qgis"
            assert ET.fromstring(sld.encode()).tag.endswith("StyledLayerDescriptor")
    con = sqlite3.connect(path)
    try:
        geometry_columns = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        contents = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    finally:
        con.close()
    assert all(geometry_columns[name] == "geom" for name in spatial)
    assert "layer_styles" in contents


def test_apl_style_is_graduated_on_the_threshold(export_dir: Path) -> None:
    styles = pyogrio.read_dataframe(export_dir / "observatoire.gpkg", layer="layer_styles")
    commune = styles[styles["f_table_name"] == "commune_generaliste"]
    apl = commune[commune["useAsDefault"].astype(int) == 1]
    root = ET.fromstring(apl["styleQML"].iloc[0].split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer is not None
    assert renderer.get("type") == "graduatedSymbol" and renderer.get("attr") == "apl"
    ranges = [
        (float(r.get("lower", "nan")), float(r.get("upper", "nan")), r.get("label", ""))
        for r in renderer.iter("range")
    ]
    assert [lo for lo, _, _ in ranges] == [0.0, 2.5, 4.0]  # parameters/apl_classes.yaml
    assert ranges[0][1] < 2.5 and ranges[0][1] == pytest.approx(2.5)
    assert [label for _, _, label in ranges] == [
        "moins de 2,5 : sous-dotée",
        "2,5 à moins de 4 : intermédiaire",
        "4 et plus : bien dotée",
    ]
    density = commune[commune["useAsDefault"].astype(int) == 0]
    assert "quantiles" in density["styleName"].iloc[0]


def test_columns_documented_and_other_formats(export_dir: Path, store_path: Path, gironde: str) -> None:
    doc = pyogrio.read_dataframe(export_dir / "observatoire.gpkg", layer="lisez_moi")
    assert (doc["description"].str.len() > 0).all(), doc[doc["description"] == ""]
    with Store(store_path, read_only=True) as store:  # local indicators are documented from their catalogue
        local = set(store.table("local_indicator_catalogue", gironde)["indicator"])
    assert set(doc["colonne"]) - set(COLUMN_DOCS) <= local
    parquet = gpd.read_parquet(export_dir / "commune_generaliste.parquet")
    assert parquet.crs.to_epsg() == 4326 and len(parquet) == 535
    bordeaux = parquet.set_index("unit_id").loc["33063"]
    assert bordeaux["headcount"] == 400 and bordeaux["population"] == 254_436
    csv = pd.read_csv(export_dir / "carreau_generaliste.csv", dtype={"unit_id": str})
    assert "geometry" not in csv.columns and (csv["population"].dropna() >= 11).all()
    sites = pd.read_csv(export_dir / "sites.csv")
    assert {"lon", "lat", "label", "precision"} <= set(sites.columns)
    with Store(store_path, read_only=True) as store, pytest.raises(UnknownChoiceError):
        export_observatory(store, gironde, export_dir / "x", formats=["shp"])


def test_exports_pass_check_disclosure(export_dir: Path) -> None:
    runner = CliRunner()
    for path in sorted(export_dir.iterdir()):
        result = runner.invoke(app, ["check-disclosure", str(path)])
        assert result.exit_code == 0, (path, result.output)
