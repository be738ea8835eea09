"""The service with a real Kannel (``tests/kannel_harness.py``: Debian's bearerbox and smsbox,
``fakesmsc`` as the SMS centre) on 127.0.0.1; skipped, saying why, where Kannel is not installed.

- the requests Kannel makes and the answers it gives are the ones ``tests/cases/kannel_wire.py``
  records (so the handler's table tests replay real requests);
- a farmer's ``НАРХ пиёз`` goes in through Kannel and its Cyrillic answer comes out through it,
  with its delivery report; a broadcast of 1,000 loses nothing; Kannel stopped in the middle of
  a broadcast and started again loses nothing and sends at most the one cut-off message twice
  (``docs/gateway-kannel-testing.md`` §4, §5), on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from sqlalchemy import select

from cases.kannel_wire import ANSWERS, PHONE, REQUESTS, SHORT_CODE, VARYING
from kannel_harness import Kannel, free_port, parse_lines, require_kannel
from service.farmers.models import Farmer
from service.messaging import gateway_state, gateways
from service.messaging.dispatch import dispatch_once
from service.messaging.message import DeliveryReport, InboundMessage, OutboundMessage, queue_sms

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
                # bearerbox counts a message sent once it is written to the fake SMS centre's socket:
                # the centre must have read every accepted one before it is taken away
                kannel.wait_received(sum(status == 202 for _, status, _ in got))
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


# --- the service, its dispatcher and a real Kannel -------------------------------------------------

TOKEN = "kannel-real-webhook-token-0123456789abcdef"  # ≥ 32 characters, as for a deployment
BROADCAST = "Огоҳӣ: шаби имрӯз сармо. Ниҳолҳоро пӯшонед."  # Cyrillic: UCS-2, one SMS
BROADCAST_PHONES = [f"+99290080{n:04d}" for n in range(1000)]


@pytest.fixture
def service_port():
    return free_port()


@pytest.fixture
def kannel(tmp_path, service_port):
    """A started Kannel whose sms-service posts to the service on ``service_port``."""
    require_kannel()
    k = Kannel(tmp_path / "kannel", f"http://127.0.0.1:{service_port}/kannel/inbound?key={TOKEN}")
    try:
        k.start()
        yield k
    finally:
        k.close()


@pytest.fixture
def app_settings(kannel, service_port):
    return {"SMS_GATEWAY": "kannel", "WEBHOOK_TOKEN": TOKEN, "KANNEL_SENDSMS_URL": kannel.sendsms_url,
            "KANNEL_USERNAME": kannel.username, "KANNEL_PASSWORD": kannel.password, "KANNEL_FROM": SHORT_CODE,
            "KANNEL_CALLBACK_URL": f"http://127.0.0.1:{service_port}", "KANNEL_TIMEOUT": "10"}


@pytest.fixture
def service(app, service_port):
    """The app served over real HTTP on ``service_port`` (Kannel's callbacks reach it there)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", service_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{service_port}"
    server.shutdown()
    thread.join(5)


def _dispatch(app, gateway, now=None):
    return dispatch_once(app.extensions["dehqon.sessionmaker"], gateway, app.config, now=now)


def _rows(session, **where):
    session.expire_all()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboundMessage, name) == value)
    return session.scalars(query).all()


def _inbound(session, phone):
    session.expire_all()
    return session.scalars(select(InboundMessage).where(InboundMessage.phone == phone)).all()


