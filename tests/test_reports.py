"""Fiches (PDF) on the real Gironde snapshot, checked by their text; page images kept as artefacts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accesoins.cli import app
from accesoins.french import format_number
from accesoins.outputs import Gate, ReportBuilder
from accesoins.store import Store

REPO = Path(__file__).resolve().parents[1]
ARTEFACTS = REPO / "artefacts" / "reports"
pytestmark = pytest.mark.slow


def pdf_text(path: Path) -> str:
    """Text of a PDF (pdftotext, poppler-utils) with every kind of space made a plain space."""
    raw = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return re.sub(r"[ \u00a0\u202f\u2009]+", " ", raw)


def first_page(path: Path) -> str:
    """Text of page 1 of a PDF, spaces folded, lines joined."""
    raw = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return re.sub(r"[ \u00a0\u202f\u2009\n]+", " ", raw)


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]


def keep_images(path: Path) -> list[Path]:
    """Page images under artefacts/reports/ (pdftoppm), for a human look at the layout."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    pages = re.compile(rf"{re.escape(path.stem)}-\d+\.png")
    for old in ARTEFACTS.iterdir():
        if pages.fullmatch(old.name):
            old.unlink()
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(path), str(ARTEFACTS / path.stem)], check=True)
    return sorted(p for p in ARTEFACTS.iterdir() if pages.fullmatch(p.name))


def fr(x: float, digits: int) -> str:
    return f"{x:,.{digits}f}".replace(",", " ").replace(".", ",")


def test_fiche_bordeaux(store_path: Path, gironde: str, tmp_path: Path) -> None:
    out = tmp_path / "fiche-33063.pdf"
    result = CliRunner().invoke(
        app,
        ["report", "--unit", "33063", "--out", str(out), "--store", str(store_path), "--snapshot", gironde],
    )
    assert result.exit_code == 0, result.output
    page1 = first_page(out)  # the vintage of every source on page 1, not only in the sources table
    assert "Millésimes des données" in page1 and "2017" in page1 and "2021" in page1, page1[:600]
    with Store(store_path, read_only=True) as store:
        gp = store.table(
            "indicators",
            gironde,
            where="level = 'commune' AND unit_id = '33063' AND profession = 'generaliste'",
        ).iloc[0]
        sources = store.sources(gironde)
    text = pdf_text(out)
    flat = " ".join(text.split())
    assert "Quartiers prioritaires et quartiers" in flat  # the ONPV question on the 8 quartiers of Bordeaux
    assert "0,01 [0,00 ; 0,12]" in flat and "19,04 [13,10 ; 28,01]" in flat  # Maritime, Saint Augustin
    assert 2 <= pdf_pages(out) <= 5  # with the needs and ARS zoning section (issue 13)
    assert "Bordeaux" in text and "Commune 33063" in text and "Gironde (33)" in text
    assert re.search(r"Population \(habitants\) +254 436 ", text)
    assert re.search(r"Médecins généralistes +400 ", text)
    assert gp["headcount"] == 400 and gp["population"] == 254_436
    assert gp["apl"] >= 4 and re.search(fr(gp["apl"], 2) + " +bien dotée ", text)  # value and class badge
    assert "classe d'APL : 4 et plus (indicatif" in text
    assert re.search(r"APL \(consultations par an et par habitant\) +" + fr(gp["apl"], 2), text)
    assert "Neurologue" in text and "Comment lire cette fiche" in text
    assert "premier instantané" in text
    assert "Carte fine : carreaux de 200 m" in text  # Bordeaux is covered by the 200 m grid extract
    for row in sources.itertuples():
        assert row.sha256[:16] in text
    assert "rpps_2017_gironde33" in text
    assert len(keep_images(out)) == pdf_pages(out)


