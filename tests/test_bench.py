"""``python -m bench all --quick`` at the tiny sizes (``BENCH_SIZE=tiny``): every bench runs and
the table has every path with a numeric ratio, the goals judged, memory where asked. The
figures of such a run mean nothing; this checks the harness (wrk and gunicorn included)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()

USSD_PATHS = ("USSD first hop", "USSD walk to a price screen", "SMS PRICE round trip")
FLOORS = ("floor: bare Flask", "floor: read+upsert")
WITH_MEMORY = ("scheduler tick", "dispatch", "broadcast queueing")
DOOR = ("door: 10,000-hop dial-through", "door: a million *", "door: inbound SMS")


def _rows(out: str) -> list[list[str]]:
    lines = [ln for ln in out.splitlines() if ln.startswith("| ")]
    assert lines and lines[0].startswith("| path | db | figure |"), out[-3000:]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines[2:]]


def test_an_unknown_bench_is_refused():
    done = subprocess.run([sys.executable, "-m", "bench", "nope", "--tiny"], cwd=PROJECT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(PROJECT)}, timeout=120)
    assert done.returncode == 2 and "unknown bench nope" in done.stderr, done.stderr


@pytest.mark.slow
def test_bench_all_quick_prints_every_ratio():
    kind = "postgresql" if PG_URL.startswith("postgres") else "sqlite"
    env = {**os.environ, "BENCH_SIZE": "tiny", "PYTHONPATH": str(PROJECT)}
    if kind == "postgresql":
        env["BENCH_POSTGRES_URL"] = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", PG_URL)
    done = subprocess.run([sys.executable, "-m", "bench", "all", "--quick", "--db", kind], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(done.stdout)
    paths = [r[0] for r in rows]
    for want in (*FLOORS, *USSD_PATHS, *WITH_MEMORY, *DOOR):
        assert sum(p.startswith(want) for p in paths) == 1, (want, paths)
    for path, db, figure, floor, ratio, goal, met, memory in rows:
        assert db == kind
        assert re.fullmatch(r"\d+\.\d\dx", ratio) and float(ratio[:-1]) > 0, (path, ratio)
        if path.startswith((*USSD_PATHS, *WITH_MEMORY)):
            assert goal != "-" and met in ("yes", "NO"), (path, goal, met)
        if path.startswith(WITH_MEMORY):
            assert re.fullmatch(r"\d+\.\d MiB at [\d,]+ / \d+\.\d MiB at [\d,]+", memory), (path, memory)
        if path.startswith(USSD_PATHS):
            assert re.search(r"p50 \d+\.\d ms, p99 \d+\.\d ms", figure), (path, figure)
    # every answer was the expected screen, every PRICE got its queued reply, every row reached AT
    assert "note (" not in done.stdout, done.stdout[done.stdout.index("note ("):]
