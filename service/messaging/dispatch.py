"""The outbox dispatcher: sends queued MT messages through the gateway adapter.

One pass (:func:`dispatch_once`), following ``docs/gateway-africastalking.md`` §6–§9:

0. nothing through a gateway while it is held after an outage (``service.messaging.gateway_state``:
   the hold is in the database, shared by every dispatcher process); with several gateways
   (``SMS_ROUTES``, ``service.messaging.gateways.routes``) each phone's rows go through the
   gateway of its route, and rows whose gateway is held are not claimed, so an outage or
   an account problem of one gateway does not stop the others;
1. claim due ``queued`` rows atomically (``status → sending``; on PostgreSQL
   ``FOR UPDATE SKIP LOCKED`` so parallel dispatchers never share a row),
   highest priority first, then oldest, at most ``DISPATCH_BATCH_SIZE``,
   within the delivery rules of ``service.messaging.rules`` (quiet hours hold
   all but replies and alerts; the rate cap in segments per second);
   rows that already carry a gateway message id are never claimed again;
   due rows past their deadline (``expires_at``) are not sent but ``failed``
   ("expired: not sent within 24 h"), counted in the :class:`Summary` and logged;
2. drop rows to suppressed phones (state ``suppressed``), checked now, at send time,
   except what ``service.messaging.rules.sent_despite_opt_out`` lets through (the
   STOP confirmation, and replies queued before the farmer's own STOP);
3. send identical texts through the same gateway together, ≤ :data:`MAX_RECIPIENTS` distinct
   phones a request, keeping each phone's rows in claim order;
4. record each recipient's outcome and commit after every request; then apply
   delivery reports that arrived before the message ids were stored, and match
   parked reports to rows whose outcome is unknown (``service.messaging.delivery``).

What happens to a row, by the gateway's outcome (``service.messaging.gateways``):

| Outcome | Row | Attempt counted |
|---|---|---|
| accepted / delivered | ``accepted`` (message id stored) / ``delivered`` | yes |
| permanent (403, 404, 406, bad number) | ``failed`` (406 also opts the phone out) | yes |
| retry (AT's 407, 409, 500-502 for that recipient) | ``queued`` again after :func:`retry_delay`; ``failed`` after :data:`MAX_ATTEMPTS` | yes |
| outage (the whole request failed: HTTP 5xx, connection refused, connect timeout) | ``queued`` again with the pass's unsent rows of that gateway; the gateway is held with growing pauses (30 s ... 10 min) and an ALERT | no |
| account (401 RiskHold, 402, 405, the auth refusal) | ``queued``; every queued row of that gateway held :data:`ACCOUNT_HOLD`, ALERT | no |
| unconfirmed (read timeout, unreadable answer, missing from the answer, unexpected error) | ``unconfirmed``, never resent automatically (a message id the gateway gave us, Kannel's, is kept for its delivery report) | yes |
| review (a statusCode outside AT's table, e.g. 408) | ``held``; the sweep releases it after an hour (``service.messaging.outbox``) | yes |

:data:`MAX_ATTEMPTS` is 10: with the backoff (30 s doubling, capped at
:data:`BACKOFF_CAP` 1 h, jitter ×0.5-1) a per-recipient problem is retried for
about 1.5-3 hours before the row is given up, long enough to ride out a routing
or operator problem for one number (407/409/5xx for that recipient), short
enough that a number that cannot be reached is settled the same day. Outages
and account holds do not count; every row also ends at its deadline.

Every pass first records the dispatcher's heartbeat (``service.heartbeat``, read by
``GET /readyz``); every request's outcomes are counted in ``service.metrics``, and an account
hold is kept in ``gateway_state`` (``record_account_hold``) for ``/readyz`` and ``/metrics``.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import heartbeat
from service import metrics
from service.messaging import delivery
from service.messaging import gateway_state
from service.messaging import optout
from service.messaging.rules import EXEMPT_KINDS, Rules, sent_despite_opt_out, take_within
from service.db import utcnow
from service.settings import Settings, as_settings
from service.messaging.gateways.routes import Routes
from service.messaging.gateways import (
    ACCEPTED,
    ACCOUNT,
    DELIVERED,
    OUTAGE,
    PERMANENT,
    RETRY,
    UNCONFIRMED,
    Gateway,
    RecipientResult,
)
from service.messaging.message import OutboundMessage, expiry_reason

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 100
MAX_ATTEMPTS = 10  # per-recipient retries over about 1.5-3 h: see the module docstring
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)
ACCOUNT_HOLD = dt.timedelta(minutes=15)


@dataclass
class Summary:
    """What one pass did: ``claimed`` rows, their ``states`` after the pass (state → count),
    the ``reasons`` of everything not sent (reason → count), ``expired`` rows failed
    unsent because their deadline passed (also in ``states["failed"]``), and
    ``held_until`` (aware UTC) when a gateway is held after an outage (the earliest end of a
    hold, with several gateways), ``held`` gateway name → end of its outage hold."""

    claimed: int = 0
    states: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    expired: int = 0
    held_until: dt.datetime | None = None
    held: dict = field(default_factory=dict)

    def hold(self, gateway: str, until: dt.datetime) -> None:
        """Note that ``gateway`` is held until ``until``."""
        self.held[gateway] = until
        self.held_until = min(self.held.values())

    @property
    def sent(self) -> int:
        """Rows the gateway took (accepted or, on the local gateway, delivered)."""
        return self.states["accepted"] + self.states["delivered"]

    def __str__(self) -> str:
        parts = [f"{self.sent} sent", f"{self.states['failed']} failed"]
        if self.expired:
            parts.append(f"{self.expired} expired")
        for state, label in (("queued", "to retry"), ("held", "held"), ("suppressed", "suppressed"),
                             ("unconfirmed", "unconfirmed")):
            if self.states[state]:
                parts.append(f"{self.states[state]} {label}")
        text = ", ".join(parts)
        if self.reasons:
            text += " (" + "; ".join(f"{reason} ×{n}" for reason, n in self.reasons.most_common()) + ")"
        if self.held_until:
            text += f"; gateway outage: sending held until {self.held_until.strftime('%Y-%m-%d %H:%M:%S')} UTC"
        return text


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait before attempt ``attempts + 1``: ``BACKOFF_BASE · 2^(attempts-1)``, capped at
    ``BACKOFF_CAP``, times a random factor in [0.5, 1] (jitter spreads the retries)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return ceiling * random.uniform(0.5, 1.0)


def dispatch_once(session_factory: Callable[[], Session], gateway: Gateway | Routes, settings: Settings | Mapping,
                  *, now: dt.datetime | None = None) -> Summary:
    """Run one dispatcher pass and return its :class:`Summary`.

    ``session_factory`` makes the pass's own session; ``gateway`` an adapter for every phone
    (``service.messaging.gateways.for_settings``) or the adapters and their routes
    (``service.messaging.gateways.for_routes``); ``settings`` (a :class:`Settings`, or a
    mapping of ``config.py`` names) gives the batch size and the delivery rules (:meth:`Rules.of`);
    ``now`` (aware UTC) decides which rows are due, whether it is quiet time and
    the rate budget.
    """
    _beat(session_factory)
    now = now or utcnow()
    settings = as_settings(settings)
    routes = gateway if isinstance(gateway, Routes) else Routes.single(gateway)
    summary = Summary()
    with session_factory() as session:
        in_outage = set()
        for name in routes.names():
            held = gateway_state.held_until(session, name)
            if held is not None and held > now:
                summary.hold(name, held)
            elif held is not None:
                in_outage.add(name)
        if len(summary.held) == len(routes.names()):
            return summary
        rows = _claim(session, settings.dispatch_batch_size, now, Rules.of(settings), summary,
                      _not_held(routes, summary.held))
        summary.claimed = len(rows)
        rows = _drop_suppressed(session, rows, summary)
        session.commit()
        batches = _batches(rows, routes.gateway_of)
        stopped: dict[str, dt.datetime] = {}  # gateway → until when its unsent rows wait (outage, account)
        for name, text, batch in batches:
            if name in stopped:
                _put_back(batch, stopped[name], summary)
                session.commit()
                continue
            batch = _submit(session, batch)
            if not batch:
                continue
            results = _send(routes.gateways[name], text, batch)
            outage = next((r.reason or "gateway unreachable" for r in results.values() if r.outcome == OUTAGE),
                          None)
            until = gateway_state.record_failure(session, name, now, outage) if outage else None
            if until:
                summary.hold(name, until)
            elif name in in_outage:
                gateway_state.record_answer(session, name, now)
                in_outage.discard(name)
            ids = _record(session, batch, results, now, summary, until)
            session.commit()
            if ids:
                delivery.apply_orphans(session, ids, now)
                session.commit()
            unknown = [row for row in batch if row.status == "unconfirmed"]
            if unknown:
                delivery.match_unconfirmed(session, unknown, now)
                session.commit()
            problem = next((r.reason for r in results.values() if r.outcome == ACCOUNT), None)
            if until:
                stopped[name] = until
            elif problem:
                stopped[name] = now + ACCOUNT_HOLD
                _hold_queue(session, stopped[name], problem, name, _of_gateway(routes, name))
                gateway_state.record_account_hold(session, name, stopped[name], problem)
                session.commit()
    if summary.claimed or summary.expired:
        log.info("dispatch through %s: %s", routes.name, summary)
    return summary


def _not_held(routes: Routes, held: Mapping[str, dt.datetime]):
    """The claim's condition leaving out the rows of held gateways (None: nothing held)."""
    if not held:
        return None
    return routes.sql_gateway(OutboundMessage.phone).not_in(sorted(held))


