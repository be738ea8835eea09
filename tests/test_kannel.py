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


# --- the sendsms adapter against a fake smsbox -------------------------------------------------

import datetime as dt  # noqa: E402
import urllib.parse  # noqa: E402

from fake_kannel import PASSWORD, USERNAME, FakeKannel, dead_url  # noqa: E402
from service import session_factory  # noqa: E402
from service.messaging import dispatch, gateway_state, gateways  # noqa: E402
from service.messaging.gateways import kannel as kannel_gateway  # noqa: E402

CALLBACK = "http://127.0.0.1:5000"
CYRILLIC = "Нархи пиёз дар бозори Восеъ: 1.40 TJS/kg"
LATIN = "Narxi piyoz: 1.40 TJS/kg"


def kannel_settings(url: str, **more) -> dict:
    return {"SMS_GATEWAY": "kannel", "WEBHOOK_TOKENS": [TOKEN], "KANNEL_SENDSMS_URL": url,
            "KANNEL_USERNAME": USERNAME, "KANNEL_PASSWORD": PASSWORD, "KANNEL_FROM": "4040",
            "KANNEL_CALLBACK_URL": CALLBACK, "KANNEL_TIMEOUT": "2", "QUIET_HOURS_START": "00:00",
            "QUIET_HOURS_END": "00:00", **more}


@pytest.fixture
def fake():
    server = FakeKannel()
    yield server
    server.close()


def adapter(url: str, **more) -> kannel_gateway.KannelGateway:
    return gateways.for_settings(kannel_settings(url, **more))


# (label, fake mode, per-phone answers, expected (outcome, status code) per phone, requests made)
SEND_CASES = [
    ("202 0: Accepted for delivery", "accept", {}, [("accepted", 202), ("accepted", 202)], 2),
    ("202 3: Queued for later delivery", "queued", {}, [("accepted", 202), ("accepted", 202)], 2),
    ("503 Sending failed: outage, the second phone not tried", "error503", {},
     [("outage", 503), ("outage", None)], 1),
    ("418: review, the next phone still sent", "teapot", {}, [("review", 418), ("review", 418)], 2),
    ("202 with another body: unconfirmed", "odd", {}, [("unconfirmed", 202), ("unconfirmed", 202)], 2),
    ("400 for one phone: that one fails, the other is sent", "accept",
     {"+992901234567": (400, "Missing receiver number")}, [("permanent", 400), ("accepted", 202)], 2),
    ("403 Authorization failed: account, the rest not tried", "accept",
     {"+992901234567": (403, "Authorization failed for sendsms")}, [("account", 403), ("account", None)], 1),
    ("401: account too", "accept", {"+992901234567": (401, "Authorization required")},
     [("account", 401), ("account", None)], 1),
    ("500 for the second phone: outage from there", "accept", {"+992911234568": (500, "Internal error")},
     [("accepted", 202), ("outage", 500)], 2),
    ("202 Sent. (immediate-sendsms-reply): accepted", "accept", {"+992901234567": (202, "Sent.")},
     [("accepted", 202), ("accepted", 202)], 2),
    ("403 Not routable (bearerbox refused the route): that phone fails, not the account", "accept",
     {"+992901234567": (403, "Not routable. Do not try again.")}, [("permanent", 403), ("accepted", 202)], 2),
    ("400 numbers denied by white- and/or black-lists: that phone fails", "accept",
     {"+992901234567": (400, "Number(s) has/have been denied by white- and/or black-lists.")},
     [("permanent", 400), ("accepted", 202)], 2),
    ("400 Sender missing (Kannel's configuration): account, the rest not tried", "accept",
     {"+992901234567": (400, "Sender missing and no global set, rejected")}, [("account", 400), ("account", None)], 1),
    ("400 Charset or body misformed: review, the next phone still sent", "accept",
     {"+992901234567": (400, "Charset or body misformed, rejected")}, [("review", 400), ("accepted", 202)], 2),
    ("503 Temporal failure (bearerbox's temporary refusal): outage", "accept",
     {"+992901234567": (503, "Temporal failure, try again later.")}, [("outage", 503), ("outage", None)], 1),
]


