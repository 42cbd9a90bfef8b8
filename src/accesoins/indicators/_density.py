"""Headcount, ETP and densities per unit and profession."""

from __future__ import annotations

import numpy as np
import pandas as pd

PER = 100_000.0


def unit_supply(activities: pd.DataFrame, *, unit: str) -> pd.DataFrame:
    """Headcount (distinct practitioners) and ETP per unit and profession.

    ``activities`` needs ``practitioner_id``, ``profession``, ``etp`` and the
    ``unit`` column. A practitioner practising in two units counts once in each
    headcount; ETP shares add up to the number of practitioners. Supply known
    only as counts per unit (no practitioner identifiers) has no headcount.
    Also counts activities per placement ``precision`` when that column exists.
    """
    located = activities[activities[unit].fillna("") != ""]
    known_id = located["practitioner_id"].fillna("").astype(str).replace("", None)
    grouped = located.assign(known_id=known_id).groupby([unit, "profession"])
    headcount = grouped["known_id"].nunique().astype("Int64")
    headcount[grouped["known_id"].count() == 0] = pd.NA  # supply given as counts per unit: no headcount
    out = pd.DataFrame({"headcount": headcount, "etp": grouped["etp"].sum()})
    if "precision" in located.columns:
        by_precision = located.pivot_table(
            index=[unit, "profession"], columns="precision", values="etp", aggfunc="size", fill_value=0
        )
        out = out.join(by_precision.add_prefix("n_").astype("int64"))
    out.index = out.index.set_names(["unit_id", "profession"])
    return out.reset_index()


def densities(
    supply: pd.DataFrame,
    population: pd.Series,
    *,
    standardised: pd.Series | None = None,
    professions: list[str] | None = None,
) -> pd.DataFrame:
    """Densities per 100,000 inhabitants, every unit × profession (zeros included).

    ``supply`` comes from :func:`unit_supply`; ``population`` and
    ``standardised`` are indexed by unit identifier. The age-standardised
    density divides by the standardised population (DREES age weights), so a
    territory with many elderly residents shows its higher need.
    """
    profs = professions or sorted(supply["profession"].unique())
    grid = pd.MultiIndex.from_product([population.index, profs], names=["unit_id", "profession"])
    table = supply.set_index(["unit_id", "profession"]).reindex(grid)
    absent = table["etp"].isna()
    count_cols = [c for c in table.columns if c == "headcount" or c.startswith("n_")]
    for col in count_cols:
        table[col] = table[col].astype("Int64").mask(absent, 0)
    table["etp"] = table["etp"].fillna(0.0)
    pop = population.reindex(grid.get_level_values(0)).to_numpy(dtype=np.float64)
    table["population"] = pop
    table["density_per_100k"] = np.divide(
        table["etp"].to_numpy() * PER, pop, out=np.full(len(pop), np.nan), where=pop > 0
    )
    if standardised is not None:
        std = standardised.reindex(grid.get_level_values(0)).to_numpy(dtype=np.float64)
        table["population_standardised"] = std
        table["std_density_per_100k"] = np.divide(
            table["etp"].to_numpy() * PER, std, out=np.full(len(std), np.nan), where=std > 0
        )
    return table.reset_index()
