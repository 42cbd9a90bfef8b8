"""Map classes of an indicator with mapclassify (quantiles, Jenks) and their French legend."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import mapclassify
import numpy as np

from accesoins.french import format_number

Method = Literal["quantiles", "jenks"]
METHODS: dict[str, str] = {"quantiles": "quantiles (effectifs égaux)", "jenks": "seuils naturels de Jenks"}
# Sequential palette readable by colour-blind users (viridis, light to dark), 3 to 7 classes.
_VIRIDIS = ["#fde725", "#a0da39", "#4ac16d", "#1fa187", "#277f8e", "#365c8d", "#46327e", "#440154"]


@dataclass(frozen=True)
class Classification:
    """Class index per value (-1 when the value is missing) and the legend rows."""

    classes: np.ndarray
    bounds: list[float]
    colors: list[str]
    labels: list[str]
    counts: list[int]


def format_fr(value: float, digits: int = 1) -> str:
    """French number: comma decimal separator, narrow no-break space between thousands.

    Examples
    --------
    >>> format_fr(12345.678)
    '12\\u202f345,7'
    >>> format_fr(2.5, 2)
    '2,50'
    """
    return format_number(value, digits)


def palette(k: int) -> list[str]:
    """``k`` colours spread over the viridis ramp, light (low values) to dark (high values)."""
    idx = np.linspace(0, len(_VIRIDIS) - 1, k).round().astype(int)
    return [_VIRIDIS[i] for i in idx]


def classify(values: np.ndarray, *, method: Method, k: int, digits: int = 1) -> Classification:
    """Classes of ``values`` (NaN = no class) by ``method`` with at most ``k`` classes.

    Examples
    --------
    >>> c = classify(np.array([1.0, 2.0, 3.0, 4.0, np.nan]), method="quantiles", k=2)
    >>> c.classes.tolist(), c.counts
    ([0, 0, 1, 1, -1], [2, 2])
    """
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    y = values[finite]
    classes = np.full(len(values), -1, dtype=int)
    if y.size == 0:
        return Classification(classes, [], [], [], [])
    k = max(1, min(k, int(np.unique(y).size)))
    if k == 1:
        bins = np.array([float(y.max())])
        yb = np.zeros(y.size, dtype=int)
    else:
        with warnings.catch_warnings():  # ties: mapclassify lowers k itself and says so; the legend shows it
            warnings.filterwarnings("ignore", message="Not enough unique values", category=UserWarning)
            result = (
                mapclassify.Quantiles(y, k=k) if method == "quantiles" else mapclassify.FisherJenks(y, k=k)
            )
        bins, yb = np.asarray(result.bins, dtype=float), np.asarray(result.yb, dtype=int)
    classes[finite] = yb
    bounds = [float(y.min()), *(float(b) for b in bins)]
    n = len(bins)
    labels = []
    for i in range(n):
        low, high = format_fr(bounds[i], digits), format_fr(bounds[i + 1], digits)
        if low == high:
            labels.append(f"égal à {low}")
        else:
            labels.append(f"de {low} à {high}" if i == 0 else f"plus de {low} à {high}")
    counts = [int((yb == i).sum()) for i in range(n)]
    return Classification(classes, bounds, palette(n), labels, counts)
