"""CLI: ``flask --app service serve`` and the ``flask --app service scheduler`` group (``run``, ``dispatch``)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from werkzeug.serving import run_simple

from scheduler import build, start_embedded
from service import gateways, session_factory
from service.dispatch import dispatch_once

scheduler_group = AppGroup("scheduler", help="Run the scheduler and the outbox dispatcher.")


@scheduler_group.command("run")
def run_command():
    """Run the scheduler (outbox dispatcher, sweep) in this process until stopped."""
    config = current_app.config
    click.echo(f"Scheduler: dispatching every {config['DISPATCH_INTERVAL_SECONDS']:g} s through "
               f"the {config['SMS_GATEWAY']} gateway, timezone {config['TIMEZONE']}; Ctrl-C stops")
    try:
        build(config, blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped")


@scheduler_group.command("dispatch")
def dispatch_command():
    """Send the due queued messages once (one dispatcher pass) and print what happened."""
    app = current_app._get_current_object()
    summary = dispatch_once(session_factory(app), gateways.for_config(app.config), app.config)
    click.echo(f"dispatch: {summary.claimed} claimed, {summary}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@with_appcontext
def serve_command(host: str, port: int):
    """Run the service with the development server (no reloader) and, when
    SCHEDULER_EMBEDDED is on, the scheduler in the same process."""
    app = current_app._get_current_object()
    if app.config["SCHEDULER_EMBEDDED"]:
        start_embedded(app)
        click.echo(f"Scheduler: embedded, dispatching every {app.config['DISPATCH_INTERVAL_SECONDS']:g} s "
                   f"through the {app.config['SMS_GATEWAY']} gateway")
    click.echo(f"Phone simulator: http://{host}:{port}/simulator")
    run_simple(host, port, app, use_reloader=False, threaded=True)
