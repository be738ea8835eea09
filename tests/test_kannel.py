"""Kannel: the callbacks (tables of ``tests/cases/kannel.py``) and the sendsms adapter against
``tests/fake_kannel.py`` (classification, coding, the dlr-url) and the dispatcher end to end."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cases.kannel import DLR_CASES, MID, MO_CASES, PHONE, TOKEN, DlrCase, MoCase, Req
from service.db import utcnow
from service.messaging.message import DeliveryReport, InboundMessage, OutboundMessage, queue_sms


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN}


def send(client, path: str, r: Req):
    query = r.query if r.key is None else (f"key={r.key}&{r.query}" if r.query else f"key={r.key}")
    url = f"{path}?{query}" if query else path
    if r.method == "GET":
        return client.get(url)
    return client.post(url, data=r.body, content_type=r.content_type)


@pytest.mark.parametrize("case", MO_CASES, ids=[c.label for c in MO_CASES])
def test_inbound(case: MoCase, client, session):
    for r in case.requests:
        resp = send(client, "/kannel/inbound", r)
        assert resp.status_code == r.expect, resp.get_data(as_text=True)
        if r.expect == 200:
            assert resp.get_data() == b""  # smsbox sends no reply of its own
            assert resp.mimetype == "text/plain"
    rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert len(rows) == len(case.inbound)
    for row, expected in zip(rows, case.inbound):
        assert {name: getattr(row, name) for name in expected} == expected
    replies = session.scalar(select(func.count()).select_from(OutboundMessage))
    assert replies == case.replies


@pytest.mark.parametrize("case", DLR_CASES, ids=[c.label for c in DLR_CASES])
def test_delivery(case: DlrCase, client, session):
    for message_id, state in case.outbox.items():
        row = queue_sms(session, PHONE, "Salom", kind="notice")
        row.status, row.gateway_message_id = state, message_id
        row.sent_at = row.submitted_at = utcnow()
    session.commit()
    for r in case.requests:
        resp = send(client, "/kannel/delivery", r)
        assert resp.status_code == r.expect, resp.get_data(as_text=True)
        if r.expect == 200:
            assert resp.get_data() == b""
    session.expire_all()
    for message_id, state in case.states.items():
        row = session.scalar(select(OutboundMessage).where(OutboundMessage.gateway_message_id == message_id))
        assert row.status == state
    for message_id, reason in case.reasons.items():
        row = session.scalar(select(OutboundMessage).where(OutboundMessage.gateway_message_id == message_id))
        assert row.failure_reason == reason
    assert session.scalar(select(func.count()).select_from(DeliveryReport)) == case.reports
    assert session.scalar(select(func.count()).where(DeliveryReport.applied.is_(False))) == case.orphans


def test_orphan_report_applies_once_the_id_is_stored(client, session):
    """A report that overtakes the dispatcher's commit waits, then applies (as AT's orphans do)."""
    assert send(client, "/kannel/delivery", Req(f"id={MID}&type=1")).status_code == 200
    row = queue_sms(session, PHONE, "Salom", kind="notice")
    row.status, row.gateway_message_id, row.sent_at = "accepted", MID, utcnow()
    session.commit()
    from service.messaging import delivery
    assert delivery.apply_orphans(session, [MID]) == 1
    session.commit()
    session.expire_all()
    assert session.get(OutboundMessage, row.id).status == "delivered"
