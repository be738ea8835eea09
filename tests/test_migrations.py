"""The Alembic migrations build exactly the schema the models declare."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service import db as dbmod


def test_migrations_match_models(app):
    engine = app.extensions["dehqon.engine"]
    dbmod.import_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                 dbmod.Base.metadata)
    assert diffs == [], "models changed without a migration: alembic revision --autogenerate"


def test_upgrade_is_idempotent(app):
    dbmod.create_schema(app.extensions["dehqon.engine"])  # already at head: no error, no change
