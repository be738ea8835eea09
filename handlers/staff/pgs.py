"""The producer group pages: the list of PGs in the account's area, a PG's page, and what staff do
there (``docs/staff.md`` §6).

``GET /staff/pgs`` lists the PGs the account's scope covers (filters: district, cluster, stage;
members and women among them; 25 to a page). ``GET /staff/pgs/<code>`` shows one PG: its village,
CBO, cluster and stage, members, Executive Committee seats with their holders and terms, the seat
and stage histories, its latest orders and questions and the pending join requests.
``GET/POST /staff/pgs/new`` creates a PG.

Changes (POST forms, CSRF, one audit entry each, then post/redirect/get):

* ``/staff/pgs/<code>/seat/fill``, ``/seat/replace``, ``/seat/end``: ``service.groups.committee``
  ``fill`` / ``replace`` / ``end`` (actions ``pg.seat.fill``, ``pg.seat.replace``, ``pg.seat.end``);
* ``/staff/pgs/<code>/stage``: ``producer_group.set_stage`` (``pg.stage``);
* ``/staff/pgs/<code>/requests/<id>``: approve or refuse a join request,
  ``membership.staff_decide`` (``pg.request.approve``, ``pg.request.refuse``; the farmer is told by SMS);
* ``/staff/pgs/new``: ``producer_group.create`` (``pg.create``).

Who may do what: an administrator everything; an extension officer and a cluster coordinator
everything in their area (a PG is created by an administrator or the district's extension
officer); a PG leader sees their PG and decides its join requests; a VAM agent reads. A PG
outside the account's area answers 404, whatever is asked of it.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, g, request, url_for

from handlers.common import db, field
from handlers.staff import web
from service.audit.log import record, snapshot
from service.db import utcnow
from service.errors import Refusal
from service.groups import committee, membership, producer_group
from service.groups.cluster import CommodityCluster
from service.groups.membership import EC_ROLES, Membership
from service.groups.producer_group import STAGES, ProducerGroup
from service.programme import registry
from service.reference.geography import District, Village

bp = web.blueprint("staff_pgs", __name__, "/staff/pgs")

#: roles that see the PG pages (an administrator always does)
READERS = ("extension_officer", "cluster_coordinator", "vam_agent", "pg_leader")
#: roles that change a PG of their area: its EC and its stage
MANAGERS = ("extension_officer", "cluster_coordinator")
#: roles that decide a PG's join requests
DECIDERS = (*MANAGERS, "pg_leader")
#: roles that create PGs (an extension officer in their districts)
CREATORS = ("extension_officer",)
#: the reasons staff give when they end a seat (``replaced`` comes from a replacement)
END_REASONS = tuple(r for r in committee.END_REASONS if r != "replaced")

web.nav_item("staff_pgs.index", "pgs.title", roles=READERS, order=20)


def _may(roles: tuple[str, ...]) -> bool:
    return g.account.role == "admin" or g.account.role in roles


def _pg(code: str) -> ProducerGroup:
    """The PG of ``code`` when the account's scope covers it; else 404."""
    pg = producer_group.by_code(db(), code[:20])
    if pg is None or not g.scope.covers_pg(pg.id):
        web.not_found()
    return pg


def _today() -> dt.date:
    return current_app.extensions["dehqon.settings"].today(utcnow())


def _day(name: str, *, required: bool = True) -> dt.date | None:
    """The date of form field ``name``; ``Refusal`` when missing (if ``required``), unreadable or in the future."""
    text = field(name, limit=12)
    if not text and not required:
        return None
    day = registry.parse_day(text)
    if day is None:
        raise Refusal("pgs.err.date")
    if day > _today() and name != "term_ends_on":
        raise Refusal("pgs.err.date_future")
    return day


def _page_number() -> int:
    text = request.args.get("page", "1")[:6]
    return int(text) if text.isdigit() else 1


