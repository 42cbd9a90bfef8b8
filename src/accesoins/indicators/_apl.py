"""The DREES APL (accessibilité potentielle localisée) on any units, and its validation.

APL = E2SFCA with the DREES step decay, supply in yearly consultations and
demand in age-standardised inhabitants: the result reads as consultations per
standardised inhabitant per year. Computed on fine units (IRIS, 200 m cells),
it is aggregated to communes weighted by standardised population, as DREES
asks for any aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from accesoins.french import format_number
from accesoins.indicators._catchment import CatchmentResult, catchment_access, cost_pairs
from accesoins.parameters import AplParameters


def apl(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    params: AplParameters,
) -> CatchmentResult:
    """APL of each demand unit.

    ``demand``: standardised population per unit; ``supply``: consultations per
    site; ``costs``: ``origin_id`` (unit) → ``destination_id`` (site),
    ``travel_time_min``.
    """
    decay = params.decay
    return catchment_access(demand, supply, costs, decay=decay, cutoff=decay.reach_min)


def access_from_ratios(
    origins: pd.Index, ratios: pd.Series, costs: pd.DataFrame, params: AplParameters
) -> pd.Series:
    """Second step only: access of other origins (e.g. 200 m cells) to sites whose ratios are known.

    The ratios come from a catchment computed on complete demand units (the
    communes of the territory), so a window of cells that covers part of a
    catchment does not distort them.
    """
    pairs = cost_pairs(costs, origins, ratios.index)
    decay = params.decay
    w = pairs.weights(decay, cutoff=decay.reach_min)
    return pd.Series(w.spread(ratios.to_numpy(dtype=np.float64)), index=origins, name="apl")


def aggregate_weighted(values: pd.Series, weights: pd.Series, groups: pd.Series) -> pd.Series:
    """Weighted mean of ``values`` per group (commune APL from IRIS: weights = standardised population)."""
    frame = pd.DataFrame({"v": values * weights, "w": weights, "g": groups})
    sums = frame.groupby("g")[["v", "w"]].sum()
    return (sums["v"] / sums["w"].where(sums["w"] > 0)).rename(values.name)


@dataclass(frozen=True)
class AplComparison:
    """Agreement between our APL and a reference table on common units."""

    n_units: int
    rho: float
    mae: float
    bias: float
    pearson: float

    def lines(self) -> list[str]:
        """Human-readable summary in French; the last line is ``rho=<value>``."""
        bias = format_number(self.bias, 3)
        rho, pearson = format_number(self.rho, 3), format_number(self.pearson, 3)
        return [
            f"communes comparées : {self.n_units}",
            f"corrélation de Spearman ρ = {rho} (Pearson r = {pearson})",
            f"erreur absolue moyenne = {format_number(self.mae, 3)} consultation/an/hab.",
            f"biais moyen (nous − DREES) = {bias if self.bias < 0 else '+' + bias}",
            f"rho={self.rho:.4f}",  # for scripts: a decimal point, like every machine-read value
        ]


def compare_apl(ours: pd.Series, reference: pd.Series) -> AplComparison:
    """Spearman ρ, mean absolute error and bias of ``ours`` against ``reference`` (same index)."""
    both = pd.concat([ours.rename("a"), reference.rename("b")], axis=1, join="inner").dropna()
    # Spearman: Pearson of the average ranks (as scipy.stats.spearmanr, without importing scipy.stats)
    rho = float(np.corrcoef(both["a"].rank(), both["b"].rank())[0, 1])
    diff = both["a"] - both["b"]
    return AplComparison(
        n_units=len(both),
        rho=rho,
        mae=float(diff.abs().mean()),
        bias=float(diff.mean()),
        pearson=float(np.corrcoef(both["a"], both["b"])[0, 1]),
    )
