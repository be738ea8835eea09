"""The phone simulator: ``/simulator/messages`` JSON, the page, and the gateway guard."""
from __future__ import annotations

import re

import pytest

from service import create_app
from service.messaging.message import queue_sms

PHONE = "+992900001000"


def test_messages_of_one_phone_newest_last(client, session):
    queue_sms(session, PHONE, "Шумо ба VOS03 ҳамроҳ шудед.", kind="reply", language="tg")
    queue_sms(session, "+992900001001", "Not yours", kind="reply")
    session.flush()
    queue_sms(session, PHONE, "Onion 1.40 TJS/kg at VOSE", kind="notice", language="en")
    session.commit()

    resp = client.get("/simulator/messages", query_string={"phone": PHONE})
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    items = resp.get_json()
    assert [m["text"] for m in items] == ["Шумо ба VOS03 ҳамроҳ шудед.", "Onion 1.40 TJS/kg at VOSE"]
    assert set(items[0]) == {"id", "to", "text", "status", "created_at", "kind", "segments", "encoding"}
    assert items[0] | {"id": 0, "created_at": ""} == {
        "id": 0, "to": PHONE, "text": "Шумо ба VOS03 ҳамроҳ шудед.", "status": "queued", "created_at": "",
        "kind": "reply", "segments": 1, "encoding": "UCS-2"}
    assert (items[1]["kind"], items[1]["encoding"]) == ("notice", "GSM-7")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created_at"]) for m in items)
    assert items[0]["created_at"] <= items[1]["created_at"]


@pytest.mark.parametrize("phone", ["+992900001000", "992900001000", "900001000", "0900001000", " 992900001000"],
                         ids=["e164", "no plus", "national", "trunk zero", "space for plus"])
def test_messages_accept_any_form_of_the_phone(client, session, phone):
    queue_sms(session, PHONE, "hello", kind="reply")
    session.commit()
    resp = client.get("/simulator/messages", query_string={"phone": phone})
    assert [m["to"] for m in resp.get_json()] == [PHONE]


@pytest.mark.parametrize("query", [{}, {"phone": ""}, {"phone": "abc"}, {"phone": "12345"}, {"phone": "+99290000100"}],
                         ids=["missing", "empty", "letters", "too short", "8 national digits"])
def test_messages_reject_a_bad_phone(client, query):
    resp = client.get("/simulator/messages", query_string=query)
    assert resp.status_code == 400
    assert "phone" in resp.get_json()["error"]


def test_page_shows_the_codes_and_normalises_the_phone(client):
    resp = client.get("/simulator", query_string={"phone": "0900001000"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'data-phone="+992900001000"' in html
    assert 'data-service-code="*384*7#"' in html
    assert 'data-short-code="3847"' in html
    assert 'data-network-code="99999"' in html
    assert 'data-key=""' in html
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def test_page_escapes_a_bad_phone(client):
    resp = client.get("/simulator", query_string={"phone": '<img src=x onerror=alert(1)>'})
    html = resp.get_data(as_text=True)
    assert "is not a phone number" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'id="phone"' not in html  # no handset for a bad number


def test_page_hands_the_webhook_token_to_its_script(app, client):
    app.config["WEBHOOK_TOKENS"] = ["new-token", "old-token"]
    html = client.get("/simulator").get_data(as_text=True)
    assert 'data-key="new-token"' in html


def test_quick_picks_come_from_the_demo_data(runner, client):
    assert runner.invoke(args=["demo-data", "--farmers", "400"]).exit_code == 0
    html = client.get("/simulator").get_data(as_text=True)
    for label in ("chair:", "woman member:", "Russian:", "Uzbek:", "pending approval:", "shared phone:",
                  "in no PG:", "new phone: not registered"):
        assert label in html
    assert 'href="/simulator?phone=%2B992900000999"' in html
    # the page opens on the first pick, a PG chair
    assert re.search(r'data-phone="\+99290\d{7}"', html)


def test_without_demo_data_the_page_offers_an_unknown_phone(client):
    html = client.get("/simulator").get_data(as_text=True)
    assert 'data-phone="+992900000999"' in html
    assert "demo-data" in html


def test_not_served_with_africas_talking(database_url):
    app = create_app({"DATABASE_URL": database_url, "SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "t0ken-of-at-least-32-characters-long",
                      "AT_API_KEY": "atsk_test", "SCHEDULER_EMBEDDED": False})
    try:
        client = app.test_client()
        assert client.get("/simulator").status_code == 404
        assert client.get("/simulator", query_string={"key": "t0ken-of-at-least-32-characters-long"}).status_code == 404
        assert client.get("/simulator/messages", query_string={"phone": PHONE}).status_code == 404
    finally:
        app.extensions["dehqon.engine"].dispose()
