"""Dehqon: USSD and SMS service for farmers' producer groups, behind Africa's Talking.

``create_app(overrides=None)`` is the application factory (``flask --app service ...``).
The domain lives in the packages of ``service/``, one per programme capability
(``service.features`` composes them into the USSD and SMS applications), beside the
channel engines, messaging and reference data, with no Flask import below this
factory; ``handlers`` holds the thin HTTP and CLI adapters and ``scheduler`` the
APScheduler wiring.
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from config import Config
from service import db as dbmod
from service import logs
from service.settings import Settings

GATEWAYS = ("local", "africastalking")


def _settings(overrides: dict | None) -> dict:
    settings = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    overrides = dict(overrides or {})
    if "WEBHOOK_TOKEN" in overrides:  # accept the environment variable's name too
        raw = overrides.pop("WEBHOOK_TOKEN") or ""
        overrides["WEBHOOK_TOKENS"] = [t.strip() for t in raw.split(",") if t.strip()]
    settings.update(overrides)
    return settings


def create_app(overrides: dict | None = None) -> Flask:
    """Build the Flask app.

    ``overrides``: settings (names as in ``config.py``) replacing the
    environment's. Raises ``RuntimeError`` when ``SMS_GATEWAY`` is unknown, or is
    ``africastalking`` without ``WEBHOOK_TOKEN`` or ``AT_API_KEY``.
    On SQLite the schema and reference data are created on first start (unless ``DATABASE_INIT``
    is off: a database known to be ready).
    """
    settings = _settings(overrides)
    if settings["SMS_GATEWAY"] not in GATEWAYS:
        raise RuntimeError(f"SMS_GATEWAY must be one of {GATEWAYS}, not {settings['SMS_GATEWAY']!r}")
    if settings["SMS_GATEWAY"] == "africastalking":
        if not settings["WEBHOOK_TOKENS"]:
            raise RuntimeError("SMS_GATEWAY=africastalking needs WEBHOOK_TOKEN: AT signs no callback")
        if not settings["AT_API_KEY"]:
            raise RuntimeError("SMS_GATEWAY=africastalking needs AT_API_KEY")

    app = Flask(__name__, instance_relative_config=False)
    app.config.update(settings)
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    logs.install(settings.get("LOG_LEVEL"), secrets=[*(settings.get("WEBHOOK_TOKENS") or []), settings.get("AT_API_KEY")])

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

    from handlers import register_blueprints
    register_blueprints(app)

    from handlers import cli
    cli.register(app)
    return app


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


def new_session(app: Flask) -> Session:
    """A new session on the app's database (the caller closes it)."""
    return session_factory(app)()
