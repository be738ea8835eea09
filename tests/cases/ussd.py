"""USSD webhook cases: labelled AT hops (form fields exactly as AT posts them), the
expected answer and the expected effect, run by ``tests/test_ussd.py``.

Also :func:`build_world`, a small demo-like region (villages, PGs, an Executive
Committee, a household phone, prices) used by the cases, the screen walk and
the journey tests.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import templates_sms
from service.farmers import models as farmermod
from service.prices import alerts, market
from service.groups import membership
from service.messaging import language as phone_language
from service.messaging import optout
from service.reference.geography import Village, villages_of
from service.db import utcnow
from service.messaging.message import OutboundMessage
from service.messaging.optout import Suppression
from service.groups.producer_group import ProducerGroup
from service.ussd.session import FormDraft, UssdHop, UssdSession

SERVICE_CODE = "*384*7#"
SID = "ATUid_0f5c1a9e2b7d4c3a8e6f1b2c3d4e5f60"
NEW_PHONE = "+992901110001"      # no profile
TZ = ZoneInfo("Asia/Dushanbe")
SOLO_PHONE = "+992901110002"     # one profile (tg), no group, village Dahana
HOUSEHOLD = "+992901110003"      # three profiles, opted out of SMS
EC_PHONES = ["+992901120001", "+992901120002", "+992901120003", "+992901120004", "+992901120005"]
FORM = "application/x-www-form-urlencoded"


# ---------------------------------------------------------------------------
# The demo-like world
# ---------------------------------------------------------------------------

def build_world(session: Session, lang: str = "tg") -> dict:
    """Create villages, PGs, an EC, a household phone and prices; return handy ids.

    Profiles of the household and of ``SOLO_PHONE`` speak ``lang``. The EC of PG
    ``DAH01`` speaks all four languages (chair tg, deputy ru, secretary uz,
    treasurer en, member tg). ``DAH01``…``DAH06`` are in village Dahana, ``YOK01``
    (no EC: members are admitted at once) in Yokhsuchiyon.
    """
    dahana = next(v for v in villages_of(session, "kulob") if v.names["en"] == "Dahana")
    yokh = next(v for v in villages_of(session, "kulob") if v.names["en"] == "Yokhsuchiyon")
    for tg, ru, latin in [("Гулистони Боло-Даҳана", "Гулистон-Верхняя Дахана", "Guliston-Bolo-Dahana"),
                          ("Саргул", "Саргул", "Sargul"), ("Ҳасанобод", "Хасанабад", "Hasanobod")]:
        session.add(Village(jamoat_id="kulob.dahana", district_id="kulob",
                            names={"tg": tg, "ru": ru, "uz": latin, "en": latin}))
    pgs = {}
    for code, name in [("DAH01", "Даҳана помидор"), ("DAH02", "Гурӯҳи занони деҳқони Даҳанаи Боло"),
                       ("DAH03", "Ёрӣ"), ("DAH04", "Меҳнат"), ("DAH05", "Баракат"), ("DAH06", "Умед")]:
        pgs[code] = ProducerGroup(code=code, name=name, village_id=dahana.id, cluster_id="tomato.kulob")
    pgs["YOK01"] = ProducerGroup(code="YOK01", name="Ёхсучиён", village_id=yokh.id, cluster_id="tomato.kulob")
    session.add_all(pgs.values())
    session.flush()

    def person(phone, name, gender, language, village=dahana):
        return farmermod.register(session, phone=phone, name=name, gender=gender, village_id=village.id,
                                  crop_ids=["tomato"], land_m2=5000, language=language)

    ec = [("chair", "Раҳим Назаров", "male", "tg"), ("deputy", "Ольга Иванова", "female", "ru"),
          ("secretary", "Dilnoza Karimova", "female", "uz"), ("treasurer", "Farrukh Saidov", "male", "en"),
          ("ec_member", "Гулрухсори Абдураҳмонова-Сафарова", "female", "tg")]
    ec_ids = {}
    for phone, (role, name, gender, language) in zip(EC_PHONES, ec):
        holder = person(phone, name, gender, language)
        membership.assign_ec_seat(session, holder, pgs["DAH01"], role)
        ec_ids[role] = holder.id

    malika = person(HOUSEHOLD, "Малика Раҳимова", "female", lang)
    said = person(HOUSEHOLD, "Саид Раҳимов", "male", lang)
    long_name = person(HOUSEHOLD, "Гулбаҳор Абдураҳмонова-Сафарова", "female", lang)
    active = membership.join(session, malika, pgs["DAH01"])
    active.status = "active"
    membership.join(session, said, pgs["DAH01"])  # stays pending: DAH01 has an EC
    optout.opt_out(session, HOUSEHOLD, "keyword")
    solo = person(SOLO_PHONE, "Зарина Каримова", "female", lang)

    old, new = dt.date(2025, 6, 1), dt.date(2025, 6, 3)
    priced = ("BALKH", "DAHANA", "JOMI", "KULOB", "VOSE", "VOSECC")  # six markets (JOMICC, BALKHCC unpriced)
    for i, m in enumerate(session.scalars(select(market.Market).where(market.Market.code.in_(priced))
                                          .order_by(market.Market.code))):
        market.set_price(session, "tomato", m, 140 + 5 * i, old, "test")
        market.set_price(session, "tomato", m, 150 - 5 * i, new, "test")
    market.set_price(session, "onion", market.find_market(session, "KULOB"), 135, new, "test")
    session.commit()
    return {"dahana": dahana.id, "yokh": yokh.id, "pgs": {c: p.id for c, p in pgs.items()}, "ec": ec_ids,
            "malika": malika.id, "said": said.id, "long_name": long_name.id, "solo": solo.id}


# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------

def hop(text: str = "", *, session: str = SID, phone: str = NEW_PHONE, code: str = SERVICE_CODE,
        network: str = "43601") -> dict:
    """Form fields of one USSD hop exactly as AT posts them."""
    return {"sessionId": session, "serviceCode": code, "phoneNumber": phone, "networkCode": network, "text": text}


@dataclass(frozen=True)
class Pick:
    """An input typed by reading the screen: the number of the option labelled
    ``label`` (a template key, or the text itself)."""

    label: str

    def resolve(self, body: str, lang: str = "tg") -> str:
        label = _t(self.label, lang) if templates_sms.has(self.label) else self.label
        lines = body.removeprefix("CON ").removeprefix("END ").split("\n")
        return next(line.split(" ", 1)[0] for line in lines if _labels(line, label))


def _labels(line: str, label: str) -> bool:
    """True when the option ``line`` ("3 text") shows ``label``: as it is, with a member code in
    brackets after it (who is calling), or shortened with ``..`` before the code."""
    text = line.split(" ", 1)[1] if " " in line else ""
    if text == label or re.fullmatch(re.escape(label) + r" \(\d+\)", text):
        return True
    cut = re.fullmatch(r"(.+)\.\. \(\d+\)", text)
    return cut is not None and label.startswith(cut.group(1))


@dataclass(frozen=True)
class Seek(Pick):
    """:class:`Pick` on whichever page of a list shows ``label``: ``98`` typed (each its own hop)
    until a page shows it, at most ``pages`` times."""

    lang: str = "tg"
    pages: int = 12

    def shows(self, body: str) -> bool:
        """True when ``body`` lists the label (in :attr:`lang`)."""
        label = _t(self.label, self.lang) if templates_sms.has(self.label) else self.label
        return any(_labels(line, label) for line in body.split("\n"))

    def resolve(self, body: str, lang: str = "tg") -> str:
        return super().resolve(body, self.lang)


@dataclass(frozen=True)
class Dial:
    """A session typing ``inputs`` one by one from the empty first hop: ``len(inputs) + 1`` hops."""

    inputs: tuple
    session: str = SID
    phone: str = NEW_PHONE


def path(*inputs, session: str = SID, phone: str = NEW_PHONE) -> Dial:
    """The hops of one session typing ``inputs`` (strings or :class:`Pick`)."""
    return Dial(inputs, session, phone)


@dataclass
class Raw:
    """A request sent as-is to ``url``: ``body`` with ``content_type``, or a GET with ``query``."""

    body: str = ""
    content_type: str = FORM
    method: str = "POST"
    query: dict = field(default_factory=dict)
    url: str = "/ussd"


@dataclass
class Event:
    """An end-of-session notice (``POST /ussd/events``) with these form fields."""

    fields: dict


def event(status: str = "Success", *, session: str = SID, phone: str = NEW_PHONE, **fields) -> Event:
    """AT's end-of-session notice as it posts it; ``fields`` override or add fields (None removes one)."""
    form = {"date": "2025-06-03 10:15:00", "sessionId": session, "serviceCode": SERVICE_CODE, "phoneNumber": phone,
            "networkCode": "43601", "status": status, "cost": "KES 0.10", "durationInMillis": "12345",
            "hopsCount": "2", "input": "1", "lastAppResponse": "CON Ному насабро нависед:", "errorMessage": ""}
    form.update(fields)
    return Event({k: v for k, v in form.items() if v is not None})


@dataclass
class Case:
    """Requests posted in order; ``body`` checks the last answer (a string or a
    predicate); ``effect(session, world, bodies)`` checks the database (``bodies``:
    every answer, in order)."""

    label: str
    requests: list          # hop dicts, Raw requests, Dial sessions or Events
    body: str | Callable[[str], bool]
    effect: Callable | None = None
    status: int = 200
    token: str = ""         # WEBHOOK_TOKEN of the app
    key: str | None = None  # ?key= on the requests
    world: bool = False     # build_world() first
    log: str = ""           # text of an expected WARNING log record
    setup: Callable | None = None  # setup(session, world) after the world

    def __post_init__(self):
        if isinstance(self.requests, Dial):
            self.requests = [self.requests]


# ---------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------

def _t(key: str, lang: str = "tg", **params) -> str:
    return templates_sms.text(key, lang, **params)


def con(*keys: str, lang: str = "tg", words: tuple = ()) -> Callable[[str], bool]:
    """An open screen showing the texts ``keys`` (in ``lang``) and ``words``."""
    def check(body: str) -> bool:
        return body.startswith("CON ") and all(_t(k, lang) in body for k in keys) and all(w in body for w in words)
    check.__doc__ = f"CON {keys} {words}"
    return check


