"""Reports of the programme's activity on the staff pages (the roles of the gender report,
``handlers.staff.reports.ROLES``; ``docs/staff.md``, "Reports: stages, messages, active farmers").

``GET /staff/reports/stages``: PGs at each development stage at the end of each month (``?by=quarter``:
quarter) of a season; ``/staff/reports/messages``: SMS per month and kind with their outcomes,
failure reasons and cost, and USSD sessions; ``/staff/reports/active``: farmers who dialled or
texted per month, by gender. Each takes the filters ``district``, ``cluster`` (ids), ``pg`` (a
code) and ``season`` (a year), resolved by :func:`service.reports.selection.resolve` within the
account's scope (outside it: 404), and has a chart (``.svg``, drawn on the server) and downloads
(``.csv``, ``.xlsx``) with the same filters. The figures come from :mod:`service.reports.stages`,
:mod:`service.reports.messages` and :mod:`service.reports.active`.
"""
from __future__ import annotations

from flask import Response, g, request

from handlers.common import db, settings
from handlers.staff import web
from handlers.staff.reports import ROLES
from service.db import utcnow
from service.groups.producer_group import STAGES
from service.reports import active, messages, selection, stages

bp = web.blueprint("staff_reports_activity", __name__, "/staff/reports")
FIELDS = ("district", "cluster", "pg", "season")


def _selection(quarters: bool = False) -> tuple[dict, selection.Selection]:
    """``(form, selection)`` of the request's filters; 404 for a role without reports or a filter
    outside the scope."""
    web.require_role(*ROLES)
    form = {k: request.args.get(k, "")[:selection.MAX_FILTER_CHARS].strip() for k in FIELDS}
    try:
        sel = selection.resolve(db(), g.scope, g.lang, zone=settings().timezone, now=utcnow(), quarters=quarters, **form)
    except selection.OutOfScope:
        web.not_found()
    form = {"district": sel.district, "cluster": sel.cluster, "pg": sel.pg,
            "season": str(sel.season) if form["season"] else ""}
    return form, sel


def _args(form: dict, **extra) -> dict:
    return {k: v for k, v in {**form, **extra}.items() if v}


def _svg(svg: str) -> Response:
    return web.svg(svg)


def _download(name: str, fmt: str, columns, to_csv, to_xlsx) -> Response:
    header = [web.t(f"activity.col.{c}") for c in columns]
    return web.download(to_csv(header) if fmt == "csv" else to_xlsx(header), fmt, name)


def _fmt(fmt: str) -> str:
    if fmt not in ("csv", "xlsx"):
        web.not_found()
    return fmt


# --- stages ---------------------------------------------------------------------------------------

def _stages():
    quarters = request.args.get("by", "")[:16] == "quarter"
    form, sel = _selection(quarters)
    rep = stages.report(db(), sel)
    return form, quarters, rep


def _stages_description(rep: stages.Report) -> str:
    parts = [web.t("activity.stages_line", period=p.label, pgs=p.total,
                   stages=", ".join(f"{web.t('activity.stage.' + s)} {p.counts.get(s, 0)} ({p.pct(s)}%)" for s in STAGES))
             for p in rep.points if p.total]
    return web.t("activity.stages_chart", target=stages.TARGET_PCT) + ": " + ("; ".join(parts) or web.t("activity.none")) + "."


@bp.get("/stages")
def stages_page():
    form, quarters, rep = _stages()
    args = _args(form, by="quarter" if quarters else "")
    return web.render("staff/report_stages.html", rep=rep, sel=rep.selection, form=form, args=args, quarters=quarters,
                      stages=STAGES, target=stages.TARGET_PCT, description=_stages_description(rep))


@bp.get("/stages.svg")
def stages_svg():
    _, _, rep = _stages()
    return _svg(stages.chart_svg(rep, stage_labels={s: web.t("activity.stage." + s) for s in STAGES},
                                 axis_label=web.t("activity.pgs"), description=_stages_description(rep)))


@bp.get("/stages.<fmt>")
def stages_download(fmt: str):
    fmt = _fmt(fmt)
    _, _, rep = _stages()
    return _download("stages", fmt, stages.COLUMNS, lambda h: stages.to_csv(rep, h), lambda h: stages.to_xlsx(rep, h))


# --- messages -------------------------------------------------------------------------------------

def _messages():
    form, sel = _selection()
    return form, messages.report(db(), sel, settings().sms_price_tjs)


def _messages_description(rep: messages.Report) -> str:
    parts = [web.t("activity.messages_line", month=label, sent=c.sent, delivered=c.delivered, failed=c.failed,
                   suppressed=c.suppressed) for label, c in zip(rep.months, rep.by_month) if c.queued]
    return web.t("activity.messages_chart") + ": " + ("; ".join(parts) or web.t("activity.none")) + "."


@bp.get("/messages")
def messages_page():
    form, rep = _messages()
    return web.render("staff/report_messages.html", rep=rep, sel=rep.selection, form=form, args=_args(form),
                      kinds=messages.KINDS, description=_messages_description(rep))


@bp.get("/messages.svg")
def messages_svg():
    _, rep = _messages()
    labels = {o: web.t("activity.out." + o) for o in messages.OUTCOMES}
    return _svg(messages.chart_svg(rep, labels=labels, axis_label=web.t("activity.sms"),
                                   description=_messages_description(rep)))


@bp.get("/messages.<fmt>")
def messages_download(fmt: str):
    fmt = _fmt(fmt)
    _, rep = _messages()
    return _download("messages", fmt, messages.COLUMNS, lambda h: messages.to_csv(rep, h),
                     lambda h: messages.to_xlsx(rep, h))


# --- active farmers -------------------------------------------------------------------------------

def _active():
    form, sel = _selection()
    return form, active.report(db(), sel)


def _active_description(rep: active.Report) -> str:
    parts = [web.t("activity.active_line", month=ln.label, active=ln.active, women=ln.women) for ln in rep.months if ln.active]
    return web.t("activity.active_chart") + ": " + ("; ".join(parts) or web.t("activity.none")) + "."


@bp.get("/active")
def active_page():
    form, rep = _active()
    return web.render("staff/report_active.html", rep=rep, sel=rep.selection, form=form, args=_args(form),
                      description=_active_description(rep))


@bp.get("/active.svg")
def active_svg():
    _, rep = _active()
    return _svg(active.chart_svg(rep, women_label=web.t("activity.women"), men_label=web.t("activity.men"),
                                 axis_label=web.t("activity.farmers"), description=_active_description(rep)))


@bp.get("/active.<fmt>")
def active_download(fmt: str):
    fmt = _fmt(fmt)
    _, rep = _active()
    return _download("active", fmt, active.COLUMNS, lambda h: active.to_csv(rep, h), lambda h: active.to_xlsx(rep, h))
