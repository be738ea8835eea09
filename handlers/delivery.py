"""AT delivery reports (``POST /sms/delivery``) and bulk-SMS opt-out notices (``POST /sms/optout``).

Both need the webhook token (403, nothing stored). A well-formed callback
gets 200 ``OK``, duplicates and unknown message ids included; a body without
the identifying fields (JSON, empty, garbage) gets 400. Only when the database
cannot store the callback at all does it answer 503, so that AT sends it again.
"""
from __future__ import annotations

from flask import Blueprint, current_app

from handlers.common import db, field, require_token
from service import delivery

bp = Blueprint("delivery", __name__)

_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}


def _store(store, what: str):
    """Run ``store(session)`` and commit: 200 ``OK``; 400 for a :class:`delivery.BadReport`;
    503 when the database cannot store it (AT then sends it again)."""
    session = db()
    try:
        store(session)
        session.commit()
    except delivery.BadReport as exc:
        session.rollback()
        return f"bad {what}: {exc}", 400, _PLAIN
    except Exception:
        session.rollback()
        current_app.logger.exception("%s could not be stored", what)
        return "unavailable", 503, _PLAIN
    return "OK", 200, _PLAIN


@bp.post("/sms/delivery")
@require_token
def delivery_report():
    """Store and apply one delivery report (fields ``id``, ``status``, ``phoneNumber``,
    ``networkCode``, ``failureReason``, ``retryCount``)."""
    return _store(lambda session: delivery.record_report(
        session, message_id=field("id"), status=field("status"), phone=field("phoneNumber"),
        network_code=field("networkCode"), failure_reason=field("failureReason"),
        retry_count=field("retryCount")), "delivery report")


@bp.post("/sms/optout")
@require_token
def optout_notice():
    """Suppress the phone of an AT bulk-SMS opt-out notice (fields ``senderId``, ``phoneNumber``)."""
    return _store(lambda session: delivery.record_optout(session, field("phoneNumber")), "opt-out notice")
