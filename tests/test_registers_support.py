"""Shared fixtures of the registers' tests: a fresh database per test on SQLite and on PostgreSQL.

PostgreSQL runs from Debian's binaries (``apt-get install -y postgresql``) on 127.0.0.1, a free port,
in a temporary directory, for the whole session (as the ``postgres`` user when the tests run as
root). Without the binaries the PostgreSQL half of the tests fails with a message saying so.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from accesoins.registers import migrate
from accesoins.registers._db import make_engine

BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "mot-de-passe-de-test-2026"
_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path | None:
    candidates = [
        shutil.which("pg_ctl"),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True),
    ]
    for found in candidates:
        if found and Path(found).exists():
            return Path(found).resolve().parent
    return None


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust authentication, fsync off)."""

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None or not (bindir / "initdb").exists():
            pytest.fail(
                "PostgreSQL introuvable (pg_ctl, initdb) : installez-le pour la moitié PostgreSQL des tests "
                "des registres (apt-get install -y postgresql)"
            )
        self.bindir = bindir
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="accesoins-pg-"))
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail(
                    "tests lancés en root sans compte « postgres » : PostgreSQL refuse de tourner en root"
                )
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "-t", "60", "start"
        )
        self.data = data
        self.admin = create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres", isolation_level="AUTOCOMMIT"
        )
        self._template = False

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [*self.prefix, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
            pytest.fail(f"PostgreSQL : {tool} a échoué ({result.returncode}) : {result.stderr}\n{log}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def database(self, *, migrated: bool) -> str:
        """URL of a new database, migrated (copied from a migrated template) or empty."""
        name = f"reg_{os.getpid()}_{next(_counter)}"
        with self.admin.connect() as c:
            if migrated and not self._template:
                c.execute(text("CREATE DATABASE reg_template"))
                engine = make_engine(self.url("reg_template"))
                migrate(engine)
                engine.dispose()
                self._template = True
            template = " TEMPLATE reg_template" if migrated else ""
            c.execute(text(f"CREATE DATABASE {name}{template}"))
        return self.url(name)

    def stop(self) -> None:
        self.admin.dispose()
        subprocess.run(
            [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'registres.sqlite'}"
        if migrated:
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()
        return url
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.database(migrated=migrated)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty registers database on each back end."""
    return _url(request.param, request, tmp_path, migrated=True)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database without any table, on each back end."""
    return _url(request.param, request, tmp_path, migrated=False)


# --- sample rows (Gironde: Bordeaux, Mérignac, Pessac) ----------------------------------------------
REQUEST: dict[str, Any] = {
    "professional_name": "Dre Camille Martin",
    "email": "camille.martin@example.org",
    "phone": "06 12 34 56 78",
    "profession": "generaliste",
    "project": "Installation en cabinet de groupe",
    "wished_commune": "Mérignac",
    "wished_lat": 44.8386,
    "wished_lon": -0.6436,
    "wished_radius_km": 3,
    "surface_min_m2": 40,
    "needs_accessibility": True,
    "wished_date": "2026-09-01",
    "notes": "Rappeler en juin",
}
PREMISES_NEAR: dict[str, Any] = {
    "label": "Cabinet Arlac",
    "address": "12 avenue de la Marne",
    "commune": "Mérignac",
    "lat": 44.8420,
    "lon": -0.6300,
    "surface_m2": 55,
    "rent_eur_month": 900,
    "accessible_pmr": True,
    "available_on": "2026-07-01",
    "owner_kind": "bailleur_social",
    "owner_name": "Gironde Habitat",
    "contact_name": "Paul Durand",
    "contact_phone": "05 56 00 00 00",
}
PREMISES_FAR: dict[str, Any] = {
    **PREMISES_NEAR,
    "label": "Local Libourne",
    "commune": "Libourne",
    "lat": 44.9153,
    "lon": -0.2439,
    "surface_m2": 30,
    "accessible_pmr": False,
    "available_on": "2027-06-01",
    "contact_name": "Marie Leroy",
}
PROJECT: dict[str, Any] = {
    "name": "MSP des Capucins",
    "kind": "msp",
    "commune": "Bordeaux",
    "stage": "financement",
    "porteur_name": "Dr Jean Porteur",
    "porteur_email": "jean.porteur@example.org",
    "porteur_phone": "06 00 00 00 01",
    "partners": [
        {
            "organisation": "ARS Nouvelle-Aquitaine",
            "role": "financeur",
            "contact_name": "Luc Ars",
            "contact_email": "luc.ars@example.org",
        }
    ],
    "documents": [{"title": "Projet de santé v1", "kind": "projet de santé", "dated": "2026-03-01"}],
}
DIRECTORY: list[dict[str, Any]] = [
    {
        "structure": "Centre de santé Bordeaux Bastide",
        "kind": "centre_de_sante",
        "commune": "Bordeaux",
        "address": "4 rue de Nuits",
        "lat": 44.8430,
        "lon": -0.5590,
        "phone": "05 56 11 11 11",
        "secteur_1": True,
        "tiers_payant": True,
        "pmr_accessible": True,
        "languages": "français, espagnol",
        "missions": "médecine générale, soins infirmiers",
        "opening_hours": "lun.–ven. 8 h–19 h",
    },
    {
        "structure": "Centre de santé de Mérignac",
        "kind": "centre_de_sante",
        "commune": "Mérignac",
        "address": "1 place Charles-de-Gaulle",
        "lat": 44.8440,
        "lon": -0.6460,
        "phone": "05 56 22 22 22",
        "secteur_1": True,
        "tiers_payant": True,
        "languages": "français, arabe",
        "missions": "médecine générale sans rendez-vous le matin",
    },
    {
        "structure": "Centre de santé de Pessac",
        "kind": "centre_de_sante",
        "commune": "Pessac",
        "address": "8 avenue Jean-Jaurès",
        "lat": 44.8067,
        "lon": -0.6311,
        "phone": "05 56 33 33 33",
    },
    {
        "structure": "PMI de Mérignac",
        "kind": "pmi",
        "commune": "Mérignac",
        "address": "3 rue Thiers",
        "lat": 44.8400,
        "lon": -0.6500,
        "target_population": "femmes enceintes, enfants de moins de 6 ans",
    },
]
