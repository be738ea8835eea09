"""Dehqon: USSD and SMS service for farmers' producer groups, behind Africa's Talking.

``create_app(overrides=None)`` is the application factory (``flask --app service ...``).
The domain lives in the packages of ``service/``, one per programme capability
(``service.features`` composes them into the USSD and SMS applications), beside the
channel engines, messaging and reference data, with no Flask import below this
factory; ``handlers`` holds the thin HTTP and CLI adapters and ``scheduler`` the
APScheduler wiring.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.orm import Session

from config import Config
from service import db as dbmod
from service import logs
from service.settings import GATEWAYS, ConfigError, Settings, check_startup

__all__ = ["GATEWAYS", "StartupError", "create_app"]


class StartupError(ConfigError, click.ClickException):
    """A :class:`~service.settings.ConfigError` raised by :func:`create_app`. Being a click
    exception too, the ``flask`` command prints it as one line (``Error: ...``) and exits 1,
    without a traceback."""

    def __init__(self, message: str):
        ConfigError.__init__(self, message)
        click.ClickException.__init__(self, message)


def _settings(overrides: dict | None) -> dict:
    settings = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    overrides = dict(overrides or {})
    if "WEBHOOK_TOKEN" in overrides:  # accept the environment variable's name too
        raw = overrides.pop("WEBHOOK_TOKEN") or ""
        overrides["WEBHOOK_TOKENS"] = [t.strip() for t in raw.split(",") if t.strip()]
    settings.update(overrides)
    return settings


def configuration(overrides: dict | None = None) -> dict:
    """The settings :func:`create_app` would run with (``config.py`` names: the environment's, then
    ``overrides``), plus ``SECRET_KEY_SET``: whether ``SECRET_KEY`` was given rather than made
    for this process."""
    settings = _settings(overrides)
    settings["SECRET_KEY_SET"] = bool(str((overrides or {}).get("SECRET_KEY") or "").strip()
                                      or os.environ.get("SECRET_KEY", "").strip())
    return settings


def doctor_app(overrides: dict | None = None) -> Flask:
    """An app holding only ``flask --app service doctor`` (``handlers.cli.doctor``) on
    :func:`configuration`: nothing is checked, opened or started, so the doctor can report settings
    the service would refuse to start with."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(configuration(overrides))
    from handlers.cli import doctor

    for command in doctor.COMMANDS:
        app.cli.add_command(command)
    return app


