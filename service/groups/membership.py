"""Membership of farmers in producer groups, and the Executive Committee (EC) seats.

A farmer holds at most one open (``pending`` or ``active``) membership at a
time. Joining creates a ``pending`` membership that a member of the PG's
Executive Committee approves (``APPROVE <member code>``, or by USSD) or rejects (USSD:
``rejected``); a PG that has no active EC yet (a forming group) admits members at once.
Leaving ends the membership (``left``; a pending request left is withdrawn), keeping its dates
for the reports. EC seats are the roles other than ``member``: five per PG
(``docs/programme.md`` §2).

The EC's "please approve" notices of a request (:func:`tell_ec`) and the applicant's decision
notice carry outbox dedupe keys (:func:`ec_notice_key`, :func:`decision_key`): once the request
is decided or withdrawn, the notices still queued (held by quiet hours, say) are withdrawn from
the outbox (``service.messaging.outbox.withdraw``) instead of going out stale.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.db import Base, utcnow
from service.errors import Refusal
from service.farmers.models import Farmer
from service.farmers.models import by_code as farmer_by_code
from service.groups.producer_group import ProducerGroup
from service.messaging import outbox
from service.messaging.message import queue_sms

EC_ROLES = ("chair", "deputy", "secretary", "treasurer", "ec_member")
ROLES = ("member", *EC_ROLES)
STATUSES = ("pending", "active", "left", "rejected")
#: the statuses of an open membership (a farmer holds at most one)
OPEN = ("pending", "active")


class Membership(Base):
    """A farmer's membership of a PG. ``role``: :data:`ROLES`; ``status``: :data:`STATUSES`;
    ``left_at`` when it ended (left, or the request rejected); ``approved_by``/``rejected_by``
    the EC member who decided the request; times are UTC."""

    __tablename__ = "membership"
    __table_args__ = (
        Index("uq_membership_open_farmer", "farmer_id", unique=True,
              sqlite_where=text("status IN ('pending', 'active')"),
              postgresql_where=text("status IN ('pending', 'active')")),
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
    rejected_by: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="SET NULL"))


def current(session: Session, farmer: Farmer) -> Membership | None:
    """The farmer's open (pending or active) membership, or None."""
    return session.scalar(select(Membership).where(
        Membership.farmer_id == farmer.id, Membership.status.in_(OPEN)))


def ec_members(session: Session, pg_id: int) -> list[tuple[Membership, Farmer]]:
    """Active EC seats of a PG with their holders, in the order of :data:`EC_ROLES`."""
    rows = session.execute(select(Membership, Farmer).join(Farmer, Farmer.id == Membership.farmer_id).where(
        Membership.pg_id == pg_id, Membership.status == "active", Membership.role.in_(EC_ROLES))).all()
    return sorted(((m, f) for m, f in rows), key=lambda mf: (EC_ROLES.index(mf[0].role), mf[1].id))


def ec_notice_key(m: Membership, ec: Farmer) -> str:
    """Outbox dedupe key of the "please approve" notice of request ``m`` to EC member ``ec``."""
    return f"join-ec:{m.id}:{ec.id}"


def decision_key(m: Membership) -> str:
    """Outbox dedupe key of the notice telling the applicant of request ``m`` the decision."""
    return f"join-decided:{m.id}"


def tell_ec(session: Session, pg: ProducerGroup, applicant: Farmer) -> int:
    """Queue one notice to each phone of the PG's Executive Committee that ``applicant`` waits
    for approval (``sms.join.ec_notice``, in the EC member's language, with the APPROVE command),
    whichever channel the request came by. A phone holding several seats is told once. Each
    notice carries :func:`ec_notice_key` of the applicant's pending request, so that deciding or
    withdrawing it withdraws the notices still queued (:func:`withdraw_ec_notices`).
    Returns the number of notices queued."""
    request = current(session, applicant)
    told: set[str] = set()
    for _, ec in ec_members(session, pg.id):
        if ec.phone in told:
            continue
        told.add(ec.phone)
        text = templates_sms.text("sms.join.ec_notice", ec.language, name=applicant.name,
                                  code=applicant.code, pg=pg.code)
        key = ec_notice_key(request, ec) if request is not None and request.status == "pending" else None
        queue_sms(session, ec.phone, text, kind="notice", farmer_id=ec.id, language=ec.language, dedupe_key=key)
    return len(told)


def withdraw_ec_notices(session: Session, m: Membership, why: str) -> int:
    """Withdraw the still queued "please approve" notices of request ``m`` (every EC member's):
    the request was decided or withdrawn. Rows already handed to the gateway are left alone
    (``service.messaging.outbox.withdraw``). Returns the rows withdrawn."""
    return outbox.withdraw(session, key_prefix=f"join-ec:{m.id}:", why=why)


def pending_requests(session: Session, pg_id: int) -> list[tuple[Membership, Farmer]]:
    """The PG's pending join requests with their applicants, oldest first."""
    return list(session.execute(select(Membership, Farmer).join(Farmer, Farmer.id == Membership.farmer_id).where(
        Membership.pg_id == pg_id, Membership.status == "pending").order_by(Membership.requested_at, Membership.id)))


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
    """End the farmer's open membership; ``Refusal("err.not_member")`` when there is none.

    A pending request left is withdrawn: the EC's queued "please approve" notices are withdrawn
    from the outbox; so is a decision notice not yet sent ("accepted" never reaches someone who
    has left)."""
    m = current(session, farmer)
    if m is None:
        raise Refusal("err.not_member")
    was_pending = m.status == "pending"
    m.status = "left"
    m.left_at = utcnow()
    session.flush()
    if was_pending:
        withdraw_ec_notices(session, m, "request withdrawn by the applicant")
    outbox.withdraw(session, keys=[decision_key(m)], why="the applicant left the group")
    return m


