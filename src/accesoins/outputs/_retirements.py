"""Retirements of a unit's practitioners, from the snapshot's departures table (issue 13 §4).

Reads the scenario engine of a snapshot (its activities and its ``practitioner_departures``)
and returns, for one unit, what may leave the machine: the practitioners aged 60 and over per
profession under :func:`~accesoins.outputs._disclosure.senior_count`, and the APL today and at
a horizon computed by the ``retraites`` scenario. No identifier nor birth year is ever returned.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import numpy as np
import pandas as pd

from accesoins.french import format_number
from accesoins.labels import label_of
from accesoins.outputs._disclosure import senior_count
from accesoins.parameters import load_retirement_parameters
from accesoins.scenarios import Change, Retirements, Scenario, ScenarioEngine
from accesoins.sources import Profession

__all__ = ["DEPARTURES_RULE", "horizon_table", "retirement_section"]

DEPARTURES_RULE = (
    "Âges tirés d'un fichier local (l'Annuaire Santé n'en publie pas) : un effectif de 60 ans et plus "
    "n'est diffusé que si l'unité compte au moins {min_practitioners} praticiens de la profession, "
    "et ni les 60 ans et plus ni les autres ne sont moins de {min_cell} (sinon « moins de {min_cell} » "
    "ou « au moins … »)."
)


def _rule() -> str:
    p = load_retirement_parameters()
    return DEPARTURES_RULE.format(min_practitioners=p.min_practitioners, min_cell=p.min_cell)


def horizon_table(
    engine: ScenarioEngine,
    horizon_years: int,
    age: int,
    cache: MutableMapping[tuple[int, int], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """APL before and after the retirements due by ``horizon_years`` after the snapshot's year, per unit.

    The ``retraites`` scenario on the stored departures table; ``cache`` (keyed by horizon and
    age) spares a second run for the next fiche.
    """
    key = (horizon_years, age)
    if cache is not None and key in cache:
        return cache[key]
    year = (engine.reference_year or 0) + horizon_years
    scenario = Scenario(
        nom=f"Départs en retraite d'ici {year}",
        changements=[Change(retraites=Retirements(horizon=year, age=age))],
    )
    table = engine.run(scenario).table
    if cache is not None:
        cache[key] = table
    return table


def retirement_section(
    engine: ScenarioEngine,
    *,
    level: str,
    unit_id: str,
    k: int,
    horizon_years: int | None = None,
    age: int | None = None,
    cache: MutableMapping[tuple[int, int], pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """A unit's « Départs » section: counts under the disclosure rule, APL today and at the horizon.

    ``available`` is False when the snapshot has no departures table. The APL at the horizon is
    shown only for a unit of ``k`` residents or more (the public gate merges or masks smaller ones).
    """
    params = load_retirement_parameters()
    horizon_years = params.horizon_years if horizon_years is None else horizon_years
    age = params.retirement_age if age is None else age
    if engine.departures is None or engine.departures.empty or engine.reference_year is None:
        return {
            "available": False,
            "text": "Aucun fichier local de départs n'accompagne cet instantané "
            "(accesoins build --departs) : l'Annuaire Santé ne publie pas l'âge des praticiens.",
        }
    year = engine.reference_year
    professions = _seniors(engine, level=level, unit_id=unit_id, year=year, senior_age=params.senior_age)
    table = horizon_table(engine, horizon_years, age, cache)
    row = table[(table["level"] == level) & (table["unit_id"].astype(str) == unit_id)]
    apl_today = apl_horizon = None
    if row.empty:
        apl_text = "L'APL à l'horizon n'est pas calculée à ce niveau."
    elif not float(row["population"].fillna(0).iloc[0]) >= k:
        apl_text = f"APL à l'horizon masquée : l'unité compte moins de {k} habitants (secret statistique)."
    else:
        apl_today, apl_horizon = _finite(row["apl_before"].iloc[0]), _finite(row["apl_after"].iloc[0])
        apl_text = (
            f"APL aux médecins généralistes : {_fr(apl_today)} aujourd'hui, {_fr(apl_horizon)} en "
            f"{year + horizon_years} si chaque praticien part à {age} ans (ou à sa date de départ "
            "prévue) et n'est pas remplacé."
        )
    return {
        "available": True,
        "year": year,
        "horizon_years": horizon_years,
        "horizon_year": year + horizon_years,
        "age": age,
        "senior_age": params.senior_age,
        "professions": professions,
        "apl_today": apl_today,
        "apl_horizon": apl_horizon,
        "apl_today_text": _fr(apl_today),
        "apl_horizon_text": _fr(apl_horizon),
        "text": apl_text,
        "rule": _rule(),
    }


def _seniors(
    engine: ScenarioEngine, *, level: str, unit_id: str, year: int, senior_age: int
) -> list[dict[str, Any]]:
    """Distinct practitioners of the unit per profession; those aged ``senior_age`` or more in ``year``."""
    column = {"commune": "commune_code", "iris": "iris_code"}.get(level)
    activities = engine.activities
    if column is None or column not in activities.columns:
        return []
    here = activities.loc[activities[column].astype(str) == unit_id, ["practitioner_id", "profession"]]
    here = here.drop_duplicates()
    births = (
        engine.departures.set_index("practitioner_key")["birth_year"]
        if engine.departures is not None
        else None
    )
    rows = []
    for profession, group in here.groupby("profession", sort=True):
        born = (
            group["practitioner_id"].astype(str).map(births)
            if births is not None
            else pd.Series(dtype="Int64")
        )
        seniors = int((year - born.astype("Float64")).ge(senior_age).fillna(False).sum())
        value, text = senior_count(len(group), seniors)
        rows.append(
            {
                "profession": str(profession),
                "label": label_of(Profession, str(profession)),
                "practitioners": len(group),
                "seniors": value,
                "seniors_text": text,
            }
        )
    return rows


def _finite(value: Any) -> float | None:
    x = float(value) if value is not None and not pd.isna(value) else float("nan")
    return x if np.isfinite(x) else None


def _fr(value: float | None) -> str:
    return "—" if value is None else format_number(value, 2)
