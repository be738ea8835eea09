"""Delivery reports and opt-out notices (tables in ``tests/cases/delivery.py``), orphans and the sweep."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from cases.delivery import CASES, MATCH_CASES, MID, PHONE, TOKEN, Case, MatchCase, dlr
from service.messaging import delivery
from service.db import utcnow
from service.messaging.message import DeliveryReport, OutboundMessage, queue_sms
from service.messaging.optout import Suppression


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN}


def add_row(session, message_id: str | None, status: str, sent_at=None, submitted: bool = True) -> int:
    row = queue_sms(session, PHONE, "Salom", kind="notice")
    row.status, row.gateway_message_id, row.sent_at = status, message_id, sent_at or utcnow()
    row.submitted_at = row.sent_at if submitted else None
    session.commit()
    return row.id


def post(client, p):
    query = {"key": p.key} if p.key is not None else None
    if p.form is not None:
        return client.post(p.path, query_string=query, data=p.form)
    return client.post(p.path, query_string=query, data=p.body, content_type=p.content_type)


def by_message_id(session, message_id):
    return session.scalar(select(OutboundMessage).where(OutboundMessage.gateway_message_id == message_id))


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_callback(case: Case, client, session):
    for message_id, status in case.outbox.items():
        add_row(session, message_id, status)

    for p in case.posts:
        resp = post(client, p)
        assert resp.status_code == p.expect, resp.get_data(as_text=True)
        if p.expect == 200:
            assert resp.get_data(as_text=True) == "OK"

    session.expire_all()
    for message_id, status in case.states.items():
        assert by_message_id(session, message_id).status == status
    for message_id, reason in case.reasons.items():
        assert by_message_id(session, message_id).failure_reason == reason
    assert session.scalar(select(func.count()).select_from(DeliveryReport)) == case.reports
    assert session.scalar(select(func.count()).where(DeliveryReport.applied.is_(False))) == case.orphans
    assert set(session.scalars(select(Suppression.phone))) == case.suppressed
    if case.report:
        first = session.scalars(select(DeliveryReport).order_by(DeliveryReport.id)).first()
        assert {name: getattr(first, name) for name in case.report} == case.report


@pytest.mark.parametrize("case", MATCH_CASES, ids=[c.label for c in MATCH_CASES])
def test_orphan_report_matched_to_unconfirmed_row(case: MatchCase, client, session):
    now = utcnow()
    ids = {}
    for label, (status, message_id, phone, minutes) in case.rows.items():
        row = queue_sms(session, phone, f"Salom {label}", kind="notice")
        row.status, row.gateway_message_id = status, message_id
        row.sent_at = row.submitted_at = now - dt.timedelta(minutes=minutes)
        session.commit()
        ids[label] = row.id
    for p in case.posts:
        assert post(client, p).status_code == 200
    session.expire_all()
    got = {label: (session.get(OutboundMessage, i).status, session.get(OutboundMessage, i).gateway_message_id)
           for label, i in ids.items()}
    assert got == case.expect
    assert session.scalar(select(func.count()).where(DeliveryReport.applied.is_(False))) == case.orphans


def test_orphan_parked_while_in_flight_is_matched_by_the_sweep(session):
    """The dispatcher stopped mid-send; AT's report came meanwhile and was parked."""
    now = utcnow()
    row_id = add_row(session, None, "sending", sent_at=now - dt.timedelta(minutes=70))
    assert delivery.record_report(session, message_id="ATXid_parked", status="Success", phone=PHONE,
                                  now=now - dt.timedelta(minutes=60)) == delivery.ORPHAN
    session.commit()
    counts = delivery.sweep(session, now)
    session.commit()
    assert (counts["stuck"], counts["matched"]) == (1, 1)
    session.expire_all()
    row = session.get(OutboundMessage, row_id)
    assert (row.status, row.gateway_message_id, row.failure_reason) == ("delivered", "ATXid_parked", None)


def test_unconfirmed_rows_never_matched_are_settled_not_resent(session):
    now = utcnow()
    unmatched = add_row(session, None, "unconfirmed", sent_at=now - dt.timedelta(hours=25))
    young = add_row(session, None, "unconfirmed", sent_at=now - dt.timedelta(hours=23))
    unreported = add_row(session, "ATXid_silent", "unconfirmed", sent_at=now - dt.timedelta(hours=73))
    reported_late = add_row(session, "ATXid_late_report", "unconfirmed", sent_at=now - dt.timedelta(hours=71))
    assert delivery.sweep(session, now)["settled"] == 2
    session.commit()
    session.expire_all()
    got = {i: session.get(OutboundMessage, i) for i in (unmatched, young, unreported, reported_late)}
    assert (got[unmatched].status, got[unmatched].failure_reason) == \
        ("failed", "outcome unknown: no delivery report within 24 h; not resent")
    assert (got[unreported].status, got[unreported].failure_reason) == \
        ("failed", "outcome unknown: accepted by AT, no final delivery report within 72 h; not resent")
    assert got[young].status == got[reported_late].status == "unconfirmed"


