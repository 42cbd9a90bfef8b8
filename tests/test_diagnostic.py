"""Diagnostic of Bordeaux Métropole (EPCI 243300316) on the real Gironde data: PDF and DOCX, same tables,
totals equal to the indicators export, optional sections from the snapshot's local tables."""

from __future__ import annotations

from pathlib import Path

import docx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from accesoins import sources
from accesoins.cli import app
from accesoins.geo import parse_territory
from accesoins.observatory import BuildOptions, build_observatory
from accesoins.outputs import build_diagnostic, write_diagnostic
from accesoins.store import Store
from test_labels import codes_in, flowing_text
from test_reports import keep_images, pdf_pages, pdf_text

pytestmark = pytest.mark.slow
EPCI = "243300316"
HEADINGS = (
    "Synthèse",
    "L'accès aux médecins généralistes, commune par commune",
    "Unités prioritaires : accès faible et besoin fort",
    "Quartiers prioritaires et quartiers",
    "Sources, méthode et secret statistique",
)


def number(text: str) -> float:
    """A French number of the documents back to a float (« 254 436 », « 3,87 »); NaN for « — »."""
    cleaned = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    return float("nan") if cleaned in ("—", "") else float(cleaned)


def docx_tables(path: Path) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in t.rows] for t in docx.Document(str(path)).tables]


def docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return " ".join([p.text for p in document.paragraphs] + cells)


@pytest.fixture(scope="module")
def written(
    store_path: Path, gironde: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, str]:
    out = tmp_path_factory.mktemp("diagnostic") / "diagnostic.pdf"
    args = ["report", "--territory", EPCI, "--diagnostic", "--out", str(out), "--store", str(store_path)]
    result = CliRunner().invoke(app, [*args, "--snapshot", gironde])
    assert result.exit_code == 0, result.output
    return out, out.with_suffix(".docx"), result.output


@pytest.fixture(scope="module")
def export(store_path: Path, gironde: str, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The commune indicators export of the same snapshot, GP rows of the métropole's communes."""
    out = tmp_path_factory.mktemp("export") / "communes.csv"
    args = ["indicators", "--level", "commune", "--out", str(out), "--store", str(store_path)]
    result = CliRunner().invoke(app, [*args, "--snapshot", gironde])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"unit_id": str, "parent_id": str})
    communes = parse_territory(EPCI).select(sources.read_communes())["commune_code"]
    gp = table[(table["profession"] == "generaliste") & table["unit_id"].isin(communes)]
    return gp.set_index("unit_id")


def test_pdf_of_bordeaux_metropole(written: tuple[Path, Path, str]) -> None:
    pdf, docx_path, output = written
    assert docx_path.exists() and "diagnostic.docx" in output
    assert pdf_pages(pdf) >= 7
    text = flowing_text(pdf)
    for heading in HEADINGS:
        assert heading in text, heading
    assert text.count("Comment lire :") >= 5
    assert "Diagnostic de l'accès aux soins — Bordeaux Métropole" in text
    assert "Bordeaux Métropole : 28 communes, 791 958 habitants" in text
    # the territory against the DREES publication, the département and France
    assert "Gironde (33) (DREES)" in text and "France entière (DREES)" in text
    assert "indicatif — ce n'est pas le zonage de l'ARS" in text
    # the build attached Filosofi by IRIS from the data folder: the priority section crosses it with the APL
    assert "Taux de pauvreté (seuil à 60 %)" in text
    # the eight quartiers of Bordeaux, Maritime first (its GP density ratio against the rest of Bordeaux)
    assert "Bordeaux Maritime" in text and "0,01 [0,00 ; 0,12]" in text
    assert codes_in(text) == []
    assert len(keep_images(pdf)) == pdf_pages(pdf)


