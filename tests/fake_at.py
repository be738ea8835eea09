"""A fake Africa's Talking bulk SMS endpoint on 127.0.0.1 for the real ``africastalking`` SDK.

:class:`FakeAT` serves ``POST /version1/messaging`` over real HTTP. ``mode`` says how
it answers: ``"accept"`` (HTTP 201, every recipient accepted with its own
``messageId``), ``"error500"`` (HTTP 500 with an HTML body, nothing taken) or
``"slow"`` (accepts, but only after ``delay`` seconds: longer than a short read
timeout, the sender never reads the answer). ``received`` lists every
(text, phone) AT took; ``ids`` the messageId given to each (text, phone).
``on_request(pairs)`` runs on the server thread once a request has been taken
and before it is answered (e.g. to post delivery reports meanwhile).
:func:`dead_url` is an address where connections are refused.
"""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from service.messaging import gateways


class FakeAT:
    def __init__(self, mode: str = "accept", delay: float = 0.0):
        self.mode, self.delay = mode, delay
        self.received: list[tuple[str, str]] = []
        self.ids: dict[tuple[str, str], str] = {}
        self.requests = 0
        self.refused = 0  # requests answered HTTP 500
        self.on_request: Callable[[list[tuple[str, str]]], None] | None = None
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                text, numbers = form["message"][0], form["to"][0].split(",")
                with fake._lock:
                    fake.requests += 1
                    if fake.mode == "error500":
                        fake.refused += 1
                        return self._answer(500, "text/html",
                                            b"<html><body><h1>500 Internal Server Error</h1></body></html>")
                    pairs = [(text, n) for n in numbers]
                    for pair in pairs:
                        fake.ids[pair] = f"ATXid_fake{len(fake.ids) + 1:06d}"
                    fake.received += pairs
                    recipients = [{"statusCode": 101, "number": n, "status": "Success", "cost": "TJS 0.1000",
                                   "messageId": fake.ids[(text, n)], "messageParts": 1} for n in numbers]
                if fake.on_request:
                    fake.on_request(pairs)
                if fake.mode == "slow":
                    time.sleep(fake.delay)
                body = json.dumps({"SMSMessageData": {"Message": f"Sent to {len(numbers)}/{len(numbers)}",
                                                      "Recipients": recipients}}).encode()
                self._answer(201, "application/json", body)

            def _answer(self, status: int, content_type: str, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/version1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def dead_url() -> str:
    """An address on 127.0.0.1 where nothing listens: every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/version1"


def gateway(settings: dict, url: str):
    """The real AT adapter (real SDK) from ``settings``, pointed at ``url``. The SDK's service
    object is shared by the process: :func:`restore` puts the real address back."""
    adapter = gateways.for_settings(settings)
    adapter.real_url = getattr(adapter._sms, "real_url", adapter._sms._baseUrl)
    adapter._sms.real_url = adapter.real_url
    adapter._sms._baseUrl = url
    return adapter


def restore(adapter) -> None:
    """Point the SDK back at AT's own host."""
    adapter._sms._baseUrl = adapter.real_url
