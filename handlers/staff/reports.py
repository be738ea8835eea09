"""Reports on the staff pages (every role but the market reporter; ``docs/staff.md``, "Reports: gender").

``GET /staff/reports/gender``: members and Executive Committee seats by gender per district,
commodity cluster and producer group, within the account's scope, with a chart
(``/staff/reports/gender.svg``, drawn on the server) and filters ``district`` and ``cluster``
(ids; one with no PG in the scope is a 404). ``/staff/reports/gender.csv`` and ``.xlsx`` download
the same rows with the same filters. The figures come from :mod:`service.reports.gender`.
"""
from __future__ import annotations

from flask import g, request

from handlers.common import db
from handlers.staff import web
from service.reports import gender

bp = web.blueprint("staff_reports", __name__, "/staff/reports")
#: the roles that see reports (an administrator always does)
ROLES = ("extension_officer", "cluster_coordinator", "vam_agent", "pg_leader")
web.nav_item("staff_reports.index", "report.nav", roles=ROLES, order=70)

#: the report pages the index lists, in order: ``(endpoint, title key, one-line description key)``;
#: an endpoint not registered (a page module left out) is left out of the index
REPORTS: list[tuple[str, str, str]] = [
    ("staff_reports.gender_page", "report.gender_title", "report.gender_intro"),
    ("staff_reports_farming.land_page", "farmrep.land_title", "farmrep.land_intro"),
    ("staff_reports_farming.purchasing_page", "farmrep.purchasing_title", "farmrep.purchasing_intro"),
    ("staff_reports_farming.yields_page", "farmrep.yields_title", "farmrep.yields_intro"),
    ("staff_reports_activity.stages_page", "activity.stages_title", "activity.stages_intro"),
    ("staff_reports_activity.messages_page", "activity.messages_title", "activity.messages_intro"),
    ("staff_reports_activity.active_page", "activity.active_title", "activity.active_intro"),
]


def report_links() -> list[tuple[str, str]]:
    """``[(endpoint, title key)]`` of the reports served, in :data:`REPORTS` order (the links at
    the top of every report page, ``staff/_report_links.html``)."""
    from flask import current_app

    known = current_app.view_functions
    return [(endpoint, title) for endpoint, title, _ in REPORTS if endpoint in known]


@bp.get("")
def index():
    web.require_role(*ROLES)
    shown = dict(report_links())
    from service.reports.stages import TARGET_PCT

    return web.render("staff/reports.html", reports=[r for r in REPORTS if r[0] in shown], target=TARGET_PCT)


def _report() -> tuple[dict, gender.Report]:
    """``(form, report)`` for the request's filters; 404 when a filter is outside the scope."""
    web.require_role(*ROLES)
    form = {k: request.args.get(k, "")[:64].strip().lower() for k in ("district", "cluster")}
    try:
        rep = gender.report(db(), g.scope, g.lang, district=form["district"], cluster=form["cluster"],
                            no_cluster=web.t("report.no_cluster"))
    except gender.OutOfScope:
        web.not_found()
    return form, rep


def _description(rep: gender.Report) -> str:
    """The chart's text alternative: the shares it draws, in words."""
    parts = [web.t("report.chart_line", name=web.t("report.total") if r.level == "total" else r.name,
                   women=r.women_pct, ec=r.ec_women_pct) for r in gender.chart_rows(rep)]
    return web.t("report.chart_title") + ": " + "; ".join(parts) + "."


@bp.get("/gender")
def gender_page():
    form, rep = _report()
    args = {k: v for k, v in form.items() if v}
    return web.render("staff/report_gender.html", rep=rep, form=form, args=args, description=_description(rep))


@bp.get("/gender.svg")
def gender_svg():
    _, rep = _report()
    svg = gender.chart_svg(gender.chart_rows(rep), members_label=web.t("report.women_pct"),
                           ec_label=web.t("report.ec_women_pct"), axis_label=web.t("report.axis"),
                           total_label=web.t("report.total"), description=_description(rep))
    return web.svg(svg)


@bp.get("/gender.<fmt>")
def gender_download(fmt: str):
    if fmt not in ("csv", "xlsx"):
        web.not_found()
    _, rep = _report()
    header = [web.t(f"report.col.{c}") for c in gender.COLUMNS]
    if fmt == "csv":
        body = ("\ufeff" + gender.to_csv(rep, header)).encode("utf-8")
    else:
        body = gender.to_xlsx(rep, header)
    return web.download(body, fmt, "gender")
