"""Versioned snapshots of an observatory in an embedded DuckDB file.

Reads the tables a build produces (sources with checksums, parameters,
activities, units, indicators) and keeps them as immutable, atomically written
snapshots; answers queries on them and compares two of them.
"""

from accesoins.store._departures import DEPARTURE_COLUMNS, practitioner_departures, snapshot_year
from accesoins.store._diff import SnapshotDiff, diff_snapshots, previous_snapshot, territory_of
from accesoins.store._duckdb import (
    SnapshotWriter,
    Store,
    indicator_layer,
    save_scenario,
    spatial_extension_path,
)
from accesoins.store._trends import unit_trend

__all__ = [
    "DEPARTURE_COLUMNS",
    "SnapshotDiff",
    "SnapshotWriter",
    "Store",
    "diff_snapshots",
    "indicator_layer",
    "practitioner_departures",
    "previous_snapshot",
    "save_scenario",
    "snapshot_year",
    "spatial_extension_path",
    "territory_of",
    "unit_trend",
]
