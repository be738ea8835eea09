"""Delivery reports and opt-out notices from AT (``docs/gateway-africastalking.md`` §5, §6).

Every report is kept raw (:class:`service.messaging.message.DeliveryReport`), deduplicated
on (message id, status, retryCount). A report moves its outbox row forward
only, with a conditional UPDATE: ``accepted → in_transit → delivered | failed``;
the first final status wins. A report whose message id is not stored yet is
parked as an orphan and applied once the dispatcher stores that id
(:func:`apply_orphans`); orphans older than :data:`ORPHAN_TTL` are ignored.
No Flask here: callers pass a Session and plain values and commit.

Reconciling ``unconfirmed`` rows
    A row is ``unconfirmed`` without a message id when AT may have accepted it
    but we never read AT's answer (read timeout, unreadable answer, the phone
    missing from the answer, an unexpected error, a dispatcher that stopped
    mid-send). It is never resent automatically. Its delivery report carries an
    id we do not know, so the rule is:

    1. A report whose id is unknown (an orphan) and that carries a
       ``phoneNumber`` is matched to the ``unconfirmed`` row without a message id
       to that phone whose ``submitted_at`` lies within :data:`MATCH_WINDOW`
       (2 h) before the report was received (at most :data:`MATCH_SKEW`, 1 min,
       after it, for clocks of different machines); the earliest such row first.
    2. No match while that phone has a row in flight (``sending`` and handed to
       the gateway): the report may be that row's, whose id is not stored yet.
    3. On a match the report's id is stored on the row, which becomes
       ``accepted`` (AT did take it), and every parked report of that id is
       applied in the order received (``Success`` → ``delivered``;
       ``Sent``/``Submitted``/``Buffered`` → ``in_transit``; ``Failed``,
       ``Rejected``, ``Expired`` → ``failed``); later reports of that id match
       directly.
    4. Matching runs when the report arrives (:func:`record_report`), when the
       dispatcher marks rows ``unconfirmed`` (reports that came while AT kept us
       waiting) and in every :func:`sweep` (all parked orphans younger than
       :data:`ORPHAN_TTL`).
    5. An ``unconfirmed`` row without a message id that nothing matched within
       :data:`UNCONFIRMED_DEADLINE` (24 h) of its submission is settled
       ``failed``: "outcome unknown: no delivery report within 24 h; not
       resent". A row AT accepted (it has an id) whose final report never came
       is ``unconfirmed`` after :data:`NO_REPORT_AFTER` (24 h; a late final
       report still applies) and settled ``failed`` after
       :data:`UNREPORTED_DEADLINE` (72 h). Nothing is ever resent blindly; a
       person may (``flask --app service outbox release --duplicate-ok``).

    The match is a heuristic: two unconfirmed rows to one phone inside the
    window may swap ids (both get a report), and a report of another
    application on the same AT account to that phone could settle our row.

:func:`sweep` also applies the outbox rules of ``service.messaging.outbox`` (expired
rows, held rows released or failed).
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from service import metrics
from service.messaging import optout
from service.messaging import outbox
from service.db import utcnow
from service.logs import mask_phone
from service.messaging.message import DeliveryReport, OutboundMessage
from service.reference.phone import InvalidPhone, to_e164

log = logging.getLogger(__name__)

ORPHAN_TTL = dt.timedelta(hours=24)
NO_REPORT_AFTER = dt.timedelta(hours=24)
# matching an orphan report to an unconfirmed row (see the module docstring)
MATCH_WINDOW = dt.timedelta(hours=2)
MATCH_SKEW = dt.timedelta(minutes=1)
UNCONFIRMED_DEADLINE = dt.timedelta(hours=24)
UNREPORTED_DEADLINE = dt.timedelta(hours=72)
STUCK_SENDING_AFTER = dt.timedelta(hours=1)
# a claimed row its dispatcher never handed to the gateway (the dispatcher died): queued again
UNSUBMITTED_AFTER = dt.timedelta(minutes=10)

# AT status word (lower case) → our state; any other word changes nothing
STATE_OF_STATUS = {
    "sent": "in_transit", "submitted": "in_transit", "buffered": "in_transit",
    "success": "delivered",
    "failed": "failed", "rejected": "failed", "expired": "failed",
}
# forward only: the states a row may be in for a report to move it
MOVES_FROM = {
    "in_transit": ("accepted",),
    "delivered": ("accepted", "in_transit", "unconfirmed"),
    "failed": ("accepted", "in_transit", "unconfirmed"),
}
BLACKLIST_REASON = "userinblacklist"
BAD_NUMBER_REASONS = ("userdoesnotexist", "notnetworksubscriber")
PREMIUM_ONLY_REASONS = ("insufficientcredit", "invalidlinkid", "usernotsubscribedtoproduct")

# answers of record_report
DUPLICATE, ORPHAN, APPLIED = "duplicate", "orphan", "applied"


class BadReport(ValueError):
    """A callback without the fields that identify it (report ``id``/``status``, opt-out ``phoneNumber``)."""


def _phone_or_none(raw: str) -> str | None:
    try:
        return to_e164(raw)
    except InvalidPhone:
        return None


MAX_RETRY_COUNT = 1_000_000  # AT reports single digits; anything larger is junk, kept as this cap


def _retry_count(raw: str) -> int:
    """AT's ``retryCount`` as an int in [0, MAX_RETRY_COUNT]; missing or not a number → 0."""
    try:
        return min(MAX_RETRY_COUNT, max(0, int(str(raw).strip())))
    except ValueError:
        return 0


