"""USSD cases of advice and joint sales: hops as AT posts them (via ``cases.ussd``), the answer and
the effect, on the world of ``cases.ussd.build_world`` (SOLO_PHONE: Zarina, tg, Dahana, tomato, no PG).
Run by ``tests/test_advice_ussd.py``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

import templates_sms
from cases.ussd import NEW_PHONE, SID, SOLO_PHONE, Case, Pick, con, end, notice, path
from service.sales import joint_sale
from service.advice import responders as vam_agent
from service.advice.questions import Question
from service.sales.joint_sale import CollectionCentre, Pledge
from service.messaging.message import OutboundMessage
from service.ussd.session import UssdSession

AGENT = "+992901400001"
MENU = ("98", "4")  # the advice line is 4, first on the main menu's second page in Tajik (numbers run on)
TIPS, ASK, SELL = "1", "2", "3"  # the advice menu (Pick cannot read a first line: it starts with CON)


def _t(key, **params):
    return templates_sms.text(key, "tg", **params)


#: the advice menu, exactly: its own numbers 1-3 (not those of the main menu's page), then the hints
ADVICE_MENU = "CON " + "\n".join([f"{TIPS} " + _t("advice.ussd.menu.tips"), f"{ASK} " + _t("advice.ussd.menu.ask"),
                                  f"{SELL} " + _t("advice.ussd.menu.sell"),
                                  _t("ussd.nav.back") + " " + _t("ussd.nav.home")])


def on_screen(name: str):
    """The caller's session is on the screen ``name``."""
    def check(session, world, bodies):
        assert session.get(UssdSession, SID).state["stack"][-1]["s"] == name
    return check


def agent_in_dahana(session, world):
    vam_agent.add_vam_agent(session, name="Agro Dahana", kind="agro_shop", phone=AGENT, district_id="kulob",
                            village_ids=[world["dahana"]])
    session.commit()


def small_centre(session, world):
    session.execute(update(CollectionCentre).values(capacity_g=1_000_000))
    session.commit()


def question_sent(session, world, bodies):
    q = session.scalar(select(Question))
    assert (q.crop_id, q.topic, q.channel, q.text) == ("tomato", "protection", "ussd", "Кирм барги помидорро мехӯрад")
    (to_agent,) = session.scalars(select(OutboundMessage)).all()
    assert to_agent.phone == AGENT and "Кирм барги помидорро мехӯрад" in to_agent.text


def pledged(session, world, bodies):
    (p,) = session.scalars(select(Pledge)).all()
    next_week = joint_sale.monday(dt.date.today()) + dt.timedelta(weeks=1)
    assert (p.grams, p.crop_id, p.channel, p.week) == (2_000_000, "tomato", "ussd", next_week)
    (receipt,) = session.scalars(select(OutboundMessage)).all()
    assert receipt.phone == SOLO_PHONE and "DAHANA" in receipt.text and "2000 кг" in receipt.text


def nothing_pledged(session, world, bodies):
    assert session.scalars(select(Pledge)).all() == []
    assert session.scalars(select(OutboundMessage)).all() == []


CASES = [
    Case("the main menu's advice line opens tips, ask and sell", path(*MENU, phone=SOLO_PHONE),
         lambda b: b == ADVICE_MENU, world=True),
    Case("4 opens the advice menu from the main menu's first page too", path("4", phone=SOLO_PHONE),
         con("advice.ussd.menu.tips", "advice.ussd.menu.ask", "advice.ussd.menu.sell"), world=True),
    Case("tips of a crop and topic, no registration needed",
         path(*MENU, TIPS, Pick("Помидор"), Pick("advice.ussd.topics.care")),
         con("tips.tomato.care.1"), world=True),
    Case("more tips on the next page",
         path(*MENU, TIPS, Pick("Пиёз"), Pick("advice.ussd.topics.sowing"), "98"),
         lambda b: b.startswith("CON ") and _t("tips.onion.sowing.2") in b, world=True),
    Case("asking needs registration", path(*MENU, ASK, phone=NEW_PHONE),
         con("ussd.group.need_register"), world=True),
    Case("selling needs registration", path(*MENU, SELL, phone=NEW_PHONE),
         con("ussd.group.need_register"), nothing_pledged, world=True),
    Case("selling opens its own crop list, with the advice crop question",
         path(*MENU, SELL, phone=SOLO_PHONE), con("advice.ussd.crop", words=("1 Пиёз", "2 Шолӣ", "3 Помидор")),
         on_screen("sell_crop"), world=True),
    Case("ask by USSD: crop, topic, question, sent to the village's VAM agent",
         path(*MENU, ASK, Pick("Помидор"), Pick("advice.ussd.topics.protection"),
              "Кирм барги помидорро мехӯрад", phone=SOLO_PHONE),
         lambda b: b == "END " + _t("advice.ask.done", id=1), question_sent, world=True, setup=agent_in_dahana),
    Case("pledge by USSD: crop, quantity in t, week, confirm; SMS receipt",
         path(*MENU, SELL, Pick("Помидор"), "2 т", Pick("sales.ussd.weeks.1"),
              Pick("ussd.yes"), phone=SOLO_PHONE),
         lambda b: b == "END " + _t("sales.ussd.done", id=1), pledged, world=True),
    Case("bad quantity asks again",
         path(*MENU, SELL, Pick("Помидор"), "бисёр", phone=SOLO_PHONE),
         notice("sales.ussd.qty", note="sales.ussd.bad_qty"), nothing_pledged, world=True),
    Case("no collection centre for the crop in the area",
         path(*MENU, SELL, Pick("Шолӣ"), phone=SOLO_PHONE),
         end("sales.sell.no_centre"), nothing_pledged, world=True),
    Case("beyond capacity: the free amount, nothing pledged",
         path(*MENU, SELL, Pick("Помидор"), "2 т", Pick("sales.ussd.weeks.0"),
              Pick("ussd.yes"), phone=SOLO_PHONE),
         lambda b: b == "END " + _t("sales.sell.full", centre="DAHANA", free="1000 кг"), nothing_pledged,
         world=True, setup=small_centre),
    Case("no at the confirmation goes back, nothing pledged",
         path(*MENU, SELL, Pick("Помидор"), "500", Pick("sales.ussd.weeks.0"),
              Pick("ussd.no"), phone=SOLO_PHONE),
         con("sales.ussd.week"), nothing_pledged, world=True),
]
