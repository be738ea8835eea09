"""What the staff registry pages read: producer groups with their members, Executive Committee,
stage, orders and questions; commodity clusters with their PGs and leaders; collection centres;
VAM agents; lead farmers and their demonstration plots. Every function takes the account's
:class:`~service.staff.scope.Scope` (or a PG already checked against it) and returns only what
it covers. Read-only: the changes go through ``service.groups`` (committee, membership,
producer_group).

Clusters have no committee of their own in the data model: :func:`clusters` gives, as the
cluster's leaders, the chairs of its PGs (the people ``service.sales.joint_sale`` sends the
cluster's weekly totals to).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from service.advice.demo_plot import DemoPlot
from service.advice.questions import Question
from service.advice.responders import Responder, ResponderDistrict, ResponderVillage
from service.farmers.models import Farmer
from service.groups.cluster import CommodityCluster
from service.groups.membership import Membership
from service.groups.producer_group import CBO, STAGES, ProducerGroup
from service.orders.catalogue import InputItem, items_of
from service.orders.rounds import InputOrder, OrderRound
from service.prices.market import Market
from service.reference.geography import District, Village
from service.sales.joint_sale import CollectionCentre

PER_PAGE = 25
MAX_PAGE = 10_000


@dataclass(frozen=True)
class PgRow:
    """A line of the PG list: the PG, its village, its active ``members`` and the ``women`` among them."""

    pg: ProducerGroup
    village: Village
    members: int
    women: int


@dataclass(frozen=True)
class PgPage:
    """One page of the PG list: ``rows``, ``total`` PGs matching, ``page`` (from 1) of ``pages``."""

    rows: list[PgRow]
    total: int
    page: int
    pages: int


def _pgs_in(scope, *, district: str | None = None, cluster: str | None = None, stage: str | None = None):
    q = select(ProducerGroup.id).join(Village, Village.id == ProducerGroup.village_id).where(scope.pgs())
    if district:
        q = q.where(Village.district_id == district)
    if cluster:
        q = q.where(ProducerGroup.cluster_id == cluster)
    if stage:
        q = q.where(ProducerGroup.stage == stage)
    return q


def pg_list(session: Session, scope, *, district: str | None = None, cluster: str | None = None,
            stage: str | None = None, page: int = 1, per_page: int = PER_PAGE) -> PgPage:
    """The PGs ``scope`` covers, filtered by district id, cluster id and stage (None or "": any),
    ordered by code, ``per_page`` to a page; ``page`` is clamped to 1..pages. Three queries."""
    ids = _pgs_in(scope, district=district, cluster=cluster, stage=stage)
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(select(ProducerGroup, Village).join(Village, Village.id == ProducerGroup.village_id)
                           .where(ProducerGroup.id.in_(ids)).order_by(ProducerGroup.code)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    counts = {pg_id: (n, w) for pg_id, n, w in session.execute(
        select(Membership.pg_id, func.count(), func.sum(case((Farmer.gender == "female", 1), else_=0)))
        .join(Farmer, Farmer.id == Membership.farmer_id)
        .where(Membership.status == "active", Membership.pg_id.in_([pg.id for pg, _ in rows]))
        .group_by(Membership.pg_id))} if rows else {}
    return PgPage([PgRow(pg, v, *(int(x or 0) for x in counts.get(pg.id, (0, 0)))) for pg, v in rows],
                  total, page, pages)


@dataclass(frozen=True)
class Choices:
    """What the PG list's filters offer in a scope: districts, clusters (objects) and :data:`STAGES`."""

    districts: list[District]
    clusters: list[CommodityCluster]
    stages: tuple[str, ...] = STAGES


def choices(session: Session, scope) -> Choices:
    """The districts and clusters of the PGs ``scope`` covers (every one for an administrator)."""
    if scope.everything:
        return Choices(list(session.scalars(select(District).order_by(District.id))),
                       list(session.scalars(select(CommodityCluster).order_by(CommodityCluster.id))))
    ids = select(ProducerGroup.id).where(scope.pgs())
    district_ids = set(session.scalars(select(Village.district_id).join(ProducerGroup, ProducerGroup.village_id == Village.id)
                                       .where(ProducerGroup.id.in_(ids)))) | set(scope.district_ids)
    cluster_ids = set(session.scalars(select(ProducerGroup.cluster_id).where(
        ProducerGroup.id.in_(ids), ProducerGroup.cluster_id.is_not(None)))) | set(scope.cluster_ids)
    return Choices(list(session.scalars(select(District).where(District.id.in_(sorted(district_ids))).order_by(District.id))),
                   list(session.scalars(select(CommodityCluster).where(CommodityCluster.id.in_(sorted(cluster_ids)))
                                        .order_by(CommodityCluster.id))))


