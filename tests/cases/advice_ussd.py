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
from service.farmers import models as farmers
from service.sales.joint_sale import CollectionCentre, Pledge
from service.sales.yields import YieldReport
from service.messaging.message import OutboundMessage
from service.ussd.session import UssdSession

AGENT = "+992901400001"
MENU = ("98", "4")  # the advice line is 4, first on the main menu's second page in Tajik (numbers run on)
TIPS, ASK, SELL, YIELD = "1", "2", "3", "4"  # the advice menu (Pick cannot read a first line: it starts with CON)


def _t(key, **params):
    return templates_sms.text(key, "tg", **params)


#: the advice menu's first page, exactly: its own numbers 1-3 (not those of the main menu's page), then the hints
ADVICE_MENU = "CON " + "\n".join([f"{TIPS} " + _t("advice.ussd.menu.tips"), f"{ASK} " + _t("advice.ussd.menu.ask"),
                                  f"{SELL} " + _t("advice.ussd.menu.sell"),
                                  _t("ussd.nav.back") + " " + _t("ussd.nav.more")])
#: ... and its second page: 4 Report a harvest
ADVICE_MENU_2 = "CON " + "\n".join([f"{YIELD} " + _t("yields.ussd.menu"),
                                    " ".join(_t(f"ussd.nav.{h}") for h in ("back", "home", "prev"))])


def T(key, lang, **params):
    return templates_sms.text(key, lang, **params)


def label(key, lang) -> Pick:
    """The option labelled with the text ``key`` in ``lang`` (``Pick`` reads template keys in Tajik only)."""
    return Pick(T(key, lang))


def speaks(lang: str, *setups):
    """Setup: Zarina (SOLO_PHONE) speaks ``lang``, then ``setups``."""
    def setup(session, world):
        session.get(farmers.Farmer, world["solo"]).language = lang
        session.commit()
        for more in setups:
            more(session, world)
    return setup


def pledged_for(grams: int, weeks: int = 1):
    """Setup: Zarina has an open tomato pledge of ``grams`` for the week ``weeks`` from this one."""
    def setup(session, world):
        week = joint_sale.monday(dt.date.today()) + dt.timedelta(weeks=weeks)
        joint_sale.pledge(session, session.get(farmers.Farmer, world["solo"]), "tomato", grams, week, channel="sms")
        session.commit()
    return setup


def pledge_now(status: str, grams: int, sms_has: str):
    """Zarina's one pledge is ``status`` with ``grams``, and the one SMS (to her) contains ``sms_has``."""
    def check(session, world, bodies):
        (p,) = session.scalars(select(Pledge)).all()
        assert (p.status, p.grams, p.farmer_id) == (status, grams, world["solo"])
        (receipt,) = session.scalars(select(OutboundMessage)).all()
        assert receipt.phone == SOLO_PHONE and sms_has in receipt.text, receipt.text
    return check


def yield_recorded(grams: int, m2: int):
    def check(session, world, bodies):
        (r,) = session.scalars(select(YieldReport)).all()
        assert (r.farmer_id, r.crop_id, r.grams, r.area_m2, r.is_member) == (world["solo"], "tomato", grams, m2, False)
        assert "(USSD)" in r.entered
    return check


def no_yield(session, world, bodies):
    assert session.scalars(select(YieldReport)).all() == []


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
    assert receipt.phone == SOLO_PHONE and "Маркази Даҳана" in receipt.text and "2000 кг" in receipt.text


def nothing_pledged(session, world, bodies):
    assert session.scalars(select(Pledge)).all() == []
    assert session.scalars(select(OutboundMessage)).all() == []


