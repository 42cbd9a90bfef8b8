"""Indicators of zones (IRIS, QPV, quartiers) and the ONPV comparison inside / rest of the commune.

Zone population, standardised population and APL come from the population
mesh (:func:`accesoins.geo.zone_weights`): the APL of a zone is the mean of its
mesh units' APL weighted by their standardised population inside the zone, as
DREES aggregates. Supply counts only what is located below the commune; the
rest is reported as ``unlocated_share`` of the parent commune's supply.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from accesoins.indicators._density import PER

CONFIDENCE = 0.95


def zone_indicators(
    zones: pd.DataFrame,
    weights: pd.DataFrame,
    mesh: pd.DataFrame,
    supply: pd.DataFrame,
    activities: pd.DataFrame,
    *,
    professions: list[str],
    located_iris: Collection[str] = (),
) -> pd.DataFrame:
    """One row per zone × profession: population, ETP, densities, APL (GPs), unknown-location share.

    ``zones``: ``zone_id``, ``name``, ``commune_code``; ``weights``: from
    ``geo.zone_weights``; ``mesh``: ``unit_id``, ``population``,
    ``population_standardised``, ``apl`` (GP APL of the unit, may be NaN) and
    ``method``; ``supply``: from ``geo.zone_supply``; ``activities``: ``etp``,
    ``profession``, ``precision``, ``commune_code`` (and ``iris_code``);
    ``located_iris``: IRIS whose outline is known, so that supply known to the
    IRIS counts as located below the commune. ``population_method`` names the
    mesh level giving most of the zone's population (``carreau``, ``iris`` or
    ``commune``: areal weighting of the commune).
    """
    m = mesh.set_index("unit_id")
    w = weights.join(m[["population", "population_standardised", "apl", "method"]], on="unit_id")
    w["pop"] = w["share"] * w["population"]
    w["std"] = w["share"] * w["population_standardised"]
    w["apl_std"] = w["std"] * w["apl"]
    w["apl_w"] = w["std"].where(w["apl"].notna(), 0.0)
    per_zone = w.groupby("zone_id")[["pop", "std", "apl_std", "apl_w"]].sum()
    method = w.groupby(["zone_id", "method"])["pop"].sum().sort_values().groupby(level=0).tail(1)
    main = pd.Series(method.index.get_level_values(1), index=method.index.get_level_values(0))
    fine = w[w["method"] != "commune"].groupby("zone_id")["pop"].sum()

    s = supply.join(activities[["etp", "profession"]], on="activity")
    s["etp_share"] = s["share"] * s["etp"]
    etp = s.groupby(["zone_id", "profession"])["etp_share"].sum()
    by_how = s.pivot_table(index=["zone_id", "profession"], columns="how", values="etp_share", aggfunc="sum")

    unlocated = _unlocated_share(activities, located_iris)
    ids = pd.Index(zones["zone_id"], name="zone_id")
    grid = pd.MultiIndex.from_product([ids, professions], names=["unit_id", "profession"])
    zone_of = grid.get_level_values(0)
    info = zones.set_index("zone_id")
    pop = per_zone["pop"].reindex(zone_of).to_numpy(dtype=float)
    std = per_zone["std"].reindex(zone_of).to_numpy(dtype=float)
    e = etp.reindex(grid).fillna(0.0).to_numpy(dtype=float)
    apl = per_zone["apl_std"] / per_zone["apl_w"].where(per_zone["apl_w"] > 0)
    parent = info["commune_code"].reindex(zone_of).to_numpy()
    table = pd.DataFrame(
        {
            "unit_id": zone_of,
            "profession": grid.get_level_values(1),
            "name": info["name"].reindex(zone_of).to_numpy(),
            "parent_id": parent,
            "population": pop,
            "population_standardised": std,
            "etp": e,
            "etp_point": _col(by_how, "point", grid),
            "etp_iris": _col(by_how, "iris", grid),
            "density_per_100k": _per100k(e, pop),
            "std_density_per_100k": _per100k(e, std),
            "apl": np.where(
                grid.get_level_values(1) == "generaliste", apl.reindex(zone_of).to_numpy(dtype=float), np.nan
            ),
            "unlocated_share": unlocated.reindex(
                pd.MultiIndex.from_arrays([parent, grid.get_level_values(1)])
            )
            .fillna(0.0)
            .to_numpy(),
            "population_method": main.reindex(zone_of).fillna("").to_numpy(),
            "fine_population_share": (
                fine.reindex(zone_of).fillna(0.0).to_numpy() / np.where(pop > 0, pop, np.nan)
            ),
        }
    )
    return table


def _col(frame: pd.DataFrame, name: str, index: pd.MultiIndex) -> np.ndarray:
    if name not in frame.columns:
        return np.zeros(len(index))
    return np.asarray(frame[name].reindex(index).fillna(0.0), dtype=np.float64)


def _per100k(count: np.ndarray, population: np.ndarray) -> np.ndarray:
    out = np.full(len(count), np.nan)
    np.divide(count * PER, population, out=out, where=population > 0)
    return out


def _unlocated_share(activities: pd.DataFrame, located_iris: Collection[str]) -> pd.Series:
    """Share of each commune's ETP (per profession) not located below the commune (town hall, IRIS
    without outline)."""
    a = activities[activities["commune_code"].fillna("") != ""]
    iris = a.get("iris_code", pd.Series("", index=a.index)).fillna("")
    coarse = ~(
        a["precision"].isin(("etablissement", "adresse"))
        | (a["precision"].eq("iris") & iris.isin(set(located_iris)))
    )
    total = a.groupby(["commune_code", "profession"])["etp"].sum()
    part = a[coarse].groupby(["commune_code", "profession"])["etp"].sum()
    return (part.reindex(total.index).fillna(0.0) / total.where(total > 0)).fillna(0.0)


def onpv_comparison(
    inside: pd.DataFrame, whole: pd.DataFrame, *, confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Each zone against the rest of its commune(s), per profession: densities, APL and their ratios.

    ``inside``: :func:`zone_indicators` of the zones; ``whole``: the same
    indicators computed on each zone's whole commune(s) (same ``unit_id``).
    The rest is the whole minus the zone. The density ratio's interval is the
    exact conditional one for two Poisson counts (given the total, the inside
    count is binomial; Clopper-Pearson bounds, with the continuous extension of
    the beta quantiles for fractional ETP). The APL ratio has no sampling
    interval: the APL is a deterministic function of the files.
    """
    key = ["unit_id", "profession"]
    w = whole.set_index(key)
    z = inside.set_index(key)
    w = w.reindex(z.index)
    pop_in, pop_out = z["population"], w["population"] - z["population"]
    std_in, std_out = (
        z["population_standardised"],
        w["population_standardised"] - z["population_standardised"],
    )
    x_in = z["etp"].clip(lower=0.0)
    x_out = (w["etp"] - z["etp"]).clip(lower=0.0)
    apl_std_in = z["apl"] * std_in
    apl_out = (w["apl"] * w["population_standardised"] - apl_std_in) / std_out.where(std_out > 0)
    dens_in = x_in * PER / pop_in.where(pop_in > 0)
    dens_out = x_out * PER / pop_out.where(pop_out > 0)
    low, high = _rate_ratio_interval(x_in.to_numpy(), x_out.to_numpy(), confidence)
    scale = (pop_out / pop_in.where(pop_in > 0)).to_numpy()
    out = pd.DataFrame(
        {
            "name": z["name"],
            "parent_id": z["parent_id"],
            "population_in": pop_in,
            "population_rest": pop_out,
            "etp_in": x_in,
            "etp_rest": x_out,
            "density_in": dens_in,
            "density_rest": dens_out,
            "density_ratio": dens_in / dens_out.where(dens_out > 0),
            "ratio_low": low * scale,
            "ratio_high": high * scale,
            "std_density_ratio": (x_in / std_in.where(std_in > 0)) / (x_out / std_out.where(std_out > 0)),
            "apl_in": z["apl"],
            "apl_rest": apl_out,
            "apl_ratio": z["apl"] / apl_out.where(apl_out > 0),
            "unlocated_share": z["unlocated_share"],
        },
        index=z.index,
    )
    return out.reset_index()