def villages(session: Session, scope) -> list[Village]:
    """The villages ``scope`` covers whole (an administrator: all; an extension officer: their
    districts'), by district and id: where a new PG may be created."""
    q = select(Village).order_by(Village.district_id, Village.id)
    if not scope.everything:
        q = q.where(Village.district_id.in_(sorted(scope.district_ids)))
    return list(session.scalars(q))


def cbos(session: Session, village_ids: list[int]) -> list[CBO]:
    """The CBOs of these villages, by name."""
    return list(session.scalars(select(CBO).where(CBO.village_id.in_(village_ids)).order_by(CBO.name))) if village_ids else []


def members(session: Session, pg_id: int) -> list[tuple[Membership, Farmer]]:
    """Every membership of the PG (active, pending, left, rejected) with its farmer: the open ones
    first (active, then pending), each group by name."""
    order = case((Membership.status == "active", 0), (Membership.status == "pending", 1), else_=2)
    return list(session.execute(select(Membership, Farmer).join(Farmer, Farmer.id == Membership.farmer_id)
                                .where(Membership.pg_id == pg_id).order_by(order, Farmer.name, Farmer.id)).all())


def active_member(session: Session, pg_id: int, farmer_id: int) -> Farmer | None:
    """The farmer when they are an active member of the PG whose data is not erased (who may be
    elected to a seat), else None."""
    return session.scalar(select(Farmer).join(Membership, Membership.farmer_id == Farmer.id).where(
        Membership.pg_id == pg_id, Membership.status == "active", Farmer.id == farmer_id, Farmer.erased_at.is_(None)))


def names(session: Session, farmer_ids) -> dict[int, Farmer]:
    """``{id: Farmer}`` for these ids (those that exist)."""
    ids = sorted({i for i in farmer_ids if i is not None})
    return {f.id: f for f in session.scalars(select(Farmer).where(Farmer.id.in_(ids)))} if ids else {}


def orders(session: Session, pg_id: int, limit: int = 10) -> list[tuple[InputOrder, OrderRound, Farmer, InputItem]]:
    """The PG's latest order lines (any round), newest first, with round, farmer and item."""
    return list(session.execute(
        select(InputOrder, OrderRound, Farmer, InputItem).join(OrderRound, OrderRound.id == InputOrder.round_id)
        .join(Farmer, Farmer.id == InputOrder.farmer_id).join(InputItem, InputItem.id == InputOrder.item_id)
        .where(OrderRound.pg_id == pg_id).order_by(InputOrder.created_at.desc(), InputOrder.id.desc())
        .limit(limit)).all())


def questions(session: Session, pg_id: int, limit: int = 10) -> list[tuple[Question, Farmer]]:
    """The latest questions asked by the PG's active members, newest first, with the farmer."""
    return list(session.execute(
        select(Question, Farmer).join(Farmer, Farmer.id == Question.farmer_id)
        .join(Membership, Membership.farmer_id == Farmer.id)
        .where(Membership.pg_id == pg_id, Membership.status == "active")
        .order_by(Question.asked_at.desc(), Question.id.desc()).limit(limit)).all())


@dataclass(frozen=True)
class ClusterRow:
    """A cluster with the PGs of it that the scope covers, and their chairs (``{pg id: Farmer}``):
    the cluster's leaders, as clusters have no committee of their own."""

    cluster: CommodityCluster
    pgs: list[ProducerGroup]
    chairs: dict


def _cluster_ids(session: Session, scope) -> list[str]:
    if scope.everything:
        return list(session.scalars(select(CommodityCluster.id).order_by(CommodityCluster.id)))
    found = set(scope.cluster_ids) | set(session.scalars(select(ProducerGroup.cluster_id).where(
        scope.pgs(), ProducerGroup.cluster_id.is_not(None))))
    return sorted(found)


