"""Helpers shared by the webhook blueprints: the request's DB session, the token check, form reading."""
from __future__ import annotations

import functools
import hmac

from flask import Flask, abort, current_app, g, request


def init_app(app: Flask) -> None:
    """Close the request's session at the end of every request."""

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


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
    """Answer 403 (and store nothing) unless :func:`token_ok`."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not token_ok():
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def field(name: str) -> str:
    """A form field of an AT callback (query string for GET), ``""`` when missing; never raises."""
    try:
        value = request.values.get(name)
    except Exception:  # malformed body
        value = None
    return value if isinstance(value, str) else ""
