"""Shared pieces of the benchmarks: scratch databases, fast bulk data, a fake AT endpoint, timing,
the result rows and their table, and the command line every bench shares.

Not tests: each bench measures its path and a floor in the same run and reports the ratio, the
goal of ``bench/README`` (issue goals: ``README.md`` "Benchmarks"), and where asked the peak Python
memory (``tracemalloc``) at N/10 and N.

Command line of every bench (``python -m bench.<name>`` and ``python -m bench all``):
``--quick`` (small sizes, the whole ``all`` within about 3 minutes on 2 quiet cores), ``--tiny``
(smallest sizes, for the test suite; also ``BENCH_SIZE=tiny``, which wins over ``--quick``),
``--db sqlite|postgresql|both`` (default both). On
PostgreSQL each bench creates its own empty database ``dehqon_bench_<pid>_<n>`` on
``BENCH_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and
drops it afterwards; on SQLite a temporary file.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import create_engine, insert, select, text

from service import create_app
from service.farmers.models import Farmer, FarmerCrop
from service.reference.geography import Village


SIZES = ("full", "quick", "tiny")
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_databases = itertools.count(1)


@contextmanager
def database(kind: str):
    """An empty database for one bench; yields its SQLAlchemy URL and removes it afterwards.

    ``kind`` ``sqlite`` (a file in a temporary folder) or ``postgresql`` (``CREATE DATABASE
    dehqon_bench_<pid>_<n>`` on :data:`ADMIN_URL`, dropped with ``FORCE``, PostgreSQL 13+)."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="dehqon-bench-")
        try:
            yield f"sqlite:///{folder}/bench.sqlite3"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"dehqon_bench_{os.getpid()}_{next(_databases)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def db_kind(url: str) -> str:
    """``sqlite`` or ``postgresql`` for a database URL."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def scratch_app(url: str | None = None, **settings):
    """A fresh app on ``url`` (an empty database), else on ``BENCH_DATABASE_URL``, else on a
    temporary SQLite file; the schema made and the reference data loaded (unless
    ``DATABASE_INIT=False``: a bench database already made)."""
    url = url or os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    init = settings.get("DATABASE_INIT", True)
    postgres = not url.startswith("sqlite")
    # an app outside the flask command refuses a PostgreSQL schema behind the newest migration:
    # build it without the check, then migrate the empty database
    app = create_app({"DATABASE_URL": url, "SCHEDULER_EMBEDDED": False, "QUIET_HOURS_START": "00:00",
                      "QUIET_HOURS_END": "00:00", "SEND_RATE_SEGMENTS_PER_SECOND": 0, "LOG_LEVEL": "WARNING", **settings,
                      **({"DATABASE_INIT": False} if postgres else {})})
    if postgres and init:
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
    #: when a list: every request's (message, recipients, sender, enqueue), in arrival order
    calls: list | None = None

    def do_POST(self):  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = urllib.parse.parse_qs(body)
        numbers = form["to"][0].split(",")
        with _FakeAT.lock:
            first = _FakeAT.counter
            _FakeAT.counter += len(numbers)
            _FakeAT.received += len(numbers)
            if _FakeAT.calls is not None:
                _FakeAT.calls.append((form["message"][0], numbers, form.get("from", [None])[0],
                                      form.get("enqueue", [None])[0]))
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


def mib(n_bytes: float) -> float:
    return n_bytes / 2**20


@dataclass
class Row:
    """One line of the results table.

    ``figure``/``floor``: what was measured, in words with units; ``ratio``: path/floor (times
    for durations, throughput share for USSD); ``goal``: the goal in words (``"-"`` for a floor);
    ``met``: True/False, None without a goal; ``memory``: (N/10 label, MiB, N label, MiB) or None."""

    path: str
    db: str
    figure: str
    floor: str
    ratio: float
    goal: str = "-"
    met: bool | None = None
    memory: tuple | None = None
    notes: list = field(default_factory=list)

    def cells(self) -> list[str]:
        mem = "-"
        if self.memory:
            small_n, small, big_n, big = self.memory
            mem = f"{small:.1f} MiB at {small_n:,} / {big:.1f} MiB at {big_n:,}"
        met = "-" if self.met is None else ("yes" if self.met else "NO")
        ratio = "nan" if self.ratio is None or math.isnan(self.ratio) else f"{self.ratio:.2f}x"
        return [self.path, self.db, self.figure, self.floor, ratio, self.goal, met, mem]


HEADERS = ["path", "db", "figure", "floor (same run)", "ratio", "goal", "met?", "peak Python memory N/10 / N"]


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (pasteable into the README)."""
    lines = [HEADERS, ["---"] * len(HEADERS), *(r.cells() for r in rows)]
    return "\n".join("| " + " | ".join(cell.replace("|", "/") for cell in line) + " |" for line in lines)


def parse_args(argv=None, *, name: str = "bench", extra=None) -> argparse.Namespace:
    """The shared command line (module docstring); ``extra(parser)`` adds a bench's own options."""
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="size", const="quick", help="small sizes")
    size.add_argument("--tiny", action="store_const", dest="size", const="tiny",
                      help="smallest sizes (the test suite's check of the harness)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    if extra:
        extra(parser)
    args = parser.parse_args(argv)
    # BENCH_SIZE=tiny shrinks any run (the test suite runs ``all --quick`` so)
    env_size = (os.environ.get("BENCH_SIZE") or "").strip()
    args.size = "tiny" if env_size == "tiny" else (args.size or env_size or "full")
    if args.size not in SIZES:
        parser.error(f"BENCH_SIZE must be one of {', '.join(SIZES)}")
    args.kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    return args


def run_benches(benches, args) -> list[Row]:
    """Run each ``(name, run)`` on each database of ``args`` (``run(url, size) -> [Row]``), each in a
    fresh database; print progress on stderr and the table at the end on stdout."""
    rows: list[Row] = []
    started = time.perf_counter()
    loads, stop = [os.getloadavg()[0]], threading.Event()

    def sample():  # the 1-minute load average every 5 s: how quiet the machine was
        while not stop.wait(5):
            loads.append(os.getloadavg()[0])

    threading.Thread(target=sample, daemon=True).start()
    for kind in args.kinds:
        for name, run in benches:
            t0 = time.perf_counter()
            print(f"[bench] {name} on {kind} ({args.size}) ...", file=sys.stderr, flush=True)
            with database(kind) as url:
                got = run(url, args.size)
            rows += got
            print(f"[bench] {name} on {kind}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    stop.set()
    loads.append(os.getloadavg()[0])
    print(table(rows))
    print(f"\n{args.size} run of {elapsed:.0f} s on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average (1 min) during the run: min {min(loads):.2f}, mean {sum(loads) / len(loads):.2f}, "
          f"max {max(loads):.2f}")
    for row in rows:
        for note in row.notes:
            print(f"note ({row.path}, {row.db}): {note}")
    return rows


def main_for(name: str, run, argv=None) -> list[Row]:
    """``python -m bench.<name>``: the shared command line, one bench."""
    args = parse_args(argv, name=f"bench.{name}")
    return run_benches([(name, run)], args)
