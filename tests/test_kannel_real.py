"""The service with a real Kannel (``tests/kannel_harness.py``: Debian's bearerbox and smsbox,
``fakesmsc`` as the SMS centre) on 127.0.0.1; skipped, saying why, where Kannel is not installed.

- the requests Kannel makes and the answers it gives are the ones ``tests/cases/kannel_wire.py``
  records (so the handler's table tests replay real requests);
"""
from __future__ import annotations

import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from cases.kannel_wire import ANSWERS, PHONE, REQUESTS, SHORT_CODE, VARYING
from kannel_harness import Kannel, parse_lines, require_kannel

pytestmark = pytest.mark.slow  # starts bearerbox, smsbox and fakesmsc


class Recorder:
    """An HTTP server on 127.0.0.1 answering every request 200 with an empty body and keeping
    (path, raw query) of each; ``url`` its base."""

    def __init__(self):
        self.seen: list[tuple[str, str]] = []
        self.arrived = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    query = self.rfile.read(length).decode("latin-1")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "0")
                self.end_headers()
                with recorder.arrived:
                    recorder.seen.append((path, query))
                    recorder.arrived.notify_all()

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 20.0) -> list[tuple[str, str]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.seen) >= count, timeout)
            assert len(self.seen) >= count, f"{len(self.seen)} requests, not {count}: {self.seen}"
            return list(self.seen)

    def close(self):
        self.server.shutdown()


@pytest.fixture
def recorder():
    r = Recorder()
    yield r
    r.close()