def test_fiche_shows_change_since_previous_snapshot(store_path: Path, gironde: str, tmp_path: Path) -> None:
    """A second Gironde snapshot with three Bordeaux GPs gone: the fiche says 400 → 397 and 3 departures."""
    copy = tmp_path / "deux.duckdb"
    shutil.copy(store_path, copy)
    with Store(copy) as store:
        acts = store.geotable("activities", gironde)
        single = acts["practitioner_id"].map(acts["practitioner_id"].value_counts()) == 1
        here = (acts["commune_code"] == "33063") & (acts["profession"] == "generaliste")
        gone = acts[single & here].head(3)
        leavers = gone["practitioner_id"].nunique()
        assert leavers == 3
        ind = store.table("indicators", gironde)
        mask = (ind["unit_id"] == "33063") & (ind["profession"] == "generaliste")
        ind.loc[mask, "headcount"] = 400 - leavers
        ind.loc[mask, "apl"] = ind.loc[mask, "apl"] - 0.25
        with store.snapshot("33", store.metadata(gironde)) as writer:
            writer.append("units", store.geotable("units", gironde))
            writer.append("indicators", ind)
            writer.append("sites", store.geotable("sites", gironde))
            writer.append("activities", acts.drop(index=gone.index))
            writer.append("sources", store.sources(gironde))
            second = writer.snapshot_id
    with Store(copy, read_only=True) as store:
        apl_before = store.table(
            "indicators",
            gironde,
            where="unit_id = '33063' AND level = 'commune' AND profession = 'generaliste'",
        )["apl"].iloc[0]
        builder = ReportBuilder(store, second)
        out = builder.render("33063", tmp_path / "fiche-33063-evolution.pdf")
    text = pdf_text(out)
    assert f"Depuis l'instantané {gironde}" in text
    assert pdf_pages(out) <= 4
    assert f"0 arrivée(s) et {leavers} départ(s)" in text
    assert re.search(
        rf"Médecin généraliste +400 +{400 - leavers} +0 +{leavers} +{fr(apl_before, 2)} +"
        rf"{fr(apl_before - 0.25, 2)}",
        text,
    )
    keep_images(out)


def test_small_commune_is_masked_in_its_fiche(store_path: Path, gironde: str) -> None:
    with Store(store_path, read_only=True) as store:
        units = store.geotable("units", gironde, where="level = 'commune'")
        small = units.sort_values("population").iloc[0]
        k = int(small["population"]) + 1
        builder = ReportBuilder(store, gironde)
        assert builder.k == 11  # recorded in the snapshot
        builder.gate = Gate(k, units.geometry)
        context = builder.context(str(small["unit_id"]))
    assert f"moins de {k} habitants" in context["secret"]
    population = next(r["unit"] for r in context["key_rows"] if r["label"] == "Population (habitants)")
    assert format_number(float(small["population"])) not in population


