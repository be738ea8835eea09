"""The farmer pages: search, a farmer's page, correcting a record, merging duplicates, the
farmer's data rights (``docs/staff.md``, Farmer pages).

``GET /staff/farmers?q=`` searches the account's scope by name, phone or member code;
``GET /staff/farmers/<code>`` is the farmer's page (by member code, never the database id);
``GET|POST /staff/farmers/<code>/correct`` corrects name, gender, village, land, language, phone;
``GET /staff/farmers/<code>/merge?other=<code>`` shows both profiles and ``POST`` merges the other
into this one; ``GET|POST /staff/farmers/<code>/erase`` erases the farmer's data after a
confirmation. A farmer outside the account's scope (or erased, or unknown) is 404.

Who: every role with farmers in its area sees (a market reporter has none); administrators,
extension officers, cluster coordinators and VAM agents correct; administrators and extension
officers merge and erase.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, flash, g, request
from sqlalchemy import select

import templates_sms
from handlers.common import db, settings
from handlers.staff import web
from service.audit import log as audit
from service.db import utcnow
from service.errors import Refusal
from service.farmers import merge as merging
from service.farmers import privacy, records
from service.farmers.models import GENDERS
from service.reference.geography import Village
from service.reference.names import LANGUAGES

bp = web.blueprint("staff_farmers", __name__, "/staff/farmers")

VIEWERS = ("extension_officer", "cluster_coordinator", "vam_agent", "pg_leader")
CORRECTORS = ("extension_officer", "cluster_coordinator", "vam_agent")
MERGERS = ("extension_officer",)
ERASERS = ("extension_officer",)

web.nav_item("staff_farmers.search", "farmers.nav", roles=VIEWERS, order=20)


def _farmer(code: str):
    """The farmer of ``code`` in the account's scope, else 404."""
    farmer = records.in_scope(db(), g.scope, code[:records.CODE_DIGITS + 4])
    if farmer is None:
        web.not_found()
    return farmer


def _can(roles: tuple[str, ...]) -> bool:
    return g.account.role == "admin" or g.account.role in roles


def _villages():
    """The villages the account may put a farmer in, by district then name."""
    rows = db().scalars(select(Village).order_by(Village.district_id, Village.id))
    return [v for v in rows if g.scope.covers_village(v.id)]


@bp.get("")
def search():
    web.require_role(*VIEWERS)
    query = request.args.get("q", "")[:records.MAX_QUERY_CHARS]
    limit = records.MAX_RESULTS
    found = records.search(db(), g.scope, query, g.lang, limit=limit) if query.strip() else None
    return web.render("staff/farmers_search.html", query=query, found=found, limit=limit)


def _page(farmer, status: int = 200, **extra):
    try:
        page = max(1, min(int(request.args.get("page", "1")[:6]), 10_000))
    except ValueError:
        page = 1
    card = records.card(db(), g.scope, farmer, g.lang, page)
    held = privacy.summary(db(), farmer)
    return web.render("staff/farmer.html", card=card, held=held, seat_of=records.seat_of,
                      zone=settings().timezone, utc_zone=dt.timezone.utc,
                      can_correct=_can(CORRECTORS), can_merge=_can(MERGERS), can_erase=_can(ERASERS),
                      **extra), status


@bp.get("/<code>")
def page(code: str):
    web.require_role(*VIEWERS)
    return _page(_farmer(code))


def _correct_form(farmer, values=None, error=None, status=200):
    return web.render("staff/farmer_correct.html", farmer=farmer, values=values or {}, error=error,
                      villages=_villages(), genders=GENDERS, languages=LANGUAGES,
                      max_name=records.MAX_NAME_CHARS), status


@bp.get("/<code>/correct")
def correct_form(code: str):
    web.require_role(*CORRECTORS)
    return _correct_form(_farmer(code))


@bp.post("/<code>/correct")
def correct(code: str):
    web.require_role(*CORRECTORS)
    farmer = _farmer(code)
    form = request.form
    fields = {"name": form.get("name", "")[:200], "gender": form.get("gender", "")[:10],
              "village_id": form.get("village_id", "")[:12], "land_ha": form.get("land_ha", "")[:20],
              "language": form.get("language", "")[:4], "phone": form.get("phone", "")[:40]}
    try:
        before, after = records.correct(db(), farmer, villages=None if g.scope.everything
                                        else set(g.scope.village_ids), **fields)
    except Refusal as refusal:
        db().rollback()
        return _correct_form(_farmer(code), fields, web.refusal_text(refusal), 400)
    if not after:
        return web.done("farmers.correct.unchanged", "staff_farmers.page", code=farmer.code)
    audit.record(db(), web.actor(), "farmer.correct", "farmer", farmer.id, before=before, after=after)
    return web.done("farmers.correct.done", "staff_farmers.page", code=farmer.code)


@bp.get("/<code>/merge")
def merge_form(code: str):
    web.require_role(*MERGERS)
    return _merge_page(_farmer(code), request.args.get("other", "").strip()[:records.CODE_DIGITS + 4])


def _merge_page(keep, other: str):
    drop = records.in_scope(db(), g.scope, other) if other else None
    error = None
    if other and drop is None:
        error = web.t("farmers.merge.unknown", code=other)
    elif drop is not None:
        try:
            merging.check(db(), keep, drop)
        except Refusal as refusal:
            error = web.refusal_text(refusal)
    cards = [records.card(db(), g.scope, f, g.lang) for f in (keep, drop) if f is not None]
    return web.render("staff/farmer_merge.html", keep=keep, drop=drop if error is None else None, other=other,
                      cards=cards, error=error, seat_of=records.seat_of), 200 if error is None else 400


@bp.post("/<code>/merge")
def merge(code: str):
    web.require_role(*MERGERS)
    keep = _farmer(code)
    drop = _farmer(request.form.get("other", "").strip())
    try:
        merging.merge(db(), keep, drop, web.actor(), utcnow())
    except Refusal as refusal:
        db().rollback()
        flash(web.refusal_text(refusal), "error")
        return _merge_page(_farmer(code), request.form.get("other", "").strip()[:records.CODE_DIGITS + 4])
    return web.done("farmers.merge.done", "staff_farmers.page", code=code)


@bp.get("/<code>/erase")
def erase_form(code: str):
    web.require_role(*ERASERS)
    farmer = _farmer(code)
    return web.render("staff/farmer_erase.html", farmer=farmer, held=privacy.summary(db(), farmer))


@bp.post("/<code>/erase")
def erase(code: str):
    web.require_role(*ERASERS)
    farmer = _farmer(code)
    if request.form.get("confirm") != farmer.code:
        flash(web.t("farmers.erase.not_confirmed"), "error")
        return web.render("staff/farmer_erase.html", farmer=farmer, held=privacy.summary(db(), farmer)), 400
    ussd = current_app.extensions["dehqon.settings"].ussd_service_code
    farewell = templates_sms.text("farmers.delete.done", farmer.language, ussd=ussd)
    privacy.erase(db(), farmer, actor=web.actor(), now=utcnow(), farewell=farewell)
    return web.done("farmers.erase.done", "staff_farmers.search")
