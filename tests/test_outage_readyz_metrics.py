"""With AT answering 500 for 10 minutes, ``/readyz`` says so and ``/metrics`` shows the held queue;
when AT recovers both return to normal and every message is sent once.

The real ``africastalking`` SDK talks HTTP to the fake AT on 127.0.0.1 (``tests/fake_at.py``);
the dispatcher runs on a simulated clock (``now=``), one pass every 30 s, as in
``tests/test_dispatch_outage.py``. ``/readyz`` and ``/metrics`` read the real clock: the hold
(``held_until``) lies in the simulated future, so it is in force for them too.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import fake_at
from service import heartbeat, session_factory
from service.db import utcnow
from service.messaging import dispatch
from service.messaging.message import OutboundMessage, queue_sms

TOKEN = "metrics-token-of-at-least-32-characters"
PASS = dt.timedelta(seconds=30)
OUTAGE = dt.timedelta(minutes=10)


@pytest.fixture
def app_settings():
    return {"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "hook-secret-of-at-least-32-characters",
            "AT_USERNAME": "dehqon-readyz", "AT_API_KEY": "test-api-key", "AT_SENDER_ID": None,
            "DISPATCH_BATCH_SIZE": 100, "METRICS_TOKEN": TOKEN}


@pytest.fixture
def fake():
    server = fake_at.FakeAT(mode="error500")
    yield server
    server.close()


def metrics(client) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


QUEUED = ("dehqon_outbox_messages", (("state", "queued"),))
HELD = ("dehqon_sending_held", (("cause", "outage"), ("gateway", "africastalking")))
READY = ("dehqon_ready", ())


def sends(outcome: str) -> float:
    return REGISTRY.get_sample_value("dehqon_sms_sends_total",
                                     {"gateway": "africastalking", "outcome": outcome}) or 0.0


def test_ten_minutes_of_http_500_then_recovery(app, client, session, fake):
    expected = Counter()
    for n in range(12):
        phone, text = f"+9929008{n:05d}", f"Нархи пиёз {n % 3}"
        queue_sms(session, phone, text, kind="reply")
        expected[(text, phone)] += 1
    session.commit()
    heartbeat.beat(app.extensions["dehqon.engine"], heartbeat.SCHEDULER)  # a scheduler process is alive
    config = app.config
    gateway = fake_at.gateway(config, fake.url)
    outages, accepted = sends("outage"), sends("accepted")
    start = utcnow()
    try:
        step = 0
        while step * PASS < OUTAGE:
            dispatch.dispatch_once(session_factory(app), gateway, config, now=start + step * PASS)
            step += 1
        assert fake.refused >= 4 and not fake.received  # probed with growing pauses, nothing taken

        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.text.startswith("not ready\n")
        problems = down.text.splitlines()[1:]
        assert len([p for p in problems if p.startswith("Sending through africastalking is held: the gateway "
                                                        "has been down since")]) == 1, down.text
        assert "last error: AT error: <html>" in down.text
        assert "outbox: 12 queued" in down.text
        page = metrics(client)
        assert page[QUEUED] == 12 and page[HELD] == 1 and page[READY] == 0
        assert sends("outage") > outages and sends("accepted") == accepted

        fake.mode = "accept"
        for _ in range(60):  # at most 30 simulated minutes more: the next probe finds AT back
            dispatch.dispatch_once(session_factory(app), gateway, config, now=start + step * PASS)
            step += 1
            if len(fake.received) == 12:
                break
    finally:
        fake_at.restore(gateway)

    assert Counter(fake.received) == expected  # every message reached AT exactly once
    session.expire_all()
    rows = session.query(OutboundMessage).all()
    assert Counter((r.status, r.attempts) for r in rows) == Counter({("accepted", 1): 12})
    up = client.get("/readyz")
    assert up.status_code == 200, up.text
    assert up.text.splitlines()[0] == "ready" and "sending: not held" in up.text
    assert "outbox: 0 queued" in up.text
    page = metrics(client)
    assert page[QUEUED] == 0 and page[HELD] == 0 and page[READY] == 1
    assert page[("dehqon_outbox_messages", (("state", "accepted"),))] == 12
    assert sends("accepted") == accepted + 12
    assert REGISTRY.get_sample_value("dehqon_sms_cost_tjs_total", {"gateway": "africastalking"}) >= 12 * 0.1 - 1e-9
