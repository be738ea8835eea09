"""Benchmark: one scheduler tick over N crop cycles (default 1,000,000; ``--quick`` 40,000).

Data: N/4 farmers with four rice cycles each, sown over the 150 days before the tick, each
cycle holding its next pending reminder (as ``service.reminders.crop_cycle`` keeps them), bulk-inserted.
Measured: ``scheduler.tick.tick`` as of a morning when part of the cycles have a reminder due
(lock, due query, claim, rendering, outbox insert, planning the next reminder of each cycle).
Floor, same data, same run: the same due rows read (reminder, cycle and farmer joined, the
same predicate ``status = 'pending' AND due_at <= now``), one outbox row per due row and one
next reminder per cycle bulk-inserted (the texts rendered beforehand, outside the timing), and
the due rows' status set by one bulk UPDATE, in one transaction of plain Core statements;
then undone. Goal: the tick at most 2x the floor. Peak Python memory of the tick
(``tracemalloc``) at N/10 of the due rows and at all of them (the tick works in chunks: it
must not grow).

    .venv/bin/python -m bench.tick [--quick|--tiny] [--db sqlite|postgresql|both] [-n N]
"""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, update

from bench._support import Row, add_farmers, db_kind, measured, parse_args, run_benches, scratch_app
from scheduler.tick import tick
from service import session_factory
from service.farmers.models import Farmer
from service.messaging.encoding import measure
from service.messaging.message import OutboundMessage
from service.reminders import campaign as campaigns
from service.reminders.crop_cycle import CropCycle, Reminder

TZ = ZoneInfo("Asia/Dushanbe")
TICK_AT = dt.datetime(2027, 6, 1, 7, 0, tzinfo=TZ).astimezone(dt.timezone.utc)
SIZES = {"full": 1_000_000, "quick": 40_000, "tiny": 2_000}
GOAL = 2.0


def add_cycles(session, n: int) -> None:
    """N rice cycles with their next pending reminder: the first event still ahead as of the day
    before the tick, so the tick finds the reminders due between then and 07:00."""
    c = campaigns.by_code(session, "rice_sri")
    events = campaigns.events_of(session, c.id)
    farmers = n // 4
    add_farmers(session, farmers)
    before = TICK_AT - dt.timedelta(days=1)
    chunk = 50000
    ahead_of = {}  # days before the tick it was sown -> (due_at, event id) of its next event, or None
    for days in range(150):
        sown = TICK_AT.date() - dt.timedelta(days=days)
        transplanted = sown + dt.timedelta(days=c.transplant_days)
        ahead_of[days] = min(((e.due_at(sown, transplanted, TZ), e.id) for e in events
                              if e.due_at(sown, transplanted, TZ) > before), default=None)
    for base in range(0, n, chunk):
        cycles, reminders = [], []
        for i in range(base, min(base + chunk, n)):
            sown = TICK_AT.date() - dt.timedelta(days=i % 150)
            cycles.append({"id": i + 1, "farmer_id": i % farmers + 1, "crop_id": "rice", "campaign_id": c.id,
                           "sown_on": sown})
            ahead = ahead_of[i % 150]
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


def floor(session, texts: dict, next_event: dict) -> int:
    """The floor of the module docstring, timed by the caller; returns the due rows read.

    ``texts``: ``(event id, language) -> (text, encoding, segments)``, rendered beforehand;
    ``next_event``: ``event id -> the event after it`` in the campaign."""
    due = session.execute(
        select(Reminder.id, Reminder.cycle_id, Reminder.event_id, Reminder.due_at, Farmer.id.label("farmer_id"),
               Farmer.phone, Farmer.language)
        .join(CropCycle, CropCycle.id == Reminder.cycle_id).join(Farmer, Farmer.id == CropCycle.farmer_id)
        .where(Reminder.status == "pending", Reminder.due_at <= TICK_AT)).all()
    expires = TICK_AT + dt.timedelta(hours=48)
    outbox = []
    for r in due:
        text, encoding, segments = texts[(r.event_id, r.language)]
        outbox.append({"phone": r.phone, "farmer_id": r.farmer_id, "language": r.language, "text": text,
                       "kind": "tip", "priority": 3, "encoding": encoding, "segments": segments,
                       "status": "queued", "attempts": 0, "next_attempt_at": TICK_AT, "expires_at": expires,
                       "dedupe_key": f"floor:{r.cycle_id}:{r.event_id}", "created_at": TICK_AT,
                       "updated_at": TICK_AT})
    if outbox:  # Core executemany on the tables, every value given
        session.execute(insert(OutboundMessage.__table__), outbox)
    session.execute(update(Reminder).where(Reminder.status == "pending", Reminder.due_at <= TICK_AT)
                    .values(status="sent", handled_at=TICK_AT).execution_options(synchronize_session=False))
    planned = [{"cycle_id": r.cycle_id, "event_id": next_event[r.event_id],
                "due_at": r.due_at + dt.timedelta(days=7), "status": "pending", "catch_up": False,
                "handled_at": None}
               for r in due if r.event_id in next_event]  # the last event plans nothing
    if planned:
        session.execute(insert(Reminder.__table__), planned)
    session.commit()
    return len(due)


def run(url: str, size: str, n: int | None = None) -> list[Row]:
    """Measure the tick and its floor on ``url`` (an empty database) over ``n`` cycles."""
    n = n or SIZES[size]
    logging.disable(logging.WARNING)
    app = scratch_app(url, SCHEDULER_GRACE_HOURS=24)
    factory = session_factory(app)
    r: dict = {}
    with factory() as session:
        add_cycles(session, n)
        last_id = session.scalar(select(func.max(Reminder.id)))
        c = campaigns.by_code(session, "rice_sri")
        events = campaigns.events_of(session, c.id)
        next_event = {a.id: b.id for a, b in zip(events, events[1:])}
        texts = {}
        for e in events:
            for lang in ("tg", "ru", "uz", "en"):
                m = measure(e.render(lang))
                texts[(e.id, lang)] = (m.text, m.encoding, m.segments)
        with measured("floor", r):
            due = floor(session, texts, next_event)
        reset(session, last_id)
        due_query = select(Reminder.id).where(Reminder.status == "pending", Reminder.due_at <= TICK_AT)
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
    app.extensions["dehqon.engine"].dispose()
    logging.disable(logging.NOTSET)
    handled = result.reminders + result.shared_reminders + sum(result.missed.values())
    handled_small = small.reminders + small.shared_reminders + sum(small.missed.values())
    ratio = r["tick"] / r["floor"]
    row = Row(f"scheduler tick, {n:,} cycles", db_kind(url),
              f"{r['tick']:.2f} s for {handled:,} due reminders ({r['tick'] / max(handled, 1) * 1000:.3f} ms each)",
              f"bulk read+insert+update of the {due:,} due rows {r['floor']:.3f} s", ratio,
              goal=f"<= {GOAL:g}x", met=ratio <= GOAL,
              memory=(handled_small, r["N/10 peak MiB"], handled, r["N peak MiB"]))
    if queued != result.reminders or handled < due:
        row.met = False
        row.notes.append(f"{due:,} due, {handled:,} handled, {queued:,} queued for {result.reminders:,} reminders")
    return [row]


def main(argv=None) -> None:
    args = parse_args(argv, name="bench.tick", extra=lambda p: p.add_argument("-n", type=int, help="crop cycles"))
    run_benches([("tick", lambda url, size: run(url, size, args.n))], args)


if __name__ == "__main__":
    main()
