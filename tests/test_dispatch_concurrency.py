"""Dispatchers running at the same time never send one outbox row twice.

Four threads, each with its own sessions, run passes until the outbox is
empty; the real SDK sends and the replayed AT answers accept everything.
Every phone must have been in exactly one request.
"""
from __future__ import annotations

import threading
import time

import pytest
import responses

import recordings
from service import session_factory
from service.messaging import dispatch
from service.messaging import gateways
from service.messaging.message import OutboundMessage, queue_sms


@pytest.fixture
def app_settings():
    return {"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "hook-secret-of-at-least-32-characters", "AT_USERNAME": "sandbox",
            "AT_API_KEY": "test-api-key", "AT_SENDER_ID": None, "DISPATCH_BATCH_SIZE": 15}


def test_concurrent_dispatchers_send_each_row_once(app, session):
    phones = [f"+9929{n:08d}" for n in range(240)]
    for n, phone in enumerate(phones):
        queue_sms(session, phone, f"Advice {n % 3}", kind="tip")
    session.commit()

    sent: list[str] = []
    lock = threading.Lock()

    def slow_accept(request):
        time.sleep(0.005)  # keep the passes overlapping
        answer = recordings.accept_all(request)
        with lock:
            sent.extend(recordings.fields(request)["to"].split(","))
        return answer

    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker():
        try:
            gateway = gateways.for_settings(app.config)
            start.wait()
            while dispatch.dispatch_once(session_factory(app), gateway, app.config).claimed:
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.POST, recordings.SEND_URL, callback=slow_accept,
                          content_type="application/json")
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)

    assert not errors
    assert sorted(sent) == sorted(phones)  # each phone once: no row sent twice, none left out
    session.expire_all()
    assert {r.status for r in session.query(OutboundMessage)} == {"accepted"}
