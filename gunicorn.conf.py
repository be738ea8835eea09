"""gunicorn's settings file for the service, read from the working directory by default
(``gunicorn 'service:create_app()'``; ``docs/operations.md`` §2).

* ``bind``: ``GUNICORN_BIND`` (e.g. ``unix:/run/dehqon/web.sock`` or ``0.0.0.0:8000``), else
  ``HOST:PORT`` (``config.py``: ``127.0.0.1:5000``);
* ``workers``: ``WEB_CONCURRENCY`` (default 2) sync workers;
* ``timeout`` 14 s (a worker stuck longer is restarted), shorter than the 15 s AT waits for an
  answer (``docs/gateway-africastalking.md`` §2), ``graceful_timeout`` 10 s, ``keepalive`` 5 s;
* the access log on stdout (``GUNICORN_ACCESS_LOG``, ``-``) through :class:`RedactingLogger`: the
  webhook token a callback carries as ``?key=`` and a farmer's text (``text=``, ``answer=`` ...) are
  redacted and phones masked (``service.logs``).

Before any worker starts (``on_starting``, in the master) it refuses settings the service
cannot run with, or a PostgreSQL schema behind the newest migration, in one sentence
(``service.settings.check_startup``, ``service.check_schema``), instead of every worker dying
with a traceback; makes a fresh ``PROMETHEUS_MULTIPROC_DIR`` for the metrics of
all workers (``service.metrics``); and on SQLite brings the schema to the newest migration
once, so the workers do not race to migrate. With ``SCHEDULER_EMBEDDED=1`` each worker starts
the embedded scheduler after it boots; only the worker holding the database lock runs its
jobs (``scheduler.EmbeddedElection``), and it stops when the worker exits.
"""
import os
import shutil
import sys
import tempfile

from gunicorn.glogging import Logger


def _env(name, default):
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


bind = [_env("GUNICORN_BIND", f"{_env('HOST', '127.0.0.1')}:{_env('PORT', '5000')}")]
workers = int(_env("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = 14
graceful_timeout = 10
keepalive = 5
# Kannel's get-url carries an MO's text in the request line: a ten-part Cyrillic message is about
# 4.2 KB of URL (docs/gateway-kannel.md §9), above gunicorn's default of 4094; 8190 is its most
limit_request_line = 8190
accesslog = _env("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = _env("LOG_LEVEL", "info").lower()
# gunicorn's default format plus the time taken (ms); RedactingLogger scrubs every atom
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
wsgi_app = "service:create_app()"
_made_metrics_dir = []


def _scrub(value):
    from service.logs import scrub
    return scrub(value) if isinstance(value, str) else value


class RedactingLogger(Logger):
    """gunicorn's logger, its access log without tokens or phones: every atom (the request line
    ``r`` with its query string, ``q``, the referer, headers) is scrubbed by
    ``service.logs.scrub``: ``key=`` (``token=``, ``password=`` ...) values and the configured
    secrets become ``[redacted]``, phones ``***567``, control characters are escaped. It does
    not depend on the app having installed ``service.logs`` in the worker; the header atoms
    ``{authorization}i`` and ``{cookie}i`` are always ``-``."""

    HIDDEN = ("{authorization}i", "{cookie}i", "{proxy-authorization}i", "{set-cookie}o")

    def atoms(self, resp, req, environ, request_time):
        """The access log's atoms, as gunicorn makes them, without what must not be logged."""
        atoms = {k: _scrub(v) for k, v in super().atoms(resp, req, environ, request_time).items()}
        for name in self.HIDDEN:
            atoms.pop(name, None)
        return atoms


logger_class = RedactingLogger


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
    _fresh_metrics_dir()
    _refuse_old_schema(settings)
    if settings["DATABASE_URL"].startswith("sqlite") and settings.get("DATABASE_INIT", True):
        from service import create_app
        app = create_app({"SCHEDULER_EMBEDDED": False})  # migrates and loads the reference data
        app.extensions["dehqon.engine"].dispose()  # no connection crosses the fork


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


def _fresh_metrics_dir():
    """``PROMETHEUS_MULTIPROC_DIR`` emptied (when given) or made (a new temporary folder)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.unlink(os.path.join(given, name))
    else:
        given = tempfile.mkdtemp(prefix="dehqon-metrics-")
        _made_metrics_dir.append(given)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = given


def post_worker_init(worker):
    """In each worker, once the app is loaded: with ``SCHEDULER_EMBEDDED`` on, take part in the
    election of the one worker that runs the scheduler's jobs."""
    app = worker.wsgi
    if app.config.get("SCHEDULER_EMBEDDED"):
        from scheduler import EmbeddedElection
        app.extensions["dehqon.election"] = EmbeddedElection(app).start()


def worker_exit(server, worker):
    """In a worker that stops: stop its embedded scheduler and give the lock up."""
    app = getattr(worker, "wsgi", None)
    election = app.extensions.get("dehqon.election") if hasattr(app, "extensions") else None
    if election is not None:
        election.stop()


def child_exit(server, worker):
    """In the master, after a worker ended: drop its live metric files (``service.metrics``)."""
    from service.metrics import mark_process_dead
    mark_process_dead(worker.pid)


def on_exit(server):
    """The master stops: remove the metrics folder it made."""
    for folder in _made_metrics_dir:
        shutil.rmtree(folder, ignore_errors=True)
