"""The dispatcher through the real ``africastalking`` SDK, HTTP replayed from ``tests/recordings``.

Each test queues outbox rows, replays a recorded AT answer, runs one
dispatcher pass and checks both the request the SDK sent and the rows.
"""
from __future__ import annotations

import datetime as dt
import logging

import pytest
import responses
from sqlalchemy import func, select

import recordings
from recordings import form, play
from service import session_factory
from service.messaging import dispatch
from service.messaging import gateways
from service.messaging import optout
from service.db import utcnow
from service.messaging.message import DeliveryReport, OutboundMessage, queue_sms

A, B = "+992901234567", "+992911234568"  # the phones of success.json
MIXED = [f"+99290100000{i}" for i in range(1, 7)]  # the phones of mixed.json, in order
TEXT = "Narxi paxta: 7.50 TJS/kg"


@pytest.fixture
def app_settings():
    return {"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "hook-secret-of-at-least-32-characters", "AT_USERNAME": "sandbox",
            "AT_API_KEY": "test-api-key", "AT_SENDER_ID": "DEHQON", "AT_TIMEOUT": (3.05, 9.05),
            "DISPATCH_BATCH_SIZE": 100}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def run(app):
    """One dispatcher pass at ``now`` (default: now); returns the summary."""
    def _run(now=None, **config):
        return dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config),
                                      {**app.config, **config}, now=now)
    return _run


def queue(session, phone, text=TEXT, kind="reply", **kw):
    row = queue_sms(session, phone, text, kind=kind, **kw)
    session.commit()
    return row.id


def rows(session, *ids):
    session.expire_all()
    return [session.get(OutboundMessage, i) for i in ids]


def test_accepted_recipients_store_message_id_cost_parts(session, rsps, run):
    ids = [queue(session, A), queue(session, B)]
    play(rsps, "success")
    summary = run()

    assert len(rsps.calls) == 1
    call = rsps.calls[0]
    assert form(call) == {"username": "sandbox", "to": f"{A},{B}", "message": TEXT,
                          "bulkSMSMode": "1", "from": "DEHQON"}
    assert call.request.headers["apiKey"] == "test-api-key"
    assert call.request.headers["Accept"] == "application/json"
    a, b = rows(session, *ids)
    assert (a.status, a.gateway_message_id, a.cost, a.billed_parts, a.gateway_status_code, a.attempts) == \
        ("accepted", "ATXid_5f0c3a1e2b7d4c1a9e8f6b2d3c4a5e6f", "TJS 0.1000", 1, 101, 1)
    assert (b.status, b.gateway_message_id) == ("accepted", "ATXid_8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d")
    assert a.failure_reason is None and a.sent_at is not None
    assert (summary.claimed, summary.sent, str(summary)) == (2, 2, "2 sent, 0 failed")


def test_no_sender_id_sends_no_from_field(app, session, rsps):
    queue(session, A)
    queue(session, B)
    play(rsps, "success")
    config = {**app.config, "AT_SENDER_ID": None}
    dispatch.dispatch_once(session_factory(app), gateways.for_settings(config), config)
    assert "from" not in form(rsps.calls[0])


def test_mixed_results_decided_per_recipient(session, rsps, run):
    ids = [queue(session, phone) for phone in MIXED]
    play(rsps, "mixed")
    now = utcnow()
    summary = run(now)

    accepted, queued_ok, invalid, blacklisted, server_error, other = rows(session, *ids)
    assert (accepted.status, accepted.gateway_message_id, accepted.billed_parts) == \
        ("accepted", "ATXid_0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d01", 1)
    assert (queued_ok.status, queued_ok.gateway_status_code, queued_ok.billed_parts) == ("accepted", 102, None)
    assert (invalid.status, invalid.failure_reason, invalid.gateway_message_id, invalid.cost) == \
        ("failed", "403 InvalidPhoneNumber", None, None)
    assert (blacklisted.status, blacklisted.failure_reason) == ("failed", "406 UserInBlacklist")
    assert optout.is_suppressed(session, MIXED[3])
    assert not optout.is_suppressed(session, MIXED[2])
    # AT's 500 for one recipient: back in the queue, due after 15-30 s (first backoff step with jitter)
    assert (server_error.status, server_error.attempts, server_error.failure_reason) == \
        ("queued", 1, "500 InternalServerError")
    assert now + dt.timedelta(seconds=15) <= server_error.next_attempt_at <= now + dt.timedelta(seconds=30)
    assert (other.status, other.gateway_status_code, other.failure_reason) == ("held", 408, "408 Failed")
    assert str(summary).startswith("2 sent, 2 failed, 1 to retry, 1 held (")


