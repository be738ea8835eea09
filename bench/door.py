"""Benchmark: hostile USSD hops answered at the door, and an SMS that does not wait for them.

The app is served over real HTTP by gunicorn on 127.0.0.1 (``-w 4 --threads 2``, as in production),
with the clients in processes of their own.
Measured: a new session whose ``text`` is the 10,000-hop dial-through (``1*`` x 9,999 then
``1``, 20 KB: under the body cap, refused by the text limit of ``service.ussd.engine``) and a body of a
million ``*`` (1 MB: refused by the body cap, unread); each must answer ``END`` with the
"too long" text. Floor: a normal first hop (a new session, empty ``text``: the main menu
rendered and the session stored), measured in the same run. Then an inbound SMS (``HELP``)
alone and while four clients send those long requests without pause: its latency with and
without them. Printed: medians, the ratios to the floor, and the SMS latency ratio.

No goal of its own (they must answer at all, and near a normal hop): the ratios are reported.

    .venv/bin/python -m bench.door [--quick|--tiny] [--db sqlite|postgresql|both] [--rounds ROUNDS]
"""
from __future__ import annotations

import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid

import multiprocessing
import os
import socket
import subprocess
from pathlib import Path

from bench._support import Row, db_kind, parse_args, run_benches, scratch_app
from service.ussd import engine as ussd

PROJECT = Path(__file__).resolve().parent.parent

PHONE = "+992901230001"
ROUNDS = {"full": 20, "quick": 5, "tiny": 2}
DIAL_THROUGH = "1*" * 9999 + "1"


def _post(url: str, body: bytes) -> tuple[float, str]:
    """POST ``body`` (form-encoded); (seconds, answer)."""
    t0 = time.perf_counter()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=120) as resp:
        answer = resp.read().decode()
    return time.perf_counter() - t0, answer


def _hop(text: str) -> bytes:
    return urllib.parse.urlencode({"sessionId": f"ATUid_{uuid.uuid4().hex}", "serviceCode": "*384*7#",
                                   "phoneNumber": PHONE, "networkCode": "43601", "text": text}).encode()


def _million_stars() -> bytes:
    return _hop("") + b"*" * 1_000_000


def _sms() -> bytes:
    return urllib.parse.urlencode({"id": f"ATXid_{uuid.uuid4().hex}", "from": "+992901230002", "to": "3847",
                                   "text": "HELP", "date": "2026-12-01 10:00:00"}).encode()


def _median(label: str, rounds: int, send, expect=None) -> float:
    times = []
    for _ in range(rounds):
        seconds, answer = send()
        if expect is not None:
            assert answer == expect, (label, answer[:80])
        times.append(seconds)
    return statistics.median(times)


def _attack(base: str, i: int, stop, count) -> None:
    """One hostile client: long hops without pause until ``stop`` is set."""
    while not stop.is_set():
        _post(base + "/ussd", _hop(DIAL_THROUGH) if i % 2 else _million_stars())
        with count.get_lock():
            count.value += 1


def _serve(url: str) -> tuple[subprocess.Popen, str]:
    """gunicorn serving the app on ``url``'s database; (process, base URL) once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "SMS_GATEWAY": "local", "SCHEDULER_EMBEDDED": "0",
           "LOG_LEVEL": "ERROR"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "4", "--threads", "2", "-b",
                             f"127.0.0.1:{port}", "service:create_app()"], cwd=PROJECT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).read()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def run(url: str, size: str, rounds: int | None = None) -> list[Row]:
    """Measure the hostile hops and the SMS on ``url`` (an empty database), medians of ``rounds``."""
    rounds = rounds or ROUNDS[size]
    app = scratch_app(url, SMS_GATEWAY="local")
    app.extensions["dehqon.engine"].dispose()
    too_long = ussd.too_long(app.config["DEFAULT_LANGUAGE"])
    server, base = _serve(url)
    try:
        for _ in range(8):  # warm up every worker
            _post(base + "/ussd", _hop(""))
        floor = _median("first hop", rounds, lambda: _post(base + "/ussd", _hop("")))
        dial = _median("dial-through", rounds, lambda: _post(base + "/ussd", _hop(DIAL_THROUGH)), too_long)
        stars = _median("million *", rounds, lambda: _post(base + "/ussd", _million_stars()), too_long)
        sms_alone = _median("SMS alone", rounds, lambda: _post(base + "/sms/inbound", _sms()), "processed")

        stop, count = multiprocessing.Event(), multiprocessing.Value("i", 0)
        attackers = [multiprocessing.Process(target=_attack, args=(base, i, stop, count)) for i in range(4)]
        for p in attackers:
            p.start()
        while count.value < 8:
            time.sleep(0.05)
        sms_times = [_post(base + "/sms/inbound", _sms())[0] for _ in range(rounds)]
        stop.set()
        for p in attackers:
            p.join(30)
    finally:
        server.terminate()
        server.wait(30)
    sms_busy = statistics.median(sms_times)
    kind = db_kind(url)
    hop = f"a normal first hop {floor * 1000:.1f} ms"
    return [
        Row("door: 10,000-hop dial-through (20 KB) -> END", kind, f"{dial * 1000:.1f} ms (median of {rounds})",
            hop, dial / floor),
        Row("door: a million * (1 MB body) -> END", kind, f"{stars * 1000:.1f} ms", hop, stars / floor),
        Row("door: inbound SMS while 4 clients send those", kind,
            f"median {sms_busy * 1000:.1f} ms, max {max(sms_times) * 1000:.1f} ms ({count.value} hostile requests)",
            f"the SMS alone {sms_alone * 1000:.1f} ms", sms_busy / sms_alone),
    ]


def main(argv=None) -> None:
    args = parse_args(argv, name="bench.door", extra=lambda p: p.add_argument("--rounds", type=int))
    run_benches([("door", lambda url, size: run(url, size, args.rounds))], args)


if __name__ == "__main__":
    main()
