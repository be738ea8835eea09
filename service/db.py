"""Database plumbing: the declarative base, engines and sessions.

The domain modules (``service.farmers.models``, ``service.groups.membership`` ...) declare
their models on :class:`Base` and take a SQLAlchemy ``Session`` argument; no
Flask import lives below the app factory. SQLite (the embedded default) gets
WAL, foreign keys and a busy timeout so the web thread and the in-process
scheduler can share one file; PostgreSQL is used as it is.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Alembic logs at INFO when it is imported (one line per autogenerate plugin) and whenever a
# migration context opens ("Context impl ...", "Will assume ... DDL"): every `flask --app service`
# command would start with them. `db upgrade` says itself which revisions it applied.
logging.getLogger("alembic").setLevel(logging.WARNING)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend.

    Values must be aware (naive ones raise ``ValueError``); they are stored as
    UTC and always come back as aware UTC datetimes, also from SQLite, which
    has no time zone type.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every Dehqon model."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict: JSON, list: JSON, dt.datetime: UTCDateTime}


def utcnow() -> dt.datetime:
    """Now as an aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder, WAL, FK and secure-delete pragmas."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # freed and rewritten content is overwritten with zeros, so an erased farmer's name and
            # phone do not linger in the file's free space (docs/privacy.md §2)
            cur.execute("PRAGMA secure_delete=ON")
            if path and path != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


MIGRATIONS = Path(__file__).parent / "migrations"


def migration_config(connection=None):
    """An Alembic ``Config`` for the migrations in ``service/migrations`` (optionally on ``connection``)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migration_config())


@functools.cache
def head_revisions() -> frozenset[str]:
    """The revision ids at the heads of ``service/migrations`` (one, unless two changes were
    made side by side and not merged yet); read once per process (``docs/migrations.md`` §1)."""
    return frozenset(_script().get_heads())



def current_revisions(engine: Engine) -> frozenset[str]:
    """The revision ids the database at ``engine`` is at (its ``alembic_version`` rows); empty
    for a database no migration has run on. Raises SQLAlchemy's ``OperationalError`` when the
    database does not answer."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads())


@dataclass(frozen=True)
class Revision:
    """One migration of ``service/migrations/versions``: its ``id``, the ids it follows
    (``parents``, empty for the first), its one-line ``message`` and whether the database
    is at it (``current``) or past it (``applied``)."""

    id: str
    parents: tuple[str, ...]
    message: str
    current: bool = False
    applied: bool = False


def history(engine: Engine | None = None) -> list[Revision]:
    """Every migration, oldest first; with ``engine``, marked current/applied for that database."""
    script = _script()
    current = current_revisions(engine) if engine is not None else frozenset()
    applied: set[str] = set()
    for rev in current:
        applied.update(r.revision for r in script.iterate_revisions(rev, "base"))
    revisions = list(script.walk_revisions("base", "heads"))[::-1]
    return [Revision(r.revision, tuple(r._normalized_down_revisions), (r.doc or "").strip().splitlines()[0]
                     if r.doc else "", r.revision in current, r.revision in applied) for r in revisions]


def schema_behind(engine: Engine) -> str | None:
    """None when the database at ``engine`` is at the newest migration, else one sentence
    saying where it is and what to run: no schema yet, behind the newest revision, or at a
    revision this code does not know (migrated by a newer release). The web processes on
    PostgreSQL refuse to start with it (``docs/migrations.md`` §2)."""
    current, heads = current_revisions(engine), head_revisions()
    if current == heads:
        return None
    newest = ", ".join(sorted(heads))
    known = {r.revision for r in _script().walk_revisions("base", "heads")}
    unknown = sorted(current - known)
    if unknown:
        return (f"The database is at revision {', '.join(unknown)}, which this release does not know (a newer "
                f"release migrated it); run that release, or downgrade the database with it to {newest}.")
    if not current:
        return ("The database has no schema yet: run `flask --app service db upgrade` "
                "(or `flask --app service init-db`, which also loads the reference data).")
    return (f"The database schema is at revision {', '.join(sorted(current))}, behind the newest ({newest}): "
            "back it up, then run `flask --app service db upgrade`.")


def upgrade(engine: Engine, revision: str = "heads") -> tuple[frozenset[str], frozenset[str]]:
    """Migrate the database up to ``revision`` (default the newest) in one transaction
    (:func:`migrate`); returns its revisions (before, after). Alembic's ``CommandError`` for
    an unknown revision or one below the current."""
    before = current_revisions(engine)
    migrate(engine, revision)
    return before, current_revisions(engine)


def downgrade(engine: Engine, revision: str) -> tuple[frozenset[str], frozenset[str]]:
    """Migrate the database down to ``revision`` (``base``: nothing left) in one transaction;
    returns its revisions (before, after). A downgrade drops the tables and columns the later
    migrations added, with their data: back up first (``docs/migrations.md`` §3)."""
    before = current_revisions(engine)
    migrate(engine, revision, down=True)
    return before, current_revisions(engine)


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """Run the migrations up (``down``: down) to ``revision``, in one transaction.

    On SQLite the foreign keys are off while they run and checked before the commit
    (``PRAGMA foreign_key_check``; a violation rolls everything back): a batch migration
    re-creates a table by copy, drop and rename, and with the keys on, dropping a table that
    others refer to deletes their rows (``ON DELETE CASCADE``) or is refused
    (sqlite.org/lang_altertable.html §7). The pragma only takes effect outside a transaction,
    so it is set before the migrations' transaction begins and set back after it ends.
    """
    from alembic import command
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                (command.downgrade if down else command.upgrade)(migration_config(connection), revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migrations leave rows with broken foreign keys: {broken[:10]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates every table on an empty database).

    A database already at the newest migration costs one query: Alembic's upgrade (which
    reads every migration script) runs only when the database is behind."""
    if current_revisions(engine) == head_revisions():
        return
    migrate(engine, "heads")
