"""The dispatcher with the local gateway: claiming order, due times, suppression, retry delays."""
from __future__ import annotations

import datetime as dt

import pytest

from service import session_factory
from service.messaging import dispatch
from service.messaging import gateways
from service.messaging import optout
from service.db import utcnow
from service.messaging.message import OutboundMessage, queue_sms

PHONE = "+992901234567"


@pytest.fixture
def run(app):
    def _run(now=None, **config):
        return dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config),
                                      {**app.config, **config}, now=now)
    return _run


def queue(session, text, kind="reply", phone=PHONE, **kw):
    row = queue_sms(session, phone, text, kind=kind, **kw)
    session.commit()
    return row.id


def states(session, ids):
    session.expire_all()
    return [session.get(OutboundMessage, i).status for i in ids]


def test_local_gateway_marks_rows_delivered(session, run):
    ids = [queue(session, "Salom"), queue(session, "Салом")]
    summary = run()
    assert states(session, ids) == ["delivered", "delivered"]
    row = session.get(OutboundMessage, ids[0])
    assert row.delivered_at is not None and row.attempts == 1 and row.gateway_message_id is None
    assert (summary.claimed, str(summary)) == (2, "2 sent, 0 failed")


def test_highest_priority_first_then_oldest(session, run):
    tip = queue(session, "tip", kind="tip")
    broadcast = queue(session, "broadcast", kind="broadcast")
    reply_old = queue(session, "reply 1")
    reply_new = queue(session, "reply 2")
    stop = queue(session, "stop", kind="stop_confirm")

    run(DISPATCH_BATCH_SIZE=2)
    assert states(session, [stop, reply_old, reply_new, broadcast, tip]) == \
        ["delivered", "delivered", "queued", "queued", "queued"]
    run(DISPATCH_BATCH_SIZE=2)
    assert states(session, [reply_new, broadcast, tip]) == ["delivered", "delivered", "queued"]


def test_rows_not_yet_due_wait(session, run):
    now = utcnow()
    later = queue(session, "later", not_before=now + dt.timedelta(minutes=10))
    assert run(now).claimed == 0
    run(now + dt.timedelta(minutes=10))
    assert states(session, [later]) == ["delivered"]


def test_suppressed_phone_gets_only_the_stop_confirmation(session, run):
    optout.opt_out(session, PHONE, "keyword")
    session.commit()
    reply = queue(session, "reply")
    stop = queue(session, "You will get no more messages", kind="stop_confirm")
    other = queue(session, "reply", phone="+992911234568")
    summary = run()
    assert states(session, [reply, stop, other]) == ["suppressed", "delivered", "delivered"]
    assert session.get(OutboundMessage, reply).failure_reason == "phone opted out"
    assert str(summary) == "2 sent, 0 failed, 1 suppressed"


def test_suppression_checked_at_send_time(session, run):
    reply = queue(session, "queued before the STOP")
    optout.opt_out(session, PHONE, "gateway_optout")
    session.commit()
    run()
    assert states(session, [reply]) == ["suppressed"]


@pytest.mark.parametrize("source", ["keyword", "ussd"])
def test_replies_queued_before_the_farmers_stop_still_go(session, run, source):
    """The farmer asked seconds before STOP: that answer goes; notices, tips, broadcasts and alerts
    queued before, and replies queued after, stay suppressed."""
    now = utcnow()
    before = {kind: queue(session, f"{kind} before", kind=kind) for kind in ("reply", "notice", "tip", "broadcast", "alert")}
    for i, row_id in enumerate(before.values()):
        session.get(OutboundMessage, row_id).created_at = now - dt.timedelta(seconds=5 + i)
    optout.opt_out(session, PHONE, source)
    session.get(optout.Suppression, PHONE).created_at = now
    session.commit()
    after = queue(session, "reply after")
    session.get(OutboundMessage, after).created_at = now + dt.timedelta(seconds=1)
    session.commit()
    summary = run(now + dt.timedelta(seconds=2), QUIET_HOURS_START="00:00", QUIET_HOURS_END="00:00")
    assert dict(zip(before, states(session, list(before.values())))) == {
        "reply": "delivered", "notice": "suppressed", "tip": "suppressed", "broadcast": "suppressed",
        "alert": "suppressed"}
    assert states(session, [after]) == ["suppressed"]
    assert str(summary) == "1 sent, 0 failed, 5 suppressed"


@pytest.mark.parametrize("source", ["gateway_optout", "blacklist"])
def test_replies_queued_before_a_gateway_opt_out_stay_suppressed(session, run, source):
    now = utcnow()
    reply = queue(session, "reply before")
    session.get(OutboundMessage, reply).created_at = now - dt.timedelta(seconds=5)
    optout.opt_out(session, PHONE, source)
    session.get(optout.Suppression, PHONE).created_at = now
    session.commit()
    run(now + dt.timedelta(seconds=1))
    assert states(session, [reply]) == ["suppressed"]


def test_rows_in_other_states_are_not_claimed(session, run):
    ids = [queue(session, s) for s in ("sending", "held", "unconfirmed", "failed")]
    for i in ids:
        row = session.get(OutboundMessage, i)
        row.status = row.text
    session.commit()
    assert run().claimed == 0
    assert states(session, ids) == ["sending", "held", "unconfirmed", "failed"]


@pytest.mark.parametrize("attempts, low, high", [(1, 15, 30), (2, 30, 60), (4, 120, 240), (9, 1800, 3600)])
def test_retry_delay_is_exponential_with_jitter_and_capped(attempts, low, high):
    delays = {dispatch.retry_delay(attempts).total_seconds() for _ in range(50)}
    assert all(low <= d <= high for d in delays)
    assert len(delays) > 1  # jitter
