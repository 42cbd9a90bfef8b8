"""Local registers behind access control (issue #7): ``/registres`` in the web observatory.

Reads and writes a SQLite file (default) or a shared PostgreSQL database with the same Alembic
migrations: installation requests, premises, explained request–premises matches (with the
under-served level from an observatory snapshot when one is available), coordinated-practice
projects, and the public directory of useful addresses. Returns FastAPI routes (JSON API and French
pages), CSV imports/exports and RGPD tools (audit log, retention, export of one person's data).
"""

from accesoins.registers._app import (
    DEFAULT_URL,
    RegistersSettings,
    create_registers_app,
    install_registers,
    mount_registers,
    open_registers,
)
from accesoins.registers._csv import REGISTERS, export_csv, import_csv
from accesoins.registers._db import current_revision, head_revision, make_engine, migrate
from accesoins.registers._matching import AplLookup, haversine_km, score_pair
from accesoins.registers._security import SYSTEM, Actor
from accesoins.registers._service import PlaceNotFoundError, RegisterNotFoundError, Registers

__all__ = [
    "DEFAULT_URL",
    "REGISTERS",
    "SYSTEM",
    "Actor",
    "AplLookup",
    "PlaceNotFoundError",
    "RegisterNotFoundError",
    "Registers",
    "RegistersSettings",
    "create_registers_app",
    "current_revision",
    "export_csv",
    "haversine_km",
    "head_revision",
    "import_csv",
    "install_registers",
    "make_engine",
    "migrate",
    "mount_registers",
    "open_registers",
    "score_pair",
]
