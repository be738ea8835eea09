"""Kannel callbacks: MO SMS (``/kannel/inbound``) and delivery reports (``/kannel/delivery``).

``GET`` or ``POST /kannel/inbound?key=<token>&from=%p&to=%P&text=%b&charset=%C&coding=%c&id=%I&smsc=%i&ts=%t``
is smsbox's ``sms-service`` ``get-url`` (``docs/gateway-kannel.md`` §5, §6). ``text`` is the
message's own bytes, percent-encoded: they are decoded with ``charset`` (``UTF-8``,
``UTF-16BE`` for UCS-2, ``ISO-8859-1``/``WINDOWS-1252`` for GSM text ...), or, without a
charset Python knows, as UTF-16BE when ``coding=2`` and UTF-8 otherwise; bytes that do not
decode become U+FFFD. A ``POST`` whose body is not a form (smsbox's ``post-url``) carries the
text as its body, its charset in ``Content-Type``. The message then goes through the same
keyword handling and storage as AT's inbound SMS (``handlers.sms.store_inbound``: stored
once per ``id``). The answer is 200 with an EMPTY ``text/plain`` body whatever the outcome
(smsbox would send a non-empty body back to the farmer as an SMS; every reply goes through
the outbox), except 403 for a wrong token and 503 when the database cannot store the
message (smsbox then tries again, ``http-request-retry``). A message without ``id`` gets a
digest of its ``from``, ``to``, ``ts`` and text as its id (a retried copy is still a
duplicate); without ``id`` and ``ts`` nothing tells a retry from a new message, so it is
ignored (logged).

``GET`` or ``POST /kannel/delivery?key=<token>&id=<our id>&type=%d&smsc=%i&ts=%T&answer=%A``
is the ``dlr-url`` the Kannel gateway sends with each message
(``service.messaging.gateways.kannel``, ``docs/gateway-kannel.md`` §4). ``type`` 1, 2, 4, 8,
16 become the report statuses ``Success``, ``Failed``, ``Buffered``, ``Submitted``,
``Rejected`` and go through the same forward-only recording as AT's reports
(``service.messaging.delivery.record_report``; unknown ids parked as orphans); another type
is stored as ``type <n>`` and changes nothing. The SMSC's ``answer`` is the failure reason of
a failed or rejected message. Answers: 200 with an empty body for every report, duplicates,
orphans and refusable ones (no ``id`` or no ``type``) included, 403 for a wrong token, 503
only when the database cannot store it.

Limits: the body limits of ``handlers.common``; at most :data:`MAX_TEXT_BYTES` bytes of
``text`` are decoded and the text is cut to ``handlers.sms.MAX_TEXT_CHARS`` characters;
control characters are stripped from every field (tab and newline kept in the text).
"""
from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import logging
from urllib.parse import parse_qsl

from flask import Blueprint, request

from handlers import delivery as delivery_handlers
from handlers.common import clean, require_token
from handlers.sms import MAX_TEXT_CHARS, store_inbound
from service.messaging import delivery
from service.sms import engine as sms_commands

log = logging.getLogger(__name__)

bp = Blueprint("kannel", __name__)

#: most bytes of ``text`` decoded: MAX_TEXT_CHARS UTF-16 code units, or 4-byte UTF-8 characters
MAX_TEXT_BYTES = 4 * MAX_TEXT_CHARS
#: Kannel's ``%d`` (``dlr-mask`` bit) → the delivery report status of ``service.messaging.delivery``
STATUS_OF_TYPE = {"1": "Success", "2": "Failed", "4": "Buffered", "8": "Submitted", "16": "Rejected"}
FAILED_TYPES = ("2", "16")
#: forms of ``%t`` (Kannel writes UTC; ``+`` in a URL is a space)
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
#: the field lengths kept (longer values are cut)
FIELD_CHARS = 200

_EMPTY = ("", 200, {"Content-Type": "text/plain; charset=utf-8"})


