"""Journey: a woman registers in Tajik on a new phone, then a second person on the
same phone; on the next dials the phone asks who is calling and each profile
gets its own language. Every hop is answered well under a second."""
from __future__ import annotations


from sqlalchemy import select

import templates_sms
from cases.sms import at
from cases.ussd import Pick, hop
from service.farmers import models as farmermod
from service.messaging.encoding import fits_ussd
from service.messaging.message import OutboundMessage

PHONE = "+992935550011"


def dial(client, session_id: str, *inputs) -> list[str]:
    """One session typing ``inputs`` (strings or :class:`Pick`) from the empty first hop; a
    :class:`Pick` not on the screen shown pages on with ``98`` first, as the caller would."""
    typed, bodies = [], []

    def post():
        resp = client.post("/ussd", data=hop("*".join(typed), session=session_id, phone=PHONE))
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200 and body[:4] in ("CON ", "END ") and fits_ussd(body), body
        bodies.append(body)

    post()
    for value in inputs:
        if isinstance(value, Pick):
            while True:
                try:
                    typed.append(value.resolve(bodies[-1]))
                    break
                except StopIteration:
                    assert "\n98 " in bodies[-1], f"{value} not on {bodies[-1]!r}"
                    typed.append("98")
                    post()
        else:
            typed.append(value)
        post()
    return bodies


def t(key: str, lang: str = "tg", **params) -> str:
    return templates_sms.text(key, lang, **params)


def test_household_phone_journey(client, session):
    # 1. A woman registers in Tajik on a phone the service does not know.
    first = dial(client, "ATUid_j1", Pick("ussd.main.register"), "Нигина Саидова", "1", "3", "1", "3", "1", "4",
                 "0,75", "1")
    # a caller without a profile sees 6 Register and 7 Language first, then 1 My group (numbers kept)
    assert first[0].startswith("CON 6 " + t("ussd.main.register") + "\n7 " + t("ussd.main.language") + "\n1 "
                               + t("ussd.main.group"))
    assert first[1].startswith("CON " + t("ussd.reg.name") + "\n")
    assert first[-1].startswith("END ") and "Рамзи аъзо" in first[-1]
    session.expire_all()
    (nigina,) = farmermod.profiles(session, PHONE)
    assert (nigina.name, nigina.gender, nigina.language, nigina.is_main) == ("Нигина Саидова", "female", "tg", True)
    assert (nigina.crop_ids, nigina.land_m2, nigina.code in first[-1]) == (["onion", "tomato"], 7500, True)

    # 2. On the next dial the phone has one profile: the registered menu; she adds her husband.
    second = dial(client, "ATUid_j2", Pick("ussd.main.add_person"), "Фарҳод Саидов", "2", "3", "1", "3", "4",
                  "1,5", "1")
    assert second[0].startswith("CON 1 " + t("ussd.main.group"))  # the registered menu: 1 is My group still
    assert ("\n6 " + t("ussd.main.add_person") + "\n") in second[1]  # Register's number, now Add a person
    assert second[-1].startswith("END ")
    session.expire_all()
    nigina_, farhod = farmermod.profiles(session, PHONE)
    assert nigina_.id == nigina.id
    assert (farhod.name, farhod.gender, farhod.is_main, farhod.land_m2) == ("Фарҳод Саидов", "male", False, 15000)
    receipts = session.scalars(select(OutboundMessage).where(OutboundMessage.phone == PHONE)
                               .order_by(OutboundMessage.id)).all()
    assert [(m.farmer_id, m.kind, m.language) for m in receipts] == [(nigina.id, "reply", "tg"),
                                                                      (farhod.id, "reply", "tg")]
    assert farhod.code in receipts[1].text and "Фарҳод" in receipts[1].text

    # 3. Now the phone asks who is calling; Farhod switches himself to Russian.
    third = dial(client, "ATUid_j3", Pick("Фарҳод Саидов"), Pick("ussd.main.account"), "1",
                 Pick("Русский"), "00")
    who = third[0]
    assert who.startswith("CON " + t("ussd.who.title")) and "Нигина Саидова" in who
    assert "Фарҳод Саидов" in who or t("ussd.nav.more") in who
    assert third[-2].startswith("CON " + t("ussd.notice.lang_set", "ru"))
    assert third[-1].startswith("CON 1 " + t("ussd.main.group", "ru"))
    session.expire_all()
    assert {f.name: f.language for f in farmermod.profiles(session, PHONE)} == {
        "Нигина Саидова": "tg", "Фарҳод Саидов": "ru"}

    # 4. Next dial: the question comes in the main profile's Tajik, his menus in Russian, hers in Tajik.
    fourth = dial(client, "ATUid_j4", Pick("Фарҳод Саидов"))
    assert fourth[0].startswith("CON " + t("ussd.who.title"))
    assert fourth[-1].startswith("CON 1 " + t("ussd.main.group", "ru"))
    fifth = dial(client, "ATUid_j5", Pick("Нигина Саидова"))
    assert fifth[-1].startswith("CON 1 " + t("ussd.main.group", "tg"))

    # 5. The shared phone's receipts say whose they are (issue 9 item 5): his code is on the
    # who-is-calling screen and in My account; a receipt for him names him, one for the phone no one.
    assert f"Фарҳод Саидов ({farhod.code})" in "\n".join(fourth[:-1])
    sixth = dial(client, "ATUid_j6", Pick("Фарҳод Саидов"), "5")  # My account, 5 on every page
    assert t("ussd.account.code", "ru", code=farhod.code) in sixth[-1]
    assert receipts[0].text == (t("ussd.sms.registered", name="Нигина Саидова", code=nigina.code, gender="female")
                                + " " + t("farmers.reg.kept"))  # with what is kept and how to remove it
    assert not receipts[1].text.startswith("Фарҳод:")  # it names him already: not twice
    sms = at("j7", PHONE, f"{farhod.code} LANG en")
    assert client.post("/sms/inbound", data=sms).status_code == 200
    assert client.post("/sms/inbound", data=at("j8", PHONE, "HELP")).status_code == 200
    session.expire_all()
    reply, help_ = session.scalars(select(OutboundMessage).where(OutboundMessage.phone == PHONE)
                                   .order_by(OutboundMessage.id)).all()[2:]
    assert (reply.text, reply.farmer_id) == (t("push.for_names", "en", names="Фарҳод", text=t("sms.lang.done", "en")),
                                             farhod.id)
    assert not help_.text.startswith(("Нигина:", "Фарҳод:"))  # HELP is for the phone
