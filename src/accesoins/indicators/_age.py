"""Age structure: census age bands → the 19 five-year bands of the DREES weights.

INSEE publishes IRIS populations in overlapping bands (0-2, 3-5, 6-10, ...,
80+ and 0-14, 15-29, ..., 75+). Together they pin down the population of every
"atom" between consecutive band limits (a linear system, solved for all units
at once). Each atom is then spread uniformly over its years of age; an
open-ended atom (80 and over) is split with the national structure of old
ages (``parameters/old_age_structure.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from accesoins.parameters import AGE_BANDS

OPEN_END = 120  # last age of an open-ended band ("80 ans ou plus")


def _band_limits() -> list[tuple[int, int]]:
    limits = []
    for band in AGE_BANDS:
        lo, _, hi = band.replace("+", "-").partition("-")
        limits.append((int(lo), int(hi) if hi else OPEN_END))
    return limits


@cache
def _old_age_shares() -> dict[str, float]:
    text = (
        resources.files("accesoins.parameters").joinpath("old_age_structure.yaml").read_text(encoding="utf-8")
    )
    return {k: float(v) for k, v in yaml.safe_load(text)["population_millions"].items()}


def _spread_matrix(atoms: list[tuple[int, int]]) -> np.ndarray:
    """Share of each atom (rows) falling in each of the 19 DREES bands (columns)."""
    bands = _band_limits()
    old = _old_age_shares()
    spread = np.zeros((len(atoms), len(bands)))
    for a, (lo, hi) in enumerate(atoms):
        if hi >= OPEN_END:  # open-ended: national structure of the bands it covers
            covered = [k for k, (blo, _) in enumerate(bands) if blo >= lo]
            weights = np.array([old.get(AGE_BANDS[k], 0.0) for k in covered])
            if weights.sum() == 0:
                weights = np.ones(len(covered))
            spread[a, covered] = weights / weights.sum()
            continue
        years = hi - lo + 1
        for k, (blo, bhi) in enumerate(bands):
            overlap = min(hi, bhi) - max(lo, blo) + 1
            if overlap > 0:
                spread[a, k] = overlap / years
    return spread


def five_year_bands(counts: pd.DataFrame, bands: Mapping[str, tuple[int, int]]) -> pd.DataFrame:
    """Population of each unit in the 19 DREES age bands.

    ``counts`` has one column per census band; ``bands`` maps each column to its
    first and last age (``OPEN_END`` or more for an open band). Negative atom
    estimates (rounding in the census file) are set to 0 and the unit's total
    is kept.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [10.0], "b": [30.0], "c": [6.0]})
    >>> out = five_year_bands(df, {"a": (0, 9), "b": (0, 39), "c": (80, 120)})
    >>> out[["0-4", "5-9", "10-14", "35-39"]].round(2).values.tolist()[0]
    [5.0, 5.0, 3.33, 3.33]
    >>> round(float(out.sum(axis=1).iloc[0]), 6)
    36.0
    """
    cols = list(bands)
    limits = [bands[c] for c in cols]
    cuts = sorted({lo for lo, _ in limits} | {min(hi, OPEN_END) + 1 for _, hi in limits})
    atoms = [(cuts[i], cuts[i + 1] - 1) for i in range(len(cuts) - 1)]
    design = np.array(
        [
            [1.0 if lo <= a_lo and a_hi <= min(hi, OPEN_END) else 0.0 for a_lo, a_hi in atoms]
            for lo, hi in limits
        ]
    )
    values = counts[cols].to_numpy(dtype=np.float64)
    solution, *_ = np.linalg.lstsq(design, values.T, rcond=None)
    total = solution.sum(axis=0)
    atoms_pop = np.clip(solution.T, 0.0, None)
    kept = atoms_pop.sum(axis=1)
    atoms_pop *= np.divide(total, kept, out=np.ones_like(total), where=kept > 0)[:, None]
    return pd.DataFrame(atoms_pop @ _spread_matrix(atoms), index=counts.index, columns=list(AGE_BANDS))


def standardised_population(bands5: pd.DataFrame, age_weights: Mapping[str, float]) -> pd.Series:
    """Σ population × consumption weight of its age band (DREES "population standardisée")."""
    weights = np.array([age_weights[b] for b in AGE_BANDS])
    return pd.Series(
        bands5[list(AGE_BANDS)].to_numpy() @ weights, index=bands5.index, name="population_standardised"
    )
