"""The Executive Committee (EC) of a producer group: its five seats and the history of who held them.

A PG's EC has one seat per role of :data:`~service.groups.membership.EC_ROLES` (``docs/programme.md``
§2: an EC of 5 elected by all members). The current holder of a seat is the active membership with
that role (``Membership.role``); every term of office is also an :class:`EcTerm` row: elected on a
date, with the end of its term, and closed (``ended_on``, ``end_reason``) when the seat is ended or
given to someone else. Terms are never deleted, so the seat history is kept.

A term's length is not in the case study: :data:`DEFAULT_TERM_YEARS` is the programme's own
default, used when an election does not give the end of its term.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Date, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow
from service.errors import Refusal
from service.farmers.models import Farmer
from service.groups.membership import EC_ROLES, Membership, assign_ec_seat, current
from service.groups.membership import leave as membership_leave
from service.groups.producer_group import ProducerGroup

DEFAULT_TERM_YEARS = 2
END_REASONS = ("ended", "replaced", "resigned", "left")


class EcTerm(Base):
    """One term of office on a PG's EC. ``role``: one of :data:`EC_ROLES`; ``farmer_id``: the holder
    (None once their data is erased); ``elected_on``: the election date; ``term_ends_on``: when the
    term runs out (local dates); ``ended_on``/``end_reason`` (:data:`END_REASONS`) once closed."""

    __tablename__ = "ec_term"
    __table_args__ = (
        Index("uq_ec_term_open_seat", "pg_id", "role", unique=True,
              sqlite_where=text("ended_on IS NULL"), postgresql_where=text("ended_on IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    pg_id: Mapped[int] = mapped_column(ForeignKey("producer_group.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="SET NULL"), index=True)
    elected_on: Mapped[dt.date] = mapped_column(Date)
    term_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Seat:
    """A seat as it stands: ``role``, the open ``term`` (None: vacant) and its ``holder``."""

    role: str
    term: EcTerm | None
    holder: Farmer | None


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def open_term(session: Session, pg_id: int, role: str) -> EcTerm | None:
    """The open term of ``role`` in the PG, or None (a vacant seat)."""
    return session.scalar(select(EcTerm).where(EcTerm.pg_id == pg_id, EcTerm.role == role, EcTerm.ended_on.is_(None)))


def seats(session: Session, pg_id: int) -> list[Seat]:
    """The PG's five seats in :data:`EC_ROLES` order, each with its open term and holder.

    A holder recorded only as a membership role (a seat given before terms were kept) shows with
    ``term`` None and its holder."""
    terms = {t.role: t for t in session.scalars(select(EcTerm).where(EcTerm.pg_id == pg_id, EcTerm.ended_on.is_(None)))}
    holders = {m.role: f for m, f in session.execute(
        select(Membership, Farmer).join(Farmer, Farmer.id == Membership.farmer_id)
        .where(Membership.pg_id == pg_id, Membership.status == "active", Membership.role != "member")).all()}
    return [Seat(role, terms.get(role), holders.get(role)) for role in EC_ROLES]


def history(session: Session, pg_id: int) -> list[EcTerm]:
    """Every term of the PG's EC, newest election first."""
    return list(session.scalars(select(EcTerm).where(EcTerm.pg_id == pg_id)
                                .order_by(EcTerm.elected_on.desc(), EcTerm.id.desc())))


def _check_role(role: str) -> None:
    if role not in EC_ROLES:
        raise ValueError(f"role must be one of {EC_ROLES}")


