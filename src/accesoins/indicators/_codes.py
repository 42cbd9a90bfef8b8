"""Codes produced by the indicators stage: APL classes (thresholds from the parameters YAML), demand methods.

The values are the strings stored in snapshots; their French labels live in
:mod:`accesoins.labels`, so no output spells a code or a threshold itself.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from accesoins.errors import ConfigurationError
from accesoins.parameters import load_apl_classes


class AplClass(StrEnum):
    """Class of an APL value; bounds in ``parameters/apl_classes.yaml``."""

    SOUS_DOTEE = "sous_dotee"
    INTERMEDIAIRE = "intermediaire"
    BIEN_DOTEE = "bien_dotee"


class DemandMethod(StrEnum):
    """How the demand (standardised population) of communes was obtained."""

    INSEE_AGES_IRIS = "insee_ages_iris"
    RATIO_DREES = "ratio_standardisation_drees"
    NON_STANDARDISEE = "population_non_standardisee"


def _bounds() -> list[tuple[AplClass, float]]:
    """(class, exclusive upper bound) in increasing order; the last bound is +inf."""
    spec = load_apl_classes()
    codes = [c.code for c in spec.classes]
    if codes != [str(c) for c in AplClass]:
        raise ConfigurationError(
            f"apl_classes.yaml : classes attendues {', '.join(AplClass)}, lues {', '.join(codes)}"
        )
    return [(AplClass(c.code), np.inf if c.below is None else float(c.below)) for c in spec.classes]


APL_CLASS_BOUNDS: tuple[tuple[AplClass, float], ...] = tuple(_bounds())
"""Each class with its exclusive upper bound (consultations per standardised inhabitant per year)."""
UNDER_SERVED: float = APL_CLASS_BOUNDS[0][1]
"""Below this APL a place is « sous-dotée » (zonage threshold, from the YAML)."""
WELL_SERVED: float = APL_CLASS_BOUNDS[1][1]
"""From this APL up a place is « bien dotée » (from the YAML)."""


def apl_class(value: float | None) -> AplClass | None:
    """The class of one APL value (None when the APL is missing).

    Examples
    --------
    >>> apl_class(2.49), apl_class(2.5), apl_class(4.0), apl_class(float("nan"))
    (<AplClass.SOUS_DOTEE: 'sous_dotee'>, <AplClass.INTERMEDIAIRE: 'intermediaire'>, \
<AplClass.BIEN_DOTEE: 'bien_dotee'>, None)
    """
    if value is None or not np.isfinite(value):
        return None
    return next(cls for cls, below in APL_CLASS_BOUNDS if value < below)


def apl_classes(values: pd.Series) -> pd.Series:
    """Class code of each APL value, vectorised; "" where the APL is missing.

    Examples
    --------
    >>> apl_classes(pd.Series([1.0, 3.0, 9.0, None])).tolist()
    ['sous_dotee', 'intermediaire', 'bien_dotee', '']
    """
    apl = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    uppers = np.array([below for _, below in APL_CLASS_BOUNDS[:-1]])
    codes = np.array([str(c) for c in AplClass], dtype=object)[np.searchsorted(uppers, apl, side="right")]
    return pd.Series(np.where(np.isfinite(apl), codes, ""), index=values.index, name="apl_class")