def end(*keys: str, lang: str = "tg", words: tuple = ()) -> Callable[[str], bool]:
    """A closing screen showing the texts ``keys`` (in ``lang``) and ``words``."""
    def check(body: str) -> bool:
        return body.startswith("END ") and all(_t(k, lang) in body for k in keys) and all(w in body for w in words)
    check.__doc__ = f"END {keys} {words}"
    return check


def notice(*keys: str, lang: str = "tg", words: tuple = (), note: str = "ussd.notice.invalid",
           **params) -> Callable[[str], bool]:
    """A screen shown again under the notice ``note`` (the reason: a template key, filled with
    ``params``), with the texts ``keys`` and ``words`` below it."""
    inner = con(*keys, lang=lang, words=words)
    check = lambda body: inner(body) and body.startswith("CON " + _t(note, lang, **params) + "\n")  # noqa: E731
    check.__doc__ = f"{note} + {inner.__doc__}"
    return check


#: the main menu, in its order: every caller sees the same numbers (6 is Register for a phone
#: without a profile, Add a person once it has one)
MAIN_KEYS = ("ussd.main.group", "ussd.main.prices", "ussd.main.orders", "ussd.main.advice", "ussd.main.account",
             "ussd.main.register")


def menu_page(first: int | tuple, keys: tuple, *, lang: str = "tg", more: bool = False, prev: bool = False,
              note: str = "") -> Callable[[str], bool]:
    """Exactly the main-menu page listing the texts ``keys`` numbered from ``first`` (menus number
    their items on across pages; a tuple gives each item's number), with the ``98``/``99`` hints
    as given and the notice ``note`` (a template key) above."""
    numbers = first if isinstance(first, tuple) else tuple(first + i for i in range(len(keys)))
    lines = [_t(note, lang)] if note else []
    lines += [f"{n} {_t(k, lang)}" for n, k in zip(numbers, keys)]
    nav = [_t(f"ussd.nav.{h}", lang) for h, on in (("more", more), ("prev", prev)) if on]
    expected = "CON " + "\n".join(lines + ([" ".join(nav)] if nav else []))
    check = lambda body: body == expected  # noqa: E731
    check.__doc__ = f"exactly {expected!r}"
    return check


#: a caller without a profile sees Register (6) and Language (7) first, each keeping its number
NEW_NUMBERS = (6, 7, 1, 2, 3, 4, 5)
NEW_KEYS = ("ussd.main.register", "ussd.main.language", *MAIN_KEYS[:5])


def new_menu_page(first: int, last: int, **kw) -> Callable[[str], bool]:
    """Exactly the page of an unregistered caller's main menu showing its lines ``first`` to
    ``last`` (counted from 0 in the order shown: 6 Register, 7 Language, 1 My group, ...)."""
    return menu_page(NEW_NUMBERS[first:last + 1], NEW_KEYS[first:last + 1], **kw)


#: an unregistered caller's first screen in Tajik: 6 Register, 7 Language, 1 My group, 98 more
MAIN_NEW = new_menu_page(0, 2, more=True)
#: ... and its second page: 2 Market prices, 3 Order inputs, 4 Advice, 98 more, 99 previous
MAIN_NEW_2 = new_menu_page(3, 5, more=True, prev=True)
#: ... and its third: 5 My account, 99 previous
MAIN_NEW_3 = new_menu_page(6, 6, prev=True)
#: the first page again under the "invalid" notice (which leaves room for Register and Language)
MAIN_NEW_INVALID = new_menu_page(0, 1, more=True, note="ussd.notice.invalid")


# ---------------------------------------------------------------------------
# Effects
# ---------------------------------------------------------------------------

def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def nothing_stored(session, world, bodies):
    assert count(session, UssdSession) == 0
    assert count(session, UssdHop) == 0
    assert count(session, OutboundMessage) == 0


def hops_stored(n: int):
    def check(session, world, bodies):
        assert count(session, UssdHop) == n
    return check


def shown(index: int, predicate: Callable[[str], bool]):
    """The answer ``bodies[index]`` (an earlier screen of the case) passes ``predicate``."""
    def check(session, world, bodies):
        assert predicate(bodies[index]), f"{predicate.__doc__} failed on {bodies[index]!r}"
    return check


def every(*effects):
    """All of ``effects``, in order."""
    def check(session, world, bodies):
        for effect in effects:
            effect(session, world, bodies)
    return check


def registered(name: str, gender: str, *, land_m2: int = 5000, crops=("tomato",), village="Dahana",
               phone: str = NEW_PHONE, sms: int = 1):
    """One new profile on ``phone`` as typed, no draft left, ``sms`` receipts queued."""
    def check(session, world, bodies):
        people = [f for f in farmermod.profiles(session, phone) if f.name == name]
        assert len(people) == 1, [f.name for f in farmermod.profiles(session, phone)]
        person = people[0]
        assert (person.gender, person.land_m2, person.crop_ids) == (gender, land_m2, sorted(crops))
        assert session.get(Village, person.village_id).names["en"] == village
        assert session.scalar(select(FormDraft).where(FormDraft.phone == phone)) is None
        receipts = session.scalars(select(OutboundMessage).where(OutboundMessage.farmer_id == person.id)).all()
        assert [(m.kind, m.phone) for m in receipts] == [("reply", phone)] * sms
        assert person.code in receipts[0].text
    return check


def first_screen(lang: str) -> Callable[[str], bool]:
    """An unregistered caller's first screen in ``lang``: 6 Register and 7 Language first."""
    register, language = _t("ussd.main.register", lang), _t("ussd.main.language", lang)
    check = lambda body: body.startswith(f"CON 6 {register}\n7 {language}\n")  # noqa: E731
    check.__doc__ = f"first screen in {lang}"
    return check


def phone_picked(lang: str, phone: str = NEW_PHONE):
    """The phone's remembered language is ``lang``."""
    def check(session, world, bodies):
        assert phone_language.remembered(session, phone) == lang
    return check


def picked(lang: str, phone: str = NEW_PHONE):
    """Setup: ``phone`` picked ``lang`` before (e.g. by SMS ``LANG``)."""
    def setup(session, world):
        phone_language.remember(session, phone, lang)
        session.commit()
    return setup


def new_profile_speaks(lang: str):
    def check(session, world, bodies):
        assert [f.language for f in farmermod.profiles(session, NEW_PHONE)] == [lang]
        receipt = session.scalars(select(OutboundMessage).where(OutboundMessage.phone == NEW_PHONE)).one()
        assert receipt.language == lang
    return check


def draft(**expected):
    def check(session, world, bodies):
        row = session.scalar(select(FormDraft).where(FormDraft.phone == NEW_PHONE))
        assert row is not None and {k: row.data.get(k) for k in expected} == expected, row and row.data
    return check


def picked_village_from_page(session, world, bodies):
    """After 98, option 1 is the first village of the page shown (not of the list)."""
    page_two = bodies[-2]
    first_line = next(line for line in page_two.split("\n") if line.startswith("1 "))
    row = session.scalar(select(FormDraft).where(FormDraft.phone == NEW_PHONE))
    assert session.get(Village, row.data["village"]).names["tg"] == first_line[2:]
    assert first_line[2:] != villages_of(session, "kulob")[0].names["tg"]


def suppressed(phone: str, expected: bool, kind: str):
    def check(session, world, bodies):
        assert (session.get(Suppression, phone) is not None) is expected
        assert [m.kind for m in session.scalars(select(OutboundMessage).where(OutboundMessage.phone == phone))] == [kind]
    return check


def no_rows(model):
    def check(session, world, bodies):
        assert count(session, model) == 0
    return check


def form_saved_not_committed(session, world, bodies):
    draft(name="Зарина Раҳимова", crops=["tomato"], land_m2=5000)(session, world, bodies)
    assert count(session, farmermod.Farmer) == 0


def phone_stored(session, world, bodies):
    assert session.get(UssdSession, SID).phone == NEW_PHONE


def broken_draft(session, world):
    """A saved form whose village no longer exists (registering it fails in the database);
    the household's main profile speaks Russian."""
    session.get(farmermod.Farmer, world["malika"]).language = "ru"
    session.add(FormDraft(phone=HOUSEHOLD, kind="register", data={
        "name": "Нигора", "gender": "female", "district": "kulob", "village": 999999, "crops": ["tomato"],
        "crops_done": True, "land_m2": 5000}))
    session.commit()


def language_of(profile: str, lang: str):
    def check(session, world, bodies):
        assert session.get(farmermod.Farmer, world[profile]).language == lang
    return check


def joined(status: str, ec_notices: bool):
    def check(session, world, bodies):
        person = session.get(farmermod.Farmer, world["solo"])
        m = membership.current(session, person)
        assert m is not None and m.status == status
        mine = session.scalars(select(OutboundMessage).where(OutboundMessage.phone == SOLO_PHONE)).all()
        assert [x.kind for x in mine] == ["reply"]
        notices = {x.phone: x for x in session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "notice"))}
        if not ec_notices:
            assert notices == {}
            return
        assert set(notices) == set(EC_PHONES)
        approve = f"APPROVE {person.code}"
        assert all(approve in x.text for x in notices.values())
        pg = session.get(ProducerGroup, m.pg_id).code  # the SMS channel's notice, in each member's language
        assert all(x.text == _t("sms.join.ec_notice", x.language, name=person.name, code=person.code, pg=pg)
                   for x in notices.values())
        assert notices[EC_PHONES[1]].language == "ru" and "просится" in notices[EC_PHONES[1]].text
        assert notices[EC_PHONES[2]].language == "uz" and notices[EC_PHONES[3]].language == "en"
    return check


def left_group(session, world, bodies):
    person = session.get(farmermod.Farmer, world["malika"])
    assert membership.current(session, person) is None


def no_farmer_added(session, world, bodies):
    assert [f.id for f in farmermod.profiles(session, HOUSEHOLD)] == [world["malika"], world["said"], world["long_name"]]
    assert count(session, OutboundMessage) == 0


# Register is 6 on the main menu (picked from its first page too: menu numbers run on across pages).
# Kulob is the 3rd district (ordered by id: balkhi, jomi, kulob, vose); Dahana its
# 1st village (ordered by English name); crops are ordered onion, rice, tomato, then Done.
REG = ("6", "Зарина Раҳимова", "1", "3", "1", "3", "4", "0,5")

