"""The committee of a commodity cluster: its five seats and the history of who held them.

A commodity cluster links about 20 PGs growing one commodity and is run by a 5-member Executive
Committee elected by its members (``docs/programme.md`` §2, §5); the cluster committees also
manage the collection centres (§6). A seat is held by a farmer who is an active member of one of
the cluster's PGs; the PG they came from is kept with the term (:attr:`ClusterTerm.pg_id`), since
a cluster committee is made of the PGs' representatives.

The seat roles are the PG EC's (:data:`~service.groups.membership.EC_ROLES`); the case study
names none for either body. Every term of office is a :class:`ClusterTerm` row, closed
(``ended_on``, ``end_reason``) when the seat is ended or given to someone else, and never deleted,
so the seat history is kept. A term's default length is the PG EC's
(:data:`~service.groups.committee.DEFAULT_TERM_YEARS`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Date, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow
from service.errors import Refusal
from service.farmers.models import Farmer
from service.groups.cluster import CommodityCluster
from service.groups.committee import DEFAULT_TERM_YEARS, END_REASONS, _years_later
from service.groups.membership import EC_ROLES, Membership
from service.groups.producer_group import ProducerGroup


class ClusterTerm(Base):
    """One term of office on a cluster's committee. ``cluster_id``: the cluster; ``role``: one of
    :data:`EC_ROLES`; ``farmer_id``: the holder (None once their data is erased); ``pg_id``: the PG
    the holder was a member of when elected; ``elected_on``/``term_ends_on``: local dates;
    ``ended_on``/``end_reason`` (:data:`END_REASONS`) once closed."""

    __tablename__ = "cluster_term"
    __table_args__ = (
        Index("uq_cluster_term_open_seat", "cluster_id", "role", unique=True,
              sqlite_where=text("ended_on IS NULL"), postgresql_where=text("ended_on IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("commodity_cluster.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="SET NULL"), index=True)
    pg_id: Mapped[int | None] = mapped_column(ForeignKey("producer_group.id"))
    elected_on: Mapped[dt.date] = mapped_column(Date)
    term_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class ClusterSeat:
    """A cluster committee seat as it stands: ``role``, the open ``term`` (None: vacant), its
    ``holder`` and the ``pg`` the holder represents."""

    role: str
    term: ClusterTerm | None
    holder: Farmer | None
    pg: ProducerGroup | None


def _check_role(role: str) -> None:
    if role not in EC_ROLES:
        raise ValueError(f"role must be one of {EC_ROLES}")


def open_term(session: Session, cluster_id: str, role: str) -> ClusterTerm | None:
    """The open term of ``role`` on the cluster's committee, or None (a vacant seat)."""
    return session.scalar(select(ClusterTerm).where(ClusterTerm.cluster_id == cluster_id, ClusterTerm.role == role,
                                                    ClusterTerm.ended_on.is_(None)))


def seats(session: Session, cluster_id: str) -> list[ClusterSeat]:
    """The cluster committee's five seats in :data:`EC_ROLES` order."""
    terms = {t.role: t for t in session.scalars(select(ClusterTerm).where(
        ClusterTerm.cluster_id == cluster_id, ClusterTerm.ended_on.is_(None)))}
    out = []
    for role in EC_ROLES:
        term = terms.get(role)
        holder = session.get(Farmer, term.farmer_id) if term is not None and term.farmer_id else None
        pg = session.get(ProducerGroup, term.pg_id) if term is not None and term.pg_id else None
        out.append(ClusterSeat(role, term, holder, pg))
    return out


def history(session: Session, cluster_id: str) -> list[ClusterTerm]:
    """Every term of the cluster's committee, newest election first."""
    return list(session.scalars(select(ClusterTerm).where(ClusterTerm.cluster_id == cluster_id)
                                .order_by(ClusterTerm.elected_on.desc(), ClusterTerm.id.desc())))


def eligible(session: Session, cluster_id: str) -> list[tuple[Farmer, ProducerGroup]]:
    """The farmers who may hold a seat: active members of the cluster's PGs (not erased), with
    their PG, by PG code then name."""
    rows = session.execute(
        select(Farmer, ProducerGroup).join(Membership, Membership.farmer_id == Farmer.id)
        .join(ProducerGroup, ProducerGroup.id == Membership.pg_id)
        .where(ProducerGroup.cluster_id == cluster_id, Membership.status == "active", Farmer.erased_at.is_(None))
        .order_by(ProducerGroup.code, Farmer.name, Farmer.id)).all()
    return [(f, pg) for f, pg in rows]


