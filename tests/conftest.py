"""Shared fixtures: ``app``, ``client``, ``runner`` and ``session``, on SQLite and PostgreSQL.

Every test that uses ``app`` runs once on SQLite and, when ``TEST_DATABASE_URL`` names a
PostgreSQL server, once more on PostgreSQL. Without ``TEST_DATABASE_URL`` the PostgreSQL
runs are skipped with the reason.

Each test gets a database of its own holding the schema at the newest migration and the
reference data, without migrating or loading anything itself: the migration and the load
(``service.init_db``) run once per test session (and per pytest-xdist worker) into a
template, which each test copies:

- SQLite: a template file; each test gets a copy (``shutil.copyfile``), on ``/dev/shm``
  (tmpfs: commits do not wait for a disk) where that is writable, else under ``tmp_path``.
- PostgreSQL: a template database; each test gets ``CREATE DATABASE ... TEMPLATE`` (about
  40 ms, a third of what truncating every table and loading the reference data again
  cost), dropped after the test. Names carry the worker and the process id, so parallel
  workers and parallel runs do not collide.
"""
from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from service import create_app, features, init_db

STAFF_PHONE = "+992900000001"  # the phone of the staff account :func:`add_staff` makes by default
PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1 ... under pytest-xdist
_numbers = itertools.count(1)


def _pg_driver(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def _migrate_and_load(url: str) -> None:
    """Bring the database at ``url`` to the newest migration with the reference data loaded."""
    application = create_app({"DATABASE_URL": url, "TESTING": True, "SMS_GATEWAY": "local", "DATABASE_INIT": False,
                              "WEBHOOK_TOKEN": "", "SCHEDULER_EMBEDDED": False})
    try:
        init_db(application)  # migrate and load (DATABASE_INIT off: a PostgreSQL app would refuse an empty schema)
    finally:
        application.extensions["dehqon.engine"].dispose()


@pytest.fixture(scope="session")
def sqlite_dir(tmp_path_factory):
    """A folder for this session's SQLite databases: on tmpfs when there is one, removed afterwards."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix=f"dehqon-test-{WORKER}-", dir=shm))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("sqlite")


@pytest.fixture(scope="session")
def sqlite_template(sqlite_dir) -> Path:
    """A SQLite file migrated to head with the reference data, one file (no WAL beside it)."""
    path = sqlite_dir / "template.sqlite3"
    _migrate_and_load(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # fold the WAL into the file: a copy of it alone is complete
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return path


@pytest.fixture(scope="session")
def pg_admin():
    """An AUTOCOMMIT engine on ``TEST_DATABASE_URL`` and the prefix of this session's database names."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL runs skipped")
    admin = create_engine(_pg_driver(PG_URL), isolation_level="AUTOCOMMIT")
    prefix = f"dehqon_test_{WORKER}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield admin, prefix
    with admin.connect() as conn:  # whatever a failed teardown left behind
        for (name,) in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                    {"p": prefix + "%"}).all():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_url(name: str) -> str:
    return make_url(_pg_driver(PG_URL)).set(database=name).render_as_string(hide_password=False)


# a fingerprint of the schema: tables, columns, indexes, constraints (a test may rename, drop or
# migrate down and up again)
_SCHEMA_SQL = """
SELECT md5(coalesce((SELECT string_agg(concat_ws(':', c.oid, c.relname, c.relkind), ',' ORDER BY c.oid)
                     FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace), '')
        || coalesce((SELECT string_agg(concat_ws(':', a.attrelid, a.attname, a.atttypid, a.attnotnull, a.attisdropped),
                                       ',' ORDER BY a.attrelid, a.attnum)
                     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                     WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0), '')
        || coalesce((SELECT string_agg(concat_ws(':', k.oid, k.conname), ',' ORDER BY k.oid)
                     FROM pg_constraint k WHERE k.connamespace = 'public'::regnamespace), ''))
"""
_SEQUENCES_SQL = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
_OTHERS_SQL = """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()"""


