"""``flask --app service db ...`` (upgrade, current, history, downgrade) and the start-up rule: the
embedded SQLite database migrates itself on start, a PostgreSQL one never does: the web app,
``serve`` and gunicorn refuse a schema behind the newest migration (``docs/migrations.md`` §2, §3).
The newest revision is read from the migrations folder, never written here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service import StartupError, create_app
from service import db as dbmod

FIRST = "65fa7d0f021b"  # initial_schema: the base of every migration (test_migrations checks it is)
PROJECT = Path(__file__).resolve().parent.parent


def _head() -> str:
    (head,) = dbmod.head_revisions()
    return head


def _settings(database_url: str, **extra) -> dict:
    return {"DATABASE_URL": database_url, "TESTING": True, "SMS_GATEWAY": "local", "WEBHOOK_TOKEN": "",
            "SCHEDULER_EMBEDDED": False, **extra}


def test_current_says_the_newest_and_check_passes(runner):
    done = runner.invoke(args=["db", "current", "--check"])
    assert (done.exit_code, done.output) == (0, f"{_head()} (newest)\n")


def test_downgrade_asks_for_yes_and_a_backup_first(app, runner):
    engine = app.extensions["dehqon.engine"]
    done = runner.invoke(args=["db", "downgrade", FIRST])
    assert done.exit_code == 1
    assert "back the database up first" in done.output and "--yes" in done.output
    assert dbmod.current_revisions(engine) == {_head()}  # nothing done


def test_down_to_the_first_revision_then_current_history_and_upgrade(app, runner):
    engine = app.extensions["dehqon.engine"]
    try:
        done = runner.invoke(args=["db", "downgrade", FIRST, "--yes"])
        assert (done.exit_code, done.output) == (0, f"database downgraded from {_head()} to {FIRST}\n")
        assert dbmod.current_revisions(engine) == {FIRST}

        done = runner.invoke(args=["db", "current"])
        assert (done.exit_code, done.output) == (0, f"{FIRST}\n")
        done = runner.invoke(args=["db", "current", "--check"])
        assert done.exit_code == 1
        assert done.output == (f"{FIRST}\nError: The database schema is at revision {FIRST}, behind the newest "
                               f"({_head()}): back it up, then run `flask --app service db upgrade`.\n")

        lines = runner.invoke(args=["db", "history"]).output.splitlines()
        assert lines[0] == f"{FIRST}\tinitial schema (current)"
        assert len(lines) == len(dbmod.history()) >= 2
        assert all(line.endswith(" (not applied)") for line in lines[1:])
        assert lines[-1].startswith(f"{_head()}\t")

        done = runner.invoke(args=["db", "upgrade"])
        applied = "".join(f"applied {rev.id}: {rev.message}\n" for rev in dbmod.history()[1:])
        assert (done.exit_code, done.output) == (0, f"{applied}database upgraded from {FIRST} to {_head()}\n"
                                                    "reference data already present\n")
        done = runner.invoke(args=["db", "upgrade"])
        assert (done.exit_code, done.output) == (0, f"database already at {_head()}\nreference data already present\n")
        assert dbmod.schema_behind(engine) is None
    finally:
        dbmod.create_schema(engine)


def test_upgrade_to_a_revision_it_does_not_know_is_one_sentence(runner):
    done = runner.invoke(args=["db", "upgrade", "0badc0ffee00"])
    assert done.exit_code == 1
    assert done.output.startswith("Error: cannot migrate to '0badc0ffee00': ")
    assert "Traceback" not in done.output


def test_schema_behind_an_empty_database(tmp_path):
    engine = dbmod.make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert dbmod.schema_behind(engine).startswith("The database has no schema yet: run `flask --app service db "
                                                  "upgrade`")
    assert dbmod.current_revisions(engine) == frozenset()
    engine.dispose()


def test_serve_refuses_a_schema_behind_the_newest(app, runner):
    engine = app.extensions["dehqon.engine"]
    try:
        dbmod.downgrade(engine, FIRST)
        done = runner.invoke(args=["serve", "--port", "1"])
        assert done.exit_code == 1
        assert done.output == (f"Error: The database schema is at revision {FIRST}, behind the newest ({_head()}): "
                               "back it up, then run `flask --app service db upgrade`.\n")
    finally:
        dbmod.create_schema(engine)


def test_at_start_sqlite_upgrades_itself_and_postgresql_is_refused_and_never_migrated(database_url):
    engine = dbmod.make_engine(database_url)
    try:
        create_app(_settings(database_url)).extensions["dehqon.engine"].dispose()  # at the newest: starts
        dbmod.downgrade(engine, FIRST)
        if engine.dialect.name == "sqlite":
            create_app(_settings(database_url)).extensions["dehqon.engine"].dispose()
            assert dbmod.current_revisions(engine) == {_head()}
            return
        with pytest.raises(StartupError, match=rf"^The database schema is at revision {FIRST}, behind the newest "
                                               rf"\({_head()}\): back it up, then run `flask --app service db upgrade`"):
            create_app(_settings(database_url))
        assert dbmod.current_revisions(engine) == {FIRST}  # not migrated
        create_app(_settings(database_url, DATABASE_INIT=False)).extensions["dehqon.engine"].dispose()  # told: no check
    finally:
        dbmod.create_schema(engine)
        engine.dispose()


def _env(database_url: str) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("WEBHOOK_TOKEN", "AT_API_KEY", "SMS_GATEWAY", "PORT")}
    env.update({"DATABASE_URL": database_url, "SCHEDULER_EMBEDDED": "0", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.mark.slow
def test_gunicorn_and_flask_serve_on_postgresql_behind_stop_with_one_sentence(pg_database):
    """Before any worker boots; nothing migrated."""
    pg_database.reset()
    database_url = pg_database.url
    engine = dbmod.make_engine(database_url)
    sentence = f"Error: The database schema is at revision {FIRST}, behind the newest ({_head()})"
    try:
        dbmod.downgrade(engine, FIRST)
        for command in (["gunicorn", "-w", "2", "-b", "127.0.0.1:0", "service:create_app()"],
                        ["flask", "--app", "service", "serve", "--port", "1"]):
            done = subprocess.run([sys.executable, "-m", *command], cwd=PROJECT, env=_env(database_url),
                                  capture_output=True, text=True, timeout=60)
            said = (done.stdout + done.stderr).strip()
            assert done.returncode == 1, said
            assert sentence in said and "Traceback" not in said and "Booting worker" not in said, said
        assert dbmod.current_revisions(engine) == {FIRST}
    finally:
        dbmod.create_schema(engine)
        engine.dispose()


def test_a_command_prints_no_alembic_info_and_upgrade_names_each_revision(database_url):
    """A real ``flask --app service`` process: neither opening the database nor ``db current``
    prints Alembic's INFO lines; ``db upgrade`` from the first revision prints one line per
    revision it applied, and no Alembic line either."""
    env = _env(database_url)
    env.pop("LOG_LEVEL", None)

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "service", *args], cwd=PROJECT, env=env,
                              capture_output=True, text=True, timeout=120)

    done = flask("db", "current")
    assert (done.returncode, done.stdout) == (0, f"{_head()} (newest)\n"), done.stderr
    assert "INFO:alembic" not in done.stderr and "alembic" not in done.stderr, done.stderr
    engine = dbmod.make_engine(database_url)
    try:
        dbmod.downgrade(engine, FIRST)
    finally:
        engine.dispose()
    env["DATABASE_INIT"] = "0"  # else the app factory migrates the SQLite file before the command runs
    done = flask("db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "INFO:alembic" not in done.stderr, done.stderr
    expected = [f"applied {rev.id}: {rev.message}" for rev in dbmod.history()[1:]]
    assert done.stdout.splitlines() == [*expected, f"database upgraded from {FIRST} to {_head()}",
                                        "reference data already present"], done.stdout
    engine = dbmod.make_engine(database_url)
    try:
        assert dbmod.current_revisions(engine) == {_head()}
    finally:
        engine.dispose()
