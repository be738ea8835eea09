"""The Alembic migrations build exactly the schema the models declare."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service import features
from service import db as dbmod


def test_migrations_match_models(app):
    engine = app.extensions["dehqon.engine"]
    features.import_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                 dbmod.Base.metadata)
    assert diffs == [], "models changed without a migration: alembic revision --autogenerate"


def test_upgrade_is_idempotent(app):
    dbmod.create_schema(app.extensions["dehqon.engine"])  # already at head: no error, no change


def test_outbox_lifetime_migration_keeps_and_backfills_existing_rows(app):
    """b2c4e6a80002 on an outbox written before it: every row keeps its data and gets a deadline
    (created + 24 h, tips + 48 h) and an updated_at; downgrade and upgrade again work."""
    import datetime as dt

    import sqlalchemy as sa

    engine = app.extensions["dehqon.engine"]
    created = dt.datetime(2026, 11, 30, 8, 15, 30, 123456, tzinfo=dt.timezone.utc)
    delivered = created + dt.timedelta(minutes=3)
    old = sa.table("outbound_message", *(sa.column(c) for c in (
        "phone", "text", "kind", "priority", "encoding", "segments", "status", "attempts")),
        sa.column("next_attempt_at", dbmod.UTCDateTime()), sa.column("created_at", dbmod.UTCDateTime()),
        sa.column("delivered_at", dbmod.UTCDateTime()))
    try:
        dbmod.migrate(engine, "65fa7d0f021b", down=True)
        with engine.begin() as conn:
            conn.execute(old.insert(), [
                {"phone": "+992900000011", "text": "reply", "kind": "reply", "priority": 1, "encoding": "GSM-7",
                 "segments": 1, "status": "queued", "attempts": 0, "next_attempt_at": created,
                 "created_at": created, "delivered_at": None},
                {"phone": "+992900000012", "text": "tip", "kind": "tip", "priority": 6, "encoding": "GSM-7",
                 "segments": 1, "status": "delivered", "attempts": 1, "next_attempt_at": created,
                 "created_at": created, "delivered_at": delivered}])
    finally:
        dbmod.create_schema(engine)
    from service.messaging.message import OutboundMessage
    with app.extensions["dehqon.sessionmaker"]() as session:
        rows = {r.kind: r for r in session.scalars(sa.select(OutboundMessage))}
    assert rows["reply"].expires_at == created + dt.timedelta(hours=24)
    assert rows["tip"].expires_at == created + dt.timedelta(hours=48)
    assert (rows["reply"].updated_at, rows["tip"].updated_at) == (created, delivered)
    assert (rows["tip"].status, rows["tip"].text, rows["tip"].delivered_at) == ("delivered", "tip", delivered)
