"""Database engine and Alembic migrations (run from Python, same scripts on SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from accesoins.errors import ConfigurationError

log = logging.getLogger(__name__)
VERSION_TABLE = "reg_alembic_version"
SQLITE_BUSY_TIMEOUT_S = 10.0
"""How long a SQLite writer waits for another's transaction before the API answers 503."""
MIGRATIONS_DIR = Path(str(resources.files("accesoins.registers").joinpath("migrations")))


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """Foreign keys on, WAL journal (readers never wait for the writer), transactions begun by us."""
    dbapi_connection.isolation_level = None  # pysqlite's own BEGIN would be DEFERRED: see _begin_immediate
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    """Take the write lock when a transaction starts, waiting up to the busy timeout for it.

    A DEFERRED transaction that reads, then writes, cannot wait: SQLite answers « database is locked »
    at once when another writer committed meanwhile. Every transaction of the registers writes (the
    audit log), so each one queues for the lock from its start instead.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """Engine for ``sqlite:///file.sqlite`` (default) or ``postgresql+psycopg://…`` (shared).

    ``busy_timeout_s``: how long a SQLite transaction waits for the write lock (ignored by PostgreSQL).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"adresse de base de registres non valide : « {url} » "
            "(ex. sqlite:///var/registres.sqlite ou postgresql+psycopg://user@hôte/base)"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": busy_timeout_s})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigurationError(
            f"base « {parsed.get_backend_name()} » non prise en charge : sqlite ou postgresql"
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, *, revision: str = "head") -> str:
    """Bring the database to ``revision`` (``head`` by default); return the revision reached."""
    command.upgrade(_alembic_config(engine), revision)
    current = current_revision(engine)
    log.info("registres migrés jusqu'à la révision %s", current)
    return current or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    return str(head)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
