"""Shared fixtures: ``app``, ``client``, ``runner`` and ``session``, on SQLite and PostgreSQL.

Every test that uses ``app`` runs once on SQLite (a fresh file per test) and,
when ``TEST_DATABASE_URL`` names a PostgreSQL server, once more on a database
of its own created for this test run (so parallel runs do not collide).
Without ``TEST_DATABASE_URL`` the PostgreSQL runs are skipped with the reason.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, make_url, text

from service import features
from service import create_app, db as dbmod, init_db

STAFF_PHONE = "+992900000001"
PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def _pg_driver(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database():
    """A PostgreSQL database created for this test run, dropped afterwards; its URL."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL runs skipped")
    admin_url = _pg_driver(PG_URL)
    name = f"dehqon_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = dbmod.make_engine(url)
    dbmod.create_schema(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """URL of an empty database holding only the reference data."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url = request.getfixturevalue("pg_database")
    engine = dbmod.make_engine(url)
    features.import_models()
    tables = ", ".join(f'"{t.name}"' for t in dbmod.Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


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
    application = create_app(settings)
    init_db(application)
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
