"""Which départements the professionals files cover, and a territory cut to them.

A floating catchment computed where no professionals file exists gives an APL
of zero: not a fact, a missing file. A territory that spans such départements
(a région, France) is therefore refused with the list of what is missing, or,
when asked (``partial``), cut to the covered départements, the others named.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from accesoins.errors import MissingSourceError
from accesoins.geo._territory import Territory
from accesoins.parameters import load_coverage_parameters


def covered_departments(
    files: Sequence[pd.Series], communes: gpd.GeoDataFrame, history: pd.Series
) -> set[str]:
    """Départements covered by at least one file (``files``: the commune code of each activity).

    Within a file, a département is covered when its activities per inhabitant
    reach ``department_density_share`` (``parameters/coverage.yaml``) of the
    file's densest département: a national file covers every département, a
    départemental one its own only. ``history`` maps old commune codes to current ones.
    """
    share = load_coverage_parameters().department_density_share
    department = communes.set_index("commune_code")["department"]
    population = communes.groupby("department")["population"].sum()
    covered: set[str] = set()
    for codes in files:
        deps = codes.map(history).fillna(codes).map(department).dropna()
        counts = deps.value_counts()
        density = counts / population.reindex(counts.index).where(lambda p: p > 0)
        density = density.dropna()
        if len(density):
            covered |= {str(d) for d in density.index[density >= share * density.max()]}
    return covered


@dataclass(frozen=True)
class Coverage:
    """The communes to build and the territory's départements that no file covers (left out)."""

    communes: gpd.GeoDataFrame
    missing: tuple[str, ...]

    def warning(self) -> str:
        """French message naming the left-out départements ("" when none)."""
        if not self.missing:
            return ""
        return (
            f"construction partielle : aucun médecin généraliste dans les fichiers de professionnels pour "
            f"{len(self.missing)} département(s) du territoire, laissés de côté : {', '.join(self.missing)}"
        )


def on_covered(
    territory: Territory,
    chosen: gpd.GeoDataFrame,
    covered: Collection[str],
    *,
    partial: bool,
    searched: Sequence[object] = (),
) -> Coverage:
    """The territory's communes (``chosen``) in covered départements.

    Without ``partial``, a territory with any uncovered département is refused
    (a French error listing them); with it, the uncovered ones are left out
    and listed. A territory with no covered département at all is always refused.
    """
    departments = sorted(set(chosen["department"]))
    missing = tuple(d for d in departments if d not in covered)
    if not missing:
        return Coverage(chosen, ())
    present = [d for d in departments if d in covered]
    what = _describe(territory, len(missing), len(departments))
    listed = ", ".join(missing[:40]) + (f"… (+ {len(missing) - 40})" if len(missing) > 40 else "")
    hint = (
        f"Départements sans médecin généraliste dans les fichiers de professionnels (Annuaire Santé, RPPS, "
        f"médecins par IRIS) : {listed}. "
        + (f"Couverts : {', '.join(present)}. " if present else "")
        + "Ajoutez leurs fichiers au répertoire de données"
        + (
            ", ou relancez avec --partiel pour ne construire que les départements couverts "
            "(l'APL de la DREES de toutes les communes reste dans les références de l'instantané)."
            if present
            else "."
        )
    )
    if partial and present:
        kept = chosen[chosen["department"].isin(present)].reset_index(drop=True)
        return Coverage(kept, missing)
    raise MissingSourceError(what, searched=[str(s) for s in searched], hint=hint)


def _describe(territory: Territory, n_missing: int, n_departments: int) -> str:
    """« professionnels de santé de 11 des 12 départements de la région 75 »."""
    where = {
        "france": "de la France",
        "region": f"de la région {territory.codes[0]}",
        "departement": f"du département {', '.join(territory.codes)}",
    }.get(territory.kind, "du territoire")
    if n_departments == 1:
        return f"professionnels de santé {where}"
    return f"professionnels de santé de {n_missing} des {n_departments} départements {where}"