def test_empty_recipients_holds_the_whole_queue(session, rsps, run, caplog):
    ids = [queue(session, A), queue(session, B), queue(session, A, text="Another text")]
    play(rsps, "invalid_sender_id")
    now = utcnow()
    with caplog.at_level(logging.ERROR, logger="service.messaging.dispatch"):
        summary = run(now)

    assert len(rsps.calls) == 1  # the second text was not tried after the account problem
    first, second, untried = rows(session, *ids)
    for row in (first, second, untried):
        assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 0, now + dispatch.ACCOUNT_HOLD)
    assert (first.failure_reason, first.gateway_status_code) == ("request refused: InvalidSenderId", 402)
    assert "ALERT" in caplog.text and "InvalidSenderId" in caplog.text
    assert summary.states["queued"] == 3

    run(now + dispatch.ACCOUNT_HOLD - dt.timedelta(seconds=1))  # still held: no request
    assert len(rsps.calls) == 1


def test_account_status_code_holds_queued_rows_too(session, rsps, run):
    sent = queue(session, A)
    play(rsps, "insufficient_balance")
    now = utcnow()
    later = queue(session, B, text="queued meanwhile")
    run(now, DISPATCH_BATCH_SIZE=1)
    first, waiting = rows(session, sent, later)
    assert (first.status, first.failure_reason, first.gateway_status_code) == \
        ("queued", "405 InsufficientBalance", 405)
    assert waiting.status == "queued" and waiting.next_attempt_at == now + dispatch.ACCOUNT_HOLD


def test_auth_refusal_alerts_without_a_tight_loop(session, rsps, run, caplog):
    row_id = queue(session, A)
    play(rsps, "auth_401")
    now = utcnow()
    with caplog.at_level(logging.ERROR, logger="service.messaging.dispatch"):
        run(now)
    (row,) = rows(session, row_id)
    assert row.status == "queued" and row.next_attempt_at == now + dispatch.ACCOUNT_HOLD
    assert row.failure_reason == "AT refused the credentials: The supplied authentication is invalid"
    assert "ALERT" in caplog.text
    for seconds in (1, 5, 60):
        run(now + dt.timedelta(seconds=seconds))
    assert len(rsps.calls) == 1


def test_json_with_charset_read_from_string(session, rsps, run):
    text = "Нархи пахта: 7,50 сомонӣ/кг"
    row_id = queue(session, A, text=text)
    play(rsps, "success_charset")
    run()
    assert form(rsps.calls[0])["message"] == text
    (row,) = rows(session, row_id)
    assert (row.status, row.gateway_message_id, row.billed_parts, row.cost) == \
        ("accepted", "ATXid_c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6", 2, "TJS 0.2000")


def test_connection_error_is_an_outage_that_keeps_the_attempt(session, rsps, run):
    row_id = queue(session, A)
    play(rsps, "connection_error")
    now = utcnow()
    summary = run(now)
    (row,) = rows(session, row_id)
    assert (row.status, row.attempts, row.failure_reason) == ("queued", 0, "connection failed: ConnectionError")
    assert row.next_attempt_at == now + dt.timedelta(seconds=30) == summary.held_until
    run(now + dt.timedelta(seconds=10))  # the gateway is held: nothing sent
    assert len(rsps.calls) == 1
    play(rsps, "success_charset")
    run(now + dt.timedelta(seconds=31))
    (row,) = rows(session, row_id)
    assert (row.status, row.attempts, row.failure_reason) == ("accepted", 1, None)


