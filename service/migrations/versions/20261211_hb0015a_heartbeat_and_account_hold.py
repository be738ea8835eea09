"""heartbeat, and the account hold kept in gateway_state

``service.heartbeat``: a new table ``heartbeat`` (one row per scheduler or dispatcher process:
its latest beat, pid and host), read by ``GET /readyz``. ``gateway_state`` gains
``account_held_until`` and ``account_problem`` (``service.messaging.gateway_state.record_account_hold``),
NULL on the existing rows. No existing row changes. Downgrade drops the table and the two columns.

Revision ID: hb0015a
Revises: inbox0014a
Create Date: 2026-12-11 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa

import service.db

from alembic import op

revision: str = "hb0015a"
down_revision: Union[str, Sequence[str], None] = "inbox0014a"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create ``heartbeat``; add the account hold columns to ``gateway_state``."""
    op.create_table(
        "heartbeat",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("beat_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=80), nullable=False),
        sa.Column("started_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeat")),
    )
    with op.batch_alter_table("heartbeat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_heartbeat_kind"), ["kind"], unique=False)
    with op.batch_alter_table("gateway_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_held_until", service.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("account_problem", sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Drop the account hold columns and ``heartbeat``."""
    with op.batch_alter_table("gateway_state", schema=None) as batch_op:
        batch_op.drop_column("account_problem")
        batch_op.drop_column("account_held_until")
    with op.batch_alter_table("heartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heartbeat_kind"))
    op.drop_table("heartbeat")
