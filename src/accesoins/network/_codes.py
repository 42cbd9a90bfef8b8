"""Codes of the cost sources as recorded in snapshots (``cost_source``); labels in :mod:`accesoins.labels`."""

from __future__ import annotations

from enum import StrEnum


class CostSourceCode(StrEnum):
    """Where the travel times of a snapshot come from."""

    VOL_OISEAU = "vol_oiseau"
    ROUTE = "route"
    MARCHE = "marche"
    DISTANCIER = "distancier"

    @classmethod
    def _missing_(cls, value: object) -> CostSourceCode | None:
        """Old snapshots recorded an origin–destination table as ``table``."""
        return cls.DISTANCIER if value == "table" else None