@pytest.mark.parametrize("label,mode,answers,expected,requests", SEND_CASES, ids=[c[0] for c in SEND_CASES])
def test_send_classification(label, mode, answers, expected, requests, fake):
    fake.mode, fake.answers = mode, answers
    results = adapter(fake.url).send(LATIN, ["+992901234567", "+992911234568"])
    assert [(r.outcome, r.status_code) for r in results] == expected
    assert fake.requests == requests
    for r in results:
        if r.outcome in ("accepted", "unconfirmed"):
            assert kannel_gateway.ID_PATTERN.match(r.message_id)
        else:
            assert r.message_id is None


def test_wrong_password_is_an_account_problem(fake):
    results = adapter(fake.url, KANNEL_PASSWORD="not-the-password").send(LATIN, ["+992901234567"])
    assert [(r.outcome, r.status_code) for r in results] == [("account", 403)]
    assert "Authorization failed" in results[0].reason and "not-the-password" not in results[0].reason


def test_refused_connection_is_an_outage():
    results = adapter(dead_url()).send(LATIN, ["+992901234567", "+992911234568"])
    assert [r.outcome for r in results] == ["outage", "outage"]


def test_read_timeout_is_unconfirmed_and_keeps_the_id(fake):
    fake.mode, fake.delay = "slow", 3
    results = adapter(fake.url, KANNEL_TIMEOUT="0.5").send(LATIN, ["+992901234567", "+992911234568"])
    assert [r.outcome for r in results] == ["unconfirmed", "outage"]  # the second was never sent
    assert kannel_gateway.ID_PATTERN.match(results[0].message_id)
    assert fake.phones() == ["+992901234567"]


def test_invalid_phone_fails_alone(fake):
    results = adapter(fake.url).send(LATIN, ["992901234567", "+992911234568"])
    assert [r.outcome for r in results] == ["permanent", "accepted"]
    assert fake.phones() == ["+992911234568"]


@pytest.mark.parametrize("text,coding", [
    (LATIN, "0"), ("Salom! @£$¥ {}[]~^|€\\", "0"), (CYRILLIC, "2"), ("Ҳосил: ғалла, қӯрғон", "2"),
    ("O'zbek: g'alla", "0"), ("Ù", "2"), ("ù ñ Ä", "0"), ("š", "2"),
])
def test_coding_is_gsm_unless_a_character_is_not(text, coding, fake):
    [result] = adapter(fake.url).send(text, ["+992901234567"])
    assert result.outcome == "accepted"
    [query] = fake.received
    assert (query["coding"], query["charset"], query["text"]) == (coding, "UTF-8", text)


def test_the_request_carries_every_parameter_and_the_dlr_url(fake):
    [result] = adapter(fake.url, KANNEL_SMSC="tcell").send(CYRILLIC, ["+992901234567"])
    [query] = fake.received
    assert {k: query[k] for k in ("username", "password", "to", "from", "smsc", "dlr-mask")} == {
        "username": USERNAME, "password": PASSWORD, "to": "+992901234567", "from": "4040", "smsc": "tcell",
        "dlr-mask": "31"}
    assert query["dlr-url"] == (f"{CALLBACK}/kannel/delivery?key={urllib.parse.quote(TOKEN, safe='')}"
                                f"&id={result.message_id}&type=%d&smsc=%i&ts=%T&answer=%A")


def test_without_a_callback_url_no_reports_are_asked_for(fake):
    adapter(fake.url, KANNEL_CALLBACK_URL="").send(LATIN, ["+992901234567"])
    [query] = fake.received
    assert "dlr-url" not in query and "dlr-mask" not in query


def test_the_password_is_not_in_the_adapters_repr(fake):
    assert PASSWORD not in repr(adapter(fake.url))


# --- the dispatcher through Kannel, and the delivery reports coming back ---------------------------

A, B = "+992901234567", "+992911234568"