def _rate_ratio_interval(
    x_in: np.ndarray, x_out: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``x_in / x_out`` (counts ratio) from Clopper-Pearson bounds on ``x_in / (x_in + x_out)``."""
    from scipy.stats import beta  # imported when used: the command line starts faster

    a = (1.0 - confidence) / 2.0
    n = x_in + x_out
    with np.errstate(invalid="ignore", divide="ignore"):
        p_low = np.where(x_in > 0, beta.ppf(a, x_in, n - x_in + 1.0), 0.0)
        p_high = np.where(x_out > 0, beta.ppf(1.0 - a, x_in + 1.0, n - x_in), 1.0)
        low = np.where(n > 0, p_low / (1.0 - p_low), np.nan)
        high = np.where((n > 0) & (p_high < 1.0), p_high / (1.0 - p_high), np.inf)
    return low, np.where(n > 0, high, np.nan)


def mesh_apl(mesh: pd.DataFrame, level: str, tables: list[pd.DataFrame]) -> pd.Series:
    """GP APL of each mesh unit: its own where its level has one (cells, IRIS), else its commune's."""
    table = pd.concat(tables, ignore_index=True)
    gp = table[table["profession"].eq("generaliste")].set_index(["level", "unit_id"])["apl"]
    apl = mesh["commune_code"].map(gp.xs("commune", level="level")).astype(float)
    if level != "commune" and level in gp.index.get_level_values(0):
        fine_rows = mesh["method"].eq(level)
        apl[fine_rows] = mesh.loc[fine_rows, "unit_id"].map(gp.xs(level, level="level")).astype(float)
    return apl


NO_URBAN_UNIT_TABLE = "unité urbaine : table INSEE non fournie"
URBAN_UNIT_COLUMNS = {  # column of onpv_comparison → its rest-of-the-unité-urbaine counterpart
    "population_rest": "population_rest_uu",
    "etp_rest": "etp_rest_uu",
    "density_rest": "density_rest_uu",
    "density_ratio": "density_ratio_uu",
    "ratio_low": "ratio_low_uu",
    "ratio_high": "ratio_high_uu",
    "apl_rest": "apl_rest_uu",
    "apl_ratio": "apl_ratio_uu",
}


def with_urban_unit(
    comparison: pd.DataFrame, urban: pd.DataFrame | None, zone_units: pd.DataFrame | None
) -> pd.DataFrame:
    """``comparison`` (vs the rest of the commune) with the same figures vs the rest of the unité urbaine.

    ``urban``: :func:`onpv_comparison` of the zones against their unité urbaine
    (``geo.urban_unit_parts``); ``zone_units``: per ``zone_id``, ``uu_code``,
    ``uu_name``, ``uu_outside`` (communes of the unité urbaine missing from the
    build, ``;``-separated) and ``uu_note`` (French sentence). Without the INSEE
    table both are ``None``: the figures are empty and the note says so rather
    than leaving the comparison silently out.
    """
    out = comparison.copy()
    zone = out["unit_id"]
    if urban is None or zone_units is None:
        for column in URBAN_UNIT_COLUMNS.values():
            out[column] = np.nan
        out["uu_code"], out["uu_name"], out["uu_outside"] = "", "", ""
        out["uu_note"] = NO_URBAN_UNIT_TABLE
        return out
    info = zone_units.set_index("zone_id")
    key = pd.MultiIndex.from_frame(out[["unit_id", "profession"]])
    figures = urban.set_index(["unit_id", "profession"])
    has_uu = zone.map(info["uu_code"]).fillna("").ne("").to_numpy()
    for column, target in URBAN_UNIT_COLUMNS.items():
        values = figures[column].reindex(key).to_numpy(dtype=float)
        out[target] = np.where(has_uu, values, np.nan)
    for column in ("uu_code", "uu_name", "uu_outside", "uu_note"):
        out[column] = zone.map(info[column]).fillna("").to_numpy()
    return out
