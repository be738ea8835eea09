"""``flask --app service doctor``: a good configuration passes (exit 0); each problem gets its
sentence and exit 1; no secret is ever printed; the database's revision is compared with the
heads of ``service/migrations`` as they are (never a revision written here)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from service import db as dbmod
from service import doctor_app

TOKEN = "t0k3n-" + "a" * 40
API_KEY = "atsk_" + "b" * 60
SECRET = "s3cr3t-" + "c" * 50
PRIVACY = "p" * 64
METRICS = "m3tr1cs-" + "d" * 40
SECRETS = (TOKEN, API_KEY, SECRET, PRIVACY, METRICS, "hunter2")


def good(database_url: str, **changes) -> dict:
    """A deployment through Africa's Talking with every setting right, then ``changes``."""
    config = {"DATABASE_URL": database_url, "SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": TOKEN,
              "AT_USERNAME": "dehqon", "AT_API_KEY": API_KEY, "SECRET_KEY": SECRET, "PRIVACY_KEY": PRIVACY,
              "TIMEZONE": "Asia/Dushanbe", "QUIET_HOURS_START": "21:00", "QUIET_HOURS_END": "07:00"}
    config.update(changes)
    return config


def doctor(config: dict):
    """Run the command on ``config``; ``(exit code, output)``; no secret in the output."""
    result = doctor_app(config).test_cli_runner().invoke(args=["doctor"])
    assert not result.exception or isinstance(result.exception, SystemExit), result.exception
    for secret in SECRETS:
        assert secret not in result.output
    return result.exit_code, result.output


def problems(output: str) -> list[str]:
    return [line[len("PROBLEM "):].strip() for line in output.splitlines() if line.startswith("PROBLEM ")]


@pytest.fixture(autouse=True)
def _no_secret_key_in_environment(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)


def heads() -> set[str]:
    return set(ScriptDirectory.from_config(dbmod.migration_config()).get_heads())


def test_a_good_configuration_passes(database_url):
    code, output = doctor(good(database_url))
    assert code == 0, output
    assert problems(output) == []
    lines = output.splitlines()
    assert all(line.startswith(("OK      ", "Everything")) for line in lines), output
    assert any(f"newest revision ({', '.join(sorted(heads()))})" in line for line in lines), output
    assert "database" in output and "answers" in output


def test_a_metrics_token_when_set_is_checked(database_url):
    assert doctor(good(database_url, METRICS_TOKEN=METRICS))[0] == 0
    code, output = doctor(good(database_url, METRICS_TOKEN="short"))
    assert code == 1 and problems(output) == ["METRICS_TOKEN has 5 characters: use at least 32, e.g. the output of "
                                              "python3 -c 'import secrets; print(secrets.token_hex(16))'."]


@pytest.mark.parametrize("label, changes, sentence", [
    ("no token", {"WEBHOOK_TOKEN": ""}, "WEBHOOK_TOKEN is not set, so anyone can post to the gateway callbacks"),
    ("a short token among two", {"WEBHOOK_TOKEN": f"{TOKEN},short-one"},
     "WEBHOOK_TOKEN: 1 of 2 token(s) shorter than 32 characters (the shortest has 9)"),
    ("no AT key", {"AT_API_KEY": ""}, "The africastalking gateway needs AT_API_KEY"),
    ("AT's sandbox", {"AT_USERNAME": "sandbox"}, "AT_USERNAME is sandbox: messages go to AT's simulator"),
    ("unknown gateway", {"SMS_GATEWAY": "smpp"}, "The gateway 'smpp' is unknown"),
    ("no privacy key", {"PRIVACY_KEY": ""}, "PRIVACY_KEY is not set"),
    ("no secret key", {"SECRET_KEY": ""}, "SECRET_KEY is not set, so each process makes its own"),
    ("a placeholder secret key", {"SECRET_KEY": "changeme"}, "SECRET_KEY is a placeholder or shorter than 32"),
    ("a bad timezone", {"TIMEZONE": "Asia/Dushambe"}, "TIMEZONE='Asia/Dushambe' is not an IANA time zone"),
    ("quiet hours not a time", {"QUIET_HOURS_START": "9pm"}, "QUIET_HOURS_START='9pm' is not a time of day"),
    ("quiet hours swapped", {"QUIET_HOURS_START": "06:00", "QUIET_HOURS_END": "22:00"},
     "Quiet hours from 06:00 to 22:00 last 16 hours: scheduled SMS would have little of the day to go"),
])
def test_each_problem_is_named_with_what_to_do(database_url, label, changes, sentence):
    code, output = doctor(good(database_url, **changes))
    assert code == 1, output
    found = problems(output)
    assert len(found) == 1 and found[0].startswith(sentence), output
    assert output.splitlines()[-1] == "1 problem to fix."


@pytest.mark.parametrize("changes, sentence", [
    ({"SMS_GATEWAY": "kannel", "KANNEL_SENDSMS_URL": "", "KANNEL_USERNAME": "dehqon", "KANNEL_PASSWORD": "hunter2"},
     "The kannel gateway needs KANNEL_SENDSMS_URL (the URL of Kannel's sendsms interface): set it."),
    ({"SMS_ROUTES": "+992=kannel", "KANNEL_SENDSMS_URL": "http://127.0.0.1:13013/cgi-bin/sendsms",
      "KANNEL_USERNAME": "dehqon", "KANNEL_PASSWORD": ""},
     "The kannel gateway needs KANNEL_PASSWORD (the sendsms user's password): set it."),
])
def test_kannel_beside_or_instead_of_at_needs_its_credentials(database_url, changes, sentence):
    """Kannel, as SMS_GATEWAY or in a per-prefix route beside AT: its settings checked, its
    password never shown."""
    code, output = doctor(good(database_url, **changes))
    assert code == 1 and problems(output) == [sentence], output
    fixed = {**changes, "KANNEL_SENDSMS_URL": "http://127.0.0.1:13013/cgi-bin/sendsms", "KANNEL_PASSWORD": "hunter2"}
    code, output = doctor(good(database_url, **fixed))
    assert code == 0, output
    assert "OK      The kannel gateway has its credentials (KANNEL_SENDSMS_URL, KANNEL_USERNAME, KANNEL_PASSWORD)." \
        in output


