"""A commodity cluster's page: its committee's seats, their history and the cluster's PGs
(``docs/staff.md`` §6).

``GET /staff/clusters/<id>`` shows the cluster (``onion.vose``): its district, the five seats of
its committee with holder, the PG they represent, election date and term end, the seat history
and the cluster's PGs. ``POST /staff/clusters/<id>/seat/fill``, ``/replace``, ``/end`` change a
seat through ``service.groups.cluster_committee`` (actions ``cluster.seat.fill``,
``cluster.seat.replace``, ``cluster.seat.end``; one audit entry each, then post/redirect/get).

An account sees a cluster it covers (an administrator, the district's extension officer, the
cluster's coordinator) or one of whose PGs it covers; it changes seats when it covers the whole
cluster and is an administrator, extension officer or cluster coordinator. Anything else is 404.
"""
from __future__ import annotations

from flask import g

from handlers.common import db, field
from handlers.staff import web
from handlers.staff.pgs import END_REASONS, MANAGERS, READERS, _day, _today
from service.audit.log import record, snapshot
from service.errors import Refusal
from service.groups import cluster_committee
from service.groups.cluster import CommodityCluster
from service.groups.membership import EC_ROLES
from service.groups.producer_group import ProducerGroup
from service.programme import registry
from service.reference.geography import District
from sqlalchemy import select

bp = web.blueprint("staff_clusters", __name__, "/staff/clusters")


def _cluster(cluster_id: str) -> CommodityCluster:
    """The cluster when the account may see it; else 404."""
    cluster = db().get(CommodityCluster, cluster_id[:64].lower())
    if cluster is None:
        web.not_found()
    if not g.scope.covers_cluster(cluster.id):
        pg_ids = set(db().scalars(select(ProducerGroup.id).where(ProducerGroup.cluster_id == cluster.id)))
        if not pg_ids & set(g.scope.pg_ids):
            web.not_found()
    return cluster


def _may_manage(cluster: CommodityCluster) -> bool:
    return (g.account.role == "admin" or g.account.role in MANAGERS) and g.scope.covers_cluster(cluster.id)


def _view(cluster: CommodityCluster, error: str | None = None, status: int = 200):
    s = db()
    terms = cluster_committee.history(s, cluster.id)
    pgs = list(s.scalars(select(ProducerGroup).where(ProducerGroup.cluster_id == cluster.id, g.scope.pgs())
                         .order_by(ProducerGroup.code)))
    codes = registry.pg_codes(s, [t.pg_id for t in terms if t.pg_id])
    manage = _may_manage(cluster)
    return web.render("staff/cluster.html", cluster=cluster, district=s.get(District, cluster.district_id),
                      seats=cluster_committee.seats(s, cluster.id), terms=terms,
                      people=registry.names(s, [t.farmer_id for t in terms]), codes=codes, pgs=pgs,
                      eligible=cluster_committee.eligible(s, cluster.id) if manage else [],
                      may_manage=manage, end_reasons=END_REASONS, today=_today().isoformat(), error=error), status


@bp.get("/<cluster_id>")
def page(cluster_id: str):
    web.require_role(*READERS)
    return _view(_cluster(cluster_id))


def _state(cluster: CommodityCluster, role: str) -> dict:
    seat = next(s for s in cluster_committee.seats(db(), cluster.id) if s.role == role)
    state = {"cluster": cluster.id, "role": role, "holder": seat.holder.code if seat.holder else None,
             "pg": seat.pg.code if seat.pg else None}
    if seat.term is not None:
        state.update(snapshot(seat.term, ("id", "elected_on", "term_ends_on")))
    return state


@bp.post("/<cluster_id>/seat/<action>")
def seat(cluster_id: str, action: str):
    web.require_role(*MANAGERS)
    cluster = _cluster(cluster_id)
    if action not in ("fill", "replace", "end") or not _may_manage(cluster):
        web.not_found()
    try:
        role = field("role", limit=12)
        if role not in EC_ROLES:
            raise Refusal("pgs.err.role")
        before = _state(cluster, role)
        if action == "end":
            reason = field("reason", limit=12)
            if reason not in END_REASONS:
                raise Refusal("pgs.err.reason")
            closed = cluster_committee.end(db(), cluster, role, _day("on"), reason)
            after = {**_state(cluster, role), "ended": snapshot(closed, ("id", "farmer_id", "ended_on", "end_reason"))}
        else:
            text = field("farmer", limit=12)
            chosen = {f.id: f for f, _ in cluster_committee.eligible(db(), cluster.id)}
            farmer = chosen.get(int(text)) if text.isdigit() else None
            if farmer is None:
                raise Refusal("staff.err.not_in_cluster")
            elected_on = _day("elected_on")
            do = cluster_committee.fill if action == "fill" else cluster_committee.replace
            do(db(), cluster, role, farmer, elected_on, term_ends_on=_day("term_ends_on", required=False))
            after = _state(cluster, role)
    except Refusal as refusal:
        db().rollback()
        if refusal.params.get("role") in EC_ROLES:
            refusal = Refusal(refusal.key, **{**refusal.params, "role": web.t("seat." + refusal.params["role"])})
        return _view(db().get(CommodityCluster, cluster.id), error=web.refusal_text(refusal), status=400)
    record(db(), web.actor(), f"cluster.seat.{action}", "commodity_cluster", cluster.id, before=before, after=after)
    return web.done(f"pgs.done.seat_{action}", "staff_clusters.page", cluster_id=cluster.id)
