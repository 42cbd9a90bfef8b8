"""Source catalogue (locate, fetch with checksum) and address-level placement."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from accesoins.errors import AccesoinsError, MissingSourceError, UnknownChoiceError
from accesoins.geo import place_activities
from accesoins.sources import CATALOG, fetch, locate


def test_locate_real_files_in_order_of_preference(data_dir: Path) -> None:
    od = locate("od_table", data_dir)
    assert od[0].name == "od_iris_06_alpes_maritimes_le30min.csv"  # the exact APL input comes first
    assert [p.name for p in locate("apl_drees", data_dir)] == [
        "apl_medecins_generalistes_2022_2023_drees.xlsx"
    ]
    assert locate("osm", data_dir, required=False)
    with pytest.raises(MissingSourceError, match=r"accesoins fetch population_iris"):
        locate("population_iris", data_dir / "qpv")
    with pytest.raises(UnknownChoiceError, match="Valeurs possibles : annuaire_sante"):
        locate("rpps", data_dir)


def test_fetch_keeps_raw_file_and_checksum(data_dir: Path, tmp_path: Path) -> None:
    original = data_dir / "qpv" / "qpv_2015_ille_et_vilaine.geojson"
    path = fetch("qpv", tmp_path, url=original.as_uri())
    assert path == tmp_path / "raw" / "qpv" / "qpv_2015_ille_et_vilaine.geojson"
    assert path.read_bytes() == original.read_bytes()
    manifest = json.loads((path.parent / "manifest.json").read_text())
    entry = manifest["qpv_2015_ille_et_vilaine.geojson"]
    assert entry["sha256"] == hashlib.sha256(original.read_bytes()).hexdigest()
    assert entry["url"] == original.as_uri()
    assert locate("qpv", tmp_path) == [path]  # a fetched file is found by the loaders
    with pytest.raises(AccesoinsError, match="téléchargement impossible"):
        fetch("qpv", tmp_path, url=(tmp_path / "absent.geojson").as_uri())
    assert not list((tmp_path / "raw" / "qpv").glob("*.part"))
    assert all(spec.url.startswith("https://") for spec in CATALOG.values() if spec.url)


def test_address_placement_with_a_ban_table() -> None:
    """Synthetic: no BAN file is available here; checks the precedence establishment > address > commune."""
    communes = gpd.GeoDataFrame(
        {"commune_code": ["33063"], "town_hall": [shapely.Point(-0.5792, 44.8378)]},
        geometry=[shapely.box(-0.64, 44.81, -0.53, 44.91)],
        crs="EPSG:4326",
    )
    activities = pd.DataFrame(
        {
            "practitioner_id": ["1", "2", "3", "4"],
            "finess_site": ["330781360", "", "", ""],
            "street_number": ["", "12", "12", "99"],
            "street_name": ["", "Rue Sainte-Catherine", "RUE STE CATHERINE", "Rue Inconnue"],
            "commune_code": ["33063", "33063", "33063", "33063"],
        }
    )
    finess = pd.DataFrame({"finess": ["330781360"], "lon": [-0.6033], "lat": [44.8300]})
    ban = pd.DataFrame(
        {
            "numero": ["12"],
            "nom_voie": ["Rue Sainte-Catherine"],
            "code_insee": ["33063"],
            "lon": [-0.5735],
            "lat": [44.8401],
        }
    )
    placed = place_activities(activities, communes, establishments=finess, addresses=ban)
    assert placed["precision"].tolist() == ["etablissement", "adresse", "commune", "commune"]
    assert placed.geometry.iloc[1].equals(shapely.Point(-0.5735, 44.8401))
    assert placed.geometry.iloc[3].equals(shapely.Point(-0.5792, 44.8378))  # town hall
