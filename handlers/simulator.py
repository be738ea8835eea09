"""The phone simulator (local gateway only): ``GET /simulator`` and ``GET /simulator/messages``.

The page plays Africa's Talking and a handset at once. Its script
(``service/static/simulator.js``) posts the form fields AT posts
(``docs/gateway-africastalking.md`` §2–§4) to ``/ussd``, ``/ussd/events``
and ``/sms/inbound`` (with ``?key=`` when ``WEBHOOK_TOKEN`` is set), and polls
``/simulator/messages`` for the phone's conversation: the SMS it sent (as stored) and what the
outbox holds for it, each reply right after the message that caused it, so both survive a
reload. The page speaks English, Tajik, Russian or Uzbek (``?lang=``, then kept in a cookie;
its words are in ``service/templates/simulator.toml``). SMS go to
``AT_SENDER_ID``, or when none is set to the digits of the USSD code
(``*384*7#`` → ``3847``). With ``SMS_GATEWAY=africastalking`` both routes answer 404.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from functools import cache
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, request
from sqlalchemy import select

from handlers.common import db
from service.demo import quick_picks
from service.messaging.message import InboundMessage, OutboundMessage
from service.reference.phone import InvalidPhone, to_e164

bp = Blueprint("simulator", __name__)

NETWORK_CODE = "99999"  # AT's sandbox network
MESSAGES_SHOWN = 100  # newest messages (sent and received) returned per phone
PAGE_LANGUAGES = ("en", "tg", "ru", "uz")
LANG_COOKIE = "simulator_lang"
NOT_FARMERS = ("new", "staff", "responder")  # quick picks that are not a demo farmer
STRINGS_FILE = Path(__file__).resolve().parent.parent / "service" / "templates" / "simulator.toml"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@bp.before_request
def _local_gateway_only():
    if current_app.config["SMS_GATEWAY"] != "local":
        abort(404)


def _short_code() -> str:
    return current_app.config.get("AT_SENDER_ID") or re.sub(r"\D", "", current_app.config["USSD_SERVICE_CODE"])


@cache
def strings() -> dict[str, dict[str, str]]:
    """The page's words per language (``en``, ``tg``, ``ru``, ``uz``), from ``simulator.toml``;
    a word missing in a language falls back to English."""
    with STRINGS_FILE.open("rb") as f:
        table = tomllib.load(f)
    return {lang: {**table["en"], **table.get(lang, {})} for lang in PAGE_LANGUAGES}


def page_language() -> str:
    """``?lang=`` when it names a page language, else the cookie's, else the browser's
    (``Accept-Language``), else English."""
    for wanted in (request.args.get("lang", ""), request.cookies.get(LANG_COOKIE, "")):
        if wanted in PAGE_LANGUAGES:
            return wanted
    return request.accept_languages.best_match(PAGE_LANGUAGES, default="en")


@bp.get("/simulator")
def page():
    """The simulator page for ``?phone=`` (any form that normalises to E.164; default: the first
    quick pick), in the language of :func:`page_language`."""
    lang = page_language()
    words = strings()[lang]
    raw = request.args.get("phone", "")[:40]
    picks = quick_picks(db())
    phone = error = None
    if raw.strip():
        try:
            phone = to_e164(raw)
        except InvalidPhone:
            error = words["bad_phone"].format(raw=raw)
    elif picks:
        phone = picks[0].phone
    tokens = current_app.config.get("WEBHOOK_TOKENS") or []
    js_words = {k[3:]: v for k, v in words.items() if k.startswith("js.")}
    html = render_template(
        "simulator.html", phone=phone, raw=raw if error else (phone or ""), error=error, picks=picks,
        no_farmers=all(p.why in NOT_FARMERS for p in picks), words=words, lang=lang,
        languages=[(code, strings()[code]["lang_name"]) for code in PAGE_LANGUAGES], js_words=json.dumps(js_words),
        service_code=current_app.config["USSD_SERVICE_CODE"], short_code=_short_code(),
        network_code=NETWORK_CODE, key=tokens[0] if tokens else "", timezone=current_app.config["TIMEZONE"])
    response = make_response(html, 200, {"Content-Security-Policy": CSP, "Cache-Control": "no-store"})
    if request.args.get("lang") in PAGE_LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@bp.get("/simulator/messages")
def messages():
    """JSON list of ``?phone=``'s conversation, oldest first: at most :data:`MESSAGES_SHOWN` of
    its newest messages, sent (``direction: "in"``, an inbound SMS as stored) and received
    (``direction: "out"``, an outbox row). A reply (``in_reply_to``: the inbound row's ``id``)
    comes right after the message that caused it, whatever the clock says.

    Items ``"in"``: ``direction``, ``id``, ``gateway_id`` (AT's message id), ``from``, ``text``,
    ``created_at`` (ISO 8601 UTC, ``Z``: received), ``status``. Items ``"out"``: ``direction``,
    ``id``, ``to`` (E.164), ``text``, ``status``, ``created_at``, ``kind``, ``segments``,
    ``encoding``, ``in_reply_to``. A phone that does not normalise to E.164 gets 400
    ``{"error": ...}``.
    """
    try:
        phone = to_e164(request.args.get("phone", "")[:40])
    except InvalidPhone:
        return jsonify(error="phone must be a phone number, e.g. +992900001000"), 400
    outs = db().scalars(
        select(OutboundMessage).where(OutboundMessage.phone == phone)
        .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc()).limit(MESSAGES_SHOWN)).all()
    ins = db().scalars(
        select(InboundMessage).where(InboundMessage.phone == phone)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(MESSAGES_SHOWN)).all()
    received_at = {m.id: m.received_at for m in ins}
    items = [((m.received_at, 0, m.id, 0), {
        "direction": "in", "id": m.id, "gateway_id": m.gateway_id, "from": m.phone, "text": m.text,
        "created_at": _utc(m.received_at), "status": m.status,
    }) for m in ins]
    for m in outs:
        # a reply sorts right after its cause (its cause's time, then in the order queued)
        key = ((received_at[m.in_reply_to], 1, m.in_reply_to, m.id) if m.in_reply_to in received_at
               else (m.created_at, 2, m.id, 0))
        items.append((key, {
            "direction": "out", "id": m.id, "to": m.phone, "text": m.text, "status": m.status,
            "created_at": _utc(m.created_at), "kind": m.kind, "segments": m.segments, "encoding": m.encoding,
            "in_reply_to": m.in_reply_to,
        }))
    items.sort(key=lambda pair: pair[0])
    return jsonify([item for _, item in items[-MESSAGES_SHOWN:]])

