"""ussd_hop: unique on (session_id, sha256 of text) instead of (session_id, text)

PostgreSQL refuses a btree index row over about 2.7 KB, so a long hop text broke the
unique index. The new column ``text_hash`` holds the SHA-256 hex digest of the text
(``service.ussd.session.text_hash``); existing rows are backfilled in batches.

Revision ID: c3d5f7a90003
Revises: b2c4e6a80002
Create Date: 2026-12-01 10:00:00

"""
import hashlib
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "c3d5f7a90003"
down_revision: Union[str, Sequence[str], None] = "b2c4e6a80002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 1000
UNIQUE = "uq_ussd_hop_session_id"  # the naming convention's name, for the old and the new constraint

hop = sa.table("ussd_hop", sa.column("id", sa.Integer), sa.column("text", sa.Text),
               sa.column("text_hash", sa.String(64)))


def _sha256(text: str) -> str:
    # a copy of service.ussd.session.text_hash: a migration must not change when the code does
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade() -> None:
    """Add ``text_hash``, backfill it, make it required and unique with ``session_id``."""
    with op.batch_alter_table("ussd_hop", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    last = 0
    while True:  # keyset batches: memory stays flat however many hops are stored
        rows = conn.execute(sa.select(hop.c.id, hop.c.text).where(hop.c.id > last).order_by(hop.c.id)
                            .limit(BATCH)).all()
        if not rows:
            break
        conn.execute(hop.update().where(hop.c.id == sa.bindparam("row_id"))
                     .values(text_hash=sa.bindparam("digest")),
                     [{"row_id": row.id, "digest": _sha256(row.text)} for row in rows])
        last = rows[-1].id
    with op.batch_alter_table("ussd_hop", schema=None) as batch_op:
        batch_op.alter_column("text_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint(UNIQUE, type_="unique")
        batch_op.create_unique_constraint(UNIQUE, ["session_id", "text_hash"])


def downgrade() -> None:
    """Back to unique (``session_id``, ``text``); fails on PostgreSQL if a stored text is too long for it."""
    with op.batch_alter_table("ussd_hop", schema=None) as batch_op:
        batch_op.drop_constraint(UNIQUE, type_="unique")
        batch_op.create_unique_constraint(UNIQUE, ["session_id", "text"])
        batch_op.drop_column("text_hash")
