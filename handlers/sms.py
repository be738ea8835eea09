"""AT inbound SMS callback: ``POST /sms/inbound`` (``shared/reference/africastalking.md`` §3).

Form fields ``id``, ``from``, ``to``, ``text``, ``date``, ``networkCode``,
``linkId``. The message is stored and its keyword carried out by
``service.sms_commands.receive``; any reply goes to the outbox. The answer is
always 200 with a one-word ``text/plain`` body (AT ignores it), except 403
for a wrong token and 503 when the database cannot store the message at all
(AT then sends it again).
"""
from __future__ import annotations

from flask import Blueprint, current_app

from handlers.common import db, field, require_token
from service import sms_commands

bp = Blueprint("sms", __name__)


def _plain(body: str, status: int = 200):
    return body, status, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/sms/inbound")
@require_token
def inbound():
    """Store and carry out one MO SMS; body ``processed``/``duplicate``/``ignored``/``error``."""
    msg = sms_commands.Inbound(gateway_id=field("id"), sender=field("from"), to=field("to"), text=field("text"),
                               date=field("date"), network_code=field("networkCode"), link_id=field("linkId"))
    settings = sms_commands.Settings.from_config(current_app.config)
    try:
        outcome = sms_commands.receive(db(), settings, msg)
    except Exception:
        db().rollback()
        current_app.logger.exception("inbound SMS %r could not be stored", msg.gateway_id)
        return _plain("unavailable", 503)
    return _plain(outcome)
