"""Helpers shared by the webhook blueprints: the request's DB session, the token check, form reading,
and the limits every request meets at the door.

Limits (``README.md`` "Limits at the door"):

* Body size: at most ``MAX_BODY_BYTES`` (``config.py``, 64 KiB by default) for every route but
  the uploads that register their own cap in :data:`BODY_LIMITS`, and
  at most :data:`MAX_FORM_FIELDS` fields (form and query string). A larger body is not parsed
  (it is read and dropped, up to :data:`MAX_DRAIN_BYTES`, so the client sees the answer; nor is
  a form with more fields used): ``413`` with a plain text body, except on endpoints that register their own answer in :data:`OVERSIZE_ANSWERS`
  (``/ussd`` answers 200 ``END``: a 4xx makes AT end the session with a network error).
* Control characters: :func:`field` strips C0 controls, DEL and C1 controls from every value
  (PostgreSQL cannot store NUL; nothing AT sends contains them), keeping tab and newline only in
  free-text fields; and cuts a value to the ``limit`` its field is given.
* Storage errors: :func:`storage_failure` tells input the database refuses (``DataError``:
  400, AT must not retry it for ever) from a database that is away (503, AT retries).
"""
from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable

from flask import Flask, abort, current_app, g, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream

#: most fields in one form (AT posts at most 13)
MAX_FORM_FIELDS = 100
#: most bytes of a body over the cap read (and dropped) before answering; beyond, the connection is cut
MAX_DRAIN_BYTES = 16 * 2**20
#: bytes of the start of a body over the cap kept while it is dropped (``g.body_head``): AT posts
#: ``sessionId`` and ``phoneNumber`` before ``text``, so the answer can still know its caller
HEAD_BYTES = 4096
#: endpoint name -> view answering a body over the cap (default: 413)
OVERSIZE_ANSWERS: dict[str, Callable] = {}
#: endpoint name -> function giving that route's own body cap in bytes, instead of ``MAX_BODY_BYTES``
#: (an upload: the staff programme import, ``handlers.staff.imports``)
BODY_LIMITS: dict[str, Callable[[], int]] = {}

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_TAB_NEWLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}


def init_app(app: Flask) -> None:
    """Apply the body limits of the module docstring and close the request's session at the end."""
    app.config["MAX_CONTENT_LENGTH"] = int(app.config.get("MAX_BODY_BYTES") or 65536)
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_FORM_PARTS"] = MAX_FORM_FIELDS

    @app.before_request
    def _refuse_oversized_bodies():
        own = BODY_LIMITS.get(request.endpoint or "")
        cap = app.config["MAX_CONTENT_LENGTH"]
        if own is not None:  # an upload route with its own documented limit
            cap = request.max_content_length = own()
        unread = (request.content_length or 0) > cap
        too_large = unread
        if not too_large:
            try:  # parse now, within the limits (a chunked body has no length); werkzeug counts
                # the parts of a multipart form only, so the fields of any form are counted here
                too_large = sum(1 for _ in request.values.items(multi=True)) > MAX_FORM_FIELDS
                if not too_large and _chunked_body_over_cap():
                    too_large = unread = True
            except RequestEntityTooLarge:
                too_large = unread = True
            except Exception:  # a malformed body: field() answers "" for every field
                pass
        if too_large:
            if unread:
                _drain()
            answer = OVERSIZE_ANSWERS.get(request.endpoint or "")
            return answer() if answer else ("request body too large", 413, _PLAIN)
        return None

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def _drain() -> None:
    """Read and drop the rest of a body over the cap, at most :data:`MAX_DRAIN_BYTES`, so that the
    client reads the answer instead of a connection reset (gunicorn closes an unread connection)."""
    environ = request.environ
    stream, length = environ["wsgi.input"], request.content_length
    if length is not None and length > current_app.config["MAX_CONTENT_LENGTH"]:
        left = min(length, MAX_DRAIN_BYTES)  # refused on its length: nothing of it was read
    elif environ.get("wsgi.input_terminated"):
        left = MAX_DRAIN_BYTES  # the server ends the stream (chunked, or gunicorn): reading past it is safe
    else:
        return  # partly read, the rest unknown: reading on could wait for ever
    head = b""
    try:
        while left > 0:
            chunk = stream.read(min(1 << 16, left))
            if not chunk:
                break
            if len(head) < HEAD_BYTES:
                head += chunk[:HEAD_BYTES - len(head)]
            left -= len(chunk)
    except Exception:  # the client went away: nothing to answer
        pass
    g.body_head = head