def _member_pg(session: Session, cluster: CommodityCluster, farmer: Farmer) -> ProducerGroup:
    pg = session.scalar(select(ProducerGroup).join(Membership, Membership.pg_id == ProducerGroup.id).where(
        Membership.farmer_id == farmer.id, Membership.status == "active", ProducerGroup.cluster_id == cluster.id))
    if pg is None or farmer.erased_at is not None:
        raise Refusal("staff.err.not_in_cluster")
    return pg


def fill(session: Session, cluster: CommodityCluster, role: str, farmer: Farmer, elected_on: dt.date, *,
         term_ends_on: dt.date | None = None) -> ClusterTerm:
    """Give the vacant seat ``role`` of the cluster's committee to ``farmer``, elected on
    ``elected_on`` (local date), for a term ending ``term_ends_on`` (default
    :data:`DEFAULT_TERM_YEARS` later).

    Raises ``ValueError`` for a role outside :data:`EC_ROLES`; ``Refusal``:
    ``staff.err.seat_taken`` (the seat has a holder: :func:`replace`), ``staff.err.holds_seat``
    (the farmer holds another seat of this committee), ``staff.err.not_in_cluster`` (the farmer is
    not an active member of one of the cluster's PGs), ``staff.err.term_dates``.
    """
    _check_role(role)
    term_ends_on = term_ends_on or _years_later(elected_on, DEFAULT_TERM_YEARS)
    if term_ends_on <= elected_on:
        raise Refusal("staff.err.term_dates")
    if open_term(session, cluster.id, role) is not None:
        raise Refusal("staff.err.seat_taken", role=role)
    held = session.scalar(select(ClusterTerm.role).where(ClusterTerm.cluster_id == cluster.id,
                                                         ClusterTerm.farmer_id == farmer.id,
                                                         ClusterTerm.ended_on.is_(None)))
    if held is not None:
        raise Refusal("staff.err.holds_seat", role=held)
    pg = _member_pg(session, cluster, farmer)
    term = ClusterTerm(cluster_id=cluster.id, role=role, farmer_id=farmer.id, pg_id=pg.id, elected_on=elected_on,
                       term_ends_on=term_ends_on)
    session.add(term)
    session.flush()
    return term


def end(session: Session, cluster: CommodityCluster, role: str, on: dt.date, reason: str = "ended") -> ClusterTerm:
    """End the seat ``role`` of the cluster's committee on ``on`` (local date, not before the
    election) with ``reason`` (:data:`END_REASONS`); returns the closed term.
    ``Refusal("staff.err.seat_vacant")`` for a vacant seat; ``ValueError`` for an unknown role or reason."""
    _check_role(role)
    if reason not in END_REASONS:
        raise ValueError(f"reason must be one of {END_REASONS}")
    term = open_term(session, cluster.id, role)
    if term is None:
        raise Refusal("staff.err.seat_vacant", role=role)
    term.ended_on, term.end_reason = max(on, term.elected_on), reason
    session.flush()
    return term


def replace(session: Session, cluster: CommodityCluster, role: str, farmer: Farmer, elected_on: dt.date, *,
            term_ends_on: dt.date | None = None) -> ClusterTerm:
    """Give the seat ``role`` to ``farmer`` from ``elected_on``: the current holder's term (if any)
    ends that day as ``replaced``, then :func:`fill`. The same errors as :func:`fill`; nothing is
    changed when it refuses."""
    _check_role(role)
    held = session.scalar(select(ClusterTerm.role).where(ClusterTerm.cluster_id == cluster.id,
                                                         ClusterTerm.farmer_id == farmer.id,
                                                         ClusterTerm.ended_on.is_(None)))
    if held is not None:
        raise Refusal("staff.err.holds_seat", role=held)
    _member_pg(session, cluster, farmer)
    if open_term(session, cluster.id, role) is not None:
        end(session, cluster, role, elected_on, reason="replaced")
    return fill(session, cluster, role, farmer, elected_on, term_ends_on=term_ends_on)


def close_for_leaver(session: Session, farmer_id: int, on: dt.date) -> int:
    """Close the open cluster committee terms of a farmer who left their PG (``left``); returns how many."""
    n = 0
    for term in session.scalars(select(ClusterTerm).where(ClusterTerm.farmer_id == farmer_id,
                                                          ClusterTerm.ended_on.is_(None))):
        term.ended_on, term.end_reason = max(on, term.elected_on), "left"
        n += 1
    session.flush()
    return n
