"""Professionals and FINESS files are recognised by their header, whatever their name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from accesoins.errors import DataFileError
from accesoins.sources import (
    ESTABLISHMENTS,
    PROFESSIONALS,
    FileFormat,
    detect_format,
    find_by_header,
    read_establishments,
    read_gp_iris,
    read_professionals,
    read_rpps_2017,
)

HP = "health_professionals"


@pytest.mark.parametrize(
    ("path", "formats", "expected"),
    [
        (f"{HP}/rpps_2017_gironde33_generalistes_neurologues.csv", PROFESSIONALS, "rpps_2017"),
        (f"{HP}/ps_libreacces_personne_activite_sample20_format.txt", PROFESSIONALS, "annuaire_sante"),
        ("apl_reference_06/gp_iris_06_2022.csv", PROFESSIONALS, "gp_iris"),
        (
            f"{HP}/finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv",
            ESTABLISHMENTS,
            "finess_geoloc_wgs84",
        ),
        (f"{HP}/finess_etalab_stock_et_20201231_sample100_dep01.csv", ESTABLISHMENTS, "finess_stock"),
    ],
)
def test_real_files_are_recognised(
    data_dir: Path, path: str, formats: tuple[FileFormat, ...], expected: str
) -> None:
    assert detect_format(data_dir / path, formats).name == expected


def test_renamed_files_are_read_by_their_header(data_dir: Path, tmp_path: Path) -> None:
    rpps, gp = tmp_path / "medecins.csv", tmp_path / "export.txt"
    shutil.copy(data_dir / HP / "rpps_2017_gironde33_generalistes_neurologues.csv", rpps)
    shutil.copy(data_dir / "apl_reference_06/gp_iris_06_2022.csv", gp)
    assert read_professionals(rpps).equals(read_rpps_2017(rpps))
    assert len(read_professionals(rpps)) == 1470  # 25 exact duplicate lines removed
    assert read_professionals(gp).equals(read_gp_iris(gp))
    finess = tmp_path / "etablissements.csv"
    shutil.copy(data_dir / HP / "finess_2017-01_gironde33_etablissements_geoloc_wgs84.csv", finess)
    assert len(read_establishments(finess)) == 2007


def test_unknown_header_names_the_file_and_line_one(data_dir: Path) -> None:
    path = data_dir / "apl_reference_06/gp_iris_06_2022.csv"
    with pytest.raises(
        DataFileError, match=r"gp_iris_06_2022\.csv, ligne 1 : en-tête non reconnu.*code,label,long,lat"
    ):
        read_establishments(path)


def test_files_are_found_by_header_whatever_their_folder_and_name(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    shutil.copy(
        data_dir / HP / "rpps_2017_gironde33_generalistes_neurologues.csv", tmp_path / "a" / "medecins.csv"
    )
    shutil.copy(data_dir / "apl_reference_06/pop_iris_06_2019_insee.xlsx", tmp_path / "a" / "pop.xlsx")
    (tmp_path / "notes.txt").write_text("rien à voir\n", encoding="utf-8")
    found = find_by_header(tmp_path, PROFESSIONALS)
    assert [(p.name, f.name) for p, f in found] == [("medecins.csv", "rpps_2017")]
    assert find_by_header(tmp_path, ESTABLISHMENTS) == []
