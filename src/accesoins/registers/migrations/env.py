"""Alembic environment: the engine comes from :func:`accesoins.registers.migrate` (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from accesoins.registers._db import VERSION_TABLE
from accesoins.registers._models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()
