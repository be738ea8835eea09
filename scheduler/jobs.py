"""Scheduler jobs: module-level functions taking primitive arguments.

Each job opens its own session (from an engine kept per database URL for the
process) and calls one service function; no domain logic lives here.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Mapping

from service.messaging import delivery
from service.messaging import gateways
from service.db import make_engine, make_sessionmaker
from service.features import import_models
from service.messaging.dispatch import dispatch_once

log = logging.getLogger(__name__)

# the settings the dispatcher job needs (gateway adapter, batch size, delivery rules)
DISPATCH_SETTINGS = ("SMS_GATEWAY", "LOCAL_DELIVERY", "AT_USERNAME", "AT_API_KEY", "AT_SENDER_ID", "AT_TIMEOUT",
                     "SMS_ROUTES", "KANNEL_SENDSMS_URL", "KANNEL_USERNAME", "KANNEL_PASSWORD", "KANNEL_FROM",
                     "KANNEL_SMSC", "KANNEL_CALLBACK_URL", "KANNEL_TIMEOUT", "WEBHOOK_TOKENS",
                     "DISPATCH_BATCH_SIZE", "DISPATCH_INTERVAL_SECONDS", "TIMEZONE", "QUIET_HOURS_START",
                     "QUIET_HOURS_END", "SEND_RATE_SEGMENTS_PER_SECOND")
# the settings the scheduler tick needs
TICK_SETTINGS = ("TIMEZONE", "SCHEDULER_GRACE_HOURS", "ADVICE_ESCALATE_HOURS", "ORDER_ROUND_DAYS")


@functools.cache
def _sessions(database_url: str):
    import_models()  # the outbox's foreign keys need every model mapped
    return make_sessionmaker(make_engine(database_url))


def dispatch_settings(config: Mapping) -> dict:
    """The dispatcher's settings from ``config`` as a dict of plain values (job arguments)."""
    settings = {name: config.get(name) for name in DISPATCH_SETTINGS}
    settings["AT_TIMEOUT"] = list(settings["AT_TIMEOUT"])
    settings["WEBHOOK_TOKENS"] = list(settings["WEBHOOK_TOKENS"] or [])
    return settings


def dispatch_job(database_url: str, settings: dict) -> None:
    """One dispatcher pass on ``database_url``; ``settings`` from :func:`dispatch_settings`."""
    dispatch_once(_sessions(database_url), gateways.for_routes(settings), settings)


def tick_settings(config: Mapping) -> dict:
    """The tick's settings from ``config`` as a dict of plain values (job arguments)."""
    return {name: config.get(name) for name in TICK_SETTINGS}


def tick_job(database_url: str, settings: dict) -> None:
    """One scheduler pass (reminders, broadcasts, price pushes) on ``database_url``, now."""
    from scheduler.tick import tick
    tick(_sessions(database_url), settings)


def started(database_url: str) -> None:
    """A scheduler starts: record its heartbeat at once (``service.heartbeat``), so ``GET /readyz``
    need not wait for its first tick (``SCHEDULER_TICK_SECONDS``)."""
    from service import heartbeat
    heartbeat.try_beat(_sessions(database_url).kw["bind"], heartbeat.SCHEDULER)


def sweep_job(database_url: str) -> None:
    """The outbox sweep (``service.messaging.delivery.sweep``): rows without a final report or stuck mid-send
    ``unconfirmed``, late and matched orphan reports applied, unconfirmed rows past their deadline
    settled, expired rows failed, held rows released or failed."""
    with _sessions(database_url)() as session:
        counts = delivery.sweep(session)
        session.commit()
    if any(counts.values()):
        log.info("sweep: %s", counts)