def record_report(session: Session, *, message_id: str, status: str, phone: str = "",
                  network_code: str = "", failure_reason: str = "", retry_count: str | int = "",
                  now: dt.datetime | None = None, gateway: str = "africastalking") -> str:
    """Store one delivery report as AT posted it (strings, possibly empty) and apply it.

    Returns :data:`DUPLICATE` (same id, status and retryCount seen before:
    nothing changes), :data:`ORPHAN` (message id unknown and no unconfirmed row
    matched: parked) or :data:`APPLIED` (the row was found by id, or an
    unconfirmed row matched by phone and time; its state moved forward if the
    status allows). ``UserInBlackList`` puts the phone on the suppression list.
    Raises :class:`BadReport` when ``message_id`` or ``status`` is empty. ``gateway``: the
    gateway that posted the report, the label of its ``service.metrics`` counts.
    """
    message_id, status = (message_id or "").strip(), (status or "").strip()
    if not message_id or not status:
        raise BadReport("id and status are required")
    if len(message_id) > 100:
        raise BadReport("id too long")
    now = now or utcnow()
    e164 = _phone_or_none(phone)
    reason = (failure_reason or "").strip()[:100] or None
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    report_id = session.scalar(
        insert(DeliveryReport)
        .values(gateway_message_id=message_id, status=status[:20], phone=e164,
                network_code=(network_code or "").strip()[:12] or None, failure_reason=reason,
                retry_count=_retry_count(retry_count), applied=False, received_at=now)
        .on_conflict_do_nothing()
        .returning(DeliveryReport.id)
    )
    if report_id is None:
        return DUPLICATE
    report = session.get(DeliveryReport, report_id)
    _act_on_reason(session, report)
    known = session.scalar(select(OutboundMessage.id).where(OutboundMessage.gateway_message_id == message_id))
    if known is None:
        if _match(session, report, now):
            return APPLIED
        log.info("delivery report for unknown message id %s parked as an orphan", message_id)
        return ORPHAN
    _apply(session, report, now, gateway)
    return APPLIED


def _act_on_reason(session: Session, report: DeliveryReport) -> None:
    reason = (report.failure_reason or "").lower()
    if reason == BLACKLIST_REASON and report.phone:
        optout.opt_out(session, report.phone, "blacklist")
    elif reason in BAD_NUMBER_REASONS:
        log.warning("number %s needs correction: %s", mask_phone(report.phone), report.failure_reason)
    elif reason in PREMIUM_ONLY_REASONS:
        log.error("ALERT: premium-only delivery failure %s on bulk message %s",
                  report.failure_reason, report.gateway_message_id)


