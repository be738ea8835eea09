"""Benchmark: a broadcast to N farmers (default 100,000) of the demo-shaped region, end to end.

Measured: audience query + rendering + outbox insert (``service.broadcasts.broadcast.queue``), then dispatch
of every row through the real ``africastalking`` SDK pointed at a local fake AT endpoint on
127.0.0.1 that answers like AT (``service.messaging.dispatch.dispatch_once`` passes until the queue is empty).
Floor: a bare multi-row INSERT of the same outbox rows, already rendered. Printed: each step as a
ratio to the floor, and the peak Python memory of the queue step at N/5 and N (it must not grow
with the audience: rows are streamed and written in chunks).

    .venv/bin/python -m bench.broadcast [N]        # BENCH_DATABASE_URL=postgresql+psycopg://... for PostgreSQL
"""
from __future__ import annotations

import logging
import sys

import africastalking
from sqlalchemy import delete, func, insert, select

from bench._support import add_farmers, fake_at, measured, scratch_app
from service import session_factory
from service.broadcasts import broadcast
from service.messaging import dispatch
from service.messaging import gateways
from service.messaging.encoding import measure
from service.messaging.message import OutboundMessage

TEXTS = {"tg": "Дӯстон, пагоҳ соати 9 дар маркази Даҳана вохӯрӣ.", "ru": "Завтра в 9 встреча в центре Дахана.",
         "uz": "Ertaga soat 9 da Dahana markazida uchrashuv.", "en": "Meeting at Dahana centre tomorrow at 9."}


def main(n: int) -> None:
    logging.disable(logging.INFO)
    app = scratch_app(SMS_GATEWAY="africastalking", AT_USERNAME="bench", AT_API_KEY="bench-key",
                      WEBHOOK_TOKEN="bench-token-of-at-least-32-characters", DISPATCH_BATCH_SIZE=1000)
    factory = session_factory(app)
    r: dict = {}
    with factory() as session:
        add_farmers(session, n)
        audience = broadcast.Audience()
        # floor: the same rows, pre-rendered, in one bare bulk insert
        rows = [{"phone": p, "farmer_id": f, "language": lang, "text": measure(broadcast.text_for(TEXTS, lang)).text,
                 "kind": "broadcast", "priority": 5, "encoding": "UCS-2", "segments": 1, "status": "queued",
                 "attempts": 0, "dedupe_key": f"floor:{p}"} for f, p, lang in broadcast.recipients(session, audience)]
        with measured("floor: bare bulk insert", r):
            session.execute(insert(OutboundMessage), rows)
            session.commit()
        session.execute(delete(OutboundMessage))
        session.commit()
        del rows

        # peak memory of the queue step at two audience sizes (tracemalloc slows it: timed apart)
        for label, sized in (("N/4", broadcast.Audience(languages=("en",))), ("N", audience)):
            trial = broadcast.create(session, sized, TEXTS)
            session.commit()
            with measured(label, r, memory=True):
                broadcast.queue(session, trial)
            session.execute(delete(OutboundMessage))
            session.commit()
        row = broadcast.create(session, audience, TEXTS)
        session.commit()
        with measured("queue: audience + render + insert", r):
            broadcast.queue(session, row)

    with fake_at() as (url, server):
        gateway = gateways.for_settings(app.config)
        africastalking.SMS._baseUrl = url  # the real SDK, pointed at the fake endpoint
        with measured("dispatch through the SDK to fake AT", r):
            while dispatch.dispatch_once(factory, gateway, app.config).claimed:
                pass
        received = server.received
    with factory() as session:
        accepted = session.scalar(select(func.count()).select_from(OutboundMessage)
                                  .where(OutboundMessage.status == "accepted"))
    floor = r["floor: bare bulk insert"]
    print(f"broadcast to {n:,} farmers on {app.config['DATABASE_URL'].split(':')[0]}")
    print(f"  floor (bare bulk insert of {n:,} rows): {floor:.2f} s")
    for label in ("queue: audience + render + insert", "dispatch through the SDK to fake AT"):
        print(f"  {label}: {r[label]:.2f} s = {r[label] / floor:.1f} x floor")
    print(f"  peak Python memory of queue: {r['N/4 peak MiB']:.1f} MiB at {n // 4:,} recipients, "
          f"{r['N peak MiB']:.1f} MiB at {n:,}")
    print(f"  fake AT received {received:,} recipients; {accepted:,} rows accepted")
    assert received == accepted == n, "the broadcast did not reach the gateway completely"


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
