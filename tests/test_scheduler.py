"""The scheduler wiring, the dispatcher job and the CLI (``scheduler dispatch``, ``serve``)."""
from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select

import scheduler
from scheduler import jobs
from service.db import make_sessionmaker
from service.messaging.message import OutboundMessage, queue_sms

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_settings():
    return {"DISPATCH_INTERVAL_SECONDS": 3600}  # the job must not fire during a test


def queued(session, n=2):
    rows = [queue_sms(session, f"+99290123456{i}", "Salom", kind="notice") for i in range(n)]
    session.commit()
    return [row.id for row in rows]


def statuses(session, ids):
    session.expire_all()
    return [session.get(OutboundMessage, i).status for i in ids]


def test_embedded_scheduler_runs_the_configured_dispatch_job(app):
    sched = scheduler.start_embedded(app)
    try:
        assert app.extensions["dehqon.scheduler"] is sched and sched.running
        assert sched.timezone == ZoneInfo("Asia/Dushanbe")
        job = sched.get_job("dispatch")
        assert job.func is jobs.dispatch_job
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 60)
        assert job.trigger.interval == dt.timedelta(hours=1)
        assert job.args[0] == app.config["DATABASE_URL"]
        assert job.args[1]["SMS_GATEWAY"] == "local" and job.args[1]["DISPATCH_BATCH_SIZE"] == 100
        sweep = sched.get_job("sweep")
        assert (sweep.func, sweep.coalesce, sweep.max_instances) == (jobs.sweep_job, True, 1)
    finally:
        sched.shutdown(wait=False)


def test_dispatch_job_opens_its_own_session(app, session):
    ids = queued(session)
    jobs.dispatch_job(app.config["DATABASE_URL"], jobs.dispatch_settings(app.config))
    assert statuses(session, ids) == ["delivered", "delivered"]


def test_cli_dispatch_sends_queued_rows(runner, session):
    ids = queued(session)
    result = runner.invoke(args=["scheduler", "dispatch"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "dispatch: 2 claimed, 2 sent, 0 failed"
    assert statuses(session, ids) == ["delivered", "delivered"]
    assert runner.invoke(args=["scheduler", "dispatch"]).output.strip() == "dispatch: 0 claimed, 0 sent, 0 failed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_prints_the_simulator_and_dispatches_in_process(tmp_path):
    """``flask --app service serve`` on the embedded SQLite default: the web server answers and
    the embedded scheduler sends what is queued."""
    db_url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "SMS_GATEWAY": "local", "SCHEDULER_EMBEDDED": "1",
           "DISPATCH_INTERVAL_SECONDS": "0.2", "PYTHONUNBUFFERED": "1",
           # no quiet hours: the queued notice must go whatever the hour the test runs at
           "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00"}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "service", "serve", "--port", str(port)],
                            cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any("Phone simulator:" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "serve ended early:\n" + "".join(lines)
            lines.append(line)
        assert f"Phone simulator: http://127.0.0.1:{port}/simulator\n" in lines
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    assert resp.read() == b"ok"
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not answer")

        engine = create_engine(db_url)
        with make_sessionmaker(engine)() as session:
            row = queue_sms(session, "+992901234567", "Salom", kind="notice")
            session.commit()
            for _ in range(300):  # up to 30 s: a loaded CI machine may start the embedded scheduler late
                session.expire_all()
                if session.scalar(select(OutboundMessage.status).where(OutboundMessage.id == row.id)) == "delivered":
                    break
                time.sleep(0.1)
            else:
                pytest.fail("the embedded dispatcher did not send the queued row")
        engine.dispose()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
