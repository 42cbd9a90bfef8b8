"""Crossing access and need: 3 × 3 bivariate classes and a ranked list of priority units.

« Universalisme proportionné » asks to target effort where access is weakest
*and* need is highest. Each unit gets an access class (1 = weakest APL, 3 =
best) and a need class (1 = lowest need, 3 = highest: poverty rate, share in
ALD, elderly people living alone…). By default both classes are the terciles of
the territory's units (a relative reading: « parmi les IRIS de ce territoire »);
fixed thresholds can be given instead (e.g. the APL classes of the parameters).
Priority units are those of access class 1 and need class 3, ranked by how far
they are into both tails (need percentile minus APL percentile).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["priority_classes"]


def _classes(values: pd.Series, thresholds: Sequence[float] | None) -> tuple[pd.Series, pd.Series]:
    """Class 1–3 and percentile of each value (terciles of ``values`` unless thresholds are given)."""
    percentile = values.rank(pct=True, method="average")
    if thresholds is None:
        cls = np.where(percentile <= 1 / 3, 1, np.where(percentile <= 2 / 3, 2, 3))
    else:
        low, high = thresholds
        cls = np.where(values < low, 1, np.where(values < high, 2, 3))
    return pd.Series(cls, index=values.index, dtype="int64"), percentile


def priority_classes(
    apl: pd.Series,
    need: pd.Series,
    *,
    apl_thresholds: Sequence[float] | None = None,
    need_thresholds: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Bivariate class of every unit with both values, and its priority rank.

    Returns, indexed by unit: ``apl``, ``need``, ``access_class`` and ``need_class``
    (1–3), ``apl_percentile``, ``need_percentile``, ``bivariate`` (« A1-B3 »:
    weakest access, highest need), ``priority`` (access 1 and need 3) and
    ``priority_rank`` (1 = first priority; missing for non-priority units).
    Units without one of the two values (INSEE suppressions) are left out.

    >>> apl = pd.Series([2.0, 3.0, 4.0, 5.0, 6.0, 7.0], index=list("abcdef"))
    >>> need = pd.Series([30.0, 25.0, 10.0, 8.0, 20.0, 5.0], index=list("abcdef"))
    >>> priority_classes(apl, need).query("priority").index.tolist()
    ['a', 'b']
    """
    both = pd.DataFrame({"apl": apl, "need": need}).dropna()
    if both.empty:
        return both.assign(
            access_class=pd.Series(dtype="int64"),
            need_class=pd.Series(dtype="int64"),
            apl_percentile=pd.Series(dtype=float),
            need_percentile=pd.Series(dtype=float),
            bivariate=pd.Series(dtype=str),
            priority=pd.Series(dtype=bool),
            priority_rank=pd.Series(dtype="Int64"),
        )
    both["access_class"], both["apl_percentile"] = _classes(both["apl"], apl_thresholds)
    both["need_class"], both["need_percentile"] = _classes(both["need"], need_thresholds)
    both["bivariate"] = "A" + both["access_class"].astype(str) + "-B" + both["need_class"].astype(str)
    both["priority"] = both["access_class"].eq(1) & both["need_class"].eq(3)
    score = (both["need_percentile"] - both["apl_percentile"]).where(both["priority"])
    order = score.rank(ascending=False, method="first")
    both["priority_rank"] = order.astype("Int64")
    return both.sort_values(["priority_rank", "apl"], na_position="last")
