"""Public exceptions of accesoins.

Every error a user can meet derives from :class:`AccesoinsError` and carries a
French message that says what is wrong and how to fix it (file, line, column,
valid choices). Developer-facing errors (bugs) stay ordinary Python exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "AccesoinsError",
    "ConfigurationError",
    "DataFileError",
    "MissingSourceError",
    "NetworkError",
    "StoreError",
    "UnknownChoiceError",
]


class AccesoinsError(Exception):
    """Base class of every user-facing accesoins error (message in French)."""


class DataFileError(AccesoinsError, ValueError):
    """An input file is unreadable or invalid.

    The message names the file and, when known, the line (1-based, counting the
    header as line 1) and the column, so the user can open the file and fix it.
    Files without lines (GeoJSON, shapefiles) name the feature (1-based) instead.

    Examples
    --------
    >>> str(DataFileError("valeur non numérique « abc »", path="pop.csv", line=3, column="value"))
    'pop.csv, ligne 3, colonne « value » : valeur non numérique « abc »'
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path,
        line: int | None = None,
        column: str | None = None,
        feature: int | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.feature = feature
        self.problem = problem
        where = self.path
        if line is not None:
            where += f", ligne {line}"
        if feature is not None:
            where += f", entité n° {feature}"
        if column is not None:
            where += f", colonne « {column} »"
        super().__init__(f"{where} : {problem}")

    @property
    def located(self) -> bool:
        """Whether the message points at a place in the file (line, column or feature)."""
        return self.line is not None or self.column is not None or self.feature is not None


class MissingSourceError(AccesoinsError, FileNotFoundError):
    """A source file needed by a command is not in the data directory."""

    def __init__(self, what: str, *, searched: Iterable[str | Path], hint: str = "") -> None:
        places = ", ".join(str(p) for p in searched)
        message = f"Fichier introuvable pour « {what} » (cherché : {places})."
        if hint:
            message += f" {hint}"
        super().__init__(message)


class UnknownChoiceError(AccesoinsError, ValueError):
    """A value is not one of the accepted choices."""

    def __init__(self, what: str, value: object, choices: Iterable[object]) -> None:
        valid = ", ".join(str(c) for c in choices)
        super().__init__(f"{what} inconnu(e) : « {value} ». Valeurs possibles : {valid}.")


class ConfigurationError(AccesoinsError, ValueError):
    """An option or parameter is invalid (CLI option, parameter file, setting)."""


class StoreError(AccesoinsError, RuntimeError):
    """The snapshot store cannot do what was asked (missing snapshot, locked file...)."""


class NetworkError(AccesoinsError, ValueError):
    """A road or walking network cannot be built or queried."""