# ---- invalid input says why and keeps the question (issue 9 item 7), in every language

#: a 67-character name: over the 40-letter limit
LONG_NAME = "Гулнора Абдураҳмонова-Сафарова Хушвахтовна Маликовна Раҳимовна Х" + "уш"


def in_language(lang: str) -> tuple:
    """The inputs that switch an unregistered caller to ``lang`` and come back to the main menu."""
    return ("5", "1", str(("tg", "ru", "uz", "en").index(lang) + 1), "00")


def reg_in(lang: str) -> tuple:
    """:data:`REG` typed in ``lang`` (the form up to the land, which is left out)."""
    return (*in_language(lang), *REG[:-1])


def speaks(lang: str):
    """Setup: Zarina (``SOLO_PHONE``) speaks ``lang``."""
    def setup(session, world):
        session.get(farmermod.Farmer, world["solo"]).language = lang
        session.commit()
    return setup


def unlisted_village(name: str, typed: str, district: str):
    """One profile ``name`` on ``NEW_PHONE`` with no village id, the village ``typed`` kept with
    its ``district`` for review (listed by ``farmermod.unlisted``), its receipt queued."""
    def check(session, world, bodies):
        person = next(f for f in farmermod.profiles(session, NEW_PHONE) if f.name == name)
        assert (person.village_id, person.unlisted_village, person.unlisted_district_id) == (None, typed, district)
        assert [f.id for f in farmermod.unlisted(session)] == [person.id]
        assert session.scalar(select(FormDraft).where(FormDraft.phone == NEW_PHONE)) is None
        assert session.scalar(select(func.count()).select_from(OutboundMessage)
                              .where(OutboundMessage.farmer_id == person.id)) == 1
    return check


def household_speaks(lang: str):
    """Setup: the three profiles of ``HOUSEHOLD`` speak ``lang``."""
    def setup(session, world):
        for f in farmermod.profiles(session, HOUSEHOLD):
            f.language = lang
        session.commit()
    return setup


def shows_codes(*people: str):
    """The last screen shows each of ``people`` (world keys) with their member code in brackets."""
    def check(session, world, bodies):
        for who in people:
            person = session.get(farmermod.Farmer, world[who])
            assert f"{person.name} ({person.code})" in bodies[-1], bodies[-1]
    return check


def shows_code(who: str, key: str, lang: str):
    """The last screen shows ``key`` (in ``lang``) with the member code of ``who`` (a world key)."""
    def check(session, world, bodies):
        code = session.get(farmermod.Farmer, world[who]).code  # the stored member code, not the id
        assert _t(key, lang, code=code) in bodies[-1], bodies[-1]
    return check


def receipt_named(who: str, first_name: str | None, lang: str):
    """The one SMS queued for ``who`` (a world key) starts with ``first_name: `` (None: no name)."""
    def check(session, world, bodies):
        [row] = session.scalars(select(OutboundMessage).where(OutboundMessage.farmer_id == world[who])).all()
        prefix = _t("push.for_names", lang, names=first_name or "", text="")
        assert row.text.startswith(prefix) is (first_name is not None), row.text
        assert row.language == lang
    return check


def invalid_input_cases() -> list:
    rows = []
    land_words = {"tg": "1,5 га", "ru": "1,5 гектара", "uz": "1.5 gektar", "en": "1.5 ha"}
    for lang in ("tg", "ru", "uz", "en"):
        rows += [
            Case(f"{lang}: a 67-character name is refused with the limit, the question kept",
                 path(*in_language(lang), "6", LONG_NAME),
                 notice("ussd.reg.name", lang=lang, note="ussd.notice.name_long")),
            Case(f"{lang}: a name without letters is refused with the reason", path(*in_language(lang), "6", "12"),
                 notice("ussd.reg.name", lang=lang, note="ussd.notice.name_short")),
            Case(f"{lang}: nothing typed for the name: said so, the question kept", path(*in_language(lang), "6", ""),
                 notice("ussd.reg.name", lang=lang, note="ussd.notice.empty")),
            Case(f"{lang}: land refused with the reason, the question kept", path(*reg_in(lang), "many"),
                 notice("ussd.reg.land", lang=lang, note="ussd.notice.land")),
            Case(f"{lang}: land over 500 ha refused with the reason", path(*reg_in(lang), "600"),
                 notice("ussd.reg.land", lang=lang, note="ussd.notice.land")),
            Case(f"{lang}: land with its unit word: 1.5 ga", path(*reg_in(lang), "1.5 ga"),
                 con("ussd.reg.save", lang=lang), draft(land_m2=15000)),
            Case(f"{lang}: land with the unit in {lang}: {land_words[lang]}", path(*reg_in(lang), land_words[lang]),
                 con("ussd.reg.save", lang=lang), draft(land_m2=15000)),
            Case(f"{lang}: land in sotka", path(*reg_in(lang), "50 sotka"),
                 con("ussd.reg.save", lang=lang), draft(land_m2=5000)),
            Case(f"{lang}: an invalid topic keeps the crop's topic question",
                 path("4", "1", "1", "x", phone=SOLO_PHONE),
                 notice("advice.ussd.topics.sowing", lang=lang,
                        words=(_t("advice.ussd.topic", lang, crop="").lstrip(": "),)),
                 world=True, setup=speaks(lang)),
            Case(f"{lang}: an invalid pick on a tip keeps the tip", path("4", "1", "1", "1", "x", phone=SOLO_PHONE),
                 lambda body, lang=lang: body.startswith("CON " + _t("ussd.notice.invalid", lang) + "\n")
                 and len(body.split("\n")) >= 3 and body.split("\n")[1][:1] not in "0123456789",
                 world=True, setup=speaks(lang)),
            Case(f"{lang}: an invalid pick on the crop list keeps its question",
                 path("4", "1", "x", phone=SOLO_PHONE), notice("advice.ussd.crop", lang=lang, words=("\n1 ",)),
                 world=True, setup=speaks(lang)),
            Case(f"{lang}: an empty reply to the first screen, then 1 (AT text *1) is taken",
                 [hop("", phone=SOLO_PHONE), hop("", phone=SOLO_PHONE), hop("*1", phone=SOLO_PHONE)],
                 lambda body, lang=lang: body.startswith("CON ") and _t("ussd.notice.invalid", lang) not in body
                 and _t("ussd.notice.empty", lang) not in body and _t("ussd.main.prices", lang) not in body,
                 world=True, setup=speaks(lang)),
            Case(f"{lang}: a pledge quantity refused with the reason, the question kept",
                 path("4", "3", "3", "a lot", phone=SOLO_PHONE),
                 notice("sales.ussd.qty", lang=lang, note="sales.ussd.bad_qty"), world=True, setup=speaks(lang)),
        ]
    for lang in ("tg", "ru", "uz", "en"):
        rows += [
            Case(f"{lang}: my village is not listed: typed, registered, kept for staff review",
                 path(*in_language(lang), *REG[:4], Seek("ussd.reg.village_other", lang=lang), "Қишлоқи Нав",
                      *REG[5:], "1"),
                 end(lang=lang, words=(_t("ussd.reg.done", lang, code="")[:10],)),
                 unlisted_village("Зарина Раҳимова", "Қишлоқи Нав", "kulob")),
            Case(f"{lang}: the typed village is shown on the confirmation",
                 path(*in_language(lang), *REG[:4], Seek("ussd.reg.village_other", lang=lang), "Ёвон-2", *REG[5:]),
                 con("ussd.reg.save", lang=lang, words=("Ёвон-2",)), draft(village=None, unlisted_village="Ёвон-2")),
            Case(f"{lang}: a village name without letters is refused with the reason",
                 path(*in_language(lang), *REG[:4], Seek("ussd.reg.village_other", lang=lang), "7"),
                 notice("ussd.reg.village_name", lang=lang, note="ussd.notice.village")),
            Case(f"{lang}: the village list's first page has no 'Other village' line (pages as before)",
                 path(*in_language(lang), *REG[:4]),
                 lambda body, lang=lang: body.startswith("CON ") and _t("ussd.reg.village", lang) in body
                 and _t("ussd.reg.village_other", lang) not in body and "1 " in body),
            Case(f"{lang}: after resuming a dropped registration, 0 goes to the previous field",
                 [path(*in_language(lang), "6", "Зарина", "1"),
                  path(*in_language(lang), "6", Seek("ussd.reg.continue", lang=lang), "0", session="ATUid_second")],
                 con("ussd.reg.gender", lang=lang)),
        ]
    for lang in ("tg", "ru", "uz", "en"):
        rows += [
            Case(f"{lang}: who is calling shows each person's member code", path("98", phone=HOUSEHOLD),
                 con("ussd.who.title", lang=lang), every(shows_codes("said"), shown(0, lambda body: True),
                                                         lambda s_, w, b: shows_codes("malika")(s_, w, b[:1])),
                 world=True,
                 setup=household_speaks(lang)),
            Case(f"{lang}: My account shows the member code of the person speaking",
                 path(Seek("Саид Раҳимов"), "5", phone=HOUSEHOLD), con(lang=lang),
                 shows_code("said", "ussd.account.code", lang),
                 world=True, setup=household_speaks(lang)),
            Case(f"{lang}: a receipt on the shared phone names the person it is for",
                 path(Seek("Гулбаҳор Абдураҳмонова-Сафарова"), "1", "1", "1", phone=HOUSEHOLD),
                 end("ussd.join.sent", lang=lang),
                 receipt_named("long_name", "Гулбаҳор", lang), world=True, setup=household_speaks(lang)),
        ]
    rows.append(Case("a phone with one profile: its receipt names no one", path("1", "1", "1", phone=SOLO_PHONE),
                     end("ussd.join.sent"), receipt_named("solo", None, "tg"), world=True))
    rows.append(Case("after resuming at the land, 0 twice goes to the crops then the village",
                     [path(*REG[:-1]), path("6", Pick("ussd.reg.continue"), "0", "0", session="ATUid_second")],
                     con("ussd.reg.village", words=("1 Даҳана",))))
    rows.append(Case("an empty reply then 1 on a phone without a profile opens My group",
                     [hop(""), hop(""), hop("*1")], con("ussd.group.need_register")))
    return rows


