"""Zone loaders on the real IRIS, QPV and quartier files, and their French errors on broken ones."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from accesoins.errors import DataFileError
from accesoins.sources import ZONE_COLUMNS, read_iris_contours, read_qpv, read_quartiers


def test_nice_and_bordeaux_iris_contours_are_named_polygons(data_dir: Path) -> None:
    nice = read_iris_contours(data_dir / "iris/iris_ge2025_nice_commune_lamb93_heatrisk.geojson")
    bordeaux = read_iris_contours(data_dir / "iris/iris_ge2025_bordeaux_commune_lamb93_heatrisk.geojson")
    assert len(nice) == 146 and len(bordeaux) == 88
    assert set(ZONE_COLUMNS) <= set(nice.columns) and nice.crs == "EPSG:4326"
    assert nice.set_index("zone_id").loc["060880101", "name"] == "Saleya-Château"
    assert set(nice["commune_code"]) == {"06088"} and set(bordeaux["commune_code"]) == {"33063"}
    assert nice.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert nice.to_crs("EPSG:2154").area.sum() / 1e6 == pytest.approx(73.8, abs=0.1)  # PROVENANCE §T1


def test_qpv_2024_keeps_ars_zoning_and_communes(data_dir: Path) -> None:
    qpv = read_qpv(data_dir / "qpv/anct_qpv2024_alpes_maritimes_06_simplifie.geojson").set_index("zone_id")
    assert len(qpv) == 14 and set(qpv["generation"]) == {2024}
    assert (qpv["commune_code"] == "06088").sum() == 6  # six QPV in Nice
    ariane = qpv.loc["QN00612M"]
    assert ariane["name"] == "Ariane - Le Manoir - Gares" and ariane["zoning"] == "ZAC"
    assert ariane["commune_codes"] == "06088;06114;06149"
    assert qpv.loc["QN00602M", "zoning"] == "ZIP"
    assert qpv.to_crs("EPSG:2154").area.sum() / 1e6 == pytest.approx(3.52, abs=0.01)  # PROVENANCE §V1


def test_qpv_2015_older_format(data_dir: Path) -> None:
    qpv = read_qpv(data_dir / "qpv/qpv_2015_ille_et_vilaine.geojson").set_index("zone_id")
    assert len(qpv) == 7 and set(qpv["generation"]) == {2015}
    assert qpv.loc["QP035004", "name"] == "Maurepas" and qpv.loc["QP035004", "commune_name"] == "Rennes"
    assert (qpv["commune_code"] == "").all()  # the 2015 file names communes, the geo stage codes them


def test_bordeaux_quartiers_shapefile_utf8(data_dir: Path) -> None:
    quartiers = read_quartiers(data_dir / "quartiers/se_quart_s/se_quart_s.shp")
    assert len(quartiers) == 38 and quartiers["zone_id"].is_unique
    bordeaux = quartiers[quartiers["commune_code"] == "33063"]
    assert len(bordeaux) == 8 and "Caudéran" in set(bordeaux["name"])  # UTF-8 dbf without .cpg
    areas = bordeaux.to_crs("EPSG:2154").set_index("name").area / 1e6
    assert areas["Bordeaux Maritime"] == pytest.approx(18.04, abs=0.01)
    assert areas.sum() == pytest.approx(49.80, abs=0.01)
    assert quartiers["commune_code"].value_counts().to_dict() == {
        "33318": 17,
        "33281": 10,
        "33063": 8,
        "33119": 3,
    }


def test_quartiers_as_lists_of_iris(tmp_path: Path) -> None:
    path = tmp_path / "quartiers.csv"
    path.write_text(
        "code_quartier;nom_quartier;code_iris\n"
        "Q1;Vieux Nice;060880101\nQ1;Vieux Nice;060880102\nQ2;Port;060880201\n"
    )
    quartiers = read_quartiers(path).set_index("zone_id")
    assert quartiers.loc["Q1", "iris_codes"] == "060880101;060880102"
    assert quartiers.loc["Q2", "commune_code"] == "06088"
    path.write_text("code_quartier;nom_quartier;code_iris\nQ1;Vieux Nice;060880101\nQ1;Vieux Nice;6088\n")
    with pytest.raises(DataFileError, match=r"ligne 3, colonne « code_iris »"):
        read_quartiers(path)


def _write(path: Path, features: list[dict[str, object]], crs: bool = True) -> Path:
    layer: dict[str, object] = {"type": "FeatureCollection", "features": features}
    if crs:
        layer["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}
    path.write_text(json.dumps(layer))
    return path


def _square(code: str, x: float, size: float = 100.0, **extra: object) -> dict[str, object]:
    ring = [[x, 6_000_000], [x + size, 6_000_000], [x + size, 6_000_100], [x, 6_000_100], [x, 6_000_000]]
    return {
        "type": "Feature",
        "properties": {"CODE_IRIS": code, "NOM_IRIS": f"IRIS {code}", **extra},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_iris_contours_errors_and_repair(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ok = _write(tmp_path / "ok.geojson", [_square("330630101", 700_000), _square("330630102", 700_100)])
    assert list(read_iris_contours(ok)["commune_code"]) == ["33063", "33063"]
    dup = _write(tmp_path / "dup.geojson", [_square("330630101", 700_000), _square("330630101", 700_100)])
    with pytest.raises(DataFileError, match=r"dup.geojson, ligne 2, colonne « code_iris » .*en double"):
        read_iris_contours(dup)
    bad = _write(tmp_path / "bad.geojson", [_square("330630101", 700_000), _square("3306X", 700_100)])
    with pytest.raises(DataFileError, match=r"ligne 2, colonne « code_iris » .*« 3306X » invalide"):
        read_iris_contours(bad)
    bowtie = _square("330630103", 700_000)
    bowtie["geometry"] = {
        "type": "Polygon",
        "coordinates": [
            [
                [700_000, 6_000_000],
                [700_100, 6_000_100],
                [700_100, 6_000_000],
                [700_000, 6_000_100],
                [700_000, 6_000_000],
            ]
        ],
    }
    with caplog.at_level(logging.WARNING):
        repaired = read_iris_contours(_write(tmp_path / "bowtie.geojson", [bowtie]))
    assert repaired.is_valid.all() and "réparé" in caplog.text
    assert repaired.to_crs("EPSG:2154").area.iloc[0] == pytest.approx(5000.0, rel=1e-6)
    no_code = _write(tmp_path / "nocode.geojson", [{**_square("x", 700_000), "properties": {"nom": "a"}}])
    with pytest.raises(DataFileError, match=r"colonne « CODE_IRIS »"):
        read_iris_contours(no_code)
    with pytest.raises(DataFileError, match="QPV sans géométrie"):
        read_qpv(
            _write(
                tmp_path / "empty.geojson",
                [{"type": "Feature", "properties": {"q": "QN00601M"}, "geometry": None}],
            )
        )
