"""``flask --app service backup``, and restoring what it made (``docs/backup.md`` §1–§3).

SQLite: a copy made while the service answers USSD hops (each one a commit) is one consistent
snapshot (every hop committed before the backup began is in it, none is half there), mode 600,
passes the integrity check; opened as the app's database it answers, with every row there.
PostgreSQL: ``--run`` dumps with ``pg_dump``; ``pg_restore`` into a fresh database gives the
same row counts in every table."""
from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, select, text

from cases import ussd as ussd_cases
from service import create_app, new_session
from service.ussd.session import UssdHop, UssdSession

#: tables the hops written during the backup go to; every other table must be equal in the copy
HOP_TABLES = {"ussd_session", "ussd_hop"}


def _app(url: str, **settings):
    return create_app({"DATABASE_URL": url, "DATABASE_INIT": False, "TESTING": True, **settings})


def _hop(client, session_id: str) -> str:
    resp = client.post("/ussd", data=ussd_cases.hop("", session=session_id, phone=ussd_cases.SOLO_PHONE))
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, sorted, by table name."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{t}"')).all()), key=repr)
                    for t in inspect(conn).get_table_names()}
    finally:
        engine.dispose()


@pytest.fixture
def live_sqlite(sqlite_template, tmp_path):
    """The app on its own SQLite file (a copy of the template: at head, reference data) with the
    USSD test world in it."""
    path = tmp_path / "live" / "dehqon.sqlite3"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    app = _app(f"sqlite:///{path}")
    with new_session(app) as session:
        ussd_cases.build_world(session)
    yield app, path
    app.extensions["dehqon.engine"].dispose()


def test_a_sqlite_backup_made_while_the_service_writes_restores_whole(live_sqlite, tmp_path):
    app, path = live_sqlite
    done: list[tuple[str, str]] = []  # (session id, answer) of each hop, once committed and answered
    stop, failures = threading.Event(), []

    def writer():
        client = app.test_client()
        try:
            while not stop.is_set() and len(done) < 5000:
                sid = f"live-{len(done):05d}"
                done.append((sid, _hop(client, sid)))
        except Exception as exc:  # reported below: a failed writer proves nothing
            failures.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(done) < 20 and thread.is_alive():
            threading.Event().wait(0.01)
        before = len(done)
        out = tmp_path / "copies" / "dehqon-copy.sqlite3"
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(out)])
        after = len(done)
        while len(done) < after + 20 and thread.is_alive():  # the service goes on writing after the copy
            threading.Event().wait(0.01)
    finally:
        stop.set()
        thread.join(60)
    assert not failures and not thread.is_alive(), failures
    assert result.exit_code == 0, result.output
    size = out.stat().st_size
    assert result.output.startswith(f"{out}\t{size} bytes (") and result.output.endswith("B), integrity_check ok\n")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not Path(f"{out}.partial").exists() and not Path(f"{out}-wal").exists()
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
    conn.close()

    # the copy is a snapshot: the hops committed before it began, then a gap-free run of later ones
    copy_url, live_url = f"sqlite:///{out}", f"sqlite:///{path}"
    copied, live = _rows(copy_url), _rows(live_url)
    sessions = sorted(row[0] for row in copied["ussd_session"] if row[0].startswith("live-"))
    assert before <= len(sessions) <= after + 1, (before, len(sessions), after)
    assert sessions == [f"live-{n:05d}" for n in range(len(sessions))]
    assert len(live["ussd_session"]) > len(copied["ussd_session"])  # the writes went on after the copy
    hop_sessions = sorted(row[1] for row in copied["ussd_hop"] if row[1].startswith("live-"))
    assert hop_sessions == sessions  # no session without its hop, no hop without its session
    for table in set(live) - HOP_TABLES:
        assert copied[table] == live[table], table

    # restore: the copy as the app's database, started as a deployment starts it
    restored = create_app({"DATABASE_URL": copy_url, "TESTING": True})
    try:
        client = restored.test_client()
        first_sid, first_answer = done[0]
        assert _hop(client, first_sid) == first_answer  # a stored hop: the same answer, from the copy
        fresh = _hop(client, "after-restore")
        assert fresh.startswith("CON ") and ussd_cases._t("ussd.main.prices") in fresh
        with new_session(restored) as s:
            assert s.scalar(select(UssdHop.response).where(UssdHop.session_id == "after-restore")) == fresh
            assert s.get(UssdSession, sessions[-1]) is not None
    finally:
        restored.extensions["dehqon.engine"].dispose()


def test_a_backup_never_overwrites_a_file(live_sqlite, tmp_path):
    app, _ = live_sqlite
    out = tmp_path / "there.sqlite3"
    out.write_bytes(b"keep me")
    result = app.test_cli_runner().invoke(args=["backup", "--output", str(out)])
    assert result.exit_code == 1
    assert f"{out} already exists: choose another --output, a backup never overwrites a file." in result.output
    assert out.read_bytes() == b"keep me"