def _cli_command() -> str | None:
    """The ``flask`` command being run (``flask --app service doctor`` -> ``doctor``), or None
    when not run by the ``flask`` command line."""
    argv = sys.argv
    if not argv or Path(argv[0]).name not in ("flask", "flask.exe", "__main__.py"):
        return None
    args = iter(argv[1:])
    for arg in args:
        if arg in ("--app", "-A", "--env-file", "-e"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def create_app(overrides: dict | None = None) -> Flask:
    """Build the Flask app.

    ``overrides``: settings (names as in ``config.py``) replacing the
    environment's. Raises :class:`StartupError` (a ``RuntimeError``) for settings the service
    cannot run with (``service.settings.check_startup``: unknown ``SMS_GATEWAY``; ``africastalking``
    without ``AT_API_KEY`` or without a ``WEBHOOK_TOKEN`` of at least 32 characters; a bad ``PORT``).
    On SQLite the schema is brought to the newest migration and the reference data created on
    start (unless ``DATABASE_INIT`` is off: a database known to be ready). A PostgreSQL database is
    never migrated at start: outside the ``flask`` command line (a gunicorn worker), with
    ``DATABASE_INIT`` on, an app whose PostgreSQL schema is not at the newest migration is refused
    with :class:`StartupError` saying to run ``flask --app service db upgrade``
    (:func:`check_schema`, ``docs/migrations.md`` §2).
    Run by ``flask ... doctor``, it gives :func:`doctor_app` instead, which starts nothing and
    refuses no setting.
    """
    if overrides is None and _cli_command() == "doctor":
        return doctor_app()
    settings = _settings(overrides)
    try:
        check_startup(settings)
    except ConfigError as exc:
        raise StartupError(str(exc)) from None

    app = Flask(__name__, instance_relative_config=False)
    app.config.update(settings)
    from service.farmers import models as farmer_models  # the key of member codes and erased phones
    farmer_models.configure_key(settings.get("PRIVACY_KEY"))
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    logs.install(settings.get("LOG_LEVEL"), secrets=[*(settings.get("WEBHOOK_TOKENS") or []), settings.get("AT_API_KEY"),
                                                     settings.get("KANNEL_PASSWORD")])

    if settings.get("PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = int(settings["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    from service import features  # the composition root: every feature's models, screens and keywords

    app.extensions["dehqon.settings"] = Settings.from_mapping(settings)
    app.extensions["dehqon.ussd"] = features.build_ussd()
    app.extensions["dehqon.sms"] = features.build_sms()

    engine = dbmod.make_engine(settings["DATABASE_URL"])
    app.extensions["dehqon.engine"] = engine
    app.extensions["dehqon.sessionmaker"] = dbmod.make_sessionmaker(engine)
    if engine.dialect.name == "sqlite":
        if settings.get("DATABASE_INIT", True):
            init_db(app)
        else:
            features.import_models()  # every model mapped, as init_db does
    elif settings.get("DATABASE_INIT", True) and click.get_current_context(silent=True) is None:
        # a web worker; the flask commands (db upgrade, init-db ...) must run on an old schema,
        # and `serve` checks it itself
        check_schema(engine)

    if app.extensions["dehqon.settings"].staff_phones:
        _warn_staff_phones(app)

    from handlers import register_blueprints
    register_blueprints(app)

    from handlers import cli
    cli.register(app)
    return app


def check_schema(engine) -> None:
    """Raise :class:`StartupError` with ``service.db.schema_behind``'s sentence when the database
    at ``engine`` is not at the newest migration (``docs/migrations.md`` §2). A database that does
    not answer is only logged (logger ``dehqon.db``): ``/healthz`` reports it once running."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        behind = dbmod.schema_behind(engine)
    except SQLAlchemyError as exc:
        logging.getLogger("dehqon.db").warning("the database schema could not be checked: %s",
                                               type(exc).__name__)
        return
    if behind:
        raise StartupError(behind)


def _warn_staff_phones(app: Flask) -> None:
    """``STAFF_PHONES`` no longer grants anything: warn (logger ``dehqon.staff``, phones masked)
    about each listed phone no active staff account carries (``docs/staff.md``, "Moving from
    STAFF_PHONES"). A database not set up yet (PostgreSQL before ``init-db``) is skipped."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.staff import commands as staff_commands

    try:
        with session_factory(app)() as session:
            staff_commands.warn_unlisted(session, app.extensions["dehqon.settings"].staff_phones)
    except SQLAlchemyError:
        logging.getLogger("dehqon.staff").warning(
            "STAFF_PHONES is set but the staff accounts could not be read (database not set up?)")


def session_factory(app: Flask):
    """The app's SQLAlchemy session factory (``sessionmaker``)."""
    return app.extensions["dehqon.sessionmaker"]


def init_db(app: Flask) -> bool:
    """Bring the schema to the newest migration and load what must be there if absent
    (``features.load_reference``); True when the reference data was loaded."""
    from service import features

    features.import_models()  # every model mapped, also when the schema is already at head
    dbmod.create_schema(app.extensions["dehqon.engine"])
    with session_factory(app)() as session:
        loaded = features.load_reference(session)
        session.commit()
    return loaded


def sync_reference(app: Flask) -> dict[str, int]:
    """Load what must be there where it is absent (``features.load_reference``, as :func:`init_db`
    does: rows already there, staff's edits included, are never changed) into a database whose
    schema is at the newest migration; returns the rows added, by table name (only tables that
    grew; empty when everything was there)."""
    from sqlalchemy import func, select

    from service import features

    features.import_models()
    tables = list(dbmod.Base.metadata.sorted_tables)
    with session_factory(app)() as session:
        def counts() -> dict[str, int]:
            return {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in tables}

        before = counts()
        features.load_reference(session)
        session.flush()
        after = counts()
        session.commit()
    return {name: after[name] - before[name] for name in after if after[name] > before[name]}


def new_session(app: Flask) -> Session:
    """A new session on the app's database (the caller closes it)."""
    return session_factory(app)()
