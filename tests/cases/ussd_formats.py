"""USSD hops of each gateway format (``USSD_FORMAT``, ``docs/gateway-ussd-formats.md`` §1–§3):
labelled requests exactly as each gateway sends them, the expected answer (status, content
type, body as the gateway reads it) and the expected effect, run by ``tests/test_ussd_formats.py``.

Also :data:`WALK`: one registered farmer's walk (prices, then joining a group) that every format
must answer with the same screens and the same effect.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

import templates_sms
from cases.ussd import NEW_PHONE, SERVICE_CODE, SOLO_PHONE, joined
from service.ussd.session import FormDraft, UssdHop, UssdSession

PLAIN = "text/plain; charset=utf-8"
JSON = "application/json"


def _t(key: str, lang: str = "tg", **params) -> str:
    return templates_sms.text(key, lang, ussd=SERVICE_CODE, **params)


@dataclass(frozen=True)
class Req:
    """One request as the gateway sends it: ``GET`` with ``params`` in the query, or ``POST`` of
    ``params`` as a form."""

    params: dict
    method: str = "POST"


@dataclass(frozen=True)
class Answer:
    """What the gateway reads: ``going_on`` (the session stays open), ``text`` shown."""

    status: int
    content_type: str
    going_on: bool
    text: str
    raw: str


def read_answer(fmt: str, status: int, content_type: str, raw: str, session_id: str = "") -> Answer:
    """Read an answer the way gateway ``fmt`` reads it; raises ``AssertionError`` on a malformed one."""
    if fmt == "hollatags":
        assert content_type == JSON, content_type
        obj = json.loads(raw)
        assert set(obj) == {"session_operation", "session_type", "session_id", "session_msg"}, obj
        assert (obj["session_operation"], obj["session_type"]) in (("continue", 1), ("end", 4)), obj
        assert obj["session_id"] == session_id, obj
        return Answer(status, content_type, obj["session_operation"] == "continue", obj["session_msg"], raw)
    assert content_type == PLAIN, content_type
    assert raw[:4] in ("CON ", "END "), raw
    return Answer(status, content_type, raw.startswith("CON "), raw[4:], raw)


# -- the shapes of each gateway --------------------------------------------------------

def at(text: str = "", *, session: str = "ATUid_5f1b2c", phone: str = SOLO_PHONE) -> Req:
    """Africa's Talking: a form POST, the whole history in ``text`` (§1)."""
    return Req({"sessionId": session, "serviceCode": SERVICE_CODE, "phoneNumber": phone, "networkCode": "43601",
                "text": text})


def advanta(inputs: str = "", *, session: str = "83412090", phone: str = SOLO_PHONE.lstrip("+")) -> Req:
    """Advanta: a GET, the dialled code and every input in ``INPUT`` (``*384*7*2*3#``) (§2)."""
    code = SERVICE_CODE.rstrip("#")
    text = f"{code}*{inputs}#" if inputs else SERVICE_CODE
    return Req({"SESSIONID": session, "USSDCODE": SERVICE_CODE, "MSISDN": phone, "INPUT": text}, method="GET")


def holla(msg: str, op: str = "continue", *, session: str = "5456657676", phone: str = SOLO_PHONE.lstrip("+")) -> Req:
    """HollaTags: a GET, only the latest input in ``session_msg``; the first carries the dialled code (§3)."""
    return Req({"session_msisdn": phone, "session_operation": op, "session_msg": msg, "session_id": session,
                "session_from": SERVICE_CODE, "session_type": "1" if op != "end" else "4", "session_mno": "TCELL"},
               method="GET")


def holla_start(dialled: str = SERVICE_CODE, **kw) -> Req:
    return holla(dialled, "begin", **kw)


# -- expectations ------------------------------------------------------------------------

def shows(*keys: str, going_on: bool = True, words: tuple = ()) -> Callable[[Answer], bool]:
    """The answer keeps the session open (or closes it) and shows the template texts ``keys``."""
    def check(a: Answer) -> bool:
        return a.status == 200 and a.going_on == going_on and all(_t(k) in a.text for k in keys) \
            and all(w in a.text for w in words)
    check.__doc__ = f"{'CON' if going_on else 'END'} {keys} {words}"
    return check


def hop_texts(session_id: str, *texts: str):
    """The session's stored hop texts are exactly ``texts`` (the accumulated history)."""
    def check(session, world, answers):
        stored = session.scalars(select(UssdHop.text).where(UssdHop.session_id == session_id)
                                 .order_by(UssdHop.id)).all()
        assert stored == list(texts), stored
    return check


def session_row(session_id: str, **expected):
    def check(session, world, answers):
        row = session.get(UssdSession, session_id)
        assert row is not None
        for name, value in expected.items():
            assert getattr(row, name) == value, (name, getattr(row, name))
    return check


def nothing_stored(session, world, answers):
    assert session.scalars(select(UssdSession)).all() == []


def draft_name(name: str, phone: str = NEW_PHONE):
    def check(session, world, answers):
        row = session.scalar(select(FormDraft).where(FormDraft.phone == phone))
        assert row is not None and row.data.get("name") == name, row and row.data
    return check


def every(*effects):
    def check(session, world, answers):
        for effect in effects:
            effect(session, world, answers)
    return check


@dataclass
class Case:
    """``requests`` sent in order to ``/ussd`` of an app with ``USSD_FORMAT=fmt``; ``answer``
    checks the last :class:`Answer`; ``effect(session, world, answers)`` checks the database."""

    label: str
    fmt: str
    requests: list
    answer: Callable[[Answer], bool]
    effect: Callable | None = None
    world: bool = True