def test_totals_equal_the_indicators_export(written: tuple[Path, Path, str], export: pd.DataFrame) -> None:
    _, docx_path, _ = written
    communes = next(t for t in docx_tables(docx_path) if t[0][:2] == ["Commune", "Code"])
    rows = {r[1]: r for r in communes[1:] if r[1]}
    assert set(rows) == set(export.index) and len(rows) == 28
    for code, row in rows.items():
        assert number(row[2]) == pytest.approx(export.at[code, "population"], abs=0.5), code
        assert number(row[3]) == export.at[code, "headcount"], code
        assert number(row[5]) == pytest.approx(export.at[code, "apl"], abs=0.005), code
    total = communes[-1]
    assert total[0] == "Ensemble du territoire"
    assert number(total[2]) == pytest.approx(export["population"].sum(), abs=0.5) == 791_958
    assert number(total[3]) == export["headcount"].sum() == 786
    weighted = np.average(export["apl"], weights=export["population"])
    assert number(total[5]) == pytest.approx(weighted, abs=0.005)
    assert number(rows["33063"][5]) == pytest.approx(4.51, abs=0.005)  # Bordeaux
    assert number(rows["33192"][5]) == pytest.approx(2.68, abs=0.005)  # Gradignan, sous-dotée


def test_docx_holds_the_same_tables_as_the_pdf(written: tuple[Path, Path, str]) -> None:
    pdf, docx_path, _ = written
    tables = docx_tables(docx_path)
    headers = [t[0][0] for t in tables]
    assert headers[:3] == ["Profession", "Périmètre", "Commune"] and headers[-1] == "Source"
    assert "Zone" in headers  # the quartiers of Bordeaux
    layout = pdf_text(pdf)
    communes = tables[2]
    for row in communes[1:-1]:  # code, population, GPs, density and APL on one line of the PDF
        assert " ".join(row[1:6]).replace("\u202f", " ") in layout, row
    for row in tables[-1][1:]:  # sources: vintage, rows and checksum
        assert row[4] in layout
    assert codes_in(docx_text(docx_path)) == []
    assert "Comment lire" in docx_text(docx_path)


