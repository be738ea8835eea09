"""CLI: ``flask --app service serve`` and ``flask --app service scheduler run``."""
from __future__ import annotations

import click
from flask.cli import AppGroup

scheduler_group = AppGroup("scheduler", help="Run the scheduler and the outbox dispatcher.")


@click.command("serve")
def serve_command():
    """Start the service (not implemented yet)."""
    raise click.ClickException("not implemented yet")
