"""Benchmark: dispatch of an N-farmer broadcast (default 20,000; ``--quick`` 4,000) through the
real ``africastalking`` SDK to a fake AT endpoint on 127.0.0.1.

Measured: ``service.messaging.dispatch.dispatch_once`` passes until the queue is empty (claim,
SDK call per batch of recipients, reading AT's answer, every row's bookkeeping), the broadcast
queued beforehand (not timed). The fake AT (``bench._support.fake_at``, a thread of this
process answering like AT) records every request it gets. Floor, same run: the same SDK calls
(``africastalking.SMS.send`` with the same message, recipients, sender and ``enqueue`` flag,
in the same order) to the same fake AT, without the database. Goal: at most 2x the floor.
Peak Python memory (``tracemalloc``) of a whole dispatch at N/10 and at N recipients (the
dispatcher works in batches: it must not grow).

    .venv/bin/python -m bench.dispatch [--quick|--tiny] [--db sqlite|postgresql|both] [-n N]
"""
from __future__ import annotations

import logging

import africastalking
from sqlalchemy import delete, func, select

from bench._support import Row, add_farmers, db_kind, fake_at, measured, parse_args, run_benches, scratch_app
from service import session_factory
from service.broadcasts import broadcast
from service.messaging import dispatch, gateways
from service.messaging.gateways.africastalking import ENQUEUE_OVER
from service.messaging.message import OutboundMessage

SIZES = {"full": 20_000, "quick": 4_000, "tiny": 300}
GOAL = 2.0
TEXTS = {"tg": "Дӯстон, пагоҳ соати 9 дар маркази Даҳана вохӯрӣ.", "ru": "Завтра в 9 встреча в центре Дахана.",
         "uz": "Ertaga soat 9 da Dahana markazida uchrashuv.", "en": "Meeting at Dahana centre tomorrow at 9."}


def _queue(factory) -> int:
    """A fresh outbox holding one broadcast to every farmer; its row count."""
    with factory() as session:
        session.execute(delete(OutboundMessage))
        row = broadcast.create(session, broadcast.Audience(), TEXTS)
        session.commit()
        return broadcast.queue(session, row)


def _drain(factory, gateway, config) -> None:
    while dispatch.dispatch_once(factory, gateway, config).claimed:
        pass


def run(url: str, size: str, n: int | None = None) -> list[Row]:
    """Measure the dispatch and its floor on ``url`` (an empty database) for ``n`` farmers."""
    n = n or SIZES[size]
    logging.disable(logging.INFO)
    app = scratch_app(url, SMS_GATEWAY="africastalking", AT_USERNAME="bench", AT_API_KEY="bench-key",
                      WEBHOOK_TOKEN="bench-token-of-at-least-32-characters", DISPATCH_BATCH_SIZE=1000)
    factory = session_factory(app)
    r: dict = {}
    tenth = max(1, n // 10)
    with fake_at() as (base, server):
        gateway = gateways.for_settings(app.config)
        africastalking.SMS._baseUrl = base  # the real SDK, pointed at the fake endpoint
        with factory() as session:
            add_farmers(session, tenth)
        _queue(factory)
        with measured("N/10", r, memory=True):
            _drain(factory, gateway, app.config)
        with factory() as session:
            add_farmers(session, n - tenth, start=tenth)
        _queue(factory)
        with measured("N", r, memory=True):
            _drain(factory, gateway, app.config)
        queued = _queue(factory)
        server.received, server.calls = 0, []
        with measured("dispatch", r):
            _drain(factory, gateway, app.config)
        calls, server.calls = server.calls, None
        received = server.received
        with factory() as session:
            accepted = session.scalar(select(func.count()).select_from(OutboundMessage)
                                      .where(OutboundMessage.status == "accepted"))
        sms = africastalking.SMS
        with measured("floor", r):
            for message, to, sender, _enqueue in calls:
                sms.send(message, to, sender_id=sender, enqueue=len(to) > ENQUEUE_OVER, timeout=gateway.timeout)
    app.extensions["dehqon.engine"].dispose()
    logging.disable(logging.NOTSET)
    ratio = r["dispatch"] / r["floor"]
    row = Row(f"dispatch, {n:,}-farmer broadcast", db_kind(url),
              f"{r['dispatch']:.2f} s, {accepted:,}/{queued:,} accepted",
              f"the same {len(calls):,} SDK calls, no database, {r['floor']:.2f} s", ratio,
              goal=f"<= {GOAL:g}x", met=ratio <= GOAL, memory=(tenth, r["N/10 peak MiB"], n, r["N peak MiB"]))
    if not received == accepted == queued:
        row.met = False
        row.notes.append(f"{queued:,} queued, fake AT received {received:,}, {accepted:,} accepted")
    return [row]


def main(argv=None) -> None:
    args = parse_args(argv, name="bench.dispatch", extra=lambda p: p.add_argument("-n", type=int, help="farmers"))
    run_benches([("dispatch", lambda url, size: run(url, size, args.n))], args)


if __name__ == "__main__":
    main()
