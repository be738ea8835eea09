"""Outbox rows do not wait for ever: deadlines per kind, and held rows released or failed by rule
(issue 7, item 2). The held rows come from a replayed AT answer through the real SDK."""
from __future__ import annotations

import datetime as dt
import logging

import pytest
import responses
from sqlalchemy import select

import recordings
from recordings import play
from service import session_factory
from service.messaging import delivery
from service.messaging import dispatch
from service.messaging import gateways
from service.messaging import outbox
from service.db import utcnow
from service.messaging.message import KINDS, LIFETIME, OutboundMessage, queue_many, queue_sms

A = "+992901234567"  # the phone of unexpected_408.json
B = "+992911234568"
HOUR = dt.timedelta(hours=1)


def run(app, now, config=None):
    config = config or app.config
    return dispatch.dispatch_once(session_factory(app), gateways.for_settings(config), config, now=now)


def row(session, row_id):
    session.expire_all()
    return session.get(OutboundMessage, row_id)


# --- deadlines ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, hours", [("reply", 24), ("stop_confirm", 24), ("alert", 24), ("notice", 24),
                                         ("broadcast", 24), ("tip", 48)])
def test_default_lifetime_per_kind(session, kind, hours):
    assert set(LIFETIME) == set(KINDS)
    single = queue_sms(session, A, "Salom", kind=kind)
    later = utcnow() + dt.timedelta(hours=5)
    delayed = queue_sms(session, B, "Salom", kind=kind, not_before=later)
    (many,) = queue_many(session, [{"phone": A, "text": "Salom", "dedupe_key": f"k:{kind}"}], kind=kind)
    session.commit()
    assert single.expires_at - single.next_attempt_at == dt.timedelta(hours=hours)
    assert delayed.expires_at == later + dt.timedelta(hours=hours)  # counted from when it is due
    got = row(session, many)
    assert got.expires_at - got.next_attempt_at == dt.timedelta(hours=hours)


def test_caller_gives_its_own_deadline(session):
    deadline = utcnow() + dt.timedelta(hours=6)
    tip = queue_sms(session, A, "Transplant this week", kind="tip", expires_at=deadline)
    ids = queue_many(session, [{"phone": B, "text": "Meeting", "dedupe_key": "bc:1:b"}], kind="broadcast",
                     expires_at=deadline)
    session.commit()
    assert tip.expires_at == deadline == row(session, ids[0]).expires_at


def test_row_past_its_deadline_is_not_sent_but_failed_and_counted(app, session, caplog):
    reply = queue_sms(session, A, "Your order is placed", kind="reply")
    tip = queue_sms(session, B, "Weed the nursery", kind="tip")
    soon = queue_sms(session, B, "Meeting today at 15:00", kind="broadcast",
                     expires_at=utcnow() + dt.timedelta(minutes=30))
    session.commit()
    with caplog.at_level(logging.WARNING, logger="service.messaging.dispatch"):
        summary = run(app, utcnow() + dt.timedelta(hours=25))
    assert (row(session, reply.id).status, row(session, reply.id).failure_reason) == \
        ("failed", "expired: not sent within 24 h")
    assert row(session, soon.id).failure_reason == "expired: not sent within 30 min"
    assert row(session, tip.id).status == "delivered"  # 48 h
    assert (summary.expired, summary.sent, summary.states["failed"]) == (2, 1, 2)
    assert str(summary) == ("1 sent, 2 failed, 2 expired "
                            "(expired: not sent within 24 h ×1; expired: not sent within 30 min ×1)")
    assert "2 outbox rows expired unsent" in caplog.text
    assert row(session, reply.id).attempts == 0  # never tried


def test_sweep_expires_rows_that_wait_in_a_backoff_or_held(session):
    now = utcnow()
    waiting = queue_sms(session, A, "retry later", kind="notice", not_before=now + dt.timedelta(hours=30),
                        expires_at=now + dt.timedelta(hours=24))
    held = queue_sms(session, B, "held", kind="notice")
    held.status, held.sent_at = "held", now
    unconfirmed = queue_sms(session, A, "unknown", kind="notice")
    unconfirmed.status, unconfirmed.sent_at = "unconfirmed", now + dt.timedelta(hours=23)
    unconfirmed.submitted_at = unconfirmed.sent_at
    fresh = queue_sms(session, B, "fresh", kind="tip")
    session.commit()
    assert delivery.sweep(session, now + dt.timedelta(hours=25))["expired"] == 2
    session.commit()
    assert [row(session, r.id).status for r in (waiting, held, unconfirmed, fresh)] == \
        ["failed", "failed", "unconfirmed", "queued"]
    assert row(session, held.id).failure_reason == "expired: not sent within 24 h"


