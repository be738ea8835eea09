"""The audit log on the staff pages (administrators only; anyone else gets 404).

``GET /staff/audit``: the entries newest first, :data:`PER_PAGE` a page (``?page=``), filtered by
``action`` (``account`` or ``account.`` is a prefix: every ``account.*``; a dotted action such as
``account.create`` is that action), ``account`` (a staff account's id), ``object_type`` and
``object_id``, and ``since``/``until`` (dates, both included, in ``TIMEZONE``: Dushanbe). Each row
shows who, the channel, the action and object, when (UTC and local time), and what changed.

``GET /staff/audit.csv`` and ``/staff/audit.xlsx`` download the filtered entries, the newest
``AUDIT_EXPORT_MAX_ROWS`` of them at most (``service.audit.log.EXPORT_MAX_ROWS``, 10,000, unless
the setting says otherwise); the page says when the filter holds more. In the XLSX file a text
cell that would read as a formula is made inert.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, request
from sqlalchemy import select

from handlers.common import db, settings
from handlers.staff import web
from service.audit import log
from service.staff.accounts import StaffAccount

bp = web.blueprint("staff_audit", __name__, "/staff")
web.nav_item("staff_audit.page", "audit.title", roles=("admin",), order=86)

PER_PAGE = 50
MAX_PAGE = 10_000


def export_cap() -> int:
    """The most entries one download holds (``AUDIT_EXPORT_MAX_ROWS``, default :data:`log.EXPORT_MAX_ROWS`)."""
    return int(current_app.config.get("AUDIT_EXPORT_MAX_ROWS") or log.EXPORT_MAX_ROWS)


def _date(name: str) -> dt.date | None:
    text = request.args.get(name, "")[:10]
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filters() -> tuple[dict, dict]:
    """``(form, query)``: the filters as typed (to show again) and as :func:`log.entries` takes them."""
    zone = settings().timezone
    form = {k: request.args.get(k, "")[:64].strip() for k in ("action", "account", "object_type", "object_id")}
    since, until = _date("since"), _date("until")
    form.update(since=since.isoformat() if since else "", until=until.isoformat() if until else "")
    action = form["action"]
    if action and "." not in action:
        action += "."  # a word alone is a prefix: "account" is every account.* action
    query = {"action": action or None,
             "account_id": int(form["account"]) if form["account"].isdigit() else None,
             "object_type": form["object_type"] or None,
             "object_id": form["object_id"] or None,
             "since": dt.datetime.combine(since, dt.time(), zone).astimezone(dt.timezone.utc) if since else None,
             "until": dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.timezone.utc)
             if until else None}
    return form, query


@bp.get("/audit")
def page():
    web.require_role()
    form, query = _filters()
    number = request.args.get("page", "1")[:6]
    number = min(max(int(number), 1), MAX_PAGE) if number.isdigit() else 1
    rows = log.entries(db(), **query, limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE)
    more = len(rows) > PER_PAGE
    over_cap = bool(log.entries(db(), **query, limit=1, offset=export_cap()))
    people = list(db().execute(select(StaffAccount.id, StaffAccount.username).order_by(StaffAccount.username)))
    args = {k: v for k, v in form.items() if v}
    return web.render("staff/audit.html", rows=rows[:PER_PAGE], form=form, people=people, page=number, more=more,
                      args=args, zone=settings().timezone, diff=log.diff, cap=export_cap(), over_cap=over_cap)


@bp.get("/audit.<fmt>")
def download(fmt: str):
    web.require_role()
    if fmt not in ("csv", "xlsx"):
        web.not_found()
    _, query = _filters()
    rows = log.entries(db(), **query, limit=export_cap())
    if fmt == "csv":
        body = ("\ufeff" + log.to_csv(rows)).encode("utf-8")
    else:
        body = log.to_xlsx(rows, settings().timezone)
    return web.download(body, fmt, "audit")

