"""The snapshot's local departures table (personal data) and the year its ages are counted from."""

from __future__ import annotations

import pandas as pd

from accesoins.errors import StoreError
from accesoins.store._duckdb import Store

__all__ = ["DEPARTURE_COLUMNS", "practitioner_departures", "snapshot_year"]

DEPARTURE_COLUMNS = ("practitioner_key", "birth_year", "departure_year")


def practitioner_departures(store: Store, snapshot_id: str) -> pd.DataFrame:
    """Birth years and planned departure years of the snapshot's practitioners (empty without a file).

    Personal data: callers publish only counts, through ``outputs``' disclosure rule.
    """
    table = store.kept("practitioner_departures", snapshot_id)
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype="Int64") for c in DEPARTURE_COLUMNS}).astype(
            {"practitioner_key": "object"}
        )
    return table.astype({"practitioner_key": str, "birth_year": "Int64", "departure_year": "Int64"})[
        list(DEPARTURE_COLUMNS)
    ]


def snapshot_year(store: Store, snapshot_id: str) -> int:
    """Year the snapshot was built: ages and horizons of retirements count from it."""
    snaps = store.snapshots().set_index("snapshot_id")
    if snapshot_id not in snaps.index:
        raise StoreError(f"instantané « {snapshot_id} » inconnu")
    return int(pd.Timestamp(snaps.loc[snapshot_id, "created_at"]).year)
