"""Indicators of access to care per unit and profession.

Reads demand (population, possibly age-standardised), supply (headcount, ETP,
activity) and travel costs; returns densities, floating-catchment
accessibility and the DREES APL. The floating-catchment algebra lives in one
sparse kernel (:func:`floating_catchment`) used by the APL and by the generic
``accesoins fca`` command alike.
"""

from accesoins.indicators._age import five_year_bands, standardised_population
from accesoins.indicators._apl import (
    UNDER_SERVED,
    AplComparison,
    access_from_ratios,
    aggregate_weighted,
    apl,
    compare_apl,
)
from accesoins.indicators._catchment import CatchmentResult, catchment_access, cost_pairs
from accesoins.indicators._decay import Decay, parse_decay
from accesoins.indicators._density import densities, unit_supply
from accesoins.indicators._fca import CostPairs, FcaResult, PairWeights, floating_catchment
from accesoins.indicators._priorities import priority_classes
from accesoins.indicators._supply import (
    APL_MODES,
    bounded_activity,
    calibrate_activity,
    etp_share,
    gp_activity,
)

__all__ = [
    "APL_MODES",
    "UNDER_SERVED",
    "AplComparison",
    "CatchmentResult",
    "CostPairs",
    "Decay",
    "FcaResult",
    "PairWeights",
    "access_from_ratios",
    "aggregate_weighted",
    "apl",
    "bounded_activity",
    "calibrate_activity",
    "catchment_access",
    "compare_apl",
    "cost_pairs",
    "densities",
    "etp_share",
    "five_year_bands",
    "floating_catchment",
    "gp_activity",
    "parse_decay",
    "priority_classes",
    "standardised_population",
    "unit_supply",
]
