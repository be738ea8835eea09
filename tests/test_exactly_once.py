"""Exactly once: at most one outbox row per (cycle, event) and per (broadcast, phone), whatever
overlapping schedulers, repeated passes or concurrent dispatchers do; each row sent once."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.tick import tick
from service import session_factory
from service.broadcasts import broadcast
from service.reminders import crop_cycle
from service.reminders.crop_cycle import record_planting
from service.farmers.models import register
from service.messaging.message import OutboundMessage

PROJECT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Dushanbe")
N = 40


@pytest.fixture
def app_settings():
    return {"SCHEDULER_GRACE_HOURS": 6}


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ).astimezone(dt.timezone.utc)


def planted(session, n=N):
    for i in range(n):
        f = register(session, phone=f"+99290300{i:04d}", name=f"Farmer {i}", gender="female", village_id=None,
                     crop_ids=["rice"], land_m2=None, language=("tg", "ru", "uz", "en")[i % 4])
        record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 1, 6), zone=TZ)
    session.commit()


def duplicates(session) -> int:
    session.expire_all()
    keys = session.execute(select(OutboundMessage.phone, OutboundMessage.text, func.count())
                           .group_by(OutboundMessage.phone, OutboundMessage.text)
                           .having(func.count() > 1)).all()
    return len(keys)


def at_once(*fns):
    """Run the functions in threads released together; return their results."""
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)

    def run(i, fn):
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_two_schedulers_ticking_at_once_queue_each_reminder_once(app, session):
    planted(session)
    now = local(2027, 5, 1, 8)
    results = at_once(lambda: tick(session_factory(app), app.config, now),
                      lambda: tick(session_factory(app), app.config, now))
    assert sum(r.reminders for r in results) == N
    assert duplicates(session) == 0


def test_overlapping_passes_without_the_lock_still_queue_each_reminder_once(app, session):
    """Even if two passes ran outside the lock, the conditional claim and the dedupe key hold."""
    planted(session)
    now = local(2027, 5, 6, 8)  # nursery (1 May) is past the grace: missed; field_prep due now

    def one_pass():
        with session_factory(app)() as s:
            return crop_cycle.queue_due(s, now, zone=TZ, grace=dt.timedelta(hours=6), chunk=7)

    reports = at_once(one_pass, one_pass)
    assert sum(r.sent for r in reports) == N and sum(r.missed for r in reports) == N
    assert duplicates(session) == 0
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == N


def test_repeated_ticks_and_rerun_broadcasts_add_nothing(app, session):
    planted(session)
    row = broadcast.create(session, broadcast.Audience(), {"tg": "Салом"}, now=local(2027, 5, 1, 8))
    session.commit()
    for minute in range(3):
        tick(session_factory(app), app.config, local(2027, 5, 1, 8, minute))
    broadcast.queue(session, row, local(2027, 5, 1, 8, 5))
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 2 * N
    assert duplicates(session) == 0


def _flask(database_url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "SMS_GATEWAY": "local", "SCHEDULER_EMBEDDED": "0",
           "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00", "SEND_RATE_SEGMENTS_PER_SECOND": "0",
           "DISPATCH_BATCH_SIZE": "7", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "service", "scheduler", *args], cwd=PROJECT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_two_scheduler_and_two_dispatcher_processes_started_at_once(app, session, database_url):
    """Two ``scheduler tick --at`` processes, then two ``scheduler dispatch --drain`` processes
    (passes of 7 until none is due), all on one database: every reminder is queued once and every
    row is claimed (sent) once."""
    planted(session)
    if database_url.startswith("postgresql") and "+psycopg" not in database_url:
        database_url = database_url.replace("postgresql", "postgresql+psycopg", 1)
    ticks = [_flask(database_url, "tick", "--at", "2027-05-01T08:00") for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in ticks]
    queued = [int(re.search(r"(\d+) reminders", out).group(1)) if "reminders" in out else 0 for out in outputs]
    assert sum(queued) == N, outputs
    passes = [_flask(database_url, "dispatch", "--drain", "--at", "2027-05-01T08:01") for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in passes]
    assert all(p.returncode == 0 for p in passes), outs
    claimed = sum(int(n) for o in outs for n in re.findall(r"dispatch: (\d+) claimed", o))
    session.expire_all()
    statuses = session.scalars(select(OutboundMessage.status)).all()
    assert claimed == N and statuses == ["delivered"] * N
    assert duplicates(session) == 0