def _of_gateway(routes: Routes, name: str):
    """The condition on outbox rows sent through ``name`` (None: every row, one gateway)."""
    if len(routes.names()) == 1:
        return None
    return routes.sql_gateway(OutboundMessage.phone) == name


def _claim(session: Session, limit: int, now: dt.datetime, rules: Rules,
           summary: Summary, only=None) -> list[OutboundMessage]:
    """Mark up to ``limit`` due rows ``sending``, commit, and return them in send order.

    ``only``: an extra SQL condition on the rows (the gateway of their phone not held), or None.

    During quiet hours only :data:`EXEMPT_KINDS` are due; the rows taken stop at
    the rate budget (:meth:`Rules.budget`). Due rows past their deadline are
    failed as expired instead (:func:`_expire`).

    The UPDATE re-checks ``status = 'queued'`` so a row another dispatcher got
    first is skipped; on PostgreSQL the candidates are also locked
    (``FOR UPDATE SKIP LOCKED``) until the claim commits, so parallel
    dispatchers take different rows instead of competing for the same ones.
    """
    order = (OutboundMessage.priority, OutboundMessage.created_at, OutboundMessage.id)
    due = (select(OutboundMessage.id, OutboundMessage.segments, OutboundMessage.expires_at,
                  OutboundMessage.created_at, OutboundMessage.kind)
           .where(OutboundMessage.status == "queued", OutboundMessage.next_attempt_at <= now,
                  OutboundMessage.gateway_message_id.is_(None))
           .order_by(*order)
           .limit(limit))
    if rules.is_quiet(now):
        due = due.where(OutboundMessage.kind.in_(EXEMPT_KINDS))
    if only is not None:
        due = due.where(only)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    found = session.execute(due).all()
    _expire(session, [r for r in found if r.expires_at <= now], now, summary)
    found = [r for r in found if r.expires_at > now]
    candidates = [r.id for r in found[:take_within([r.segments for r in found], rules.budget(session, now))]]
    if not candidates:
        session.commit()
        return []
    ids = session.scalars(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(candidates), OutboundMessage.status == "queued")
        .values(status="sending", attempts=OutboundMessage.attempts + 1, sent_at=now,
                claimed_by=uuid.uuid4().hex, submitted_at=None)
        .returning(OutboundMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids)).order_by(*order)))


