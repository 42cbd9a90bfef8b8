"""The served application: the web observatory, with the local registers mounted under ``/registres``.

The only module that knows both: ``outputs.web`` and ``registers`` each build their routes and share
:mod:`accesoins.http_problems`, so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from accesoins.outputs.web import create_app as create_web_app
from accesoins.registers import mount_registers


def create_app(store_path: str | Path, *, warm: bool = True) -> FastAPI:
    """Web observatory over ``store_path``, plus the registers when ``ACCESOINS_REGISTERS_URL`` is set."""
    app = create_web_app(store_path, warm=warm)
    mount_registers(app, store_path=store_path)
    return app