CASES = [
    Case("the main menu's advice line opens tips, ask and sell", path(*MENU, phone=SOLO_PHONE),
         lambda b: b == ADVICE_MENU, world=True),
    Case("the advice menu's next page: report a harvest", path(*MENU, "98", phone=SOLO_PHONE),
         lambda b: b == ADVICE_MENU_2, world=True),
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
    Case("selling opens its own crop list, with the advice crop question; no pledge, no My pledges",
         path(*MENU, SELL, phone=SOLO_PHONE),
         lambda b: con("advice.ussd.crop", words=("1 Пиёз", "2 Шолӣ", "3 Помидор"))(b)
         and _t("sales.ussd.my_pledges") not in b, on_screen("sell_crop"), world=True),
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
         lambda b: b == "END " + _t("sales.sell.full", centre="Маркази Даҳана", free="1000 кг"), nothing_pledged,
         world=True, setup=small_centre),
    Case("no at the confirmation goes back, nothing pledged",
         path(*MENU, SELL, Pick("Помидор"), "500", Pick("sales.ussd.weeks.0"),
              Pick("ussd.no"), phone=SOLO_PHONE),
         con("sales.ussd.week"), nothing_pledged, world=True),
    # -- My pledges: change or cancel an open pledge, capacity kept right
    Case("my pledges lists the open pledge, in Tajik",
         path(*MENU, SELL, Pick("sales.ussd.my_pledges"), phone=SOLO_PHONE),
         con("sales.ussd.pledges_head", words=("1 Помидор 500 кг, ҳафтаи",)), world=True, setup=pledged_for(500_000)),
    Case("cancel a pledge by USSD, in Tajik",
         path(*MENU, SELL, Pick("sales.ussd.my_pledges"), "1", Pick("sales.ussd.cancel"), Pick("ussd.yes"),
              phone=SOLO_PHONE),
         lambda b: b == "END " + _t("sales.ussd.cancelled", id=1), pledge_now("cancelled", 500_000, "#1 бекор шуд"),
         world=True, setup=pledged_for(500_000)),
    Case("change a pledge by USSD, in Russian",
         path(*MENU, SELL, label("sales.ussd.my_pledges", "ru"), "1", label("sales.ussd.change", "ru"), "2 т",
              label("sales.ussd.weeks.1", "ru"), label("ussd.yes", "ru"), phone=SOLO_PHONE),
         lambda b: b == "END " + T("sales.ussd.changed", "ru", id=1),
         pledge_now("pledged", 2_000_000, "Заявка #1 изменена: Томат 2000 кг (было 500 кг)"),
         world=True, setup=speaks("ru", pledged_for(500_000))),
    Case("cancel a pledge by USSD, in Uzbek",
         path(*MENU, SELL, label("sales.ussd.my_pledges", "uz"), "1", label("sales.ussd.cancel", "uz"),
              label("ussd.yes", "uz"), phone=SOLO_PHONE),
         lambda b: b == "END " + T("sales.ussd.cancelled", "uz", id=1),
         pledge_now("cancelled", 500_000, "#1 va'da bekor qilindi"), world=True,
         setup=speaks("uz", pledged_for(500_000))),
    Case("change a pledge within the capacity: its own amount counts as free, in English",
         path(*MENU, SELL, label("sales.ussd.my_pledges", "en"), "1", label("sales.ussd.change", "en"), "1000",
              label("sales.ussd.weeks.1", "en"), label("ussd.yes", "en"), phone=SOLO_PHONE),
         lambda b: b == "END " + T("sales.ussd.changed", "en", id=1),
         pledge_now("pledged", 1_000_000, "Pledge #1 changed: Tomato 1000 kg (was 600 kg)"),
         world=True, setup=speaks("en", small_centre, pledged_for(600_000))),
    Case("a change beyond the capacity is refused with the free amount, in English",
         path(*MENU, SELL, label("sales.ussd.my_pledges", "en"), "1", label("sales.ussd.change", "en"), "1001",
              label("sales.ussd.weeks.1", "en"), label("ussd.yes", "en"), phone=SOLO_PHONE),
         lambda b: b == "END " + T("sales.sell.full", "en", centre="Dahana centre", free="1000 kg"),
         lambda session, world, bodies: [p.grams for p in session.scalars(select(Pledge))] == [600_000],
         world=True, setup=speaks("en", small_centre, pledged_for(600_000))),
    Case("a new pledge of the same crop and week changes the open one",
         path(*MENU, SELL, Pick("Помидор"), "800", Pick("sales.ussd.weeks.1"), Pick("ussd.yes"), phone=SOLO_PHONE),
         lambda b: b == "END " + _t("sales.ussd.changed", id=1), pledge_now("pledged", 800_000, "пеш 500 кг"),
         world=True, setup=pledged_for(500_000)),
    # -- Report a harvest
    Case("reporting a harvest needs registration", path(*MENU, YIELD, phone=NEW_PHONE),
         con("ussd.group.need_register"), no_yield, world=True),
    Case("report a harvest by USSD, in Tajik: the yield per hectare first",
         path(*MENU, YIELD, Pick("Помидор"), "2 т", "0,5", phone=SOLO_PHONE),
         con(words=(_t("yields.ussd.confirm", crop="Помидор", qty="2000 кг", area="0,5 га", per_ha="4 т/га"),)),
         no_yield, world=True),
    Case("report a harvest by USSD, in Tajik: recorded",
         path(*MENU, YIELD, Pick("Помидор"), "2 т", "0,5", Pick("ussd.yes"), phone=SOLO_PHONE),
         lambda b: b == "END " + _t("yields.done", crop="Помидор", qty="2000 кг", area="0,5 га", per_ha="4 т/га"),
         yield_recorded(2_000_000, 5000), world=True),
    Case("report a harvest by USSD in sotka, in Russian",
         path(*MENU, YIELD, Pick("Томат"), "1200", "50 соток", label("ussd.yes", "ru"), phone=SOLO_PHONE),
         lambda b: b == "END " + T("yields.done", "ru", crop="Томат", qty="1200 кг", area="0,5 га", per_ha="2,4 т/га"),
         yield_recorded(1_200_000, 5000), world=True, setup=speaks("ru")),
    Case("report a harvest by USSD, in Uzbek",
         path(*MENU, YIELD, Pick("Pomidor"), "3 t", "0.1 ga", label("ussd.yes", "uz"), phone=SOLO_PHONE),
         lambda b: b == "END " + T("yields.done", "uz", crop="Pomidor", qty="3000 kg", area="0.1 ga", per_ha="30 t/ga"),
         yield_recorded(3_000_000, 1000), world=True, setup=speaks("uz")),
    Case("report a harvest by USSD, in English",
         path(*MENU, YIELD, Pick("Tomato"), "800 kg", "0.25", label("ussd.yes", "en"), phone=SOLO_PHONE),
         lambda b: b == "END " + T("yields.done", "en", crop="Tomato", qty="800 kg", area="0.25 ha", per_ha="3.2 t/ha"),
         yield_recorded(800_000, 2500), world=True, setup=speaks("en")),
    # (on a Cyrillic screen the notice takes the question's place: it asks again itself)
    Case("a harvest that is not a number says why and asks again",
         path(*MENU, YIELD, Pick("Помидор"), "бисёр", phone=SOLO_PHONE),
         lambda b: b.startswith("CON " + _t("yields.ussd.bad_qty")), no_yield, world=True),
    Case("a harvest that is not a number says why and asks again, in English",
         path(*MENU, YIELD, Pick("Tomato"), "lots", phone=SOLO_PHONE),
         lambda b: b.startswith("CON " + T("yields.ussd.bad_qty", "en")) and T("yields.ussd.qty", "en") in b,
         no_yield, world=True, setup=speaks("en")),
    Case("an area in kg says why and asks again, in English",
         path(*MENU, YIELD, Pick("Tomato"), "800", "5 kg", phone=SOLO_PHONE),
         lambda b: b.startswith("CON " + T("yields.ussd.bad_area", "en")) and T("yields.ussd.area", "en") in b,
         no_yield, world=True, setup=speaks("en")),
    Case("an impossible yield says why and asks again",
         path(*MENU, YIELD, Pick("Помидор"), "900 т", "1 сотка", phone=SOLO_PHONE),
         lambda b: b.startswith("CON " + _t("yields.ussd.too_high")), no_yield, world=True),
    Case("no at the harvest confirmation goes back, nothing recorded",
         path(*MENU, YIELD, Pick("Помидор"), "2 т", "0,5", Pick("ussd.no"), phone=SOLO_PHONE),
         con("yields.ussd.area"), no_yield, world=True),
]
