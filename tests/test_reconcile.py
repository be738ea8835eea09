"""A read-timeout batch is settled by its delivery reports (issue 7, item 2; "Done when").

The real SDK sends to a fake AT on 127.0.0.1 that takes the request, gives every
recipient a messageId, and answers only after the sender's read timeout: the rows
are ``unconfirmed`` without a message id. AT's delivery reports then come through
``POST /sms/delivery`` (the test client), either after the dispatcher marked the
rows unconfirmed or while it was still waiting for AT's answer. They are matched
by phone and time (``service.messaging.delivery``), and nothing is sent twice.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

import fake_at
from service import session_factory
from service.messaging import delivery
from service.messaging import dispatch
from service.db import utcnow
from service.messaging.message import DeliveryReport, OutboundMessage, queue_sms

TOKEN = "hook-secret-of-at-least-32-characters"
PHONES = ("+992900800001", "+992900800002", "+992900800003")
TEXT = "Frost tonight: cover the seedlings"
SETTINGS = {"SMS_GATEWAY": "africastalking", "AT_USERNAME": "dehqon-timeout", "AT_API_KEY": "test-key",
            "AT_SENDER_ID": None, "AT_TIMEOUT": (3.05, 0.3), "DISPATCH_BATCH_SIZE": 100,
            "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00", "SEND_RATE_SEGMENTS_PER_SECOND": 0,
            "TIMEZONE": "Asia/Dushanbe"}
# what AT reports for each phone, in order
REPORTS = {PHONES[0]: ["Success"], PHONES[1]: ["Sent", "Success"], PHONES[2]: ["Submitted"]}
FINAL = {PHONES[0]: "delivered", PHONES[1]: "delivered", PHONES[2]: "in_transit"}


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN}


@pytest.fixture
def fake():
    server = fake_at.FakeAT(mode="slow", delay=1.0)
    yield server
    server.close()


def post_reports(app, fake, phones=PHONES):
    client = app.test_client()
    for phone in phones:
        for status in REPORTS[phone]:
            answer = client.post(f"/sms/delivery?key={TOKEN}",
                                 data={"id": fake.ids[(TEXT, phone)], "status": status, "phoneNumber": phone,
                                       "networkCode": "43601", "retryCount": "0"})
            assert answer.status_code == 200


def states(session):
    session.expire_all()
    return {r.phone: (r.status, r.gateway_message_id) for r in session.scalars(select(OutboundMessage))}


@pytest.mark.parametrize("reports_come", ["after the rows are unconfirmed", "while AT keeps the request waiting"])
def test_read_timeout_batch_settled_by_its_delivery_reports(app, session, fake, reports_come):
    for phone in PHONES:
        queue_sms(session, phone, TEXT, kind="alert")
    session.commit()
    posted = threading.Event()
    if reports_come.startswith("while"):
        def on_request(pairs):  # on the fake's thread; a slow machine may still be posting after the timeout
            try:
                post_reports(app, fake)
            finally:
                posted.set()
        fake.on_request = on_request
    gateway = fake_at.gateway({**app.config, **SETTINGS}, fake.url)
    try:
        summary = dispatch.dispatch_once(session_factory(app), gateway, {**app.config, **SETTINGS})
        assert summary.states["unconfirmed"] == 3 and summary.sent == 0
        if reports_come.startswith("after"):
            assert {s for s, _ in states(session).values()} == {"unconfirmed"}
            post_reports(app, fake)
        else:
            assert posted.wait(30), "the delivery reports were not posted"
        got = states(session)
        assert got == {p: (FINAL[p], fake.ids[(TEXT, p)]) for p in PHONES}
        # no report left parked, and nothing is sent again later
        assert session.scalar(select(func.count()).where(DeliveryReport.applied.is_(False))) == 0
        later = utcnow() + dt.timedelta(hours=1)
        dispatch.dispatch_once(session_factory(app), gateway, {**app.config, **SETTINGS}, now=later)
        delivery.sweep(session, later)
        session.commit()
        assert states(session) == got
        assert Counter(fake.received) == Counter({(TEXT, p): 1 for p in PHONES})
        assert fake.requests == 1
    finally:
        fake_at.restore(gateway)
