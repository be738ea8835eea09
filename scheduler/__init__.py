"""APScheduler wiring: jobs that call service functions (no domain logic here).

:func:`build` makes the scheduler with the service's jobs (outbox dispatcher
every ``DISPATCH_INTERVAL_SECONDS``, the scheduler tick queueing reminders,
broadcasts and price pushes every ``SCHEDULER_TICK_SECONDS`` (``scheduler.tick``;
one process acts at a time under a database lock), housekeeping sweep every
:data:`SWEEP_INTERVAL_SECONDS`) in the ``TIMEZONE`` zone; a late run is
coalesced into one, never two at once. :func:`start_embedded` runs it inside
the web process (``SCHEDULER_EMBEDDED``); ``flask --app service scheduler run``
runs it as its own process (``scheduler dispatchers``: the dispatcher and sweep only). Under
gunicorn, :class:`EmbeddedElection` lets exactly one worker run the embedded jobs
(``gunicorn.conf.py``, ``docs/operations.md`` §1, §2).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Collection, Mapping
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from scheduler import jobs
from service import scheduler_lock

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 60
SWEEP_INTERVAL_SECONDS = 600


#: the job ids of :func:`build`
JOBS = ("dispatch", "tick", "sweep")


def build(config: Mapping, *, blocking: bool = False, only: Collection[str] = JOBS) -> BaseScheduler:
    """A scheduler (not started) with the dispatch, tick and sweep jobs, configured from ``config``.

    ``blocking``: a ``BlockingScheduler`` (own process) instead of a ``BackgroundScheduler``;
    ``only``: the jobs to add (of :data:`JOBS`; ``("dispatch", "sweep")`` for a dispatcher process).
    """
    # the jobs log what they did; APScheduler's own "running job" lines every few seconds are noise
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=ZoneInfo(config["TIMEZONE"]),
                    job_defaults={"coalesce": True, "max_instances": 1,
                                  "misfire_grace_time": MISFIRE_GRACE_SECONDS})
    if "dispatch" in only:
        scheduler.add_job(jobs.dispatch_job, "interval", seconds=float(config["DISPATCH_INTERVAL_SECONDS"]),
                          args=[config["DATABASE_URL"], jobs.dispatch_settings(config)],
                          id="dispatch", name="outbox dispatcher")
    if "tick" in only:
        scheduler.add_job(jobs.tick_job, "interval", seconds=float(config["SCHEDULER_TICK_SECONDS"]),
                          args=[config["DATABASE_URL"], jobs.tick_settings(config)],
                          id="tick", name="scheduler tick")
    if "sweep" in only:
        scheduler.add_job(jobs.sweep_job, "interval", seconds=SWEEP_INTERVAL_SECONDS,
                          args=[config["DATABASE_URL"]], id="sweep", name="delivery sweep")
    return scheduler


def start_embedded(app: Flask) -> BackgroundScheduler:
    """Start the jobs in a background thread of this process; kept in ``app.extensions["dehqon.scheduler"]``."""
    scheduler = build(app.config)
    jobs.started(app.config["DATABASE_URL"])
    scheduler.start()
    app.extensions["dehqon.scheduler"] = scheduler
    return scheduler


class EmbeddedElection:
    """The embedded scheduler of a server with several worker processes (gunicorn with
    ``SCHEDULER_EMBEDDED=1``): every worker runs an election thread, and only the worker that
    holds the database lock :data:`LOCK` (``service.scheduler_lock``) runs the jobs
    (:func:`start_embedded`). The holder renews the lock every :data:`RENEW_SECONDS`; the
    others try again every :data:`RETRY_SECONDS` and take over when the holder stops (at
    once when it gives the lock up, after at most :data:`LEASE` when it died, on SQLite; when
    its connection ends, on PostgreSQL)."""

    LOCK = "embedded"
    LEASE = dt.timedelta(seconds=60)
    RENEW_SECONDS = 15.0
    RETRY_SECONDS = 10.0

    def __init__(self, app: Flask):
        self.app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dehqon-election", daemon=True)
        self.scheduler: BackgroundScheduler | None = None

    def start(self) -> EmbeddedElection:
        """Start the election thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the jobs (if this worker runs them) and give the lock up."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        engine = self.app.extensions["dehqon.engine"]
        while not self._stop.is_set():
            try:
                with scheduler_lock.hold(engine, self.LOCK, ttl=self.LEASE) as taken:
                    if taken:
                        self._lead(engine)
            except Exception:  # the database is away: try again later
                log.exception("embedded scheduler: the election failed; trying again")
            self._stop.wait(self.RETRY_SECONDS)

    def _lead(self, engine) -> None:
        log.info("embedded scheduler: this worker runs the jobs")
        self.scheduler = start_embedded(self.app)
        try:
            while not self._stop.wait(self.RENEW_SECONDS):
                if not scheduler_lock.renew(engine, self.LOCK, ttl=self.LEASE):
                    log.warning("embedded scheduler: the lock was lost; stopping the jobs")
                    break
        finally:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