def test_report_keeps_the_raw_fields(client, session):
    add_row(session, MID, "accepted")
    p = dlr("Failed", reason="DeliveryFailure", retry="2")
    assert post(client, p).status_code == 200
    report = session.scalar(select(DeliveryReport))
    assert (report.gateway_message_id, report.status, report.phone, report.network_code,
            report.failure_reason, report.retry_count, report.applied) == \
        (MID, "Failed", PHONE, "43601", "DeliveryFailure", 2, True)


def test_delivered_at_set_on_success(client, session):
    row_id = add_row(session, MID, "accepted")
    post(client, dlr("Success"))
    session.expire_all()
    assert session.get(OutboundMessage, row_id).delivered_at is not None


def test_orphan_applied_when_the_id_appears_within_a_day(session):
    now = utcnow()
    assert delivery.record_report(session, message_id="ATXid_late", status="Success", now=now) == delivery.ORPHAN
    assert delivery.record_report(session, message_id="ATXid_stale", status="Success",
                                  now=now - dt.timedelta(hours=25)) == delivery.ORPHAN
    late = add_row(session, "ATXid_late", "accepted")
    stale = add_row(session, "ATXid_stale", "accepted")
    assert delivery.sweep(session, now)["orphans"] == 1
    session.commit()
    session.expire_all()
    assert session.get(OutboundMessage, late).status == "delivered"
    assert session.get(OutboundMessage, stale).status == "accepted"  # orphan expired after 24 h


def test_sweep_marks_rows_without_final_report_and_stuck_sends(session):
    now = utcnow()
    silent = add_row(session, "ATXid_1", "in_transit", sent_at=now - dt.timedelta(hours=25))
    recent = add_row(session, "ATXid_2", "accepted", sent_at=now - dt.timedelta(hours=23))
    stuck = add_row(session, None, "sending", sent_at=now - dt.timedelta(hours=2))
    sending = add_row(session, None, "sending", sent_at=now - dt.timedelta(minutes=5))
    never_sent = add_row(session, None, "sending", sent_at=now - dt.timedelta(minutes=11), submitted=False)
    claimed_now = add_row(session, None, "sending", sent_at=now - dt.timedelta(minutes=5), submitted=False)
    assert delivery.sweep(session, now) == {"no_report": 1, "requeued": 1, "stuck": 1, "orphans": 0, "matched": 0,
                                            "settled": 0, "expired": 0, "released": 0, "held_failed": 0}
    session.commit()
    session.expire_all()
    got = {i: session.get(OutboundMessage, i) for i in (silent, recent, stuck, sending, never_sent, claimed_now)}
    assert (got[never_sent].status, got[never_sent].next_attempt_at) == ("queued", now)
    assert got[claimed_now].status == "sending"
    assert (got[silent].status, got[silent].failure_reason) == ("unconfirmed", "no delivery report after 24 h")
    assert got[recent].status == "accepted"
    assert got[stuck].status == "unconfirmed"
    assert got[sending].status == "sending"


def test_callbacks_answer_503_when_nothing_can_be_stored_then_200_on_the_retry(app, client, session):
    from test_sms import table_away

    form = {"id": "ATXid_later", "status": "Success", "phoneNumber": PHONE, "retryCount": "0"}
    with table_away(app, session, "delivery_report"):
        assert client.post(f"/sms/delivery?key={TOKEN}", data=form).status_code == 503
    optout = {"senderId": "DEHQON", "phoneNumber": PHONE}
    with table_away(app, session, "suppression"):
        assert client.post(f"/sms/optout?key={TOKEN}", data=optout).status_code == 503
    assert client.post(f"/sms/delivery?key={TOKEN}", data=form).status_code == 200  # AT's retry is stored
    assert client.post(f"/sms/optout?key={TOKEN}", data=optout).status_code == 200
    session.expire_all()
    assert session.scalars(select(DeliveryReport)).one().gateway_message_id == "ATXid_later"
