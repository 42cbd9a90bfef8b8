"""Loaders refuse impossible data (issue 15): a broken copy of a real file gives a French error at its place.

The cases are those of the robustness campaign: impossible coordinates and counts,
duplicated keys and column names, overlong fields, stray quotes, invalid
workbooks and geometries, a directory given as a file.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest

from accesoins import sources
from accesoins.errors import DataFileError
from accesoins.network import read_osm_ways
from accesoins.sources._validate import in_france

FINESS = "health_professionals/finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv"
GP_IRIS = "apl_reference_06/gp_iris_06_2022.csv"
GRID = "population_grid/filosofi2021_200m_bordeaux_centre_8x8km_epsg3035.csv"
OD = "travel_times/od_iris_06_alpes_maritimes_km_min.csv"
RPPS = "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv"
ANNUAIRE = "health_professionals/ps_libreacces_personne_activite_sample20_format.txt"
QPV = "qpv/qpv_2015_ille_et_vilaine_6_avec_pop.geojson"
IRIS_POP = "apl_reference_06/pop_iris_06_2019_insee.xlsx"
DREES = "apl_drees/apl_medecins_generalistes_2022_2023_drees.xlsx"


def _edited(data_dir: Path, tmp_path: Path, name: str, edit: Callable[[list[str]], None]) -> Path:
    """A copy of a real text file with its lines edited (line 1 = header = ``lines[0]``)."""
    lines = (data_dir / name).read_text(encoding="utf-8").splitlines()
    edit(lines)
    path = tmp_path / Path(name).name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _field(lines: list[str], line: int, k: int, value: str, sep: str = ",") -> None:
    fields = lines[line - 1].split(sep)
    fields[k] = value
    lines[line - 1] = sep.join(fields)


def _refused(
    load: Callable[[Path], Any], path: Path, line: int | None, column: str | None, text: str
) -> None:
    with pytest.raises(DataFileError) as caught:
        load(path)
    error = caught.value
    assert (error.path, error.line, error.column) == (str(path), line, column)
    assert text in str(error)


# --- coordinates ------------------------------------------------------------------------------------


def test_france_boxes_hold_the_drom_and_not_swapped_points() -> None:
    towns = {
        "Bordeaux": (-0.58, 44.84),
        "Ajaccio": (8.74, 41.92),
        "Fort-de-France": (-61.07, 14.60),
        "Basse-Terre": (-61.73, 15.99),
        "Saint-Barthélemy": (-62.85, 17.90),
        "Cayenne": (-52.33, 4.94),
        "Saint-Denis (La Réunion)": (55.45, -20.88),
        "Mamoudzou": (45.23, -12.78),
        "Saint-Pierre": (-56.18, 46.78),
    }
    lon, lat = np.array(list(towns.values())).T
    assert in_france(lon, lat).all()
    assert not in_france(lat, lon).any()  # every one of them swapped
    assert not in_france(np.array([np.inf, np.nan, 1e308, 2.35]), np.array([45.0, 45.0, 45.0, 91.5])).any()


@pytest.mark.parametrize(
    ("k", "value", "column", "text"),
    [
        (3, "-5000", "lat", "point hors de France : longitude -0.570026, latitude -5000 ; 1 point(s)"),
        (3, "inf", "lat", "valeur infinie « inf »"),
        (3, "1e308", "lat", "point hors de France : longitude -0.570026, latitude 1e+308"),
        (3, "91.5", "lat", "latitude 91.5"),
        (2, "44.8284654102789", "long", "(longitude et latitude inversées ?)"),
    ],
)
def test_finess_impossible_coordinates(
    data_dir: Path, tmp_path: Path, k: int, value: str, column: str, text: str
) -> None:
    def edit(lines: list[str]) -> None:
        _field(lines, 2, k, value)
        if column == "long":  # swap: latitude in the longitude column and back
            _field(lines, 2, 3, "-0.570026448990276")

    path = _edited(data_dir, tmp_path, FINESS, edit)
    _refused(sources.read_finess_geoloc_wgs84, path, 2, column, text)


def test_finess_stray_quote_is_an_error_not_183_lost_rows(data_dir: Path, tmp_path: Path) -> None:
    path = _edited(
        data_dir, tmp_path, FINESS, lambda lines: _field(lines, 40, 1, '"' + lines[39].split(",")[1])
    )
    _refused(sources.read_finess_geoloc_wgs84, path, 40, None, "guillemet non fermé ou mal placé")
    assert len(sources.read_finess_geoloc_wgs84(data_dir / FINESS)) == 2007  # the real file, quotes and all


# --- counts and keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("inf", "valeur infinie « inf »"),
        ("-50", "valeur impossible « -50 » (minimum 0)"),
        ("1e308", "maximum 1000"),
    ],
)
def test_gp_supply_impossible_counts(data_dir: Path, tmp_path: Path, value: str, text: str) -> None:
    path = _edited(data_dir, tmp_path, GP_IRIS, lambda lines: _field(lines, 3, 11, value))
    _refused(sources.read_gp_iris, path, 3, "NB", text)


def test_gp_supply_duplicated_row(data_dir: Path, tmp_path: Path) -> None:
    """A repeated IRIS row doubled its APL (6.49 → 12.98): it is now refused at its second line."""
    path = _edited(data_dir, tmp_path, GP_IRIS, lambda lines: lines.insert(10, lines[2]))
    _refused(sources.read_gp_iris, path, 11, "iris", "IRIS « 60040102 » en double")


@pytest.mark.parametrize(
    ("value", "text"), [("-5000", "valeur impossible « -5000 »"), ("inf", "valeur infinie")]
)
def test_grid_impossible_population(data_dir: Path, tmp_path: Path, value: str, text: str) -> None:
    path = _edited(data_dir, tmp_path, GRID, lambda lines: _field(lines, 5, 8, value))
    _refused(sources.read_filosofi_grid, path, 5, "ind", text)


def test_grid_duplicated_cell(data_dir: Path, tmp_path: Path) -> None:
    path = _edited(data_dir, tmp_path, GRID, lambda lines: lines.append(lines[1]))
    _refused(
        sources.read_filosofi_grid, path, 1294, "idcar_200m", "carreau « CRS3035RES200mN2470000E3482000 »"
    )


def test_od_duplicated_pair_and_negative_time(data_dir: Path, tmp_path: Path) -> None:
    path = _edited(data_dir, tmp_path, OD, lambda lines: lines.insert(3, lines[1]))
    _refused(
        sources.read_od_table, path, 4, "origin_id", "couple origine / destination « 040080000 / 060530000 »"
    )
    path = _edited(data_dir, tmp_path, OD, lambda lines: _field(lines, 7, 3, "-5"))
    _refused(sources.read_od_table, path, 7, "TIME", "valeur impossible « -5 » (minimum 0)")


# --- structure ---------------------------------------------------------------------------------------


def test_duplicated_column_name(data_dir: Path, tmp_path: Path) -> None:
    path = _edited(data_dir, tmp_path, RPPS, lambda lines: _field(lines, 1, 2, "Nom"))
    _refused(sources.read_rpps_2017, path, 1, "Nom", "colonne en double dans l'en-tête")


def test_field_beyond_the_csv_limit_after_a_quote(data_dir: Path, tmp_path: Path) -> None:
    """Once a `"` appears, Python's csv module stops at 131,072 characters (`_csv.Error`)."""
    path = _edited(data_dir, tmp_path, FINESS, lambda lines: _field(lines, 9, 1, '"' + "X" * 200_000 + '"'))
    _refused(sources.read_finess_geoloc_wgs84, path, 9, None, "ligne trop longue (200")


