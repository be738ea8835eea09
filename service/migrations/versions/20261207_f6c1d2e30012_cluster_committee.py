"""cluster_term: the committees of the commodity clusters and their seat history

``service.groups.cluster_committee`` (``cluster_term``): a new table, no existing row changes.
Downgrade drops it (the cluster committees' seat history is lost).

Revision ID: f6c1d2e30012
Revises: d4a0b1c20011
Create Date: 2026-12-07 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa

import service.db

from alembic import op

revision: str = "f6c1d2e30012"
down_revision: Union[str, Sequence[str], None] = "d4a0b1c20011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create ``cluster_term`` with its open-seat unique index."""
    op.create_table(
        "cluster_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("farmer_id", sa.Integer(), nullable=True),
        sa.Column("pg_id", sa.Integer(), nullable=True),
        sa.Column("elected_on", sa.Date(), nullable=False),
        sa.Column("term_ends_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=12), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["commodity_cluster.id"],
                                name=op.f("fk_cluster_term_cluster_id_commodity_cluster")),
        sa.ForeignKeyConstraint(["farmer_id"], ["farmer.id"], name=op.f("fk_cluster_term_farmer_id_farmer"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["pg_id"], ["producer_group.id"], name=op.f("fk_cluster_term_pg_id_producer_group")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_term")),
    )
    with op.batch_alter_table("cluster_term", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cluster_term_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cluster_term_farmer_id"), ["farmer_id"], unique=False)
        batch_op.create_index("uq_cluster_term_open_seat", ["cluster_id", "role"], unique=True,
                              sqlite_where=sa.text("ended_on IS NULL"), postgresql_where=sa.text("ended_on IS NULL"))


def downgrade() -> None:
    """Drop ``cluster_term``."""
    with op.batch_alter_table("cluster_term", schema=None) as batch_op:
        batch_op.drop_index("uq_cluster_term_open_seat", sqlite_where=sa.text("ended_on IS NULL"),
                            postgresql_where=sa.text("ended_on IS NULL"))
        batch_op.drop_index(batch_op.f("ix_cluster_term_farmer_id"))
        batch_op.drop_index(batch_op.f("ix_cluster_term_cluster_id"))
    op.drop_table("cluster_term")
