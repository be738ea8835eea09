"""outbox lifetime and gateway outage state

Adds ``outbound_message.expires_at`` (the row's deadline; existing rows get
``created_at`` + 24 h, tips + 48 h: ``service.messaging.message.LIFETIME``),
``outbound_message.updated_at`` (its latest change; existing rows get
``delivered_at``, else ``sent_at``, else ``created_at``), the ``gateway_state``
table (outages shared by every dispatcher, ``service.messaging.gateway_state``) and an
index of the parked delivery reports (orphans).

Revision ID: b2c4e6a80002
Revises: 65fa7d0f021b
Create Date: 2026-12-02 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import service.db


# revision identifiers, used by Alembic.
revision: str = 'b2c4e6a80002'
down_revision: Union[str, Sequence[str], None] = '65fa7d0f021b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# lifetimes of the rows already queued, hours (service.messaging.message.LIFETIME when this was written)
TIP_HOURS, OTHER_HOURS = 48, 24


def _plus_hours(dialect: str, column: str, hours: str) -> str:
    """SQL for ``column`` + ``hours`` (an SQL integer expression) in the dialect's stored form."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]': keep the fraction
        return (f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+' || ({hours}) || ' hours') "
                f"|| substr({column}, 20)")
    return f"{column} + ({hours}) * interval '1 hour'"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('gateway_state',
    sa.Column('gateway', sa.String(length=40), nullable=False),
    sa.Column('outage_since', service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_passes', sa.Integer(), nullable=False),
    sa.Column('held_until', service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_alert_at', service.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('gateway', name=op.f('pk_gateway_state'))
    )
    with op.batch_alter_table('delivery_report', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_report_orphan', ['received_at'], unique=False,
                              sqlite_where=sa.text('NOT applied'), postgresql_where=sa.text('NOT applied'))

    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', service.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_at', service.db.UTCDateTime(timezone=True), nullable=True))
    dialect = op.get_bind().dialect.name
    hours = f"CASE WHEN kind = 'tip' THEN {TIP_HOURS} ELSE {OTHER_HOURS} END"
    op.execute(f"UPDATE outbound_message SET expires_at = {_plus_hours(dialect, 'created_at', hours)}, "
               "updated_at = COALESCE(delivered_at, sent_at, created_at)")
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=service.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column('updated_at', existing_type=service.db.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('delivery_report', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_report_orphan', sqlite_where=sa.text('NOT applied'),
                            postgresql_where=sa.text('NOT applied'))
    op.drop_table('gateway_state')