def _apply(session: Session, report: DeliveryReport, now: dt.datetime, gateway: str = "africastalking") -> bool:
    """Move the report's outbox row forward (conditional UPDATE); True when its state changed
    (counted in ``service.metrics`` under ``gateway``)."""
    report.applied = True
    state = STATE_OF_STATUS.get(report.status.lower())
    if state is None:
        log.warning("delivery report %s has unknown status %r: stored, state unchanged",
                    report.gateway_message_id, report.status)
        return False
    values: dict = {"status": state}
    if state == "delivered":
        values["delivered_at"] = now
    elif state == "failed":
        values["failure_reason"] = (f"{report.status}: {report.failure_reason}" if report.failure_reason
                                    else report.status)
    moved = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.gateway_message_id == report.gateway_message_id,
               OutboundMessage.status.in_(MOVES_FROM[state]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount > 0:
        metrics.delivered(gateway, state, report.failure_reason or report.status)
    return moved.rowcount > 0


def apply_orphans(session: Session, message_ids: list[str] | None = None,
                  now: dt.datetime | None = None) -> int:
    """Apply parked reports whose message id is now stored; returns how many were applied.

    ``message_ids`` limits the work to these ids (the dispatcher passes the ids
    it just stored); None looks at every orphan. Reports are applied in the
    order received; orphans older than :data:`ORPHAN_TTL` are left alone.
    """
    now = now or utcnow()
    query = (select(DeliveryReport)
             .join(OutboundMessage, OutboundMessage.gateway_message_id == DeliveryReport.gateway_message_id)
             .where(DeliveryReport.applied.is_(False), DeliveryReport.received_at >= now - ORPHAN_TTL)
             .order_by(DeliveryReport.id))
    if message_ids is not None:
        if not message_ids:
            return 0
        query = query.where(DeliveryReport.gateway_message_id.in_(message_ids))
    reports = session.scalars(query).all()
    for report in reports:
        _apply(session, report, now)
    return len(reports)


def _match(session: Session, report: DeliveryReport, now: dt.datetime) -> bool:
    """Rule 1-3 of the module docstring for one orphan: True when it matched an unconfirmed row
    (the row now carries the report's id and every parked report of that id is applied)."""
    if not report.phone:
        return False
    in_flight = session.scalar(select(OutboundMessage.id).where(
        OutboundMessage.phone == report.phone, OutboundMessage.status == "sending",
        OutboundMessage.submitted_at.is_not(None)).limit(1))
    if in_flight is not None:
        return False
    row_id = session.scalar(
        select(OutboundMessage.id)
        .where(OutboundMessage.phone == report.phone, OutboundMessage.status == "unconfirmed",
               OutboundMessage.gateway_message_id.is_(None),
               OutboundMessage.submitted_at >= report.received_at - MATCH_WINDOW,
               OutboundMessage.submitted_at <= report.received_at + MATCH_SKEW)
        .order_by(OutboundMessage.submitted_at, OutboundMessage.id)
        .limit(1))
    if row_id is None:
        return False
    other = aliased(OutboundMessage)
    try:
        with session.begin_nested():  # a row that got this id meanwhile: no match, the report stays parked
            moved = session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == row_id, OutboundMessage.status == "unconfirmed",
                       OutboundMessage.gateway_message_id.is_(None),
                       ~exists().where(other.gateway_message_id == report.gateway_message_id))
                .values(gateway_message_id=report.gateway_message_id, status="accepted", failure_reason=None)
                .execution_options(synchronize_session=False)
            ).rowcount
    except IntegrityError:
        return False
    if not moved:
        return False
    log.info("unconfirmed outbox row %s matched to delivery report %s (%s) by phone and time",
             row_id, report.gateway_message_id, report.status)
    apply_orphans(session, [report.gateway_message_id], now)
    return True


def match_orphans(session: Session, now: dt.datetime | None = None, phones: list[str] | None = None) -> int:
    """Match parked orphan reports (younger than :data:`ORPHAN_TTL`, with a phone) to unconfirmed
    rows by phone and time (module docstring); ``phones`` limits it to those phones (the
    dispatcher passes the phones of the rows it just marked unconfirmed). Returns rows matched."""
    now = now or utcnow()
    if phones is not None and not phones:
        return 0
    query = (select(DeliveryReport)
             .where(DeliveryReport.applied.is_(False), DeliveryReport.phone.is_not(None),
                    DeliveryReport.received_at >= now - ORPHAN_TTL)
             .order_by(DeliveryReport.id)
             .execution_options(populate_existing=True))
    if phones is not None:
        query = query.where(DeliveryReport.phone.in_(sorted(set(phones))))
    matched = 0
    for report in session.scalars(query).all():
        if report.applied:  # applied with an earlier report of the same id
            continue
        known = session.scalar(select(OutboundMessage.id)
                               .where(OutboundMessage.gateway_message_id == report.gateway_message_id))
        if known is not None:
            apply_orphans(session, [report.gateway_message_id], now)
        elif _match(session, report, now):
            matched += 1
    return matched


