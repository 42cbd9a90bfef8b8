"""Indicators of access to care per unit and profession.

Reads demand (population, possibly age-standardised), supply (headcount, ETP,
activity) and travel costs; returns densities, floating-catchment
accessibility and the DREES APL. The floating-catchment algebra lives in one
sparse kernel (:func:`floating_catchment`) used by the APL and by the generic
``accesoins fca`` command alike.
"""

from accesoins.indicators._age import five_year_bands, standardised_population
from accesoins.indicators._apl import (
    AplComparison,
    access_from_ratios,
    aggregate_weighted,
    apl,
    compare_apl,
)
from accesoins.indicators._build import (
    DemandMode,
    activity_level,
    commune_demand,
    fill_etp,
    iris_standardised,
    level_table,
)
from accesoins.indicators._catchment import CatchmentResult, catchment_access, cost_pairs
from accesoins.indicators._codes import (
    APL_CLASS_BOUNDS,
    UNDER_SERVED,
    WELL_SERVED,
    AplClass,
    DemandMethod,
    apl_class,
    apl_classes,
)
from accesoins.indicators._decay import Decay, parse_decay
from accesoins.indicators._density import densities, unit_supply
from accesoins.indicators._fca import CostPairs, FcaResult, PairWeights, floating_catchment
from accesoins.indicators._local import (
    LocalIndicators,
    local_indicators,
    official_zoning,
    territory_reference,
)
from accesoins.indicators._priorities import priority_classes
from accesoins.indicators._references import REFERENCE_COLUMNS, drees_references
from accesoins.indicators._supply import (
    APL_MODES,
    bounded_activity,
    calibrate_activity,
    etp_share,
    gp_activity,
)
from accesoins.indicators._tiles import (
    TiledAccess,
    TileProgress,
    check_scheduler,
    grid_access,
    in_memory_catchment,
    plan_tiles,
    scheduler_address,
    tiled_access,
    tiled_catchment,
)
from accesoins.indicators._zones import (
    NO_URBAN_UNIT_TABLE,
    URBAN_UNIT_COLUMNS,
    mesh_apl,
    onpv_comparison,
    with_urban_unit,
    zone_indicators,
)

__all__ = [
    "APL_CLASS_BOUNDS",
    "APL_MODES",
    "NO_URBAN_UNIT_TABLE",
    "REFERENCE_COLUMNS",
    "UNDER_SERVED",
    "URBAN_UNIT_COLUMNS",
    "WELL_SERVED",
    "AplClass",
    "AplComparison",
    "CatchmentResult",
    "CostPairs",
    "Decay",
    "DemandMethod",
    "DemandMode",
    "FcaResult",
    "LocalIndicators",
    "PairWeights",
    "TileProgress",
    "TiledAccess",
    "access_from_ratios",
    "activity_level",
    "aggregate_weighted",
    "apl",
    "apl_class",
    "apl_classes",
    "bounded_activity",
    "calibrate_activity",
    "catchment_access",
    "check_scheduler",
    "commune_demand",
    "compare_apl",
    "cost_pairs",
    "densities",
    "drees_references",
    "etp_share",
    "fill_etp",
    "five_year_bands",
    "floating_catchment",
    "gp_activity",
    "grid_access",
    "in_memory_catchment",
    "iris_standardised",
    "level_table",
    "local_indicators",
    "mesh_apl",
    "official_zoning",
    "onpv_comparison",
    "parse_decay",
    "plan_tiles",
    "priority_classes",
    "scheduler_address",
    "standardised_population",
    "territory_reference",
    "tiled_access",
    "tiled_catchment",
    "unit_supply",
    "with_urban_unit",
    "zone_indicators",
]
