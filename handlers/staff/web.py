"""What every staff page shares: the logged-in account and its scope, words in the staff member's
language, the navigation, CSRF, and how a page refuses.

How to add a page (``docs/staff.md`` §4):

1. A module under ``handlers/staff/`` makes its blueprint with :func:`blueprint` (``/staff/...``;
   every route then needs a logged-in account and every POST a CSRF token) and adds itself to
   ``handlers.staff.PAGES``.
2. A view checks the role with :func:`require_role` and the record with the account's scope
   (``g.scope``: :class:`~service.staff.scope.Scope`): anything outside it is :func:`not_found`
   (404), never a "forbidden" that tells it exists. Views call service functions; no domain rule
   is written in a view.
3. Templates extend ``staff/base.html``; forms carry ``{{ csrf_field() }}``; words come from
   ``t("key")`` (``service/templates/staff/strings/<feature>.toml``, one table per language:
   ``[en]``, ``[tg]``, ``[ru]``, ``[uz]``; a word missing in a language falls back to English).
4. Changes go through the service in one transaction with an audit entry
   (``service.audit.log.record(db(), actor(), ...)``) and end with :func:`done` (commit, a notice,
   redirect: post/redirect/get). A ``Refusal`` from the service is shown with :func:`refusal_text`
   (its key looked up among the staff words, else among the farmer texts of ``templates_sms``).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, session, url_for

from handlers.common import db
from service.audit.log import Actor
from service.db import utcnow
from service.staff import accounts, scope as scope_mod

STRINGS_DIR = Path(__file__).resolve().parent.parent.parent / "service" / "templates" / "staff" / "strings"
#: languages of the staff pages, in the order the language picker lists them
PAGE_LANGUAGES = ("tg", "ru", "en", "uz")
LANGUAGE_NAMES = {"tg": "Тоҷикӣ", "ru": "Русский", "en": "English", "uz": "O'zbekcha"}
LANG_COOKIE = "staff_lang"
#: set at login and removed at logout: a request without a session that carries it had a session that ended
SIGNED_IN_COOKIE = "dehqon_staff_in"


@dataclass(frozen=True)
class NavItem:
    """A link of the staff navigation: ``endpoint``, the word ``label`` (a strings key) and the
    roles that see it (empty: every role)."""

    endpoint: str
    label: str
    roles: tuple[str, ...] = ()
    order: int = 50


NAV: list[NavItem] = []


def nav_item(endpoint: str, label: str, roles: tuple[str, ...] = (), order: int = 50) -> None:
    """Add a link to the navigation (once per endpoint)."""
    if not any(n.endpoint == endpoint for n in NAV):
        NAV.append(NavItem(endpoint, label, roles, order))
        NAV.sort(key=lambda n: (n.order, n.endpoint))


@cache
def strings() -> dict[str, dict[str, str]]:
    """The staff pages' words per language, from every ``strings/*.toml`` (English fills gaps).
    ``ValueError`` when two files define one key."""
    merged: dict[str, dict[str, str]] = {lang: {} for lang in PAGE_LANGUAGES}
    owner: dict[str, str] = {}
    for path in sorted(STRINGS_DIR.glob("*.toml")):
        with path.open("rb") as f:
            table = tomllib.load(f)
        for lang, words in table.items():
            for key, text in words.items():
                if lang == "en":
                    if key in owner and owner[key] != path.name:
                        raise ValueError(f"staff word {key!r} is in {owner[key]} and {path.name}")
                    owner[key] = path.name
                merged.setdefault(lang, {})[key] = text
    return {lang: {**merged["en"], **merged.get(lang, {})} for lang in PAGE_LANGUAGES}


def language() -> str:
    """The page language: the account's, else the ``staff_lang`` cookie, else the browser's, else Tajik."""
    account = g.get("account")
    if account is not None and account.language in PAGE_LANGUAGES:
        return account.language
    picked = request.cookies.get(LANG_COOKIE, "")
    if picked in PAGE_LANGUAGES:
        return picked
    best = request.accept_languages.best_match(PAGE_LANGUAGES)
    return best or "tg"


def t(key: str, **params) -> str:
    """The word ``key`` in the page language with ``params`` filled in (the key itself when unknown)."""
    text = strings()[g.get("lang") or language()].get(key, key)
    return text.format(**params) if params else text


def refusal_text(refusal) -> str:
    """What to show for a ``Refusal``: its key among the staff words, else the farmer text of
    ``templates_sms`` in the page language, with its parameters."""
    words = strings()[g.get("lang") or "en"]
    if refusal.key in words:
        try:
            return words[refusal.key].format(**refusal.params)
        except (KeyError, IndexError):
            return words[refusal.key]
    import templates_sms

    lang = g.get("lang") or "en"
    try:
        return templates_sms.text(refusal.key, lang, **refusal.params)
    except Exception:  # a key with no text anywhere: say so plainly rather than fail the page
        return refusal.key


def current_account() -> accounts.StaffAccount | None:
    """The logged-in account of this request, or None."""
    return g.get("account")


def actor() -> Actor:
    """The audit log's actor for the logged-in account on the web."""
    return Actor.of(g.account, "web")


