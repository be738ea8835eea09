"""The scheduler tick: one pass that queues everything due, under the scheduler lock.

Every pass first records the scheduler's heartbeat (``service.heartbeat``, read by ``GET /readyz``),
whether or not it then takes the lock.
:func:`tick` takes the database lock (``service.scheduler_lock``): when another
process holds it, the pass does nothing. Otherwise, as of ``now``, it queues
due campaign reminders (``service.reminders.crop_cycle.queue_due``), due broadcasts
(``service.broadcasts.broadcast.queue_due``), the weekly price digest and price alerts
(``service.prices.alerts``), each with the ``SCHEDULER_GRACE_HOURS`` catch-up
rule; it closes input-order rounds past their deadline and sends PG chairs their
daily order totals (``service.orders.rounds``); it escalates questions unanswered for
``ADVICE_ESCALATE_HOURS`` (``service.advice.questions``) and sends cluster leaders the week's
pledge totals (``service.sales.joint_sale``); it blanks the phone of an erased farmer's last SMS
once sent (``service.farmers.privacy.scrub_sent``); and it logs what it did and what it skipped. Everything written carries an
outbox ``dedupe_key``, so overlapping or repeated passes send nothing twice.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from service import heartbeat, scheduler_lock
from service.advice import questions as advice
from service.broadcasts import broadcast
from service.farmers import privacy
from service.reminders import crop_cycle
from service.sales import joint_sale
from service.orders import rounds as order
from service.prices import alerts as price_alert
from service.db import utcnow
from service.settings import Settings, as_settings

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    """What one pass did. ``acted`` False when another scheduler held the lock; ``reminders``
    (SMS queued), ``shared_reminders`` (reminders that went out in another profile's SMS on the
    same phone), ``missed`` (by ``campaign.event``), ``broadcasts``/``broadcast_rows``, ``expired``
    (broadcast ids), ``digests`` (None: this week's digest skipped, too late), ``price_alerts``."""

    acted: bool = True
    reminders: int = 0
    shared_reminders: int = 0
    missed: dict = field(default_factory=dict)
    broadcasts: int = 0
    broadcast_rows: int = 0
    expired: list = field(default_factory=list)
    digests: int | None = 0
    price_alerts: int = 0
    rounds_closed: int = 0
    round_totals: int = 0
    escalated: int = 0
    sales_totals: int = 0

    def __str__(self) -> str:
        if not self.acted:
            return "another scheduler holds the lock: nothing done"
        shared = f" (+{self.shared_reminders} in a shared phone's SMS)" if self.shared_reminders else ""
        text = (f"{self.reminders} reminders{shared}, {self.broadcast_rows} broadcast messages "
                f"({self.broadcasts} broadcasts), {self.digests or 0} price digests, "
                f"{self.price_alerts} price alerts, {self.round_totals} order totals, "
                f"{self.sales_totals} pledge totals queued; {self.rounds_closed} order rounds closed, "
                f"{self.escalated} questions escalated")
        skipped = []
        if self.missed:
            skipped.append(f"{sum(self.missed.values())} reminders missed "
                           f"({', '.join(f'{k} ×{n}' for k, n in sorted(self.missed.items()))})")
        if self.expired:
            skipped.append(f"broadcasts {', '.join(map(str, self.expired))} expired")
        if self.digests is None:
            skipped.append("this week's price digest (its slot passed more than the grace ago)")
        return text + ("; skipped: " + "; ".join(skipped) if skipped else "")


def tick(session_factory: Callable[[], Session], config: Settings | Mapping, now: dt.datetime | None = None) -> TickResult:
    """Run one scheduler pass as of ``now`` (aware UTC; default the clock) and return what it did.

    ``config``: the :class:`~service.settings.Settings` (or a mapping of ``config.py`` names); the
    pass uses ``TIMEZONE``, ``SCHEDULER_GRACE_HOURS``, ``ORDER_ROUND_DAYS`` and
    ``ADVICE_ESCALATE_HOURS``. The pass commits as it goes.
    """
    now = now or utcnow()
    settings = as_settings(config)
    zone = settings.timezone
    grace = dt.timedelta(hours=settings.scheduler_grace_hours)
    policy = order.Policy.of(settings)
    engine = session_factory.kw["bind"]
    heartbeat.try_beat(engine, heartbeat.SCHEDULER)  # the real clock, not --at
    with scheduler_lock.hold(engine) as taken:
        if not taken:
            log.info("scheduler tick at %s: %s", now.isoformat(), TickResult(acted=False))
            return TickResult(acted=False)
        result = TickResult()
        with session_factory() as session:
            reminders = crop_cycle.queue_due(session, now, zone=zone, grace=grace)
            result.reminders, result.missed = reminders.sent, dict(reminders.missed_events)
            result.shared_reminders = reminders.shared
            due = broadcast.queue_due(session, now, grace)
            result.broadcasts, result.broadcast_rows, result.expired = due.queued, due.rows, due.expired
            result.digests = price_alert.queue_digests(session, now, zone, grace)
            result.price_alerts = price_alert.queue_alerts(session, now)
            result.rounds_closed = len(order.close_due_rounds(session, now, policy))
            result.round_totals = order.send_daily_totals(session, now, policy)
            session.commit()
            escalate_after = dt.timedelta(hours=settings.advice_escalate_hours)
            result.escalated = len(advice.escalate_overdue(session, now, escalate_after))
            result.sales_totals = joint_sale.send_weekly_totals(session, now.astimezone(zone).date())
            privacy.scrub_sent(session, now)
            session.commit()
    skipped = result.missed or result.expired or result.digests is None
    worked = (result.reminders or result.broadcasts or result.digests or result.price_alerts
              or result.rounds_closed or result.round_totals or result.escalated or result.sales_totals)
    level = logging.WARNING if skipped else logging.INFO if worked else logging.DEBUG
    log.log(level, "scheduler tick at %s: %s", now.isoformat(), result)
    return result