def test_report_diagnostic_errors_in_french(store_path: Path, gironde: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--diagnostic", "--store", str(store_path)])
    assert result.exit_code == 2 and "--territory" in result.output
    out = tmp_path / "d.pdf"
    result = runner.invoke(
        app, ["report", "-t", "35238", "--diagnostic", "--out", str(out), "--store", str(store_path)]
    )
    assert result.exit_code == 2 and "aucun instantané ne couvre le territoire « 35238 »" in result.output
    assert not out.exists() and not out.with_suffix(".docx").exists()


# -- sections from the snapshot's local tables (the shared contract of issue 13) ------------------------


def _attach(store: Store, sid: str) -> int:
    """Departures for every third GP of snapshot ``sid`` (synthetic years; no such file is public); the
    Filosofi poverty by IRIS and the nurses' ARS zoning are attached by the build from the data folder.
    Returns the GPs aged 60+."""
    activities = store.table("activities", sid, where="profession = 'generaliste'")
    ids = sorted(set(activities["practitioner_id"]))[::3]
    departures = pd.DataFrame(
        {
            "practitioner_key": ids,
            "birth_year": [1955 + i % 20 for i in range(len(ids))],
            "departure_year": pd.array(
                [2028 if i % 7 == 0 else None for i in range(len(ids))], dtype="Int64"
            ),
        }
    )
    with store.transaction():
        store.append_rows("practitioner_departures", departures.assign(snapshot_id=sid))
    return int((departures["birth_year"] <= 2026 - 60).sum())


def test_sections_from_local_tables_and_trends(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    for vintage in (2022, 2023):
        latest = build_observatory(BuildOptions(parse_territory(EPCI), data_dir, path, vintage=vintage))
    with Store(path) as store:
        seniors = _attach(store, latest)
    with Store(path, read_only=True) as store:
        content = build_diagnostic(store, EPCI, year=2026)  # the latest snapshot that covers the territory
    assert content.snapshot_id == latest
    sections = {s.title: s for s in content.sections}
    priority = sections["Unités prioritaires : accès faible et besoin fort"]
    assert "Taux de pauvreté (seuil à 60 %) (%, 2018" in priority.paragraphs[0]
    grid, ranked = priority.tables
    counts = np.array([[number(v) for v in row[1:]] for row in grid.rows])
    # 72 of the 88 IRIS of Bordeaux have a poverty rate (INSEE suppressed 16); 8 are A1-B3
    assert counts.sum() == 72 and counts[0, 2] == len(ranked.rows) == 8
    first = ranked.rows[0]
    assert first[2] == "Bordeaux" and number(first[4]) >= 30.0  # among the poorest IRIS of Bordeaux
    zoning = sections["Zonage officiel de l'ARS"].tables[0]
    assert sum(number(r[2]) for r in zoning.rows) == 28
    assert {r[0] for r in zoning.rows} == {"Infirmier"}
    departures = sections["Départs de praticiens"].tables[0]
    assert departures.columns[3:] == ["Partis d'ici 2031", "Partis d'ici 2036"]
    gp = next(r for r in departures.rows if r[0] == "Médecin généraliste")
    # 756 distinct GPs (786 in the commune table counts a GP once in each commune of practice)
    assert gp[1] == "756" and number(gp[2]) == seniors
    assert 0 < number(gp[3]) <= number(gp[4])
    assert next(r for r in departures.rows if r[0] == "Neurologue")[2] == "moins de 3"  # none in the file
    trend = sections["Évolution"].tables[0]
    assert [r[2] for r in trend.rows] == ["2022", "2023"] and trend.rows[1][0] == latest
    pdf, written_docx = write_diagnostic(content, tmp_path / "complet.pdf")
    text = flowing_text(pdf)
    assert codes_in(text) == [] and codes_in(docx_text(written_docx)) == []
    assert "zone " in text and "(zonage de l'ARS)" in text
    assert len(docx_tables(written_docx)) == sum(len(s.tables) for s in content.sections)
    keep_images(pdf)


NICE_METROPOLE = "200030195"


def test_nice_metropole_priorities_and_qpv_zoning(data_dir: Path, tmp_path: Path) -> None:
    """IRIS of the Métropole Nice Côte d'Azur (road times, IRIS supply) × Filosofi poverty; QPV 2024 in the
    ARS PACA doctors' zoning (ZIP/ZAC carried by the ANCT file)."""
    path = tmp_path / "s.duckdb"
    build_observatory(BuildOptions(parse_territory("06"), data_dir, path, vintage=2022))
    with Store(path, read_only=True) as store:
        content = build_diagnostic(store, NICE_METROPOLE)
    assert content.title.endswith("Métropole Nice Côte d'Azur") and len(content.communes) == 51
    assert content.key[2][1] == "médecins généralistes en équivalent temps plein"  # supply known per IRIS
    sections = {s.title: s for s in content.sections}
    grid, ranked = sections["Unités prioritaires : accès faible et besoin fort"].tables
    counts = np.array([[number(v) for v in row[1:]] for row in grid.rows])
    assert counts.sum() == 173 and counts[0, 2] == len(ranked.rows) == 14
    # first priority: Bon Voyage (Nice), 45,4 % poor, APL 4,05 in the lowest tercile of the métropole's IRIS
    assert ranked.rows[0][1:] == ["Bon Voyage", "Nice", "4,05", "45,4"]
    assert ["IRIS 060330103", "Carros", "3,19", "26,5"] in [r[1:] for r in ranked.rows]  # IRIS without a name
    zoned = next(t for t in sections["Zonage officiel de l'ARS"].tables if t.columns[0] == "QPV")
    assert zoned.columns[0] == "QPV" and len(zoned.rows) == 10  # the 10 QPV 2024 of the métropole
    zones = {r[0]: r[3] for r in zoned.rows}
    assert zones["Les Moulins - Le Point Du Jour"] == "zone d'action complémentaire (ZAC, zonage de l'ARS)"
    pdf, written_docx = write_diagnostic(content, tmp_path / "nice.pdf")
    assert codes_in(flowing_text(pdf)) == [] and codes_in(docx_text(written_docx)) == []
    keep_images(pdf)
