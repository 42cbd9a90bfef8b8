"""What changed between two snapshots: practitioners who arrived or left, indicator deltas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from accesoins.errors import StoreError
from accesoins.store._duckdb import Store

DIFF_MEASURES = ("headcount", "etp", "density_per_100k", "apl")


@dataclass(frozen=True)
class SnapshotDiff:
    """Arrivals and departures (one row per practitioner × profession) and indicator changes."""

    before: str
    after: str
    arrivals: pd.DataFrame
    departures: pd.DataFrame
    changes: pd.DataFrame


def _practitioners(store: Store, snapshot_id: str) -> pd.DataFrame:
    act = store.table("activities", snapshot_id)
    return (
        act.groupby(["practitioner_id", "profession"])["commune_code"]
        .agg(lambda s: ",".join(sorted(set(s.dropna()))))
        .rename("communes")
        .reset_index()
    )


def territory_of(store: Store, snapshot_id: str) -> str:
    """The territory a snapshot covers."""
    snaps = store.snapshots()
    row = snaps[snaps["snapshot_id"] == snapshot_id]
    if row.empty:
        raise StoreError(f"instantané « {snapshot_id} » inconnu")
    return str(row["territory"].iloc[0])


def previous_snapshot(store: Store, after: str) -> str:
    """The snapshot of the same territory just before ``after`` (« precedent » in ``diff precedent B``)."""
    territory = territory_of(store, after)
    ids = list(store.snapshots(territory=territory)["snapshot_id"])
    if ids.index(after) == 0:
        raise StoreError(f"il n'y a pas d'instantané du territoire « {territory} » avant {after}")
    return str(ids[ids.index(after) - 1])


def diff_snapshots(store: Store, before: str, after: str, *, level: str = "commune") -> SnapshotDiff:
    """Compare snapshot ``before`` with snapshot ``after`` (identifiers already resolved).

    Both must cover the same territory: between two territories every practitioner of one would be
    an « arrival » or a « departure ». Changes are sorted by size, largest losses first (APL, else
    headcount), so that the first rows are the ones to look at.
    """
    ta, tb = territory_of(store, before), territory_of(store, after)
    if ta != tb:
        raise StoreError(
            f"les instantanés {before} (territoire « {ta} ») et {after} (territoire « {tb} ») ne portent "
            "pas sur le même territoire : leur différence n'aurait pas de sens. Comparez deux instantanés "
            "d'un même territoire (« accesoins snapshots » les liste)."
        )
    a, b = _practitioners(store, before), _practitioners(store, after)
    key = ["practitioner_id", "profession"]
    merged = a.merge(b, on=key, how="outer", suffixes=("_before", "_after"), indicator=True)
    arrivals = merged[merged["_merge"] == "right_only"][[*key, "communes_after"]].rename(
        columns={"communes_after": "communes"}
    )
    departures = merged[merged["_merge"] == "left_only"][[*key, "communes_before"]].rename(
        columns={"communes_before": "communes"}
    )
    ia = store.table("indicators", before, where="level = ?", args=[level])
    ib = store.table("indicators", after, where="level = ?", args=[level])
    measures = [m for m in DIFF_MEASURES if m in ia.columns and m in ib.columns]
    joined = ia.merge(ib, on=["unit_id", "profession"], how="outer", suffixes=("_before", "_after"))
    changes = joined[["unit_id", "profession"]].copy()
    changes["name"] = joined.get("name_after", joined.get("name_before"))
    changed = np.zeros(len(joined), dtype=bool)
    for m in measures:
        x, y = joined[f"{m}_before"].astype(float), joined[f"{m}_after"].astype(float)
        changes[f"{m}_before"], changes[f"{m}_after"], changes[f"{m}_delta"] = x, y, y - x
        changed |= ~np.isclose(x.fillna(-1), y.fillna(-1), rtol=0, atol=1e-9)
    changes = changes[changed]
    size = [f"{m}_delta" for m in ("apl", "headcount") if f"{m}_delta" in changes.columns]
    if size:  # largest losses first; a unit present in one snapshot only (NaN delta) comes last
        changes = changes.sort_values([*size, "unit_id"], na_position="last", kind="stable")
    return SnapshotDiff(
        before,
        after,
        arrivals.reset_index(drop=True),
        departures.reset_index(drop=True),
        changes.reset_index(drop=True),
    )
