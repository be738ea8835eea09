"""CLI: ``flask --app service serve`` and the ``flask --app service scheduler`` group
(``run``, ``dispatchers``, ``tick``, ``dispatch``)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from werkzeug.serving import run_simple

from handlers.cli import settings
from scheduler import build, start_embedded
from service import session_factory
from service.messaging import gateways
from service.db import utcnow
from service.features import import_models
from service.messaging.dispatch import dispatch_once

scheduler_group = AppGroup("scheduler", help="Run the scheduler and the outbox dispatcher.")


@scheduler_group.command("run")
def run_command():
    """Run the scheduler (tick, outbox dispatcher, sweep) in this process until stopped."""
    config = current_app.config
    click.echo(f"Scheduler: tick every {config['SCHEDULER_TICK_SECONDS']:g} s, dispatching every "
               f"{config['DISPATCH_INTERVAL_SECONDS']:g} s through the {config['SMS_GATEWAY']} gateway, "
               f"timezone {config['TIMEZONE']}; Ctrl-C stops")
    from scheduler import jobs
    jobs.started(config["DATABASE_URL"])
    _serve_metrics(config)
    try:
        build(config, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped")


@scheduler_group.command("dispatchers")
def dispatchers_command():
    """Run only the outbox dispatcher and the delivery sweep in this process until stopped: more
    sending capacity beside a scheduler process (``docs/operations.md`` §1)."""
    config = current_app.config
    click.echo(f"Dispatcher: every {config['DISPATCH_INTERVAL_SECONDS']:g} s through the "
               f"{config['SMS_GATEWAY']} gateway; Ctrl-C stops")
    _serve_metrics(config)
    try:
        build(config, blocking=True, only=("dispatch", "sweep")).start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Dispatcher stopped")


def _serve_metrics(config) -> None:
    """With ``SCHEDULER_METRICS_BIND`` set, serve this process's metrics there (``service.metrics_server``)."""
    bind = (config.get("SCHEDULER_METRICS_BIND") or "").strip()
    if not bind:
        return
    from service import metrics_server
    try:
        metrics_server.start(bind, config.get("METRICS_TOKEN") or "")
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"cannot serve the metrics on {bind}: {exc}") from None
    click.echo(f"Metrics: GET http://{bind}/metrics"
               f"{'' if config.get('METRICS_TOKEN') else ' (404 until METRICS_TOKEN is set)'}")


def parse_at(value: str | None, timezone: str) -> dt.datetime:
    """``--at`` value: ISO 8601; without an offset it is local time in ``timezone``. None → now (UTC)."""
    if not value:
        return utcnow()
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO time: {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return when.astimezone(dt.timezone.utc)


AT_HELP = "Act as of this ISO time (local TIMEZONE time unless it carries an offset); default now."


@scheduler_group.command("tick")
@click.option("--at", "at", default=None, help=AT_HELP)
def tick_command(at: str | None):
    """Run one scheduler pass (reminders, broadcasts, price pushes) and print what it did."""
    from scheduler.tick import tick
    app = current_app._get_current_object()
    now = parse_at(at, app.config["TIMEZONE"])
    result = tick(session_factory(app), app.config, now)
    click.echo(f"tick at {now.astimezone(ZoneInfo(app.config['TIMEZONE'])).isoformat()}: {result}")


@scheduler_group.command("dispatch")
@click.option("--at", "at", default=None, help=AT_HELP)
@click.option("--drain", is_flag=True,
              help="Repeat passes until one claims nothing (or the gateway is held after an outage).")
def dispatch_command(at: str | None, drain: bool):
    """Send the due queued messages once (one dispatcher pass, or passes until none is due with
    --drain) and print what happened."""
    import_models()  # the outbox's foreign keys need every model mapped (PostgreSQL skips init_db)
    app = current_app._get_current_object()
    now = parse_at(at, app.config["TIMEZONE"])
    gateway, passes = gateways.for_routes(settings()), 0
    while True:
        summary = dispatch_once(session_factory(app), gateway, settings(), now=now)
        passes += 1
        click.echo(f"dispatch: {summary.claimed} claimed, {summary}")
        if not drain or not summary.claimed or summary.held_until is not None:
            break
    if drain:
        click.echo(f"dispatch: {passes} passes")


@click.command("serve")
@click.option("--host", default=None, help="Interface to listen on (default: HOST, 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535),
              help="Port to listen on (default: PORT, 5000).")
@with_appcontext
def serve_command(host: str | None, port: int | None):
    """Run the service with the development server (no reloader) and, when
    SCHEDULER_EMBEDDED is on, the scheduler in the same process. Refuses a database whose schema
    is not at the newest migration (on SQLite, start-up has already brought it there). Prints the phone simulator's
    address when it is served (the ``local`` gateway only)."""
    app = current_app._get_current_object()
    from service import check_schema
    check_schema(app.extensions["dehqon.engine"])  # never serve a schema behind the code (docs/migrations.md §2)
    host = host or app.config["HOST"]
    port = port or int(app.config["PORT"])
    if app.config["SCHEDULER_EMBEDDED"]:
        start_embedded(app)
        click.echo(f"Scheduler: embedded, dispatching every {app.config['DISPATCH_INTERVAL_SECONDS']:g} s "
                   f"through the {app.config['SMS_GATEWAY']} gateway")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if app.config["SMS_GATEWAY"] == "local":
        click.echo(f"Phone simulator: http://{shown}:{port}/simulator")
    else:
        click.echo(f"Listening on http://{shown}:{port} ({app.config['SMS_GATEWAY']} gateway; no simulator)")
    run_simple(host, port, app, use_reloader=False, threaded=True)


COMMANDS = (scheduler_group, serve_command)
