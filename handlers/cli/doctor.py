"""``flask --app service doctor``: one ``OK``/``WARNING``/``PROBLEM`` line per check of the deployment's
configuration (``service.doctor``), then a summary; exit status 1 when any check found a problem.

The command runs even when the service itself would refuse to start (``service.create_app``
builds an app holding this command only), so that it can name every problem at once; it starts
nothing and changes nothing.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from service import doctor as checks


@click.command("doctor", help="Check the configuration and say what to fix (exit 1 on any problem).")
@with_appcontext
def doctor() -> None:
    findings = checks.run(current_app.config)
    for finding in findings:
        click.echo(finding.line())
    problems = sum(not f.ok for f in findings)
    warnings = sum(f.ok and f.warn for f in findings)
    also = f" ({warnings} warning{'s' if warnings != 1 else ''} to read)" if warnings else ""
    if problems:
        click.echo(f"{problems} problem{'s' if problems != 1 else ''} to fix{also}.")
        raise SystemExit(1)
    click.echo("No problem found; read the warning" + ("s" if warnings != 1 else "") + " above." if warnings
               else "Everything checked is in order.")


COMMANDS = (doctor,)
