"""Flask CLI commands of the service: ``init-db``, ``demo-data``, ``serve`` and the scheduler group."""
from __future__ import annotations

import click
from flask import Flask


def register(app: Flask) -> None:
    """Attach the CLI commands to ``app``."""

    @app.cli.command("init-db")
    def init_db_command():
        """Create the tables and load the Khatlon reference data (idempotent)."""
        from service import init_db
        loaded = init_db(app)
        click.echo("reference data loaded" if loaded else "database already initialised")

    from service import demo
    app.cli.add_command(demo.demo_data_command)

    from service import cli_advice
    for group in cli_advice.COMMANDS:
        app.cli.add_command(group)

    from scheduler import cli as scheduler_cli
    app.cli.add_command(scheduler_cli.scheduler_group)
    app.cli.add_command(scheduler_cli.serve_command)