# --- held rows ---------------------------------------------------------------------------------

@pytest.fixture
def at_app_settings():
    return {"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "hook-secret-of-at-least-32-characters", "AT_USERNAME": "sandbox",
            "AT_API_KEY": "test-api-key", "AT_SENDER_ID": None, "DISPATCH_BATCH_SIZE": 100}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def at_config(app, at_app_settings):
    return {**app.config, **at_app_settings}


def test_held_row_is_released_after_an_hour_then_failed_after_three_attempts(app, session, rsps,
                                                                              at_app_settings, caplog):
    config = at_config(app, at_app_settings)
    queued = queue_sms(session, A, "Salom", kind="notice")
    session.commit()
    row_id = queued.id
    now = utcnow()
    for attempt in range(1, outbox.HELD_MAX_ATTEMPTS + 1):
        play(rsps, "unexpected_408")
        run(app, now, config)
        got = row(session, row_id)
        assert (got.status, got.attempts, got.failure_reason) == ("held", attempt, "408 Failed")
        assert delivery.sweep(session, now + HOUR - dt.timedelta(seconds=1))["released"] == 0  # a person's hour
        session.commit()
        now += HOUR
        with caplog.at_level(logging.INFO, logger="service.messaging.outbox"):
            counts = delivery.sweep(session, now)
        session.commit()
        if attempt < outbox.HELD_MAX_ATTEMPTS:
            assert (counts["released"], row(session, row_id).status) == (1, "queued")
            assert row(session, row_id).next_attempt_at == now
    got = row(session, row_id)
    assert counts["held_failed"] == 1
    assert (got.status, got.failure_reason) == ("failed", "not accepted after 3 attempts: 408 Failed")
    assert len(rsps.calls) == outbox.HELD_MAX_ATTEMPTS
    assert "released to the queue" in caplog.text


def test_released_held_row_can_be_accepted(app, session, rsps, at_app_settings):
    config = at_config(app, at_app_settings)
    queued = queue_sms(session, A, "Salom", kind="notice")
    session.commit()
    row_id = queued.id
    now = utcnow()
    play(rsps, "unexpected_408")
    run(app, now, config)
    delivery.sweep(session, now + HOUR)
    session.commit()
    rsps.add_callback(responses.POST, recordings.SEND_URL, callback=recordings.accept_all,
                      content_type="application/json")
    run(app, now + HOUR, config)
    got = row(session, row_id)
    assert (got.status, got.attempts) == ("accepted", 2) and got.gateway_message_id


def test_held_row_past_its_deadline_fails_as_expired(session):
    now = utcnow()
    held = queue_sms(session, A, "Salom", kind="notice", expires_at=now + dt.timedelta(minutes=30))
    held.status, held.sent_at, held.attempts, held.failure_reason = "held", now, 1, "408 Failed"
    session.commit()
    counts = delivery.sweep(session, now + HOUR)
    session.commit()
    assert (counts["expired"], counts["released"]) == (1, 0)
    assert row(session, held.id).failure_reason == "expired: not sent within 30 min"


def test_nothing_is_left_held_or_unconfirmed_for_ever(session):
    """Every held and unconfirmed row is settled by the sweep within its deadlines."""
    now = utcnow()
    for status, message_id in (("held", None), ("unconfirmed", None), ("unconfirmed", "ATXid_1"),
                               ("accepted", "ATXid_2"), ("in_transit", "ATXid_3")):
        r = queue_sms(session, A, f"Salom {status}", kind="notice")
        r.status, r.gateway_message_id, r.sent_at, r.submitted_at, r.attempts = status, message_id, now, now, 1
    session.commit()
    for hours in range(0, 24 * 4, 1):
        delivery.sweep(session, now + dt.timedelta(hours=hours))
        session.commit()
    session.expire_all()
    assert {r.status for r in session.scalars(select(OutboundMessage))} == {"failed"}
