"""Issue 2's whole journey over real HTTP, exactly as AT would post it.

A woman farmer on a new phone registers in Tajik, joins a producer group of
her village in Vose', reads onion prices, stops messages and starts them
again; every USSD screen starts with CON/END and fits its budget, and her SMS
replies appear in the simulator's inbox once the dispatcher has run.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from phone_script import Phone
from service.farmers.models import Farmer
from service.reference.geography import Village
from service.groups.membership import Membership
from service.messaging.optout import is_suppressed
from service.groups.producer_group import ProducerGroup

TOKEN = "journey-token"
PHONE = "+992935550101"


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN}


@pytest.fixture
def region(runner):
    result = runner.invoke(args=["demo-data", "--farmers", "300", "--seed", "7"])
    assert result.exit_code == 0, result.output


def dispatch(runner):
    result = runner.invoke(args=["scheduler", "dispatch"])
    assert result.exit_code == 0, result.output


def test_woman_registers_joins_reads_prices_stops_and_restarts(app, live_server, runner, region, session):
    pg = session.scalars(select(ProducerGroup).where(ProducerGroup.cluster_id == "onion.vose")
                         .order_by(ProducerGroup.code)).first()
    village = session.get(Village, pg.village_id)
    phone = Phone(live_server, PHONE, token=TOKEN)

    # register, in Tajik (the default language)
    assert phone.dial().startswith("CON 6 Сабти ном\n7 Забон/Язык/Til/Language\n1 Гурӯҳи ман\n")  # no profile yet
    phone.pick("Сабти ном")
    assert phone.screens[-2].startswith("CON 6 Сабти ном\n")  # Register is 6, first for a caller without a profile
    phone.send("Гулнора Раҳимова")
    phone.pick("Зан")
    phone.pick("Восеъ")
    phone.pick(village.name("tg"))
    phone.pick("Пиёз")
    phone.pick("Тамом")
    phone.send("0,8")
    assert "Гулнора Раҳимова" in phone.screen
    phone.send("1")  # confirm
    assert phone.screen.startswith("END ")
    farmer = session.scalars(select(Farmer).where(Farmer.phone == PHONE)).one()
    assert (farmer.gender, farmer.language, farmer.land_m2, farmer.village_id, farmer.crop_ids) == (
        "female", "tg", 8000, village.id, ["onion"])

    # join a producer group of her village
    phone.dial()
    phone.pick("Гурӯҳи ман")
    phone.pick(pg.name, exact=True)
    phone.send("1")  # yes
    membership = session.scalars(select(Membership).where(Membership.farmer_id == farmer.id)).one()
    assert membership.pg_id == pg.id and membership.status in ("pending", "active")

    # onion prices: a price per market, in somoni
    phone.dial()
    phone.pick("Нархи бозор")
    phone.pick("Пиёз")
    assert any(ch.isdigit() for ch in phone.screen) and "," in phone.screen, phone.screen

    dispatch(runner)
    texts = [m["text"] for m in phone.inbox()]
    assert len(texts) >= 2 and all(m["status"] == "delivered" for m in phone.inbox())

    # STOP by SMS: the answer to what she asked just before still goes; then only the
    # confirmation reaches her, and, when she asks for something, one short "messages are
    # stopped, send START" instead of the answer
    assert phone.sms("НАРХ пиёз").status_code == 200
    assert phone.sms("stop").status_code == 200
    assert is_suppressed(session, PHONE)
    assert phone.sms("НАРХ пиёз").status_code == 200
    dispatch(runner)
    after_stop = phone.inbox()[len(texts):]
    assert [m["kind"] for m in after_stop] == ["reply", "stop_confirm", "reply", "stop_confirm"]
    assert [m["status"] for m in after_stop] == ["delivered", "delivered", "suppressed", "delivered"]
    assert "START" in after_stop[3]["text"]

    # START again: messages flow again
    assert phone.sms("START").status_code == 200
    assert phone.sms("НАРХ пиёз").status_code == 200
    dispatch(runner)
    after_start = phone.inbox()[len(texts) + 4:]
    assert [m["status"] for m in after_start] == ["delivered", "delivered"]
    assert "пиёз" in after_start[1]["text"].lower() or "ВОСЕ" in after_start[1]["text"].upper()

    assert all(s.startswith(("CON ", "END ")) for s in phone.screens)


def test_webhooks_refuse_a_wrong_token_and_store_nothing(app, live_server, session):
    phone = Phone(live_server, PHONE, token="wrong")
    assert phone.sms("REG Zarina F Guliston").status_code == 403
    import requests
    assert requests.post(f"{live_server}/ussd", params={"key": "wrong"}, data={
        "sessionId": "ATUid_x", "phoneNumber": PHONE, "text": ""}, timeout=10).status_code == 403
    assert session.scalars(select(Farmer)).all() == []


RUSSIAN = "+992935550202"


def test_a_russian_speaker_typing_as_people_type(app, live_server, runner, region, session):
    """A Russian speaker on a phone the service does not know yet, over real HTTP: answered in
    Russian from the first message, prices found however the crop is written, STOP honoured with
    one short answer afterwards, and the conversation read back in order (issue 9 items 2, 3, 6)."""
    import templates_sms

    phone = Phone(live_server, RUSSIAN, token=TOKEN)
    sent = ["Сколько стоит лук?", "цена лука", "Цены на лук", "ЦЕНА: ЛУК!!!", "цена помидоры", "Стоп.",
            "цена помидор", "START", "цена томатов"]
    for text in sent:
        assert phone.sms(text).status_code == 200, text
        if text == "цена помидор":  # the dispatcher runs while the phone is stopped
            dispatch(runner)
    dispatch(runner)
    talk = phone.conversation()
    assert [m["text"] for m in talk if m["direction"] == "in"] == sent
    replies: dict[str, list[dict]] = {}
    for m in talk:  # each reply right after the SMS that caused it
        if m["direction"] == "in":
            current = replies.setdefault(m["text"], [])
        else:
            current.append(m)
    # a question, not a command: the help, in Russian (its words tell the language)
    assert [r["text"] for r in replies["Сколько стоит лук?"]] == [
        templates_sms.text("sms.help.new", "ru", ussd="*384*7#")]
    for text in ("цена лука", "Цены на лук", "ЦЕНА: ЛУК!!!"):
        (reply,) = replies[text]
        assert reply["text"].startswith("Лук, сомони/кг") and "Рынок" not in reply["text"][:3], reply
        assert "не найден" not in reply["text"] and "Нет рынка" not in reply["text"], reply
    assert replies["цена помидоры"][0]["text"].startswith("Томат, сомони/кг")
    # Стоп.: confirmed in Russian; the next request is answered once with "send START", not the price
    assert [r["kind"] for r in replies["Стоп."]] == ["stop_confirm"]
    assert replies["Стоп."][0]["text"] == templates_sms.text("sms.stop.done", "ru", ussd="*384*7#")
    asked = replies["цена помидор"]
    assert [(r["kind"], r["status"]) for r in asked] == [("reply", "suppressed"), ("stop_confirm", "delivered")]
    assert asked[1]["text"] == templates_sms.text("sms.stopped", "ru", ussd="*384*7#")
    # START after a Russian conversation stays Russian; messages flow again
    assert replies["START"][0]["text"] == templates_sms.text("sms.start.done", "ru", ussd="*384*7#")
    assert replies["цена томатов"][0]["text"].startswith("Томат, сомони/кг")
    assert replies["цена томатов"][0]["status"] == "delivered"