def _wait_for(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert value, f"not within {timeout:.0f} s: {what}"
    return value


def test_a_farmers_price_question_and_its_cyrillic_reply_go_through_kannel(app, service, runner, session, kannel):
    """A registered farmer of the demo region sends НАРХ пиёз through Kannel: the service reads
    the UCS-2 message, answers in Tajik; the answer leaves through Kannel, reaches the SMS centre
    in Cyrillic, and its delivery report moves the outbox row to delivered."""
    result = runner.invoke(args=["demo-data", "--farmers", "60", "--seed", "7"])
    assert result.exit_code == 0, result.output
    farmer = session.scalars(select(Farmer).where(Farmer.language == "tg", Farmer.phone.is_not(None))
                             .order_by(Farmer.id)).first()
    before = {r.id for r in _rows(session)}

    kannel.send_mo(farmer.phone, SHORT_CODE, "НАРХ пиёз")  # UCS-2 from the SMS centre
    inbound = _wait_for("the message stored", lambda: _inbound(session, farmer.phone))
    assert [(m.text, m.to, m.status) for m in inbound] == [("НАРХ пиёз", SHORT_CODE, "processed")], kannel.logs()
    (reply,) = [r for r in _rows(session, phone=farmer.phone) if r.id not in before]
    assert reply.in_reply_to == inbound[0].id and reply.encoding == "UCS-2"
    assert reply.text.startswith("Пиёз"), reply.text

    summary = _dispatch(app, gateways.for_routes(app.config))
    assert summary.sent == 1, summary
    (mt,) = kannel.wait_received(1)
    assert (mt.sender, mt.receiver, mt.text) == (SHORT_CODE, farmer.phone, reply.text)
    assert mt.parts == reply.segments

    _wait_for("the delivery report", lambda: _rows(session, id=reply.id)[0].status == "delivered")
    row = _rows(session, id=reply.id)[0]
    assert row.delivered_at is not None and row.gateway_message_id.startswith("k")
    reports = session.scalars(select(DeliveryReport).where(
        DeliveryReport.gateway_message_id == row.gateway_message_id)).all()
    assert sorted(r.status for r in reports) == ["Submitted", "Success"] and all(r.applied for r in reports)


def _queue_broadcast(session):
    for phone in BROADCAST_PHONES:
        queue_sms(session, phone, BROADCAST, kind="broadcast", dedupe_key=f"kannel-real:{phone}")
    session.commit()


def _dispatch_all(app, gateway, now=None, passes=100):
    """Dispatcher passes until one claims nothing or the gateway is held; the summaries."""
    summaries = []
    for _ in range(passes):
        summary = _dispatch(app, gateway, now)
        summaries.append(summary)
        if not summary.claimed or summary.held_until:
            break
    return summaries


def test_a_broadcast_of_a_thousand_goes_through_kannel_with_none_lost(app, service, session, kannel):
    """1,000 messages through Kannel: each phone's message reaches the SMS centre exactly once, in
    Cyrillic; every outbox row is sent and its delivery report makes it delivered."""
    _queue_broadcast(session)
    summaries = _dispatch_all(app, gateways.for_routes(app.config))
    assert sum(s.sent for s in summaries) == 1000 and not any(s.held_until for s in summaries)
    got = kannel.wait_received(1000, timeout=120)
    assert Counter(m.receiver for m in got) == Counter(BROADCAST_PHONES), kannel.logs()
    assert {(m.sender, m.text) for m in got} == {(SHORT_CODE, BROADCAST)}
    _wait_for("1,000 delivery reports", lambda: {r.status for r in _rows(session)} == {"delivered"}, timeout=120)
    assert len({r.gateway_message_id for r in _rows(session)}) == 1000


class Recorded:
    """Wraps the Kannel adapter's HTTP session: what became of each ``sendsms`` request (phone → outcomes)."""

    def __init__(self, adapter):
        self.outcomes: dict[str, list[str]] = {}
        self._get = adapter._http.get
        adapter._http.get = self.get

    def get(self, url, params=None, **kwargs):
        phone = params["to"]
        try:
            answer = self._get(url, params=params, **kwargs)
        except requests.RequestException as exc:
            self.outcomes.setdefault(phone, []).append(f"{type(exc).__name__}: {exc}")
            raise
        self.outcomes.setdefault(phone, []).append(f"{answer.status_code} {answer.text}")
        return answer

    def in_flight(self) -> list[str]:
        """The phones whose request was cut off without an answer (sent, then the connection dropped)."""
        return [p for p, seen in self.outcomes.items()
                if any("Connection aborted" in s or "RemoteDisconnected" in s or "reset" in s for s in seen)]


def test_kannel_stopped_mid_broadcast_and_started_again_loses_nothing(app, service, session, kannel):
    """bearerbox stopped after 300 of 1,000 messages and started again: the dispatcher sees an
    outage, holds the gateway (no request while held), and once Kannel is back sends the rest;
    every phone gets the message, and only a request cut off by the stop (sent, no answer: Kannel
    may or may not have kept it, the dispatcher sends it again) can reach a phone twice
    (``docs/gateway-kannel-testing.md`` §4)."""
    _queue_broadcast(session)
    routes = gateways.for_routes(app.config)
    recorded = Recorded(routes.gateways["kannel"])
    stopped = threading.Event()

    def stop_after_300():
        _wait_for("300 messages at the SMS centre", lambda: len(kannel.received()) >= 300, timeout=120)
        kannel.stop()
        stopped.set()

    stopper = threading.Thread(target=stop_after_300, daemon=True)
    stopper.start()
    now = dt.datetime.now(dt.timezone.utc)
    summaries = _dispatch_all(app, routes, now)
    stopper.join(60)
    assert stopped.is_set(), kannel.logs()
    held_until = summaries[-1].held_until
    assert held_until is not None, "no outage seen"  # the pass that met the stopped Kannel held the gateway
    state = gateway_state.get(session, "kannel")
    session.refresh(state)
    assert (state.outage_since is not None, state.failed_passes) == (True, 1), (
        [str(s) for s in summaries], recorded.outcomes.get(BROADCAST_PHONES[300]))
    sent_before = sum(s.sent for s in summaries)
    assert 300 <= sent_before < 1000
    queued = _rows(session, status="queued")
    assert len(queued) == 1000 - sent_before and all(r.attempts == 0 for r in queued)  # attempts not counted

    # held: a pass before the end of the hold sends nothing, even with Kannel back
    kannel.start()
    requests_before = sum(len(v) for v in recorded.outcomes.values())
    early = _dispatch(app, routes, held_until - dt.timedelta(seconds=1))
    assert early.claimed == 0 and early.held_until == held_until
    assert sum(len(v) for v in recorded.outcomes.values()) == requests_before

    # at the end of the hold the probe goes through and the outage ends; the rest is sent
    later = _dispatch_all(app, routes, held_until + dt.timedelta(seconds=1))
    assert sum(s.sent for s in later) == 1000 - sent_before and not any(s.held_until for s in later)
    session.refresh(state)
    assert state.outage_since is None and state.held_until is None

    # every row sent; the reports of the messages sent after the restart all come back (those of the
    # first ones may have been in smsbox's queue when it stopped: such a row stays accepted or in_transit)
    assert {r.status for r in _rows(session)} <= {"accepted", "in_transit", "delivered"}
    after = set(BROADCAST_PHONES[sent_before:])
    _wait_for("the reports of the messages sent after the restart", lambda: all(
        r.status == "delivered" for r in _rows(session) if r.phone in after), timeout=120)
    got = Counter(m.receiver for m in kannel.wait_received(1000, timeout=120))
    assert set(got) == set(BROADCAST_PHONES), f"lost: {sorted(set(BROADCAST_PHONES) - set(got))[:5]}"
    twice = {p for p, n in got.items() if n > 1}
    cut_off = recorded.in_flight()
    assert len(cut_off) <= 1, recorded.outcomes  # one request at a time: at most one in flight
    assert twice <= set(cut_off) and max(got.values()) <= 2, (twice, cut_off)
    # every other phone's request was answered once with "0: Accepted" and reached it once
    for phone in set(BROADCAST_PHONES) - set(cut_off):
        accepted = [s for s in recorded.outcomes[phone] if s.startswith("202 ")]
        assert len(accepted) == 1 and got[phone] == 1, (phone, recorded.outcomes[phone])


@pytest.mark.parametrize("log_level, token_logged, message_logged", [(0, True, True), (1, False, True), (2, False, False)])
def test_the_log_level_of_section_8_keeps_the_token_phones_and_text_out_of_the_logs(
        tmp_path, recorder, log_level, token_logged, message_logged):
    """``docs/gateway-kannel.md`` §8: at ``log-level = 2`` one MO message through smsbox leaves
    neither the webhook token nor the phone nor the text in bearerbox's or smsbox's log; at 1 (info)
    smsbox writes the phones and the text, at 0 (debug, Kannel's default) the token too."""
    require_kannel()
    token = "log-level-token-" + "k" * 20
    with Kannel(tmp_path / "kannel", f"{recorder.url}/kannel/inbound?key={token}", log_level=log_level) as kannel:
        kannel.send_mo("992901112233", "4040", "NARX piyoz")
        recorder.wait(1)
    text = "\n".join((tmp_path / "kannel" / name).read_text("utf-8", "replace")
                     for name in ("bearerbox.log", "smsbox.log"))
    assert (token in text) is token_logged, text[-3000:]
    assert ("992901112233" in text) is message_logged and ("piyoz" in text) is message_logged, text[-3000:]