def _expire(session: Session, rows: list, now: dt.datetime, summary: Summary) -> None:
    """Fail due ``queued`` rows (id, created_at, expires_at, kind) whose deadline passed: not sent."""
    if not rows:
        return
    by_reason: dict[str, list[int]] = {}
    kinds: Counter = Counter()
    for r in rows:
        by_reason.setdefault(expiry_reason(r.created_at, r.expires_at), []).append(r.id)
        kinds[r.kind] += 1
    for reason, ids in by_reason.items():
        n = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(ids), OutboundMessage.status == "queued")
            .values(status="failed", failure_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
        summary.expired += n
        summary.states["failed"] += n
        summary.reasons[reason] += n
    log.warning("%d outbox rows expired unsent (deadline passed): %s", summary.expired,
                ", ".join(f"{kind} ×{n}" for kind, n in kinds.most_common()))


def _submit(session: Session, batch: list[OutboundMessage]) -> list[OutboundMessage]:
    """Mark the batch's rows handed to the gateway (``submitted_at``), commit, and return the rows
    still this pass's: a row the sweep gave back to the queue meanwhile (this pass looked dead)
    is left to whoever claimed it next.

    Until this commit a row can be sent again safely; after it, an unknown outcome is
    ``unconfirmed`` and never resent automatically.
    """
    claim = batch[0].claimed_by  # one claim id per pass (see _claim)
    mine = set(session.scalars(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_([row.id for row in batch]), OutboundMessage.status == "sending",
               OutboundMessage.claimed_by == claim, OutboundMessage.submitted_at.is_(None))
        .values(submitted_at=utcnow())
        .returning(OutboundMessage.id)
        .execution_options(synchronize_session=False)
    ).all())
    session.commit()
    return [row for row in batch if row.id in mine]


