"""One catalogue of codes: every enum member has a French label, the APL classes come from the YAML,
and no raw code reaches a fiche, the brochure or the web fiche (real Gironde and Alpes-Maritimes data)."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from accesoins import labels
from accesoins.cli import app
from accesoins.geo import PRECISIONS, Level, Precision
from accesoins.indicators import UNDER_SERVED, WELL_SERVED, AplClass, DemandMethod, apl_class, apl_classes
from accesoins.network import CostSourceCode, CrowFlyCosts, OdTableCosts
from accesoins.outputs import ReportBuilder
from accesoins.outputs.web import create_app
from accesoins.parameters import AplClassBounds, load_apl_classes
from accesoins.sources import CATALOG, Profession, SourceName, load_professions
from accesoins.store import Store
from test_reports import pdf_text

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]


def flowing_text(pdf: Path) -> str:
    """Text of a PDF in reading order (no layout: a table cell's wrapped label stays whole), spaces folded."""
    raw = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", raw)


def raw_codes() -> list[str]:
    """Enum values that are not French words: a page showing one shows a code, not its label.

    A value that its own label contains (« commune », « IRIS », « FINESS ») reads as French and is left out.
    """
    return sorted(
        {
            member.value
            for kind in labels.ENUMS
            for member in kind
            if member.value not in labels.label(member).lower()
        }
    )


def codes_in(text: str) -> list[str]:
    """Raw codes standing as words in ``text`` (not inside a file name such as ``gp_iris_06.csv``)."""
    return [c for c in raw_codes() if re.search(rf"(?<![\w./-]){re.escape(c)}(?![\w./-])", text)]


# -- the catalogue ---------------------------------------------------------------------------------------


def test_every_member_of_every_enum_has_a_french_label() -> None:
    stages = {AplClass, CostSourceCode, DemandMethod, Level, Precision, Profession, SourceName}
    assert stages <= set(labels.ENUMS)
    for kind in labels.ENUMS:
        for member in kind:
            text = labels.label(member)
            assert text.strip() and "_" not in text, (kind.__name__, member)
    # values that look like codes are the ones searched for on pages
    assert {
        "insee_ages_iris",
        "population_non_standardisee",
        "od_table",
        "gp_iris",
        "vol_oiseau",
        "etablissement",
        "sous_dotee",
        "generaliste",
    } <= set(raw_codes())
    assert "commune" not in raw_codes()


def test_enums_are_the_codes_the_stages_write() -> None:
    assert set(CATALOG) == set(SourceName)
    assert set(load_professions()["profession"]) == set(Profession)
    assert tuple(Precision) == PRECISIONS
    assert (
        CrowFlyCosts.name == "vol_oiseau"
        and OdTableCosts(pd.DataFrame(columns=["origin_id", "destination_id", "travel_time_min"])).name
        == "distancier"
    )
    assert CostSourceCode("table") is CostSourceCode.DISTANCIER  # snapshots built before the enum
    assert labels.label_of(DemandMethod, "insee_ages_iris").startswith("population pondérée par l'âge")
    assert labels.label_of(Level, "canton") == "—" and labels.label_of(Precision, None) == "—"


def test_apl_classes_are_defined_once_in_the_yaml() -> None:
    spec = load_apl_classes()
    assert [(c.code, c.below) for c in spec.classes] == [
        ("sous_dotee", 2.5),
        ("intermediaire", 4.0),
        ("bien_dotee", None),
    ]
    assert (UNDER_SERVED, WELL_SERVED) == (2.5, 4.0)
    values = pd.Series([0.0, 2.4999, 2.5, 3.99, 4.0, 12.0, np.nan])
    expected = ["sous_dotee", "sous_dotee", "intermediaire", "intermediaire", "bien_dotee", "bien_dotee", ""]
    assert apl_classes(values).tolist() == expected
    assert [str(apl_class(v) or "") for v in values] == expected
    assert [labels.apl_class_range(c) for c in AplClass] == ["moins de 2,5", "2,5 à moins de 4", "4 et plus"]
    with pytest.raises(ValidationError, match="croissantes"):
        AplClassBounds.model_validate(
            {
                "source": "x",
                "classes": [{"code": "a", "below": 4}, {"code": "b", "below": 2.5}, {"code": "c"}],
            }
        )
    with pytest.raises(ValidationError, match="sans borne"):
        AplClassBounds.model_validate({"source": "x", "classes": [{"code": "a"}, {"code": "b"}]})


def test_no_other_definition_of_the_threshold_or_the_label() -> None:
    """2.5 and a computed « sous-dotée » live in the YAML and the labels module only (examples aside)."""
    offenders = []
    for path in sorted((REPO / "src" / "accesoins").rglob("*")):
        if path.suffix not in {".py", ".html", ".js"} or "vendor" in path.parts:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            example = line.strip().startswith((">>>", "(", "[", '"""'))  # doctests and docstrings
            if re.search(r"(?<![\d.,])2[.,]5(?![\d])", line) and not example and "padding" not in line:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
            if re.search(r"[\"']non sous-dotée[\"']|[\"']sous-dotée[\"'] if", line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


# -- pages -----------------------------------------------------------------------------------------------


def test_stored_classes_follow_the_yaml(store_path: Path, gironde: str) -> None:
    with Store(store_path, read_only=True) as store:
        gp = store.table("indicators", gironde, where="profession = 'generaliste' AND level = 'commune'")
    assert gp["apl_class"].tolist() == apl_classes(gp["apl"]).tolist()
    counts = gp["apl_class"].value_counts()
    assert counts["sous_dotee"] == int((gp["apl"] < 2.5).sum()) > 0
    assert counts["intermediaire"] > 0 and counts["bien_dotee"] > 0


@pytest.mark.slow
def test_nice_fiche_iris_with_distancier_shows_labels_not_codes(
    store_path: Path, alpes_maritimes: str, tmp_path: Path
) -> None:
    with Store(store_path, read_only=True) as store:
        meta = store.metadata(alpes_maritimes)
        iris = store.table("indicators", alpes_maritimes, where="level = 'iris' AND unit_id LIKE '06088%'")
        code = str(iris.sort_values("population", ascending=False)["unit_id"].iloc[0])
        out = ReportBuilder(store, alpes_maritimes).render(code, tmp_path / "fiche-nice.pdf")
    assert (meta["cost_source"], meta["demand_method"]) == ("distancier", "insee_ages_iris")
    text = re.sub(r"\s+", " ", pdf_text(out))
    assert codes_in(text) == []
    assert "Accès : temps de trajet lus dans un distancier (table de temps entre unités)." in text
    assert "Besoins : population pondérée par l'âge (âges de l'INSEE par IRIS)." in text
    flowing = flowing_text(out)
    assert codes_in(flowing) == []
    assert labels.label(SourceName.OD_TABLE) in flowing and labels.label(SourceName.GP_IRIS) in flowing
    assert "ce n'est pas le zonage de l'ARS" in text


@pytest.mark.slow
def test_bordeaux_fiche_and_brochure_show_labels_not_codes(
    store_path: Path, gironde: str, data_dir: Path, tmp_path: Path
) -> None:
    with Store(store_path, read_only=True) as store:
        meta = store.metadata(gironde)
        fiche = ReportBuilder(store, gironde).render("33063", tmp_path / "fiche-33063.pdf")
    text = re.sub(r"\s+", " ", pdf_text(fiche))
    assert codes_in(text) == []
    assert f"Accès : {labels.label(CostSourceCode(meta['cost_source']))}." in text
    assert f"Besoins : {labels.label(DemandMethod(meta['demand_method']))}." in text
    assert "au centre de la commune (localisation approchée)" in text
    assert "Annuaire santé (RPPS)" in text
    classes = "sous-dotée (moins de 2,5), intermédiaire (2,5 à moins de 4), bien dotée (4 et plus)."
    assert f"Classes de cette fiche (indicatif — ce n'est pas le zonage de l'ARS) : {classes}" in text
    brochure = tmp_path / "brochure-33.pdf"
    result = CliRunner().invoke(
        app,
        [
            "brochure",
            "-t",
            "33",
            "--contacts",
            str(REPO / "docs" / "brochure_contacts.yaml"),
            "--out",
            str(brochure),
            "--store",
            str(store_path),
            "--snapshot",
            gironde,
        ],
    )
    assert result.exit_code == 0, result.output
    text = re.sub(r"\s+", " ", pdf_text(brochure))
    assert codes_in(text) == []
    assert f"Classes (indicatif — ce n'est pas le zonage de l'ARS) : {classes}" in text


def _french_texts(value: Any, key: str = "") -> list[str]:
    """Every text of a JSON answer meant for people (labels, notes, descriptions), not ids or codes."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _french_texts(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in _french_texts(v, key)]
    wanted = ("label", "description", "notes", "note", "unit", "name")
    return [value] if isinstance(value, str) and (key.endswith(wanted) or key == "") else []


def test_web_header_and_fiche_show_labels_not_codes(store_path: Path, gironde: str) -> None:
    with TestClient(create_app(store_path, warm=False)) as client:
        catalog = client.get("/api/catalog", params={"snapshot": gironde}).json()
        fiche = client.get("/api/units/commune/33063", params={"snapshot": gironde}).json()
        layer = client.get("/api/layers/commune", params={"snapshot": gironde, "measure": "apl"}).json()
    legend = layer["legend"]
    texts = _french_texts(catalog) + _french_texts(fiche) + _french_texts(legend)
    assert texts and codes_in(" | ".join(texts)) == []
    header = catalog["description"]
    assert "temps de trajet" in header and "au centre de la commune (localisation approchée) :" in header
    gp = next(p for p in fiche["professions"] if p["profession"] == "generaliste")
    assert gp["apl_class"] == str(apl_class(gp["apl"]))
    assert gp["apl_class_label"] == labels.apl_class_label(gp["apl"], note=True)
    assert gp["precision_labels"]["commune"] == "au centre de la commune (localisation approchée)"
    assert gp["label"] == "Médecin généraliste"
    assert "ce n'est pas le zonage de l'ARS" in legend["threshold"]["label"]


def test_register_statuses_shown_on_pages_have_labels() -> None:
    from typing import get_args

    from accesoins.registers._schemas import REQUEST_STATUSES, STATUS_LABELS, PremisesStatus

    assert set(REQUEST_STATUSES) | set(get_args(PremisesStatus)) <= set(STATUS_LABELS)
    assert STATUS_LABELS["en_cours"] == "en cours" and STATUS_LABELS["loue"] == "loué"
