"""Published DREES APL references kept in a snapshot: France, the territory's départements, its communes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

REFERENCE_COLUMNS = [
    "scope",
    "code",
    "name",
    "vintage",
    "apl",
    "population_total",
    "population_standardised",
    "communes",
]


def _departement_of(codes: pd.Series) -> pd.Series:
    """Département code of INSEE commune codes (three characters overseas)."""
    return codes.str[:3].where(codes.str.startswith("97"), codes.str[:2])


def _weighted(table: pd.DataFrame) -> tuple[float, float, float, int]:
    ok = table["apl"].notna() & table["population_total"].notna()
    weights = table.loc[ok, "population_total"].astype(float)
    total = float(weights.sum())
    mean = float((table.loc[ok, "apl"] * weights).sum() / total) if total > 0 else np.nan
    return mean, total, float(table.loc[ok, "population_standardised"].sum()), int(ok.sum())


def drees_references(table: pd.DataFrame, vintage: int, commune_codes: Iterable[str]) -> pd.DataFrame:
    """National and département APL (population-weighted means) and the territory's commune rows.

    ``table`` is a whole DREES vintage (:func:`accesoins.sources.read_apl_drees`);
    only what the territory's pages need is kept, so a snapshot does not depend
    on the workbook any more.
    """
    codes = pd.Index(commune_codes)
    departement = _departement_of(table["commune_code"])
    wanted = set(_departement_of(pd.Series(codes, dtype=str)))
    parts = [("national", "FR", "France entière", table)] + [
        ("departement", str(code), str(code), part)
        for code, part in table.groupby(departement)
        if code in wanted
    ]
    rows = []
    for scope, code, name, part in parts:
        mean, pop, std, n = _weighted(part)
        rows.append(
            {
                "scope": scope,
                "code": code,
                "name": name,
                "apl": mean,
                "population_total": pop,
                "population_standardised": std,
                "communes": n,
            }
        )
    communes = table[table["commune_code"].isin(codes)]
    commune_rows = pd.DataFrame(
        {
            "scope": "commune",
            "code": communes["commune_code"],
            "name": communes["name"],
            "apl": communes["apl"].astype(float),
            "population_total": communes["population_total"].astype(float),
            "population_standardised": communes["population_standardised"].astype(float),
            "communes": 1,
        }
    )
    out = pd.concat([pd.DataFrame(rows), commune_rows], ignore_index=True).assign(vintage=vintage)
    return out[REFERENCE_COLUMNS]
