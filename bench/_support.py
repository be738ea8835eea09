"""Shared pieces of the benchmarks: a scratch database, fast bulk data, a fake AT endpoint, timing.

Not tests: each script prints its figure as a ratio to a floor measured in the same run, and
the peak Python memory (``tracemalloc``) of the measured step.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import tracemalloc
import urllib.parse
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import insert, select

from service import create_app
from service.farmers.models import Farmer, FarmerCrop
from service.reference.geography import Village


def scratch_app(**settings):
    """A fresh app on ``BENCH_DATABASE_URL`` (an empty PostgreSQL database) or a temporary SQLite file."""
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"DATABASE_URL": url, "SCHEDULER_EMBEDDED": False, "QUIET_HOURS_START": "00:00",
                      "QUIET_HOURS_END": "00:00", "SEND_RATE_SEGMENTS_PER_SECOND": 0, **settings})
    if not url.startswith("sqlite"):
        from service import init_db
        init_db(app)
    return app


def add_farmers(session, n: int, start: int = 0) -> None:
    """Insert ``n`` farmers (all four languages, both genders, every district, one crop each) fast."""
    villages = [(v.id, v.district_id) for v in session.scalars(select(Village).order_by(Village.id))]
    crops = ("rice", "tomato", "onion")
    chunk = 20000
    for base in range(start, start + n, chunk):
        ids = range(base + 1, min(base + chunk, start + n) + 1)
        session.execute(insert(Farmer), [
            {"id": i, "phone": f"+99291{i:07d}", "name": f"F{i}", "gender": ("female", "male")[i % 2],
             "language": ("tg", "ru", "uz", "en")[i % 4], "village_id": villages[i % len(villages)][0],
             "is_main": True, "registered_via": "ussd"} for i in ids])
        session.execute(insert(FarmerCrop), [{"farmer_id": i, "crop_id": crops[i % 3]} for i in ids])
    session.commit()


class _FakeAT(BaseHTTPRequestHandler):
    """Answers ``POST /version1/messaging`` like AT: 201, JSON, one Success recipient per number."""

    counter = 0
    lock = threading.Lock()
    received = 0

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = urllib.parse.parse_qs(body)
        numbers = form["to"][0].split(",")
        with _FakeAT.lock:
            first = _FakeAT.counter
            _FakeAT.counter += len(numbers)
            _FakeAT.received += len(numbers)
        recipients = [{"statusCode": 101, "number": n, "status": "Success", "cost": "TJS 0.1000",
                       "messageId": f"ATXid_{first + k}", "messageParts": 1} for k, n in enumerate(numbers)]
        answer = json.dumps({"SMSMessageData": {"Message": f"Sent to {len(numbers)}/{len(numbers)}",
                                                "Recipients": recipients}}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@contextmanager
def fake_at():
    """Run the fake AT endpoint on 127.0.0.1; yields its base URL (``http://127.0.0.1:port/version1``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeAT)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/version1", _FakeAT
    finally:
        server.shutdown()


@contextmanager
def measured(label: str, results: dict, memory: bool = False):
    """Time the block (seconds into ``results[label]``); with ``memory`` also its tracemalloc peak (MiB)."""
    if memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    yield
    results[label] = time.perf_counter() - t0
    if memory:
        results[label + " peak MiB"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
