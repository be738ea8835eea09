"""Outbox rules for rows that wait too long, and what a person sees and settles.

Rules the sweep applies (``service.messaging.delivery.sweep``, every 10 minutes):

Deadline
    A ``queued`` or ``held`` row whose ``expires_at`` has passed is not sent:
    it becomes ``failed`` with "expired: not sent within 24 h" (the lifetimes
    per kind are in ``service.messaging.message.LIFETIME``). The dispatcher does the same
    for the due rows it meets (:func:`expire_overdue` catches the rest: rows
    waiting in a backoff, behind an outage or account hold, or ``held``).

Held rows
    AT answered a statusCode outside its table for the recipient (e.g. 408):
    not accepted, cause unknown. The row stays ``held`` for :data:`HELD_REVIEW`
    (1 h) so a person can look (``flask --app service outbox status``) and
    settle it by hand; then :func:`review_held` puts it back in the queue
    (its next send is another attempt) while it has had fewer than
    :data:`HELD_MAX_ATTEMPTS` (3) attempts, else fails it ("not accepted after
    3 attempts: 408 Failed"). Three tries over about two hours tell a one-off
    refusal from a systematic one without sending the same refused text all day.

Withdrawn rows
    A feature may take back rows that no longer hold before they go (the EC's "please approve"
    notices of a request another member has decided, held by quiet hours): :func:`withdraw`
    marks ``withdrawn`` the rows of a dedupe-key prefix that are still ``queued`` and were never
    accepted by the gateway, in one conditional UPDATE. A dispatcher claims a row with the same
    condition (``status = 'queued'``), so a row is either claimed (and sent once) or withdrawn
    (and never sent), never both; rows already ``sending``, ``held``, ``unconfirmed`` or sent are
    left alone. ``release`` does not bring a withdrawn row back.

By hand (``flask --app service outbox status|release|fail``, :func:`status`,
:func:`release`, :func:`fail`): ``release`` puts ``held``, ``failed`` or
``unconfirmed`` rows back in the queue with fresh attempts and deadline; a row
AT may already have (``unconfirmed``, or one carrying AT's message id) only when
the person accepts a possible duplicate. ``fail`` settles ``queued``, ``held``
or ``unconfirmed`` rows with a reason. No Flask here: callers pass a Session and
commit.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from service.db import utcnow
from service.messaging import gateway_state
from service.messaging.gateway_state import GatewayState
from service.messaging.message import OUT_STATES, OutboundMessage, deadline, expiry_reason

log = logging.getLogger(__name__)

HELD_REVIEW = dt.timedelta(hours=1)
HELD_MAX_ATTEMPTS = 3
# a queued row due longer ago than this is "past due": a working dispatcher sends due rows within seconds
PAST_DUE = dt.timedelta(minutes=5)
CHUNK = 500  # ids per UPDATE

RELEASABLE = ("held", "failed", "unconfirmed")
FAILABLE = ("queued", "held", "unconfirmed")


def expire_overdue(session: Session, now: dt.datetime) -> int:
    """Fail every ``queued`` or ``held`` row whose deadline is at or before ``now``; returns how many."""
    rows = session.execute(
        select(OutboundMessage.id, OutboundMessage.created_at, OutboundMessage.expires_at, OutboundMessage.kind)
        .where(OutboundMessage.status.in_(("queued", "held")), OutboundMessage.expires_at <= now)
    ).all()
    by_reason: dict[str, list[int]] = {}
    kinds: Counter = Counter()
    for r in rows:
        by_reason.setdefault(expiry_reason(r.created_at, r.expires_at), []).append(r.id)
        kinds[r.kind] += 1
    expired = 0
    for reason, ids in by_reason.items():
        for start in range(0, len(ids), CHUNK):
            expired += session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_(ids[start:start + CHUNK]),
                       OutboundMessage.status.in_(("queued", "held")))
                .values(status="failed", failure_reason=reason)
                .execution_options(synchronize_session=False)
            ).rowcount
    if expired:
        log.warning("%d outbox rows expired unsent (deadline passed): %s", expired,
                    ", ".join(f"{kind} ×{n}" for kind, n in kinds.most_common()))
    return expired


def withdraw(session: Session, *, why: str, key_prefix: str = "", keys: Iterable[str] = ()) -> int:
    """Mark ``withdrawn`` (``failure_reason`` ``"withdrawn: <why>"``) the outbox rows whose
    ``dedupe_key`` is one of ``keys`` or starts with ``key_prefix``, when they are still
    ``queued`` without a gateway message id (never accepted: not yet sent, or waiting for a retry
    after the gateway refused them). Rows a dispatcher has claimed meanwhile (``sending``) or
    that went are left as they are: the UPDATE re-checks the state, as the dispatcher's claim
    does, so each row is sent once or not at all. In the caller's transaction (pending ORM rows
    are flushed first); returns the rows withdrawn. ``ValueError`` without keys or prefix."""
    keys = [k for k in keys if k]
    if not key_prefix and not keys:
        raise ValueError("give the dedupe keys or the key prefix of the rows to withdraw")
    session.flush()
    chosen = []
    if keys:
        chosen.append(OutboundMessage.dedupe_key.in_(keys))
    if key_prefix:
        pattern = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        chosen.append(OutboundMessage.dedupe_key.like(pattern, escape="\\"))
    count = session.execute(
        update(OutboundMessage)
        .where(or_(*chosen), OutboundMessage.status == "queued", OutboundMessage.gateway_message_id.is_(None))
        .values(status="withdrawn", failure_reason=f"withdrawn: {why}"[:200], updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if count:
        log.info("%d outbox rows withdrawn unsent (%s): %s", count, key_prefix or ", ".join(keys)[:80], why[:80])
    return count


def review_held(session: Session, now: dt.datetime) -> tuple[int, int]:
    """Settle ``held`` rows held for :data:`HELD_REVIEW` (since their latest attempt):
    back to the queue below :data:`HELD_MAX_ATTEMPTS` attempts, else ``failed``.
    Returns (released, failed)."""
    rows = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.status == "held",
               func.coalesce(OutboundMessage.sent_at, OutboundMessage.created_at) <= now - HELD_REVIEW)
        .order_by(OutboundMessage.id)
        .execution_options(populate_existing=True)
    ).all()
    released = failed = 0
    for row in rows:
        if row.attempts >= HELD_MAX_ATTEMPTS:
            row.status = "failed"
            row.failure_reason = f"not accepted after {row.attempts} attempts: {row.failure_reason}"[:200]
            failed += 1
            log.warning("held outbox row %s failed: %s", row.id, row.failure_reason)
        else:
            row.status, row.next_attempt_at, row.claimed_by, row.submitted_at = "queued", now, None, None
            released += 1
            log.info("held outbox row %s released to the queue (attempt %d of at most %d): %s",
                     row.id, row.attempts + 1, HELD_MAX_ATTEMPTS, row.failure_reason)
    session.flush()
    return released, failed


@dataclass
class Status:
    """What :func:`status` found. ``states``: state → rows; ``groups``: a heading (e.g.
    ``"held"``) → [(reason, rows)], most rows first, for the states that need a person;
    ``gateways``: each gateway's :class:`GatewayState` row; ``holds``: the holds in force, as
    ``GET /readyz`` sees them (``service.messaging.gateway_state.holds``: gateway, cause, state)."""

    states: dict[str, int] = field(default_factory=dict)
    groups: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    gateways: list[GatewayState] = field(default_factory=list)
    holds: list[tuple[str, str, GatewayState]] = field(default_factory=list)


def status(session: Session, now: dt.datetime, hours: float = 24) -> Status:
    """Counts by state, and by reason for ``queued`` rows past due (:data:`PAST_DUE`), ``sending``,
    ``held``, ``unconfirmed`` and rows ``failed`` in the last ``hours``; and the gateways' outage state."""
    result = Status()
    counts = dict(session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all())
    result.states = {state: counts.get(state, 0) for state in OUT_STATES if counts.get(state)}
    since = now - dt.timedelta(hours=hours)
    groups = (
        ("queued past due", (OutboundMessage.status == "queued", OutboundMessage.next_attempt_at <= now - PAST_DUE)),
        ("sending", (OutboundMessage.status == "sending",)),
        ("held", (OutboundMessage.status == "held",)),
        ("unconfirmed", (OutboundMessage.status == "unconfirmed",)),
        (f"failed in the last {hours:g} h", (OutboundMessage.status == "failed", OutboundMessage.updated_at >= since)),
    )
    for heading, where in groups:
        reason = func.coalesce(OutboundMessage.failure_reason, "")
        found = session.execute(select(reason, func.count()).where(*where).group_by(reason)
                                .order_by(func.count().desc(), reason)).all()
        if found:
            result.groups[heading] = [(text or "(no reason)", n) for text, n in found]
    result.gateways = list(session.scalars(select(GatewayState).order_by(GatewayState.gateway)))
    result.holds = gateway_state.holds(session, now)
    return result


