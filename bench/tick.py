"""Benchmark: one scheduler tick over N crop cycles (default 1,000,000).

Data: N/4 farmers with four rice cycles each, sown over the 150 days before the tick, each
cycle holding its next pending reminder (as ``service.reminders.crop_cycle`` keeps them), bulk-inserted.
Measured: ``scheduler.tick.tick`` as of a morning when part of the cycles have a reminder due
(lock, due query, claim, rendering, outbox insert, planning the next reminder of each cycle).
Floor: the single indexed query of the due rows (``status = 'pending' AND due_at <= now``),
fetched. Printed: the tick as a ratio to the floor, the rows it handled, and the tick's peak
Python memory at N/10 and N cycles (the tick works in chunks: it must not grow with N).

    .venv/bin/python -m bench.tick [N]        # BENCH_DATABASE_URL=postgresql+psycopg://... for PostgreSQL
"""
from __future__ import annotations

import datetime as dt
import logging
import sys
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, update

from bench._support import add_farmers, measured, scratch_app
from scheduler.tick import tick
from service.reminders import campaign as campaigns
from service import session_factory
from service.reminders.crop_cycle import CropCycle, Reminder
from service.messaging.message import OutboundMessage

TZ = ZoneInfo("Asia/Dushanbe")
TICK_AT = dt.datetime(2027, 6, 1, 7, 0, tzinfo=TZ).astimezone(dt.timezone.utc)


def add_cycles(session, n: int) -> None:
    """N rice cycles with their next pending reminder: the first event still ahead as of the day
    before the tick, so the tick finds the reminders due between then and 07:00."""
    c = campaigns.by_code(session, "rice_sri")
    events = campaigns.events_of(session, c.id)
    farmers = n // 4
    add_farmers(session, farmers)
    before = TICK_AT - dt.timedelta(days=1)
    chunk = 50000
    for base in range(0, n, chunk):
        cycles, reminders = [], []
        for i in range(base, min(base + chunk, n)):
            sown = TICK_AT.date() - dt.timedelta(days=i % 150)
            cycles.append({"id": i + 1, "farmer_id": i % farmers + 1, "crop_id": "rice", "campaign_id": c.id,
                           "sown_on": sown})
            transplanted = sown + dt.timedelta(days=c.transplant_days)
            ahead = min(((e.due_at(sown, transplanted, TZ), e.id) for e in events
                         if e.due_at(sown, transplanted, TZ) > before), default=None)
            if ahead:
                reminders.append({"cycle_id": i + 1, "event_id": ahead[1], "due_at": ahead[0], "status": "pending",
                                  "catch_up": False})
        session.execute(insert(CropCycle), cycles)
        session.execute(insert(Reminder), reminders)
        session.commit()


def reset(session, last_id: int) -> None:
    """Undo a tick: drop its outbox rows and the reminders it planned (ids above ``last_id``),
    make the handled ones pending again."""
    session.execute(delete(OutboundMessage))
    session.execute(delete(Reminder).where(Reminder.id > last_id))
    session.execute(update(Reminder).where(Reminder.status != "pending").values(status="pending", handled_at=None))
    session.commit()


def main(n: int) -> None:
    logging.disable(logging.WARNING)
    app = scratch_app(SCHEDULER_GRACE_HOURS=24)
    factory = session_factory(app)
    r: dict = {}
    with factory() as session:
        add_cycles(session, n)
        last_id = session.scalar(select(func.max(Reminder.id)))
        due_query = select(Reminder.id).where(Reminder.status == "pending", Reminder.due_at <= TICK_AT)
        with measured("floor", r):
            due = len(session.scalars(due_query).all())
        # peak memory on a tenth of the due rows (the others pushed out of reach), then on all
        tenth = session.scalars(due_query.order_by(Reminder.id).limit(max(1, due // 10))).all()
        session.execute(update(Reminder).where(Reminder.status == "pending", Reminder.due_at <= TICK_AT,
                                               Reminder.id.not_in(tenth)).values(status="hold"))
        session.commit()
    with measured("N/10", r, memory=True):
        small = tick(factory, app.config, TICK_AT)
    with factory() as session:
        reset(session, last_id)
        session.execute(update(Reminder).where(Reminder.status == "hold").values(status="pending"))
        session.commit()
    with measured("N", r, memory=True):
        tick(factory, app.config, TICK_AT)
    with factory() as session:
        reset(session, last_id)
    with measured("tick", r):
        result = tick(factory, app.config, TICK_AT)
    with factory() as session:
        queued = session.scalar(select(func.count()).select_from(OutboundMessage))
    floor = r["floor"]
    print(f"scheduler tick over {n:,} crop cycles on {app.config['DATABASE_URL'].split(':')[0]}")
    print(f"  floor (one indexed query of the {due:,} due rows): {floor:.3f} s")
    print(f"  tick: {r['tick']:.2f} s = {r['tick'] / floor:.1f} x floor ({result})")
    handled_small = small.reminders + small.shared_reminders + sum(small.missed.values())
    print(f"  peak Python memory of the tick: {r['N/10 peak MiB']:.1f} MiB for {handled_small:,}"
          f" due rows, {r['N peak MiB']:.1f} MiB for {due:,}")
    assert queued == result.reminders
    assert result.reminders + result.shared_reminders + sum(result.missed.values()) >= due


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
