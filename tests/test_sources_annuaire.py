"""Annuaire Santé loaders and profession keys, on the real extracts of ACCESOINS_DATA."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from accesoins.errors import DataFileError
from accesoins.sources._annuaire import ACTIVITY_COLUMNS, MODES, read_annuaire_sante, read_rpps_2017
from accesoins.sources._professions import classify_professions, load_professions

DATA = Path(os.environ.get("ACCESOINS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PROFESSIONALS = DATA / "health_professionals"
ANNUAIRE = PROFESSIONALS / "ps_libreacces_personne_activite_sample20_format.txt"
RPPS_2017 = PROFESSIONALS / "rpps_2017_gironde33_generalistes_neurologues.csv"

pytestmark = pytest.mark.skipif(not PROFESSIONALS.is_dir(), reason=f"données absentes : {PROFESSIONALS}")

PROFESSION_KEYS = {
    "generaliste", "infirmier", "kinesitherapeute", "dentiste", "sage_femme", "pharmacien", "pediatre",
    "gynecologue", "ophtalmologue", "psychiatre", "orthophoniste", "orthoptiste", "neurologue",
    "autre_specialiste", "autre",
}  # fmt: skip


@pytest.fixture(scope="module")
def rpps() -> pd.DataFrame:
    return read_rpps_2017(RPPS_2017)


@pytest.fixture(scope="module")
def annuaire() -> pd.DataFrame:
    return read_annuaire_sante(ANNUAIRE, with_place_only=False)


def _assert_located(exc: DataFileError, path: Path, line: int, column: str | None) -> None:
    message = str(exc)
    assert exc.path == str(path) and message.startswith(str(path))
    assert exc.line == line and f"ligne {line}" in message
    assert exc.column == column
    if column is not None:
        assert f"colonne « {column} »" in message


# --- profession keys ---------------------------------------------------------------------------


def test_profession_table_has_our_keys_and_first_line_flags() -> None:
    table = load_professions().set_index("profession")
    assert set(table.index) == PROFESSION_KEYS
    first_line = set(table.index[table["first_line"]])
    expected = {"generaliste", "infirmier", "kinesitherapeute", "dentiste", "sage_femme", "pharmacien"}
    assert first_line == expected
    assert table.loc["sage_femme", "label"] == "Sage-femme"


@pytest.mark.parametrize(
    ("code", "label", "specialty_code", "specialty_label", "expected"),
    [
        ("10", "Médecin", "SM54", "Médecine générale", "generaliste"),
        ("10", "Médecin", "SM53", "", "generaliste"),
        ("10", "", "SM26", "", "generaliste"),
        ("", "médecin", "", "QUALIFIÉ EN MÉDECINE GÉNÉRALE", "generaliste"),
        ("10", "Médecin", "SM40", "Pédiatrie", "pediatre"),
        ("10", "Médecin", "SM19", "Gynécologie médicale", "gynecologue"),
        ("10", "Médecin", "", "Gynécologie-obstétrique", "gynecologue"),
        ("10", "Médecin", "SM38", "Ophtalmologie", "ophtalmologue"),
        ("10", "Médecin", "", "Psychiatrie de l'enfant et de l'adolescent", "psychiatre"),
        ("10", "Médecin", "SM43", "", "psychiatre"),
        ("10", "Médecin", "SM32", "Neurologie", "neurologue"),
        ("10", "Médecin", "SM04", "Cardiologie et Maladies vasculaires", "autre_specialiste"),
        ("10", "Médecin", "", "", "autre"),
        ("60", "Infirmier", "", "", "infirmier"),
        ("70", "Masseur-Kinésithérapeute", "", "", "kinesitherapeute"),
        ("", "masseur kinesitherapeute", "", "", "kinesitherapeute"),
        ("40", "Chirurgien-Dentiste", "SCD01", "Orthopédie dento-faciale", "dentiste"),
        ("50", "Sage-Femme", "", "", "sage_femme"),
        ("21", "Pharmacien", "", "", "pharmacien"),
        ("91", "Orthophoniste", "", "", "orthophoniste"),
        ("92", "Orthoptiste", "", "", "orthoptiste"),
        ("28", "Opticien-Lunetier", "", "", "autre"),
        ("", "", "", "", "autre"),
    ],
)
def test_classify_professions_by_code_or_label(
    code: str, label: str, specialty_code: str, specialty_label: str, expected: str
) -> None:
    def one(value: str) -> pd.Series:
        return pd.Series([value])

    result = classify_professions(one(code), one(label), one(specialty_code), one(specialty_label))
    assert result.tolist() == [expected]


def test_code_wins_over_label() -> None:
    empty = pd.Series([""])
    result = classify_professions(pd.Series(["60"]), pd.Series(["Pharmacien"]), empty, empty)
    assert result.tolist() == ["infirmier"]


# --- RPPS 2017 ---------------------------------------------------------------------------------


def test_rpps_2017_counts(rpps: pd.DataFrame) -> None:
    """1,495 lines, 25 of them exact copies of an earlier line (removed, with a warning)."""
    assert list(rpps.columns) == list(ACTIVITY_COLUMNS)
    assert len(rpps) == 1470
    assert rpps["profession"].value_counts().to_dict() == {"generaliste": 1390, "neurologue": 80}
    assert rpps["practitioner_id"].nunique() == 1293
    assert rpps["finess_site"].ne("").sum() == 372
    assert rpps["commune_code"].nunique() == 169
    assert rpps["activity_id"].is_unique
    assert rpps["practitioner_id"].str.fullmatch(r"\d{11}").all()
    assert rpps["mode"].isin(MODES).all()
    assert rpps["source_line"].is_monotonic_increasing and rpps["source_line"].iloc[-1] == 1496
    assert 229 not in set(rpps["source_line"])  # line 229 repeats an earlier line


def test_rpps_2017_duplicate_lines_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        read_rpps_2017(RPPS_2017)
    assert "25 ligne(s) en double" in caplog.text


def test_rpps_2017_known_practitioner(rpps: pd.DataFrame) -> None:
    row = rpps.set_index("source_line").loc[2]
    assert row["practitioner_id"] == "10100499945"  # RPPS 810100499945 without its type digit
    assert (row["commune_code"], row["commune_name"], row["postcode"]) == ("33140", "Créon", "33670")
    assert (row["profession"], row["profession_label"], row["mode"]) == (
        "generaliste",
        "Médecin généraliste",
        "liberal",
    )
    assert row["activity_id"] == f"{RPPS_2017.name}:2" and row["source_file"] == RPPS_2017.name


def test_rpps_2017_keeps_no_names(rpps: pd.DataFrame) -> None:
    assert not {"Nom", "Prenom"} & set(rpps.columns)
    assert not rpps.isin(["GAIANI", "GIULIA"]).any(axis=None)


def test_rpps_2017_mode_inference(rpps: pd.DataFrame) -> None:
    by_name = rpps.groupby("site_name")["mode"].agg(lambda m: set(m))
    assert by_name["CENTRE MUNICIPAL DE SANTE D'ARCACHON"] == {"centre_sante"}
    assert by_name["CENTRE DE SANTE MEDICAL GALLIENI"] == {"centre_sante"}
    assert by_name["CENTRE EXAMENS DE SANTE DE LA GIRONDE"] == {"salarie"}  # an establishment, not a CDS
    assert by_name["HOPITAL SAINT-ANDRE - CHU"] == {"salarie"}
    assert by_name["MAISON DE SANTE MARIE GALENE"] == {"liberal"}  # named like an MSP (documented limit)
    assert by_name["AGENCE REGIONALE DE SANTE DE NOUVELLE-AQUITAINE"] == {"salarie"}  # employer name
    assert by_name["CABINET DU DR GIULIA GAIANI"] == {"liberal"}
    assert rpps["mode"].value_counts().to_dict() == {"liberal": 1076, "salarie": 387, "centre_sante": 7}
    in_establishment = rpps["finess_site"].ne("")
    assert rpps.loc[in_establishment, "mode"].isin(["salarie", "centre_sante", "liberal"]).all()
    assert rpps.loc[in_establishment & rpps["mode"].eq("liberal"), "site_name"].str.contains("MAISON").all()


# --- Annuaire Santé (current format) -----------------------------------------------------------


def test_annuaire_sample_counts(annuaire: pd.DataFrame) -> None:
    assert list(annuaire.columns) == list(ACTIVITY_COLUMNS)
    assert len(annuaire) == 22
    professions = annuaire["profession"].value_counts().to_dict()
    assert professions == {"autre": 20, "orthoptiste": 1, "gynecologue": 1}
    assert annuaire["commune_code"].ne("").sum() == 7
    assert annuaire["mode"].value_counts().to_dict() == {"salarie": 17, "inconnu": 3, "liberal": 2}
    assert annuaire["activity_id"].is_unique


def test_annuaire_physician_identifier(annuaire: pd.DataFrame) -> None:
    physician = annuaire[annuaire["profession"].eq("gynecologue")].iloc[0]
    assert physician["practitioner_id"] == "10106476764"  # Identification nationale 810106476764
    assert physician["source_line"] == 23 and physician["mode"] == "salarie"
    adeli = annuaire.set_index("source_line").loc[2, "practitioner_id"]
    assert adeli == "010001949"


def test_annuaire_known_activity(annuaire: pd.DataFrame) -> None:
    row = annuaire.set_index("source_line").loc[19]
    assert row["finess_site"] == "010000024" and row["site_name"] == "CH DE FLEYRIAT"
    assert row["street"] == "900 Route DE PARIS"
    assert (row["postcode"], row["commune_code"], row["commune_name"]) == ("01440", "01451", "Viriat")
    assert row["siret"] == "26010004500012" and row["mode"] == "salarie"


def test_annuaire_keeps_activities_with_a_place() -> None:
    kept = read_annuaire_sante(ANNUAIRE)
    assert len(kept) == 13
    orthoptist = kept[kept["profession"].eq("orthoptiste")].iloc[0]
    # no commune code, SIRET nor FINESS, but a structure (identifiant technique) with an address
    assert (orthoptist["commune_code"], orthoptist["siret"], orthoptist["finess_site"]) == ("", "", "")
    assert (orthoptist["street"], orthoptist["postcode"], orthoptist["mode"]) == (
        "90 Rue PRINCIPALE",
        "01390",
        "liberal",
    )
    assert "gynecologue" not in set(kept["profession"])  # the physician has no place of practice


def test_annuaire_health_centre_sector(tmp_path: Path) -> None:
    text = ANNUAIRE.read_text(encoding="utf-8").replace("|SA08|Cabinet de groupe|", "|SA05|Centre de santé|")
    path = tmp_path / ANNUAIRE.name
    path.write_text(text, encoding="utf-8")
    row = read_annuaire_sante(path).set_index("source_line").loc[11]
    assert row["mode"] == "centre_sante"


# --- broken files ------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _drop_field(lines: list[str], sep: str, index: int) -> list[str]:
    out = []
    for line in lines:
        fields = line.split(sep)
        out.append(sep.join(fields[:index] + fields[index + 1 :]) if line else line)
    return out


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


ANNUAIRE_COMMUNE = "Code commune (coord. structure)"


def test_annuaire_latin1_copy(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(ANNUAIRE.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(DataFileError) as info:
        read_annuaire_sante(path)
    _assert_located(info.value, path, 1, "Code civilit\ufffd d'exercice")  # first accent: in the header
    assert "Latin-1" in str(info.value) and "UTF-8" in str(info.value)


def test_annuaire_wrong_separator(tmp_path: Path) -> None:
    path = _write(tmp_path, "semicolon.txt", [line.replace("|", ";") for line in _lines(ANNUAIRE)])
    with pytest.raises(DataFileError) as info:
        read_annuaire_sante(path)
    _assert_located(info.value, path, 1, None)
    assert "mauvais séparateur" in str(info.value) and "barre verticale" in str(info.value)


def test_annuaire_missing_column(tmp_path: Path) -> None:
    lines = _lines(ANNUAIRE)
    index = lines[0].split("|").index(ANNUAIRE_COMMUNE)
    path = _write(tmp_path, "missing.txt", _drop_field(lines, "|", index))
    with pytest.raises(DataFileError) as info:
        read_annuaire_sante(path)
    _assert_located(info.value, path, 1, ANNUAIRE_COMMUNE)
    assert "absente" in str(info.value)


def test_annuaire_truncated_last_line(tmp_path: Path) -> None:
    lines = [line for line in _lines(ANNUAIRE) if line]
    last = lines[-1].split("|")
    path = _write(tmp_path, "truncated.txt", [*lines[:-1], "|".join(last[:20])])
    with pytest.raises(DataFileError) as info:
        read_annuaire_sante(path)
    _assert_located(info.value, path, 23, lines[0].split("|")[20])
    assert "tronqué" in str(info.value)


def test_annuaire_non_numeric_commune_code(tmp_path: Path) -> None:
    lines = _lines(ANNUAIRE)
    lines[18] = lines[18].replace("|01451|", "|O1451|")  # line 19, letter O
    path = _write(tmp_path, "commune.txt", lines)
    with pytest.raises(DataFileError) as info:
        read_annuaire_sante(path)
    _assert_located(info.value, path, 19, ANNUAIRE_COMMUNE)
    assert "O1451" in str(info.value)


def test_annuaire_non_numeric_profession_code(tmp_path: Path) -> None:
    lines = _lines(ANNUAIRE)
    lines[1] = lines[1].replace("|71|Ostéopathe|", "|7I|Ostéopathe|")
    path = _write(tmp_path, "profession.txt", lines)
    with pytest.raises(DataFileError) as info:
        read_annuaire_sante(path)
    _assert_located(info.value, path, 2, "Code profession")


def test_annuaire_inconsistent_identifier(tmp_path: Path) -> None:
    lines = _lines(ANNUAIRE)
    lines[22] = lines[22].replace("|810106476764|", "|810106476765|")
    path = _write(tmp_path, "ident.txt", lines)
    with pytest.raises(DataFileError) as info:
        read_annuaire_sante(path)
    _assert_located(info.value, path, 23, "Identifiant PP")
    lines = _lines(ANNUAIRE)
    lines[22] = lines[22].replace("|10106476764|810106476764|", "|1010647676|81010647676|")
    path = _write(tmp_path, "rpps10.txt", lines)
    with pytest.raises(DataFileError) as info:
        read_annuaire_sante(path)
    _assert_located(info.value, path, 23, "Identifiant PP")
    assert "11 chiffres" in str(info.value)


def test_rpps_2017_latin1_copy(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(RPPS_2017.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(DataFileError) as info:
        read_rpps_2017(path)
    _assert_located(info.value, path, 2, "LibCommune")  # « Créon »
    assert "Latin-1" in str(info.value)


def test_rpps_2017_wrong_separator(tmp_path: Path) -> None:
    path = _write(tmp_path, "semicolon.csv", [line.replace(",", ";") for line in _lines(RPPS_2017)])
    with pytest.raises(DataFileError) as info:
        read_rpps_2017(path)
    _assert_located(info.value, path, 1, None)
    assert "mauvais séparateur" in str(info.value)


def test_rpps_2017_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "missing.csv", _drop_field(_lines(RPPS_2017), ",", 5))
    with pytest.raises(DataFileError) as info:
        read_rpps_2017(path)
    _assert_located(info.value, path, 1, "Commune")


def test_rpps_2017_truncated_last_line(tmp_path: Path) -> None:
    lines = [line for line in _lines(RPPS_2017) if line]
    path = _write(tmp_path, "truncated.csv", [*lines[:-1], lines[-1][:40]])
    with pytest.raises(DataFileError) as info:
        read_rpps_2017(path)
    fields = lines[-1][:40].count(",") + 1
    _assert_located(info.value, path, 1496, lines[0].split(",")[fields])
    assert "tronqué" in str(info.value)


def test_rpps_2017_non_numeric_commune_code(tmp_path: Path) -> None:
    lines = _lines(RPPS_2017)
    lines[2] = lines[2].replace(",33063,", ",33O63,")  # line 3
    path = _write(tmp_path, "commune.csv", lines)
    with pytest.raises(DataFileError) as info:
        read_rpps_2017(path)
    _assert_located(info.value, path, 3, "Commune")


def test_rpps_2017_short_identifier(tmp_path: Path) -> None:
    lines = _lines(RPPS_2017)
    lines[4] = lines[4][1:]  # 11 digits instead of 12
    path = _write(tmp_path, "rpps.csv", lines)
    with pytest.raises(DataFileError) as info:
        read_rpps_2017(path)
    _assert_located(info.value, path, 5, "RPPS")
