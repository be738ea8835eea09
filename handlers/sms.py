"""AT inbound SMS callback: ``POST /sms/inbound`` (``docs/gateway-africastalking.md`` §4).

Form fields ``id``, ``from``, ``to``, ``text``, ``date``, ``networkCode``,
``linkId``. The message is stored and its keyword carried out by
``service.sms.engine.receive``; any reply goes to the outbox. The answer is
always 200 with a one-word ``text/plain`` body (AT ignores it), except 403
for a wrong token, 400 when the database refuses the values themselves
(``DataError``: a retry would fail the same way) and 503 when the database
cannot store the message at all (AT then sends it again).

Limits: control characters are stripped from every field (tab and newline
are kept in ``text``), and ``text`` is cut to :data:`MAX_TEXT_CHARS`
characters; the other fields have the limits of ``service.sms.engine``.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint

from handlers.common import db, field, require_token, settings, sms_app, storage_failure
from service.sms import engine as sms_commands

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__)

#: most characters of an MO SMS kept (a concatenated SMS of 30 UCS-2 parts; AT sends far less)
MAX_TEXT_CHARS = 2000
#: the three forms of AT's ``date`` (``docs/gateway-africastalking.md`` §4), all UTC
AT_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")


def parse_at_date(raw: str) -> dt.datetime | None:
    """AT's ``date`` as an aware UTC datetime; None when missing or in none of :data:`AT_DATE_FORMATS`."""
    for fmt in AT_DATE_FORMATS:
        try:
            return dt.datetime.strptime(raw.strip(), fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
    return None


def _plain(body: str, status: int = 200):
    return body, status, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/sms/inbound")
@require_token
def inbound():
    """Store and carry out one MO SMS; body ``processed``/``duplicate``/``ignored``/``error``."""
    raw_date = field("date")
    sent_at = parse_at_date(raw_date)
    if sent_at is None:
        log.warning("inbound SMS %s: unparseable date %r, using the receive time", field("id").strip()[:100], raw_date)
    msg = sms_commands.Inbound(gateway_id=field("id"), sender=field("from"), to=field("to"),
                               text=field("text", free_text=True, limit=MAX_TEXT_CHARS), sent_at=sent_at,
                               network_code=field("networkCode"), link_id=field("linkId"))
    status, body = store_inbound(msg)
    return _plain(body, status)


def store_inbound(msg: sms_commands.Inbound) -> tuple[int, str]:
    """Store and carry out one MO SMS of any gateway (``service.sms.engine.receive``, in the
    request's session): ``(200, outcome)`` with ``processed``/``duplicate``/``ignored``/``error``,
    or the :func:`handlers.common.storage_failure` answer (400 values refused, 503 database away)."""
    try:
        return 200, sms_commands.receive(db(), sms_app(), settings(), msg)
    except Exception as exc:
        db().rollback()
        return storage_failure(exc, f"inbound SMS {msg.gateway_id[:100]!r}")