def test_recipient_error_backs_off_exponentially_then_gives_up(session, rsps, run):
    row_id = queue(session, A)
    (row,) = rows(session, row_id)
    row.attempts = dispatch.MAX_ATTEMPTS - 2
    session.commit()
    play(rsps, "recipient_500")
    now = utcnow()
    run(now)
    (row,) = rows(session, row_id)
    assert row.status == "queued" and row.attempts == dispatch.MAX_ATTEMPTS - 1
    low = min(dispatch.BACKOFF_CAP, dispatch.BACKOFF_BASE * 2 ** (dispatch.MAX_ATTEMPTS - 2))
    assert now + low / 2 <= row.next_attempt_at <= now + low  # 30 s · 2^(n-1), capped, · [0.5, 1]
    assert row.failure_reason == "500 InternalServerError"

    play(rsps, "recipient_500")
    run(now + dispatch.BACKOFF_CAP)
    (row,) = rows(session, row_id)
    assert (row.status, row.attempts) == ("failed", dispatch.MAX_ATTEMPTS)
    assert row.failure_reason == f"gave up after {dispatch.MAX_ATTEMPTS} attempts: 500 InternalServerError"


def test_recipient_missing_from_the_answer_is_unconfirmed_not_held(session, rsps, run):
    ids = [queue(session, A), queue(session, B)]
    play(rsps, "missing_recipient")
    run()
    a, b = rows(session, *ids)
    assert a.status == "accepted"
    assert (b.status, b.gateway_message_id) == ("unconfirmed", None)
    assert b.failure_reason.startswith("missing from AT answer: AT may have accepted it")


def test_read_timeout_is_never_resent(session, rsps, run):
    row_id = queue(session, A)
    play(rsps, "read_timeout")
    now = utcnow()
    run(now)
    (row,) = rows(session, row_id)
    assert (row.status, row.gateway_message_id) == ("unconfirmed", None)
    assert row.failure_reason == "read timeout: AT may have accepted it; not resent"
    run(now + dt.timedelta(days=1))
    assert len(rsps.calls) == 1


def test_bad_phone_fails_alone(session, rsps, run):
    ids = [queue(session, A), queue(session, "992-90-123"), queue(session, B)]
    play(rsps, "success")
    run()
    assert form(rsps.calls[0])["to"] == f"{A},{B}"
    good, bad, other = rows(session, *ids)
    assert (bad.status, bad.failure_reason) == ("failed", "invalid phone number")
    assert good.status == other.status == "accepted"


def test_identical_texts_grouped_in_requests_of_at_most_100(session, rsps, run):
    phones = [f"+9929{n:08d}" for n in range(150)]
    ids = [queue(session, p) for p in phones]
    ids.append(queue(session, phones[0]))  # the same text to the same phone again: another request
    ids.append(queue(session, phones[1], text="A different text"))
    rsps.add_callback(responses.POST, recordings.SEND_URL, callback=recordings.accept_all,
                      content_type="application/json")
    summary = run(DISPATCH_BATCH_SIZE=500)

    sizes = sorted((len(form(c)["to"].split(",")), form(c).get("enqueue")) for c in rsps.calls)
    assert sizes == [(1, None), (51, "1"), (100, "1")]
    for call in rsps.calls:
        to = form(call)["to"].split(",")
        assert len(set(to)) == len(to)
    got = rows(session, *ids)
    assert {r.status for r in got} == {"accepted"}
    assert len({r.gateway_message_id for r in got}) == len(got)
    assert summary.sent == 152


def test_row_with_message_id_is_never_sent_again(session, rsps, run):
    row_id = queue(session, A)
    (row,) = rows(session, row_id)
    row.gateway_message_id = "ATXid_already"
    session.commit()
    summary = run()
    assert summary.claimed == 0 and len(rsps.calls) == 0
    assert rows(session, row_id)[0].status == "queued"


def test_delivery_report_before_the_id_is_stored_is_applied_after(client, session, rsps, run):
    ids = [queue(session, A), queue(session, B)]
    posted = client.post("/sms/delivery?key=hook-secret-of-at-least-32-characters",
                         data={"id": "ATXid_5f0c3a1e2b7d4c1a9e8f6b2d3c4a5e6f", "status": "Success",
                               "phoneNumber": A, "networkCode": "43601", "retryCount": "0"})
    assert posted.status_code == 200
    session.expire_all()
    assert session.scalar(select(DeliveryReport.applied)) is False

    play(rsps, "success")
    run()
    a, b = rows(session, *ids)
    assert (a.status, b.status) == ("delivered", "accepted")
    assert a.delivered_at is not None
    assert session.scalar(select(func.count()).where(DeliveryReport.applied.is_(True))) == 1
