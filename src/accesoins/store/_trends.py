"""Indicators of one unit across every snapshot of its territory (yearly updates, trends)."""

from __future__ import annotations

import pandas as pd

from accesoins.errors import StoreError
from accesoins.store._duckdb import Store

__all__ = ["unit_trend"]

_COLUMNS = ["apl", "density_per_100k", "etp", "headcount", "population"]


def unit_trend(store: Store, snapshot_id: str, *, level: str, unit_id: str, profession: str) -> pd.DataFrame:
    """One row per snapshot of the territory of ``snapshot_id`` that holds the unit, oldest first.

    Columns: ``snapshot_id``, ``created_at``, ``apl_vintage`` (parameters of the
    build) and the unit's indicators. Each row is read from its own snapshot, so a
    trend mixes no recomputation.
    """
    territory = store.snapshots().set_index("snapshot_id").loc[snapshot_id, "territory"]
    snaps = store.snapshots(territory=str(territory))
    rows = []
    for snap_id, created in zip(snaps["snapshot_id"], snaps["created_at"], strict=True):
        found = store.table(
            "indicators",
            snap_id,
            where="level = ? AND unit_id = ? AND profession = ?",
            args=[level, unit_id, profession],
        )
        if found.empty:
            continue
        row = found.iloc[0]
        rows.append(
            {
                "snapshot_id": snap_id,
                "created_at": created,
                "apl_vintage": store.metadata(snap_id).get("apl_vintage"),
                **{c: row[c] for c in _COLUMNS if c in found.columns},
            }
        )
    if not rows:
        raise StoreError(f"l'unité « {unit_id} » ({level}) n'est dans aucun instantané de {territory}")
    return pd.DataFrame(rows)