def sowed_tomato(lang: str, days_ago: int = 3, stop: bool = False):
    """Zarina (``SOLO_PHONE``) speaks ``lang`` and reported sowing tomato ``days_ago`` days ago
    (``stop``: then stopped its tips): the nursery tip went out; the next ones are frost_check
    (T-3 = S+42), transplant (S+45), stake, sale_plan, harvest, whatever the hour."""
    def setup(session, world):
        from service.reminders import crop_cycle
        solo = session.get(farmermod.Farmer, world["solo"])
        solo.language = lang
        now = utcnow()
        sown = now.astimezone(TZ).date() - dt.timedelta(days=days_ago)
        crop_cycle.record_planting(session, solo, "tomato", "S", sown, now=now, zone=TZ)
        if stop:
            crop_cycle.stop_reminders(session, solo, "tomato")
        session.commit()
    return setup


def next_tips(lang: str, crop: str, *gists: str):
    """The My crops list of next tips: its head, then one line per tip (its day, then the gist of
    its text, maybe shortened with ``..``), the first of ``gists`` in order (as many as the page holds)."""
    def check(body: str) -> bool:
        lines = [line for line in body.split("\n")[1:] if line[:2].isdigit() and line[2:3] == "."]
        shown = [line.split(" ", 1)[1] for line in lines]
        head = body.split("\n")[0]
        return (head == "CON " + _t("push.ussd.next_head", lang, crop=crop) and 0 < len(shown) <= len(gists)
                and all(g.startswith(t[:-2]) if t.endswith("..") else g == t for t, g in zip(shown, gists)))
    check.__doc__ = f"next tips {gists}"
    return check


def _gists(lang: str) -> list[str]:
    """The gists of the tomato tips after the nursery, in order (frost check ... harvest)."""
    from service.reminders.campaign import CampaignEvent
    return [CampaignEvent(text_key=f"campaigns.tomato.{code}").gist(lang)
            for code in ("frost_check", "transplant", "stake", "sale_plan", "harvest")]


def solo_speaks(lang: str, *more):
    """Setup: Zarina (SOLO_PHONE) speaks ``lang``, then ``more`` setups."""
    def setup(session, world):
        session.get(farmermod.Farmer, world["solo"]).language = lang
        session.commit()
        for step in more:
            step(session, world)
    return setup


def subscribe_solo(session, world):
    alerts.subscribe_prices(session, session.get(farmermod.Farmer, world["solo"]), True)
    session.commit()


def alert_of_solo(crop: str, direction: str, diram: int):
    def setup(session, world):
        alerts.set_price_alert(session, session.get(farmermod.Farmer, world["solo"]), crop, diram, direction)
        session.commit()
    return setup


def digest_of_solo(on: bool):
    def check(session, world, bodies):
        assert alerts.is_subscribed(session, session.get(farmermod.Farmer, world["solo"])) is on
    return check


def alerts_of_solo(expected: list):
    """Zarina's unfired alerts are exactly ``expected`` [(crop, direction, diram)] (any market)."""
    def check(session, world, bodies):
        got = [(a.crop_id, a.direction, a.threshold_diram, a.market_id)
               for a in alerts.open_alerts(session, session.get(farmermod.Farmer, world["solo"]))]
        assert sorted(got) == sorted((*e, None) for e in expected), got
    return check


INVALID_INPUT_CASES = invalid_input_cases()

