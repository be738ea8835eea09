"""Walk every USSD screen reachable in every language and check that each fits the screen.

Breadth-first over the inputs 1–9, ``0``, ``00``, ``98``, ``99``, an empty input and
sample free text, from an unregistered phone, from a household phone with
three profiles (an active member, a pending one, one without a group) and a
saved half form, and from two Executive Committee chairs (a closed order round; an open one), on the demo-like world of ``tests/cases/ussd.py`` (committed). Each input is
applied in a transaction that is rolled back when it wrote anything, so every branch starts from
the same database (one transaction with a savepoint per input ran PostgreSQL out of lock memory);
an input that only read keeps the rows it loaded for the next one.
"""
from __future__ import annotations

import dataclasses
import json
from collections import deque

import pytest
from sqlalchemy import event, select

from cases import ussd as cases
from service.ussd import engine as ussd
from service.messaging.encoding import fits_ussd
from service.reference.names import LANGUAGES
from service.db import utcnow
from service.farmers import models as farmermod
from service.prices import alerts
from service.reminders import crop_cycle
from service.sales import joint_sale
from service.ussd.session import FormDraft

pytestmark = pytest.mark.slow  # walks every screen

CHAIR2 = "+992901120009"  # the chair of DAH02, which has an open order round
MENU_INPUTS = [str(n) for n in range(1, 10)] + ["0", "00", "98", "99", "", "a*b"]
PROMPT_INPUTS = ["Гулрухсори Абдураҳмонова-Сафарова", "Ali*Vali", "0,5", "3", "DAH01", "x", "", "0", "00", "98", "99"]


def _key(state: dict) -> str:
    """What makes two states lead to different screens. On a registration screen
    only that screen counts, with the form value it shows (the district's
    villages, the crops ticked); the form's other values and the menus below
    it change nothing but the confirmation summary, which is checked as rendered."""
    frames = [(f["s"], f["d"], f["start"], f["starts"]) for f in state["stack"]]
    top = frames[-1]
    if not top[0].startswith("reg_"):
        return json.dumps([state["lang"], state["farmer"], state["root"], frames])
    shows = {"reg_village": state["form"].get("district"), "reg_crops": sorted(state["form"].get("crops") or [])}
    return json.dumps(["form", state["lang"], top, shows.get(top[0])])


def walk(session, phone: str, lang: str, app: ussd.Ussd, settings) -> tuple[set[str], int]:
    """Visit every state reachable from a new session in ``lang`` (a language change
    is checked, not followed: each language has its own walk) of the USSD application ``app``
    with ``settings``; return the screens seen and the number of bodies checked."""
    settings = dataclasses.replace(settings, default_language=lang)  # a phone without a profile speaks lang
    problems, screens, checked = [], set(), 0

    def check(body: str, trail: list[str]) -> None:
        nonlocal checked
        checked += 1
        if body[:4] not in ("CON ", "END ") or not body[4:].strip() or not fits_ussd(body):
            problems.append(f"{'*'.join(trail)!r}: {body!r}")

    wrote: list[bool] = []
    event.listen(session, "after_flush", lambda *_: wrote.append(True))
    kept: list = []  # the session's identity map holds its rows weakly: keep them between inputs
    event.listen(session, "loaded_as_persistent", lambda _, row: kept.append(row))
    start = ussd.Dialogue.start(session, phone, ussd=app, settings=settings)
    check(start.render(), [])
    queue = deque([(start.state, [])])
    seen = {_key(start.state)}
    while queue:
        state, trail = queue.popleft()
        screens.add(state["stack"][-1]["s"])
        for value in PROMPT_INPUTS if app.screens[state["stack"][-1]["s"]].prompt else MENU_INPUTS:
            try:  # the world is committed: what an input wrote is rolled back (locks and all)
                dialogue = ussd.Dialogue(session, phone, json.loads(json.dumps(state)), ussd=app, settings=settings)
                dialogue.feed(value)
                body = dialogue.render()
            finally:
                if wrote or session.new or session.dirty or session.deleted:
                    session.rollback()
                    wrote.clear()
                    kept.clear()
            check(body, [*trail, value])
            key = _key(dialogue.state)
            if dialogue.ended is None and dialogue.lang == lang and key not in seen:
                seen.add(key)
                queue.append((dialogue.state, [*trail, value]))
    assert not problems, "\n".join(problems[:20])
    return screens, checked


# Every language on SQLite; on PostgreSQL the default language's walk, the longest, reaches every
# screen: a screen's text and its fit do not depend on the database, its queries do.
@pytest.mark.parametrize(("database_url", "lang"), [*(("sqlite", lang) for lang in LANGUAGES), ("postgresql", "tg")],
                         indirect=["database_url"])
def test_every_screen_fits_in_every_language(app, session, lang):
    cases.build_world(session, lang)
    session.add(FormDraft(phone=cases.HOUSEHOLD, kind="register", data={"name": "Нигора", "gender": "female"}))
    # a crop cycle with reminders still to come, so My crops offers its next tips
    settings = app.extensions["dehqon.settings"]
    main = farmermod.profiles(session, cases.HOUSEHOLD)[0]
    crop_cycle.record_planting(session, main, "rice", "S", settings.today(utcnow()), now=utcnow(), zone=settings.timezone)
    # an open pledge and a price alert, so My pledges and My price alerts are walked too
    joint_sale.pledge(session, main, "tomato", 500_000, settings.today(utcnow()), channel="sms")
    alerts.set_price_alert(session, main, "onion", 250, "above")
    # the Executive Committee's menu: DAH01's chair has a closed round with an order (its totals; Open
    # a round), DAH02's chair an open one (its totals; Close the round)
    from service.groups import membership
    from service.groups.producer_group import ProducerGroup
    from service.orders import catalogue, rounds
    malika = session.get(farmermod.Farmer, main.id)
    rounds.place_order(session, malika, catalogue.by_code(session, "PBD1"), 2, utcnow(), via="sms")
    rounds.close_round(session, rounds.open_round_of(session, membership.current(session, malika).pg_id), utcnow())
    chair2 = farmermod.register(session, phone=CHAIR2, name="Нодира Ҳасанова", gender="female",
                                village_id=malika.village_id, crop_ids=["tomato"], land_m2=3000, language=lang)
    dah02 = session.scalar(select(ProducerGroup).where(ProducerGroup.code == "DAH02"))
    membership.assign_ec_seat(session, chair2, dah02, "chair")
    rounds.open_round(session, dah02, utcnow())
    farmermod.profiles(session, cases.EC_PHONES[0])[0].language = lang  # each language walks its own
    session.commit()
    application, settings = app.extensions["dehqon.ussd"], app.extensions["dehqon.settings"]
    reached = set()
    for phone in (cases.NEW_PHONE, cases.HOUSEHOLD, cases.EC_PHONES[0], CHAIR2):
        screens, checked = walk(session, phone, lang, application, settings)
        reached |= screens
        assert checked > 100
    assert reached == set(application.screens)
