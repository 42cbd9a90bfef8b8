"""Retirements and trends of a unit: the « Départs » section of the fiche and the indicators across snapshots.

Ages come from a local file kept in the snapshot (personal data): these routes return counts under
the disclosure rule of ``outputs`` and APL values, never an identifier nor a birth year.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from accesoins.http_problems import ProblemError, not_found, problem_responses
from accesoins.outputs._retirements import DEPARTURES_RULE, retirement_section
from accesoins.outputs._trends import trend_section
from accesoins.outputs.web._api.deps import ServiceDep, SnapshotDep
from accesoins.outputs.web._api.scenarios import ScenariosDep
from accesoins.outputs.web._service import SnapshotData
from accesoins.parameters import load_retirement_parameters

router = APIRouter(tags=["départs et évolutions"])
_ERRORS = problem_responses(e404="Niveau ou unité inconnu", e422="Paramètre non valide")


def _check_unit(data: SnapshotData, level: str, unit_id: str) -> None:
    if level not in data.levels:
        raise not_found("Niveau", level, data.levels)
    if (level, unit_id) not in data.gate_keys.index:
        raise not_found(f"Unité du niveau « {level} »", unit_id, title="Unité inconnue")


@router.get("/departs", summary="Départs en retraite : disponibilité et paramètres", responses=_ERRORS)
def departures_info(scenarios: ScenariosDep, data: SnapshotDep) -> dict[str, Any]:
    """Si l'instantané garde une table de départs (fichier local, `accesoins build --departs`), l'année de
    référence et les paramètres par défaut du panneau « Départs » (horizon, âge) ; aucun effectif."""
    engine = scenarios.engine(data.snapshot_id)
    params = load_retirement_parameters()
    available = engine.departures is not None and not engine.departures.empty
    return {
        "available": available,
        "year": engine.reference_year,
        "horizon_years": params.horizon_years,
        "age": params.retirement_age,
        "senior_age": params.senior_age,
        "rule": DEPARTURES_RULE.format(min_practitioners=params.min_practitioners, min_cell=params.min_cell),
    }


@router.get("/units/{level}/{unit_id}/departs", summary="Départs en retraite d'une unité", responses=_ERRORS)
def unit_departures(
    level: str,
    unit_id: str,
    scenarios: ScenariosDep,
    data: SnapshotDep,
    horizon: Annotated[int | None, Query(ge=1, le=30, description="Horizon en années (défaut : 5).")] = None,
    age: Annotated[int | None, Query(ge=50, le=90, description="Âge de départ (défaut : 67).")] = None,
) -> dict[str, Any]:
    """Praticiens de 60 ans et plus par profession (règle de diffusion : « moins de 3 », « au moins … » ou
    non diffusé sous 5 praticiens) et APL aujourd'hui et à l'horizon, calculée par le scénario des départs
    en retraite sur la table de l'instantané."""
    _check_unit(data, level, unit_id)
    engine = scenarios.engine(data.snapshot_id)
    horizons: dict[tuple[int, int], Any] = data.cached(("departs.horizons",), dict)

    def compute() -> dict[str, Any]:
        return retirement_section(
            engine,
            level=level,
            unit_id=unit_id,
            k=data.gate.k,
            horizon_years=horizon,
            age=age,
            cache=horizons,
        )

    return data.cached(("departs", level, unit_id, horizon, age), compute)


@router.get(
    "/units/{level}/{unit_id}/trend", summary="Évolution d'une unité sur les instantanés", responses=_ERRORS
)
def unit_trend(
    level: str,
    unit_id: str,
    service: ServiceDep,
    data: SnapshotDep,
    profession: Annotated[str, Query(max_length=40, description="Profession (clé).")] = "generaliste",
) -> dict[str, Any]:
    """Indicateurs de l'unité (APL, densité, ETP, effectif, population) dans chaque instantané de son
    territoire, du plus ancien au plus récent, avec un petit graphique SVG de l'APL ; une unité de moins de
    k habitants dans un instantané y perd ses chiffres d'habitants (secret statistique)."""
    _check_unit(data, level, unit_id)
    service.check_profession(data, profession)

    def compute() -> dict[str, Any]:
        try:
            with service._store_lock, service._open() as store:
                return trend_section(
                    store,
                    data.snapshot_id,
                    level=level,
                    unit_id=unit_id,
                    k=data.gate.k,
                    profession=profession,
                )
        except OSError as exc:
            raise ProblemError(503, "Entrepôt indisponible", str(exc)) from exc

    return data.cached(("trend", level, unit_id, profession), compute)
