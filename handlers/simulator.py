"""The phone simulator (local gateway only): ``GET /simulator`` and ``GET /simulator/messages``.

The page plays Africa's Talking and a handset at once. Its script
(``service/static/simulator.js``) posts the form fields AT posts
(``docs/gateway-africastalking.md`` §2–§4) to ``/ussd``, ``/ussd/events``
and ``/sms/inbound`` (with ``?key=`` when ``WEBHOOK_TOKEN`` is set), and polls
``/simulator/messages`` for what the outbox holds for the phone. SMS go to
``AT_SENDER_ID``, or when none is set to the digits of the USSD code
(``*384*7#`` → ``3847``). With ``SMS_GATEWAY=africastalking`` both routes answer 404.
"""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import select

from handlers.common import db
from service.demo import NEW_PHONE, quick_picks
from service.messaging.message import OutboundMessage
from service.reference.phone import InvalidPhone, to_e164

bp = Blueprint("simulator", __name__)

NETWORK_CODE = "99999"  # AT's sandbox network
MESSAGES_SHOWN = 100  # newest outbox rows returned per phone
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@bp.before_request
def _local_gateway_only():
    if current_app.config["SMS_GATEWAY"] != "local":
        abort(404)


def _short_code() -> str:
    return current_app.config.get("AT_SENDER_ID") or re.sub(r"\D", "", current_app.config["USSD_SERVICE_CODE"])


@bp.get("/simulator")
def page():
    """The simulator page for ``?phone=`` (any form that normalises to E.164; default: the first quick pick)."""
    raw = request.args.get("phone", "")
    picks = quick_picks(db())
    phone = error = None
    if raw.strip():
        try:
            phone = to_e164(raw)
        except InvalidPhone:
            error = f"“{raw}” is not a phone number (try +992 90 000 1000 or 900001000)."
    elif picks:
        phone = picks[0].phone
    tokens = current_app.config.get("WEBHOOK_TOKENS") or []
    html = render_template(
        "simulator.html", phone=phone, raw=raw if error else (phone or ""), error=error, picks=picks,
        no_farmers=all(p.phone == NEW_PHONE for p in picks),
        service_code=current_app.config["USSD_SERVICE_CODE"], short_code=_short_code(),
        network_code=NETWORK_CODE, key=tokens[0] if tokens else "", timezone=current_app.config["TIMEZONE"])
    return html, 200, {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}


@bp.get("/simulator/messages")
def messages():
    """JSON list of the outbox rows for ``?phone=`` (newest last, at most :data:`MESSAGES_SHOWN`).

    Each item: ``id``, ``to`` (E.164), ``text``, ``status``, ``created_at``
    (ISO 8601 UTC, ``Z``), ``kind``, ``segments``, ``encoding``. A phone that
    does not normalise to E.164 gets 400 ``{"error": ...}``.
    """
    try:
        phone = to_e164(request.args.get("phone", ""))
    except InvalidPhone:
        return jsonify(error="phone must be a phone number, e.g. +992900001000"), 400
    rows = db().scalars(
        select(OutboundMessage).where(OutboundMessage.phone == phone)
        .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc()).limit(MESSAGES_SHOWN)).all()
    return jsonify([{
        "id": m.id,
        "to": m.phone,
        "text": m.text,
        "status": m.status,
        "created_at": m.created_at.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "kind": m.kind,
        "segments": m.segments,
        "encoding": m.encoding,
    } for m in reversed(rows)])
