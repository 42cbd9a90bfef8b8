"""GP supply per IRIS from the Alpes-Maritimes APL study (third-party, RPPS-derived, 2022).

One row per IRIS: ``NB`` GPs there (a GP at n addresses counts 1/n at each),
with the point of one practice address. It is supply by IRIS, not a list of
practitioners: rows become activities with precision ``iris`` and ``etp`` = NB.
An IRIS given twice is refused (its GPs would count twice), as are points
outside France and ``NB`` that is negative, infinite or beyond any IRIS.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from accesoins.sources._insee import IRIS_CODE
from accesoins.sources._table import Column, read_table
from accesoins.sources._validate import check_lonlat, unique_rows

MAX_GP_PER_IRIS = 1_000.0  # full-time-equivalent GPs in one IRIS (the largest has about 26)


def read_gp_iris(path: str | Path) -> pd.DataFrame:
    """Activities (one per IRIS) with ``iris_code``, ``commune_code``, ``lon``, ``lat`` and ``etp``.

    IRIS codes stored as numbers get their leading zero back; a code that is
    not an IRIS of a French commune (e.g. ``404``, Monaco) keeps an empty
    commune and is reported as unplaced downstream.
    """
    path = Path(path)
    cols = [
        Column("iris", "int", nullable=False, minimum=0, maximum=999_999_999),
        Column("lon", "float", nullable=False),
        Column("lat", "float", nullable=False),
        Column("NB", "float", nullable=False, minimum=0, maximum=MAX_GP_PER_IRIS),
    ]
    raw = read_table(path, cols, sep=",")
    check_lonlat(raw["lon"], raw["lat"], path=path, lines=2, columns=("lon", "lat"))
    unique_rows(raw, ["iris"], path=path, lines=2, what="IRIS")
    iris = raw["iris"].astype("int64").astype(str).str.zfill(9)
    valid = iris.str.fullmatch(IRIS_CODE) & ~iris.str.startswith("00")
    return pd.DataFrame(
        {
            "activity_id": "gp_iris:" + iris,
            "practitioner_id": "",
            "profession": "generaliste",
            "profession_label": "Médecin généraliste",
            "mode": "liberal",
            "finess_site": "",
            "iris_code": iris.where(valid, ""),
            "commune_code": iris.str[:5].where(valid, ""),
            "lon": raw["lon"],
            "lat": raw["lat"],
            "etp": raw["NB"],
            "source_file": path.name,
            "source_line": range(2, len(raw) + 2),
        }
    )
