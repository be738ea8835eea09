"""What a real Kannel 1.4.5 (Debian's bearerbox and smsbox, ``fakesmsc`` as the SMS centre) sends
to this service and answers to it, recorded from ``tests/kannel_harness.py`` and checked against
the real programs again by ``tests/test_kannel_real.py`` on every run where Kannel is installed.

- :data:`REQUESTS`: the requests smsbox makes: a phone's message (``sms-service`` get-url,
  ``/kannel/inbound``) and delivery reports (``dlr-url``, ``/kannel/delivery``), each with the
  query exactly as Kannel sent it after our own ``key=<token>&`` (and, for a delivery report,
  ``&id=<message id>``), and what the query means. ``id`` and ``ts`` differ on each run
  (:data:`VARYING`); every other value is the same each time.
- :data:`ANSWERS`: what smsbox's ``sendsms`` answers to a request (status, body).

Facts worth knowing (``docs/gateway-kannel-testing.md`` §3):

- a UCS-2 message (Cyrillic) reaches ``%b`` as its raw UTF-16BE bytes, URL-encoded with ``+``
  for the byte 0x20, ``charset=UTF-16BE&coding=2``, unless smsbox has ``mo-recode = true``
  (then UTF-8, ``coding=0``); so the text must be decoded from the raw query bytes with
  ``charset``, never read as a UTF-8 form field;
- ``%t`` is ``YYYY-MM-DD HH:MM:SS`` (Kannel's local time), ``%T`` a Unix time, ``%I`` a UUID;
- the fake SMS centre reports type 8 (SMSC submit, ``answer=ACK/``) and type 1 (delivered,
  empty answer) for every message, in either order; types 2, 4 and 16 come only from a real SMSC;
- configuration mistakes are answered 400 like a bad number (``Sender missing and no global set``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

PHONE = "+992935550101"
SHORT_CODE = "1234"
#: the parameters whose value differs on each run: Kannel's message id and its timestamps
VARYING = ("id", "ts")


@dataclass(frozen=True)
class Request:
    """One request smsbox made: ``label``, ``path``, ``query`` as sent after our own parameters,
    ``means`` what the service must read from it (``text`` decoded for a message; ``type`` for a
    delivery report), and how Kannel was set up to make it (``setup``)."""

    label: str
    path: str
    query: str
    means: dict = field(default_factory=dict)
    setup: str = ""


REQUESTS = [
    Request("MO in GSM letters", "/kannel/inbound",
            "from=%2B992935550101&to=1234&text=NARX+piyoz&charset=UTF-8&coding=0"
            "&id=3b6a08f3-0170-4fdd-ac93-dbd7955b5c16&smsc=mo&ts=2026-12-04+18:56:02",
            {"from": PHONE, "to": SHORT_CODE, "text": "NARX piyoz", "charset": "UTF-8", "coding": "0", "smsc": "mo"},
            "fakesmsc 'text' message"),
    Request("MO in GSM letters with @ and £", "/kannel/inbound",
            "from=%2B992935550101&to=1234&text=Price+%40+%C2%A3+3&charset=UTF-8&coding=0"
            "&id=fd763d7e-5d71-42bb-b7e1-171bedd15ff4&smsc=mo&ts=2026-12-04+18:56:02",
            {"from": PHONE, "to": SHORT_CODE, "text": "Price @ £ 3", "charset": "UTF-8", "coding": "0", "smsc": "mo"},
            "fakesmsc 'text' message"),
    Request("MO in Cyrillic, UCS-2 as the SMS centre hands it over (UTF-16BE bytes)", "/kannel/inbound",
            "from=%2B992935550101&to=1234&text=%04%1D%04%10%04+%04%25%00+%04%3F%048%04Q%047"
            "&charset=UTF-16BE&coding=2&id=f00db3b9-7e07-47bd-b5fc-cc18ffd444d4&smsc=mo&ts=2026-12-04+18:56:02",
            {"from": PHONE, "to": SHORT_CODE, "text": "НАРХ пиёз", "charset": "UTF-16BE", "coding": "2", "smsc": "mo"},
            "fakesmsc 'ucs2' message, smsbox mo-recode = false (Kannel's default)"),
    Request("MO in Cyrillic recoded by smsbox to UTF-8", "/kannel/inbound",
            "from=%2B992935550101&to=1234&text=%D0%9D%D0%90%D0%A0%D0%A5+%D0%BF%D0%B8%D1%91%D0%B7"
            "&charset=UTF-8&coding=0&id=53482688-b61e-48b1-b11f-17487f13d797&smsc=mo&ts=2026-12-04+18:56:04",
            {"from": PHONE, "to": SHORT_CODE, "text": "НАРХ пиёз", "charset": "UTF-8", "coding": "0", "smsc": "mo"},
            "fakesmsc 'ucs2' message, smsbox mo-recode = true"),
    Request("DLR 8: the SMS centre took it", "/kannel/delivery",
            "type=8&smsc=mt&ts=1796410562&answer=ACK%2F", {"type": "8", "smsc": "mt", "answer": "ACK/"},
            "sendsms with dlr-mask=31 and the contract's dlr-url"),
    Request("DLR 1: delivered", "/kannel/delivery",
            "type=1&smsc=mt&ts=1796410562&answer=", {"type": "1", "smsc": "mt", "answer": ""},
            "sendsms with dlr-mask=31 and the contract's dlr-url"),
]


@dataclass(frozen=True)
class Answer:
    """smsbox's answer (``status``, ``body``) to a ``sendsms`` request whose parameters differ from a
    good one (``tests/test_kannel_real.py``'s) by ``change`` (None removes one); ``smsc_down``: the
    SMS centre was not connected."""

    label: str
    change: dict
    status: int
    body: str
    smsc_down: bool = False


ANSWERS = [
    Answer("accepted", {}, 202, "0: Accepted for delivery"),
    Answer("queued while the SMS centre is away", {}, 202, "3: Queued for later delivery", smsc_down=True),
    Answer("wrong password", {"password": "wrong"}, 403, "Authorization failed for sendsms"),
    Answer("unknown user", {"username": "nobody"}, 403, "Authorization failed for sendsms"),
    Answer("receiver not a number", {"to": "abc"}, 400, "Number(s) has/have been denied by white- and/or black-lists."),
    Answer("empty receiver", {"to": ""}, 400, "Empty receiver number not allowed, rejected"),
    Answer("no sender and no global-sender", {"from": None}, 400, "Sender missing and no global set, rejected"),
    Answer("coding out of range", {"coding": "7"}, 400, "Coding field misformed, rejected"),
    Answer("unknown charset", {"charset": "XYZ"}, 400, "Charset or body misformed, rejected"),
]
