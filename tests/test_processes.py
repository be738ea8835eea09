"""The service under real gunicorn with the checked-in ``gunicorn.conf.py`` (``docs/operations.md``
§2): two workers answer ``/readyz``; ``/metrics`` adds up the counters of both workers
(multiprocess mode); the access log shows neither the token nor a phone; with
``SCHEDULER_EMBEDDED=1`` exactly one worker runs the scheduler's jobs. On SQLite and PostgreSQL.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select

from service.heartbeat import Heartbeat

PROJECT = Path(__file__).resolve().parent.parent
HOOK = "hook-secret-of-at-least-32-characters-z"
METRICS = "metrics-secret-of-at-least-32-chars-z"
PHONE = "+992901234577"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``python -m gunicorn`` in the project folder (so it reads ``gunicorn.conf.py``), settings
    from the environment only, output to files."""

    def __init__(self, tmp_path: Path, database_url: str, **settings):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if k not in ("LOG_LEVEL", "PROXY_HOPS", "PROMETHEUS_MULTIPROC_DIR", "HOST", "PORT")}
        env.update(DATABASE_URL=database_url, SMS_GATEWAY="local", WEBHOOK_TOKEN=HOOK, METRICS_TOKEN=METRICS,
                   GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="2", PYTHONUNBUFFERED="1",
                   STAFF_SESSION_DIR=str(tmp_path / "sessions"), **settings)
        import gunicorn
        command = [sys.executable, "-m", "gunicorn"]
        if gunicorn.version_info >= (24,):  # its control socket would be shared by parallel runs
            command.append("--no-control-socket")
        self.out_path, self.err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.proc = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=err)
        for _ in range(900):  # up to 90 s: a loaded machine starts Python slowly
            if self.proc.poll() is not None:
                break
            if len(self.worker_pids()) == 2:
                try:
                    if self.request("/healthz")[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"gunicorn did not answer:\n{self.err_path.read_text()}")

    def worker_pids(self) -> set[int]:
        return {int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", self.err_path.read_text())}

    def request(self, path: str, form: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def stop(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        return self.out_path.read_text(), self.err_path.read_text()


def _samples(text: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.slow
def test_two_workers_readyz_metrics_access_log_and_one_embedded_scheduler(tmp_path, database_url):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # a previous run's file: removed at start
    server = Gunicorn(tmp_path, database_url, SCHEDULER_EMBEDDED="1", DISPATCH_INTERVAL_SECONDS="0.5",
                      SCHEDULER_TICK_SECONDS="1", DATABASE_INIT="0", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    try:
        workers = server.worker_pids()
        assert len(workers) == 2
        assert not (metrics_dir / "counter_1.db").exists()
        # the embedded scheduler runs in one worker: its dispatcher beats, its tick beats
        engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            for _ in range(300):
                with engine.connect() as conn:
                    beats = conn.execute(select(Heartbeat.kind, Heartbeat.pid)).all()
                if {kind for kind, _ in beats} == {"scheduler", "dispatcher"}:
                    break
                time.sleep(0.1)
            time.sleep(3)  # six more dispatcher passes and ticks: a second worker would have beaten by now
            with engine.connect() as conn:
                beats = conn.execute(select(Heartbeat.kind, Heartbeat.pid)).all()
        finally:
            engine.dispose()
        assert {kind for kind, _ in beats} == {"scheduler", "dispatcher"}, beats
        assert len({pid for _, pid in beats}) == 1 and {pid for _, pid in beats} <= workers, (beats, workers)

        status, report = server.request("/readyz")
        assert (status, report.splitlines()[0]) == (200, "ready"), report

        # four at a time, so that both workers answer some: the metrics add them up
        hops = 40

        def hop(n):
            return server.request(f"/ussd?key={HOOK}", {
                "sessionId": f"proc-{n}", "phoneNumber": PHONE, "serviceCode": "*384*7#", "networkCode": "43601",
                "text": ""})

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(hop, range(hops)))
        assert all(status == 200 and body.startswith("CON") for status, body in answers), answers
        per_worker = {}
        for path in metrics_dir.glob("histogram_*.db"):
            for metric in MultiProcessCollector._read_metrics([str(path)]).values():
                for sample in metric.samples:
                    # a worker's file holds each bucket's own count (the page adds them up)
                    if sample.name == "dehqon_webhook_seconds_bucket" and dict(sample.labels)["callback"] == "ussd.hop":
                        pid = int(path.stem.split("_")[1])
                        per_worker[pid] = per_worker.get(pid, 0) + sample.value
        assert set(per_worker) == workers and all(per_worker.values()), per_worker
        assert sum(per_worker.values()) == hops
        assert server.request("/metrics")[0] == 404
        assert server.request(f"/metrics?key={HOOK}")[0] == 404
        for _ in range(10):  # each scrape is answered by one worker; both must show the same total
            status, page = server.request("/metrics", headers={"Authorization": f"Bearer {METRICS}"})
            assert status == 200
            samples = _samples(page)
            assert samples[("dehqon_webhook_seconds_count", (("callback", "ussd.hop"), ("status", "2xx")))] == hops
            assert samples[("dehqon_ussd_sessions_total", ())] == hops
            assert samples[("dehqon_ready", ())] == 1
        status, _ = server.request(f"/metrics?key={METRICS}")
        assert status == 200
        status, _ = server.request(f"/simulator/messages?phone={urllib.parse.quote(PHONE)}&key={HOOK}")
        assert status == 200
        # Kannel's get-url carries a long Cyrillic MO in its request line (docs/gateway-kannel.md §9):
        # ten UCS-2 parts of 67 letters, each letter 6 URL characters, about 4.2 KB, above gunicorn's
        # default limit_request_line of 4094 bytes
        text = "".join(f"%{byte:02X}" for byte in ("Нарх " * 134).encode("utf-16-be"))
        query = f"key={HOOK}&from=%2B992901234578&to=1234&charset=UTF-16BE&coding=2&id=long-mo&text={text}"
        assert len(query) > 4094
        assert server.request(f"/kannel/inbound?{query}") == (200, "")
    finally:
        out, err = server.stop()
    access = [line for line in (out + err).splitlines() if '"POST /ussd' in line or '"GET /metrics' in line]
    assert len(access) >= hops + 10, out + err
    assert all(" 200 " in line or " 404 " in line for line in access)
    everything = out + err
    for secret in (HOOK, METRICS, PHONE, PHONE[1:], urllib.parse.quote(PHONE)):
        assert secret not in everything, secret
    assert sum("?key=[redacted]" in line for line in access) >= 2


@pytest.mark.slow
def test_without_embedded_scheduler_no_worker_runs_jobs(tmp_path, database_url):
    server = Gunicorn(tmp_path, database_url, SCHEDULER_EMBEDDED="0", DATABASE_INIT="0")
    try:
        time.sleep(2)
        status, report = server.request("/readyz")
        assert status == 503
        assert "No scheduler has ever run on this database" in report
        assert "No dispatcher has ever run on this database" in report
    finally:
        server.stop()
