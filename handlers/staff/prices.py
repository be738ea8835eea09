"""Market prices on the web: the latest price per crop at the account's markets, several prices
entered at once, and each market's history (``docs/staff.md`` "Prices on the web").

``GET /staff/prices`` lists the markets the account's scope covers (``Scope.covers_market``) with
the latest price per crop (TJS/kg, day, who) and a form with one row per crop × market.
``POST /staff/prices`` enters today's prices (``TIMEZONE``) of the filled rows through
``service.prices.entry.enter_prices``: the same reading, scope check and sanity check as SMS
``SETPRICE``, all or nothing. When a row cannot be read or is unusual and not confirmed, nothing
is stored and the form comes back (400) with every value typed, the refusal beside its row and a
"confirm unusual price" box on each unusual row; once everything passes, every row is stored with
its ``price.set`` audit entry (channel web) in one transaction. A posted row of a market outside
the scope (or unknown) is 404. ``GET /staff/prices/<market code>`` is that market's history per
crop, newest first (``entry.HISTORY_CAP`` rows at most), under its chart
``GET /staff/prices/<market code>/chart.svg`` (a line per crop, ``service.prices.chart``); outside
the scope, 404.

Roles: those that may send ``SETPRICE`` (``service.staff.commands.COMMAND_ROLES``).
"""
from __future__ import annotations

from flask import abort, g, request
from sqlalchemy import select

from handlers.common import db, field, settings
from handlers.staff import web
from service.db import utcnow
from service.errors import Refusal
from service.prices import chart as price_chart, entry as price_entry
from service.prices.market import Market
from service.reference.crops import crops as all_crops
from service.reference.render import tjs as money
from service.staff.commands import COMMAND_ROLES

bp = web.blueprint("staff_prices", __name__, "/staff/prices")
ROLES = COMMAND_ROLES["setprice"]
web.nav_item("staff_prices.index", "prices.title", roles=ROLES, order=30)

#: the most form fields a POST is read for (rows × 2)
MAX_FIELDS = 400


def _markets() -> list[Market]:
    """The markets of the account's scope, by code."""
    return [m for m in db().scalars(select(Market).order_by(Market.code)) if g.scope.covers_market(m.id)]


def _key(market: Market, crop_id: str) -> str:
    return f"{market.code}-{crop_id}"


def _view(values: dict[str, str] | None = None, results: dict[str, price_entry.RowResult] | None = None,
          error: str | None = None, status: int = 200):
    s = db()
    markets = _markets()
    latest = price_entry.latest(s, markets)
    who = {src: price_entry.reporter(s, src) for src in {p.source for p in latest.values()}}
    return web.render("staff/prices.html", markets=markets, crops=all_crops(s), latest=latest, who=who,
                      key=_key, values=values or {}, results=results or {}, error=error, money=money,
                      refusal_text=web.refusal_text), status


@bp.get("")
def index():
    """The latest prices of the account's markets and the entry form."""
    web.require_role(*ROLES)
    return _view()


@bp.post("")
def enter():
    """Today's prices of the filled rows, all or nothing (``entry.enter_prices``); 400 with the
    form back when a row is refused or waits for its confirmation; 404 for a row outside the scope."""
    web.require_role(*ROLES)
    s = db()
    if len(request.form) > MAX_FIELDS:
        abort(400)
    by_code = {m.code: m for m in s.scalars(select(Market))}
    crop_ids = {c.id for c in all_crops(s)}
    rows, values = [], {}
    for name in request.form:
        if not name.startswith("price-"):
            continue
        code, _, crop_id = name[len("price-"):].partition("-")
        market = by_code.get(code)
        if market is None or crop_id not in crop_ids or not g.scope.covers_market(market.id):
            web.not_found()
        text = field(name, limit=price_entry.MAX_PRICE_TEXT + 1).strip()
        if not text:
            continue  # an empty row enters no price
        values[_key(market, crop_id)] = text
        rows.append(price_entry.Row(crop_id, market, text,
                                    confirmed=field(f"confirm-{_key(market, crop_id)}", limit=4) == "yes"))
    try:
        batch = price_entry.enter_prices(s, rows, settings().today(utcnow()), scope=g.scope, actor=web.actor(),
                                         source=price_entry.web_source(g.account.username))
    except Refusal as refusal:
        s.rollback()
        return _view(values, error=web.refusal_text(refusal), status=400)
    if not batch.saved:
        s.rollback()
        results = {_key(r.row.market, r.row.crop_id): r for r in batch.results}
        return _view(values, results, error=web.t("prices.err.batch"), status=400)
    return web.done("prices.done", "staff_prices.index")


def _market(code: str) -> Market:
    """The market of ``code`` in the account's scope; 404 when unknown or outside the scope."""
    web.require_role(*ROLES)
    found = db().scalar(select(Market).where(Market.code == code[:24].upper()))
    if found is None or not g.scope.covers_market(found.id):
        web.not_found()
    return found


def _chart(found: Market, rows) -> str:
    """The SVG of ``found``'s history ``rows`` in the page language."""
    names = {c.id: c.name(g.lang) for c in all_crops(db())}
    return price_chart.history_svg(rows, names, title=web.t("prices.chart_title", market=found.name(g.lang)),
                                   axis_label=web.t("prices.price"), money=lambda d: money(d, g.lang))


@bp.get("/<code>")
def market(code: str):
    """One market's history per crop, newest first, with its chart; 404 outside the scope."""
    s = db()
    found = _market(code)
    rows = price_entry.history(s, found)
    names = {c.id: c for c in all_crops(s)}
    who = {src: price_entry.reporter(s, src) for src in {p.source for p in rows}}
    by_crop = {cid: [r for r in rows if r.crop_id == cid] for cid in names if any(r.crop_id == cid for r in rows)}
    days, series = price_chart.series(rows, list(names))
    description = price_chart.description(
        web.t("prices.chart_title", market=found.name(g.lang)), days,
        [(names[cid].name(g.lang), values) for cid, values in series], lambda d: money(d, g.lang),
        web.t("prices.price"))
    return web.render("staff/prices_market.html", market=found, crops=names, by_crop=by_crop, who=who,
                      money=money, cap=price_entry.HISTORY_CAP, capped=len(rows) >= price_entry.HISTORY_CAP,
                      description=description)


@bp.get("/<code>/chart.svg")
def market_chart(code: str):
    """One market's history as an SVG chart (a line per crop, TJS/kg); 404 outside the scope."""
    found = _market(code)
    return web.svg(_chart(found, price_entry.history(db(), found)))
