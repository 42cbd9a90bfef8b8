"""Embedded demo territory: Bordeaux Métropole, a small real extract used when no data folder is found.

The files (see PROVENANCE.md beside this module) are filtered byte for byte from the reference data by
``scripts/demo_extract.py``; ``accesoins build --territory 243300316`` runs on them with no download.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DEMO_TERRITORY", "data_dir"]

DEMO_TERRITORY = "243300316"  # SIREN of Bordeaux Métropole (28 communes)


def data_dir() -> Path:
    """The folder of the embedded demo files (laid out like a data directory)."""
    return Path(str(resources.files("accesoins.demo").joinpath("data")))
