"""membership: a join request can be rejected (status ``rejected``, ``rejected_by``)

An Executive Committee member may now reject a pending join request (the committee's USSD
menu, ``service.groups.membership.decide``). A rejected request is closed like a left
membership: the one-open-membership index ``uq_membership_open_farmer`` now covers only the
open statuses (``pending``, ``active``), so a rejected applicant may ask again or join another
group. ``rejected_by`` names the EC member who rejected it (``approved_by`` the one who
approved); ``left_at`` holds when it was rejected.

Downgrade turns rejected requests into left ones (``left``, same ``left_at``) and drops
``rejected_by``.

Revision ID: c5d6e7f80009
Revises: d4f6a8c20004
Create Date: 2026-12-04 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "c5d6e7f80009"
down_revision: Union[str, Sequence[str], None] = "d4f6a8c20004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEX = "uq_membership_open_farmer"
FK = "fk_membership_rejected_by_farmer"
OPEN = "status IN ('pending', 'active')"
NOT_LEFT = "status != 'left'"


def _index(where: str) -> None:
    op.create_index(INDEX, "membership", ["farmer_id"], unique=True,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    """Add ``rejected_by``; the open-membership index over ``pending`` and ``active`` only."""
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejected_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(FK, "farmer", ["rejected_by"], ["id"], ondelete="SET NULL")
    op.drop_index(INDEX, table_name="membership")
    _index(OPEN)


def downgrade() -> None:
    """Rejected requests become left ones; ``rejected_by`` goes; the old index comes back."""
    op.execute("UPDATE membership SET status = 'left' WHERE status = 'rejected'")
    op.drop_index(INDEX, table_name="membership")
    _index(NOT_LEFT)
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.drop_column("rejected_by")