def test_the_local_gateway_needs_no_token_or_credentials(database_url):
    code, output = doctor(good(database_url, SMS_GATEWAY="local", WEBHOOK_TOKEN="", AT_API_KEY="", PRIVACY_KEY=""))
    assert code == 0, output
    assert "OK      WEBHOOK_TOKEN is not set; the local gateway does not need one." in output


def test_an_unreachable_database_is_named_without_its_password():
    code, output = doctor(good("postgresql+psycopg://dehqon:hunter2@127.0.0.1:1/dehqon"))
    assert code == 1
    (found,) = problems(output)
    assert found.startswith("The database postgresql+psycopg://dehqon:***@127.0.0.1:1/dehqon cannot be reached (")
    assert found.endswith("check DATABASE_URL and that the server runs.")


def test_a_missing_sqlite_file_is_not_created(tmp_path):
    path = tmp_path / "none" / "dehqon.sqlite3"
    code, output = doctor(good(f"sqlite:///{path}"))
    assert code == 1 and problems(output) == [
        f"The database file {path} does not exist: run flask --app service db upgrade "
        "(the service also creates it when it starts with DATABASE_INIT=1)."]
    assert not path.exists() and not path.parent.exists()


def test_an_empty_database_needs_the_upgrade(tmp_path):
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    code, output = doctor(good(f"sqlite:///{path}"))
    assert code == 1 and problems(output) == ["The database has no schema yet: run flask --app service db upgrade."]


def test_a_database_behind_the_newest_revision_needs_the_upgrade(tmp_path):
    script = ScriptDirectory.from_config(dbmod.migration_config())
    (head,) = heads()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    engine = dbmod.make_engine(url)
    try:
        dbmod.migrate(engine, previous)
    finally:
        engine.dispose()
    code, output = doctor(good(url))
    assert code == 1 and problems(output) == [
        f"The schema is at revision {previous}, behind the newest ({head}): run flask --app service db upgrade."]


def test_a_database_from_a_newer_release_is_named(database_url):
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
        code, output = doctor(good(database_url))
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": next(iter(heads()))})
        engine.dispose()
    assert code == 1
    (found,) = problems(output)
    assert found.startswith("The database is at revision ffffffffffff, which this release does not know")


def test_the_command_runs_where_the_service_would_refuse_to_start(tmp_path):
    """``flask --app service doctor`` itself, with a token the service refuses: every problem
    listed (not only the first the start would name), exit 1, no secret shown."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "WEBHOOK_TOKEN")}
    env.update(SMS_GATEWAY="africastalking", WEBHOOK_TOKEN="short-token", AT_API_KEY=API_KEY, TIMEZONE="Nowhere/Else",
               DATABASE_URL=f"sqlite:///{tmp_path / 'absent.sqlite3'}")
    flask = Path(sys.executable).with_name("flask")
    done = subprocess.run([str(flask), "--app", "service", "doctor"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    found = problems(done.stdout)
    assert any(p.startswith("WEBHOOK_TOKEN: 1 of 1 token(s) shorter than 32") for p in found), done.stdout
    assert any(p.startswith("TIMEZONE='Nowhere/Else'") for p in found), done.stdout
    assert any(p.startswith("The database file") for p in found), done.stdout
    assert API_KEY not in done.stdout + done.stderr and "short-token" not in done.stdout + done.stderr
    assert not (tmp_path / "absent.sqlite3").exists()


KANNEL_OK = {"SMS_GATEWAY": "kannel", "KANNEL_SENDSMS_URL": "http://127.0.0.1:13013/cgi-bin/sendsms",
             "KANNEL_USERNAME": "dehqon", "KANNEL_PASSWORD": "hunter2"}


@pytest.mark.parametrize("changes", [KANNEL_OK, {"SMS_ROUTES": "+992=kannel", **{k: v for k, v in KANNEL_OK.items()
                                                                                if k != "SMS_GATEWAY"}}])
def test_kannel_without_a_sender_is_warned_of(database_url, changes):
    """KANNEL_FROM empty: smsbox needs global-sender, which the doctor cannot see: a WARNING line
    (exit 0, since kannel.conf may set it) that names it; KANNEL_FROM set: no warning."""
    code, output = doctor(good(database_url, **changes, KANNEL_FROM=""))
    assert code == 0, output
    warnings = [line for line in output.splitlines() if line.startswith("WARNING ")]
    assert warnings == ["WARNING KANNEL_FROM (the sender id or short code sent as from) is empty: smsbox then "
                        "needs global-sender in its smsbox group, else it refuses every message with 400 Sender "
                        "missing (docs/gateway-kannel.md §8); set one of them."], output
    assert output.splitlines()[-1] == "No problem found; read the warning above."
    code, output = doctor(good(database_url, **changes, KANNEL_FROM="4040"))
    assert code == 0 and "WARNING" not in output, output
    assert output.splitlines()[-1] == "Everything checked is in order."
