"""Distance-decay functions of the floating-catchment methods.

A decay maps an array of travel costs (minutes, or whatever unit the cost
table uses) to weights in [0, 1]. Every function is vectorised: it takes and
returns NumPy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from accesoins.errors import ConfigurationError
from accesoins.indicators._kernel import step_weights

DecayKind = Literal["steps", "exp", "gaussian", "gravity", "uniform"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Decay:
    """A distance-decay function.

    ``steps``: ``limits`` (increasing) and ``weights``: weight ``weights[k]``
    for ``limits[k-1] <= cost < limits[k]``, ``beyond`` (0 for the DREES) from the last limit on.
    ``exp``: ``exp(-beta * cost)``. ``gaussian``: ``exp(-(cost / d0)**2 / 2)``
    (cost in the unit of ``d0``). ``gravity``: ``max(cost, 1) ** -beta`` (costs
    below 1 count as 1, so a zero cost does not give an infinite weight).
    ``uniform``: 1 everywhere (classic 2SFCA, with a cutoff).
    """

    kind: DecayKind
    beta: float = 0.0
    d0: float = 1.0
    limits: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    beyond: float = 0.0

    def __call__(self, cost: npt.ArrayLike) -> FloatArray:
        c = np.asarray(cost, dtype=np.float64)
        if self.kind == "steps":
            flat = np.ascontiguousarray(c.ravel())
            limits = np.asarray(self.limits, dtype=np.float64)
            steps = np.asarray(self.weights, dtype=np.float64)
            out: FloatArray = step_weights(flat, limits, steps, float(self.beyond))
            return out.reshape(c.shape)
        if self.kind == "exp":
            return np.exp(-self.beta * c)
        if self.kind == "gaussian":
            return np.exp(-0.5 * (c / self.d0) ** 2)
        if self.kind == "gravity":
            return np.maximum(c, 1.0) ** (-self.beta)
        return np.ones_like(c)

    @property
    def reach_min(self) -> float:
        """Cost from which every weight is 0, the cutoff of the catchments (inf when never 0)."""
        return self.limits[-1] if self.kind == "steps" and self.beyond == 0 else float("inf")


def parse_decay(spec: str) -> Decay:
    """Parse a decay written as on the command line.

    Examples
    --------
    >>> d = parse_decay("steps:10=1,15=0.6667,20=0.3333")
    >>> d([0, 9.99, 10, 14, 15, 19.9, 20]).round(4).tolist()
    [1.0, 1.0, 0.6667, 0.6667, 0.3333, 0.3333, 0.0]
    >>> float(parse_decay("exp:0.12")(10.0).round(4))
    0.3012
    """
    kind, _, arg = spec.strip().partition(":")
    kind = kind.strip().lower()
    try:
        if kind == "steps":
            pairs = [p.split("=") for p in arg.split(",") if p.strip()]
            limits = tuple(float(a) for a, _ in pairs)
            weights = tuple(float(b) for _, b in pairs)
            increasing = bool(limits) and all(np.isfinite(limits)) and list(limits) == sorted(limits)
            if not increasing or any(not 0 <= w <= 1 for w in weights):
                raise ValueError
            return Decay("steps", limits=limits, weights=weights)
        if kind in ("exp", "gravity"):
            beta = float(arg)
            if not 0 <= beta < np.inf:  # also refuses nan and inf
                raise ValueError
            return Decay(kind, beta=beta)  # type: ignore[arg-type]
        if kind == "gaussian":
            d0 = float(arg)
            if not 0 < d0 < np.inf:
                raise ValueError
            return Decay("gaussian", d0=d0)
        if kind == "uniform" and not arg:
            return Decay("uniform")
    except ValueError:
        pass
    raise ConfigurationError(
        f"fonction de décroissance invalide : « {spec} ». Formes acceptées : "
        "steps:10=1,15=0.6667,20=0.3333 (seuils croissants, poids entre 0 et 1), "
        "exp:BETA, gaussian:D0, gravity:BETA, uniform"
    )