def choose(session: Session, *, ids: Iterable[int] = (), state: str | None = None,
           reason: str | None = None) -> list[OutboundMessage]:
    """Rows by id (any of ``ids``), and/or ``state``, and/or ``reason`` (a case-insensitive part of
    ``failure_reason``), oldest first. Raises ``ValueError`` when no criterion is given."""
    ids = list(ids)
    if not ids and not state and not reason:
        raise ValueError("choose rows by id, state or reason")
    query = select(OutboundMessage).order_by(OutboundMessage.id).execution_options(populate_existing=True)
    if ids:
        query = query.where(OutboundMessage.id.in_(ids))
    if state:
        query = query.where(OutboundMessage.status == state)
    if reason:
        pattern = "%" + reason.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(OutboundMessage.failure_reason).like(pattern, escape="\\"))
    return list(session.scalars(query))


def may_have(row: OutboundMessage) -> bool:
    """True when AT may already hold the row (``unconfirmed``, or AT's message id is stored):
    sending it again may give the farmer a duplicate."""
    return row.status == "unconfirmed" or row.gateway_message_id is not None


def why_not_released(row: OutboundMessage, duplicate_ok: bool = False) -> str | None:
    """Why :func:`release` would leave ``row`` alone, or None when it may be released."""
    if row.status not in RELEASABLE:
        return f"{row.status}: only {', '.join(RELEASABLE)} rows can be released"
    if may_have(row) and not duplicate_ok:
        return "AT may already have it: release it with --duplicate-ok to send it again"
    return None