def _raw_fields() -> dict[str, bytes]:
    """The request's fields as raw bytes (percent-decoded, not yet decoded as text): the query
    string, then a form body; the first value of a name wins. A body that is not a form is the
    ``text`` (smsbox's ``post-url``) when the query has none."""
    pairs = parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    fields: dict[str, bytes] = {}
    for name, value in pairs:
        fields.setdefault(name, value.encode("latin-1"))
    if request.method == "POST":
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                for name, value in request.form.items():  # werkzeug decoded them as UTF-8
                    fields.setdefault(name, value.encode("utf-8"))
            except Exception:  # a malformed body: the query's fields only
                pass
        elif "text" not in fields:
            fields["text"] = request.get_data(cache=True)[:MAX_TEXT_BYTES]
            charset = request.mimetype_params.get("charset")
            if charset and "charset" not in fields:
                fields["charset"] = charset.encode("latin-1", "replace")
    return fields


def _text_field(fields: dict[str, bytes], name: str) -> str:
    """A short field as text (UTF-8, undecodable bytes replaced), control characters stripped, cut."""
    return clean(fields.get(name, b"").decode("utf-8", "replace")).strip()[:FIELD_CHARS]


def decode_text(raw: bytes, charset: str, coding: str) -> str:
    """The message text from its bytes (``docs/gateway-kannel.md`` §5): decoded with ``charset``
    when Python knows it, else UTF-16BE for ``coding`` 2 and UTF-8 otherwise; bytes that do not
    decode become U+FFFD."""
    raw = raw[:MAX_TEXT_BYTES]
    codec = None
    if charset:
        try:
            codec = codecs.lookup(charset.strip()).name
        except LookupError:
            codec = None
    if codec is None:
        codec = "utf-16-be" if coding.strip() == "2" else "utf-8"
    return raw.decode(codec, "replace")


def parse_time(raw: str) -> dt.datetime | None:
    """Kannel's ``%t`` (``2026-12-04 18:30:05``, UTC) or a UNIX time (``%T``) as aware UTC; None when neither."""
    raw = raw.strip()
    if raw.isdigit():
        try:
            return dt.datetime.fromtimestamp(int(raw), dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    for fmt in TIME_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
    return None


@bp.route("/kannel/inbound", methods=["GET", "POST"])
@require_token
def inbound():
    """Store and carry out one MO SMS from smsbox; always an empty body (module docstring)."""
    fields = _raw_fields()
    text = decode_text(fields.get("text", b""), _text_field(fields, "charset"), _text_field(fields, "coding"))
    text = clean(text, free_text=True)[:MAX_TEXT_CHARS]
    sender, to, raw_ts = _text_field(fields, "from"), _text_field(fields, "to"), _text_field(fields, "ts")
    message_id = _text_field(fields, "id")
    sent_at = parse_time(raw_ts) if raw_ts else None
    if raw_ts and sent_at is None:
        log.warning("Kannel MO %s: unreadable ts %r, using the receive time", message_id, raw_ts[:40])
    if not message_id:
        if not raw_ts:
            log.warning("Kannel MO without id and ts ignored (add id=%%I&ts=%%t to the sms-service get-url)")
            return _EMPTY
        digest = hashlib.sha256("\x1f".join((sender, to, raw_ts, text)).encode("utf-8")).hexdigest()[:32]
        message_id = f"kannel-{digest}"
        log.warning("Kannel MO without id: stored as %s (add id=%%I to the sms-service get-url)", message_id)
    msg = sms_commands.Inbound(gateway_id=message_id, sender=sender, to=to, text=text, sent_at=sent_at,
                               network_code="", link_id="")
    status, body = store_inbound(msg)
    if status == 503:
        return body, status, _EMPTY[2]
    return _EMPTY  # processed, duplicate, ignored, error, refused values: smsbox must not send them again


@bp.route("/kannel/delivery", methods=["GET", "POST"])
@require_token
def delivery_report():
    """Store and apply one Kannel delivery report; an empty 200 unless the database is away (503)."""
    fields = _raw_fields()
    message_id, kind = _text_field(fields, "id"), _text_field(fields, "type")
    status = STATUS_OF_TYPE.get(kind) or (f"type {kind[:12]}" if kind else "")
    answer = _text_field(fields, "answer")[:100]
    reason = answer if kind in FAILED_TYPES else ""

    def record(session):
        delivery.record_report(session, message_id=message_id, status=status, failure_reason=reason,
                               gateway="kannel")

    body, code, headers = delivery_handlers.store(record, "Kannel delivery report", refused=200, ok="")
    return ("", code, headers) if code == 200 else (body, code, headers)
