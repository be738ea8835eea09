"""The staff web application: pages under ``/staff`` for extension officers, cluster coordinators,
VAM agents, PG leaders, market reporters and administrators (``docs/staff.md``).

:func:`init_app` sets up what every staff page needs and registers the page modules of
:data:`PAGES`: server-side sessions (Flask-Session with a cachelib file store in
``STAFF_SESSION_DIR``; the cookie carries only a random 32-byte session id), CSRF protection of every staff
form (Flask-WTF; the gateway webhooks are not forms and are not checked), and security headers.
``handlers.staff.web`` says how to add a page.
"""
from __future__ import annotations

import datetime as dt
import importlib
import json
from pathlib import Path

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()

#: the page modules, each with a blueprint ``bp`` (registered in this order)
PAGES = ("handlers.staff.auth", "handlers.staff.imports", "handlers.staff.pgs", "handlers.staff.registry",
         "handlers.staff.clusters", "handlers.staff.farmers", "handlers.staff.accounts", "handlers.staff.audit",
         "handlers.staff.prices", "handlers.staff.reports", "handlers.staff.campaigns", "handlers.staff.questions",
         "handlers.staff.orders", "handlers.staff.reports_activity", "handlers.staff.broadcasts", "handlers.staff.reports_farming")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def init_app(app: Flask) -> None:
    """Sessions, CSRF, error pages and the staff blueprints on ``app``."""
    from cachelib.file import FileSystemCache
    from flask_session import Session

    from handlers.staff import web

    hours = float(app.config.get("STAFF_SESSION_MAX_HOURS") or 12)
    folder = Path(app.config.get("STAFF_SESSION_DIR") or "instance/staff-sessions")
    folder.mkdir(parents=True, exist_ok=True)
    app.config.update(
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=FileSystemCache(str(folder), threshold=20_000, mode=0o600),
        SESSION_PERMANENT=True,
        SESSION_KEY_PREFIX="staff:",
        # the cookie and the stored session live as long as a session may; the idle limit
        # (STAFF_SESSION_MINUTES) is checked on each request (web.load_account), so that an ended
        # session can say so
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=hours),
        SESSION_COOKIE_NAME="dehqon_staff",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(app.config.get("STAFF_COOKIE_SECURE")),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in the staff blueprints only (web.login_required_before_request)
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=bool(app.config.get("STAFF_COOKIE_SECURE")),
    )
    Session(app)
    csrf.init_app(app)

    from handlers.staff.reports import report_links

    app.jinja_env.globals.update(t=web.t, csrf_field=web.csrf_field, link_to=web.link_to, report_links_list=report_links,
                                 LANGUAGE_NAMES=web.LANGUAGE_NAMES, PAGE_LANGUAGES=web.PAGE_LANGUAGES)
    # JSON as people read it (Cyrillic and quotes as they are); the template's autoescape makes it safe
    app.jinja_env.filters["plainjson"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)

    for name in PAGES:
        app.register_blueprint(importlib.import_module(name).bp)

    def _staff_page() -> bool:
        return request.path == "/staff" or request.path.startswith("/staff/")

    @app.errorhandler(CSRFError)
    def _csrf_refused(exc):
        if not _staff_page():
            return exc.description, 400
        if "lang" not in g:
            web.load_account()
        return web.render("staff/error.html", status=400, message=web.t("staff.csrf_refused")), 400

    @app.errorhandler(404)
    def _not_found(exc):
        if not _staff_page():
            return exc
        if "lang" not in g:
            web.load_account()
        return web.render("staff/error.html", status=404, message=web.t("staff.not_found")), 404

    @app.after_request
    def _headers(response):
        if _staff_page():
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Cache-Control", "no-store")
        return response
