"""A synthetic departures file built from the real RPPS identifiers of the Gironde 2017 extraction.

No real file of practitioners' ages exists (the Annuaire Santé publishes none): the birth years and
planned departures here are drawn with a fixed seed, only the identifiers are real. It is generated at
test time, never committed as data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

RPPS_FILE = "health_professionals/rpps_2017_gironde33_generalistes_neurologues.csv"
UNKNOWN_IDS = ("10000000001", "10000000002", "10000000003")  # in no file: reported as unknown
SEED = 13


def write_departures(data_dir: Path, target: Path) -> pd.DataFrame:
    """Write ``target`` (the format of ``sources.read_enrichment``) and return what it holds.

    Every distinct RPPS of the file gets a birth year drawn uniformly in 1945–1994 (ages of
    about 30 to 80 in 2026); one in ten of them gets a planned departure date instead, in
    2026–2035; the first identifiers are written in the 12-character RPPS form (8 + RPPS).
    """
    rpps = pd.read_csv(data_dir / RPPS_FILE, dtype=str)["RPPS"].str[1:].drop_duplicates().sort_values()
    rng = np.random.default_rng(SEED)
    n = len(rpps)
    birth = rng.integers(1945, 1995, size=n)
    planned = rng.random(n) < 0.1
    departure = rng.integers(2026, 2036, size=n)
    table = pd.DataFrame(
        {
            "practitioner_key": [*rpps, *UNKNOWN_IDS],
            "birth_year": pd.array([*np.where(planned, -1, birth), 1960, 1961, 1962], dtype="Int64"),
            "departure_year": pd.array([*np.where(planned, departure, -1), -1, -1, -1], dtype="Int64"),
        }
    )
    table = table.replace(-1, pd.NA)
    lines = ["practitioner_id,annee_naissance,date_retraite"]
    for i, row in enumerate(table.itertuples(index=False)):
        ident = f"8{row.practitioner_key}" if i < 100 else row.practitioner_key
        year = "" if pd.isna(row.birth_year) else str(row.birth_year)
        date = "" if pd.isna(row.departure_year) else f"{row.departure_year}-06-30"
        lines.append(f"{ident},{year},{date}")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table