CASES = [
    # -- first hop ----------------------------------------------------------------
    Case("empty first hop shows the main menu: Register (6) and Language (7) first", [hop(""), hop("98"), hop("98*98")],
         MAIN_NEW_3, every(shown(0, MAIN_NEW), shown(1, MAIN_NEW_2), hops_stored(3))),
    Case("service code as first hop", [hop("*384*7#")], MAIN_NEW, hops_stored(1)),
    Case("service code without # (cut off)", [hop("*384*7")], MAIN_NEW),
    Case("text field missing is an empty text",
         [{"sessionId": SID, "serviceCode": SERVICE_CODE, "phoneNumber": NEW_PHONE}], MAIN_NEW),
    Case("pre-filled path renders as typed", [hop("6*Зарина*1")], con("ussd.reg.district"),
         draft(name="Зарина", gender="female")),
    Case("dial-through with the code", [hop("*384*7*6*Зарина#")], con("ussd.reg.gender"), draft(name="Зарина")),
    Case("start sent twice: same main menu", [hop(""), hop("*384*7#")], MAIN_NEW, hops_stored(2)),
    # -- replays and ended sessions ---------------------------------------------
    Case("repeated hop answers the same and stores nothing new", [hop(""), hop("6"), hop("6")],
         con("ussd.reg.name"), hops_stored(2)),
    Case("repeated final hop: same END, one farmer, one SMS",
         [path(*REG, "1"), hop("*".join((*REG, "1")))], end(words=("Рамзи аъзо",)),
         registered("Зарина Раҳимова", "female", sms=1)),
    Case("hop after END with a new text asks to dial again", [path(*REG, "1"), hop("*".join((*REG, "1", "1")))],
         lambda b: b == "END " + _t("ussd.dial_again", ussd="*384*7#"), registered("Зарина Раҳимова", "female")),
    # -- free text and malformed input ------------------------------------------
    Case("a * typed inside a name stays in the name",
         [hop(""), hop("6"), hop("6*Ali*Vali"), hop("6*Ali*Vali*2"), hop("6*Ali*Vali*2*3"), hop("6*Ali*Vali*2*3*1"),
          hop("6*Ali*Vali*2*3*1*3"), hop("6*Ali*Vali*2*3*1*3*4"), hop("6*Ali*Vali*2*3*1*3*4*1.5"),
          hop("6*Ali*Vali*2*3*1*3*4*1.5*1")],
         end(words=("Рамзи аъзо",)), registered("Ali Vali", "male", land_m2=15000)),
    Case("a woman registers: gender, village, crops and land as chosen", path(*REG, "1"),
         end(words=("Рамзи аъзо",)), registered("Зарина Раҳимова", "female")),
    Case("empty segment re-shows the same screen", [hop(""), hop("6"), hop("6*"), hop("6**")],
         notice("ussd.reg.name", note="ussd.notice.empty")),
    Case("input after empty segments goes to the screen shown", [hop(""), hop("6"), hop("6*"), hop("6**Зарина")],
         con("ussd.reg.gender"), draft(name="Зарина")),
    Case("letters on the main menu", [hop(""), hop("abc")], MAIN_NEW_INVALID),
    Case("letters in a numeric field", path("6", "Зарина", "x"), notice("ussd.reg.gender")),
    Case("letters as land size: the reason, the question kept", path(*REG[:-1], "abc"),
         notice("ussd.reg.land", note="ussd.notice.land")),
    Case("# as input", path("6", "Зарина", "#"), notice("ussd.reg.gender")),
    Case("option number out of range", path("8"), MAIN_NEW_INVALID),
    Case("no crop picked: Done refused", path(*REG[:5], "4"), con("ussd.notice.pick_crop", "ussd.reg.crops_done")),
    Case("half form is saved, not committed", [path(*REG)], con("ussd.reg.save", words=("Зарина Раҳимова", "Даҳана, 0,5 га")),
         form_saved_not_committed),
    Case("cancel on confirmation drops the form", [path(*REG, "2")],
         new_menu_page(0, 1, more=True, note="ussd.notice.cancelled"),
         every(no_rows(FormDraft), no_rows(farmermod.Farmer))),  # and nothing registered
    # -- navigation ---------------------------------------------------------------
    Case("0 goes back one screen", path("6", "Зарина", "0"), con("ussd.reg.name")),
    Case("0 on the main menu re-shows it with a notice", path("0"), MAIN_NEW_INVALID),
    Case("00 goes to the main menu", path("6", "Зарина", "1", "00"), MAIN_NEW),
    Case("98 shows the next page", path("6", "Зарина", "1", "3", "98"), con("ussd.reg.village", "ussd.nav.prev")),
    Case("99 shows the previous page", path("6", "Зарина", "1", "3", "98", "99"),
         con("ussd.reg.village", "ussd.nav.more", words=("Даҳана",))),
    Case("99 on the first page is refused", path("6", "Зарина", "1", "3", "99"), notice(words=("1 Даҳана",))),
    Case("98 on a screen without more pages is refused", path("6", "Зарина", "98"), notice("ussd.reg.gender")),
    Case("an option picked after 98 refers to the page shown", path("6", "Зарина", "1", "3", "98", "1"),
         con("ussd.reg.crops"), picked_village_from_page),
    Case("a main-menu number keeps its item on every page: 6 after 98 is Register", path("98", "6"),
         con("ussd.reg.name"), shown(-2, MAIN_NEW_2)),
    Case("a main-menu number picks its item from any page: 5 on the first page is My account", path("5"),
         con(words=("1 " + _t("ussd.account.language", name=_t("lang_name")),))),
    Case("a main-menu number picks its item from any page: 1 after 98 is My group", path("98", "1"),
         con("ussd.group.need_register"), shown(-2, MAIN_NEW_2)),
    # -- resuming a dropped form -----------------------------------------------
    Case("next dial offers to continue a dropped form",
         [path("6", "Зарина", "1"), hop("", session="ATUid_second"), hop("6", session="ATUid_second")],
         con("ussd.reg.resume", "ussd.reg.continue", "ussd.reg.restart")),
    Case("continue goes to the first missing field",
         [path("6", "Зарина", "1"), path("6", "1", session="ATUid_second")], con("ussd.reg.district")),
    Case("start again empties the form",
         [path("6", "Зарина", "1"), path("6", "2", session="ATUid_second")], con("ussd.reg.name"), no_rows(FormDraft)),
    # -- bad requests ---------------------------------------------------------------
    Case("a 3,900-digit answer to a menu is invalid input, not an error", [hop(""), hop("9" * 3900)],
         con("ussd.notice.invalid"), hops_stored(2)),
    Case("missing sessionId", [{k: v for k, v in hop("").items() if k != "sessionId"}],
         "END " + _t("ussd.unavailable"), nothing_stored),
    Case("missing phoneNumber", [{k: v for k, v in hop("").items() if k != "phoneNumber"}],
         "END " + _t("ussd.unavailable"), nothing_stored),
    Case("unparseable phoneNumber", [hop("", phone="12ab")], "END " + _t("ussd.unavailable"), nothing_stored),
    Case("+ decoded to a space in phoneNumber",
         [Raw(f"sessionId={SID}&serviceCode=%2A384%2A7%23&phoneNumber=+992901110001&networkCode=43601&text=")],
         MAIN_NEW, phone_stored),
    Case("JSON body: no form fields", [Raw(json.dumps(hop("")), "application/json")],
         "END " + _t("ussd.unavailable"), nothing_stored),
    Case("empty body", [Raw("")], "END " + _t("ussd.unavailable"), nothing_stored),
    Case("GET with query fields", [Raw(method="GET", query=hop(""))], MAIN_NEW),
    Case("token set, key missing: 403", [hop("")], lambda b: True, nothing_stored, status=403, token="s3cret"),
    Case("token set, key wrong: 403", [hop("")], lambda b: True, nothing_stored, status=403, token="s3cret",
         key="guess"),
    Case("token set, key right", [hop("")], MAIN_NEW, hops_stored(1), token="s3cret", key="s3cret"),
    Case("an exception ends politely in the caller's language (rolled back)",
         [path("1", "98", Pick(_t("ussd.main.add_person", "ru")), "1", "1", phone=HOUSEHOLD)], "END " + _t("ussd.error", "ru"), no_farmer_added,
         world=True, setup=broken_draft),
    # -- menus with the demo-like world -----------------------------------------
    Case("my group for an unregistered phone: register first", path("1"), con("ussd.group.need_register"),
         world=True),
    Case("order inputs for an unregistered phone: register first", path("3"), con("ussd.group.need_register"),
         world=True),
    Case("household phone: who is calling", [hop("", phone=HOUSEHOLD)],
         con("ussd.who.title", "ussd.who.new", words=("Малика Раҳимова",)), world=True),
    Case("join a PG of my village", path("1", "1", "1", phone=SOLO_PHONE), end("ussd.join.sent"),
         joined("pending", ec_notices=True), world=True),
    Case("join by code, PG without EC: active at once",
         [path("1", Pick("ussd.join.by_code"), "yok01", "1", phone=SOLO_PHONE)], end("ussd.join.active"),
         joined("active", ec_notices=False), world=True),
    Case("unknown group code", [path("1", Pick("ussd.join.by_code"), "XX99", phone=SOLO_PHONE)], con("ussd.notice.pg_unknown", "ussd.join.code"),
         world=True),
    Case("pending request shows its status", path(Seek("Саид Раҳимов"), "1", phone=HOUSEHOLD),
         con(words=("DAH01", "интизори тасдиқ")), world=True),
    Case("EC names and roles", path("1", "1", "1", phone=HOUSEHOLD),
         con("ussd.ec.title", words=("Раис: Раҳим Назаров",)), world=True),
    Case("leave the group", path("1", "1", "2", "1", phone=HOUSEHOLD), end("ussd.leave.done"), left_group,
         world=True),
    # the caller's own district (Kulob) first, newest first then by code, by short name, under the page's date
    Case("prices: comma, change and date in Tajik", path("2", "3", "98", phone=SOLO_PHONE),
         con(words=("Помидор, 03.06:\nКӯлоб 1,35 -0,20\nБалх 1,50 +0,10\n",)), world=True),
    Case("prices: a first report has no change", path("2", "1", phone=SOLO_PHONE),
         con(words=("Пиёз, 03.06:\nКӯлоб 1,35\n",)), world=True),
    Case("prices: none yet", path("2", "2", phone=SOLO_PHONE), con("ussd.prices.none"), world=True),
    Case("stop messages", [path("5", "2")], end("ussd.account.stopped"), suppressed(NEW_PHONE, True, "stop_confirm")),
    Case("restart messages", [path("1", "98", Pick("ussd.main.account"), "2", phone=HOUSEHOLD)], end("ussd.account.restarted"),
         suppressed(HOUSEHOLD, False, "reply"), world=True),
    # the notice leaves room for the first option of the account menu (language, restart, my crops)
    Case("language change: next screen already in Russian",
         [path("1", "98", Pick("ussd.main.account"), "1", "2", phone=HOUSEHOLD)],
         con("ussd.notice.lang_set", lang="ru", words=("1 Язык: Русский",)),
         language_of("malika", "ru"), world=True),
    # ---- My crops: the next reminders of a crop cycle
    Case("my crops: next tips of the tomato sown 3 days ago, in Tajik", path("5", "3", "1", "4", phone=SOLO_PHONE),
         next_tips("tg", "Помидор", *_gists("tg")),
         world=True, setup=sowed_tomato("tg")),
    Case("my crops: next tips in Russian", path("5", "3", "1", "4", phone=SOLO_PHONE),
         next_tips("ru", "Томат", *_gists("ru")),
         world=True, setup=sowed_tomato("ru")),
    Case("my crops: next tips in Uzbek", path("5", "3", "1", "4", phone=SOLO_PHONE),
         next_tips("uz", "Pomidor", *_gists("uz")),
         world=True, setup=sowed_tomato("uz")),
    Case("my crops: next tips in English", path("5", "3", "1", "4", phone=SOLO_PHONE),
         next_tips("en", "Tomato", *_gists("en")),
         world=True, setup=sowed_tomato("en")),
    Case("my crops in Russian for a woman: Посеяла", path("5", "3", "1", phone=SOLO_PHONE),
         con(lang="ru", words=("1 Посеяла",)), world=True, setup=sowed_tomato("ru")),
    Case("my crops in Russian for a woman, next page: Пересадила", path("5", "3", "1", "98", phone=SOLO_PHONE),
         con(lang="ru", words=("2 Пересадила",)), world=True, setup=sowed_tomato("ru")),
    Case("my crops: tips stopped, no next-tips line", path("5", "3", "1", phone=SOLO_PHONE),
         lambda body: body.startswith("CON ") and _t("push.ussd.next_tips", "tg") not in body,
         world=True, setup=sowed_tomato("tg", stop=True)),
    # -- the language of a phone without a profile (issue 9 item 1): picked on the first screen, it sticks
    *[Case(f"unregistered: 7 Language on the first screen picks {lang}, the next dial is in it",
           [path("7", str(i)), hop("", session="ATUid_second")], first_screen(lang),
           every(shown(0, MAIN_NEW), shown(2, con("ussd.notice.lang_set", lang=lang)), phone_picked(lang)))
      for i, lang in enumerate(("tg", "ru", "uz", "en"), 1)],
    Case("unregistered: My account > Language > O'zbekcha (5*1*3) sticks for the next dial",
         [hop("5*1*3"), hop("", session="ATUid_second")], first_screen("uz"), phone_picked("uz")),
    Case("unregistered: the language picked before registering is the profile's (ru)",
         [path("7", "2"), path(*REG, "1", session="ATUid_second")], end(lang="ru", words=("Код участника",)),
         every(registered("Зарина Раҳимова", "female"), new_profile_speaks("ru"))),
    Case("unregistered: a language changed while registering wins (uz picked, then en)",
         [path("7", "3"), path("7", "4", *REG, "1", session="ATUid_second")], end(lang="en", words=("Member code",)),
         every(registered("Зарина Раҳимова", "female"), new_profile_speaks("en"))),
    Case("unregistered: a language picked by SMS (LANG ru) greets the first dial", [hop("")], first_screen("ru"),
         setup=picked("ru")),
    Case("registered: the profile's language beats the phone's pick", [hop("", phone=SOLO_PHONE)],
         con(lang="tg", words=("1 " + _t("ussd.main.group"),)), world=True, setup=picked("en", SOLO_PHONE)),
    # -- My account, Price SMS: the weekly digest and price alerts (as PRICES ON/OFF and PRICEALERT)
    Case("price SMS: weekly prices and a new alert, no alert yet, in Tajik", path("5", "4", phone=SOLO_PHONE),
         lambda b: con("push.ussd.digest_on", "push.ussd.alert_new")(b)
         and _t("push.ussd.my_alerts") not in b, world=True),
    Case("price SMS: weekly prices on, in Tajik", path("5", "4", "1", phone=SOLO_PHONE),
         lambda b: b == "END " + _t("push.prices_on"), digest_of_solo(True), world=True),
    Case("price SMS: weekly prices off, in Russian (1 reads Stop once subscribed)",
         path("5", "4", "1", phone=SOLO_PHONE),
         lambda b: b == "END " + _t("push.prices_off", "ru"),
         every(digest_of_solo(False), shown(-2, con("push.ussd.digest_off", lang="ru"))), world=True,
         setup=solo_speaks("ru", subscribe_solo)),
    Case("price SMS: a new alert when the price falls, in Uzbek",
         path("5", "4", Pick(_t("push.ussd.alert_new", "uz")), Pick("Piyoz"), Pick(_t("push.ussd.dir_below", "uz")),
              "1.20", phone=SOLO_PHONE),
         lambda b: b == "END " + _t("push.ussd.alert_set", "uz", alert="Piyoz 1.20 dan past"),
         alerts_of_solo([("onion", "below", 120)]), world=True, setup=solo_speaks("uz")),
    Case("price SMS: a new alert when the price goes up, in Tajik",
         path("5", "4", Pick("push.ussd.alert_new"), Pick("Помидор"), Pick("push.ussd.dir_above"), "2,50 сомонӣ",
              phone=SOLO_PHONE),
         lambda b: b == "END " + _t("push.ussd.alert_set", alert="Помидор аз 2,50 боло"),
         alerts_of_solo([("tomato", "above", 250)]), world=True),
    Case("price SMS: a price that is not one says why and asks again",
         path("5", "4", Pick("push.ussd.alert_new"), Pick("Помидор"), Pick("push.ussd.dir_above"), "бисёр",
              phone=SOLO_PHONE),
         lambda b: b.startswith("CON " + _t("push.ussd.bad_price")), alerts_of_solo([]), world=True),
    Case("price SMS: my alerts, cancel one, in English",
         path("5", "4", Pick(_t("push.ussd.my_alerts", "en")), "1", Pick(_t("ussd.yes", "en")), phone=SOLO_PHONE),
         lambda b: b == "END " + _t("push.ussd.alert_cancelled", "en", alert="Onion at or above 2.50"),
         alerts_of_solo([("tomato", "below", 100)]), world=True,
         setup=solo_speaks("en", alert_of_solo("onion", "above", 250), alert_of_solo("tomato", "below", 100))),
    Case("price SMS: my alerts lists them, in Russian",
         path("5", "4", Pick(_t("push.ussd.my_alerts", "ru")), phone=SOLO_PHONE),
         con(lang="ru", words=("1 Лук от 2,50", "2 Томат до 1,00")), world=True,
         setup=solo_speaks("ru", alert_of_solo("onion", "above", 250), alert_of_solo("tomato", "below", 100))),
    Case("price SMS is not offered to a phone without a profile", path("5", "98", "4"),
         lambda b: _t("push.ussd.price_sms") not in b),
    *INVALID_INPUT_CASES,
]


