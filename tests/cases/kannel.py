"""Labelled Kannel MO (``/kannel/inbound``) and delivery-report (``/kannel/delivery``) requests
with the expected answer and effect.

Each request is what smsbox sends for the ``get-url`` / ``dlr-url`` of ``docs/gateway-kannel.md``
§5 and §4: the query string Kannel builds from its escapes (``%b`` the message's own bytes,
percent-encoded: UTF-16BE for a UCS-2 message, e.g. Cyrillic; ``%t`` with its space as ``+``),
or a POST with the text as its body (``post-url``). :class:`MoCase` expects the answers, the
inbound rows stored (their id, phone, text and command) and how many replies were queued;
:class:`DlrCase` starts from outbox rows (message id → state) and expects their states, their
failure reasons and how many raw reports (and parked orphans) were stored.
Run by ``tests/test_kannel.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, quote_from_bytes

TOKEN = "kannel-callback-token-of-32-chars!"
PHONE = "+992901234567"
SHORT_CODE = "4040"
MID = "k0123456789abcdef"
OTHER_MID = "kfedcba9876543210"
UUID = "8f2c1d7e-3b4a-4c5d-9e6f-0a1b2c3d4e5f"
UUID2 = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70"


@dataclass
class Req:
    """One request: ``query`` as Kannel builds it (after ``key=``), GET, or POST with ``body``."""

    query: str
    method: str = "GET"
    body: bytes | None = None
    content_type: str | None = None
    key: str | None = TOKEN
    expect: int = 200


def b(text: str, charset: str = "utf-16-be") -> str:
    """``%b`` of ``text``: its bytes in ``charset``, every byte but letters and digits percent-encoded."""
    return quote_from_bytes(text.encode(charset), safe="")


def mo(text: str, *, charset: str | None = "UTF-16BE", coding: str | None = "2", sender: str = "992901234567",
       id: str | None = UUID, ts: str | None = "2026-12-04+09:15:00", to: str = SHORT_CODE,
       codec: str = "utf-16-be", smsc: str = "tcell", **req) -> Req:
    """The get-url query smsbox sends for one MO SMS (fields left out when None)."""
    parts = [f"from={quote(sender, safe='')}", f"to={to}", f"text={b(text, codec)}"]
    if charset is not None:
        parts.append(f"charset={charset}")
    if coding is not None:
        parts.append(f"coding={coding}")
    if id is not None:
        parts.append(f"id={id}")
    parts.append(f"smsc={smsc}")
    if ts is not None:
        parts.append(f"ts={ts}")
    return Req("&".join(parts), **req)


def gsm(text: str, **kw) -> Req:
    """A GSM-7 MO: smsbox hands its text over in WINDOWS-1252 with coding 0."""
    return mo(text, charset="WINDOWS-1252", coding="0", codec="cp1252", **kw)


@dataclass
class MoCase:
    label: str
    requests: list[Req]
    inbound: list[dict] = field(default_factory=list)  # expected rows: gateway_id, phone, text, command ...
    replies: int = 0


MO_CASES = [
    MoCase("Cyrillic UCS-2 in UTF-16BE: НАРХ пиёз is a price query", [mo("НАРХ пиёз")],
           [{"gateway_id": UUID, "phone": PHONE, "to": SHORT_CODE, "text": "НАРХ пиёз", "command": "price"}],
           replies=1),
    MoCase("Cyrillic help from an unknown phone", [mo("помощь")],
           [{"gateway_id": UUID, "text": "помощь", "command": "help"}], replies=1),
    MoCase("GSM text in WINDOWS-1252 with coding 0", [gsm("HELP")],
           [{"gateway_id": UUID, "text": "HELP", "command": "help"}], replies=1),
    MoCase("UCS-2 bytes with + for the byte 0x20, as smsbox encodes them", [Req(
        f"from=%2B992901234567&to={SHORT_CODE}&text=%04%1D%04%10%04+%04%25%00+%04%3F%048%04Q%047"
        f"&charset=UTF-16BE&coding=2&id={UUID}&smsc=tcell&ts=2026-12-04+09:15:00")],
           [{"gateway_id": UUID, "phone": PHONE, "text": "НАРХ пиёз", "command": "price"}], replies=1),
    MoCase("8-bit data (coding 1, charset 8-BIT): stored as UTF-8 with the bad bytes replaced", [Req(
        f"from=992901234567&to={SHORT_CODE}&text=HELP%FF&charset=8-BIT&coding=1&id={UUID}")],
           [{"gateway_id": UUID, "text": "HELP\ufffd"}], replies=1),
    MoCase("UTF-8 charset (an smsbox that converts)", [mo("НАРХ пиёз", charset="UTF-8", coding="2", codec="utf-8")],
           [{"text": "НАРХ пиёз", "command": "price"}], replies=1),
    MoCase("no charset, coding 2: UTF-16BE", [mo("помощь", charset=None)], [{"text": "помощь"}], replies=1),
    MoCase("no charset, coding 0: UTF-8", [mo("HELP", charset=None, coding="0", codec="utf-8")],
           [{"text": "HELP", "command": "help"}], replies=1),
    MoCase("unknown charset name falls back on the coding", [mo("помощь", charset="X-NO-SUCH")],
           [{"text": "помощь"}], replies=1),
    MoCase("sender with + percent-encoded", [mo("HELP", sender="+992901234567", charset="UTF-8", codec="utf-8")],
           [{"phone": PHONE, "text": "HELP"}], replies=1),
    MoCase("sender as 00 and the national number", [gsm("HELP", sender="00992901234567")], [{"phone": PHONE}],
           replies=1),
    MoCase("the same id twice (smsbox retried): stored and answered once",
           [mo("помощь"), mo("помощь")], [{"gateway_id": UUID}], replies=1),
    MoCase("two messages, two ids", [mo("помощь"), mo("HELP", id=UUID2, charset="UTF-8", codec="utf-8")],
           [{"gateway_id": UUID}, {"gateway_id": UUID2}], replies=2),
    MoCase("POST with the text as its body (post-url)",
           [Req(f"from=992901234567&to={SHORT_CODE}&id={UUID}&coding=2&ts=2026-12-04+09:15:00", method="POST",
                body="НАРХ пиёз".encode("utf-16-be"), content_type="text/plain; charset=UTF-16BE")],
           [{"gateway_id": UUID, "text": "НАРХ пиёз", "command": "price"}], replies=1),
    MoCase("no id: a digest of from, to, ts and text, a retry still a duplicate", [mo("HELP", id=None,
                                                                                      charset="UTF-8",
                                                                                      codec="utf-8")] * 2,
           [{"text": "HELP", "command": "help"}], replies=1),
    MoCase("no id and no ts: ignored, nothing stored",
           [mo("HELP", id=None, ts=None, charset="UTF-8", codec="utf-8")]),
    MoCase("no sender: ignored", [mo("HELP", sender="", charset="UTF-8", codec="utf-8")]),
    MoCase("sender not a phone number: ignored", [mo("HELP", sender="TCELL", charset="UTF-8", codec="utf-8")]),
    MoCase("no text: stored, empty", [Req(f"from=992901234567&to={SHORT_CODE}&id={UUID}&charset=UTF-8&coding=0")],
           [{"gateway_id": UUID, "text": ""}]),
    MoCase("odd UTF-16 bytes: the broken tail replaced", [Req(
        f"from=992901234567&to={SHORT_CODE}&text=%04%1D%04&charset=UTF-16BE&coding=2&id={UUID}")],
           [{"text": "Н\ufffd"}], replies=1),
    MoCase("unreadable ts: the receive time", [mo("помощь", ts="yesterday")], [{"gateway_id": UUID}], replies=1),
    MoCase("control characters stripped, newline kept",
           [mo("HELP\x00\x07\nme", charset="UTF-8", codec="utf-8")], [{"text": "HELP\nme"}], replies=1),
    MoCase("wrong token: 403, nothing stored", [mo("помощь", key="wrong", expect=403)]),
    MoCase("no token: 403, nothing stored", [mo("помощь", key=None, expect=403)]),
    MoCase("a body over the limit: 413, nothing stored",
           [Req(f"from=992901234567&id={UUID}", method="POST", body=b"x" * 70_000,
                content_type="text/plain; charset=UTF-8", expect=413)]),
    MoCase("a text over 2,000 characters is cut", [mo("Н" * 2500)], [{"text": "Н" * 2000}], replies=1),
]


@dataclass
class DlrCase:
    label: str
    requests: list[Req]
    outbox: dict[str, str] = field(default_factory=lambda: {MID: "accepted"})
    states: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str | None] = field(default_factory=dict)
    reports: int = 0
    orphans: int = 0


def dlr(type: str | None, *, id: str | None = MID, answer: str = "ACK%2F", smsc: str = "tcell",
        ts: str = "1796374800", **req) -> Req:
    """The dlr-url request smsbox makes for one delivery report of our message ``id``."""
    parts = [] if id is None else [f"id={id}"]
    if type is not None:
        parts.append(f"type={type}")
    parts += [f"smsc={smsc}", f"ts={ts}", f"answer={answer}"]
    return Req("&".join(parts), **req)


NACK = "NACK%2F0x0000000b%2FInvalid+Destination+Address"

DLR_CASES = [
    DlrCase("1 delivered", [dlr("1")], states={MID: "delivered"}, reports=1),
    DlrCase("8 SMSC submit: in transit", [dlr("8")], states={MID: "in_transit"}, reports=1),
    DlrCase("4 buffered: in transit", [dlr("4")], states={MID: "in_transit"}, reports=1),
    DlrCase("8 then 1: delivered", [dlr("8"), dlr("1")], states={MID: "delivered"}, reports=2),
    DlrCase("2 failed with the SMSC's answer", [dlr("2", answer=NACK)], states={MID: "failed"},
            reasons={MID: "Failed: NACK/0x0000000b/Invalid Destination Address"}, reports=1),
    DlrCase("16 SMSC reject", [dlr("16", answer=NACK)], states={MID: "failed"},
            reasons={MID: "Rejected: NACK/0x0000000b/Invalid Destination Address"}, reports=1),
    DlrCase("out of order: 1 before 8 stays delivered", [dlr("1"), dlr("8")], states={MID: "delivered"},
            reports=2),
    DlrCase("out of order: 2 after 1, the first final wins", [dlr("1"), dlr("2", answer=NACK)],
            states={MID: "delivered"}, reports=2),
    DlrCase("the same report twice: stored once", [dlr("1"), dlr("1")], states={MID: "delivered"}, reports=1),
    DlrCase("delivered settles an unconfirmed row", [dlr("1")], outbox={MID: "unconfirmed"},
            states={MID: "delivered"}, reports=1),
    DlrCase("unknown id: 200, parked as an orphan", [dlr("1", id=OTHER_MID)], states={MID: "accepted"},
            reports=1, orphans=1),
    DlrCase("unknown type: stored, nothing moves", [dlr("3")], states={MID: "accepted"}, reports=1),
    DlrCase("POST with the fields in the query", [dlr("1", method="POST")], states={MID: "delivered"}, reports=1),
    DlrCase("POST as a form", [Req("", method="POST", body=f"id={MID}&type=1&smsc=tcell".encode(),
                                   content_type="application/x-www-form-urlencoded")],
            states={MID: "delivered"}, reports=1),
    DlrCase("no type: 200, nothing stored", [dlr(None)], states={MID: "accepted"}),
    DlrCase("no id: 200, nothing stored", [dlr("1", id=None)], states={MID: "accepted"}),
    DlrCase("id over 100 characters: 200, nothing stored", [dlr("1", id="k" * 150)], states={MID: "accepted"}),
    DlrCase("wrong token: 403, nothing stored", [dlr("1", key="wrong", expect=403)], states={MID: "accepted"}),
    DlrCase("no token: 403, nothing stored", [dlr("1", key=None, expect=403)], states={MID: "accepted"}),
    DlrCase("a body over the limit: 413, nothing stored",
            [Req(f"id={MID}&type=1", method="POST", body=b"x" * 70_000, content_type="text/plain", expect=413)],
            states={MID: "accepted"}),
]
