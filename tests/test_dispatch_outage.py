"""A gateway outage holds the queue without using up the messages' attempts (issue 7, item 1).

The real ``africastalking`` SDK talks HTTP to a fake AT on 127.0.0.1 (``tests/fake_at.py``)
that answers HTTP 500, or to an address that refuses connections; the dispatcher
runs on a simulated clock (``now=``), one pass every 30 s, the sweep every 10 min.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

import pytest
import responses
from sqlalchemy import select

import fake_at
import recordings
from recordings import play
from service import session_factory
from service.messaging import delivery
from service.messaging import dispatch
from service.messaging import gateway_state
from service.messaging import gateways
from service.db import make_engine, make_sessionmaker, utcnow
from service.messaging.message import KINDS, OutboundMessage, queue_sms

SETTINGS = {"SMS_GATEWAY": "africastalking", "AT_USERNAME": "dehqon-outage", "AT_API_KEY": "test-key",
            "AT_SENDER_ID": None, "AT_TIMEOUT": (3.05, 9.05), "DISPATCH_BATCH_SIZE": 100,
            "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00", "SEND_RATE_SEGMENTS_PER_SECOND": 0,
            "TIMEZONE": "Asia/Dushanbe"}
PASS = dt.timedelta(seconds=30)
OUTAGE = dt.timedelta(hours=2)


@pytest.fixture
def fake():
    server = fake_at.FakeAT()
    yield server
    server.close()


def test_two_hour_outage_sends_every_message_exactly_once(app, session, fake, caplog):
    expected = Counter()
    for n in range(250):
        kind = KINDS[n % len(KINDS)]
        phone, text = f"+9929007{n:05d}", f"{kind} message {n % 4}"
        queue_sms(session, phone, text, kind=kind)
        expected[(text, phone)] += 1
    session.commit()
    config = {**app.config, **SETTINGS}
    gateway = fake_at.gateway(config, fake.url)
    down = fake_at.dead_url()
    start = utcnow()
    probes = 0
    try:
        with caplog.at_level(logging.INFO, logger="service"):
            for step in range(int(dt.timedelta(hours=3) / PASS)):
                now = start + step * PASS
                elapsed = now - start
                if elapsed < OUTAGE:  # 20 minutes of HTTP 500, 20 of refused connections, and again
                    refusing = (elapsed // dt.timedelta(minutes=20)) % 2 == 1
                    gateway._sms._baseUrl = down if refusing else fake.url
                    fake.mode = "error500"
                else:
                    gateway._sms._baseUrl, fake.mode = fake.url, "accept"
                summary = dispatch.dispatch_once(session_factory(app), gateway, config, now=now)
                if elapsed < OUTAGE and summary.claimed:
                    probes += 1
                if step % 20 == 0:
                    delivery.sweep(session, now)
                    session.commit()
    finally:
        fake_at.restore(gateway)

    assert Counter(fake.received) == expected  # every message reached AT exactly once
    session.expire_all()
    got = session.scalars(select(OutboundMessage)).all()
    assert Counter(r.status for r in got) == Counter({"accepted": 250})
    assert {r.attempts for r in got} == {1}  # the outage used up no attempt
    # the pauses grew (30 s, 1, 2, 4, 8 min, then every 10 min): a few probes, not 240 passes of 100 rows
    assert 10 <= probes <= 20 and fake.refused >= 5
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR and "ALERT" in r.getMessage()]
    assert len(alerts) >= 5 and "is down" in alerts[0].getMessage()
    assert all("still down" in r.getMessage() for r in alerts[1:])
    back = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert len(back) == 1 and back[0].startswith("SMS gateway africastalking answers again after an outage of")
    assert gateway_state.get(session, "africastalking").outage_since is None


@pytest.fixture
def app_settings():
    return {"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "hook-secret-of-at-least-32-characters", "AT_USERNAME": "sandbox",
            "AT_API_KEY": "test-api-key", "AT_SENDER_ID": None, "DISPATCH_BATCH_SIZE": 100}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_outage_holds_every_dispatcher_and_the_pauses_grow(app, session, rsps):
    queued = [queue_sms(session, f"+99290100000{i}", text, kind="notice")
              for i, text in enumerate(["first text", "second text", "first text"])]
    session.commit()
    ids = [r.id for r in queued]
    # a second dispatcher process: its own engine and sessions, the same database
    other = make_sessionmaker(make_engine(app.config["DATABASE_URL"]))
    now = utcnow()
    holds = []
    for n in range(1, 8):
        play(rsps, "server_error_500")
        summary = dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config), app.config, now=now)
        assert summary.claimed == 3 and summary.held_until == now + gateway_state.pause(n)
        assert len(rsps.calls) == n  # one request a pass: the second text was not tried
        holds.append(summary.held_until - now)
        # no dispatcher sends before the hold ends
        for d in (session_factory(app), other):
            assert dispatch.dispatch_once(d, gateways.for_settings(app.config), app.config,
                                          now=summary.held_until - dt.timedelta(seconds=1)).claimed == 0
        now = summary.held_until
    assert [h.total_seconds() for h in holds] == [30, 60, 120, 240, 480, 600, 600]
    state = gateway_state.get(session, "africastalking")
    assert state.failed_passes == 7 and state.last_error.startswith("AT error: <html>")
    session.expire_all()
    rows = [session.get(OutboundMessage, i) for i in ids]
    assert {(r.status, r.attempts) for r in rows} == {("queued", 0)}

    rsps.add_callback(responses.POST, recordings.SEND_URL, callback=recordings.accept_all,
                      content_type="application/json")
    summary = dispatch.dispatch_once(other, gateways.for_settings(app.config), app.config, now=now)
    assert summary.sent == 3 and summary.held_until is None
    session.expire_all()
    assert gateway_state.get(session, "africastalking").outage_since is None
    other.kw["bind"].dispose()


def test_whole_request_refusal_in_the_answer_is_an_outage(session, rsps, app):
    """An answer with no recipients and Message "InternalServerError" concerns nobody in particular."""
    row = queue_sms(session, "+992901234567", "Salom", kind="reply")
    session.commit()
    rsps.add(responses.POST, recordings.SEND_URL, status=201,
             json={"SMSMessageData": {"Message": "InternalServerError", "Recipients": []}})
    now = utcnow()
    summary = dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config), app.config, now=now)
    session.expire_all()
    got = session.get(OutboundMessage, row.id)
    assert (got.status, got.attempts, got.failure_reason) == ("queued", 0, "request refused: InternalServerError")
    assert summary.held_until == now + gateway_state.PAUSE_BASE