def why_not_failed(row: OutboundMessage) -> str | None:
    """Why :func:`fail` would leave ``row`` alone, or None when it may be failed."""
    if row.status not in FAILABLE:
        return f"{row.status}: only {', '.join(FAILABLE)} rows can be failed"
    return None


def release(session: Session, rows: list[OutboundMessage], now: dt.datetime, *,
            duplicate_ok: bool = False) -> tuple[list[OutboundMessage], list[tuple[OutboundMessage, str]]]:
    """Put ``held``, ``failed`` or ``unconfirmed`` rows back in the queue, due ``now``, with fresh
    attempts and, when theirs has passed, a fresh deadline (``service.messaging.message.deadline``).
    Rows AT may have (:func:`may_have`) only with ``duplicate_ok``. Returns (released,
    [(row, why it was left)])."""
    released, left = [], []
    for row in rows:
        why = why_not_released(row, duplicate_ok)
        if why:
            left.append((row, why))
            continue
        row.status, row.attempts, row.next_attempt_at = "queued", 0, now
        row.expires_at = max(row.expires_at, deadline(row.kind, now))
        row.failure_reason = row.gateway_message_id = row.gateway_status_code = None
        row.cost = row.billed_parts = row.claimed_by = row.submitted_at = row.delivered_at = None
        released.append(row)
    session.flush()
    if released:
        log.warning("%d outbox rows released to the queue by hand (ids %s)", len(released),
                    _ids(r.id for r in released))
    return released, left


def fail(session: Session, rows: list[OutboundMessage], why: str) -> tuple[list[OutboundMessage],
                                                                          list[tuple[OutboundMessage, str]]]:
    """Mark ``queued``, ``held`` or ``unconfirmed`` rows ``failed`` with reason
    ``"failed by hand: <why>"``. Returns (failed, [(row, why it was left)]).
    Raises ``ValueError`` when ``why`` is empty."""
    why = " ".join((why or "").split())
    if not why:
        raise ValueError("give the reason")
    failed, left = [], []
    for row in rows:
        if why_not_failed(row):
            left.append((row, why_not_failed(row)))
            continue
        row.status, row.failure_reason = "failed", f"failed by hand: {why}"[:200]
        failed.append(row)
    session.flush()
    if failed:
        log.warning("%d outbox rows failed by hand (%s): ids %s", len(failed), why[:80], _ids(r.id for r in failed))
    return failed, left


def _ids(ids: Iterable[int], most: int = 20) -> str:
    ids = list(ids)
    return ", ".join(map(str, ids[:most])) + (f" and {len(ids) - most} more" if len(ids) > most else "")
