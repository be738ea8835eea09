"""gunicorn's settings file for the service, read from the working directory by default
(``gunicorn -w 4 -b 127.0.0.1:8000 'service:create_app()'``).

It only refuses to start with settings the service cannot run with, or a PostgreSQL schema
behind the newest migration, in one sentence and before any worker starts
(``service.settings.check_startup``, ``service.check_schema``), instead of every worker dying
with a traceback.
"""
import sys


def on_starting(server):
    """gunicorn's hook, called once in the master before the workers are forked."""
    import config
    from service.settings import ConfigError, check_startup

    settings = config.as_dict()
    try:
        check_startup(settings)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
    _refuse_old_schema(settings)


def _refuse_old_schema(settings):
    """A PostgreSQL schema behind the newest migration stops gunicorn with one sentence (web
    workers never migrate it: ``flask --app service db upgrade``, docs/migrations.md §2)."""
    from service import db as dbmod
    from service import StartupError, check_schema

    if not settings["DATABASE_URL"].startswith("postgres") or not settings.get("DATABASE_INIT", True):
        return
    engine = dbmod.make_engine(settings["DATABASE_URL"])
    try:
        check_schema(engine)
    except StartupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        engine.dispose()
