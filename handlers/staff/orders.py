"""Collective input orders on the staff pages (``docs/staff.md`` "Orders on the web").

``GET /staff/orders`` lists the order rounds of the PGs in the account's scope (filters: cluster,
PG, round status) with their closing day (Dushanbe local date), status, totals and lines per status.
``GET /staff/orders/round/<id>`` is one round: totals per item (packs, kg, TJS), its lines, and
(for the roles of ``service.orders.staff.CHANGE_ROLES``, once the round is closed) the status form.
``POST /staff/orders/status`` moves the round's live lines forward (ordered from the supplier,
bought, delivered to the PG for pickup, collected, or cancelled): one SMS per farmer in their
language, one audit entry, nothing twice. ``GET /staff/orders/purchase`` is the purchase order per
supplier (VAM agent) of chosen closed rounds of a cluster or PG, and ``/staff/orders/purchase.csv``
/ ``.xlsx`` its download. ``GET /staff/orders/savings`` shows the savings per farmer, PG or cluster.

Outside the scope (a round, PG or cluster of no PG of the account) is 404. Logic lives in
:mod:`service.orders.staff`.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for

from handlers.common import db, settings
from handlers.staff import web
from service.db import utcnow
from service.groups.cluster import CommodityCluster
from service.orders import staff as ostaff
from service.orders.rounds import Policy
from service.reference.render import tjs as money
from service.reports import output

bp = web.blueprint("staff_orders", __name__, "/staff/orders")
web.nav_item("staff_orders.index", "ord.nav", roles=ostaff.VIEW_ROLES, order=40)

#: the longest filter value read from a query string
MAX_ARG = 64


def _arg(name: str) -> str:
    return request.args.get(name, "")[:MAX_ARG].strip()


def _can_change() -> bool:
    return g.account.role == "admin" or g.account.role in ostaff.CHANGE_ROLES


def _cluster_names() -> dict[str, str]:
    s = db()
    return {cid: (c.name(g.lang) if (c := s.get(CommodityCluster, cid)) else cid)
            for cid in ostaff.cluster_choices(s, g.scope)}


def _policy() -> Policy:
    return Policy.of(settings())


def _bad(key: str, **context):
    """The page with the refusal ``key`` in the user's language, 400."""
    return web.render("staff/error.html", status=400, message=web.t(key)), 400


@bp.get("")
def index():
    """The scope's rounds (filters ``cluster``, ``pg``, ``status``); 404 for a filter outside the scope."""
    web.require_role(*ostaff.VIEW_ROLES)
    form = {"cluster": _arg("cluster").lower(), "pg": _arg("pg").upper(), "status": _arg("status").lower()}
    s = db()
    try:
        rows = ostaff.rounds_in_scope(s, g.scope, cluster_id=form["cluster"] or None, pg_code=form["pg"] or None,
                                      status=form["status"] or None)
    except ostaff.OutOfScope:
        web.not_found()
    except ValueError as exc:
        return _bad(str(exc))
    soon = ostaff.closing_soon(s, g.scope, utcnow(), policy=_policy())
    return web.render("staff/orders.html", rows=rows, form=form, clusters=_cluster_names(),
                      pgs=ostaff.pg_choices(s, g.scope), soon={r.id for r in soon}, money=money,
                      cap=ostaff.LIST_CAP, capped=len(rows) >= ostaff.LIST_CAP)


@bp.get("/round/<int:round_id>")
def round_page(round_id: int):
    """One round: its totals per item, its lines, the status form; 404 outside the scope."""
    web.require_role(*ostaff.VIEW_ROLES)
    s = db()
    try:
        rnd = ostaff.round_in_scope(s, g.scope, round_id)
    except ostaff.OutOfScope:
        web.not_found()
    from service.groups.producer_group import ProducerGroup

    pg = s.get(ProducerGroup, rnd.pg_id)
    return web.render("staff/orders_round.html", rnd=rnd, pg=pg, items=ostaff.item_rows(s, rnd),
                      lines=ostaff.lines_of(s, rnd), totals=ostaff.rounds.round_totals(s, rnd), money=money,
                      can_change=_can_change(), statuses=ostaff.WEB_STATUSES, max_place=ostaff.MAX_PLACE,
                      clusters=_cluster_names(), today=settings().today(utcnow()),
                      closed_on=ostaff.rounds.local_today(rnd.closed_at, _policy()) if rnd.closed_at else None)


