"""The Africa's Talking gateway: bulk SMS through the official ``africastalking`` SDK.

Follows ``docs/gateway-africastalking.md`` §7, §8: ``initialize`` once per
process, ``SMS.send`` with a list of E.164 phones and an explicit timeout,
never the ``callback`` argument; the answer is read as a dict or a JSON
string and decided per recipient by ``statusCode``; exceptions are mapped to
outcomes: the auth refusal → account problem; any other non-2xx answer, a
refused connection or a connect timeout → outage (the whole request failed,
AT most likely took nothing: sent again when AT answers, attempt not
counted); a read timeout, an unreadable 2xx answer or a recipient missing
from the answer → unconfirmed (AT may have accepted it: never resent
automatically, settled by its delivery report, ``service.messaging.delivery``).
"""
from __future__ import annotations

import json
import threading
import warnings

import africastalking
import requests
from africastalking.Service import AfricasTalkingException, validate_phone

from service.messaging.gateways import (
    ACCEPTED,
    ACCOUNT,
    OUTAGE,
    PERMANENT,
    RETRY,
    REVIEW,
    UNCONFIRMED,
    RecipientResult,
)

STATUS_NAMES = {
    100: "Processed", 101: "Sent", 102: "Queued",
    401: "RiskHold", 402: "InvalidSenderId", 403: "InvalidPhoneNumber", 404: "UnsupportedNumberType",
    405: "InsufficientBalance", 406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection",
    500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway",
}
CODES_BY_NAME = {name.lower(): code for code, name in STATUS_NAMES.items()}
OUTCOME_OF_CODE = {
    100: ACCEPTED, 101: ACCEPTED, 102: ACCEPTED,
    403: PERMANENT, 404: PERMANENT, 406: PERMANENT,
    401: ACCOUNT, 402: ACCOUNT, 405: ACCOUNT,
    407: RETRY, 409: RETRY, 500: RETRY, 501: RETRY, 502: RETRY,
}  # any other code: REVIEW
BLACKLISTED = 406
ENQUEUE_OVER = 20  # more recipients than this: let AT queue the batch (enqueue=1)
_NULLS = ("", "None", "0")  # AT's placeholders for "no messageId" / "no cost"

_lock = threading.Lock()
_initialised_with: tuple[str, str] | None = None


def _sms_service(username: str, api_key: str):
    """``africastalking.SMS``, initialising the SDK only when these credentials are new to the process."""
    global _initialised_with
    with _lock:
        if _initialised_with != (username, api_key):
            with warnings.catch_warnings():  # the SDK warns about unrelated services lacking a sandbox
                warnings.filterwarnings("ignore", message="Sandbox is currently not available")
                africastalking.initialize(username, api_key)
            _initialised_with = (username, api_key)
        return africastalking.SMS


class AfricasTalkingGateway:
    """Sends through AT bulk SMS.

    ``username``/``api_key`` AT credentials (``sandbox`` selects AT's sandbox
    host); ``sender_id`` a registered short code or alphanumeric sender ID, or
    None for AT's default; ``timeout`` (connect, read) seconds (one number
    serves both). Raises ``RuntimeError`` for missing credentials.
    """

    name = "africastalking"

    def __init__(self, username: str, api_key: str, *, sender_id: str | None = None,
                 timeout: tuple[float, ...] = (3.05, 9.05)):
        self._sms = _sms_service(username, api_key)
        self.sender_id = sender_id
        self.timeout = (timeout[0], timeout[-1])

    def send(self, text: str, phones: list[str]) -> list[RecipientResult]:
        """Send ``text`` to ``phones`` in one AT request (≤ 100 phones); one result per phone.

        Phones the SDK would refuse (not ``+`` and digits) fail on their own
        instead of aborting the request for the others.
        """
        bad = [p for p in phones if not validate_phone(p)]
        good = [p for p in phones if validate_phone(p)]
        results = [RecipientResult(p, PERMANENT, reason="invalid phone number") for p in bad]
        if good:
            results += self._send(text, good)
        return results

    def _send(self, text: str, phones: list[str]) -> list[RecipientResult]:
        def every(outcome: str, reason: str, code: int | None = None) -> list[RecipientResult]:
            return [RecipientResult(p, outcome, status_code=code, reason=reason[:200]) for p in phones]

        try:
            answer = self._sms.send(text, phones, sender_id=self.sender_id,
                                    enqueue=len(phones) > ENQUEUE_OVER, timeout=self.timeout)
        except AfricasTalkingException as exc:  # any non-2xx; the message is AT's body
            body = str(exc).strip()
            if "authentication" in body.lower():
                return every(ACCOUNT, f"AT refused the credentials: {body}")
            return every(OUTAGE, f"AT error: {body}")
        except requests.ReadTimeout:
            return every(UNCONFIRMED, "read timeout: AT may have accepted it; not resent")
        except requests.ConnectionError as exc:  # ConnectTimeout included: AT most likely got nothing
            return every(OUTAGE, f"connection failed: {type(exc).__name__}")
        except requests.JSONDecodeError:  # 2xx with a body that is not JSON
            return every(UNCONFIRMED, "unreadable AT answer")
        except ValueError as exc:  # the SDK's own recipient check
            return every(PERMANENT, str(exc))
        return _read_answer(answer, phones)


def _read_answer(answer: dict | str, phones: list[str]) -> list[RecipientResult]:
    """Results from AT's ``SMSMessageData`` (a dict, or its JSON text when the content type had a charset)."""
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError:
            answer = None
    data = answer.get("SMSMessageData") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        return [RecipientResult(p, UNCONFIRMED, reason="unreadable AT answer") for p in phones]
    recipients = [r for r in data.get("Recipients") or [] if isinstance(r, dict)]
    if not recipients:  # the whole request failed; Message names why (e.g. "InvalidSenderId")
        message = str(data.get("Message") or "no recipients in AT answer")
        code = CODES_BY_NAME.get(message.strip().lower())
        outcome = OUTCOME_OF_CODE.get(code, REVIEW)
        if outcome == RETRY:  # e.g. "InternalServerError" for the request: nothing about one recipient
            outcome = OUTAGE
        return [RecipientResult(p, outcome, status_code=code, reason=f"request refused: {message}"[:200])
                for p in phones]
    by_number = {str(r.get("number", "")).strip(): r for r in recipients}
    return [_recipient(p, by_number[p]) if p in by_number
            else RecipientResult(p, UNCONFIRMED, reason="missing from AT answer: AT may have accepted it; "
                                                        "not resent")
            for p in phones]


def _recipient(phone: str, entry: dict) -> RecipientResult:
    try:
        code = int(entry.get("statusCode"))
    except (TypeError, ValueError):
        code = None
    outcome = OUTCOME_OF_CODE.get(code, REVIEW)
    if outcome != ACCEPTED:
        status = entry.get("status") or STATUS_NAMES.get(code, "unknown")
        return RecipientResult(phone, outcome, status_code=code, reason=f"{code} {status}"[:200],
                               suppress=code == BLACKLISTED)
    message_id = str(entry.get("messageId") or "").strip()
    cost = str(entry.get("cost") or "").strip()
    try:
        parts = int(entry["messageParts"])
    except (KeyError, TypeError, ValueError):
        parts = None
    return RecipientResult(phone, ACCEPTED, status_code=code,
                           message_id=None if message_id in _NULLS else message_id,
                           cost=None if cost in _NULLS else cost, parts=parts)
