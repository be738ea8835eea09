"""phone_language: the language a phone picked before it has a farmer profile

``service.messaging.language.PhoneLanguage``: one row per E.164 phone that picked a language
(SMS ``LANG``, the USSD language screen) before registering; a later registration from the
phone takes it as the profile's language. Downgrade drops the table (the picks are lost; the
phones are answered in the language their texts tell again).

Revision ID: a1b2c3d40005
Revises: a9b3c0de0007
Create Date: 2026-12-04 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "a1b2c3d40005"
down_revision: Union[str, Sequence[str], None] = "a9b3c0de0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create ``phone_language``."""
    op.create_table(
        "phone_language",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_phone_language")),
    )


def downgrade() -> None:
    """Drop ``phone_language``."""
    op.drop_table("phone_language")
