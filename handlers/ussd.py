"""USSD callbacks: ``POST /ussd`` (hops) and ``POST /ussd/events`` (AT's end-of-session notice).

Contract: ``docs/gateway-africastalking.md`` §2, §3; a hop's field names, input style and answer
markers are those of the gateway named by ``USSD_FORMAT`` (:mod:`service.ussd.formats`,
``docs/gateway-ussd-formats.md`` §1–§3; AT's by default). A hop always gets HTTP 200 and,
with AT, ``text/plain; charset=utf-8`` and a ``CON ``/``END `` body; the dialogue itself
lives in :mod:`service.ussd.engine`. One transaction per request, rolled back on error.

Limits: a body over ``MAX_BODY_BYTES`` gets 200 ``END`` "input too long" in the
default language without being read (``handlers.common``); control characters
are stripped from every field; the hop's ``text`` limits (length, dial-through
steps, hops per session) are :func:`service.ussd.engine.answer`'s. A copy of a hop that
loses the race to a concurrent copy (a unique index refuses its row) gets the
stored answer of the winner and is logged at INFO; any other failure is logged
at ERROR with its traceback and answered with the apology.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Response, current_app
from sqlalchemy.exc import IntegrityError

from handlers.common import OVERSIZE_ANSWERS, db, field, head_field, require_token, settings, token_ok, ussd_app
from service.reference.phone import InvalidPhone, to_e164
from service.ussd import engine as ussd
from service.ussd import formats

bp = Blueprint("ussd", __name__)
log = logging.getLogger(__name__)


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/plain; charset=utf-8")


def ussd_format() -> formats.UssdFormat:
    """The gateway shape chosen by ``USSD_FORMAT`` (checked at start, ``service.settings.check_startup``)."""
    return formats.get(current_app.config.get("USSD_FORMAT"))


def _answer(fmt: formats.UssdFormat, body: str, session_id: str) -> Response:
    text, content_type = fmt.answer(body, session_id)
    return Response(text, status=200, content_type=content_type)


@bp.route("/ussd", methods=["POST", "GET"])
@require_token
def hop():
    """One USSD hop, in the fields of ``USSD_FORMAT`` (AT's: ``sessionId``, ``serviceCode``,
    ``phoneNumber``, ``networkCode``, ``text``; ``docs/gateway-ussd-formats.md`` §1–§3)."""
    config = settings()
    fmt = ussd_format()
    default_language = config.default_language
    raw = fmt.read(field)
    session_id = raw.session_id
    try:
        phone = to_e164(raw.phone)
    except InvalidPhone:
        phone = ""
    if not session_id or len(session_id) > 100 or not phone:
        return _answer(fmt, ussd.unavailable(default_language), session_id[:100])
    session = db()
    if raw.ends:  # the gateway says the session is over: its notice, nothing to show
        return _gateway_end(fmt, session, raw, phone)
    try:
        text = ussd.hop_text(session, session_id=session_id, text=raw.text,
                             service_code=raw.service_code or config.ussd_service_code,
                             history=fmt.input == "history", has_code=fmt.text_has_code, starts=raw.starts)
    except Exception:
        session.rollback()
        log.exception("USSD hop failed (session %s)", session_id)
        return _answer(fmt, ussd.apology(session, ussd.Hop(session_id=session_id, phone=phone), ussd=ussd_app(),
                                         default_language=default_language), session_id)
    request_hop = ussd.Hop(session_id=session_id, phone=phone, text=text,
                           service_code=raw.service_code, network_code=raw.network_code)
    try:
        body = ussd.answer(session, request_hop, ussd=ussd_app(), settings=config)
        session.commit()
    except Exception as exc:
        session.rollback()
        body = ussd.concurrent_answer(session, request_hop) if isinstance(exc, IntegrityError) else None
        if body is not None:
            log.info("USSD hop of session %s answered by a concurrent copy (%s)", session_id,
                     type(exc.orig).__name__)
        else:
            log.exception("USSD hop failed (session %s)", session_id)
            body = ussd.apology(session, request_hop, ussd=ussd_app(), default_language=default_language)
    return _answer(fmt, body, session_id)


def _gateway_end(fmt: formats.UssdFormat, session, raw: formats.Request, phone: str) -> Response:
    """A hop whose operation field says the session ended (HollaTags ``end``): stored as the
    session's end-of-session notice and answered with an empty closing screen."""
    try:
        ussd.record_end(session, session_id=raw.session_id, phone=phone, service_code=raw.service_code,
                        network_code=raw.network_code, final_input=raw.text)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("USSD end of session %s not stored", raw.session_id)
    return _answer(fmt, formats.END, raw.session_id)


def _oversized_hop() -> Response:
    """A hop whose body is over ``MAX_BODY_BYTES``: ``END`` at once, in the caller's language when
    the token is right and the body's first bytes name the session or phone, else the default."""
    lang = settings().default_language
    fmt = ussd_format()
    session_id = ""
    if token_ok():
        try:
            phone = to_e164(head_field(fmt.fields.phone))
        except InvalidPhone:
            phone = ""
        session_id = head_field(fmt.fields.session_id).strip()[:100]
        if phone or session_id:
            lang = ussd.caller_language(db(), session_id, phone, ussd=ussd_app(), default_language=lang)
    return _answer(fmt, ussd.too_long(lang, settings().ussd_service_code), session_id)


OVERSIZE_ANSWERS["ussd.hop"] = _oversized_hop


#: the INTEGER columns of a USSD session's counts
INT_MAX = 2**31 - 1


def at_count(raw: str | None) -> int | None:
    """A count or duration AT sent as text (``"5"``, ``"1200.0"``): the int, or None when missing,
    not a number, or outside 0..INT_MAX (a junk value must not cost the whole notice)."""
    try:
        value = int(float((raw or "").strip()))
    except (ValueError, OverflowError):
        return None
    return value if 0 <= value <= INT_MAX else None


def at_session_date(raw: str | None) -> dt.datetime | None:
    """AT's end-of-session ``date`` (``YYYY-MM-DD HH:MM:SS``, UTC) as an aware datetime, or None."""
    try:
        return dt.datetime.strptime((raw or "").strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


@bp.post("/ussd/events")
@require_token
def events():
    """AT's end-of-session notice; answers ``OK`` (400 only without ``sessionId``)."""
    session_id = field("sessionId").strip()
    if not session_id or len(session_id) > 100:
        return _plain("sessionId missing", 400)
    session = db()
    for attempt in (1, 2):  # a second time when a concurrent request created the session row first
        try:
            ussd.record_end(
                session, session_id=session_id, phone=field("phoneNumber"), service_code=field("serviceCode"),
                network_code=field("networkCode"), status=field("status"), cost=field("cost"),
                duration_ms=at_count(field("durationInMillis")), hops_count=at_count(field("hopsCount")),
                final_input=field("input"), last_response=field("lastAppResponse", free_text=True),
                error_message=field("errorMessage", free_text=True), ended_at=at_session_date(field("date")))
            session.commit()
            break
        except IntegrityError as exc:
            session.rollback()
            if attempt == 2:
                log.exception("USSD end-of-session notice not stored (session %s)", session_id)
            else:
                log.info("USSD end-of-session notice of session %s: row created concurrently (%s), again",
                         session_id, type(exc.orig).__name__)
        except Exception:
            log.exception("USSD end-of-session notice not stored (session %s)", session_id)
            session.rollback()
            break
    return _plain("OK")