@bp.post("/status")
def status():
    """Move the chosen rounds' live lines to the posted status (forward only); 404 outside the scope,
    400 with the reason for a request that cannot be done."""
    web.require_role(*ostaff.CHANGE_ROLES)
    s = db()
    if len(request.form) > ostaff.MAX_ROUNDS + 10:
        abort(400)
    try:
        round_ids = ostaff.parse_round_ids(request.form.getlist("round")[:ostaff.MAX_ROUNDS + 1])
        day = request.form.get("day", "")[:16]
        on = ostaff.parse_day(day) if day.strip() else None
        result = ostaff.change_status(s, g.scope, web.actor(), round_ids, request.form.get("status", "")[:16],
                                      utcnow(), place=request.form.get("place", "")[:ostaff.MAX_PLACE * 2],
                                      on=on, supplier_code=request.form.get("supplier", "")[:24] or None,
                                      policy=_policy())
    except ostaff.OutOfScope:
        s.rollback()
        web.not_found()
    except ValueError as exc:
        s.rollback()
        return _bad(str(exc))
    s.commit()
    if result.changed:
        flash(web.t("ord.status_done", changed=result.changed, chosen=result.chosen, told=result.told), "notice")
    else:
        flash(web.t("ord.status_none"), "notice")
    if len(round_ids) == 1:
        return redirect(url_for("staff_orders.round_page", round_id=round_ids[0]))
    return redirect(url_for("staff_orders.index"))


def _purchase():
    """``(form, chosen rounds, supplier orders)`` of the request; 404 outside the scope."""
    web.require_role(*ostaff.VIEW_ROLES)
    form = {"cluster": _arg("cluster").lower(), "pg": _arg("pg").upper()}
    s = db()
    round_ids = ostaff.parse_round_ids(request.args.getlist("round")[:ostaff.MAX_ROUNDS + 1])
    if not form["cluster"] and not form["pg"]:
        return form, round_ids, None, []
    try:
        chosen = ostaff.choose_rounds(s, g.scope, cluster_id=form["cluster"] or None, pg_code=form["pg"] or None,
                                      round_ids=round_ids)
    except ostaff.OutOfScope:
        web.not_found()
    return form, round_ids, chosen, ostaff.purchase_order(s, chosen)


@bp.get("/purchase")
def purchase():
    """The purchase order per supplier of the chosen closed rounds of a cluster or PG."""
    try:
        form, round_ids, chosen, orders = _purchase()
    except ValueError as exc:
        return _bad(str(exc))
    s = db()
    try:
        closed = ostaff.closed_rounds(s, g.scope, cluster_id=form["cluster"] or None, pg_code=form["pg"] or None) \
            if chosen is not None else []
    except ostaff.OutOfScope:
        web.not_found()
    args = {k: v for k, v in form.items() if v}
    if chosen:
        args["round"] = [r.id for r in chosen]
    return web.render("staff/orders_purchase.html", form=form, chosen=chosen, orders=orders, closed=closed,
                      picked=set(round_ids) or {r.id for r in chosen or []}, clusters=_cluster_names(),
                      pgs=ostaff.pg_choices(s, g.scope), args=args, money=money, lang=g.lang,
                      total=sum(o.total_diram for o in orders), saving=sum(o.saving_diram for o in orders))


@bp.get("/purchase.<fmt>")
def purchase_download(fmt: str):
    """The purchase order as CSV (UTF-8 with BOM) or XLSX, headers in the page language."""
    if fmt not in ("csv", "xlsx"):
        web.not_found()
    try:
        form, _ids, chosen, orders = _purchase()
    except ValueError as exc:
        return _bad(str(exc))
    if chosen is None:
        return _bad("ord.err.pick_area")
    header = [web.t(f"ord.col.{c}") for c in ostaff.PO_COLUMNS]
    rows = ostaff.purchase_rows(orders, g.lang)
    name = f"purchase-{form['cluster'] or form['pg']}".replace(".", "-")
    body = output.to_csv(header, rows) if fmt == "csv" else output.to_xlsx(header, rows, web.t("ord.purchase_title"))
    return web.download(body, fmt, name)


@bp.get("/savings")
def savings():
    """Savings against retail per farmer, PG or cluster (``by``), within the scope."""
    web.require_role(*ostaff.VIEW_ROLES)
    form = {"by": _arg("by").lower() or "pg", "cluster": _arg("cluster").lower(), "pg": _arg("pg").upper()}
    s = db()
    try:
        rows, total = ostaff.savings_in_scope(s, g.scope, form["by"], cluster_id=form["cluster"] or None,
                                              pg_code=form["pg"] or None, policy=_policy())
    except ostaff.OutOfScope:
        web.not_found()
    except ValueError as exc:
        return _bad(str(exc))
    return web.render("staff/orders_savings.html", rows=rows, total=total, form=form, clusters=_cluster_names(),
                      pgs=ostaff.pg_choices(s, g.scope), money=money)
