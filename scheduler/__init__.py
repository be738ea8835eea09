"""APScheduler wiring: jobs that call service functions (no domain logic here).

:func:`build` makes the scheduler with the service's jobs (outbox dispatcher
every ``DISPATCH_INTERVAL_SECONDS``, the scheduler tick queueing reminders,
broadcasts and price pushes every ``SCHEDULER_TICK_SECONDS`` (``scheduler.tick``;
one process acts at a time under a database lock), housekeeping sweep every
:data:`SWEEP_INTERVAL_SECONDS`) in the ``TIMEZONE`` zone; a late run is
coalesced into one, never two at once. :func:`start_embedded` runs it inside
the web process (``SCHEDULER_EMBEDDED``); ``flask --app service scheduler run``
runs it as its own process.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from scheduler import jobs

MISFIRE_GRACE_SECONDS = 60
SWEEP_INTERVAL_SECONDS = 600


def build(config: Mapping, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler (not started) with the dispatch, tick and sweep jobs, configured from ``config``.

    ``blocking``: a ``BlockingScheduler`` (own process) instead of a ``BackgroundScheduler``.
    """
    # the jobs log what they did; APScheduler's own "running job" lines every few seconds are noise
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=ZoneInfo(config["TIMEZONE"]),
                    job_defaults={"coalesce": True, "max_instances": 1,
                                  "misfire_grace_time": MISFIRE_GRACE_SECONDS})
    scheduler.add_job(jobs.dispatch_job, "interval", seconds=float(config["DISPATCH_INTERVAL_SECONDS"]),
                      args=[config["DATABASE_URL"], jobs.dispatch_settings(config)],
                      id="dispatch", name="outbox dispatcher")
    scheduler.add_job(jobs.tick_job, "interval", seconds=float(config["SCHEDULER_TICK_SECONDS"]),
                      args=[config["DATABASE_URL"], jobs.tick_settings(config)],
                      id="tick", name="scheduler tick")
    scheduler.add_job(jobs.sweep_job, "interval", seconds=SWEEP_INTERVAL_SECONDS,
                      args=[config["DATABASE_URL"]], id="sweep", name="delivery sweep")
    return scheduler


def start_embedded(app: Flask) -> BackgroundScheduler:
    """Start the jobs in a background thread of this process; kept in ``app.extensions["dehqon.scheduler"]``."""
    scheduler = build(app.config)
    scheduler.start()
    app.extensions["dehqon.scheduler"] = scheduler
    return scheduler