class PgDatabase:
    """A PostgreSQL database of one test session (one per xdist worker), put back before each test
    into the state its template has: the schema at head and the reference data.

    Creating a database per test (``CREATE DATABASE ... TEMPLATE``) and dropping it costs 0.3 to
    1 s on a busy machine (every ``DROP DATABASE`` forces a checkpoint), truncating every table
    about as much (new files, a synchronous commit); so only what a test changed is put back:
    the tables it wrote rows to are emptied with ``DELETE``, a reference table it changed gets
    its rows back, the sequences it moved are set back. A test that changed the schema (a
    migration down and up, a dropped table) gets the database created afresh from the template.
    """

    def __init__(self, admin, name: str, template: str):
        self.admin, self.name, self.template, self.url = admin, name, template, _pg_url(name)
        self._create()
        from service import db as dbmod
        features.import_models()
        order = [t.name for t in dbmod.Base.metadata.sorted_tables]  # parents before children
        with self.engine.connect() as conn:
            tables = set(conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
            self.schema = conn.scalar(text(_SCHEMA_SQL))
            self.sequences = dict(conn.execute(text(_SEQUENCES_SQL)).all())
            self.order = [t for t in order if t in tables] + sorted(tables - set(order))
            self.kept = {t: conn.scalar(text(f'SELECT json_agg(t)::text FROM "{t}" t')) for t in self.order}
        self.kept = {t: rows for t, rows in self.kept.items() if rows is not None}
        # (table, digest of its rows) of every table holding reference data; does each other table have a row?
        kept = [f"""SELECT '{t}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM "{t}" t"""
                for t in self.kept]
        self._digests_sql = text(" UNION ALL ".join(kept))
        self._written_sql = text(" UNION ALL ".join(f"""SELECT '{t}' WHERE EXISTS (SELECT 1 FROM "{t}")"""
                                                      for t in self.order if t not in self.kept))
        with self.engine.connect() as conn:
            self.digests = dict(conn.execute(self._digests_sql).all())

    def _create(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"'))
            # commits need not wait for the disk: nothing here has to survive a crash of the server
            conn.execute(text(f'ALTER DATABASE "{self.name}" SET synchronous_commit = off'))
        self.engine = create_engine(self.url, pool_size=1, max_overflow=0)

    def reset(self) -> None:
        """Put the database back as the template has it (see the class)."""
        with self.engine.begin() as conn:
            conn.execute(text(_OTHERS_SQL))  # a connection a test left open holds no lock past here
            if conn.scalar(text(_SCHEMA_SQL)) != self.schema:
                schema_changed = True
            else:
                schema_changed = False
                written = set(conn.scalars(self._written_sql))
                changed = {t for t, digest in conn.execute(self._digests_sql) if digest != self.digests[t]}
                emptied = written | (set(self.kept) if changed else set())
                for t in reversed(self.order):  # children before parents
                    if t in emptied:
                        conn.execute(text(f'DELETE FROM "{t}"'))
                if changed:
                    for t in self.order:
                        if t in self.kept:
                            conn.execute(text(f'INSERT INTO "{t}" SELECT * FROM json_populate_recordset('
                                              f'NULL::"{t}", CAST(:rows AS json))'), {"rows": self.kept[t]})
                for seq, value in conn.execute(text(_SEQUENCES_SQL)).all():
                    if value != self.sequences.get(seq):
                        want = self.sequences.get(seq)
                        conn.execute(text("SELECT setval(CAST(:s AS regclass), :v, :called)"),
                                     {"s": f'"{seq}"', "v": want or 1, "called": want is not None})
        if schema_changed:
            self.engine.dispose()
            self._create()

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_database(pg_admin) -> PgDatabase:
    """This session's PostgreSQL database, made from a template migrated to head with the reference data."""
    admin, prefix = pg_admin
    template = f"{prefix}_template"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    _migrate_and_load(_pg_url(template))
    database = PgDatabase(admin, f"{prefix}_db", template)
    yield database
    database.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """URL of a database holding only the schema and the reference data, for this test alone."""
    if request.param == "sqlite":
        path = request.getfixturevalue("sqlite_dir") / f"test-{next(_numbers)}.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    database = request.getfixturevalue("pg_database")
    database.reset()
    yield database.url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of an empty database of the test's own (SQLite file; PostgreSQL database created and
    dropped here)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / f'empty-{next(_numbers)}.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL runs skipped")
    admin = create_engine(_pg_driver(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"dehqon_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_pg_driver(PG_URL)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_staff_hash: list[str] = []


def add_staff(session, phone: str | None = STAFF_PHONE, role: str = "admin", scope=(), *, language: str = "tg",
              active: bool = True, username: str | None = None, commit: bool = True):
    """A staff account for the staff SMS commands (``service.staff.commands``): ``role`` over ``scope``
    (ids or codes), carrying ``phone``; by default the administrator of :data:`STAFF_PHONE`, in Tajik.
    The password hash is made once per process (Argon2id is slow on purpose). Commits unless told not to."""
    from service.staff import accounts

    if not _staff_hash:
        _staff_hash.append(accounts.hash_password("a long enough password"))
    account = accounts.StaffAccount(
        username=username or f"sms-{role.replace('_', '-')}-{(phone or 'nophone')[-4:]}".lower(),
        name=f"Test {role}", role=role, phone=phone, language=language, password_hash=_staff_hash[0],
        active=active, scope_rows=accounts.scope_rows(session, role, list(scope)))
    session.add(account)
    session.flush()
    if commit:
        session.commit()
    return account


@pytest.fixture
def staff_account(session):
    """The administrator's account of :data:`STAFF_PHONE` (:func:`add_staff`)."""
    return add_staff(session)


@pytest.fixture
def app_settings():
    """Settings every test app starts with; a test module may override this fixture."""
    return {}


@pytest.fixture
def app(database_url, app_settings, tmp_path):
    """The Flask app on a fresh database with the reference data loaded."""
    settings = {
        "STAFF_SESSION_DIR": str(tmp_path / "staff-sessions"),
        "DATABASE_URL": database_url,
        "DATABASE_INIT": False,  # a copy of the session's template: at head, reference data loaded
        "TESTING": True,
        "SMS_GATEWAY": "local",
        "WEBHOOK_TOKEN": "",
        "SCHEDULER_EMBEDDED": False,
        "USSD_SERVICE_CODE": "*384*7#",
        # no quiet hours and no rate cap unless a test module asks for them (results must not
        # depend on the hour the tests run at)
        "QUIET_HOURS_START": "00:00",
        "QUIET_HOURS_END": "00:00",
        "SEND_RATE_SEGMENTS_PER_SECOND": 0,
    }
    settings.update(app_settings)
    application = create_app(settings)
    yield application
    application.extensions["dehqon.engine"].dispose()


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of ``app``."""
    return app.test_cli_runner()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free port of 127.0.0.1 for the test; its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def session(app):
    """A session on the app's database, closed after the test."""
    s = app.extensions["dehqon.sessionmaker"]()
    yield s
    s.close()


def pytest_collection_modifyitems(config, items):
    """The tests marked ``slow`` first (in their order), so that under pytest-xdist the long ones
    start at once and the short ones fill the workers around them, rather than one long test
    starting last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
