"""What a person reads: official commune names (with their article) and a tolerant search, on real files."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

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
