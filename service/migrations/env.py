"""Alembic environment: migrations run on the connection handed over by ``service.db.upgrade``
(or on ``DATABASE_URL`` when alembic is called directly)."""
from __future__ import annotations

from alembic import context

from service import features
from service import db as dbmod

features.import_models()
target_metadata = dbmod.Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # called from the alembic command line
        from config import Config
        engine = dbmod.make_engine(Config.DATABASE_URL)
        with engine.connect() as connection:
            _run(connection)
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