def _drop_suppressed(session: Session, rows: list[OutboundMessage], summary: Summary) -> list[OutboundMessage]:
    suppressed = optout.suppressions_among(session, sorted({r.phone for r in rows}))
    keep = []
    for row in rows:
        stop = suppressed.get(row.phone)
        if stop is not None and not sent_despite_opt_out(row.kind, row.created_at, stop.created_at, stop.source):
            row.status, row.failure_reason = "suppressed", "phone opted out"
            summary.states["suppressed"] += 1
        else:
            keep.append(row)
    return keep


def _batches(rows: list[OutboundMessage],
             gateway_of: Callable[[str], str] = lambda phone: "") -> list[tuple[str, str, list[OutboundMessage]]]:
    """Group rows by gateway (``gateway_of(phone)``) and text into requests of ≤ MAX_RECIPIENTS
    distinct phones, in send order: ``(gateway, text, rows)``.

    A row joins an open request of its gateway and text only when that request is sent after
    every earlier row of the same phone, so one phone's messages keep their order;
    two rows with the same text and phone go into different requests."""
    batches: list[tuple[str, str, list[OutboundMessage]]] = []
    open_batches: dict[tuple[str, str], list[int]] = {}  # (gateway, text) → indexes into batches
    last_of_phone: dict[str, int] = {}  # phone → index of the request holding its latest row
    for row in rows:
        after = last_of_phone.get(row.phone, -1)
        key = (gateway_of(row.phone), row.text)
        for index in open_batches.setdefault(key, []):
            if index > after and len(batches[index][2]) < MAX_RECIPIENTS:
                batches[index][2].append(row)
                break
        else:
            index = len(batches)
            batches.append((key[0], row.text, [row]))
            open_batches[key].append(index)
        last_of_phone[row.phone] = index
    return batches


def _send(gateway: Gateway, text: str, batch: list[OutboundMessage]) -> dict[str, RecipientResult]:
    """The gateway's result per phone; an unexpected error counts as an unknown outcome (no resend)."""
    phones = [row.phone for row in batch]
    try:
        results = gateway.send(text, phones)
    except Exception as exc:
        log.exception("gateway %s failed unexpectedly", gateway.name)
        results = [RecipientResult(p, UNCONFIRMED, reason=f"gateway error: {type(exc).__name__}")
                   for p in phones]
    results = {r.phone: r for r in results}
    metrics.sent(gateway.name, batch, results)
    return results


