"""Supply per activity: ETP shares and the GP activity proxy of the APL.

Per-GP activity (consultations and visits of the year, SNIIR-AM) is not public.
The proxy: every GP in the DREES field (libéral or salaried in a centre de
santé) is given the same yearly activity, by default the 5,400 consultations
DREES imputes to a GP without last year's activity; a practitioner with n
places of practice brings 1/n of it to each. DREES bounds (below 250 → 0,
below 3,600 → 3,600, above 6,000 → 6,000) apply to libéraux, not to centres
de santé. ``calibrate_activity`` gives the uniform level that reproduces a
known territorial total (e.g. Σ APL × standardised population of the DREES
table), which changes levels (bias) but never the ranking of units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from accesoins.errors import ConfigurationError
from accesoins.parameters import AplParameters

APL_MODES = ("liberal", "centre_sante")


def etp_share(activities: pd.DataFrame) -> pd.Series:
    """1 / number of activities of the same practitioner in the same profession.

    A proxy of full-time equivalent: the open directory gives places, not hours.
    """
    n = activities.groupby(["practitioner_id", "profession"])["practitioner_id"].transform("size")
    return (1.0 / n).rename("etp")


def bounded_activity(consultations: np.ndarray, mode: np.ndarray, params: AplParameters) -> np.ndarray:
    """Apply the DREES activity bounds to libéraux (centres de santé unbounded)."""
    a = params.activity
    c = np.asarray(consultations, dtype=np.float64)
    bounded = np.where(c < a.lower_bound, 0.0, np.clip(c, a.floor, a.ceiling))
    if a.bounds_for_health_centres:
        return bounded
    return np.where(np.asarray(mode) == "centre_sante", c, bounded)


def gp_activity(
    activities: pd.DataFrame,
    params: AplParameters,
    *,
    consultations_per_gp: float | None = None,
) -> pd.Series:
    """Consultations brought by each GP activity to its site (0 outside the DREES field).

    ``activities`` needs ``practitioner_id``, ``profession``, ``mode`` and an
    ``etp`` share (:func:`etp_share`) or a ``weight`` column. Default level:
    ``params.activity.imputed_new``.
    """
    level = params.activity.imputed_new if consultations_per_gp is None else consultations_per_gp
    if level <= 0:
        raise ConfigurationError("l'activité par médecin doit être positive")
    gp = activities["profession"].eq("generaliste") & activities["mode"].isin(APL_MODES)
    share = activities["etp"] if "etp" in activities.columns else etp_share(activities)
    per_gp = bounded_activity(np.full(len(activities), level), activities["mode"].to_numpy(), params)
    return pd.Series(
        np.where(gp, per_gp * share.to_numpy(), 0.0), index=activities.index, name="consultations"
    )


def calibrate_activity(target_consultations: float, gp_etp: float, params: AplParameters) -> float:
    """Uniform yearly activity per GP that makes ``gp_etp`` GPs supply ``target_consultations``.

    Kept within the DREES bounds [floor, ceiling].
    """
    if gp_etp <= 0:
        raise ConfigurationError("aucun médecin généraliste dans le champ de l'APL : calibrage impossible")
    a = params.activity
    return float(np.clip(target_consultations / gp_etp, a.floor, a.ceiling))
