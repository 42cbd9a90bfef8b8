"""Map classes of an indicator and their French legend: APL classes of meaning, quantiles, Jenks.

The default for the APL is the meaning-based scale of the PDF fiches (red for « sous-dotée »,
blue above; thresholds from ``parameters/apl_classes.yaml``); quantiles and Jenks
(mapclassify) stay options for every indicator.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import mapclassify
import numpy as np

from accesoins.french import format_number
from accesoins.outputs import APL_CLASSES

Method = Literal["seuils", "quantiles", "jenks"]
METHODS: dict[str, str] = {
    "seuils": "classes de lecture de l'APL (indicatives : ce n'est pas le zonage de l'ARS)",
    "quantiles": "quantiles (effectifs égaux)",
    "jenks": "seuils naturels de Jenks",
}
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


def apl_thresholds() -> list[float]:
    """Inner bounds of the APL classes of meaning, from ``parameters/apl_classes.yaml``.

    Examples
    --------
    >>> apl_thresholds()
    [2.5, 4.0]
    """
    return [c.lower for c in APL_CLASSES[1:]]


def classify_apl(values: np.ndarray) -> Classification:
    """APL classes of meaning (every class listed, even when empty, so the scale reads the same everywhere).

    Examples
    --------
    >>> c = classify_apl(np.array([1.0, 2.49, 2.5, 5.0, np.nan]))
    >>> c.classes.tolist(), c.counts, c.labels[0]
    ([0, 0, 1, 2, -1], [2, 1, 1], 'moins de 2,5 : sous-dotée')
    """
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    inner = apl_thresholds()
    classes = np.where(finite, np.searchsorted(inner, np.where(finite, values, 0.0), side="right"), -1)
    labels = [c.label for c in APL_CLASSES]
    y = values[finite]
    top = float(max(y.max(), inner[-1])) if y.size else inner[-1]
    bounds = [float(min(y.min(), 0.0)) if y.size else 0.0, *inner, top]
    counts = [int((classes == i).sum()) for i in range(len(labels))]
    return Classification(classes.astype(int), bounds, [c.colour for c in APL_CLASSES], labels, counts)


def classify(values: np.ndarray, *, method: Method, k: int, digits: int = 1) -> Classification:
    """Classes of ``values`` (NaN = no class) by ``method``: at most ``k`` classes, none empty.

    ``seuils`` is for the APL (:func:`classify_apl`); for another indicator it falls back to quantiles.
    A value shared by a whole quantile or more (often 0: no practitioner) gets a class of its own and the
    other values share the remaining classes, so 5 classes asked give 5 classes when the values allow it.

    Examples
    --------
    >>> c = classify(np.array([1.0, 2.0, 3.0, 4.0, np.nan]), method="quantiles", k=2)
    >>> c.classes.tolist(), c.counts, c.labels
    ([0, 0, 1, 1, -1], [2, 2], ['de 1,0 à 2,5', 'plus de 2,5 à 4,0'])
    >>> c = classify(np.array([0.0] * 6 + [1.0, 2.0, 3.0, 4.0]), method="quantiles", k=3)
    >>> c.counts, c.labels
    ([6, 2, 2], ['égal à 0', 'plus de 0,0 à 2,5', 'plus de 2,5 à 4,0'])
    """
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    y = values[finite]
    classes = np.full(len(values), -1, dtype=int)
    if y.size == 0:
        return Classification(classes, [], [], [], [])
    k = max(1, min(k, int(np.unique(y).size)))
    low = float(y.min())
    tied = k > 1 and method != "jenks" and (y == low).sum() * k >= y.size
    rest = y[y > low] if tied else y
    inner = _bins(rest, method=method, k=k - 1 if tied else k)
    bins = np.unique(np.concatenate([[low] if tied else [], inner]))
    yb = np.searchsorted(bins, y, side="left")
    used = np.unique(yb)  # drop empty classes
    bins = bins[used]
    yb = np.searchsorted(bins, y, side="left")
    classes[finite] = yb
    bounds = [low, *(float(b) for b in bins)]
    n = len(bins)
    labels = []
    for i in range(n):
        members = y[yb == i]
        if members.min() == members.max():  # one value: « égal à 0 », never « égal à 0,0 »
            v = float(members.min())
            labels.append(f"égal à {format_fr(v, 0 if v == round(v) else digits)}")
            continue
        lo, hi = format_fr(bounds[i], digits), format_fr(bounds[i + 1], digits)
        labels.append(f"de {lo} à {hi}" if i == 0 else f"plus de {lo} à {hi}")
    counts = [int((yb == i).sum()) for i in range(n)]
    return Classification(classes, bounds, palette(n), labels, counts)


def _bins(y: np.ndarray, *, method: Method, k: int) -> np.ndarray:
    """Upper bounds of ``k`` classes of ``y`` by quantiles or Fisher-Jenks (mapclassify)."""
    k = min(k, int(np.unique(y).size))
    if k <= 1:
        return np.array([float(y.max())]) if y.size else np.array([])
    with warnings.catch_warnings():  # ties: mapclassify lowers k itself and says so; the legend shows it
        warnings.filterwarnings("ignore", message="Not enough unique values", category=UserWarning)
        result = mapclassify.FisherJenks(y, k=k) if method == "jenks" else mapclassify.Quantiles(y, k=k)
    return np.asarray(result.bins, dtype=float)
