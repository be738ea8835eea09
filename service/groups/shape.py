"""The programme's shape within a staff member's area: what the staff home page shows first.

:func:`shape` counts, for the farmers and producer groups a :class:`~service.staff.scope.Scope`
covers: farmer profiles and the share of women among them, PGs per commodity cluster and per
development stage, active members, and Executive Committee seats filled and held by women
(the case study's headline figures, ``docs/programme.md`` §4, §11: 81 PGs in 4 clusters, 1,496
farmers, 29% women, 398 EC seats, 16% held by women).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.farmers.models import Farmer
from service.groups.membership import EC_ROLES, Membership
from service.groups.producer_group import STAGES, ProducerGroup


@dataclass(frozen=True)
class Shape:
    """Counts in one scope. ``farmers``/``women``: profiles; ``pgs_by_cluster``: ``{cluster id or
    "": count}``; ``pgs_by_stage``: ``{stage: count}`` in :data:`STAGES` order; ``members``: active
    memberships; ``ec_seats``/``ec_women``: seats filled (of ``ec_seats_possible``: 5 per PG)."""

    farmers: int
    women: int
    pgs: int
    pgs_by_cluster: dict
    pgs_by_stage: dict
    members: int
    ec_seats: int
    ec_women: int
    ec_seats_possible: int

    @staticmethod
    def share(part: int, whole: int) -> int:
        """``part`` as a whole percentage of ``whole`` (0 when ``whole`` is 0)."""
        return round(100 * part / whole) if whole else 0


def shape(session: Session, scope) -> Shape:
    """The :class:`Shape` of what ``scope`` covers (6 aggregate queries)."""
    by_gender = dict(session.execute(select(Farmer.gender, func.count()).where(scope.farmers())
                                     .group_by(Farmer.gender)).all())
    pg_rows = session.execute(select(ProducerGroup.cluster_id, ProducerGroup.stage, func.count())
                              .where(scope.pgs()).group_by(ProducerGroup.cluster_id, ProducerGroup.stage)).all()
    by_cluster: dict[str, int] = {}
    by_stage = {stage: 0 for stage in STAGES}
    for cluster_id, stage, n in pg_rows:
        by_cluster[cluster_id or ""] = by_cluster.get(cluster_id or "", 0) + n
        by_stage[stage] = by_stage.get(stage, 0) + n
    pg_ids = select(ProducerGroup.id).where(scope.pgs())
    members = session.scalar(select(func.count()).select_from(Membership).where(
        Membership.status == "active", Membership.pg_id.in_(pg_ids))) or 0
    seats = dict(session.execute(
        select(Farmer.gender, func.count()).select_from(Membership).join(Farmer, Farmer.id == Membership.farmer_id)
        .where(Membership.status == "active", Membership.role.in_(EC_ROLES), Membership.pg_id.in_(pg_ids))
        .group_by(Farmer.gender)).all())
    pgs = sum(by_cluster.values())
    return Shape(farmers=sum(by_gender.values()), women=by_gender.get("female", 0), pgs=pgs,
                 pgs_by_cluster=dict(sorted(by_cluster.items())), pgs_by_stage=by_stage, members=members,
                 ec_seats=sum(seats.values()), ec_women=seats.get("female", 0),
                 ec_seats_possible=pgs * len(EC_ROLES))
