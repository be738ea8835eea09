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

from flask import Blueprint, current_app

from handlers.common import db, field, require_token, storage_failure
from service.sms import engine as sms_commands

bp = Blueprint("sms", __name__)

#: most characters of an MO SMS kept (a concatenated SMS of 30 UCS-2 parts; AT sends far less)
MAX_TEXT_CHARS = 2000


def _plain(body: str, status: int = 200):
    return body, status, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/sms/inbound")
@require_token
def inbound():
    """Store and carry out one MO SMS; body ``processed``/``duplicate``/``ignored``/``error``."""
    msg = sms_commands.Inbound(gateway_id=field("id"), sender=field("from"), to=field("to"),
                               text=field("text", free_text=True, limit=MAX_TEXT_CHARS), date=field("date"),
                               network_code=field("networkCode"), link_id=field("linkId"))
    settings = sms_commands.Settings.from_config(current_app.config)
    try:
        outcome = sms_commands.receive(db(), settings, msg)
    except Exception as exc:
        db().rollback()
        status, body = storage_failure(exc, f"inbound SMS {msg.gateway_id[:100]!r}")
        return _plain(body, status)
    return _plain(outcome)
