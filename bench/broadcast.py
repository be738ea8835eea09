"""Benchmark: queueing a broadcast to N farmers (default 100,000; ``--quick`` 10,000) of the
demo-shaped region.

Measured: audience query + rendering + outbox insert (``service.broadcasts.broadcast.queue``).
Floor, same run: a bare bulk INSERT of the same outbox rows, already rendered, every column's
value given (Core ``insert`` of the table with the list of rows, no RETURNING). Goal: at most 1.5x the floor at 100,000.
Peak Python memory (``tracemalloc``) of the queue step at N/10 and N recipients (rows are
streamed and written in chunks: it must not grow with the audience). The dispatch of such a
broadcast is ``bench.dispatch``.

    .venv/bin/python -m bench.broadcast [--quick|--tiny] [--db sqlite|postgresql|both] [-n N]
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, func, insert, select

from bench._support import Row, add_farmers, db_kind, measured, parse_args, run_benches, scratch_app
from service import session_factory
from service.broadcasts import broadcast
from service.db import utcnow
from service.messaging.encoding import measure
from service.messaging.message import OutboundMessage

SIZES = {"full": 100_000, "quick": 10_000, "tiny": 500}
GOAL = 1.5
TEXTS = {"tg": "Дӯстон, пагоҳ соати 9 дар маркази Даҳана вохӯрӣ.", "ru": "Завтра в 9 встреча в центре Дахана.",
         "uz": "Ertaga soat 9 da Dahana markazida uchrashuv.", "en": "Meeting at Dahana centre tomorrow at 9."}


def _queue_measured(session, label: str, r: dict, memory: bool = False) -> int:
    session.execute(delete(OutboundMessage))
    session.commit()
    row = broadcast.create(session, broadcast.Audience(), TEXTS)
    session.commit()
    with measured(label, r, memory=memory):
        count = broadcast.queue(session, row)
    return count


def run(url: str, size: str, n: int | None = None) -> list[Row]:
    """Measure the queueing and its floor on ``url`` (an empty database) for ``n`` farmers."""
    n = n or SIZES[size]
    logging.disable(logging.INFO)
    app = scratch_app(url, SMS_GATEWAY="local")
    factory = session_factory(app)
    r: dict = {}
    tenth = max(1, n // 10)
    with factory() as session:
        add_farmers(session, tenth)
        _queue_measured(session, "N/10", r, memory=True)
        add_farmers(session, n - tenth, start=tenth)
        _queue_measured(session, "N", r, memory=True)
        session.execute(delete(OutboundMessage))
        session.commit()
        # floor: the same rows, pre-rendered, in one bare bulk insert
        now = utcnow()
        texts = {lang: measure(broadcast.text_for(TEXTS, lang)) for lang in TEXTS}
        rows = [{"phone": p, "farmer_id": f, "language": lang, "text": texts[lang].text, "kind": "broadcast",
                 "priority": 5, "encoding": texts[lang].encoding, "segments": texts[lang].segments,
                 "status": "queued", "attempts": 0, "dedupe_key": f"floor:{p}", "next_attempt_at": now,
                 "expires_at": now + dt.timedelta(hours=24), "created_at": now, "updated_at": now}
                for f, p, lang in broadcast.recipients(session, broadcast.Audience())]
        with measured("floor", r):
            session.execute(insert(OutboundMessage.__table__), rows)  # Core executemany, every value given
            session.commit()
        del rows
        queued = _queue_measured(session, "queue", r)
        stored = session.scalar(select(func.count()).select_from(OutboundMessage))
    app.extensions["dehqon.engine"].dispose()
    logging.disable(logging.NOTSET)
    ratio = r["queue"] / r["floor"]
    row = Row(f"broadcast queueing, {n:,} farmers", db_kind(url),
              f"{r['queue']:.2f} s (audience, rendering, outbox insert)",
              f"bare bulk insert of the same {n:,} rows {r['floor']:.2f} s", ratio,
              goal=f"<= {GOAL:g}x at 100,000", met=ratio <= GOAL,
              memory=(tenth, r["N/10 peak MiB"], n, r["N peak MiB"]))
    if not queued == stored == n:
        row.met = False
        row.notes.append(f"{n:,} farmers, {queued:,} queued, {stored:,} stored")
    return [row]


def main(argv=None) -> None:
    args = parse_args(argv, name="bench.broadcast", extra=lambda p: p.add_argument("-n", type=int, help="farmers"))
    run_benches([("broadcast", lambda url, size: run(url, size, args.n))], args)


if __name__ == "__main__":
    main()
