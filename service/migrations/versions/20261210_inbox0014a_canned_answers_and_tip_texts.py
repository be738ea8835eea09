"""canned_answer and tip_text: the staff's canned answers and the edited tips

``service.advice.library``: two new tables, no existing row changes. ``canned_answer`` holds ready
answers per crop and topic in four languages; ``tip_text`` the edited texts of the shipped tips
(``templates_sms/tips.toml``), one row per tip and language. Downgrade drops both (the canned
answers and the tip edits are lost; the shipped tips are served again).

Revision ID: inbox0014a
Revises: f6c1d2e30012
Create Date: 2026-12-10 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa

import service.db

from alembic import op

revision: str = "inbox0014a"
down_revision: Union[str, Sequence[str], None] = "f6c1d2e30012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create ``canned_answer`` and ``tip_text``."""
    op.create_table(
        "canned_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crop_id", sa.String(length=32), nullable=True),
        sa.Column("topic", sa.String(length=12), nullable=True),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("text_tg", sa.Text(), nullable=False),
        sa.Column("text_ru", sa.Text(), nullable=False),
        sa.Column("text_uz", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["crop_id"], ["crop.id"], name=op.f("fk_canned_answer_crop_id_crop")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_answer")),
    )
    op.create_index(op.f("ix_canned_answer_crop_id"), "canned_answer", ["crop_id"], unique=False)
    op.create_table(
        "tip_text",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("key", "lang", name=op.f("pk_tip_text")),
    )


def downgrade() -> None:
    """Drop ``tip_text`` and ``canned_answer``."""
    op.drop_table("tip_text")
    op.drop_index(op.f("ix_canned_answer_crop_id"), table_name="canned_answer")
    op.drop_table("canned_answer")
