"""Registers in Debian's Chromium (Playwright, never a downloaded browser), over uvicorn on a free port.

An agent signs in, records a request and a premises, and sees the proposed match explained; a partner
sees a project's stage but no personal data; a resident finds the nearest centre de santé and prints
the guide of useful addresses. Screenshots go to artefacts/screenshots/registres_*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import pytest
import shapely

from accesoins.registers import SYSTEM, AplLookup, create_registers_app
from accesoins.registers._schemas import STAGES, DirectoryCreate, ProjectCreate
from browser_support import SHOTS, chromium, serve
from test_registers_support import DIRECTORY, PASSWORD, PROJECT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_registers_app(f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'r.sqlite'}", secret="e2e")
    regs = app.state.registers
    regs.apl = AplLookup(
        gpd.GeoDataFrame(
            {"unit_id": ["33281"], "name": ["Mérignac"], "apl": [2.1]},
            geometry=[shapely.box(-0.75, 44.80, -0.60, 44.88)],
            crs="EPSG:4326",
        )
    )
    regs.create_user("agent@example.org", PASSWORD, role="agent")
    regs.create_user("partenaire@example.org", PASSWORD, role="partenaire")
    regs.create_project(SYSTEM, ProjectCreate(**PROJECT))
    for entry in DIRECTORY:
        regs.create_directory_entry(SYSTEM, DirectoryCreate(**entry))
    with serve(app, name="accesoins-registres-e2e") as url:
        yield url
    regs.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"erreurs JavaScript : {errors}"


def _sign_in(page: Any, server: str, email: str, target: str) -> None:
    page.goto(f"{server}{target}")
    assert "/registres/connexion" in page.url  # anonymous visitors are sent to the sign-in page
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{server}{target}")


def test_agent_records_request_and_premises_and_sees_the_match(page: Any, server: str) -> None:
    _sign_in(page, server, "agent@example.org", "/registres/demandes")
    page.fill("#professional_name", "Dre Camille Martin")
    page.select_option("#profession", "generaliste")
    page.fill("#email", "camille.martin@example.org")
    page.fill("#wished_commune", "Mérignac")
    page.fill("#wished_lat", "44.8386")
    page.fill("#wished_lon", "-0.6436")
    page.fill("#wished_radius_km", "3")
    page.fill("#surface_min_m2", "40")
    page.fill("#wished_date", "2026-09-01")
    page.click("#enregistrer-demande")
    page.wait_for_url("**/registres/demandes/*")
    request_url = page.url
    assert page.locator("#aucun-rapprochement").is_visible()
    page.goto(f"{server}/registres/locaux")
    page.fill("#label", "Cabinet Arlac")
    page.fill("#commune", "Mérignac")
    page.fill("#lat", "44 N")  # a value that is not a number is refused with a French message…
    page.fill("#lon", "-0,6300")  # (a French decimal comma is read)
    page.fill("#surface_m2", "55")
    page.fill("#available_on", "2026-07-01")
    page.select_option("#owner_kind", "bailleur_social")
    page.check("#accessible_pmr")
    page.click("#enregistrer-local")
    assert "latitude : nombre attendu" in page.locator(".problem").inner_text()
    page.fill("#lat", "44,8420")  # …and the form keeps what was typed
    assert page.input_value("#label") == "Cabinet Arlac"
    page.check("#accessible_pmr")
    page.click("#enregistrer-local")
    page.wait_for_url(f"{server}/registres/locaux")
    assert "Cabinet Arlac" in page.locator("#locaux").inner_text()
    assert page.locator("#locaux td.statut").first.inner_text() == "disponible"
    page.goto(request_url)
    match = page.locator(".match").first
    assert "Cabinet Arlac" in match.inner_text()
    assert match.locator(".score").inner_text() == "100,0"
    text = match.inner_text()
    assert "dans le rayon souhaité" in text and "Mérignac sous-dotée : APL 2,10" in text
    page.screenshot(path=str(SHOTS / "registres_rapprochement.png"), full_page=True)
    page.select_option("#statut", "en_cours")
    page.fill("#note", "Visite du cabinet Arlac prévue")
    page.click("#enregistrer-suivi")
    page.wait_for_selector("#notes")
    assert "(agent@example.org) : Visite du cabinet Arlac prévue" in page.locator("#notes").inner_text()
    assert page.locator("#statut").input_value() == "en_cours"
    assert "statut : en cours" in page.locator("main p").first.inner_text()  # a label, never the code
    page.goto(f"{server}/registres/demandes")
    assert page.locator("#demandes td.statut").first.inner_text() == "en cours"
    assert "en_cours" not in page.locator("main").inner_text()


def test_agent_records_a_project_and_a_useful_address_with_forms(page: Any, server: str) -> None:
    _sign_in(page, server, "agent@example.org", "/registres/projets")
    page.fill("#name", "Centre de santé de Bègles")
    page.select_option("#kind", "centre_de_sante")
    page.fill("#commune", "Bègles")
    page.select_option("#stage", "porteur")
    page.fill("#porteur_name", "Mairie de Bègles")
    page.fill("#porteur_email", "sante@mairie")  # the browser accepts it, the registers do not
    page.click("#enregistrer-projet")
    problem = page.locator(".problem").inner_text()
    assert "Le projet n'a pas été enregistré" in problem
    assert "courriel du porteur : format non valide" in problem
    assert page.input_value("#name") == "Centre de santé de Bègles"  # what was typed is kept
    page.fill("#porteur_email", "sante@mairie-begles.example.org")
    page.click("#enregistrer-projet")
    page.wait_for_url("**/registres/projets/*")
    assert page.locator("#etape").inner_text() == "porteur"
    assert "Centre de santé de Bègles" in page.locator("h1").inner_text()
    page.click("text=Gérer l'annuaire")
    page.wait_for_url(f"{server}/registres/adresses")
    page.fill("#structure", "PMI de Bègles")
    page.select_option("#kind", "pmi")
    page.fill("#address", "2 rue Calixte Camelle")
    page.fill("#commune", "Bègles")
    page.fill("#lat", "44,8080")
    page.fill("#lon", "-0,5480")
    page.fill("#phone", "05 56 49 00 00 poste 3")
    page.check("#pmr_accessible")
    page.click("#enregistrer-adresse")
    assert "téléphone : format non valide" in page.locator(".problem").inner_text()
    page.screenshot(path=str(SHOTS / "registres_adresse_erreur.png"), full_page=True)
    page.fill("#phone", "05 56 49 00 00")
    page.check("#pmr_accessible")
    page.click("#enregistrer-adresse")
    page.wait_for_url(f"{server}/registres/adresses")
    assert "PMI de Bègles" in page.locator("#adresses").inner_text()
    page.goto(f"{server}/registres/annuaire?besoin=pmi&lieu=Bègles")
    assert "PMI de Bègles" in page.locator("#resultats li.card").first.inner_text()
    page.goto(f"{server}/registres/projets")
    page.screenshot(path=str(SHOTS / "registres_projets_formulaire.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/registres/adresses")
    page.screenshot(path=str(SHOTS / "registres_adresses_telephone.png"), full_page=True)


def test_agent_moves_a_project_to_the_next_stage(page: Any, server: str) -> None:
    _sign_in(page, server, "agent@example.org", "/registres/projets/1")
    assert PROJECT["porteur_email"] in page.locator("#porteur").inner_text()
    page.select_option("#nouvelle-etape", "projet_de_sante")
    page.fill("#note-etape", "Projet de santé déposé à l'ARS")
    page.click("#enregistrer-etape")
    page.wait_for_function("document.querySelector('#etape').innerText === 'projet de santé'")
    assert "Projet de santé déposé à l'ARS" in page.content()


def test_partner_sees_stage_but_no_personal_data(page: Any, server: str) -> None:
    _sign_in(page, server, "partenaire@example.org", "/registres/projets")
    listed = page.locator("#projets td.stage").first.inner_text()  # financement, or later if moved on
    assert listed in STAGES.values()
    page.click("text=MSP des Capucins")
    assert page.locator("#etape").inner_text() == listed == page.locator(".stages li.current").inner_text()
    assert page.locator("#form-etape").count() == 0
    body = page.content()
    for personal in (PROJECT["porteur_name"], PROJECT["porteur_email"], "Luc Ars", "luc.ars@example.org"):
        assert personal not in body
    assert "ARS Nouvelle-Aquitaine" in body
    page.goto(f"{server}/registres/demandes")
    assert "Accès refusé" in page.locator("h1").inner_text()
    page.goto(f"{server}/registres/projets/1")
    page.screenshot(path=str(SHOTS / "registres_projet_partenaire.png"), full_page=True)


def test_resident_finds_the_nearest_centre_de_sante(page: Any, server: str) -> None:
    page.goto(f"{server}/registres/annuaire")
    page.select_option("#besoin", "centre_de_sante")
    page.fill("#lieu", "Mérignac")
    page.click("#chercher")
    page.wait_for_selector("#resultats li.card")
    first = page.locator("#resultats li.card").first
    assert "Centre de santé de Mérignac" in first.locator("h3").inner_text()
    assert "à 0,3 km" in first.inner_text() and "tiers payant" in first.inner_text()
    names = page.locator("#resultats h3").all_inner_texts()
    assert names == [
        "Centre de santé de Mérignac",
        "Centre de santé de Pessac",
        "Centre de santé Bordeaux Bastide",
    ]
    page.screenshot(path=str(SHOTS / "registres_annuaire.png"), full_page=True)
    page.click("text=Mérignac >> nth=-1")  # the guide of the commune
    page.wait_for_url("**/annuaire/guide?commune=*")
    page.emulate_media(media="print")
    assert page.locator("header").is_hidden() and page.locator(".no-print").is_hidden()
    assert "PMI de Mérignac" in page.locator(".guide").inner_text()
    page.screenshot(path=str(SHOTS / "registres_guide_impression.png"), full_page=True)
