"""What a person reads: official commune names (with their article) and a tolerant search, on real files."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesoins.outputs.web import create_app
from accesoins.sources import read_communes

with warnings.catch_warnings():  # starlette's TestClient announces its move to httpx2 when imported
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(store_path: Path, gironde: str) -> Iterator[TestClient]:
    with TestClient(create_app(store_path, warm=False)) as c:
        yield c


def test_commune_names_keep_their_article() -> None:
    names = read_communes().set_index("commune_code")["name"]
    assert names["33069"] == "Le Bouscat"
    assert names["33529"] == "La Teste-de-Buch"
    assert names["33352"] == "La Réole"
    assert names["06030"] == "Le Cannet"
    assert names["01001"] == "L'Abergement-Clémenciat"
    assert names["33063"] == "Bordeaux"  # no article


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Le Bouscat", "Le Bouscat"),
        ("bouscat", "Le Bouscat"),
        ("La Teste", "La Teste-de-Buch"),
        ("teste de buch", "La Teste-de-Buch"),
        ("la reole", "La Réole"),
        ("MERIGNAC", "Mérignac"),
        ("Saint Laurent", "Saint-Laurent-d'Arce"),
        ("saint-medard en jalles", "Saint-Médard-en-Jalles"),
    ],
)
def test_search_tolerates_articles_accents_hyphens_spaces(
    client: TestClient, gironde: str, query: str, first: str
) -> None:
    found = client.get("/api/units/commune", params={"snapshot": gironde, "q": query}).json()
    assert found and found[0]["name"] == first, found[:3]


def test_search_lists_names_that_start_with_the_query_first(client: TestClient, gironde: str) -> None:
    def names(q: str) -> list[str]:
        found = client.get("/api/units/commune", params={"snapshot": gironde, "q": q}).json()
        return [u["name"] for u in found]

    assert names("Saint Laurent") == [
        "Saint-Laurent-d'Arce",
        "Saint-Laurent-des-Combes",
        "Saint-Laurent-du-Bois",
        "Saint-Laurent-du-Plan",
        "Saint-Laurent-Médoc",
    ]
    assert names("cap")[:4] == ["Capian", "Caplong", "Captieux", "Lège-Cap-Ferret"]
    assert names("Le Cannet") == []  # Le Cannet is in the Alpes-Maritimes, not in this Gironde snapshot


def test_apl_classes_of_meaning_and_quantiles_without_empty_classes(client: TestClient, gironde: str) -> None:
    def legend(level: str, measure: str, method: str, k: int = 5) -> dict[str, Any]:
        params = {"snapshot": gironde, "measure": measure, "method": method, "k": k}
        body: dict[str, Any] = client.get(f"/api/layers/{level}", params=params).json()["legend"]
        return body

    apl = legend("commune", "apl", "seuils")
    assert [c["label"] for c in apl["classes"]] == [
        "moins de 2,5 : sous-dotée",
        "2,5 à moins de 4 : intermédiaire",
        "4 et plus : bien dotée",
    ]
    assert [c["color"] for c in apl["classes"]] == ["#d6604d", "#92c5de", "#2166ac"]  # the PDF's
    assert [c["count"] for c in apl["classes"]] == [269, 244, 22]
    grid = [c["count"] for c in legend("carreau", "apl", "seuils")["classes"]]
    assert grid[0] == 0 and sum(grid) == 1254  # every 200 m cell (or group) is above 2.5: none a problem
    for measure in ("density_per_100k", "headcount"):  # many communes without a practitioner: ties at 0
        q = legend("commune", measure, "quantiles")
        assert len(q["classes"]) == 5 and all(c["count"] > 0 for c in q["classes"]), q["classes"]
        assert q["classes"][0]["label"] == "égal à 0"
        assert not any("égal à 0,0" in c["label"] for c in q["classes"])
    assert legend("commune", "density_per_100k", "seuils")["method_label"] == "quantiles (effectifs égaux)"


def test_grid_distance_to_the_nearest_practitioner(client: TestClient, gironde: str) -> None:
    params = {"snapshot": gironde, "measure": "nearest_m", "method": "quantiles"}
    layer = client.get("/api/layers/carreau", params=params).json()
    metres = [f["properties"]["value"] for f in layer["features"]]
    assert len(metres) == 1254 and min(metres) >= 0 and max(metres) < 5_000  # central Bordeaux
    catalog = client.get("/api/catalog", params={"snapshot": gironde}).json()
    levels = {m["id"]: m["levels"] for m in catalog["measures"]}
    assert levels["density_per_100k"] == ["commune", "iris", "quartier"]  # not on the 200 m grid
    assert levels["nearest_m"] == ["commune", "iris", "quartier", "carreau"]
    vintages = {s["source"]: s["vintage"] for s in catalog["sources"]}
    assert vintages == {
        "apl_drees": "2023",
        "annuaire_sante": "2017",
        "finess": "2017",
        "filosofi_grid": "2021",
        "communes": "2017",
        "iris_contours": "2025",  # IGN IRIS GE 2025 (file name)
        "quartiers": "millésime inconnu",  # the city's file says no year
        "indicateurs_locaux": "2018, 2021, 2022, 2023",  # Filosofi IRIS, RP, CartoSanté, INSEE
        "zonage_ars": "millésime inconnu",  # the CartoSanté zoning export carries no date
    }