def _beat(session_factory: Callable[[], Session]) -> None:
    """The dispatcher's heartbeat (``service.heartbeat``), on the real clock as the scheduler lock;
    never stops the pass."""
    engine = getattr(session_factory, "kw", {}).get("bind")
    if engine is not None:
        heartbeat.try_beat(engine, heartbeat.DISPATCHER)


def _record(session: Session, batch: list[OutboundMessage], results: dict[str, RecipientResult],
            now: dt.datetime, summary: Summary, held_until: dt.datetime | None = None) -> list[str]:
    """Apply each row's result; returns the message ids stored. ``held_until``: the outage hold
    (rows with an outage outcome wait until then, their attempt not counted)."""
    stored = []
    for row in batch:
        result = results[row.phone]
        row.gateway_status_code = result.status_code
        row.failure_reason = result.reason
        if result.outcome == ACCEPTED:
            row.status, row.gateway_message_id = "accepted", result.message_id
            row.cost, row.billed_parts = result.cost, result.parts
            if result.message_id:
                stored.append(result.message_id)
        elif result.outcome == DELIVERED:
            row.status, row.delivered_at = "delivered", now
        elif result.outcome == PERMANENT:
            row.status = "failed"
            if result.suppress:
                optout.opt_out(session, row.phone, "blacklist")
        elif result.outcome == RETRY:
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                row.failure_reason = f"gave up after {row.attempts} attempts: {result.reason}"[:200]
            else:
                row.status, row.next_attempt_at = "queued", now + retry_delay(row.attempts)
        elif result.outcome == OUTAGE:
            # the gateway is down, not the row's fault: the attempt does not count
            row.status, row.attempts = "queued", row.attempts - 1
            row.next_attempt_at = held_until or now + gateway_state.PAUSE_BASE
        elif result.outcome == ACCOUNT:
            # not the row's fault: the attempt does not count
            row.status, row.attempts = "queued", row.attempts - 1
            row.next_attempt_at = now + ACCOUNT_HOLD
        elif result.outcome == UNCONFIRMED:
            row.status = "unconfirmed"
            if result.message_id:  # our own id (Kannel): its delivery report will find the row
                row.gateway_message_id = result.message_id
                stored.append(result.message_id)
        else:  # REVIEW
            row.status = "held"
            log.warning("outbox row %s held for review: %s", row.id, result.reason)
        summary.states[row.status] += 1
        if row.status not in ("accepted", "delivered") and result.reason:
            summary.reasons[result.reason] += 1
    return stored


def _put_back(unsent: list[OutboundMessage], until: dt.datetime, summary: Summary) -> None:
    """Outage: the pass's rows not yet handed to the gateway go back to the queue, due at ``until``,
    their attempt not counted."""
    for row in unsent:
        row.status, row.attempts, row.next_attempt_at = "queued", row.attempts - 1, until
        summary.states["queued"] += 1


def _hold_queue(session: Session, until: dt.datetime, problem: str, gateway: str, only=None) -> None:
    """Account problem of ``gateway``: delay every queued row (``only``: of that gateway) until ``until``
    (the pass's unsent rows of that gateway are put back by the caller, :func:`_put_back`)."""
    session.flush()
    held = (update(OutboundMessage)
            .where(OutboundMessage.status == "queued", OutboundMessage.next_attempt_at < until)
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False))
    if only is not None:
        held = held.where(only)
    session.execute(held)
    log.error("ALERT: SMS gateway %s account problem (%s): sending held until %s UTC; a person must act "
              "(%s), then run flask --app service outbox resume --gateway %s",
              gateway, problem, until.strftime("%Y-%m-%d %H:%M"), gateway_state.account_advice(gateway), gateway)
