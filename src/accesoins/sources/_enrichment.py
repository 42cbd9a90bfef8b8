"""Local enrichment file: practitioners' birth year or planned retirement date.

The open Annuaire Santé gives no age. A health department that knows them
(CPAM, Ordre, local survey) keeps a CSV file, UTF-8, comma-separated::

    practitioner_id,annee_naissance,date_retraite
    10003456789,1958,
    10004567890,,2027-06-30

``practitioner_id``: the RPPS (11 digits, or the 12 characters « 8 » + RPPS as
the RPPS file writes it) or ADELI (9 characters) identifier of the Annuaire;
``annee_naissance``: a year between 1920 and 2010;
``date_retraite``: a planned retirement date (AAAA-MM-JJ). At least one of the
two per row. It is personal data: keep it out of public outputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from accesoins.errors import DataFileError
from accesoins.sources._table import Column, read_table


def practitioner_key(identifier: str) -> str:
    """The identifier snapshots use: the 12-character RPPS file form (type digit 8 + RPPS) loses its 8.

    Examples
    --------
    >>> practitioner_key("810003456789"), practitioner_key("10003456789"), practitioner_key("331234567")
    ('10003456789', '10003456789', '331234567')
    """
    text = identifier.strip()
    return text[1:] if len(text) == 12 and text.startswith("8") and text.isdigit() else text


def read_enrichment(path: str | Path) -> pd.DataFrame:
    """Validated enrichment table: ``practitioner_id``, ``birth_year`` (Int64), ``retirement_date``."""
    path = Path(path)
    table = read_table(
        path,
        [
            Column("practitioner_id", "code", r"8?\d{11}|[0-9A-Z]{9}", nullable=False),
            Column("annee_naissance", "int", required=False),
            Column("date_retraite", "code", r"\d{4}-\d{2}-\d{2}", required=False),
        ],
        sep=",",
    )
    if "annee_naissance" not in table.columns and "date_retraite" not in table.columns:
        raise DataFileError("colonne « annee_naissance » ou « date_retraite » attendue", path=path, line=1)
    years = table.get("annee_naissance", pd.Series(pd.NA, index=table.index, dtype="Int64"))
    dates_text = table.get("date_retraite", pd.Series("", index=table.index))
    dates = pd.to_datetime(dates_text.replace("", None), format="%Y-%m-%d", errors="coerce")
    bad_date = dates.isna() & dates_text.ne("")
    if bad_date.any():
        i = int(np.flatnonzero(bad_date.to_numpy())[0])
        raise DataFileError(
            f"date impossible « {dates_text.iloc[i]} »", path=path, line=i + 2, column="date_retraite"
        )
    bad_year = years.notna() & ~years.between(1920, 2010)
    if bad_year.any():
        i = int(np.flatnonzero(bad_year.to_numpy(dtype=bool, na_value=False))[0])
        raise DataFileError(
            f"année de naissance invraisemblable « {years.iloc[i]} » (1920 à 2010)",
            path=path,
            line=i + 2,
            column="annee_naissance",
        )
    empty = years.isna() & dates.isna()
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataFileError("ni année de naissance ni date de retraite", path=path, line=i + 2)
    table["practitioner_id"] = table["practitioner_id"].map(practitioner_key)
    duplicated = table["practitioner_id"].duplicated()
    if duplicated.any():
        i = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DataFileError(
            f"praticien « {table['practitioner_id'].iloc[i]} » en double",
            path=path,
            line=i + 2,
            column="practitioner_id",
        )
    return pd.DataFrame(
        {
            "practitioner_id": table["practitioner_id"],
            "birth_year": years.astype("Int64"),
            "retirement_date": dates,
        }
    )


def departures_table(enrichment: pd.DataFrame) -> pd.DataFrame:
    """The stored form of an enrichment table: ``practitioner_key``, ``birth_year``, ``departure_year``.

    Only the year of a planned retirement is kept (the snapshot's ``practitioner_departures``
    table): nothing finer than a year is needed to project an APL at a horizon.
    """
    return pd.DataFrame(
        {
            "practitioner_key": enrichment["practitioner_id"].astype(str).to_numpy(),
            "birth_year": enrichment["birth_year"].astype("Int64").to_numpy(),
            "departure_year": enrichment["retirement_date"].dt.year.astype("Int64").to_numpy(),
        }
    )


def retiring_by(departures: pd.DataFrame, *, horizon: int, age: int) -> pd.Index:
    """Practitioners gone by the end of ``horizon``: planned departure ≤ horizon, or age ≥ ``age`` that year.

    ``departures`` is a :func:`departures_table` (the stored ``practitioner_departures``).
    """
    by_date = departures["departure_year"].astype("Int64").le(horizon).fillna(False)
    by_age = (horizon - departures["birth_year"].astype("Int64")).ge(age).fillna(False)
    keep = (by_date | by_age).to_numpy(dtype=bool)
    return pd.Index(departures.loc[keep, "practitioner_key"].astype(str))
