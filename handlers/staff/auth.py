"""Logging in and out of the staff pages, the home page and the staff member's language.

``GET/POST /staff/login``, ``POST /staff/logout``, ``GET /staff/`` (home: the programme's shape in
the account's area, ``service.groups.shape``), ``POST /staff/language``
(the account's language, remembered on the account; before login, in a cookie). A login refused
says the same for an unknown user and a wrong password; the lock after repeated failures
(``service.staff.accounts``) is told with the time it ends.
"""
from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, make_response, redirect, request, session, url_for

from handlers.common import db, field
from handlers.staff import csrf, web
from service.audit.log import Actor, record
from service.db import utcnow
from service.staff import accounts

bp = Blueprint("staff_auth", __name__, url_prefix="/staff")


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path of the staff pages, else the home page (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/staff") and not target.startswith("//"):
            return target
    return url_for("staff_auth.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    web.load_account()
    if g.account is not None and request.method == "GET":
        return redirect(url_for("staff_auth.home"))
    error, username = None, ""
    status = 200
    if request.method == "POST":
        csrf.protect()
        username = field("username", limit=accounts.MAX_USERNAME_CHARS + 10)
        password = request.form.get("password", "")[:accounts.MAX_PASSWORD_CHARS + 1]
        try:
            account = accounts.authenticate(db(), username, password, utcnow())
        except accounts.LoginRefused as refused:
            db().commit()  # the failure count and the lock
            status = 401 if refused.reason == "bad" else 423
            if refused.reason == "locked":
                zone = ZoneInfo(current_app.config.get("TIMEZONE") or "Asia/Dushanbe")
                error = web.t("staff.login_locked", until=refused.until.astimezone(zone).strftime("%H:%M"))
            else:
                error = web.t("staff.login_bad")
        else:
            record(db(), Actor.of(account, "web"), "staff.login", "staff_account", account.id)
            db().commit()
            current_app.session_interface.regenerate(session)  # a new session id: no fixation
            session.clear()
            now = utcnow().timestamp()
            session.update(account_id=account.id, login_at=now, seen=now, pw=account.password_hash[-16:])
            response = make_response(redirect(_safe_next(request.args.get("next"))))
            # the login page speaks the staff member's language after a logout or an expired session
            response.set_cookie(web.LANG_COOKIE, account.language, max_age=365 * 86400, samesite="Lax", httponly=True)
            response.set_cookie(web.SIGNED_IN_COOKIE, "1", samesite="Lax", httponly=True,
                                secure=bool(current_app.config.get("STAFF_COOKIE_SECURE")))
            return response
    expired = bool(g.get("expired") or request.args.get("expired")) and error is None
    return web.render("staff/login.html", error=error, username=username, expired=expired), status


@bp.route("/logout", methods=["POST"])
def logout():
    web.load_account()
    csrf.protect()
    if g.account is not None:
        record(db(), web.actor(), "staff.logout", "staff_account", g.account.id)
        db().commit()
    session.clear()
    response = redirect(url_for("staff_auth.login"))
    response.delete_cookie(web.SIGNED_IN_COOKIE)
    return response


@bp.route("/")
def home():
    refused = web.login_required_before_request()
    if refused is not None:
        return refused
    from service.groups.cluster import CommodityCluster
    from service.groups.shape import Shape, shape
    from service.staff.scope import area_names

    numbers = None if g.account.role == "market_reporter" else shape(db(), g.scope)
    clusters = {c.id: c.name(g.lang if g.lang != "uz" else "uz") for c in db().query(CommodityCluster)}
    return web.render("staff/home.html", shape=numbers, share=Shape.share, clusters=clusters,
                      areas=area_names(db(), g.account.scope_rows, g.lang))


@bp.route("/language", methods=["POST"])
def language():
    web.load_account()
    csrf.protect()
    lang = field("lang", limit=4)
    if lang not in web.PAGE_LANGUAGES:
        web.not_found()
    target = _safe_next(request.form.get("next", "")[:500])
    if g.account is not None:
        if g.account.language != lang:
            before = {"language": g.account.language}
            accounts.update(db(), g.account, language=lang)
            record(db(), web.actor(), "staff.language", "staff_account", g.account.id,
                   before=before, after={"language": lang})
            db().commit()
        return redirect(target)
    response = make_response(redirect(url_for("staff_auth.login")))
    response.set_cookie(web.LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
