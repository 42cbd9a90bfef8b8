"""Floating-catchment kernel (2SFCA / E2SFCA / DREES APL), on sparse matrices.

Orientation, everywhere in accesoins: a cost table goes from **origin = demand
unit** to **destination = supply site**. The same directed cost ``c(o, d)`` is
used in both steps (the supply-side catchment of site ``d`` gathers the demand
of every ``o`` with a finite ``c(o, d)``), so an asymmetric table is used in
one orientation only, never transposed.

    W[o, d] = f(c(o, d)) if c(o, d) <= cutoff else 0
    R[d]    = S[d] / sum_o W[o, d] * P[o]         (supply-to-demand ratio)
    A[o]    = sum_d W[o, d] * R[d]                 (accessibility)

Two sparse matrix-vector products, each one compiled pass over the pairs
(:mod:`accesoins.indicators._kernel`): no Python loop over pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from accesoins.indicators._decay import Decay
from accesoins.indicators._kernel import two_steps

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PairWeights:
    """Decay weights of the reachable pairs (a sparse matrix kept as coordinate arrays).

    The two products of the method run in :func:`floating_catchment` (compiled);
    ``spread`` alone serves the second step on other origins (``access_from_ratios``).
    """

    origin: IntArray
    destination: IntArray
    weight: FloatArray
    n_origins: int
    n_destinations: int

    @property
    def nnz(self) -> int:
        """Number of pairs with a positive weight."""
        return int(self.weight.size)

    def to_csr(self) -> sp.csr_matrix:
        """The ``n_origins × n_destinations`` weight matrix."""
        return sp.csr_matrix(
            (self.weight, (self.origin, self.destination)), shape=(self.n_origins, self.n_destinations)
        )

    def spread(self, ratio: FloatArray) -> FloatArray:
        """``W · ratio``: weighted sum of destination ratios seen from each origin."""
        sums = np.bincount(
            self.origin, weights=self.weight * ratio[self.destination], minlength=self.n_origins
        )
        return np.asarray(sums, dtype=np.float64)


@dataclass(frozen=True)
class CostPairs:
    """A sparse origin → destination cost table, by integer positions.

    ``origin`` indexes the demand units (0..n_origins-1), ``destination`` the
    supply sites (0..n_destinations-1), ``cost`` is in the unit of the decay
    (minutes for the APL). Pairs absent from the table are unreachable.
    """

    origin: IntArray
    destination: IntArray
    cost: FloatArray
    n_origins: int
    n_destinations: int

    def weights(self, decay: Decay, *, cutoff: float | None = None) -> PairWeights:
        """Decay weights of the pairs within ``cutoff`` (cost ≤ cutoff) with a positive weight."""
        w = decay(self.cost)
        keep = w > 0
        if cutoff is not None:
            keep &= self.cost <= cutoff
        if keep.all():
            return PairWeights(self.origin, self.destination, w, self.n_origins, self.n_destinations)
        return PairWeights(
            self.origin[keep], self.destination[keep], w[keep], self.n_origins, self.n_destinations
        )


@dataclass(frozen=True)
class FcaResult:
    """Output of :func:`floating_catchment`.

    ``access`` per origin (supply per unit of demand, times ``scale``);
    ``ratio`` per destination (supply / weighted demand in its catchment, times
    ``scale``); ``catchment_demand`` per destination (weighted demand).
    """

    access: FloatArray
    ratio: FloatArray
    catchment_demand: FloatArray


def floating_catchment(
    demand: npt.ArrayLike,
    supply: npt.ArrayLike,
    weights: PairWeights,
    *,
    scale: float = 1.0,
) -> FcaResult:
    """Enhanced two-step floating catchment on pair weights.

    ``weights`` comes from :meth:`CostPairs.weights`. A site whose catchment
    holds no demand gets a ratio of 0 (its supply reaches nobody); callers
    report such sites.

    Examples
    --------
    Two villages (100 and 300 inhabitants), one GP in the first, 12 min apart:

    >>> import numpy as np
    >>> w = PairWeights(np.array([0, 1]), np.array([0, 0]), np.array([1.0, 0.5]), 2, 1)
    >>> r = floating_catchment([100, 300], [1.0], w, scale=1000)
    >>> r.access.round(3).tolist(), r.ratio.round(3).tolist()
    ([4.0, 2.0], [4.0])
    """
    p = np.ascontiguousarray(demand, dtype=np.float64)
    s = np.ascontiguousarray(supply, dtype=np.float64)
    catchment, ratio, access = two_steps(
        weights.origin, weights.destination, weights.weight, p, s, weights.n_origins, float(scale)
    )
    return FcaResult(access=access, ratio=ratio, catchment_demand=catchment)
