"""registres : sessions révocables et tentatives de connexion en base

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reg_session",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["reg_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    op.create_index("ix_reg_session_user_id", "reg_session", ["user_id"])
    op.create_table(
        "reg_login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reg_login_attempt_account", "reg_login_attempt", ["account"])
    op.create_index("ix_reg_login_attempt_at", "reg_login_attempt", ["at"])


def downgrade() -> None:
    op.drop_index("ix_reg_login_attempt_at", table_name="reg_login_attempt")
    op.drop_index("ix_reg_login_attempt_account", table_name="reg_login_attempt")
    op.drop_table("reg_login_attempt")
    op.drop_index("ix_reg_session_user_id", table_name="reg_session")
    op.drop_table("reg_session")