@bp.get("")
def index():
    web.require_role(*READERS)
    district = request.args.get("district", "")[:32]
    cluster = request.args.get("cluster", "")[:64]
    stage = request.args.get("stage", "")[:16]
    options = registry.choices(db(), g.scope)
    district = district if any(d.id == district for d in options.districts) else ""
    cluster = cluster if any(c.id == cluster for c in options.clusters) else ""
    stage = stage if stage in STAGES else ""
    found = registry.pg_list(db(), g.scope, district=district or None, cluster=cluster or None, stage=stage or None,
                             page=min(_page_number(), registry.MAX_PAGE))
    clusters = {c.id: c.name(g.lang) for c in options.clusters}
    districts = {d.id: d.name(g.lang) for d in options.districts}
    filters = {k: v for k, v in (("district", district), ("cluster", cluster), ("stage", stage)) if v}
    return web.render("staff/pgs.html", found=found, options=options, chosen=filters, clusters=clusters,
                      districts=districts, may_create=_may(CREATORS),
                      page_url=lambda n: url_for("staff_pgs.index", page=n, **filters))


def _view(pg: ProducerGroup, error: str | None = None, status: int = 200):
    s = db()
    village = s.get(Village, pg.village_id)
    rows = registry.members(s, pg.id)
    seats = committee.seats(s, pg.id)
    terms = committee.history(s, pg.id)
    people = registry.names(s, [t.farmer_id for t in terms])
    active = [(m, f) for m, f in rows if m.status == "active"]
    return web.render(
        "staff/pg.html", pg=pg, village=village, district=s.get(District, village.district_id),
        cbo=s.get(producer_group.CBO, pg.cbo_id) if pg.cbo_id else None,
        cluster=s.get(CommodityCluster, pg.cluster_id) if pg.cluster_id else None,
        members=rows, active=active, seats=seats, terms=terms, people=people,
        stages=producer_group.stage_history(s, pg.id), orders=registry.orders(s, pg.id),
        questions=registry.questions(s, pg.id), requests=membership.pending_requests(s, pg.id),
        may_manage=_may(MANAGERS), may_decide=_may(DECIDERS), roles=EC_ROLES, all_stages=STAGES,
        end_reasons=END_REASONS, today=_today().isoformat(), error=error,
        women=sum(1 for _, f in active if f.gender == "female")), status


@bp.get("/<code>")
def page(code: str):
    web.require_role(*READERS)
    return _view(_pg(code))


def _refused(pg: ProducerGroup, refusal: Refusal):
    """Undo what the refused action began and show the PG page with the reason."""
    db().rollback()
    if refusal.params.get("role") in EC_ROLES:  # the seat by its name in the page language
        refusal = Refusal(refusal.key, **{**refusal.params, "role": web.t("seat." + refusal.params["role"])})
    return _view(db().get(ProducerGroup, pg.id), error=web.refusal_text(refusal), status=400)


def _seat_state(pg: ProducerGroup, role: str) -> dict:
    seat = next(s for s in committee.seats(db(), pg.id) if s.role == role)
    state = {"pg": pg.code, "role": role, "holder": seat.holder.code if seat.holder else None}
    if seat.term is not None:
        state.update(snapshot(seat.term, ("id", "elected_on", "term_ends_on")))
    return state


def _role() -> str:
    role = field("role", limit=12)
    if role not in EC_ROLES:
        raise Refusal("pgs.err.role")
    return role


def _member(pg: ProducerGroup):
    text = field("farmer", limit=12)
    farmer = registry.active_member(db(), pg.id, int(text)) if text.isdigit() else None
    if farmer is None:
        raise Refusal("pgs.err.member")
    return farmer


@bp.post("/<code>/seat/<action>")
def seat(code: str, action: str):
    web.require_role(*MANAGERS)
    pg = _pg(code)
    if action not in ("fill", "replace", "end"):
        web.not_found()
    try:
        role = _role()
        before = _seat_state(pg, role)
        if action == "end":
            on = _day("on")
            reason = field("reason", limit=12)
            if reason not in END_REASONS:
                raise Refusal("pgs.err.reason")
            closed = committee.end(db(), pg, role, on, reason)
            after = {**_seat_state(pg, role), "ended": snapshot(closed, ("id", "farmer_id", "ended_on", "end_reason"))
                     if closed is not None else None}
        else:
            farmer = _member(pg)
            elected_on = _day("elected_on")
            term_ends_on = _day("term_ends_on", required=False)
            do = committee.fill if action == "fill" else committee.replace
            do(db(), pg, role, farmer, elected_on, term_ends_on=term_ends_on)
            after = _seat_state(pg, role)
    except Refusal as refusal:
        return _refused(pg, refusal)
    record(db(), web.actor(), f"pg.seat.{action}", "producer_group", pg.code, before=before, after=after)
    return web.done(f"pgs.done.seat_{action}", "staff_pgs.page", code=pg.code)


