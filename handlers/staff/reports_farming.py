"""The farming reports on the staff pages (the roles of the gender report; ``docs/staff.md`` §17).

``GET /staff/reports/land``: small, medium and large farmers among the members and on the EC;
``GET /staff/reports/purchasing``: members who bought collectively, spend and savings;
``GET /staff/reports/yields``: PG members against non-members per crop and season. Each within the
account's scope, filtered by ``district``, ``cluster`` (ids), ``pg`` (a code) and ``season`` (a
year); a filter outside the scope, or a season that is no year, is a 404. Each has its chart
(``.svg``, drawn on the server) and its downloads (``.csv``, ``.xlsx``) with the same filters.
The figures come from :mod:`service.reports.land`, :mod:`~service.reports.purchasing` and
:mod:`~service.reports.yields`.
"""
from __future__ import annotations

from flask import g, request

from handlers.common import db
from handlers.staff import web
from handlers.staff.reports import ROLES
from service.db import utcnow
from service.reference.render import tjs as money
from service.reports import land, purchasing, yields
from service.reports.selection import OutOfScope, parse_season

bp = web.blueprint("staff_reports_farming", __name__, "/staff/reports")
MODULES = {"land": land, "purchasing": purchasing, "yields": yields}


def _report(kind: str):
    """``(form, args, report)`` for the request's filters; 404 when a filter is outside the scope."""
    web.require_role(*ROLES)
    form = {k: request.args.get(k, "")[:64].strip() for k in ("district", "cluster", "pg", "season")}
    form["district"], form["cluster"], form["pg"] = form["district"].lower(), form["cluster"].lower(), form["pg"].upper()
    try:
        rep = MODULES[kind].report(db(), g.scope, g.lang, district=form["district"], cluster=form["cluster"],
                                   pg=form["pg"], season=parse_season(form["season"], now=utcnow()),
                                   no_cluster=web.t("report.no_cluster"))
    except OutOfScope:
        web.not_found()
    return form, {k: v for k, v in form.items() if v}, rep


def _name(row) -> str:
    return web.t("report.total") if row.level == "total" else row.name


def _land_description(rows) -> str:
    parts = [web.t("farmrep.land_chart_line", name=_name(r), small=r.member_pct("small"),
                   medium=r.member_pct("medium"), large=r.member_pct("large"), ec=r.seat_pct("small")) for r in rows]
    return web.t("farmrep.land_chart_title") + ": " + "; ".join(parts) + "."


def _purchasing_description(rows) -> str:
    parts = [web.t("farmrep.buy_chart_line", name=_name(r), buyers=r.buyers_pct, saving=r.saving_pct) for r in rows]
    return web.t("farmrep.buy_chart_title") + ": " + "; ".join(parts) + "."


def _yields_description(rows) -> str:
    parts = [web.t("farmrep.yield_chart_line", crop=r.crop, season=r.season, members=yields.Row.t_ha(r.member_kg_ha),
                   others=yields.Row.t_ha(r.other_kg_ha), diff=f"{r.difference_pct:+d}") for r in rows]
    return web.t("farmrep.yield_chart_title") + ": " + ("; ".join(parts) or web.t("farmrep.yield_none")) + "."


def _description(kind: str, rep) -> str:
    if kind == "land":
        return _land_description(land.chart_rows(rep))
    if kind == "purchasing":
        return _purchasing_description(purchasing.chart_rows(rep))
    return _yields_description(rep.compared)


def _svg(kind: str, rep) -> str:
    description = _description(kind, rep)
    if kind == "land":
        rows = land.chart_rows(rep)
        return land.chart_svg(rows, [_name(r) for r in rows], axis_label=web.t("farmrep.land_axis"),
                              description=description,
                              labels={k: web.t(f"farmrep.land_series.{k}") for k in ("small", "medium", "large",
                                                                                    "ec_small")})
    if kind == "purchasing":
        rows = purchasing.chart_rows(rep)
        return purchasing.chart_svg(rows, [_name(r) for r in rows], buyers_label=web.t("farmrep.buyers_pct"),
                                    saving_label=web.t("farmrep.saving_pct"), axis_label=web.t("farmrep.buy_axis"),
                                    description=description)
    return yields.chart_svg(rep.compared, members_label=web.t("farmrep.members_t_ha"),
                            others_label=web.t("farmrep.others_t_ha"), axis_label=web.t("farmrep.yield_axis"),
                            description=description)


def _page(kind: str):
    form, args, rep = _report(kind)
    return web.render(f"staff/report_{kind}.html", rep=rep, form=form, args=args, kind=kind,
                      description=_description(kind, rep), sel=rep.selection, tjs=lambda d: money(d, g.lang))


def _chart(kind: str):
    _, _, rep = _report(kind)
    return web.svg(_svg(kind, rep))


def _download(kind: str, fmt: str):
    if fmt not in ("csv", "xlsx"):
        web.not_found()
    _, _, rep = _report(kind)
    module = MODULES[kind]
    header = [web.t(f"farmrep.col.{c}") for c in module.COLUMNS]
    body = module.to_csv(rep, header) if fmt == "csv" else module.to_xlsx(rep, header)
    return web.download(body, fmt, kind)


@bp.get("/land")
def land_page():
    return _page("land")


@bp.get("/land.svg")
def land_svg():
    return _chart("land")


@bp.get("/land.<fmt>")
def land_download(fmt: str):
    return _download("land", fmt)


@bp.get("/purchasing")
def purchasing_page():
    return _page("purchasing")


@bp.get("/purchasing.svg")
def purchasing_svg():
    return _chart("purchasing")


@bp.get("/purchasing.<fmt>")
def purchasing_download(fmt: str):
    return _download("purchasing", fmt)


@bp.get("/yields")
def yields_page():
    return _page("yields")


@bp.get("/yields.svg")
def yields_svg():
    return _chart("yields")


@bp.get("/yields.<fmt>")
def yields_download(fmt: str):
    return _download("yields", fmt)