def match_unconfirmed(session: Session, rows: list[OutboundMessage], now: dt.datetime | None = None) -> int:
    """The dispatcher just marked ``rows`` unconfirmed: match the reports parked for their phones
    (they may have come while AT kept the request waiting). Returns rows matched."""
    return match_orphans(session, now, [row.phone for row in rows if row.gateway_message_id is None])


def record_optout(session: Session, phone: str) -> bool:
    """AT's bulk-SMS opt-out notice: suppress ``phone`` (any form AT posts).

    Returns False when it already was suppressed. Raises :class:`BadReport`
    when ``phone`` is not a phone number.
    """
    e164 = _phone_or_none(phone)
    if e164 is None:
        raise BadReport("phoneNumber is missing or invalid")
    return optout.opt_out(session, e164, "gateway_optout")


def sweep(session: Session, now: dt.datetime | None = None) -> dict[str, int]:
    """Housekeeping the dispatcher cannot do in its pass; returns counts by kind.

    ``no_report``: accepted/in-transit rows sent more than
    :data:`NO_REPORT_AFTER` ago become ``unconfirmed`` (a late final report
    still applies; nothing is resent). ``requeued``: rows claimed more than
    :data:`UNSUBMITTED_AFTER` ago by a dispatcher that never handed them to the
    gateway (it died) go back to the queue. ``stuck``: rows handed to the gateway
    more than :data:`STUCK_SENDING_AFTER` ago without a result (the dispatcher
    stopped mid-send) become ``unconfirmed``, never resent. ``orphans``: parked
    reports applied now by their id; ``matched``: unconfirmed rows matched to a
    parked report by phone and time; ``settled``: unconfirmed rows past their
    deadline failed as "outcome unknown" (module docstring); ``expired``:
    queued or held rows past their deadline failed unsent; ``released`` /
    ``held_failed``: held rows back in the queue / given up (``service.messaging.outbox``).
    """
    now = now or utcnow()
    hours = int(NO_REPORT_AFTER.total_seconds() // 3600)
    no_report = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status.in_(("accepted", "in_transit")),
               OutboundMessage.sent_at < now - NO_REPORT_AFTER)
        .values(status="unconfirmed", failure_reason=f"no delivery report after {hours} h")
        .execution_options(synchronize_session=False)
    ).rowcount
    requeued = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == "sending", OutboundMessage.submitted_at.is_(None),
               OutboundMessage.sent_at < now - UNSUBMITTED_AFTER)
        .values(status="queued", attempts=OutboundMessage.attempts - 1, next_attempt_at=now,
                claimed_by=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    stuck = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == "sending", OutboundMessage.submitted_at.is_not(None),
               OutboundMessage.submitted_at < now - STUCK_SENDING_AFTER)
        .values(status="unconfirmed", failure_reason="dispatcher stopped during the send; not resent")
        .execution_options(synchronize_session=False)
    ).rowcount
    orphans = apply_orphans(session, None, now)
    matched = match_orphans(session, now)
    settled = _settle_unconfirmed(session, now)
    expired = outbox.expire_overdue(session, now)
    released, held_failed = outbox.review_held(session, now)
    return {"no_report": no_report, "requeued": requeued, "stuck": stuck, "orphans": orphans,
            "matched": matched, "settled": settled, "expired": expired, "released": released,
            "held_failed": held_failed}


def _settle_unconfirmed(session: Session, now: dt.datetime) -> int:
    """Rule 5 of the module docstring: unconfirmed rows past their deadline become ``failed``."""
    unmatched = int(UNCONFIRMED_DEADLINE.total_seconds() // 3600)
    unreported = int(UNREPORTED_DEADLINE.total_seconds() // 3600)
    settled = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == "unconfirmed", OutboundMessage.gateway_message_id.is_(None),
               func.coalesce(OutboundMessage.submitted_at, OutboundMessage.sent_at) < now - UNCONFIRMED_DEADLINE)
        .values(status="failed",
                failure_reason=f"outcome unknown: no delivery report within {unmatched} h; not resent")
        .execution_options(synchronize_session=False)
    ).rowcount
    settled += session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == "unconfirmed", OutboundMessage.gateway_message_id.is_not(None),
               OutboundMessage.sent_at < now - UNREPORTED_DEADLINE)
        .values(status="failed", failure_reason=f"outcome unknown: accepted by AT, no final delivery report "
                                                f"within {unreported} h; not resent")
        .execution_options(synchronize_session=False)
    ).rowcount
    if settled:
        log.warning("%d unconfirmed outbox rows settled as failed (outcome unknown; not resent)", settled)
    return settled