def session_row(**expected):
    def check(session, world, bodies):
        row = session.get(UssdSession, SID)
        assert row is not None
        got = {k: getattr(row, k) for k in expected}
        assert got == expected
    return check


def ended_now(session, world, bodies):
    row = session.get(UssdSession, SID)
    assert row.status == "ended" and row.duration_ms is None and row.hops_count is None
    assert abs((row.ended_at - utcnow()).total_seconds()) < 60


EVENT_CASES = [
    Case("Success after hops: stored and closed", [hop(""), hop("6"), event("Success", input="6")], "OK",
         session_row(status="ended", end_status="Success", cost="KES 0.10", duration_ms=12345, hops_count=2,
                     final_input="6", last_response="CON Ному насабро нависед:", error_message=None,
                     ended_at=dt.datetime(2025, 6, 3, 10, 15, tzinfo=dt.timezone.utc), phone=NEW_PHONE)),
    Case("Incomplete for an unknown session creates the row", [event("Incomplete", hopsCount="1")], "OK",
         session_row(status="ended", end_status="Incomplete", hops_count=1, phone=NEW_PHONE, network_code="43601")),
    Case("Failed is stored and logged as a warning",
         [hop(""), event("Failed", errorMessage="Application timed out")], "OK",
         session_row(end_status="Failed", error_message="Application timed out"), log="Application timed out"),
    Case("bare-number cost, float duration, empty hop count",
         [event(cost="0.1", durationInMillis="1234.0", hopsCount="")], "OK",
         session_row(cost="0.1", duration_ms=1234, hops_count=None)),
    Case("unparseable numbers and date", [event(durationInMillis="abc", hopsCount="two", date="yesterday")], "OK",
         ended_now),
    Case("out-of-range numbers are dropped, the notice is kept",
         [hop(""), event("Failed", durationInMillis="1e30", hopsCount="1e400", errorMessage="slow")], "OK",
         session_row(end_status="Failed", error_message="slow", duration_ms=None, hops_count=None)),
    Case("+ decoded to a space in phoneNumber",
         [Raw(f"sessionId={SID}&phoneNumber=+992901110001&status=Success&cost=KES+0.10", url="/ussd/events")], "OK",
         session_row(phone=NEW_PHONE, cost="KES 0.10")),
    Case("only sessionId", [Raw(f"sessionId={SID}", url="/ussd/events")], "OK", session_row(status="ended")),
    Case("a new text after the notice asks to dial again", [hop(""), event("Incomplete"), hop("1")],
         lambda b: b == "END " + _t("ussd.dial_again", ussd="*384*7#"), hops_stored(1)),
    Case("the same text after the notice gets the stored answer", [hop(""), event("Incomplete"), hop("")],
         MAIN_NEW, hops_stored(1)),
    Case("JSON body", [Raw(json.dumps(event().fields), "application/json", url="/ussd/events")], "sessionId missing",
         nothing_stored, status=400),
    Case("empty body", [Raw("", url="/ussd/events")], "sessionId missing", nothing_stored, status=400),
    Case("token set, key missing: 403", [event()], lambda b: True, nothing_stored, status=403, token="s3cret"),
    Case("token set, key right", [event()], "OK", session_row(status="ended"), token="s3cret", key="s3cret"),
]


# ---------------------------------------------------------------------------
# Limits at the door, and control characters in every field
# ---------------------------------------------------------------------------

TOO_LONG = "END " + _t("ussd.too_long")
NUL = "\x00"


def with_nul(value: str) -> str:
    """``value`` with a NUL byte after its first character (``%00`` once url-encoded)."""
    return value[:1] + NUL + value[1:]


def stored_texts(*texts: str):
    """Exactly these hop texts are stored, in order."""
    def check(session, world, bodies):
        assert list(session.scalars(select(UssdHop.text).order_by(UssdHop.id))) == list(texts)
    return check


def ended_with_hops(n: int):
    """The session is closed and ``n`` hops are stored."""
    def check(session, world, bodies):
        assert session.get(UssdSession, SID).status == "ended"
        assert count(session, UssdHop) == n
    return check


def speaks(lang: str):
    def setup(session, world):
        session.get(farmermod.Farmer, world["solo"]).language = lang
        session.commit()
    return setup


def _back_and_forth(n: int) -> list[str]:
    """``n`` texts of one session going register (6) -> back -> register ... (each hop new)."""
    texts, typed = [""], []
    while len(texts) < n:
        typed.append("6" if len(typed) % 2 == 0 else "0")
        texts.append("*".join(typed))
    return texts


HUNDRED = _back_and_forth(101)  # the first hop and 100 more

LIMIT_CASES = [
    Case("the 10,000-hop dial-through ends at once, nothing replayed", [hop("1*" * 9999 + "1")], TOO_LONG,
         nothing_stored),
    Case("a text over 4,000 characters ends at once, nothing replayed", [hop("1*" * 2000 + "1")], TOO_LONG,
         nothing_stored),
    Case("a text of 4,000 characters is answered (a name that long is refused)",
         [hop(""), hop("6"), hop("6*" + "Ж" * 3998)], notice("ussd.reg.name", note="ussd.notice.name_long"),
         hops_stored(3)),
    Case("a dial-through of 21 steps ends at once, nothing replayed", [hop("*".join(["00"] * 21))], TOO_LONG,
         nothing_stored),
    Case("a dial-through of 20 steps is replayed", [hop("*".join(["00"] * 20))], MAIN_NEW, hops_stored(1)),
    Case("a dial-through with the code and 21 steps ends at once", [hop("*384*7*" + "*".join(["00"] * 21) + "#")],
         TOO_LONG, nothing_stored),
    Case("a million * ends at once (body over the cap)", [Raw("sessionId=x&phoneNumber=%2B992901110001&text="
                                                              + "*" * 1_000_000)], TOO_LONG, nothing_stored),
    Case("a body over 64 KiB gets END, unread", [Raw(urllib.parse.urlencode(hop("1" * 70_000)))], TOO_LONG,
         nothing_stored),
    Case("a form of 150 fields gets END, unread",
         [Raw(urllib.parse.urlencode(hop("")) + "".join(f"&f{i}=1" for i in range(150)))], TOO_LONG, nothing_stored),
    Case("a GET with a text over the limit ends at once", [Raw(method="GET", query=hop("1*" * 3000))], TOO_LONG,
         nothing_stored),
    Case("over the limit in the caller's language", [hop("1*" * 9999 + "1", phone=SOLO_PHONE)],
         "END " + _t("ussd.too_long", "ru"), nothing_stored, world=True, setup=speaks("ru")),
    Case("a body over the cap in the caller's language (phone before text)",
         [Raw(urllib.parse.urlencode(hop("1" * 70_000, phone=SOLO_PHONE)))],
         "END " + _t("ussd.too_long", "ru"), nothing_stored, world=True, setup=speaks("ru")),
    Case("a million * in the caller's language", [Raw("sessionId=x&phoneNumber=" + urllib.parse.quote(SOLO_PHONE)
                                                      + "&text=" + "*" * 1_000_000)],
         "END " + _t("ussd.too_long", "ru"), nothing_stored, world=True, setup=speaks("ru")),
    Case("an open session over the text limit is closed, its hops kept",
         [hop(""), hop("6"), hop("6*" + "x" * 4000)], TOO_LONG, ended_with_hops(2)),
    Case("the same over-limit hop twice: the same END", [hop(""), hop("1*" * 2001), hop("1*" * 2001)], TOO_LONG,
         ended_with_hops(1)),
    Case("after 100 hops a new hop ends the session", [hop(t) for t in HUNDRED], TOO_LONG, ended_with_hops(101)),
    Case("after 100 hops: the ending hop again gets the same END", [*(hop(t) for t in HUNDRED), hop(HUNDRED[-1])],
         TOO_LONG, ended_with_hops(101)),
    Case("100 hops are answered", [hop(t) for t in HUNDRED[:100]], con("ussd.reg.name"), hops_stored(100)),
]

NUL_CASES = [
    Case("%00 in sessionId is stripped", [hop("", session=with_nul(SID))], MAIN_NEW, phone_stored),
    Case("%00 in serviceCode is stripped", [hop("", code=with_nul(SERVICE_CODE))], MAIN_NEW,
         session_row(service_code=SERVICE_CODE)),
    Case("%00 in phoneNumber is stripped", [hop("", phone=with_nul(NEW_PHONE))], MAIN_NEW, phone_stored),
    Case("%00 in networkCode is stripped", [hop("", network=with_nul("43601"))], MAIN_NEW,
         session_row(network_code="43601")),
    Case("%00 in text is stripped: the input counts", [hop(""), hop("6" + NUL)], con("ussd.reg.name"),
         stored_texts("", "6")),
    Case("%00 in the first hop's text", [hop(NUL)], MAIN_NEW, stored_texts("")),
    Case("%00 typed inside a name", [hop(""), hop("6"), hop("6*Зар" + NUL + "ина")], con("ussd.reg.gender"),
         draft(name="Зарина")),
    Case("ESC, DEL, C1 controls, tab and newline in text are stripped", [hop(""), hop("\x1b6\x7f\x85\t\n")],
         con("ussd.reg.name"), stored_texts("", "6")),
    Case("%00 in every field at once", [{k: with_nul(v) for k, v in hop("").items()}], MAIN_NEW,
         session_row(phone=NEW_PHONE, service_code=SERVICE_CODE, network_code="43601")),
]

