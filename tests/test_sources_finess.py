"""FINESS loaders: 2017 WGS84 file, yearly stock, daily extraction (synthetic fixture)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod, Transformer

from accesoins.errors import DataFileError
from accesoins.sources._finess import (
    FINESS_COLUMNS,
    GEOLOCALISATION_FIELDS,
    STRUCTUREET_FIELDS,
    classify_site_names,
    read_finess_extraction,
    read_finess_geoloc_wgs84,
    read_finess_stock,
    site_types_from_categories,
)

DATA = Path(os.environ.get("ACCESOINS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PROFESSIONALS = DATA / "health_professionals"
GEOLOC = PROFESSIONALS / "finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv"
STOCK = PROFESSIONALS / "finess_etalab_stock_et_20201231_sample100_dep01.csv"

needs_data = pytest.mark.skipif(not PROFESSIONALS.is_dir(), reason=f"données absentes : {PROFESSIONALS}")
GEOD = Geod(ellps="WGS84")


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _assert_located(exc: DataFileError, path: Path, line: int, column: str | None) -> None:
    message = str(exc)
    assert exc.path == str(path) and message.startswith(str(path))
    assert exc.line == line and f"ligne {line}" in message
    assert exc.column == column
    if column is not None:
        assert f"colonne « {column} »" in message


# --- site types --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CENTRE DE SANTE DENTAIRE MUTUALISTE", "centre_sante"),
        ("CENTRE DE SANTÉ INFIRMIER-BX CAUDERAN", "centre_sante"),
        ("ANNEXE CENTRE SANTE ETUDIANTS-SUMPPS", "centre_sante"),
        ("CENTRE EXAMENS DE SANTE DE LA GIRONDE", "autre"),
        ("CENTRE DE SANTE MENTALE DU MEDOC", "autre"),
        ("MAISON DE SANTE PLURIDISC. ST-SAVIN", "maison_sante"),
        ("MSP D'ARSAC", "maison_sante"),
        ("SSIAD MAISON DE SANTE PROTESTANTE", "autre"),
        ("PHARMACIE CHURET", "pharmacie"),
        ("SELARL PHARMACIE DU DORAT", "pharmacie"),
        ("LBM EXALAB - PASTEUR", "laboratoire"),
        ("EHPAD HOPITAL GARDEROSE - PAVILLON 40", "ehpad"),
        ("CTRE HOSPIT.R.BOULIN-LIBOURNE", "hopital"),
        ("CH DE LA HAUTE GIRONDE", "hopital"),
        ("POLYCLINIQUE BORDEAUX RIVE DROITE", "hopital"),
        ("ECOLE DE SANTE DU CH DE LIBOURNE", "autre"),
        ("CENTRE DEPARTEMENTAL PMI", "pmi"),
        ("FOYER HEBERGEMENT RESIDENCE LABARTHE", "autre"),
    ],
)
def test_classify_site_names(name: str, expected: str) -> None:
    assert classify_site_names(pd.Series([name])).tolist() == [expected]


def test_site_types_from_categories() -> None:
    codes = pd.Series(["124", "603", "620", "355", "500", "611", "223", "183", ""])
    expected = ["centre_sante", "maison_sante", "pharmacie", "hopital", "ehpad", "laboratoire", "pmi"]
    assert site_types_from_categories(codes).tolist() == [*expected, "autre", "autre"]


# --- 2017 WGS84 file ---------------------------------------------------------------------------


@needs_data
def test_geoloc_wgs84_counts_and_schema() -> None:
    frame = read_finess_geoloc_wgs84(GEOLOC)
    assert list(frame.columns) == list(FINESS_COLUMNS)
    assert len(frame) == 2007 and frame["finess"].is_unique
    assert frame["lon"].between(-1.25, 0.26).all() and frame["lat"].between(44.27, 45.55).all()
    assert frame["category_code"].eq("").all() and frame["commune_code"].eq("").all()
    assert frame["site_type"].value_counts().to_dict() == {
        "autre": 1083,
        "pharmacie": 532,
        "ehpad": 181,
        "laboratoire": 114,
        "hopital": 70,
        "centre_sante": 15,
        "maison_sante": 11,
        "pmi": 1,
    }


@needs_data
def test_geoloc_wgs84_known_establishment_round_trip() -> None:
    row = read_finess_geoloc_wgs84(GEOLOC).set_index("finess").loc["330000217"]
    assert row["name"] == "MAISON DE SANTE MARIE GALENE"
    assert (row["lon"], row["lat"]) == (-0.570026448990276, 44.8284654102789)
    # the author converted from Lambert 93 given to 0.1 m: we land back on it
    assert abs(row["x"] - 417918.9) < 1 and abs(row["y"] - 6420744.8) < 1
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(row["x"], row["y"])
    assert _distance_m(lon, lat, row["lon"], row["lat"]) < 1


@needs_data
def test_geoloc_wgs84_broken_files(tmp_path: Path) -> None:
    lines = GEOLOC.read_text(encoding="utf-8").split("\n")
    bad = tmp_path / "bad_lat.csv"
    bad.write_text(
        "\n".join([*lines[:4], lines[4].rsplit(",", 1)[0] + ",44.83x", *lines[5:]]), encoding="utf-8"
    )
    with pytest.raises(DataFileError) as info:
        read_finess_geoloc_wgs84(bad)
    _assert_located(info.value, bad, 5, "lat")
    dup = tmp_path / "dup.csv"
    dup.write_text("\n".join([*lines[:3], lines[1], *lines[3:]]), encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        read_finess_geoloc_wgs84(dup)
    _assert_located(info.value, dup, 4, "code")


# --- yearly stock ------------------------------------------------------------------------------


@needs_data
def test_stock_sample() -> None:
    frame = read_finess_stock(STOCK)
    assert list(frame.columns) == list(FINESS_COLUMNS)
    assert len(frame) == 100 and frame["finess"].is_unique
    assert frame["category_code"].eq("620").sum() == 59 and frame["category_code"].eq("355").sum() == 8
    assert frame["site_type"].value_counts().to_dict() == {
        "pharmacie": 59,
        "autre": 24,
        "hopital": 14,
        "laboratoire": 2,
        "ehpad": 1,
    }
    assert frame["x"].between(836_205, 941_404).all() and frame["y"].between(6_520_414, 6_599_268).all()
    assert frame["commune_code"].str.startswith("01").all()
    row = frame.set_index("finess").loc["010000024"]
    assert (row["name"], row["commune_code"], row["category_label"]) == (
        "CH DE FLEYRIAT",
        "01451",
        "Centre Hospitalier (C.H.)",
    )
    assert (row["x"], row["y"]) == (870215.7, 6571590.5)
    assert _distance_m(row["lon"], row["lat"], 5.2086, 46.2227) < 20  # Viriat, Ain
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(row["lon"], row["lat"])
    assert np.hypot(x - row["x"], y - row["y"]) < 1
    assert row["geo_source"].endswith("LAMBERT_93")


@needs_data
def test_stock_with_title_line_and_windows_1252(tmp_path: Path) -> None:
    text = STOCK.read_text(encoding="utf-8").replace("\ufffd", "é")
    path = tmp_path / "etalab_stock_et_20201231.csv"
    path.write_bytes(("finess;etalab;100;IDENTIFIANT;2020-12-31\n" + text).encode("cp1252"))
    frame = read_finess_stock(path)
    assert len(frame) == 100
    assert frame.set_index("finess").loc["010002129", "category_label"].startswith("Etablissement de santé")
    assert frame["name"].tolist() == read_finess_stock(STOCK)["name"].tolist()


@needs_data
def test_stock_broken_files(tmp_path: Path) -> None:
    lines = STOCK.read_text(encoding="utf-8").split("\n")
    header = lines[0].split(";")

    def write(name: str, new_lines: list[str]) -> Path:
        path = tmp_path / name
        path.write_text("\n".join(new_lines), encoding="utf-8")
        return path

    tab = write("tab.csv", [line.replace(";", "\t") for line in lines])
    with pytest.raises(DataFileError) as info:
        read_finess_stock(tab)
    _assert_located(info.value, tab, 1, None)

    index = header.index("coordx")
    missing = write(
        "missing.csv", [";".join(line.split(";")[:index] + line.split(";")[index + 1 :]) for line in lines]
    )
    with pytest.raises(DataFileError) as info:
        read_finess_stock(missing)
    _assert_located(info.value, missing, 1, "coordx")

    fields = lines[4].split(";")
    fields[index] = "872 187,5x"
    non_numeric = write("x.csv", [*lines[:4], ";".join(fields), *lines[5:]])
    with pytest.raises(DataFileError) as info:
        read_finess_stock(non_numeric)
    _assert_located(info.value, non_numeric, 5, "coordx")

    body = [line for line in lines if line]
    truncated = write("truncated.csv", [*body[:-1], ";".join(body[-1].split(";")[:30])])
    with pytest.raises(DataFileError) as info:
        read_finess_stock(truncated)
    _assert_located(info.value, truncated, 101, header[30])

    commune = write("commune.csv", [*lines[:2], lines[2].replace(";01034;", ";0I034;"), *lines[3:]])
    with pytest.raises(DataFileError) as info:
        read_finess_stock(commune)
    _assert_located(info.value, commune, 3, "cog")

    undefined = tmp_path / "undefined.csv"  # 0x81 is undefined in UTF-8 and Windows-1252 alike
    undefined.write_bytes(
        "\n".join(lines[:3]).encode("utf-8") + b"\n" + lines[3].encode("utf-8")[:20] + b"\x81"
    )
    with pytest.raises(DataFileError) as info:
        read_finess_stock(undefined)
    _assert_located(info.value, undefined, 4, "rs")


# --- daily extraction (synthetic fixture built from the documented field order) ---------------


def _structureet(**values: str) -> str:
    assert set(values) <= set(STRUCTUREET_FIELDS)
    return "structureet;" + ";".join(values.get(field, "") for field in STRUCTUREET_FIELDS[1:])


def _geolocalisation(nofinesset: str, x: str, y: str, source: str) -> str:
    return ";".join(["geolocalisation", nofinesset, x, y, source, "2024-01-02"])


EXTRACTION_LINES = [
    "finess;etalab;100;IDENTIFIANT DE LA LIVRAISON;2024-01-02",
    _structureet(
        nofinesset="330000217", nofinessej="330000209", rs="MAISON DE SANTE MARIE GALENE", commune="063",
        departement="33", libdepartement="GIRONDE", categetab="109", libcategetab="Soins suite réadap",
    ),
    _structureet(
        nofinesset="2A0000014", nofinessej="2A0000006", rs="CENTRE HOSPITALIER D'AJACCIO", commune="004",
        departement="2A", libdepartement="CORSE DU SUD", categetab="355", libcategetab="C.H.",
    ),
    _structureet(
        nofinesset="970400123", nofinessej="970400115", rs="CENTRE DE SANTÉ DU CHAUDRON", commune="411",
        departement="9D", libdepartement="LA REUNION", categetab="124", libcategetab="Centre de Santé",
    ),
    _structureet(
        nofinesset="330012345", nofinessej="330012337", rs="PHARMACIE SANS COORDONNEES", commune="063",
        departement="33", categetab="620", libcategetab="Pharmacie d'Officine",
    ),
    _geolocalisation("330000217", "417918.9", "6420744.8", "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93"),
    _geolocalisation("2A0000014", "1176466.0", "6109095.7", "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93"),
    _geolocalisation("970400123", "338800.8", "7690101.3", "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,UTM_S40"),
]  # fmt: skip


def _write_extraction(tmp_path: Path, lines: list[str], encoding: str = "cp1252") -> Path:
    path = tmp_path / "etalab-cs1100507-stock-20240102-0336.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_extraction_field_order() -> None:
    assert len(STRUCTUREET_FIELDS) == 32 and len(GEOLOCALISATION_FIELDS) == 6
    assert STRUCTUREET_FIELDS[:4] == ("section", "nofinesset", "nofinessej", "rs")
    assert STRUCTUREET_FIELDS[12:14] == ("commune", "departement")
    assert STRUCTUREET_FIELDS[18:20] == ("categetab", "libcategetab")


def test_extraction_joins_sections(tmp_path: Path) -> None:
    frame = read_finess_extraction(_write_extraction(tmp_path, EXTRACTION_LINES)).set_index("finess")
    assert list(frame.reset_index().columns) == list(FINESS_COLUMNS)
    assert frame["commune_code"].to_dict() == {
        "330000217": "33063",
        "2A0000014": "2A004",
        "970400123": "97411",
        "330012345": "33063",
    }
    assert frame["site_type"].to_dict() == {
        "330000217": "hopital",
        "2A0000014": "hopital",
        "970400123": "centre_sante",
        "330012345": "pharmacie",
    }
    bordeaux = frame.loc["330000217"]
    assert (bordeaux["x"], bordeaux["y"]) == (417918.9, 6420744.8)
    assert _distance_m(bordeaux["lon"], bordeaux["lat"], -0.570026448990276, 44.8284654102789) < 1
    assert bordeaux["category_label"] == "Soins suite réadap"  # Windows-1252 decoded
    ajaccio = frame.loc["2A0000014"]
    assert _distance_m(ajaccio["lon"], ajaccio["lat"], 8.7369, 41.9267) < 1
    reunion = frame.loc["970400123"]
    assert _distance_m(reunion["lon"], reunion["lat"], 55.4503, -20.8823) < 1
    assert np.isnan(reunion["x"]) and np.isnan(reunion["y"])  # Lambert 93 is for metropolitan France only
    assert reunion["name"] == "CENTRE DE SANTÉ DU CHAUDRON"
    missing = frame.loc["330012345"]
    assert np.isnan([missing["x"], missing["y"], missing["lon"], missing["lat"]]).all()
    assert missing["geo_source"] == ""


def test_extraction_utf8_copy(tmp_path: Path) -> None:
    frame = read_finess_extraction(_write_extraction(tmp_path, EXTRACTION_LINES, "utf-8"))
    assert "CENTRE DE SANTÉ DU CHAUDRON" in set(frame["name"])


def test_extraction_errors_give_the_original_line(tmp_path: Path) -> None:
    truncated = [*EXTRACTION_LINES]
    truncated[2] = ";".join(truncated[2].split(";")[:15])
    path = _write_extraction(tmp_path, truncated)
    with pytest.raises(DataFileError) as info:
        read_finess_extraction(path)
    _assert_located(info.value, path, 3, STRUCTUREET_FIELDS[15])

    bad_x = [*EXTRACTION_LINES]
    bad_x[6] = bad_x[6].replace("1176466.0", "1176466.0x")
    path = _write_extraction(tmp_path, bad_x)
    with pytest.raises(DataFileError) as info:
        read_finess_extraction(path)
    _assert_located(info.value, path, 7, "coordxet")

    bad_commune = [*EXTRACTION_LINES]
    bad_commune[3] = bad_commune[3].replace(";411;", ";4I1;")
    path = _write_extraction(tmp_path, bad_commune)
    with pytest.raises(DataFileError) as info:
        read_finess_extraction(path)
    _assert_located(info.value, path, 4, "commune")

    duplicated = [*EXTRACTION_LINES[:3], EXTRACTION_LINES[1], *EXTRACTION_LINES[3:]]
    path = _write_extraction(tmp_path, duplicated)
    with pytest.raises(DataFileError) as info:
        read_finess_extraction(path)
    _assert_located(info.value, path, 4, "nofinesset")

    commas = _write_extraction(tmp_path, [line.replace(";", ",") for line in EXTRACTION_LINES])
    with pytest.raises(DataFileError) as info:
        read_finess_extraction(commas)
    _assert_located(info.value, commas, 1, None)
    assert "structureet" in str(info.value)
