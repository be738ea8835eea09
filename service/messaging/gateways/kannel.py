"""The Kannel gateway: MT SMS through Kannel's HTTP ``sendsms`` interface (``docs/gateway-kannel.md`` §2, §3).

One HTTP GET per recipient to ``KANNEL_SENDSMS_URL`` (smsbox's ``sendsms`` port) with
``username``, ``password``, ``to`` (E.164 with ``+``), ``text`` (UTF-8, ``charset=UTF-8``),
``coding`` 0 (every character in the GSM-7 alphabet) or 2 (UCS-2: any other character,
e.g. Cyrillic), ``from`` and ``smsc`` when set, ``dlr-mask=31`` and a ``dlr-url`` back to
``/kannel/delivery`` carrying the message id we give the message (``k`` + 16 hex digits),
so its delivery reports find the outbox row (``docs/gateway-kannel.md`` §4).

Kannel's answer is classified per recipient (``docs/gateway-kannel.md`` §3):

| Answer | Outcome |
|---|---|
| 2xx with ``0: Accepted for delivery``, ``3: Queued for later delivery`` or ``Sent.`` | accepted (our id stored) |
| 2xx with another body | unconfirmed (Kannel may have taken it: never resent) |
| 401; 403 ``Authorization failed for sendsms`` | account problem: the queue of this gateway is held |
| 400 ``Sender missing and no global set, rejected`` | account problem too (Kannel's sender configuration) |
| 400 about the receiver (``Number(s) has/have been denied ...``, ``Empty receiver number ...``, ``Missing receiver number ...``); 403 ``Not routable. Do not try again.`` | permanent failure of that recipient |
| any other 4xx (e.g. 400 ``Charset or body misformed, rejected``) | review (held for a person) |
| 5xx (``Sending failed.``, 503 ``Temporal failure, try again later.``), connection refused, connect timeout | outage: nothing taken, attempt not counted |
| read timeout after the request was sent | unconfirmed |

After an outage, an account problem or a read timeout the remaining phones of the
request are not tried (an outage for them: nothing was sent); the dispatcher holds the
gateway (``service.messaging.gateway_state``). An unconfirmed result keeps our message
id, so a delivery report that comes later still settles the row.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

import requests

from service.messaging.encoding import measure
from service.messaging.gateways import (
    ACCEPTED,
    ACCOUNT,
    OUTAGE,
    PERMANENT,
    REVIEW,
    UNCONFIRMED,
    RecipientResult,
)

#: delivery reports asked for: 1 delivered + 2 failed + 4 buffered + 8 SMSC submit + 16 SMSC reject
DLR_MASK = 31
#: Kannel's answers that mean it took the message (``docs/gateway-kannel.md`` §3); ``Sent.`` with
#: ``immediate-sendsms-reply``
ACCEPTED_ANSWERS = ("0:", "3:", "Sent.")
#: the start of 400 and 403 answers about the receiver (permanent for that phone; ``docs/gateway-kannel.md`` §3)
RECEIVER_REFUSED = ("Number(s) has/have been denied", "Empty receiver number", "Missing receiver",
                    "Not routable")
#: the start of a 400 answer that is Kannel's configuration, not the message: held like an account problem
SENDER_MISSING = "Sender missing"
#: the ``dlr-url`` query after ``/kannel/delivery?key=...&id=...`` (Kannel's escapes, ``docs/gateway-kannel.md`` §4)
DLR_ESCAPES = "&type=%d&smsc=%i&ts=%T&answer=%A"
#: the message ids we give (``k`` + 16 hex digits)
ID_PATTERN = re.compile(r"^k[0-9a-f]{16}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def new_message_id() -> str:
    """A fresh message id for one MT message: ``k`` followed by 16 random hex digits."""
    return "k" + secrets.token_hex(8)


def coding_of(text: str) -> int:
    """Kannel's ``coding`` for ``text``: 0 (GSM-7) when every character is in the GSM-7 alphabet,
    else 2 (UCS-2), as ``service.messaging.encoding.measure`` decides it."""
    return 0 if measure(text).encoding == "GSM-7" else 2


class KannelGateway:
    """Sends through Kannel's ``sendsms`` (``docs/gateway-kannel.md`` §2).

    ``sendsms_url`` e.g. ``http://127.0.0.1:13013/cgi-bin/sendsms``; ``username``/``password``
    a ``sendsms-user`` of smsbox (the password is a secret: never logged); ``sender`` the
    ``from`` (short code or sender id) or None for the one Kannel sets; ``smsc`` the
    ``smsc-id`` to route to, or None; ``callback_url`` the base URL at which Kannel reaches
    this service (``http://127.0.0.1:5000``; empty: no delivery reports are asked for), and ``token`` the webhook token the delivery
    reports carry as ``?key=``; ``timeout`` seconds (connect and read). Raises ``ValueError``
    when the URL or the credentials are missing.
    """

    name = "kannel"

    def __init__(self, sendsms_url: str, username: str, password: str, *, sender: str | None = None,
                 smsc: str | None = None, callback_url: str = "", token: str = "", timeout: float = 10.0):
        if not sendsms_url or not username or not password:
            raise ValueError("Kannel needs KANNEL_SENDSMS_URL, KANNEL_USERNAME and KANNEL_PASSWORD")
        self.sendsms_url, self.username, self._password = sendsms_url, username, password
        self.sender, self.smsc = sender or None, smsc or None
        self.callback_url, self._token = callback_url.rstrip("/"), token
        self.timeout = float(timeout)
        self._http = requests.Session()

    def __repr__(self) -> str:  # never the password
        return f"KannelGateway({self.sendsms_url!r}, user={self.username!r})"

    def dlr_url(self, message_id: str) -> str:
        """The ``dlr-url`` of one message: ``/kannel/delivery`` with the token, our id and Kannel's escapes."""
        query = urlencode({"key": self._token, "id": message_id}) if self._token else urlencode({"id": message_id})
        return f"{self.callback_url}/kannel/delivery?{query}{DLR_ESCAPES}"

    def params(self, text: str, phone: str, message_id: str) -> dict[str, str]:
        """The ``sendsms`` query of one message (``docs/gateway-kannel.md`` §2), password included."""
        params = {"username": self.username, "password": self._password, "to": phone, "text": text,
                  "charset": "UTF-8", "coding": str(coding_of(text))}
        if self.sender:
            params["from"] = self.sender
        if self.smsc:
            params["smsc"] = self.smsc
        if self.callback_url:  # without it Kannel could not reach us: no reports asked for
            params["dlr-mask"] = str(DLR_MASK)
            params["dlr-url"] = self.dlr_url(message_id)
        return params

    def send(self, text: str, phones: list[str]) -> list[RecipientResult]:
        """Send ``text`` to each phone of ``phones`` (one request each, in order); one result per phone.

        A phone that is not E.164 (``+`` and 7 to 15 digits) fails on its own; after an outage or
        an account problem the phones not yet tried get the same outcome, after a read timeout
        an outage (none of them was sent).
        """
        results: list[RecipientResult] = []
        stop: tuple[str, str] | None = None  # (outcome, reason) of the phones not tried
        for phone in phones:
            if stop is not None:
                results.append(RecipientResult(phone, stop[0], reason=stop[1]))
                continue
            if not _E164.match(phone):
                results.append(RecipientResult(phone, PERMANENT, reason="invalid phone number"))
                continue
            result = self._send_one(text, phone)
            results.append(result)
            if result.outcome in (OUTAGE, ACCOUNT):
                stop = (result.outcome, result.reason or "")
            elif result.outcome == UNCONFIRMED and result.status_code is None:  # Kannel stopped answering
                stop = (OUTAGE, "not tried after a read timeout: Kannel does not answer")
        return results

    def _send_one(self, text: str, phone: str) -> RecipientResult:
        message_id = new_message_id()
        try:
            answer = self._http.get(self.sendsms_url, params=self.params(text, phone, message_id),
                                    timeout=(self.timeout, self.timeout))
        except requests.ReadTimeout:
            return RecipientResult(phone, UNCONFIRMED, message_id=message_id,
                                   reason="read timeout: Kannel may have accepted it; not resent")
        except requests.ConnectionError as exc:  # refused, reset before an answer, connect timeout
            return RecipientResult(phone, OUTAGE, reason=f"Kannel unreachable: {type(exc).__name__}")
        except requests.RequestException as exc:  # e.g. an invalid URL: nothing was sent
            return RecipientResult(phone, OUTAGE, reason=f"Kannel request failed: {type(exc).__name__}")
        return classify(phone, answer.status_code, answer.text, message_id)


def classify(phone: str, status: int, body: str, message_id: str) -> RecipientResult:
    """The outcome of Kannel's answer ``status``/``body`` to the request for ``phone`` sent with our
    ``message_id`` (the table of the module docstring; ``docs/gateway-kannel.md`` §3)."""
    said = " ".join((body or "").split())[:120]
    reason = f"Kannel {status}: {said}"[:200]
    if 200 <= status < 300:
        if said.startswith(ACCEPTED_ANSWERS):
            return RecipientResult(phone, ACCEPTED, status_code=status, message_id=message_id, parts=None)
        return RecipientResult(phone, UNCONFIRMED, status_code=status, message_id=message_id,
                               reason=f"unexpected Kannel answer ({reason}): may have been accepted; not resent"[:200])
    if status in (400, 403) and said.startswith(RECEIVER_REFUSED):
        return RecipientResult(phone, PERMANENT, status_code=status, reason=reason)
    if status in (401, 403):
        return RecipientResult(phone, ACCOUNT, status_code=status, reason=f"Kannel refused the credentials: {said}"[:200])
    if status == 400 and said.startswith(SENDER_MISSING):
        return RecipientResult(phone, ACCOUNT, status_code=status,
                               reason=f"Kannel has no sender to use (set KANNEL_FROM or global-sender): {said}"[:200])
    if 400 <= status < 500:
        return RecipientResult(phone, REVIEW, status_code=status, reason=reason)
    return RecipientResult(phone, OUTAGE, status_code=status, reason=reason)
