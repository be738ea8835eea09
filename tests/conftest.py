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

from service import create_app, init_db

STAFF_PHONE = "+992900000001"
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
    application = create_app({"DATABASE_URL": url, "TESTING": True, "SMS_GATEWAY": "local",
                              "WEBHOOK_TOKEN": "", "SCHEDULER_EMBEDDED": False})
    try:
        init_db(application)  # create_app already did on SQLite (then this only checks); PostgreSQL needs it
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


@pytest.fixture(scope="session")
def pg_template(pg_admin) -> str:
    """The name of a PostgreSQL database migrated to head with the reference data, copied by each test."""
    admin, prefix = pg_admin
    name = f"{prefix}_template"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _migrate_and_load(_pg_url(name))
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """URL of a database of this test's own holding only the schema and the reference data."""
    number = next(_numbers)
    if request.param == "sqlite":
        path = request.getfixturevalue("sqlite_dir") / f"test-{number}.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    template = request.getfixturevalue("pg_template")
    admin, prefix = request.getfixturevalue("pg_admin")
    name = f"{prefix}_{number}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def app_settings():
    """Settings every test app starts with; a test module may override this fixture."""
    return {}


@pytest.fixture
def app(database_url, app_settings):
    """The Flask app on a fresh database with the reference data loaded."""
    settings = {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "SMS_GATEWAY": "local",
        "WEBHOOK_TOKEN": "",
        "STAFF_PHONES": [STAFF_PHONE],
        "SCHEDULER_EMBEDDED": False,
        "USSD_SERVICE_CODE": "*384*7#",
        # no quiet hours and no rate cap unless a test module asks for them (results must not
        # depend on the hour the tests run at)
        "QUIET_HOURS_START": "00:00",
        "QUIET_HOURS_END": "00:00",
        "SEND_RATE_SEGMENTS_PER_SECOND": 0,
    }
    settings.update(app_settings)
    application = create_app(settings)  # the database is at head with the reference data: nothing to do
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
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
