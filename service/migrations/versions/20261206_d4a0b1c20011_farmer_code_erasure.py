"""farmer.code, farmer.erased_at and erased_phone: member codes that are not ids; erasure

``farmer.code`` (8 digits, unique) is the member code people type; it was the id. Existing rows
get ``service.farmers.models.code_of_id`` of their id (a keyed permutation under the
``PRIVACY_KEY`` in force when the migration runs: ``docs/privacy.md`` §4), so a code a farmer
knew changes once, at this upgrade. ``farmer.erased_at`` marks a profile whose personal data
was erased; ``erased_phone`` keeps a keyed digest of each phone whose last profile was erased.
Downgrade drops them (the codes and the record of erased phones are lost; the member code
becomes the id again).

Revision ID: d4a0b1c20011
Revises: e1f2a3b40010
Create Date: 2026-12-06 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa

import service.db
from alembic import op

revision: str = "d4a0b1c20011"
down_revision: Union[str, Sequence[str], None] = "e1f2a3b40010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add ``erased_phone``; add ``farmer.code`` (filled from the ids, then NOT NULL and unique)
    and ``farmer.erased_at``."""
    from service.farmers.models import code_of_id

    op.create_table(
        "erased_phone",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_erased_phone")),
    )
    with op.batch_alter_table("farmer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("erased_at", service.db.UTCDateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    farmer = sa.table("farmer", sa.column("id", sa.Integer), sa.column("code", sa.String))
    ids = [row.id for row in bind.execute(sa.select(farmer.c.id))]
    if ids:
        bind.execute(sa.update(farmer).where(farmer.c.id == sa.bindparam("fid")).values(code=sa.bindparam("c")),
                     [{"fid": i, "c": code_of_id(i)} for i in ids])
    with op.batch_alter_table("farmer", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=8), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_farmer_code"), ["code"])


def downgrade() -> None:
    """Drop ``farmer.code``, ``farmer.erased_at`` and ``erased_phone``."""
    with op.batch_alter_table("farmer", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_farmer_code"), type_="unique")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("code")
    op.drop_table("erased_phone")
