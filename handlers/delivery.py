"""AT delivery reports (``POST /sms/delivery``) and bulk-SMS opt-out notices (``POST /sms/optout``).

Both need the webhook token (403, nothing stored). A well-formed callback
gets 200 ``OK``, duplicates and unknown message ids included; a body without
the identifying fields (JSON, empty, garbage) gets 400, and so do values the
database refuses (``DataError``: a retry would fail the same way). Only when
the database cannot store the callback at all does it answer 503, so that AT
sends it again. Control characters are stripped from every field at the door
(``handlers.common.field``); the field lengths are ``service.messaging.delivery``'s. A
callback that loses a race to a concurrent copy (a unique index refuses its
row) is stored again once, logged at INFO.
"""
from __future__ import annotations

from flask import Blueprint, current_app

from sqlalchemy.exc import IntegrityError

from handlers.common import db, field, require_token, storage_failure
from service.messaging import delivery

bp = Blueprint("delivery", __name__)

_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}


def store(action, what: str, *, refused: int = 400, ok: str = "OK"):
    """Run ``action(session)`` and commit: 200 ``ok``; ``refused`` (400 for AT; a gateway that
    retries every non-200, Kannel, passes 200) for a :class:`delivery.BadReport` or values the
    database refuses; 503 when the database cannot store it (the gateway then sends it again).
    An ``IntegrityError`` (a concurrent copy stored the same row first) gets one more try."""
    session = db()
    for attempt in (1, 2):
        try:
            action(session)
            session.commit()
            return ok, 200, _PLAIN
        except delivery.BadReport as exc:
            session.rollback()
            current_app.logger.info("%s refused: %s", what, exc)
            return f"bad {what}: {exc}", refused, _PLAIN
        except IntegrityError as exc:
            session.rollback()
            if attempt == 1:
                current_app.logger.info("%s lost a race to a concurrent copy (%s), stored again", what,
                                        type(exc.orig).__name__)
                continue
            current_app.logger.exception("%s could not be stored", what)
            return "unavailable", 503, _PLAIN
        except Exception as exc:
            session.rollback()
            status, body = storage_failure(exc, what)
            return body, refused if status == 400 else status, _PLAIN
    return "unavailable", 503, _PLAIN  # not reached


@bp.post("/sms/delivery")
@require_token
def delivery_report():
    """Store and apply one delivery report (fields ``id``, ``status``, ``phoneNumber``,
    ``networkCode``, ``failureReason``, ``retryCount``)."""
    return store(lambda session: delivery.record_report(
        session, message_id=field("id"), status=field("status"), phone=field("phoneNumber"),
        network_code=field("networkCode"), failure_reason=field("failureReason"),
        retry_count=field("retryCount")), "delivery report")


@bp.post("/sms/optout")
@require_token
def optout_notice():
    """Suppress the phone of an AT bulk-SMS opt-out notice (fields ``senderId``, ``phoneNumber``)."""
    return store(lambda session: delivery.record_optout(session, field("phoneNumber")), "opt-out notice")
