"""A dispatcher killed in the middle of a batch loses no message and sends none twice
beyond the ones AT may have accepted (issue 4, "Done when").

The real africastalking SDK talks HTTP to a fake AT endpoint on 127.0.0.1. A
dispatcher process (forked) claims three batches; AT answers the first, the
second request hangs and the process is killed with SIGKILL while it waits;
the third batch was never handed to AT. The sweep gives the third batch back
to the queue, a new dispatcher sends it, and the second batch (AT may have
accepted it) is marked unconfirmed, never resent.
"""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import threading
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from service.messaging import delivery
from service.messaging import gateways
from service.db import make_engine, make_sessionmaker, utcnow
from service.features import import_models
from service.messaging.dispatch import dispatch_once
from service.messaging.message import OutboundMessage, queue_sms

pytestmark = pytest.mark.slow  # forks dispatcher processes and kills them

TEXTS = ("Frost tonight: cover seedlings", "Onion price 1.40 TJS", "Meeting on Friday")
PHONES = ("+992900700001", "+992900700002", "+992900700003")
SETTINGS = {"SMS_GATEWAY": "africastalking", "AT_USERNAME": "dehqon", "AT_API_KEY": "test-key",
            "AT_SENDER_ID": None, "AT_TIMEOUT": (3.05, 30), "DISPATCH_BATCH_SIZE": 100,
            "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00", "SEND_RATE_SEGMENTS_PER_SECOND": 0,
            "TIMEZONE": "Asia/Dushanbe"}


class FakeAT:
    """AT's bulk SMS endpoint on 127.0.0.1: records every (text, phone) it receives; the
    ``hang_on``-th request never gets an answer until ``release``."""

    def __init__(self, hang_on: int):
        self.received: list[tuple[str, str]] = []
        self.requests = 0
        self.hanging = threading.Event()
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                numbers = form["to"][0].split(",")
                fake.requests += 1
                fake.received += [(form["message"][0], n) for n in numbers]
                if fake.requests == hang_on:
                    fake.hanging.set()
                    fake.release.wait(30)
                    return
                answer = json.dumps({"SMSMessageData": {"Message": "Sent", "Recipients": [
                    {"statusCode": 101, "number": n, "status": "Success", "cost": "TJS 0.1000",
                     "messageId": f"ATXid_{fake.requests}_{n}", "messageParts": 1} for n in numbers]}}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/version1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()


def _gateway(url: str):
    gateway = gateways.for_settings(SETTINGS)
    gateway._sms._baseUrl = url  # the real SDK, pointed at the fake endpoint
    return gateway


def _dispatcher_process(database_url: str, at_url: str) -> None:
    import_models()
    dispatch_once(make_sessionmaker(make_engine(database_url)), _gateway(at_url), SETTINGS)


def test_killed_dispatcher_loses_nothing_and_resends_nothing_at_may_have(app, session):
    for text in TEXTS:
        for phone in PHONES:
            queue_sms(session, phone, text, kind="notice")
    session.commit()
    fake = FakeAT(hang_on=2)
    try:
        child = multiprocessing.get_context("fork").Process(
            target=_dispatcher_process, args=(app.config["DATABASE_URL"], fake.url))
        child.start()
        assert fake.hanging.wait(30), "the dispatcher never reached the second request"
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL

        def states():
            session.expire_all()
            return Counter((r.text, r.status) for r in session.scalars(select(OutboundMessage)))

        assert states() == Counter({(TEXTS[0], "accepted"): 3, (TEXTS[1], "sending"): 3, (TEXTS[2], "sending"): 3})

        later = utcnow() + dt.timedelta(minutes=11)
        assert delivery.sweep(session, later)["requeued"] == 3  # never handed to AT: safe to send
        session.commit()
        summary = dispatch_once(app.extensions["dehqon.sessionmaker"], _gateway(fake.url), SETTINGS, now=later)
        assert summary.sent == 3
        assert delivery.sweep(session, later + dt.timedelta(hours=2))["stuck"] == 3  # AT may have them
        session.commit()
        assert states() == Counter({(TEXTS[0], "accepted"): 3, (TEXTS[1], "unconfirmed"): 3,
                                    (TEXTS[2], "accepted"): 3})
        # every message reached AT exactly once: none lost, none twice
        assert Counter(fake.received) == Counter({(t, p): 1 for t in TEXTS for p in PHONES})
    finally:
        fake.close()