def fetch_dlr_url(client, dlr_url: str, event: int, answer: str = "ACK/"):
    """Fetch ``dlr_url`` as smsbox does for one event: its escapes filled in (``docs/gateway-kannel.md`` §4)."""
    filled = (dlr_url.replace("%d", str(event)).replace("%i", "tcell").replace("%T", "1796374800")
              .replace("%A", urllib.parse.quote(answer, safe="")))
    url = urllib.parse.urlsplit(filled)
    return client.get(f"{url.path}?{url.query}")


@pytest.fixture
def run(app, fake):
    """One dispatcher pass through the fake smsbox at ``now``; returns the summary."""
    def _run(now=None, gateway=None):
        settings = {**app.config, **kannel_settings(fake.url)}
        return dispatch.dispatch_once(session_factory(app), gateway or gateways.for_routes(settings), settings,
                                      now=now)
    return _run


def queue(session, phone, text=CYRILLIC, kind="reply"):
    row = queue_sms(session, phone, text, kind=kind)
    session.commit()
    return row.id


def rows(session, *ids):
    session.expire_all()
    return [session.get(OutboundMessage, i) for i in ids]


def test_dispatch_sends_once_and_the_reports_settle_the_rows(client, session, fake, run):
    ids = [queue(session, A), queue(session, B), queue(session, A, LATIN)]
    summary = run()
    assert (summary.claimed, summary.sent) == (3, 3)
    assert sorted(fake.phones()) == sorted([A, B, A])
    a, b, a2 = rows(session, *ids)
    assert {a.status, b.status, a2.status} == {"accepted"}
    assert len({a.gateway_message_id, b.gateway_message_id, a2.gateway_message_id}) == 3
    assert [q["coding"] for q in fake.received if q["text"] == LATIN] == ["0"]
    assert {q["coding"] for q in fake.received if q["text"] == CYRILLIC} == {"2"}
    assert run().claimed == 0  # nothing is sent twice
    assert fake.requests == 3

    by_id = {q["dlr-url"].split("&id=")[1].split("&")[0]: q["dlr-url"] for q in fake.received}
    assert fetch_dlr_url(client, by_id[a.gateway_message_id], 8).status_code == 200
    assert fetch_dlr_url(client, by_id[a.gateway_message_id], 1).status_code == 200
    assert fetch_dlr_url(client, by_id[b.gateway_message_id], 16, "NACK/0x0000000b/Invalid Destination Address"
                          ).status_code == 200
    assert fetch_dlr_url(client, by_id[a2.gateway_message_id], 8).status_code == 200
    a, b, a2 = rows(session, *ids)
    assert (a.status, b.status, a2.status) == ("delivered", "failed", "in_transit")
    assert b.failure_reason == "Rejected: NACK/0x0000000b/Invalid Destination Address"


def test_outage_holds_kannel_and_keeps_the_attempts(session, fake, run):
    fake.mode = "error503"
    ids = [queue(session, A), queue(session, B, LATIN)]
    now = utcnow()
    summary = run(now)
    assert summary.held_until is not None and summary.held == {"kannel": summary.held_until}
    assert [(r.status, r.attempts) for r in rows(session, *ids)] == [("queued", 0), ("queued", 0)]
    assert fake.requests == 1  # the first request failed: nothing more tried
    assert run(now + dt.timedelta(seconds=5)).claimed == 0  # held
    fake.mode = "accept"
    later = summary.held_until + dt.timedelta(seconds=1)
    assert run(later).sent == 2
    assert [(r.status, r.attempts) for r in rows(session, *ids)] == [("accepted", 1), ("accepted", 1)]
    assert gateway_state.get(session, "kannel").outage_since is None
    assert sorted(fake.phones()) == [A, B]


def test_wrong_credentials_hold_the_queue(session, fake, run):
    fake.password = "changed-on-the-kannel-side"
    ids = [queue(session, A), queue(session, B, LATIN)]
    now = utcnow()
    run(now)
    for row in rows(session, *ids):
        assert (row.status, row.attempts) == ("queued", 0)
        assert row.next_attempt_at >= now + dispatch.ACCOUNT_HOLD - dt.timedelta(seconds=1)
    assert fake.requests == 1


