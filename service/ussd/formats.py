"""How each USSD gateway posts a hop and reads the answer: field names, input style, end markers.

The dialogue (:mod:`service.ussd.engine`) speaks Africa's Talking's shape: a hop carries the
``*``-joined history of the session's inputs and is answered ``CON <text>`` (the session goes on)
or ``END <text>`` (it closes). Other aggregators post the same facts under other names, some
send only the latest input, and some read the answer from other markers. A :class:`UssdFormat`
declares one gateway's shape as data; ``USSD_FORMAT`` (``config.py``) picks one of
:data:`FORMATS` for ``POST``/``GET /ussd``. The formats and their sources:
``docs/gateway-ussd-formats.md`` §1 (Africa's Talking), §2 (Advanta), §3 (HollaTags).

Nothing here reads a request: the handler gives :meth:`UssdFormat.read` a function that looks a
field up by its wire name, and sends what :meth:`UssdFormat.reply` gives back.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

#: the answer markers of the engine's own bodies (Africa's Talking's, ``docs/gateway-africastalking.md`` §2)
CON, END = "CON ", "END "


@dataclass(frozen=True)
class Fields:
    """The wire names of a hop's fields: the session id, the caller's phone (any form
    ``service.reference.phone.to_e164`` reads), the dialled code, the input, and the network
    (None: the gateway sends none)."""

    session_id: str
    phone: str
    service_code: str
    text: str
    network_code: str | None = None


@dataclass(frozen=True)
class Reply:
    """How the answer is written. ``kind`` ``prefix``: plain text, ``con``/``end`` before the
    screen's text; ``kind`` ``json``: a JSON object of ``con``/``end`` (dicts of constant
    fields), the screen's text under ``message`` and the session id echoed under ``session``."""

    kind: str = "prefix"
    con: str | dict = CON
    end: str | dict = END
    message: str = ""
    session: str = ""
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class UssdFormat:
    """One gateway's USSD shape.

    ``input``: ``history`` (the field holds every input of the session joined by ``*``, as AT
    sends it; ``text_has_code``: prefixed by the dialled code and ending in ``#``, e.g.
    ``*415*33*1#``) or ``latest`` (only what the caller typed last; the first hop carries the
    dialled string). ``operation``: the field telling a session's start from its continuation and
    its end (None: the gateway sends none and the first hop of a session id is its start), with
    the values meaning ``start`` and ``end``. ``doc``: where the shape is documented.
    """

    name: str
    doc: str
    fields: Fields
    reply: Reply = field(default_factory=Reply)
    input: str = "history"
    text_has_code: bool = False
    operation: str | None = None
    start: frozenset[str] = frozenset()
    end: frozenset[str] = frozenset()

    def read(self, get: Callable[[str], str]) -> "Request":
        """The hop in the engine's terms, from ``get(wire_name) -> value`` (``""`` when absent)."""
        f = self.fields
        op = get(self.operation).strip().lower() if self.operation else ""
        return Request(session_id=get(f.session_id).strip(), phone=get(f.phone), text=get(f.text),
                       service_code=get(f.service_code).strip(),
                       network_code=get(f.network_code).strip() if f.network_code else "",
                       starts=op in self.start, ends=op in self.end)

    def answer(self, body: str, session_id: str = "") -> tuple[str, str]:
        """``(body, content type)`` to send for the engine's ``body`` (``CON …`` or ``END …``)."""
        going_on = body.startswith(CON)
        text = body[len(CON):] if going_on else body.removeprefix(END)
        r = self.reply
        if r.kind == "json":
            obj = dict(r.con if going_on else r.end)
            obj[r.session] = session_id
            obj[r.message] = text
            return json.dumps(obj, ensure_ascii=False), r.content_type
        return (r.con if going_on else r.end) + text, r.content_type


@dataclass(frozen=True)
class Request:
    """A hop read by :meth:`UssdFormat.read`: the raw values, ``starts``/``ends`` when the
    gateway's operation field says the session starts or has ended."""

    session_id: str
    phone: str
    text: str
    service_code: str
    network_code: str
    starts: bool = False
    ends: bool = False


AFRICASTALKING = UssdFormat(
    name="africastalking", doc="docs/gateway-ussd-formats.md §1",
    fields=Fields(session_id="sessionId", phone="phoneNumber", service_code="serviceCode", text="text",
                  network_code="networkCode"))

ADVANTA = UssdFormat(
    name="advanta", doc="docs/gateway-ussd-formats.md §2",
    fields=Fields(session_id="SESSIONID", phone="MSISDN", service_code="USSDCODE", text="INPUT"),
    text_has_code=True)

HOLLATAGS = UssdFormat(
    name="hollatags", doc="docs/gateway-ussd-formats.md §3",
    fields=Fields(session_id="session_id", phone="session_msisdn", service_code="session_from", text="session_msg",
                  network_code="session_mno"),
    input="latest", operation="session_operation", start=frozenset({"begin"}), end=frozenset({"end"}),
    reply=Reply(kind="json", con={"session_operation": "continue", "session_type": 1},
                end={"session_operation": "end", "session_type": 4}, message="session_msg", session="session_id",
                content_type="application/json"))

#: ``USSD_FORMAT`` value -> format
FORMATS: dict[str, UssdFormat] = {f.name: f for f in (AFRICASTALKING, ADVANTA, HOLLATAGS)}
DEFAULT = AFRICASTALKING.name


def get(name: str | None) -> UssdFormat:
    """The format called ``name`` (empty: :data:`DEFAULT`). Raises ``KeyError`` for an unknown name."""
    return FORMATS[(name or DEFAULT).strip().lower()]