# ---- market prices in four languages: short names, one money format, as many markets as fit a screen
# (the world's tomato prices of 03.06 at the six markets: Balkh 1,50 +0,10, Dahana centre 1,45 +0,00,
# Jomi 1,40 -0,10, Kulob 1,35 -0,20, Vose 1,30 -0,30, Vose centre 1,25 -0,40; the caller is in Kulob)
PRICE_CASES = [
    Case("prices: the crop screen says the unit (tg)", path("2", phone=SOLO_PHONE),
         con("ussd.prices.crop", words=("сомонӣ",)), world=True),
    Case("prices: the crop screen says the unit (ru)", path("2", phone=SOLO_PHONE),
         con("ussd.prices.crop", lang="ru", words=("сомони",)), world=True, setup=speaks("ru")),
    Case("prices: the crop screen says the unit (uz)", path("2", phone=SOLO_PHONE),
         con("ussd.prices.crop", lang="uz", words=("TJS",)), world=True, setup=speaks("uz")),
    Case("prices: the crop screen says the unit (en)", path("2", phone=SOLO_PHONE),
         con("ussd.prices.crop", lang="en", words=("TJS",)), world=True, setup=speaks("en")),
    Case("prices: an unchanged price is +0,00, the centre by its short name (tg)",
         path("2", "3", phone=SOLO_PHONE), con(words=("\nМаркази Даҳана 1,45 +0,00\n",)), world=True),
    Case("prices: two markets on one Tajik screen", path("2", "3", "98", "98", phone=SOLO_PHONE),
         con(words=("Помидор, 03.06:\nҶомӣ 1,40 -0,10\nВосеъ 1,30 -0,30\n",)), world=True),
    Case("prices: two markets on one Russian screen", path("2", "3", "98", "98", phone=SOLO_PHONE),
         con(lang="ru", words=("Томат, 03.06:\nДжами 1,40 -0,10\nВосе 1,30 -0,30\n",)), world=True,
         setup=speaks("ru")),
    Case("prices: the last Russian screen, the centre by its short name, 00 shown where it fits",
         path("2", "3", "98", "98", "98", phone=SOLO_PHONE),
         "CON Томат, 03.06:\nПункт Восе 1,25 -0,40\n0 Назад 00 Меню 99 Пред.", world=True, setup=speaks("ru")),
    Case("prices: Uzbek names and the decimal point, five markets a screen", path("2", "3", phone=SOLO_PHONE),
         con(lang="uz", words=("Pomidor, 03.06:\nDahana markazi 1.45 +0.00\nKo'lob 1.35 -0.20\nBalx 1.50 +0.10\n"
                               "Jomiy 1.40 -0.10\nVose 1.30 -0.30\n0 Orqaga 00 Menyu 98 Keyingi",)), world=True,
         setup=speaks("uz")),
    Case("prices: English names and the decimal point", path("2", "3", phone=SOLO_PHONE),
         con(lang="en", words=("Tomato, 03.06:\nDahana centre 1.45 +0.00\nKulob 1.35 -0.20\nBalkh 1.50 +0.10\n"
                               "Jomi 1.40 -0.10\nVose 1.30 -0.30\n",)), world=True, setup=speaks("en")),
]


def rice_week(lang: str = "tg"):
    """Setup: Zarina (``SOLO_PHONE``, Kulob district) speaks ``lang``; rice prices as a week runs: the
    Dahana centre (her district) reports daily, the newest on 05.06; the bazaars reported on 03.06."""
    def setup(session, world):
        for code, reports in {"DAHANA": [(770, 4), (780, 5)], "KULOB": [(805, 1), (820, 3)],
                              "BALKH": [(835, 1), (840, 3)], "JOMI": [(835, 1), (830, 3)],
                              "VOSE": [(810, 1), (810, 3)]}.items():
            for diram, day in reports:
                market.set_price(session, "rice", market.find_market(session, code), diram,
                                 dt.date(2025, 6, day), "test")
        speaks(lang)(session, world)
    return setup


# ---- the price screen in the PRICE reply's order (her district first, newest first), each page headed by
# the date of its newest line, as many markets as fit: two dated alike to a Tajik or Russian screen, one when
# a collection centre's name leaves no room, all five on an Uzbek or English one
PRICE_CASES += [
    Case("prices: her district's newest report first, under its date (tg)", path("2", "2", phone=SOLO_PHONE),
         "CON Шолӣ, 05.06:\nМаркази Даҳана 7,80 +0,10\n0 Қафо 00 Асосӣ 98 Боз", world=True, setup=rice_week("tg")),
    Case("prices: page 2 is dated by its lines, two markets (tg)", path("2", "2", "98", phone=SOLO_PHONE),
         "CON Шолӣ, 03.06:\nКӯлоб 8,20 +0,15\nБалх 8,40 +0,05\n0 Қафо 98 Боз", world=True, setup=rice_week("tg")),
    Case("prices: the last page, two markets (tg)", path("2", "2", "98", "98", phone=SOLO_PHONE),
         "CON Шолӣ, 03.06:\nҶомӣ 8,30 -0,05\nВосеъ 8,10 +0,00\n0 Қафо 99 Қаблӣ", world=True, setup=rice_week("tg")),
    Case("prices: her district's newest report first, under its date (ru)", path("2", "2", phone=SOLO_PHONE),
         "CON Рис, 05.06:\nПункт Даханы 7,80 +0,10\n0 Назад 00 Меню 98 Далее", world=True, setup=rice_week("ru")),
    Case("prices: page 2 is dated by its lines, two markets (ru)", path("2", "2", "98", phone=SOLO_PHONE),
         "CON Рис, 03.06:\nКуляб 8,20 +0,15\nБалх 8,40 +0,05\n0 Назад 98 Далее", world=True, setup=rice_week("ru")),
    Case("prices: the last page, two markets (ru)", path("2", "2", "98", "98", phone=SOLO_PHONE),
         "CON Рис, 03.06:\nДжами 8,30 -0,05\nВосе 8,10 +0,00\n0 Назад 99 Пред.", world=True, setup=rice_week("ru")),
    Case("prices: all five markets on one screen, the older ones dated (uz)", path("2", "2", phone=SOLO_PHONE),
         "CON Sholi, 05.06:\nDahana markazi 7.80 +0.10\nKo'lob 8.20 +0.15 03.06\nBalx 8.40 +0.05 03.06\n"
         "Jomiy 8.30 -0.05 03.06\nVose 8.10 +0.00 03.06\n0 Orqaga 00 Menyu", world=True, setup=rice_week("uz")),
    Case("prices: all five markets on one screen, the older ones dated (en)", path("2", "2", phone=SOLO_PHONE),
         "CON Rice, 05.06:\nDahana centre 7.80 +0.10\nKulob 8.20 +0.15 03.06\nBalkh 8.40 +0.05 03.06\n"
         "Jomi 8.30 -0.05 03.06\nVose 8.10 +0.00 03.06\n0 Back 00 Menu", world=True, setup=rice_week("en")),
    # 00 works on every page, its hint shown or not
    Case("prices: 00 on the last page (no 00 hint there) opens the main menu (tg)",
         path("2", "2", "98", "98", "00", phone=SOLO_PHONE), con("ussd.main.group", "ussd.main.prices"),
         world=True, setup=rice_week("tg")),
    Case("prices: 00 on page 2 (no 00 hint there) opens the main menu (ru)",
         path("2", "2", "98", "00", phone=SOLO_PHONE), con("ussd.main.group", "ussd.main.prices", lang="ru"),
         world=True, setup=rice_week("ru")),
]

CASES += LIMIT_CASES + NUL_CASES + PRICE_CASES

_NOTICE = {"date": "2025-06-03 10:15:00", "sessionId": SID, "serviceCode": SERVICE_CODE, "phoneNumber": NEW_PHONE,
           "networkCode": "43601", "status": "Failed", "cost": "KES 0.10", "durationInMillis": "12345",
           "hopsCount": "2", "input": "1*2", "lastAppResponse": "CON Ному:\n0 Қафо",
           "errorMessage": "Application timed out"}
_STORED = dict(phone=NEW_PHONE, service_code=SERVICE_CODE, network_code="43601", end_status="Failed",
               cost="KES 0.10", duration_ms=12345, hops_count=2, final_input="1*2",
               last_response="CON Ному:\n0 Қафо", error_message="Application timed out",
               ended_at=dt.datetime(2025, 6, 3, 10, 15, tzinfo=dt.timezone.utc), status="ended")

EVENT_CASES += [
    Case(f"%00 in {name} is stripped, the notice stored", [Event({**_NOTICE, name: with_nul(value)})], "OK",
         session_row(**_STORED))
    for name, value in _NOTICE.items()
] + [
    Case("%00 in every field of the notice", [Event({k: with_nul(v) for k, v in _NOTICE.items()})], "OK",
         session_row(**_STORED)),
    Case("long texts of a notice are cut: input 4,000, lastAppResponse and errorMessage 1,000",
         [Event({**_NOTICE, "input": "1*" * 3000, "lastAppResponse": "CON " + "я" * 2000,
                 "errorMessage": "e" * 5000})], "OK",
         session_row(final_input=("1*" * 3000)[:4000], last_response=("CON " + "я" * 2000)[:1000],
                     error_message="e" * 1000)),
    Case("a notice body over 64 KiB: 413, nothing stored",
         [Raw(urllib.parse.urlencode({**_NOTICE, "input": "1" * 70_000}), url="/ussd/events")],
         lambda b: True, nothing_stored, status=413),
]


# ---------------------------------------------------------------------------
# issue 9 item 10: the Executive Committee's menu (main menu 7, EC members only). DAH01's EC
# speaks tg (chair), ru (deputy), uz (secretary), en (treasurer); Said (household) waits for
# approval. The chair's language is switched for the open and close rows in ru, uz and en.
# ---------------------------------------------------------------------------

CHAIR_PHONE, DEPUTY_PHONE, SECRETARY_PHONE, TREASURER_PHONE = EC_PHONES[:4]


def _chair_speaks(lang: str):
    def setup(session, world):
        session.get(farmermod.Farmer, world["ec"]["chair"]).language = lang
        session.commit()
    return setup


