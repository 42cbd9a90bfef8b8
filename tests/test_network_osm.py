"""Reading OpenStreetMap extracts: formats, tags, and clear errors on bad files."""

from __future__ import annotations

import bz2
import math
import os
from pathlib import Path

import numpy as np
import pytest

from accesoins.errors import DataFileError
from accesoins.network import load_road_speeds, read_osm_ways
from accesoins.network._osm import parse_maxspeed, way_profile


@pytest.fixture(scope="session")
def osm_dir() -> Path:
    data = Path(os.environ.get("ACCESOINS_DATA", Path(__file__).parents[1].parent / "shared" / "data"))
    return data / "osm"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("50", 50.0), ("70 km/h", 70.0), ("30 mph", 48.28032), ("FR:urban", 50.0), ("FR:rural", 80.0),
     ("FR:zone30", 30.0), ("50;30", 50.0), ("none", math.nan), ("signals", math.nan), (None, math.nan)],
)  # fmt: skip
def test_parse_maxspeed(value: str | None, expected: float) -> None:
    got = parse_maxspeed(value)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, (True, True, 0)),
        ({"highway": "residential", "oneway": "yes"}, (True, True, 1)),
        ({"highway": "primary", "oneway": "-1"}, (True, True, -1)),
        ({"highway": "tertiary", "junction": "roundabout"}, (True, True, 1)),
        ({"highway": "motorway"}, (True, False, 1)),
        ({"highway": "footway"}, (False, True, 0)),
        ({"highway": "steps"}, (False, True, 0)),
        ({"highway": "path"}, (False, True, 0)),
        ({"highway": "track"}, (False, True, 0)),
        ({"highway": "service", "access": "private"}, (False, False, 0)),
        ({"highway": "residential", "access": "no", "foot": "yes"}, (False, True, 0)),
        ({"highway": "residential", "access": "private", "motor_vehicle": "yes"}, (True, False, 0)),
        ({"highway": "cycleway"}, (False, False, 0)),
        ({"highway": "cycleway", "foot": "designated"}, (False, True, 0)),
        ({"highway": "proposed"}, (False, False, 0)),
    ],
)
def test_way_profile(tags: dict[str, str], expected: tuple[bool, bool, int]) -> None:
    assert way_profile(tags, load_road_speeds()) == expected


def test_speed_table_is_versioned_and_complete() -> None:
    p = load_road_speeds()
    assert p.version and p.source
    assert set(p.car.urban) == set(p.car.rural)
    assert all(p.car.rural[c] >= p.car.urban[c] for c in p.car.urban)
    assert len(p.digest()) == 16


@pytest.mark.parametrize(
    ("compressed", "pbf"),
    [
        ("redon_35_overpass_2019-09-09.osm.bz2", "redon_35_overpass_2019-09-09.osm.pbf"),
        ("bure_55_saudron_52_overpass_2022-03-14.osm.gz", "bure_55_saudron_52_overpass_2022-03-14.osm.pbf"),
    ],
)
def test_xml_and_pbf_give_the_same_ways(osm_dir: Path, compressed: str, pbf: str) -> None:
    a, b = read_osm_ways(osm_dir / compressed), read_osm_ways(osm_dir / pbf)
    assert a.n_ways == b.n_ways > 100
    np.testing.assert_array_equal(a.node_osm_id, b.node_osm_id)
    np.testing.assert_allclose(a.lon, b.lon)
    np.testing.assert_array_equal(a.oneway, b.oneway)


def test_plain_xml_is_read(osm_dir: Path, tmp_path: Path) -> None:
    xml = tmp_path / "redon.osm"
    xml.write_bytes(bz2.decompress((osm_dir / "redon_35_overpass_2019-09-09.osm.bz2").read_bytes()))
    ways = read_osm_ways(xml)
    assert ways.car.sum() > 50 and ways.foot.sum() > ways.car.sum()


def test_saint_barthelemy_classes(osm_dir: Path) -> None:
    ways = read_osm_ways(osm_dir / "saint_barthelemy_977_2014.osm.pbf")
    classes = set(ways.highway.tolist())
    assert {"primary", "secondary", "tertiary", "residential", "unclassified"} <= classes
    assert ways.car.sum() > 450


def test_empty_file_gives_french_error(tmp_path: Path) -> None:
    empty = tmp_path / "vide.osm.pbf"
    empty.write_bytes(b"")
    with pytest.raises(DataFileError, match="fichier vide") as info:
        read_osm_ways(empty)
    assert info.value.path == str(empty)


@pytest.mark.parametrize("name", ["corrompu.osm.pbf", "corrompu.osm.gz", "corrompu.osm"])
def test_corrupt_file_gives_french_error(tmp_path: Path, name: str) -> None:
    bad = tmp_path / name
    bad.write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(DataFileError, match="illisible ou corrompu"):
        read_osm_ways(bad)


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="introuvable"):
        read_osm_ways(tmp_path / "absent.osm.pbf")
    other = tmp_path / "routes.shp"
    other.write_bytes(b"x")
    with pytest.raises(DataFileError, match="extension non reconnue"):
        read_osm_ways(other)


def test_file_without_roads(tmp_path: Path) -> None:
    xml = tmp_path / "sans_routes.osm"
    xml.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="47.6" lon="-2.0"/>'
        '<node id="2" lat="47.61" lon="-2.0"/><way id="3"><nd ref="1"/><nd ref="2"/>'
        '<tag k="waterway" v="river"/></way></osm>',
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="aucune voie routable"):
        read_osm_ways(xml)


def test_nodes_outside_the_extract_are_dropped(tmp_path: Path) -> None:
    xml = tmp_path / "trou.osm"
    xml.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="47.6" lon="-2.0"/>'
        '<node id="2" lat="47.601" lon="-2.0"/><node id="4" lat="47.602" lon="-2.0"/>'
        '<way id="3"><nd ref="1"/><nd ref="2"/><nd ref="99"/><nd ref="4"/>'
        '<tag k="highway" v="residential"/></way></osm>',
        encoding="utf-8",
    )
    ways = read_osm_ways(xml)
    assert ways.node_osm_id.tolist() == [1, 2, 4]
