"""Scenarios: what-ifs on a snapshot (departures, new sites, new residents) and site choice.

Reads a snapshot of the store and a scenario (YAML or built in code); returns
the APL before and after per unit, recomputed incrementally, and the
candidate premises that would help most (spopt facility-location models).
"""

from accesoins.scenarios._engine import ScenarioEngine, ScenarioResult, level_summary
from accesoins.scenarios._model import (
    AddPopulation,
    AddSite,
    Change,
    ChangeSite,
    Remove,
    Retirements,
    Scenario,
    read_scenario,
)
from accesoins.scenarios._siting import (
    SiteChoice,
    brute_force,
    choose_sites,
    coverage_problem,
    read_candidates,
    solve,
)

__all__ = [
    "AddPopulation",
    "AddSite",
    "Change",
    "ChangeSite",
    "Remove",
    "Retirements",
    "Scenario",
    "ScenarioEngine",
    "ScenarioResult",
    "SiteChoice",
    "brute_force",
    "choose_sites",
    "coverage_problem",
    "level_summary",
    "read_candidates",
    "read_scenario",
    "solve",
]