def _malika_ordered(close: bool = False, lang: str | None = None):
    """Malika (active in DAH01) ordered 3 packs of PBD1 (1 kg, 38,00) in an open round of DAH01
    (``close``: the round is closed since); ``lang``: the chair's language."""
    def setup(session, world):
        from service.orders import catalogue, rounds
        malika = session.get(farmermod.Farmer, world["malika"])
        rounds.place_order(session, malika, catalogue.by_code(session, "PBD1"), 3, utcnow(), via="sms")
        if close:
            rnd = rounds.open_round_of(session, world["pgs"]["DAH01"])
            rounds.close_round(session, rnd, utcnow())
            session.query(OutboundMessage).delete()  # what closing sent is not this case's
        if lang:
            session.get(farmermod.Farmer, world["ec"]["chair"]).language = lang
        session.commit()
    return setup


def _said_decided(status: str, key: str):
    def check(session, world, bodies):
        said = session.get(farmermod.Farmer, world["said"])
        m = session.scalar(select(membership.Membership).where(membership.Membership.farmer_id == said.id))
        assert m.status == status
        told = session.scalars(select(OutboundMessage).where(OutboundMessage.phone == HOUSEHOLD)).all()
        assert [(x.kind, x.farmer_id, x.text) for x in told] == [
            ("notice", said.id, _t(key, said.language, name=said.name, pg="DAH01"))]
    return check


def _round_state(status: str, members_told: int):
    def check(session, world, bodies):
        from service.orders import rounds
        found = session.scalars(select(rounds.OrderRound).where(rounds.OrderRound.pg_id == world["pgs"]["DAH01"])).all()
        assert [r.status for r in found] == [status]
        told = session.scalars(select(OutboundMessage).where(OutboundMessage.phone == HOUSEHOLD,
                                                             OutboundMessage.kind == "notice")).all()
        assert len(told) == members_told
        if members_told:
            malika = session.get(farmermod.Farmer, world["malika"])
            assert told[0].farmer_id == malika.id and "PBD1 x3" in told[0].text
    return check


CASES += [
    Case("committee: main-menu line 7 for an EC member (tg)", path("98", "98", phone=CHAIR_PHONE),
         con(words=("7 " + _t("ussd.chair.menu"),)), world=True),
    Case("committee: the chair's menu (tg)", path("7", phone=CHAIR_PHONE),
         con(words=("1 " + _t("ussd.chair.requests", n=1), "2 " + _t("orders.chair.current"))), world=True),
    Case("committee: no line 7 for a member outside the EC", path("7", phone=SOLO_PHONE),
         lambda body: body.startswith("CON " + _t("ussd.notice.invalid") + "\n")
         and _t("ussd.chair.menu") not in body, world=True),
    Case("committee: join requests listed (ru)", path("7", "1", phone=DEPUTY_PHONE),
         con("ussd.chair.requests_title", lang="ru", words=("Саид Раҳимов",)), world=True),
    Case("committee: one request, approve or reject (ru)", path("7", "1", "1", phone=DEPUTY_PHONE),
         con("ussd.chair.approve", "ussd.chair.reject", lang="ru", words=("Саид Ра",)), world=True),
    Case("committee: the secretary approves, Said is told (uz)", path("7", "1", "1", "1", phone=SECRETARY_PHONE),
         end(lang="uz", words=(_t("ussd.chair.approved", "uz", name="Саид Раҳимов"),)),
         _said_decided("active", "sms.approve.welcome"), world=True),
    Case("committee: the treasurer rejects, Said is told (en)", path("7", "1", "1", "2", phone=TREASURER_PHONE),
         end(lang="en", words=(_t("ussd.chair.rejected", "en", name="Саид Раҳимов"),)),
         _said_decided("rejected", "sms.decide.rejected"), world=True),
    Case("committee: no request waiting (tg)", path("7", "1", phone=CHAIR_PHONE),
         con("ussd.chair.requests_none"), world=True,
         setup=lambda session, world: (membership.leave(session, session.get(farmermod.Farmer, world["said"])),
                                       session.commit())),
    Case("committee: the current round's totals per item, kg and TJS (tg)", path("7", "2", phone=CHAIR_PHONE),
         con(words=(": 1 нафар, 114,00 сомонӣ", "PBD1 x3: 3 кг, 114,00")), world=True, setup=_malika_ordered()),
    Case("committee: no round open (uz)", path("7", "2", phone=SECRETARY_PHONE),
         con("orders.err.no_round", lang="uz"), world=True),
    Case("committee: the last closed round's totals (ru)", path("7", "3", phone=DEPUTY_PHONE),
         con(lang="ru", words=(", закрыт ", ": 1 чел., 114,00 сомони", "PBD1 x3: 3 кг, 114,00")), world=True,
         setup=_malika_ordered(close=True)),
    Case("committee: no closed round yet (en)", path("7", "3", phone=TREASURER_PHONE),
         con("orders.chair.no_closed", lang="en"), world=True),
    Case("committee: no open or close line for an EC member who is not the chair (en)",
         path("7", phone=TREASURER_PHONE),
         lambda body: _t("orders.chair.open", "en") not in body and "Close round" not in body, world=True),
    Case("committee: the chair opens a round (tg)", path("7", "4", "1", phone=CHAIR_PHONE),
         end(words=(" кушода шуд, то ",)), _round_state("open", 0), world=True),
    Case("committee: the chair opens a round (ru)", path("7", "4", "1", phone=CHAIR_PHONE),
         end(lang="ru", words=("группы DAH01 открыт до ",)), _round_state("open", 0), world=True,
         setup=_chair_speaks("ru")),
    Case("committee: the chair is asked before opening (en)", path("7", "4", phone=CHAIR_PHONE),
         con("ussd.yes", lang="en", words=("Open a round until ", "(7 days)?")), world=True,
         setup=_chair_speaks("en")),
    Case("committee: the chair closes the round, Malika is told (uz)", path("7", "4", "1", phone=CHAIR_PHONE),
         end(lang="uz", words=(_t("orders.chair.closed", "uz", round=1, farmers=1),)), _round_state("closed", 1),
         world=True, setup=_malika_ordered(lang="uz")),
    Case("committee: the chair is asked before closing (en)", path("7", "4", phone=CHAIR_PHONE),
         con("ussd.yes", lang="en", words=("? 1 farmers, 114.00 TJS.",)), world=True, setup=_malika_ordered(lang="en")),
    Case("committee: No keeps the round open (tg)", path("7", "4", "2", "98", phone=CHAIR_PHONE),
         con(words=("4 " + _t("orders.chair.close", round=1),)), _round_state("open", 0), world=True,
         setup=_malika_ordered()),
]


# ---------------------------------------------------------------------------
# Farmers own their data (docs/privacy.md): My account > My data, Delete my data
# ---------------------------------------------------------------------------

def summary_sent(who: str, lang: str):
    """One SMS to ``who``'s phone (a world key) with the summary in ``lang``: name, code, how to remove it."""
    def check(session, world, bodies):
        person = session.get(farmermod.Farmer, world[who])
        [row] = session.scalars(select(OutboundMessage).where(OutboundMessage.farmer_id == person.id)).all()
        assert row.phone == person.phone and row.language == lang
        assert person.name in row.text and f"({person.code})" in row.text and row.text.endswith("DELETE")
        assert person.code in bodies[-1]
    return check


def erased(who: str, lang: str, *, phone_stays: bool):
    """``who`` (a world key) is erased, the last SMS is queued in ``lang`` to the phone, the name
    is in no outbox text; the phone keeps its other profiles (``phone_stays``) or is marked erased."""
    def check(session, world, bodies):
        session.expire_all()
        person = session.get(farmermod.Farmer, world[who])
        assert person.erased_at is not None and person.name == "" and person.phone == ""
        phone = SOLO_PHONE if who == "solo" else HOUSEHOLD
        [last] = session.scalars(select(OutboundMessage).where(OutboundMessage.dedupe_key == f"erased:{person.id}")).all()
        assert last.phone == phone and last.text == _t("farmers.delete.done", lang) and last.kind == "stop_confirm"
        erased_mark = session.get(farmermod.ErasedPhone, farmermod.phone_digest(phone)) is not None
        assert erased_mark is not phone_stays
        assert bool(farmermod.profiles(session, phone)) is phone_stays
        assert session.scalar(select(func.count()).select_from(UssdSession).where(UssdSession.phone == phone)) == \
            (1 if phone_stays else 0)
    return check


def kept(who: str):
    """``who`` (a world key) is not erased."""
    def check(session, world, bodies):
        session.expire_all()
        assert session.get(farmermod.Farmer, world[who]).erased_at is None
    return check


for _lang in ("tg", "ru", "uz", "en"):
    CASES += [
        Case(f"{_lang}: My account > My data: a short screen, the summary by SMS",
             path("5", Seek("farmers.ussd.mydata", lang=_lang), phone=SOLO_PHONE),
             end(lang=_lang), summary_sent("solo", _lang), world=True, setup=speaks(_lang)),
        Case(f"{_lang}: My account > Delete my data asks first",
             path("5", Seek("farmers.ussd.delete", lang=_lang), phone=SOLO_PHONE),
             con("farmers.ussd.delete_confirm", "farmers.ussd.delete_yes", lang=_lang), kept("solo"),
             world=True, setup=speaks(_lang)),
        Case(f"{_lang}: Delete my data > No erases nothing",
             path("5", Seek("farmers.ussd.delete", lang=_lang), "2", phone=SOLO_PHONE),
             con(lang=_lang), kept("solo"), world=True, setup=speaks(_lang)),
        Case(f"{_lang}: Delete my data > Yes erases, the last SMS goes to the phone",
             path("5", Seek("farmers.ussd.delete", lang=_lang), "1", phone=SOLO_PHONE),
             end("farmers.ussd.deleted", lang=_lang), erased("solo", _lang, phone_stays=False),
             world=True, setup=speaks(_lang)),
        Case(f"{_lang}: Delete my data for one person of a shared phone keeps the others",
             path(Seek("Саид Раҳимов"), "5", Seek("farmers.ussd.delete", lang=_lang), "1", phone=HOUSEHOLD),
             end("farmers.ussd.deleted", lang=_lang), every(erased("said", _lang, phone_stays=True), kept("malika")),
             world=True, setup=household_speaks(_lang)),
    ]
