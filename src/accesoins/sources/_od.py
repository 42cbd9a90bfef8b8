"""Origin–destination travel-time tables (IRIS or commune pairs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._table import Column, first_line, read_table
from accesoins.sources._validate import unique_rows

_UNIT = r"\d{4,9}(\.0)?|2[AB]\d{3,7}"
MAX_MINUTES = 10_080.0  # a week: no trip within France (DROM apart) takes longer
MAX_SECONDS = MAX_MINUTES * 60
MAX_KM = 20_000.0


def _unit_code(values: pd.Series) -> pd.Series:
    """Commune (5) or IRIS (9) codes, the leading zero restored when the file stored numbers."""
    v = values.str.replace(r"\.0$", "", regex=True)
    return v.where(~v.str.len().isin([4, 8]), "0" + v)


def read_od_table(path: str | Path) -> pd.DataFrame:
    """Read a travel-time table in one of the known layouts.

    * ``IRIS1,IRIS2,TIME`` (minutes), optionally ``KM`` and an unnamed index
      column: the Alpes-Maritimes study tables;
    * ``origin_id,destination_id,...,distance,duration`` (metres, seconds): OSRM output;
    * ``origin_id,destination_id,travel_time_min``: accesoins' own layout.

    Returns ``origin_id``, ``destination_id`` (unit codes as text),
    ``travel_time_min`` and, when given, ``distance_km``. Orientation is the
    file's: first column = origin. Times and distances must be finite, non-negative
    and below a week (20,000 km); a pair given twice is refused.
    """
    path = Path(path)
    head = first_line(path)
    if "IRIS1" in head:
        cols = [
            Column("IRIS1", "code", _UNIT, nullable=False),
            Column("IRIS2", "code", _UNIT, nullable=False),
            Column("TIME", "float", nullable=False, minimum=0, maximum=MAX_MINUTES),
            Column("KM", "float", required=False, minimum=0, maximum=MAX_KM),
        ]
        t = read_table(path, cols, sep=",")
        out = pd.DataFrame(
            {
                "origin_id": _unit_code(t["IRIS1"]),
                "destination_id": _unit_code(t["IRIS2"]),
                "travel_time_min": t["TIME"],
            }
        )
        if "KM" in t.columns:
            out["distance_km"] = t["KM"]
    elif "duration" in head:
        cols = [
            Column("origin_id", "code", _UNIT, nullable=False),
            Column("destination_id", "code", _UNIT, nullable=False),
            Column("duration", "float", nullable=False, minimum=0, maximum=MAX_SECONDS),
            Column("distance", "float", minimum=0, maximum=MAX_KM * 1000),
        ]
        t = read_table(path, cols, sep=",")
        out = pd.DataFrame(
            {
                "origin_id": _unit_code(t["origin_id"]),
                "destination_id": _unit_code(t["destination_id"]),
                "travel_time_min": t["duration"] / 60.0,
                "distance_km": t["distance"] / 1000.0,
            }
        )
    elif "travel_time_min" in head:
        cols = [
            Column("origin_id", nullable=False),
            Column("destination_id", nullable=False),
            Column("travel_time_min", "float", nullable=False, minimum=0, maximum=MAX_MINUTES),
        ]
        t = read_table(path, cols, sep=",")
        out = t[["origin_id", "destination_id", "travel_time_min"]]
    else:
        raise DataFileError(
            "format de table de temps inconnu : colonnes attendues IRIS1,IRIS2,TIME ou "
            "origin_id,destination_id,duration ou origin_id,destination_id,travel_time_min",
            path=path,
            line=1,
        )
    unique_rows(out, ["origin_id", "destination_id"], path=path, lines=2, what="couple origine / destination")
    return out.reset_index(drop=True)