def fill(session: Session, pg: ProducerGroup, role: str, farmer: Farmer, elected_on: dt.date, *,
         term_ends_on: dt.date | None = None) -> EcTerm:
    """Give the vacant seat ``role`` of ``pg`` to ``farmer``, elected on ``elected_on`` (local date),
    for a term ending ``term_ends_on`` (default :data:`DEFAULT_TERM_YEARS` later). The farmer becomes
    an active member of ``pg`` if not yet.

    Raises ``ValueError`` for a role outside :data:`EC_ROLES`; ``Refusal``: ``staff.err.seat_taken``
    (the seat has a holder: :func:`replace`), ``staff.err.holds_seat`` (the farmer holds another seat
    of the PG), ``err.in_other_pg`` (``code``: the farmer is in another PG), ``staff.err.term_dates``
    (the term would end before it starts), ``staff.err.erased_farmer`` (the farmer's data was
    erased: a nameless profile cannot be elected).
    """
    _check_role(role)
    if farmer.erased_at is not None:
        raise Refusal("staff.err.erased_farmer")
    term_ends_on = term_ends_on or _years_later(elected_on, DEFAULT_TERM_YEARS)
    if term_ends_on <= elected_on:
        raise Refusal("staff.err.term_dates")
    holder = next((s.holder for s in seats(session, pg.id) if s.role == role), None)
    if open_term(session, pg.id, role) is not None or holder is not None:
        raise Refusal("staff.err.seat_taken", role=role)
    m = current(session, farmer)
    if m is not None and m.pg_id == pg.id and m.status == "active" and m.role != "member":
        raise Refusal("staff.err.holds_seat", role=m.role)
    assign_ec_seat(session, farmer, pg, role)
    term = EcTerm(pg_id=pg.id, role=role, farmer_id=farmer.id, elected_on=elected_on, term_ends_on=term_ends_on)
    session.add(term)
    session.flush()
    return term


def end(session: Session, pg: ProducerGroup, role: str, on: dt.date, reason: str = "ended") -> EcTerm | None:
    """End the seat ``role`` of ``pg`` on ``on`` (local date): its open term is closed with
    ``reason`` (:data:`END_REASONS`) and the holder stays an ordinary member. Returns the closed
    term (None for a seat held without a term). ``Refusal("staff.err.seat_vacant")`` for a vacant
    seat; ``ValueError`` for an unknown role or reason."""
    _check_role(role)
    if reason not in END_REASONS:
        raise ValueError(f"reason must be one of {END_REASONS}")
    term = open_term(session, pg.id, role)
    seat = session.scalar(select(Membership).where(Membership.pg_id == pg.id, Membership.role == role,
                                                   Membership.status == "active"))
    if term is None and seat is None:
        raise Refusal("staff.err.seat_vacant", role=role)
    if seat is not None:
        seat.role = "member"
    if term is not None:
        term.ended_on, term.end_reason = max(on, term.elected_on), reason
    session.flush()
    return term


def replace(session: Session, pg: ProducerGroup, role: str, farmer: Farmer, elected_on: dt.date, *,
            term_ends_on: dt.date | None = None) -> EcTerm:
    """Give the seat ``role`` of ``pg`` to ``farmer`` from ``elected_on``: the current holder's term
    (if any) ends that day as ``replaced``, then :func:`fill`. The same errors as :func:`fill`
    (``staff.err.holds_seat`` when the farmer already holds this or another seat)."""
    _check_role(role)
    if farmer.erased_at is not None:
        raise Refusal("staff.err.erased_farmer")
    m = current(session, farmer)
    if m is not None and m.pg_id == pg.id and m.status == "active" and m.role != "member":
        raise Refusal("staff.err.holds_seat", role=m.role)
    if open_term(session, pg.id, role) is not None or any(s.holder for s in seats(session, pg.id) if s.role == role):
        end(session, pg, role, elected_on, reason="replaced")
    return fill(session, pg, role, farmer, elected_on, term_ends_on=term_ends_on)


def close_for_leaver(session: Session, farmer_id: int, on: dt.date) -> int:
    """Close the open terms of a farmer who left their PG (``left``); returns how many."""
    n = 0
    for term in session.scalars(select(EcTerm).where(EcTerm.farmer_id == farmer_id, EcTerm.ended_on.is_(None))):
        term.ended_on, term.end_reason = max(on, term.elected_on), "left"
        n += 1
    session.flush()
    return n


def leave(session: Session, farmer: Farmer, on: dt.date) -> Membership:
    """The farmer leaves their PG (``membership.leave``) and every seat they hold goes with it:
    their open terms on the PG's EC and on a cluster committee close on ``on`` (local date) as
    ``left``. Returns the membership; ``Refusal("err.not_member")`` when there is none."""
    from service.groups import cluster_committee

    m = membership_leave(session, farmer)
    if m.role != "member":
        m.role = "member"
    close_for_leaver(session, farmer.id, on)
    cluster_committee.close_for_leaver(session, farmer.id, on)
    session.flush()
    return m
