"""Indicators of access to care per unit and profession.

Reads demand (population, possibly age-standardised), supply (headcount, ETP,
activity) and travel costs; returns densities, floating-catchment
accessibility and the DREES APL. The floating-catchment algebra lives in one
sparse kernel (:func:`floating_catchment`) used by the APL and by the generic
``accesoins fca`` command alike.
"""

from accesoins.indicators._catchment import CatchmentResult, catchment_access, cost_pairs
from accesoins.indicators._decay import Decay, parse_decay
from accesoins.indicators._fca import CostPairs, FcaResult, floating_catchment

__all__ = [
    "CatchmentResult",
    "CostPairs",
    "Decay",
    "FcaResult",
    "catchment_access",
    "cost_pairs",
    "floating_catchment",
    "parse_decay",
]