def test_nul_byte(data_dir: Path, tmp_path: Path) -> None:
    path = _edited(data_dir, tmp_path, ANNUAIRE, lambda lines: _field(lines, 4, 8, "DU\x00PONT", sep="|"))
    _refused(sources.read_annuaire_sante, path, 4, None, "octet nul dans la ligne")


@pytest.mark.parametrize(
    "load",
    [
        sources.read_rpps_2017,
        sources.read_od_table,
        sources.read_filosofi_grid,
        sources.read_qpv,
        read_osm_ways,
    ],
)
def test_directory_given_as_file(tmp_path: Path, load: Callable[[Path], Any]) -> None:
    folder = tmp_path / "extrait.osm.pbf"
    folder.mkdir()
    with pytest.raises(DataFileError, match="répertoire"):
        load(folder)


# --- workbooks ---------------------------------------------------------------------------------------


def _junk_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("junk.bin", b"\x00\x01" * 500)
    return buffer.getvalue()


@pytest.mark.parametrize("content", [_junk_zip(), b"IRIS;COM\n060010000;06001\n", b""])
def test_population_workbook_that_is_not_one(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "pop.xlsx"
    path.write_bytes(content)
    _refused(sources.read_iris_population, path, None, None, "classeur Excel illisible ou tronqué")


@pytest.fixture(scope="module")
def drees_sheet(data_dir: Path) -> list[list[Any]]:
    """The first 60 rows of the real « APL 2023 » sheet."""
    book = openpyxl.load_workbook(data_dir / DREES, read_only=True)
    rows = [list(r) for _, r in zip(range(60), book["APL 2023"].iter_rows(values_only=True), strict=False)]
    book.close()
    return rows


def _drees_copy(tmp_path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "APL 2023"
    for row in rows:
        sheet.append(row)
    path = tmp_path / "apl.xlsx"
    book.save(path)
    return path


def test_drees_duplicated_commune(drees_sheet: list[list[Any]], tmp_path: Path) -> None:
    rows = [list(r) for r in drees_sheet]
    rows[20][0] = rows[12][0]
    _refused(
        lambda p: sources.read_apl_drees(p, 2023),
        _drees_copy(tmp_path, rows),
        21,
        "Code commune INSEE",
        "commune « 01004 » en double",
    )


def test_drees_impossible_apl_and_header_below_row_30(drees_sheet: list[list[Any]], tmp_path: Path) -> None:
    rows = [list(r) for r in drees_sheet]
    rows[14][2] = -1.5
    title = "APL aux médecins généralistes"
    _refused(lambda p: sources.read_apl_drees(p, 2023), _drees_copy(tmp_path, rows), 15, title, "« -1.5 »")
    low = [[None] * 6] * 30 + drees_sheet
    _refused(
        lambda p: sources.read_apl_drees(p, 2023),
        _drees_copy(tmp_path, low),
        None,
        "A",
        "30 premières lignes",
    )
    _refused(lambda p: sources.read_apl_drees(p, 2023), _drees_copy(tmp_path, []), None, "A", "introuvable")


def test_drees_truncated_sheet_xml(drees_sheet: list[list[Any]], tmp_path: Path) -> None:
    path = _drees_copy(tmp_path, drees_sheet)
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(
                info, data[: len(data) // 2] if info.filename.startswith("xl/worksheets/") else data
            )
    _refused(
        lambda p: sources.read_apl_drees(p, 2023), path, None, None, "classeur Excel illisible ou tronqué"
    )


# --- geometries --------------------------------------------------------------------------------------

_RING = [[-1.68, 48.11], [-1.66, 48.13], [-1.66, 48.11], [-1.68, 48.13], [-1.68, 48.11]]
_BOWTIE = json.dumps({"type": "Polygon", "coordinates": [_RING]})


def _qpv_with(data_dir: Path, tmp_path: Path, geometry: str) -> Path:
    """The real QPV file with the geometry of its third feature replaced (GeoJSON text)."""
    doc = json.loads((data_dir / QPV).read_text(encoding="utf-8"))
    doc["features"][2]["geometry"] = json.loads(geometry)
    path = tmp_path / "qpv.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_qpv_self_crossing_polygon_is_repaired_with_a_warning(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        qpv = sources.read_qpv(_qpv_with(data_dir, tmp_path, _BOWTIE))
    assert "1 géométrie(s) invalide(s) réparée(s) (Self-intersection" in caplog.text
    assert qpv.geometry.is_valid.all() and len(qpv) == 6
    assert qpv.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()


@pytest.mark.parametrize(
    ("geometry", "text"),
    [
        ('{"type":"Point","coordinates":[-1.67,48.12]}', "n'est pas un polygone d'aire non nulle (Point)"),
        ("null", "QPV sans géométrie"),
        (
            '{"type":"Polygon","coordinates":[[[1.68,-48.11],[1.66,-48.11],[1.66,-48.13],[1.68,-48.11]]]}',
            "hors de France",
        ),
    ],
)
def test_qpv_impossible_geometry(data_dir: Path, tmp_path: Path, geometry: str, text: str) -> None:
    path = _qpv_with(data_dir, tmp_path, geometry)
    with pytest.raises(DataFileError) as caught:
        sources.read_qpv(path)
    assert caught.value.feature == 3 and "entité n° 3" in str(caught.value)
    assert text in str(caught.value)


# --- OpenStreetMap -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "text"),
    [
        ('lat="47.6', 'lat="abc', "wrong format for coordinate"),
        ('<tag k="highway" v="', '<tag k="highway" v="' + "x" * 2000, "tag value is too long"),
    ],
)
def test_osm_bad_coordinate_and_overlong_tag(
    data_dir: Path, tmp_path: Path, old: str, new: str, text: str
) -> None:
    import bz2

    xml = bz2.decompress((data_dir / "osm/redon_35_overpass_2019-09-09.osm.bz2").read_bytes()).decode("utf-8")
    path = tmp_path / "redon.osm"
    path.write_text(xml.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataFileError, match="fichier OpenStreetMap illisible ou corrompu") as caught:
        read_osm_ways(path)
    assert text in str(caught.value)


def test_grid_national_path_reads_the_same_cells_and_refuses_the_same(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above LARGE_FILE_BYTES (a national file) only three columns are read: same cells, same refusals."""
    from accesoins.sources import _grid

    whole = sources.read_filosofi_grid(data_dir / GRID)
    monkeypatch.setattr(_grid, "LARGE_FILE_BYTES", 0)  # the real extract through the national path
    columns = sources.read_filosofi_grid(data_dir / GRID)
    assert len(columns) == 1292 and columns["population"].sum() == pytest.approx(326_921.5)
    assert columns.drop(columns="geometry").equals(whole.drop(columns="geometry"))
    assert columns.geometry.geom_equals(whole.geometry).all()
    path = _edited(data_dir, tmp_path, GRID, lambda lines: _field(lines, 5, 8, "-5000"))
    _refused(sources.read_filosofi_grid, path, 5, "ind", "valeur impossible « -5000 »")
    path = _edited(data_dir, tmp_path, GRID, lambda lines: lines.append(lines[1]))
    _refused(
        sources.read_filosofi_grid, path, 1294, "idcar_200m", "carreau « CRS3035RES200mN2470000E3482000 »"
    )
    path = _edited(data_dir, tmp_path, GRID, lambda lines: _field(lines, 8, 1, '"3482'))
    _refused(sources.read_filosofi_grid, path, 8, None, "ligne mal formée (guillemet non fermé")
