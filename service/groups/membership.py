"""Membership of farmers in producer groups, and the Executive Committee (EC) seats.

A farmer holds at most one open (``pending`` or ``active``) membership at a
time. Joining creates a ``pending`` membership that a member of the PG's
Executive Committee approves (``APPROVE <member code>``); a PG that has no
active EC yet (a forming group) admits members at once. Leaving ends the
membership (``left``), keeping its dates for the reports. EC seats are the
roles other than ``member``: five per PG (``docs/programme.md`` §2).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.db import Base, utcnow
from service.errors import Refusal
from service.farmers.models import Farmer
from service.groups.producer_group import ProducerGroup
from service.messaging.message import queue_sms

EC_ROLES = ("chair", "deputy", "secretary", "treasurer", "ec_member")
ROLES = ("member", *EC_ROLES)
STATUSES = ("pending", "active", "left")


class Membership(Base):
    """A farmer's membership of a PG. ``role``: :data:`ROLES`; ``status``: :data:`STATUSES`;
    times are UTC."""

    __tablename__ = "membership"
    __table_args__ = (
        Index("uq_membership_open_farmer", "farmer_id", unique=True,
              sqlite_where=text("status != 'left'"), postgresql_where=text("status != 'left'")),
        Index("uq_membership_ec_seat", "pg_id", "role", unique=True,
              sqlite_where=text("status = 'active' AND role != 'member'"),
              postgresql_where=text("status = 'active' AND role != 'member'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"), index=True)
    pg_id: Mapped[int] = mapped_column(ForeignKey("producer_group.id"), index=True)
    role: Mapped[str] = mapped_column(String(12), default="member")
    status: Mapped[str] = mapped_column(String(8), default="pending")
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    joined_at: Mapped[dt.datetime | None]
    left_at: Mapped[dt.datetime | None]
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("farmer.id"))


def current(session: Session, farmer: Farmer) -> Membership | None:
    """The farmer's open (pending or active) membership, or None."""
    return session.scalar(select(Membership).where(
        Membership.farmer_id == farmer.id, Membership.status != "left"))


def ec_members(session: Session, pg_id: int) -> list[tuple[Membership, Farmer]]:
    """Active EC seats of a PG with their holders, in the order of :data:`EC_ROLES`."""
    rows = session.execute(select(Membership, Farmer).join(Farmer, Farmer.id == Membership.farmer_id).where(
        Membership.pg_id == pg_id, Membership.status == "active", Membership.role.in_(EC_ROLES))).all()
    return sorted(((m, f) for m, f in rows), key=lambda mf: (EC_ROLES.index(mf[0].role), mf[1].id))


def tell_ec(session: Session, pg: ProducerGroup, applicant: Farmer) -> int:
    """Queue one notice to each phone of the PG's Executive Committee that ``applicant`` waits
    for approval (``sms.join.ec_notice``, in the EC member's language, with the APPROVE command),
    whichever channel the request came by. A phone holding several seats is told once.
    Returns the number of notices queued."""
    told: set[str] = set()
    for _, ec in ec_members(session, pg.id):
        if ec.phone in told:
            continue
        told.add(ec.phone)
        text = templates_sms.text("sms.join.ec_notice", ec.language, name=applicant.name,
                                  code=applicant.code, pg=pg.code)
        queue_sms(session, ec.phone, text, kind="notice", farmer_id=ec.id, language=ec.language)
    return len(told)


def join(session: Session, farmer: Farmer, pg: ProducerGroup) -> Membership:
    """Ask to join ``pg``; returns the membership (``pending``, or ``active`` when the PG has no EC).

    Joining the PG one already belongs to returns that membership unchanged.
    Raises ``Refusal("err.in_other_pg", code=...)`` when the farmer has an open
    membership of another PG.
    """
    open_m = current(session, farmer)
    if open_m is not None:
        if open_m.pg_id == pg.id:
            return open_m
        other = session.get(ProducerGroup, open_m.pg_id)
        raise Refusal("err.in_other_pg", code=other.code)
    has_ec = bool(ec_members(session, pg.id))
    now = utcnow()
    m = Membership(farmer_id=farmer.id, pg_id=pg.id, role="member",
                   status="pending" if has_ec else "active", requested_at=now,
                   joined_at=None if has_ec else now)
    session.add(m)
    session.flush()
    return m


def leave(session: Session, farmer: Farmer) -> Membership:
    """End the farmer's open membership; ``Refusal("err.not_member")`` when there is none."""
    m = current(session, farmer)
    if m is None:
        raise Refusal("err.not_member")
    m.status = "left"
    m.left_at = utcnow()
    session.flush()
    return m


def approve(session: Session, approver: Farmer, member_code: str) -> tuple[Membership, Farmer]:
    """An EC member approves a pending membership of their PG by the applicant's member code.

    Returns ``(membership, applicant)``. Raises ``Refusal``: ``err.not_ec``
    (approver holds no EC seat), ``err.member_unknown`` (no pending request of
    that code in the approver's PG).
    """
    own = current(session, approver)
    if own is None or own.status != "active" or own.role not in EC_ROLES:
        raise Refusal("err.not_ec")
    code = (member_code or "").strip()
    applicant = session.get(Farmer, int(code)) if code.isdecimal() and len(code) <= 9 else None
    pending = None if applicant is None else session.scalar(select(Membership).where(
        Membership.farmer_id == applicant.id, Membership.pg_id == own.pg_id, Membership.status != "left"))
    if pending is None:
        raise Refusal("err.member_unknown", code=code)
    if pending.status == "pending":
        pending.status = "active"
        pending.joined_at = utcnow()
        pending.approved_by = approver.id
        session.flush()
    return pending, applicant


def assign_ec_seat(session: Session, farmer: Farmer, pg: ProducerGroup, role: str) -> Membership:
    """Give ``farmer`` an EC seat (``role`` in :data:`EC_ROLES`) in ``pg``, making them an active member.

    ``ValueError`` for another role; ``Refusal("err.in_other_pg")`` when the
    farmer belongs to another PG.
    """
    if role not in EC_ROLES:
        raise ValueError(f"role must be one of {EC_ROLES}")
    m = current(session, farmer)
    if m is None:
        now = utcnow()
        m = Membership(farmer_id=farmer.id, pg_id=pg.id, status="active", requested_at=now, joined_at=now)
        session.add(m)
    elif m.pg_id != pg.id:
        raise Refusal("err.in_other_pg", code=session.get(ProducerGroup, m.pg_id).code)
    m.role = role
    if m.status == "pending":
        m.status, m.joined_at = "active", utcnow()
    session.flush()
    return m
