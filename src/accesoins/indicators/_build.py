"""Indicator steps of a build: demand, activity level, per-level tables, APL classes.

Each function takes validated tables (sources, geo, network) and returns the
numbers a snapshot stores; the observatory pipeline only chains them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from accesoins.errors import ConfigurationError, MissingSourceError
from accesoins.indicators._age import five_year_bands, standardised_population
from accesoins.indicators._codes import DemandMethod
from accesoins.indicators._density import densities, unit_supply
from accesoins.indicators._supply import APL_MODES, calibrate_activity, etp_share
from accesoins.parameters import AplParameters

DemandMode = Literal["auto", "insee", "drees", "population"]


def fill_etp(activities: pd.DataFrame) -> pd.Series:
    """ETP of each activity: the file's, else the share of the practitioner's activities."""
    ids = activities["practitioner_id"].replace("", np.nan).fillna(activities["activity_id"])
    share = etp_share(activities.assign(practitioner_id=ids))
    return activities["etp"].fillna(share) if "etp" in activities.columns else share


def iris_standardised(
    iris: pd.DataFrame, age_columns: Mapping[str, tuple[int, int]], params: AplParameters
) -> pd.Series:
    """DREES-standardised population of each IRIS from its counts by age."""
    return standardised_population(five_year_bands(iris, age_columns), params.age_weights)


def commune_demand(
    communes: pd.DataFrame,
    iris: pd.DataFrame | None,
    iris_std: pd.Series | None,
    drees: pd.DataFrame | None,
    mode: DemandMode,
) -> tuple[pd.DataFrame, DemandMethod]:
    """Population and standardised population per commune, and the name of the method used."""
    demand = pd.DataFrame({"population": communes.set_index("commune_code")["population"].astype(float)})
    if iris is not None and iris_std is not None and mode in ("auto", "insee"):
        by_commune = (
            pd.DataFrame({"population": iris["population"], "std": iris_std})
            .groupby(iris["commune_code"])
            .sum()
        )
        demand.loc[by_commune.index, "population"] = by_commune["population"]
        demand["population_standardised"] = by_commune["std"].reindex(demand.index)
        covered = demand["population_standardised"].notna()
        demand.loc[~covered, "population_standardised"] = demand.loc[~covered, "population"]
        return demand, DemandMethod.INSEE_AGES_IRIS
    if mode == "insee":
        raise MissingSourceError(
            "population par âge (INSEE)",
            searched=[],
            hint="Aucun fichier base-ic-evol-struct-pop ne couvre ce territoire.",
        )
    if drees is not None and mode in ("auto", "drees"):
        d = drees.set_index("commune_code")
        ratio = (d["population_standardised"] / d["population_total"]).reindex(demand.index)
        demand["population_standardised"] = demand["population"] * ratio.fillna(1.0)
        return demand, DemandMethod.RATIO_DREES
    demand["population_standardised"] = demand["population"]
    return demand, DemandMethod.NON_STANDARDISEE


def activity_level(
    activity: str, activities: pd.DataFrame, drees: pd.DataFrame | None, params: AplParameters
) -> float:
    """Yearly consultations per GP used as the activity proxy (``uniforme``, ``calibre`` or a number)."""
    text = activity.strip().lower()
    if text in ("uniforme", "uniform"):
        return params.activity.imputed_new
    if text in ("calibre", "calibré", "calibrated"):
        if drees is None:
            raise ConfigurationError("--activite calibre demande la table APL de la DREES dans --data-dir")
        target = float((drees["apl"] * drees["population_standardised"]).sum())
        gp = activities["profession"].eq("generaliste") & activities["mode"].isin(APL_MODES)
        return calibrate_activity(target, float(activities.loc[gp, "etp"].sum()), params)
    try:
        return float(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"activité par médecin « {activity} » invalide : uniforme, calibre ou un nombre de consultations"
        ) from exc


def level_table(
    level: str,
    activities: pd.DataFrame,
    unit: str,
    population: pd.Series,
    standardised: pd.Series,
    professions: list[str],
    apl: pd.Series,
) -> pd.DataFrame:
    """Densities of every unit × profession of one level, with the GP APL of each unit."""
    supply = unit_supply(activities[activities[unit].fillna("") != ""], unit=unit)
    table = densities(supply, population, standardised=standardised, professions=professions)
    gp = table["profession"].eq("generaliste")
    table["apl"] = np.where(gp, table["unit_id"].map(apl).astype(float), np.nan)
    return table.assign(level=level)
