"""DataFrame wrapper of the floating-catchment kernel: aligns identifiers only."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from accesoins.errors import ConfigurationError
from accesoins.indicators._decay import Decay
from accesoins.indicators._fca import CostPairs, FcaResult, floating_catchment
from accesoins.indicators._kernel import has_duplicate_pairs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatchmentResult:
    """Access per demand unit and ratio per supply site, indexed by identifier."""

    access: pd.Series
    ratio: pd.Series
    catchment_demand: pd.Series
    unreached_supply: pd.Index


def _positions(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in ``index`` (-1 when absent).

    Integer identifiers are looked up directly (a hash lookup per value is
    cheap); text identifiers are factorised first, so each distinct code is
    hashed once instead of once per pair.
    """
    if pd.api.types.is_integer_dtype(values) and pd.api.types.is_integer_dtype(index):
        return np.asarray(index.get_indexer(values), dtype=np.int64)
    codes, uniques = pd.factorize(values)
    lookup = np.append(index.get_indexer(uniques), -1)  # code -1 (missing value) -> -1
    return np.asarray(lookup[codes], dtype=np.int64)


def cost_pairs(
    costs: pd.DataFrame,
    origins: pd.Index,
    destinations: pd.Index,
    *,
    origin: str = "origin_id",
    destination: str = "destination_id",
    cost: str = "travel_time_min",
) -> CostPairs:
    """Index a long cost table on the given origin and destination identifiers.

    Rows whose origin or destination is unknown are dropped (and counted in
    the log); a pair given twice is an error, since the kernel would add them.
    """
    o = _positions(costs[origin], origins)
    d = _positions(costs[destination], destinations)
    values = costs[cost].to_numpy(dtype=np.float64)
    known = (o >= 0) & (d >= 0)
    if not known.all():
        log.info("%d couple(s) de la table de coûts hors des unités étudiées, ignorés", int((~known).sum()))
        o, d, values = o[known], d[known], values[known]
    o, d = o.astype(np.int64, copy=False), d.astype(np.int64, copy=False)
    if not values.min(initial=0.0) >= 0:  # also catches NaN
        raise ConfigurationError("la table de coûts contient des valeurs manquantes ou négatives")
    if has_duplicate_pairs(o, d, len(origins), len(destinations)):
        key = pd.Series(o * max(len(destinations), 1) + d)
        dup = costs[known].loc[key.duplicated().to_numpy(), [origin, destination]].iloc[0]
        raise ConfigurationError(
            f"couple en double dans la table de coûts : origine « {dup[origin]} », "
            f"destination « {dup[destination]} »"
        )
    return CostPairs(o, d, values, len(origins), len(destinations))


def catchment_access(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    decay: Decay,
    cutoff: float | None = None,
    scale: float = 1.0,
    origin: str = "origin_id",
    destination: str = "destination_id",
    cost: str = "travel_time_min",
) -> CatchmentResult:
    """Floating-catchment accessibility of each demand unit.

    ``demand`` and ``supply`` are Series indexed by identifier; ``costs`` a long
    table from demand identifiers (``origin``) to supply identifiers
    (``destination``). See :mod:`accesoins.indicators._fca` for the formula and
    the orientation rule.
    """
    for name, s in (("demande", demand), ("offre", supply)):
        if not s.index.is_unique:
            raise ConfigurationError(
                f"identifiant en double dans la {name} : « {s.index[s.index.duplicated()][0]} »"
            )
        if s.isna().any() or (s < 0).any():
            raise ConfigurationError(f"valeurs manquantes ou négatives dans la {name}")
    pairs = cost_pairs(costs, demand.index, supply.index, origin=origin, destination=destination, cost=cost)
    result: FcaResult = floating_catchment(
        demand.to_numpy(dtype=np.float64),
        supply.to_numpy(dtype=np.float64),
        pairs.weights(decay, cutoff=cutoff),
        scale=scale,
    )
    unreached = supply.index[(result.catchment_demand <= 0) & (supply.to_numpy() > 0)]
    if len(unreached):
        log.warning("%d site(s) d'offre sans aucune demande dans leur zone d'attraction", len(unreached))
    return CatchmentResult(
        access=pd.Series(result.access, index=demand.index, name="access"),
        ratio=pd.Series(result.ratio, index=supply.index, name="ratio"),
        catchment_demand=pd.Series(result.catchment_demand, index=supply.index, name="catchment_demand"),
        unreached_supply=unreached,
    )
