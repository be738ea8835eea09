"""``flask --app service backup [--output PATH] [--run]``: a copy of the database
(``service.backup``, ``docs/backup.md`` §1–§3).

SQLite: the copy is made at once with the online backup API (the service may keep running), and
the command prints its path and size. PostgreSQL: the command prints the ``pg_dump``/``pg_restore``
recipe; with ``--run`` it runs ``pg_dump`` itself (when on ``PATH``) and prints the path and size.
Exit status 1, with one sentence, when no backup could be made.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from service import backup as backups
from service.db import utcnow


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KiB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.1f} MiB"


@click.command("backup", help="Back up the database (SQLite: a consistent copy; PostgreSQL: the pg_dump recipe).")
@click.option("--output", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (must not exist); default backups/<name>-<UTC time> beside the SQLite file.")
@click.option("--run", "run", is_flag=True, help="PostgreSQL: run pg_dump now instead of printing the recipe.")
@with_appcontext
def backup(output: Path | None, run: bool) -> None:
    url = str(current_app.config["DATABASE_URL"])
    output = output or backups.default_output(url, utcnow())
    source = backups.sqlite_path(url)
    try:
        if source is not None:
            made = backups.backup_sqlite(source, output)
        elif run:
            made = backups.backup_postgresql(url, output)
        else:
            for line in backups.pg_recipe(url, output):
                click.echo(line)
            return
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{made.path}\t{made.size} bytes ({_size(made.size)}), {made.check}")


COMMANDS = (backup,)
