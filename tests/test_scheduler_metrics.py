"""The dispatcher as its own process (``flask --app service scheduler dispatchers``, as
``deploy/systemd/dehqon-scheduler.service`` runs it) serves its sending counters on
``SCHEDULER_METRICS_BIND`` behind ``METRICS_TOKEN`` (``docs/operations.md`` §5), and the web's
database gauges are not there. A real process on SQLite and PostgreSQL, the ``local`` gateway."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import create_app, session_factory
from service.messaging.message import queue_sms
from test_processes import PROJECT, _free_port

METRICS = "metrics-secret-of-at-least-32-chars-z"
PHONES = ("+992901234571", "+992901234572", "+992901234573")


def _get(url: str, headers: dict | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(page: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(page) for s in family.samples}


@pytest.mark.slow
def test_the_dispatcher_process_serves_its_sends_behind_the_token(tmp_path, database_url):
    settings = {"DATABASE_URL": database_url, "SMS_GATEWAY": "local", "SCHEDULER_EMBEDDED": False,
                "DATABASE_INIT": False, "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00",
                "SEND_RATE_SEGMENTS_PER_SECOND": 0}
    app = create_app(settings)
    try:
        with session_factory(app)() as session:
            for phone in PHONES:
                queue_sms(session, phone, "Нархи пиёз: 3.20 TJS", kind="reply")
            session.commit()
    finally:
        app.extensions["dehqon.engine"].dispose()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "PROMETHEUS_MULTIPROC_DIR", "WEBHOOK_TOKEN")}
    env.update(DATABASE_URL=database_url, SMS_GATEWAY="local", METRICS_TOKEN=METRICS, DATABASE_INIT="0",
               SCHEDULER_METRICS_BIND=f"127.0.0.1:{port}", DISPATCH_INTERVAL_SECONDS="0.5",
               QUIET_HOURS_START="00:00", QUIET_HOURS_END="00:00", SEND_RATE_SEGMENTS_PER_SECOND="0",
               PYTHONUNBUFFERED="1")
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "service", "scheduler", "dispatchers"],
                                cwd=PROJECT, env=env, stdout=out, stderr=err)
    url = f"http://127.0.0.1:{port}/metrics"
    bearer = {"Authorization": f"Bearer {METRICS}"}
    try:
        sends = 0.0
        for _ in range(600):  # up to 60 s: a loaded machine starts Python slowly
            assert proc.poll() is None, err_path.read_text()
            try:
                status, page = _get(url, bearer)
            except OSError:
                time.sleep(0.1)
                continue
            assert status == 200, page
            sends = sum(v for (name, labels), v in _samples(page).items()
                        if name == "dehqon_sms_sends_total" and dict(labels).get("gateway") == "local")
            if sends >= len(PHONES):
                break
            time.sleep(0.1)
        assert sends == len(PHONES), page
        samples = _samples(page)
        assert sum(v for (name, _), v in samples.items() if name == "dehqon_sms_segments_total") >= len(PHONES)
        assert not any(name.startswith(("dehqon_outbox_", "dehqon_sending_held", "dehqon_ready"))
                       for name, _ in samples), "the database gauges are the web's alone"
        assert _get(url)[0] == 404
        assert _get(url, {"Authorization": "Bearer wrong-token-of-the-same-length-zzzzz"})[0] == 404
        assert _get(f"{url}?key=nope")[0] == 404
        assert _get(f"http://127.0.0.1:{port}/other", bearer)[0] == 404
        status, page = _get(f"{url}?key={METRICS}")
        assert status == 200 and "dehqon_sms_sends_total" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    said = out_path.read_text() + err_path.read_text()
    assert f"Metrics: GET http://127.0.0.1:{port}/metrics" in said, said
    assert METRICS not in said


@pytest.mark.slow
def test_a_bad_bind_stops_the_dispatcher_with_one_sentence(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(DATABASE_URL=database_url, SMS_GATEWAY="local", METRICS_TOKEN=METRICS, DATABASE_INIT="0",
               SCHEDULER_METRICS_BIND="nonsense", PYTHONUNBUFFERED="1")
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "service", "scheduler", "dispatchers"],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Error: cannot serve the metrics on nonsense: SCHEDULER_METRICS_BIND must be host:port" in done.stderr
    assert "Traceback" not in done.stderr
