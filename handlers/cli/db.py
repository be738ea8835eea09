"""CLI: the ``flask --app service db`` group (``upgrade``, ``current``, ``history``, ``downgrade``),
thin over ``service.db``; ``upgrade`` also loads the absent reference data (``service.sync_reference``)
(``docs/migrations.md`` §2, §3)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from service import db as dbmod

db_group = AppGroup("db", help="The database schema: upgrade it, show where it is, its migrations, downgrade it.")


def _engine():
    return current_app.extensions["dehqon.engine"]


def _names(revisions) -> str:
    return ", ".join(sorted(revisions)) or "no revision (empty database)"


def _migrate(run, revision: str) -> tuple:
    from alembic.util import CommandError

    try:
        return run(_engine(), revision)
    except CommandError as exc:
        raise click.ClickException(f"cannot migrate to {revision!r}: {exc}") from None


@db_group.command("upgrade")
@click.argument("revision", default="heads")
def upgrade_command(revision: str):
    """Migrate the database up to REVISION (default: the newest), in one transaction; one line
    for each revision applied, then where the database is; then, at the newest, load the reference
    data where it is absent, as ``init-db`` does, and say what was added (``docs/migrations.md`` §3)."""
    from service import sync_reference

    applied = {rev.id for rev in dbmod.history(_engine()) if rev.applied}
    before, after = _migrate(dbmod.upgrade, revision)
    for rev in dbmod.history(_engine()):
        if rev.applied and rev.id not in applied:
            click.echo(f"applied {rev.id}: {rev.message}")
    if before == after:
        click.echo(f"database already at {_names(after)}")
    else:
        click.echo(f"database upgraded from {_names(before)} to {_names(after)}")
    if dbmod.schema_behind(_engine()):
        click.echo("reference data not loaded: the schema is not at the newest revision")
        return
    added = sync_reference(current_app._get_current_object())
    click.echo("reference data added: " + ", ".join(f"{n} {name}" for name, n in sorted(added.items()))
               if added else "reference data already present")


@db_group.command("current")
@click.option("--check", is_flag=True, help="Exit 1, with a sentence, when the database is not at the newest revision.")
def current_command(check: bool):
    """Print the revision the database is at (and whether it is the newest)."""
    behind = dbmod.schema_behind(_engine())
    current = dbmod.current_revisions(_engine())
    click.echo(f"{_names(current)}{'' if behind else ' (newest)'}")
    if check and behind:
        raise click.ClickException(behind)


@db_group.command("history")
def history_command():
    """List the migrations, oldest first; the database's own is marked ``(current)``."""
    for rev in dbmod.history(_engine()):
        mark = " (current)" if rev.current else ("" if rev.applied else " (not applied)")
        click.echo(f"{rev.id}\t{rev.message}{mark}")


@db_group.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Confirm: the tables and columns of the later migrations are dropped.")
def downgrade_command(revision: str, yes: bool):
    """Migrate the database down to REVISION (``base``: drop everything). Back up first."""
    if not yes:
        raise click.ClickException(
            f"downgrading to {revision} drops the tables and columns the later migrations added, with their "
            "data: back the database up first (a copy of the SQLite file, `pg_dump` for PostgreSQL; "
            "docs/migrations.md §3), then run this again with --yes.")
    before, after = _migrate(dbmod.downgrade, revision)
    click.echo(f"database downgraded from {_names(before)} to {_names(after)}")


COMMANDS = (db_group,)