def head_field(name: str) -> str:
    """A field of a body over the cap, read from its first :data:`HEAD_BYTES` (kept by the drain)
    or the query string; ``""`` when absent or cut off. Cleaned as :func:`field` does."""
    from urllib.parse import parse_qsl

    value = request.args.get(name)
    if value is None:
        text = g.get("body_head", b"").decode("utf-8", "replace")
        pairs = parse_qsl(text.rsplit("&", 1)[0] if "&" in text else "", keep_blank_values=True)
        value = next((v for k, v in pairs if k == name), "")
    return clean(value)


def _chunked_body_over_cap() -> bool:
    """True when a body sent without a length (chunked) filled the cap and has more to come:
    werkzeug's parser stops reading at the cap instead of refusing the body."""
    stream = request.stream
    if request.content_length is None and isinstance(stream, LimitedStream) and stream.is_exhausted:
        return bool(request.environ["wsgi.input"].read(1))
    return False


def settings():
    """The app's :class:`service.settings.Settings`."""
    return current_app.extensions["dehqon.settings"]


def ussd_app():
    """The app's USSD application (:class:`service.ussd.engine.Ussd`)."""
    return current_app.extensions["dehqon.ussd"]


def sms_app():
    """The app's SMS keyword table (:class:`service.sms.engine.Keywords`)."""
    return current_app.extensions["dehqon.sms"]


def db():
    """The SQLAlchemy session of the current request (opened on first use)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["dehqon.sessionmaker"]()
    return g.db_session


def token_ok() -> bool:
    """True when no ``WEBHOOK_TOKEN`` is configured or ``?key=`` matches one (constant time)."""
    tokens = current_app.config.get("WEBHOOK_TOKENS") or []
    if not tokens:
        return True
    given = request.args.get("key", "").encode()
    ok = False
    for token in tokens:  # compare against every token, no early exit
        ok |= hmac.compare_digest(given, token.encode())
    return ok


def require_token(view):
    """Answer 403 (and store nothing) unless :func:`token_ok`. Marks the view a gateway callback
    (``gateway_callback``): ``handlers.metrics`` times every such view."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not token_ok():
            abort(403)
        return view(*args, **kwargs)

    wrapper.gateway_callback = True
    return wrapper


def clean(value: str, *, free_text: bool = False) -> str:
    """``value`` without C0 controls (U+0000-U+001F), DEL and C1 controls (U+007F-U+009F);
    ``free_text`` keeps tab and newline."""
    return (_CONTROLS_BUT_TAB_NEWLINE if free_text else _CONTROLS).sub("", value)


def field(name: str, *, free_text: bool = False, limit: int | None = None) -> str:
    """A form field of an AT callback (query string for GET), ``""`` when missing; never raises.

    Control characters are stripped (:func:`clean`; ``free_text`` keeps tab and newline),
    then the value is cut to ``limit`` characters when one is given.
    """
    try:
        value = request.values.get(name)
    except Exception:  # malformed body
        value = None
    value = clean(value, free_text=free_text) if isinstance(value, str) else ""
    return value[:limit] if limit is not None else value


def storage_failure(exc: Exception, what: str) -> tuple[int, str]:
    """Log ``exc`` (raised while storing ``what``) and give the callback's answer.

    ``(400, "bad request")`` when the database refused the values themselves (``DataError``,
    e.g. a number out of range: a retry would fail the same way; a WARNING naming the error,
    without the values), else ``(503, "unavailable")`` (the database is away: AT sends the
    callback again; an ERROR with the traceback).
    """
    if isinstance(exc, DataError):
        reason = (str(exc.orig).splitlines() or [""])[0][:200]
        current_app.logger.warning("%s refused by the database (%s: %s): answered 400", what,
                                   type(exc.orig).__name__, reason)
        return 400, "bad request"
    current_app.logger.error("%s could not be stored: answered 503", what, exc_info=exc)
    return 503, "unavailable"