def clusters(session: Session, scope) -> list[ClusterRow]:
    """The clusters ``scope`` covers or has a PG of, each with its PGs in scope and their chairs."""
    ids = _cluster_ids(session, scope)
    pgs = list(session.scalars(select(ProducerGroup).where(ProducerGroup.cluster_id.in_(ids), scope.pgs())
                               .order_by(ProducerGroup.code))) if ids else []
    chairs = {m.pg_id: f for m, f in session.execute(
        select(Membership, Farmer).join(Farmer, Farmer.id == Membership.farmer_id).where(
            Membership.pg_id.in_([p.id for p in pgs]), Membership.status == "active",
            Membership.role == "chair")).all()} if pgs else {}
    by_id = {c.id: c for c in session.scalars(select(CommodityCluster).where(CommodityCluster.id.in_(ids)))}
    return [ClusterRow(by_id[cid], [p for p in pgs if p.cluster_id == cid], chairs) for cid in ids if cid in by_id]


def centres(session: Session, scope) -> list[tuple[CollectionCentre, Market, CommodityCluster]]:
    """The collection centres of the clusters of :func:`clusters`, by market code, with their market
    and cluster (``capacity_g``: grams per season)."""
    ids = _cluster_ids(session, scope)
    if not ids:
        return []
    return list(session.execute(
        select(CollectionCentre, Market, CommodityCluster).join(Market, Market.id == CollectionCentre.market_id)
        .join(CommodityCluster, CommodityCluster.id == CollectionCentre.cluster_id)
        .where(CollectionCentre.cluster_id.in_(ids)).order_by(Market.code)).all())


def _responders(session: Session, scope, role: str) -> list[Responder]:
    q = select(Responder).where(Responder.role == role).order_by(Responder.code, Responder.name, Responder.id)
    if not scope.everything:
        villages_ = sorted(scope.village_ids)
        parts = [Responder.id.in_(select(ResponderVillage.responder_id).where(ResponderVillage.village_id.in_(villages_)))]
        if scope.district_ids:
            parts.append(Responder.id.in_(select(ResponderDistrict.responder_id).where(
                ResponderDistrict.district_id.in_(sorted(scope.district_ids)))))
        if scope.pg_ids:
            parts.append(Responder.pg_id.in_(sorted(scope.pg_ids)))
        q = q.where(or_(*parts))
    return list(session.scalars(q))


def village_names(session: Session, ids, lang: str) -> dict[int, str]:
    """``{village id: name in lang}`` for these ids."""
    ids = sorted(set(ids))
    return {v.id: v.name(lang) for v in session.scalars(select(Village).where(Village.id.in_(ids)))} if ids else {}


def vam_agents(session: Session, scope) -> list[tuple[Responder, list[InputItem]]]:
    """The VAM agents serving a village of ``scope`` (or supplying one of its whole districts),
    by code, each with the input items it supplies."""
    return [(r, items_of(session, r)) for r in _responders(session, scope, "vam_agent")]


def lead_farmers(session: Session, scope) -> list[tuple[Responder, list[DemoPlot]]]:
    """The lead farmers serving a village or PG of ``scope``, by name, each with their demonstration
    plots (newest season first)."""
    leads = _responders(session, scope, "lead_farmer")
    plots: dict[int, list[DemoPlot]] = {}
    if leads:
        for plot in session.scalars(select(DemoPlot).where(DemoPlot.lead_id.in_([r.id for r in leads]))
                                    .order_by(DemoPlot.season.desc(), DemoPlot.id)):
            plots.setdefault(plot.lead_id, []).append(plot)
    return [(r, plots.get(r.id, [])) for r in leads]


def parse_day(text: str) -> dt.date | None:
    """A date typed in a form (``YYYY-MM-DD``, as a date input sends it; ``DD.MM.YYYY`` too), or None."""
    text = (text or "").strip()[:10]
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def pg_codes(session: Session, pg_ids) -> dict[int, str]:
    """``{PG id: code}`` for these ids."""
    ids = sorted({i for i in pg_ids if i is not None})
    return dict(session.execute(select(ProducerGroup.id, ProducerGroup.code).where(ProducerGroup.id.in_(ids))).all()) if ids else {}
