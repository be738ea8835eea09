"""Backups of the service's database (``flask --app service backup``, ``docs/backup.md`` §1–§3).

* SQLite (:func:`backup_sqlite`): a copy made with SQLite's online backup API
  (``sqlite3.Connection.backup``), a consistent snapshot even while the service writes
  (``docs/backup.md`` §1). The copy is written beside its final name, checked with
  ``PRAGMA integrity_check``, switched to a plain rollback journal (one self-contained file),
  made mode 600 and only then renamed to its name.
* PostgreSQL (:func:`pg_recipe`, :func:`backup_postgresql`): ``pg_dump --format=custom`` and
  ``pg_restore`` (``docs/backup.md`` §2). The recipe never shows the password: ``pg_dump`` reads
  it from ``PGPASSWORD`` or ``~/.pgpass``; :func:`backup_postgresql` hands it over in the child's
  environment, not on its command line.

What to do with a copy (where to keep it, how to restore it): ``docs/backup.md`` §3.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, make_url


class BackupError(RuntimeError):
    """A backup that could not be made; the message is one sentence saying why and what to do."""


@dataclass(frozen=True)
class Backup:
    """A finished backup: ``path`` of the file, its ``size`` in bytes, and ``check`` (what verified it)."""

    path: Path
    size: int
    check: str


def stamp(now: dt.datetime) -> str:
    """``now`` (aware) as the UTC stamp in backup names: ``20261204T183000Z``."""
    return now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None for another database (or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    return Path(parsed.database) if parsed.database not in (None, "", ":memory:") else None


def default_output(url: str, now: dt.datetime) -> Path:
    """Where a backup goes without ``--output``: ``backups/`` beside the SQLite file (or in the
    working folder for PostgreSQL), named after the database and the UTC time."""
    path = sqlite_path(url)
    if path is not None:
        return path.parent / "backups" / f"{path.stem}-{stamp(now)}.sqlite3"
    name = make_url(url).database or "dehqon"
    return Path("backups") / f"{name}-{stamp(now)}.dump"


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 600 (its folder 700 when made here); refuse one that exists."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} already exists: choose another --output, a backup never overwrites a file.") from None
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask


def backup_sqlite(source: Path, output: Path, *, pages: int = -1) -> Backup:
    """Copy the SQLite database ``source`` to ``output`` (which must not exist) while the service
    may be writing to it; return the :class:`Backup`.

    ``pages``: pages copied per step of the backup API; ``-1`` (the default) copies every page in
    one step, inside one read transaction: a consistent snapshot, and with the WAL journal the
    service's writers are not blocked meanwhile (with smaller steps SQLite starts the copy over
    whenever another connection writes, which under steady writes may never end;
    ``docs/backup.md`` §1). Raises :class:`BackupError` when ``source`` does not exist, ``output`` does, or the
    copy fails its integrity check (the partial file is removed)."""
    if not source.exists():
        raise BackupError(f"The database file {source} does not exist: there is nothing to back up.")
    if output.exists():
        raise BackupError(f"{output} already exists: choose another --output, a backup never overwrites a file.")
    partial = output.with_name(output.name + ".partial")
    _private_file(partial)
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst, pages=pages)
                dst.execute("PRAGMA journal_mode=DELETE")  # one file, whatever the source's WAL
                result = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            finally:
                dst.close()
        finally:
            src.close()
        if result != ["ok"]:
            raise BackupError(f"The copy failed SQLite's integrity check ({'; '.join(result[:3])}): the database "
                              "itself may be damaged; run PRAGMA integrity_check on it.")
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Backup(output, output.stat().st_size, "integrity_check ok")


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """``url`` as libpq reads it (``postgresql://``, no driver, no password) and the environment
    carrying the password (``PGPASSWORD``) when the URL has one."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    plain = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                       database=parsed.database, query=parsed.query)  # (URL.set cannot remove a password)
    return plain.render_as_string(hide_password=False), env


def pg_recipe(url: str, output: Path) -> list[str]:
    """The commands that back up and restore the PostgreSQL database of ``url`` to ``output``
    (``docs/backup.md`` §2), one per line, without the password. The first command makes the
    folder of ``output`` (mode 700) when it is missing."""
    dsn, _ = _libpq(url)
    name = make_url(url).database or "dehqon"
    return [
        "# back up (the password from PGPASSWORD or ~/.pgpass, never on the command line):",
        f"mkdir -p -m 700 {output.parent}",
        f"umask 077 && pg_dump --format=custom --no-owner --file={output} '{dsn}'",
        "# check the dump can be read:",
        f"pg_restore --list {output} > /dev/null",
        "# restore into a new, empty database, then point DATABASE_URL at it:",
        f"createdb {name}_restored && pg_restore --no-owner --exit-on-error --dbname='{dsn.rsplit('/', 1)[0]}/"
        f"{name}_restored' {output}",
    ]


def backup_postgresql(url: str, output: Path, *, timeout: float = 3600) -> Backup:
    """Run ``pg_dump --format=custom`` of ``url`` into ``output`` (mode 600; must not exist), then
    ``pg_restore --list`` on it; return the :class:`Backup`. Raises :class:`BackupError` when
    ``pg_dump`` is not on ``PATH`` or either command fails (the partial file is removed)."""
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if not pg_dump or not pg_restore:
        raise BackupError("pg_dump or pg_restore is not on PATH: install the PostgreSQL client "
                          "(Debian: apt-get install postgresql-client), or run the recipe elsewhere.")
    if output.exists():
        raise BackupError(f"{output} already exists: choose another --output, a backup never overwrites a file.")
    dsn, secret = _libpq(url)
    env = {**os.environ, **secret}
    _private_file(output)
    try:
        for args, what in (([pg_dump, "--format=custom", "--no-owner", f"--file={output}", dsn], "pg_dump"),
                           ([pg_restore, "--list", str(output)], "pg_restore --list")):
            done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0:
                first = (done.stderr.strip().splitlines() or ["no message"])[0][:300]
                for value in secret.values():
                    first = first.replace(value, "***")
                raise BackupError(f"{what} failed ({first}).")
        os.chmod(output, 0o600)
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    return Backup(output, output.stat().st_size, "pg_restore --list ok")
