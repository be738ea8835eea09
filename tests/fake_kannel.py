"""A fake Kannel smsbox ``sendsms`` endpoint on 127.0.0.1, answering as Kannel does
(``docs/gateway-kannel.md`` §2, §3).

:class:`FakeKannel` serves ``GET /cgi-bin/sendsms`` over real HTTP. It checks ``username`` and
``password`` (403 ``Authorization failed for sendsms`` otherwise) and ``to`` (400 ``Missing
receiver number`` when empty), then answers by ``mode``: ``"accept"`` (202 ``0: Accepted for
delivery``), ``"queued"`` (202 ``3: Queued for later delivery``), ``"error503"`` (503
``Sending failed.``: smsbox without bearerbox, nothing taken), ``"slow"`` (accepts, but
answers only after ``delay`` seconds), ``"teapot"`` (418, an answer Kannel never gives),
``"odd"`` (202 with a body Kannel never gives). ``answers`` maps a phone to its own
``(status, body)``, overriding the mode for that phone.

``received`` lists every message taken, as the query Kannel read (a dict of the parameters:
``to``, ``text`` decoded with ``charset``, ``coding``, ``dlr-mask``, ``dlr-url`` ...);
``requests`` counts every request. :func:`dead_url` is an address where connections are refused.
"""
from __future__ import annotations

import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERNAME, PASSWORD = "dehqon", "kannel-sendsms-password"


class FakeKannel:
    def __init__(self, mode: str = "accept", delay: float = 0.0, username: str = USERNAME,
                 password: str = PASSWORD):
        self.mode, self.delay = mode, delay
        self.username, self.password = username, password
        self.answers: dict[str, tuple[int, str]] = {}
        self.received: list[dict[str, str]] = []
        self.requests = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                url = urllib.parse.urlsplit(self.path)
                if url.path != "/cgi-bin/sendsms":
                    return self._answer(404, "Unknown request.")
                raw = urllib.parse.parse_qs(url.query, keep_blank_values=True, encoding="latin-1")
                query = {k: v[0] for k, v in raw.items()}
                charset = query.get("charset", "UTF-8")
                if "text" in query:  # Kannel reads text as bytes in ``charset``
                    query["text"] = query["text"].encode("latin-1").decode(charset)
                for name in ("dlr-url", "from", "smsc", "to", "username", "password"):
                    if name in query:
                        query[name] = query[name].encode("latin-1").decode("utf-8")
                with fake._lock:
                    fake.requests += 1
                    mode = fake.mode
                if query.get("username") != fake.username or query.get("password") != fake.password:
                    return self._answer(403, "Authorization failed for sendsms")
                if not query.get("to"):
                    return self._answer(400, "Missing receiver number")
                own = fake.answers.get(query["to"])
                if own is not None:
                    if 200 <= own[0] < 300:
                        with fake._lock:
                            fake.received.append(query)
                    return self._answer(*own)
                if mode == "error503":
                    return self._answer(503, "Sending failed.")
                if mode == "teapot":
                    return self._answer(418, "I'm a teapot")
                with fake._lock:
                    fake.received.append(query)
                if mode == "slow":
                    time.sleep(fake.delay)
                if mode == "odd":
                    return self._answer(202, "Thanks!")
                if mode == "queued":
                    return self._answer(202, "3: Queued for later delivery")
                return self._answer(202, "0: Accepted for delivery")

            def _answer(self, status: int, body: str) -> None:
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html")  # what smsbox sends
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/sendsms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def phones(self) -> list[str]:
        """The ``to`` of every message taken, in order."""
        with self._lock:
            return [q["to"] for q in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def dead_url() -> str:
    """A sendsms address on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cgi-bin/sendsms"
