"""The phone simulator: ``/simulator/messages`` JSON, the page, and the gateway guard."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from service import create_app
from service.messaging.message import OutboundMessage, queue_sms

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
    assert set(items[0]) == {"direction", "id", "to", "text", "status", "created_at", "kind", "segments",
                             "encoding", "in_reply_to"}
    assert items[0] | {"id": 0, "created_at": ""} == {
        "direction": "out", "id": 0, "to": PHONE, "text": "Шумо ба VOS03 ҳамроҳ шудед.", "status": "queued",
        "created_at": "", "kind": "reply", "segments": 1, "encoding": "UCS-2", "in_reply_to": None}
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
    for label in ("chair:", "woman member:", "Russian speaker:", "Uzbek speaker:", "pending approval:",
                  "shared phone:", "in no PG:", "Vose&#39; onion:", "Balkhi rice:", "Kulob tomato:", "Jomi tomato:",
                  "staff (SETPRICE, ALERT): Demo extension Kulob", "responder (ANSWER):",
                  "new phone: not registered"):
        assert label in html, label
    assert 'href="/simulator?phone=%2B992900000201"' in html
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


def _sms(client, msg_id, text, phone=PHONE):
    form = {"id": msg_id, "from": phone, "to": "3847", "text": text, "date": "2026-12-01 10:00:00",
            "networkCode": "99999"}
    assert client.post("/sms/inbound", data=form).status_code == 200


def test_messages_hold_the_phones_own_sms_and_each_reply_after_its_cause(runner, client, session):
    """The farmer's own SMS survive a reload (they are read back from the inbound rows) and each
    reply comes right after the SMS that caused it, even when the clock put it earlier."""
    assert runner.invoke(args=["demo-data", "--farmers", "200"]).exit_code == 0
    _sms(client, "ATXid_1", "HELP")
    _sms(client, "ATXid_2", "НАРХ пиёз")
    # a reply whose row time is before its cause's (clocks of two machines, a slow commit):
    # it must still come after its cause
    first_reply = session.scalars(select_out().where(OutboundMessage.in_reply_to.isnot(None))
                                  .order_by(OutboundMessage.id)).first()
    session.execute(update(OutboundMessage).where(OutboundMessage.id == first_reply.id)
                    .values(created_at=first_reply.created_at - dt.timedelta(minutes=5)))
    queue_sms(session, PHONE, "Огоҳӣ: жола", kind="alert", language="tg")  # not a reply: by its time
    session.commit()

    items = client.get("/simulator/messages", query_string={"phone": PHONE}).get_json()
    directions = [m["direction"] for m in items]
    assert directions[:1] == ["in"] and items[0]["text"] == "HELP" and items[0]["gateway_id"] == "ATXid_1"
    ins = [i for i, m in enumerate(items) if m["direction"] == "in"]
    assert [items[i]["text"] for i in ins] == ["HELP", "НАРХ пиёз"]
    for i in ins:  # the replies to each SMS follow it, before the next SMS
        following = items[i + 1]
        assert following["direction"] == "out" and following["in_reply_to"] == items[i]["id"], items
    assert items[-1]["text"] == "Огоҳӣ: жола" and items[-1]["in_reply_to"] is None
    assert set(items[0]) == {"direction", "id", "gateway_id", "from", "text", "created_at", "status"}


def select_out():
    from sqlalchemy import select
    return select(OutboundMessage).where(OutboundMessage.phone == PHONE)


@pytest.mark.parametrize("lang, title, call", [
    ("en", "Phone simulator", "Call"), ("tg", "Симулятори телефон", "Занг"),
    ("ru", "Симулятор телефона", "Вызов"), ("uz", "Telefon simulyatori", "Qo&#39;ng&#39;iroq"),
])
def test_page_speaks_four_languages_and_keeps_the_choice(client, lang, title, call):
    resp = client.get("/simulator", query_string={"phone": PHONE, "lang": lang})
    html = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and f"<h1>{title}</h1>" in html and f">{call}</button>" in html
    assert f"simulator_lang={lang}" in resp.headers["Set-Cookie"]
    again = client.get("/simulator", query_string={"phone": PHONE}).get_data(as_text=True)  # the cookie
    assert f"<h1>{title}</h1>" in again
    for code in ("en", "tg", "ru", "uz"):  # a link to every language, on the same phone
        assert f'href="/simulator?phone=%2B992900001000&amp;lang={code}"' in html


def test_page_language_follows_the_browser_then_english(client):
    ru = client.get("/simulator", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(as_text=True)
    assert "<h1>Симулятор телефона</h1>" in ru
    other = client.get("/simulator", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "<h1>Phone simulator</h1>" in other


def test_every_page_word_is_in_every_language():
    from handlers.simulator import STRINGS_FILE
    import tomllib
    table = tomllib.loads(STRINGS_FILE.read_text(encoding="utf-8"))
    assert set(table) == {"en", "tg", "ru", "uz"}
    for lang, words in table.items():
        assert set(words) == set(table["en"]), (lang, set(table["en"]) ^ set(words))
        assert all(v.strip() for v in words.values()), lang
    from service.demo import PICK_NAMES
    assert {f"pick.{why}" for why in PICK_NAMES} <= set(table["en"])


def test_demo_reset_puts_the_demo_region_back(runner, client, session):
    assert runner.invoke(args=["demo-data", "--farmers", "200"]).exit_code == 0
    _sms(client, "ATXid_9", "REG Test female Guliston", phone="+992900000999")
    assert client.get("/simulator/messages", query_string={"phone": "+992900000999"}).get_json()
    done = runner.invoke(args=["demo-data", "--farmers", "200", "--reset"])
    assert done.exit_code == 0, done.output
    assert client.get("/simulator/messages", query_string={"phone": "+992900000999"}).get_json() == []
    html = client.get("/simulator").get_data(as_text=True)
    assert "new phone: not registered" in html and "make demo-reset" in html


def test_quick_picks_skip_erased_profiles(runner, client, session):
    from sqlalchemy import select

    from service.db import utcnow
    from service.demo import quick_picks
    from service.farmers import privacy
    from service.farmers.models import Farmer

    assert runner.invoke(args=["demo-data", "--farmers", "400"]).exit_code == 0
    shared = next(p for p in quick_picks(session) if p.why == "shared phone")
    alone = session.scalars(select(Farmer).where(Farmer.is_main, Farmer.phone != shared.phone)
                            .order_by(Farmer.id).limit(2)).all()
    for farmer in alone:  # two erased profiles share the blank phone
        privacy.erase(session, farmer, now=utcnow())
    session.commit()
    picks = quick_picks(session)
    assert all(p.phone for p in picks)
    assert next(p for p in picks if p.why == "shared phone").phone == shared.phone