NEW = NEW_PHONE.lstrip("+")
#: the tomato prices of the caller's district, as the screen shows them (``tests/cases/ussd.py``)
TOMATO = ("Помидор, 03.06:\nМаркази Даҳана 1,45 +0,00\n",)  # her district first, newest then by code

CASES = [
    # -- §1 Africa's Talking (the default) --------------------------------------------
    Case("africastalking: first hop, main menu as CON text/plain", "africastalking", [at("")],
         shows("ussd.main.prices"), hop_texts("ATUid_5f1b2c", "")),
    Case("africastalking: the history 2*3 shows a market's prices", "africastalking", [at(""), at("2"), at("2*3")],
         shows(words=TOMATO), hop_texts("ATUid_5f1b2c", "", "2", "2*3")),
    # -- §2 Advanta ------------------------------------------------------------------
    Case("advanta: first hop INPUT=*384*7#, phone without +", "advanta", [advanta("")],
         shows("ussd.main.prices"),
         every(hop_texts("83412090", ""), session_row("83412090", phone=SOLO_PHONE, service_code=SERVICE_CODE))),
    Case("advanta: INPUT *384*7*2# then *384*7*2*3#: the code and # are not inputs", "advanta",
         [advanta(""), advanta("2"), advanta("2*3")], shows(words=TOMATO), hop_texts("83412090", "", "2", "2*3")),
    Case("advanta: a dial-through *384*7*2# on the first hop", "advanta", [advanta("2")],
         shows("ussd.prices.crop"), hop_texts("83412090", "2")),
    Case("advanta: the same INPUT twice is answered once", "advanta", [advanta(""), advanta("1"), advanta("1")],
         shows(), hop_texts("83412090", "", "1")),
    Case("advanta: no MSISDN: END unavailable, nothing stored", "advanta",
         [Req({"SESSIONID": "1", "USSDCODE": SERVICE_CODE, "INPUT": SERVICE_CODE}, method="GET")],
         shows("ussd.unavailable", going_on=False), nothing_stored),
    Case("advanta: AT's field names are not read", "advanta", [at("")],
         shows("ussd.unavailable", going_on=False), nothing_stored),
    # -- §3 HollaTags -----------------------------------------------------------------
    Case("hollatags: begin with the dialled code: main menu as JSON continue", "hollatags", [holla_start()],
         shows("ussd.main.prices"),
         every(hop_texts("5456657676", ""), session_row("5456657676", phone=SOLO_PHONE, network_code="TCELL"))),
    Case("hollatags: latest inputs 2 then 3 accumulate to 2*3", "hollatags",
         [holla_start(), holla("2"), holla("3")], shows(words=TOMATO), hop_texts("5456657676", "", "2", "2*3")),
    Case("hollatags: the same key typed twice is two inputs (1, then 1 again)", "hollatags",
         [holla_start(), holla("1"), holla("1")], shows(), hop_texts("5456657676", "", "1", "1*1")),
    Case("hollatags: begin with a dial-through *384*7*2#", "hollatags", [holla_start("*384*7*2#")], shows("ussd.prices.crop"),
         hop_texts("5456657676", "2")),
    Case("hollatags: begin sent twice gets the same screen, stored once", "hollatags",
         [holla_start(), holla_start()], shows("ussd.main.prices"), hop_texts("5456657676", "")),
    Case("hollatags: a * inside a typed name is one input (the name Ali Vali, as through AT)", "hollatags",
         [holla_start(phone=NEW), holla("6", phone=NEW), holla("Ali*Vali", phone=NEW)], shows("ussd.reg.gender"),
         every(draft_name("Ali Vali"), hop_texts("5456657676", "", "6", "6*Ali*Vali"))),
    Case("hollatags: end closes the session and answers JSON end", "hollatags",
         [holla_start(), holla("2"), holla("", "end")], lambda a: a.status == 200 and not a.going_on,
         session_row("5456657676", status="ended")),
    Case("hollatags: an input after end asks to dial again", "hollatags",
         [holla_start(), holla("", "end"), holla("2")], shows("ussd.dial_again", going_on=False)),
    Case("hollatags: no session_msisdn: JSON end unavailable, nothing stored", "hollatags",
         [Req({"session_operation": "begin", "session_msg": SERVICE_CODE, "session_id": "77"}, method="GET")],
         shows("ussd.unavailable", going_on=False), nothing_stored),
]

#: one registered farmer's walk: the prices of a market, back to the main menu, then a request to
#: join a group of her village (answered END, the Executive Committee told): the same in every format
WALK = ["2", "3", "00", "1", "1", "1"]
WALK_EFFECT = joined("pending", ec_notices=True)


def walk_requests(fmt: str, inputs: list[str]) -> list[Req]:
    """The hops of :data:`WALK` (or ``inputs``) as gateway ``fmt`` sends them, from the first."""
    if fmt == "africastalking":
        return [at("*".join(inputs[:n])) for n in range(len(inputs) + 1)]
    if fmt == "advanta":
        return [advanta("*".join(inputs[:n])) for n in range(len(inputs) + 1)]
    return [holla_start(), *(holla(value) for value in inputs)]


SESSION_OF = {"africastalking": "ATUid_5f1b2c", "advanta": "83412090", "hollatags": "5456657676"}