def test_all_with_limit_and_errors(store_path: Path, gironde: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "report",
            "--all",
            "--limit",
            "2",
            "--out",
            str(tmp_path / "fiches"),
            "--store",
            str(store_path),
            "--snapshot",
            gironde,
        ],
    )
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "fiches").glob("*.pdf"))
    assert [f.name for f in files] == ["fiche-33001.pdf", "fiche-33002.pdf"]
    assert "Abzac" in pdf_text(files[0])
    assert "carreaux de 200 m" not in pdf_text(files[0])  # outside the grid extract
    result = runner.invoke(
        app, ["report", "--unit", "99999", "--store", str(store_path), "--snapshot", gironde]
    )
    assert result.exit_code == 2
    assert "absente de l'instantané" in result.output
    result = runner.invoke(app, ["report", "--all", "--level", "carreau", "--store", str(store_path)])
    assert result.exit_code == 2 and "commune ou iris" in result.output
    result = runner.invoke(app, ["report", "--store", str(store_path)])
    assert result.exit_code == 2 and "--unit" in result.output
    result = runner.invoke(app, ["report", "--unit", "99999", "--store", str(store_path)])
    assert result.exit_code == 2 and "aucun instantané ne contient l'unité « 99999 »" in result.output
    # without --snapshot: the latest snapshot that holds the unit, whatever was built after it
    out = tmp_path / "talence.pdf"
    result = runner.invoke(app, ["report", "--unit", "33522", "--store", str(store_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with Store(store_path, read_only=True) as store:
        holding = [
            sid
            for sid in store.snapshots()["snapshot_id"]
            if not store.table("units", sid, where="unit_id = '33522'").empty
        ]
    assert f"(instantané {holding[-1]})" in result.output and "Talence" in pdf_text(out)


def test_render_many_writes_one_pdf_per_unit(store_path: Path, gironde: str, tmp_path: Path) -> None:
    """Batch rendering (its speed is measured by bench/reports.py, not here)."""
    with Store(store_path, read_only=True) as store:
        files = ReportBuilder(store, gironde).render_many(["33529", "33243", "33318"], tmp_path)
    assert sorted(p.name for p in files) == ["fiche-33243.pdf", "fiche-33318.pdf", "fiche-33529.pdf"]
    assert all(p.read_bytes()[:5] == b"%PDF-" for p in files)


def test_brochure_gironde(store_path: Path, gironde: str, tmp_path: Path) -> None:
    out = tmp_path / "brochure-33.pdf"
    result = CliRunner().invoke(
        app,
        [
            "brochure",
            "-t",
            "33",
            "--contacts",
            str(REPO / "docs" / "brochure_contacts.yaml"),
            "--out",
            str(out),
            "--store",
            str(store_path),
            "--snapshot",
            gironde,
        ],
    )
    assert result.exit_code == 0, result.output
    with Store(store_path, read_only=True) as store:
        gp = store.table("indicators", gironde, where="level = 'commune' AND profession = 'generaliste'")
    under = gp[gp["apl"] < 2.5].sort_values("population", ascending=False)
    text = pdf_text(out)
    assert 3 <= pdf_pages(out) <= 8
    assert f"{len(under)} communes sous-dotées" in text
    page1 = first_page(out)
    assert "Millésimes des données" in page1 and "2017" in page1, page1[:600]
    assert "surestime le nombre de communes sous-dotées" in page1  # the caveat of docs/methode.md
    first = under.iloc[0]
    assert re.search(
        rf"{re.escape(str(first['name']))} +{first['unit_id']} +{fr(first['population'], 0)} +"
        rf"{fr(first['apl'], 2)}",
        text,
    )
    assert "Bordeaux" not in under["name"].tolist()
    assert "Maisons de santé pluriprofessionnelles" in text and "MSP D'ARSAC" in text
    assert "fichier FINESS complet" in text  # kept in the snapshot by the build
    assert "Pharmacies" in text
    assert "Agence régionale de santé Nouvelle-Aquitaine" in text
    keep_images(out)


def test_brochure_contacts_errors(tmp_path: Path, store_path: Path, gironde: str) -> None:
    from accesoins.errors import ConfigurationError
    from accesoins.outputs import load_brochure_config

    bad = tmp_path / "contacts.yaml"
    bad.write_text("contacts:\n  - role: sans organisme\n", encoding="utf-8")
    with pytest.raises(
        ConfigurationError, match=r"contacts, élément 1, organisme » : champ obligatoire manquant"
    ):
        load_brochure_config(bad)
    bad.write_text("contacts: [\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="ligne"):
        load_brochure_config(bad)
    bad.write_text("contact:\n  - organisme: ARS\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["brochure", "-t", "33", "--contacts", str(bad), "--store", str(store_path)]
    )
    assert result.exit_code == 2 and "clé inconnue" in result.output


def test_fiche_iris_and_export_alpes_maritimes(
    store_path: Path, alpes_maritimes: str, tmp_path: Path
) -> None:
    """Nice IRIS have contours and names; IRIS given as centroids (Antibes) map the commune; exports stay
    safe."""
    from accesoins.outputs import check_disclosure, export_observatory

    with Store(store_path, read_only=True) as store:
        iris = store.table("indicators", alpes_maritimes, where="level = 'iris' AND unit_id LIKE '06088%'")
        row = iris.sort_values("population", ascending=False).iloc[0]
        out = ReportBuilder(store, alpes_maritimes).render(
            str(row["unit_id"]), tmp_path / "fiche-iris-nice.pdf"
        )
        antibes = store.table("indicators", alpes_maritimes, where="level = 'iris' AND unit_id LIKE '06004%'")
        other = antibes.sort_values("population", ascending=False).iloc[0]
        out_antibes = ReportBuilder(store, alpes_maritimes).render(
            str(other["unit_id"]), tmp_path / "fiche-iris-antibes.pdf"
        )
        files = export_observatory(store, alpes_maritimes, tmp_path / "export", formats=["gpkg", "csv"])
    text = pdf_text(out)
    assert row["name"] == "Diables Bleus" and f"IRIS {row['unit_id']}" in text and "Diables Bleus" in text
    assert "Les contours des IRIS ne sont pas dans l'instantané" not in text  # its own polygon is mapped
    assert fr(row["apl"], 2) in text and fr(row["population"], 0) in text
    text = pdf_text(out_antibes)
    assert f"Antibes — IRIS {other['unit_id']}" in text and "la commune Antibes" in text
    assert "Les contours des IRIS ne sont pas dans l'instantané" in text
    assert all(check_disclosure(path) == [] for path in files)
    keep_images(out)