def test_without_output_the_copy_goes_to_backups_beside_the_database(live_sqlite):
    app, path = live_sqlite
    result = app.test_cli_runner().invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    made = Path(result.output.split("\t", 1)[0])
    assert made.parent == path.parent / "backups" and made.name.startswith("dehqon-") and made.suffix == ".sqlite3"
    assert stat.S_IMODE(made.parent.stat().st_mode) == 0o700 and stat.S_IMODE(made.stat().st_mode) == 0o600


def _pg_app(pg_database, **settings):
    url = make_url(pg_database.url).set(password="s3cret-never-shown")
    return _app(url.render_as_string(hide_password=False), **settings), url


def test_postgresql_prints_the_recipe_without_the_password(pg_database, tmp_path):
    app, url = _pg_app(pg_database)
    try:
        out = tmp_path / "x.dump"
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(out)])
    finally:
        app.extensions["dehqon.engine"].dispose()
    assert result.exit_code == 0, result.output
    assert "s3cret-never-shown" not in result.output
    lines = result.output.splitlines()
    assert any(line.startswith("umask 077 && pg_dump --format=custom") and str(out) in line for line in lines)
    assert any(line.startswith("pg_restore --list") for line in lines)
    assert any("pg_restore --no-owner --exit-on-error" in line for line in lines)
    assert not out.exists()  # a recipe only


def test_the_postgresql_recipe_run_as_printed_in_a_fresh_folder_makes_the_backups_folder(pg_database, tmp_path):
    """The recipe without ``--output`` writes into ``backups/``, which a fresh folder lacks: its first
    command makes it (mode 700), before ``pg_dump``; run line by line by a shell, the back-up and the
    check succeed and leave the dump there (mode 600)."""
    import subprocess

    app = _app(pg_database.url)
    try:
        result = app.test_cli_runner().invoke(args=["backup"])
    finally:
        app.extensions["dehqon.engine"].dispose()
    assert result.exit_code == 0, result.output
    commands = [line for line in result.output.splitlines() if line and not line.startswith("#")]
    dump = next(i for i, line in enumerate(commands) if "pg_dump " in line)
    assert commands[dump - 1] == "mkdir -p -m 700 backups" and dump >= 1
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        return  # the order is asserted; running it needs the PostgreSQL client
    folder = tmp_path / "fresh"
    folder.mkdir()
    for line in commands[:dump + 2]:  # make the folder, back up, check (not the restore)
        done = subprocess.run(["bash", "-c", line], cwd=folder, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (line, done.stderr)
    (made,) = (folder / "backups").iterdir()
    assert made.suffix == ".dump" and made.stat().st_size > 0
    assert stat.S_IMODE((folder / "backups").stat().st_mode) == 0o700
    assert stat.S_IMODE(made.stat().st_mode) == 0o600


def test_postgresql_run_dumps_and_pg_restore_gives_every_row_back(pg_database, tmp_path):
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("pg_dump or pg_restore is not on PATH (Debian: apt-get install postgresql-client)")
    pg_database.reset()
    app = _app(pg_database.url)
    try:
        with new_session(app) as session:
            ussd_cases.build_world(session)
        _hop(app.test_client(), "before-dump")
        out = tmp_path / "dehqon.dump"
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(out), "--run"])
    finally:
        app.extensions["dehqon.engine"].dispose()
    assert result.exit_code == 0, result.output
    size = out.stat().st_size
    assert result.output.startswith(f"{out}\t{size} bytes (") and result.output.endswith("B), pg_restore --list ok\n")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    fresh = f"{pg_database.name}_restored"
    with pg_database.admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{fresh}"'))
    fresh_url = make_url(pg_database.url).set(database=fresh).render_as_string(hide_password=False)
    try:
        import subprocess

        dsn = make_url(fresh_url).set(drivername="postgresql").render_as_string(hide_password=False)
        done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={dsn}", str(out)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        source, restored = _rows(pg_database.url), _rows(fresh_url)
        assert set(restored) == set(source)
        assert {t: len(r) for t, r in restored.items()} == {t: len(r) for t, r in source.items()}
        assert restored == source
        assert any(row[0] == "before-dump" for row in restored["ussd_session"])
        app2 = _app(fresh_url)
        try:  # the restored database serves
            answer = _hop(app2.test_client(), "after-restore")
            assert answer.startswith("CON ") and ussd_cases._t("ussd.main.prices") in answer
        finally:
            app2.extensions["dehqon.engine"].dispose()
    finally:
        with pg_database.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