def not_found():
    """Answer 404: the record does not exist, or is outside the account's scope."""
    abort(404)


def require_role(*roles: str) -> None:
    """404 unless the logged-in account has one of ``roles`` (an administrator always passes)."""
    account = current_account()
    if account is None or (account.role != "admin" and account.role not in roles):
        abort(404)


def roles_only(*roles: str):
    """Decorator form of :func:`require_role`."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            require_role(*roles)
            return view(*args, **kwargs)
        return inner
    return wrap


def done(message_key: str, endpoint: str, **values):
    """Commit the request's session, show ``message_key`` once on the next page, redirect there."""
    db().commit()
    flash(t(message_key), "notice")
    return redirect(url_for(endpoint, **values))


def link_to(endpoint: str, **values) -> str | None:
    """The URL of ``endpoint`` with ``values``, or None when no page of that name is registered
    (a page not built yet: a template then shows the words without a link)."""
    from werkzeug.routing import BuildError

    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def render(template: str, **context):
    """Render a staff template with the navigation the account may see."""
    account = current_account()
    nav = [n for n in NAV if account is not None and (not n.roles or account.role == "admin" or account.role in n.roles)]
    return render_template(template, nav=nav, **context)


def idle_limit() -> dt.timedelta:
    """How long a staff session may stay unused (``STAFF_SESSION_MINUTES``)."""
    from flask import current_app

    return dt.timedelta(minutes=float(current_app.config.get("STAFF_SESSION_MINUTES") or 60))


def max_age() -> dt.timedelta:
    """The longest a staff session lasts from its login (``STAFF_SESSION_MAX_HOURS``)."""
    from flask import current_app

    return dt.timedelta(hours=float(current_app.config.get("STAFF_SESSION_MAX_HOURS") or 12))


def load_account() -> None:
    """Put the session's account (``g.account``), its scope (``g.scope``) and the page language
    (``g.lang``) on ``g``; a session idle past :func:`idle_limit`, older than :func:`max_age`, or
    whose account is switched off or locked, is ended."""
    g.account = None
    account_id = session.get("account_id")
    if account_id is not None:
        now = utcnow()
        seen = session.get("seen")
        login_at = session.get("login_at")
        fresh = (isinstance(seen, (int, float)) and isinstance(login_at, (int, float))
                 and now.timestamp() - seen <= idle_limit().total_seconds()
                 and now.timestamp() - login_at <= max_age().total_seconds())
        account = db().get(accounts.StaffAccount, account_id) if fresh else None
        if account is None or not account.active or session.get("pw") != account.password_hash[-16:]:
            session.clear()
            if account_id is not None and not fresh:
                g.expired = True
        else:
            g.account = account
            g.scope = scope_mod.of(db(), account)
            session["seen"] = now.timestamp()
    g.lang = language()


def login_required_before_request():
    """``before_request`` of every staff blueprint: a logged-in account, and a CSRF token on every POST."""
    from handlers.staff import csrf

    load_account()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    if g.account is None:
        if request.method in ("GET", "HEAD"):
            # a session that ended (idle, too old, or its stored file gone) says so; a visitor who
            # only opened the login page or chose its language was never in
            had_session = SIGNED_IN_COOKIE in request.cookies
            return redirect(url_for("staff_auth.login", next=request.full_path if request.query_string else request.path,
                                    **({"expired": 1} if had_session or g.get("expired") else {})))
        abort(401)
    return None


def blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A staff blueprint under ``url_prefix`` (starting ``/staff``) whose every route needs a login."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(login_required_before_request)
    return bp


def csrf_field():
    """The hidden CSRF input of a form (``{{ csrf_field() }}`` in templates)."""
    from markupsafe import Markup, escape
    from flask_wtf.csrf import generate_csrf

    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">')


#: the content types of the downloads :func:`download` serves
DOWNLOAD_TYPES = {"csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def download(body: bytes, fmt: str, filename: str) -> Response:
    """A download of ``body`` (``fmt`` ``"csv"`` or ``"xlsx"``) saved as ``<filename>.<fmt>``
    (``filename``: ASCII letters, digits, ``-`` and ``_``; anything else becomes ``_``)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", filename)[:80] or "download"
    return Response(body, content_type=DOWNLOAD_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{safe}.{fmt}"'})


def svg(text: str) -> Response:
    """A chart drawn on the server (SVG text) as a response that may use the inline styles
    matplotlib writes and nothing else (``service.reports.output.SVG_CSP``)."""
    from service.reports.output import SVG_CSP

    response = Response(text, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    return response