def test_a_read_timeout_is_unconfirmed_and_settled_by_its_report(client, session, fake, app):
    fake.mode, fake.delay = "slow", 2
    [row_id] = [queue(session, A)]
    settings = {**app.config, **kannel_settings(fake.url, KANNEL_TIMEOUT="0.5")}
    dispatch.dispatch_once(session_factory(app), gateways.for_routes(settings), settings)
    [row] = rows(session, row_id)
    assert row.status == "unconfirmed" and kannel_gateway.ID_PATTERN.match(row.gateway_message_id)
    settings_fast = {**app.config, **kannel_settings(fake.url)}
    fake.mode = "accept"
    assert dispatch.dispatch_once(session_factory(app), gateways.for_routes(settings_fast), settings_fast).claimed == 0
    assert fetch_dlr_url(client, fake.received[0]["dlr-url"], 1).status_code == 200
    [row] = rows(session, row_id)
    assert row.status == "delivered"
    assert fake.phones() == [A]  # never resent


def test_a_report_before_the_dispatcher_stored_the_id_is_applied(client, session, fake, app):
    """Kannel can report faster than the dispatcher commits: the report waits as an orphan."""
    [row_id] = [queue(session, A)]
    settings = {**app.config, **kannel_settings(fake.url)}
    routes = gateways.for_routes(settings)
    real_send = routes.gateways["kannel"].send

    def send_and_report(text, phones):
        results = real_send(text, phones)
        fetch_dlr_url(client, fake.received[-1]["dlr-url"], 1)  # while the row has no id yet
        return results

    routes.gateways["kannel"].send = send_and_report
    dispatch.dispatch_once(session_factory(app), routes, settings)
    [row] = rows(session, row_id)
    assert row.status == "delivered"


# --- what a real Kannel sends and answers (recorded by tests/test_kannel_real.py) -----------------

from cases import kannel_wire  # noqa: E402

WIRE_MO = [r for r in kannel_wire.REQUESTS if r.path == "/kannel/inbound"]
WIRE_DLR = [r for r in kannel_wire.REQUESTS if r.path == "/kannel/delivery"]


@pytest.mark.parametrize("request_", WIRE_MO, ids=[r.label for r in WIRE_MO])
def test_a_real_kannel_mo_is_read_as_kannel_meant_it(request_, client, session):
    resp = client.get(f"/kannel/inbound?key={TOKEN}&{request_.query}")
    assert (resp.status_code, resp.get_data()) == (200, b"")
    [row] = session.scalars(select(InboundMessage)).all()
    assert (row.phone, row.to, row.text) == (request_.means["from"], request_.means["to"], request_.means["text"])


@pytest.mark.parametrize("request_", WIRE_DLR, ids=[r.label for r in WIRE_DLR])
def test_a_real_kannel_dlr_moves_the_row(request_, client, session):
    row = queue_sms(session, PHONE, "Salom", kind="notice")
    row.status, row.gateway_message_id, row.sent_at = "accepted", MID, utcnow()
    session.commit()
    resp = client.get(f"/kannel/delivery?key={TOKEN}&id={MID}&{request_.query}")
    assert (resp.status_code, resp.get_data()) == (200, b"")
    session.expire_all()
    expected = {"8": "in_transit", "1": "delivered"}[request_.means["type"]]
    assert session.get(OutboundMessage, row.id).status == expected


WIRE_OUTCOMES = {"accepted": "accepted", "queued while the SMS centre is away": "accepted",
                 "wrong password": "account", "unknown user": "account", "receiver not a number": "permanent",
                 "empty receiver": "permanent", "no sender and no global-sender": "account",
                 "coding out of range": "review", "unknown charset": "review"}


@pytest.mark.parametrize("answer", kannel_wire.ANSWERS, ids=[a.label for a in kannel_wire.ANSWERS])
def test_a_real_kannel_answer_is_classified(answer):
    result = kannel_gateway.classify(PHONE, answer.status, answer.body, MID)
    assert result.outcome == WIRE_OUTCOMES[answer.label]
    assert result.status_code == answer.status