def _pairs(query: str) -> list[tuple[str, str]]:
    """The query's (name, value) pairs with each value's bytes kept (latin-1), ``id``/``ts`` masked."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, encoding="latin-1")
    return [(k, "<varies>" if k in VARYING else v) for k, v in pairs]


def _decoded(query: str) -> dict[str, str]:
    """The query read the way the contract says: values as bytes, ``text`` decoded with ``charset``."""
    fields = dict(urllib.parse.parse_qsl(query, keep_blank_values=True, encoding="latin-1"))
    if "text" in fields:
        fields["text"] = fields["text"].encode("latin-1").decode(fields.get("charset") or "utf-8")
    return fields


def _mine(seen, path):
    """The part of each recorded query of ``path`` after our own ``key`` (and ``id`` of a DLR)."""
    out = []
    for p, query in seen:
        if p == path:
            query = re.sub(r"^key=[^&]*&", "", query)
            if path == "/kannel/delivery":
                query = re.sub(r"^id=[^&]*&", "", query)
            out.append(query)
    return out


def test_fakesmsc_lines_are_read_back_whole():
    """The harness reads fakesmsc's lines as bearerbox writes them (recorded): GSM text as is,
    UCS-2 decoded, a message in two parts joined by its UDH."""
    lines = [
        "2026-12-04 18:49:24 [1] [0] DEBUG: Got message 1: <1234 +992935550101 text Onion 3.50 TJS @ £>",
        "2026-12-04 18:49:24 [1] [0] DEBUG: Got message 2: <1234 +992935550101 ucs-2 "
        "%04%1F%048%04Q%047%00%3A%00+%003%00%2C%005%000>",
        "DEBUG: Got message 3: <1234 +992935550102 udh %05%00%03%07%02%02 data %04%3E%04%3C>",
        "DEBUG: Got message 4: <1234 +992935550102 udh %05%00%03%07%02%01 data %04%41%04%3E%04%3C>",
        "INFO: something else",
    ]
    got = parse_lines(lines)
    assert [(m.receiver, m.text, m.parts) for m in got] == [
        ("+992935550101", "Onion 3.50 TJS @ £", 1), ("+992935550101", "Пиёз: 3,50", 1),
        ("+992935550102", "сомом", 2)]


def _sendsms(kannel: Kannel, recorder: Recorder, text: str, coding: int, message_id: str) -> requests.Response:
    dlr_url = (f"{recorder.url}/kannel/delivery?key=tok&id={message_id}"
               "&type=%d&smsc=%i&ts=%T&answer=%A")
    return requests.get(kannel.sendsms_url, timeout=10, params={
        "username": kannel.username, "password": kannel.password, "to": PHONE, "text": text,
        "charset": "UTF-8", "coding": str(coding), "from": SHORT_CODE, "dlr-mask": "31", "dlr-url": dlr_url})


@pytest.mark.parametrize("mo_recode", [False, True], ids=["mo-recode-off", "mo-recode-on"])
def test_kannel_makes_the_requests_recorded(tmp_path, recorder, mo_recode):
    """Each request of ``cases.kannel_wire.REQUESTS`` made under this smsbox setting is made again,
    byte for byte but for ``id`` and ``ts``, and reads as the table says."""
    require_kannel()
    with Kannel(tmp_path / "kannel", f"{recorder.url}/kannel/inbound?key=tok", mo_recode=mo_recode) as kannel:
        setting = f"mo-recode = {'true' if mo_recode else 'false'}"
        expected = [r for r in REQUESTS if r.path == "/kannel/inbound"
                    and ("mo-recode" not in r.setup or setting in r.setup)]
        for request in expected:
            kannel.send_mo(request.means["from"], request.means["to"], request.means["text"],
                           coding="ucs2" if "'ucs2'" in request.setup else "text")
        seen = recorder.wait(len(expected))
        got = _mine(seen, "/kannel/inbound")
        assert [_pairs(q) for q in got] == [_pairs(r.query) for r in expected], kannel.logs()
        for query, request in zip(got, expected):
            fields = _decoded(query)
            assert {k: fields[k] for k in request.means} == request.means, request.label
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", fields["id"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", fields["ts"])

        if mo_recode:
            return
        answer = _sendsms(kannel, recorder, "Пиёз: 3,50 сомонӣ/кг", 2, "k0123456789abcdef")
        assert (answer.status_code, answer.text) == (202, "0: Accepted for delivery")
        seen = recorder.wait(len(expected) + 2)
        reports = [(p, q) for p, q in seen if p == "/kannel/delivery"]
        assert all(q.startswith("key=tok&id=k0123456789abcdef&") for _, q in reports), reports
        dlrs = sorted(_mine(reports, "/kannel/delivery"), key=lambda q: _decoded(q)["type"], reverse=True)
        table = [r for r in REQUESTS if r.path == "/kannel/delivery"]
        assert [_pairs(q) for q in dlrs] == [_pairs(r.query) for r in table]
        for query, request in zip(dlrs, table):
            assert {k: _decoded(query)[k] for k in request.means} == request.means, request.label
            assert re.fullmatch(r"\d{10}", _decoded(query)["ts"])
        (mt,) = kannel.wait_received(1)
        assert (mt.sender, mt.receiver, mt.text) == (SHORT_CODE, PHONE, "Пиёз: 3,50 сомонӣ/кг")


def test_sendsms_answers_as_recorded(tmp_path, recorder):
    """smsbox answers each request of ``cases.kannel_wire.ANSWERS`` with the status and body recorded."""
    require_kannel()
    with Kannel(tmp_path / "kannel", f"{recorder.url}/kannel/inbound?key=tok") as kannel:
        good = {"username": kannel.username, "password": kannel.password, "to": PHONE, "text": "Onion 3.50 TJS",
                "charset": "UTF-8", "coding": "0", "from": SHORT_CODE}
        got = []
        for case in ANSWERS:
            if case.smsc_down:
                kannel.disconnect_smsc()
            params = {k: v for k, v in {**good, **case.change}.items() if v is not None}
            answer = requests.get(kannel.sendsms_url, params=params, timeout=10)
            got.append((case.label, answer.status_code, answer.text))
            if case.smsc_down:
                kannel.connect_smsc()
        assert got == [(c.label, c.status, c.body) for c in ANSWERS], kannel.logs()
        # the two accepted messages reach the SMS centre (the queued one once it is back); nothing else
        assert [m.text for m in kannel.wait_received(2)] == ["Onion 3.50 TJS"] * 2
        kannel.stop()
        with pytest.raises(requests.ConnectionError):  # stopped: the port refuses (an outage)
            requests.get(kannel.sendsms_url, params=good, timeout=10)
