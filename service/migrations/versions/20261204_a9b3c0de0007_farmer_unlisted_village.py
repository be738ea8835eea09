"""farmer.unlisted_village: the village a farmer typed when it was not in the list

Registration offers "my village is not listed" after the district's villages: the farmer types
the village's name, which is kept as typed (``unlisted_village``, at most 60 characters) with
the district it was typed under (``unlisted_district_id``) for staff to review
(``flask --app service farmers unlisted``); ``village_id`` stays empty until staff place the
farmer. Downgrade drops the columns (the typed names are lost).

Revision ID: a9b3c0de0007
Revises: c5d6e7f80009
Create Date: 2026-12-04 09:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "a9b3c0de0007"
down_revision: Union[str, Sequence[str], None] = "c5d6e7f80009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add the nullable columns ``farmer.unlisted_village`` (VARCHAR 60) and ``unlisted_district_id``."""
    with op.batch_alter_table("farmer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unlisted_village", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("unlisted_district_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Drop ``farmer.unlisted_village`` and ``farmer.unlisted_district_id``."""
    with op.batch_alter_table("farmer", schema=None) as batch_op:
        batch_op.drop_column("unlisted_district_id")
        batch_op.drop_column("unlisted_village")