@bp.post("/<code>/stage")
def stage(code: str):
    web.require_role(*MANAGERS)
    pg = _pg(code)
    try:
        new = field("stage", limit=16)
        if new not in STAGES:
            raise Refusal("pgs.err.stage")
        on = _day("on")
    except Refusal as refusal:
        return _refused(pg, refusal)
    before = snapshot(pg, ("code", "stage"))
    producer_group.set_stage(db(), pg, new, on)
    db().flush()
    record(db(), web.actor(), "pg.stage", "producer_group", pg.code, before=before,
           after={**snapshot(pg, ("code", "stage")), "assessed": new, "assessed_on": on})
    return web.done("pgs.done.stage", "staff_pgs.page", code=pg.code)


@bp.post("/<code>/requests/<int:membership_id>")
def decide(code: str, membership_id: int):
    web.require_role(*DECIDERS)
    pg = _pg(code)
    m = db().get(Membership, membership_id)
    if m is None or m.pg_id != pg.id:
        web.not_found()
    decision = field("decision", limit=8)
    if decision not in ("approve", "refuse"):
        return _view(pg, error=web.t("pgs.err.decision"), status=400)
    before = snapshot(m, ("id", "farmer_id", "pg_id", "status"))
    try:
        decided = membership.staff_decide(db(), m, decision == "approve", utcnow())
    except Refusal as refusal:
        return _refused(pg, refusal)
    if not decided:
        db().rollback()
        return web.done("pgs.done.already_decided", "staff_pgs.page", code=pg.code)
    record(db(), web.actor(), f"pg.request.{decision}", "membership", m.id, before=before,
           after=snapshot(m, ("id", "farmer_id", "pg_id", "status")))
    return web.done(f"pgs.done.{decision}", "staff_pgs.page", code=pg.code)


def _new_form(error: str | None = None, values: dict | None = None, status: int = 200):
    s = db()
    places = registry.villages(s, g.scope)
    districts = {d.id: d.name(g.lang) for d in s.query(District)}
    clusters = [c for c in s.query(CommodityCluster).order_by(CommodityCluster.id) if g.scope.covers_district(c.district_id)]
    return web.render("staff/pg_new.html", villages=places, districts=districts, clusters=clusters,
                      cbos=registry.cbos(s, [v.id for v in places]), error=error, values=values or {}), status


@bp.get("/new")
def new():
    web.require_role(*CREATORS)
    return _new_form()


@bp.post("/new")
def create():
    web.require_role(*CREATORS)
    values = {k: field(k, limit=limit) for k, limit in (("code", 20), ("name", producer_group.MAX_NAME_CHARS + 10),
                                                         ("village", 12), ("cbo", 12), ("cluster", 64))}
    village = db().get(Village, int(values["village"])) if values["village"].isdigit() else None
    if village is None or not g.scope.covers_district(village.district_id):
        return _new_form(web.t("staff.err.village_unknown"), values, 400)
    try:
        pg = producer_group.create(db(), code=values["code"], name=values["name"], village_id=village.id,
                                   cbo_id=int(values["cbo"]) if values["cbo"].isdigit() else None,
                                   cluster_id=values["cluster"] or None, on=_today())
    except Refusal as refusal:
        db().rollback()
        return _new_form(web.refusal_text(refusal), values, 400)
    record(db(), web.actor(), "pg.create", "producer_group", pg.code, before=None,
           after=snapshot(pg, ("code", "name", "village_id", "cbo_id", "cluster_id", "stage")))
    return web.done("pgs.done.created", "staff_pgs.page", code=pg.code)