def ec_seat(session: Session, farmer: Farmer | None) -> Membership | None:
    """The farmer's active EC seat (membership of role in :data:`EC_ROLES`), or None."""
    m = current(session, farmer) if farmer is not None else None
    return m if m is not None and m.status == "active" and m.role in EC_ROLES else None


def find_request(session: Session, approver: Farmer, member_code: str) -> tuple[Membership, Farmer]:
    """The latest request of the farmer with ``member_code`` to the approver's PG, with that farmer.

    Raises ``Refusal``: ``err.not_ec`` (the approver holds no EC seat), ``err.member_unknown``
    (no request of that code in the approver's PG), ``err.request_withdrawn`` (``name``,
    ``code``: the applicant withdrew the request or left before it was decided)."""
    own = ec_seat(session, approver)
    if own is None:
        raise Refusal("err.not_ec")
    code = (member_code or "").strip()
    applicant = farmer_by_code(session, code)
    latest = None if applicant is None else session.scalar(select(Membership).where(
        Membership.farmer_id == applicant.id, Membership.pg_id == own.pg_id)
        .order_by(Membership.requested_at.desc(), Membership.id.desc()).limit(1))
    if latest is None:
        raise Refusal("err.member_unknown", code=code[:12])
    if latest.status == "left" and latest.joined_at is None:
        raise Refusal("err.request_withdrawn", name=applicant.name, code=applicant.code)
    if latest.status not in OPEN and latest.status != "rejected":
        raise Refusal("err.member_unknown", code=code[:12])
    return latest, applicant


def decide(session: Session, approver: Farmer, member_code: str, accept: bool, *,
           tell: bool = True) -> tuple[Membership, Farmer, bool]:
    """An EC member approves (``accept``) or rejects a pending request of their PG, by the
    applicant's member code, from either channel.

    Returns ``(membership, applicant, decided)``; ``decided`` False when the request was already
    decided (by anyone: nothing changes, nobody is told again). Deciding withdraws every EC
    member's queued "please approve" notice of the request and, when ``tell``, tells the
    applicant by SMS in their language (``sms.approve.welcome`` or ``sms.decide.rejected``, kind
    ``notice``, key :func:`decision_key`: two members deciding at once cannot both tell).
    Raises the ``Refusal`` of :func:`find_request`.
    """
    m, applicant = find_request(session, approver, member_code)
    if m.status != "pending":
        return m, applicant, False
    _settle(session, m, applicant, accept, approver.id, utcnow(), tell=tell,
            why=f"request {'approved' if accept else 'rejected'} by {approver.code}")
    return m, applicant, True


def _settle(session: Session, m: Membership, applicant: Farmer, accept: bool, by: int | None, now: dt.datetime, *,
            tell: bool, why: str) -> None:
    """Decide the pending request ``m`` (the rules shared by :func:`decide` and :func:`staff_decide`)."""
    if accept:
        m.status, m.joined_at, m.approved_by = "active", now, by
        key = "sms.approve.welcome"
    else:
        m.status, m.left_at, m.rejected_by = "rejected", now, by
        key = "sms.decide.rejected"
    session.flush()
    pg = session.get(ProducerGroup, m.pg_id)
    withdraw_ec_notices(session, m, why)
    if tell:
        queue_sms(session, applicant.phone, templates_sms.text(key, applicant.language, name=applicant.name,
                                                               pg=pg.code),
                  kind="notice", farmer_id=applicant.id, language=applicant.language, dedupe_key=decision_key(m))


def staff_decide(session: Session, m: Membership, accept: bool, on: dt.datetime) -> bool:
    """Staff (on the web pages) approve (``accept``) or refuse the join request ``m`` at ``on`` (UTC),
    with the rules of :func:`decide`: only a pending request is decided (returns False, changing
    nothing and telling nobody, when it was already decided); the EC's queued "please approve"
    notices are withdrawn and the applicant is told by SMS in their language (``sms.approve.welcome``
    or ``sms.decide.rejected``, key :func:`decision_key`). ``approved_by``/``rejected_by`` stay None:
    no EC member decided (the staff account is in the audit log).

    Raises ``Refusal("err.request_withdrawn", name, code)`` when the applicant withdrew the request."""
    applicant = session.get(Farmer, m.farmer_id)
    if m.status == "left" and m.joined_at is None:
        raise Refusal("err.request_withdrawn", name=applicant.name, code=applicant.code)
    if m.status != "pending":
        return False
    _settle(session, m, applicant, accept, None, on, tell=True,
            why=f"request {'approved' if accept else 'rejected'} by staff")
    return True


def approve(session: Session, approver: Farmer, member_code: str) -> tuple[Membership, Farmer]:
    """An EC member approves a pending membership of their PG by the applicant's member code
    (:func:`decide` with ``accept``, telling nobody: the EC's queued notices are withdrawn; the
    channels use :func:`decide`, which tells the applicant).

    Returns ``(membership, applicant)``; a member already active is returned unchanged. Raises
    ``Refusal``: ``err.not_ec``, ``err.member_unknown``, ``err.request_withdrawn``, and
    ``err.request_rejected`` (``name``, ``code``) when the request was rejected.
    """
    m, applicant, _ = decide(session, approver, member_code, accept=True, tell=False)
    if m.status == "rejected":
        raise Refusal("err.request_rejected", name=applicant.name, code=applicant.code)
    return m, applicant


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
