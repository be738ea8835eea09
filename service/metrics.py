"""Prometheus metrics of the service (``prometheus_client``), served by ``GET /metrics``.

Counted where things happen (``docs/operations.md`` §5 lists every metric):

* ``dehqon_webhook_seconds{callback,status}``: a histogram of the time each gateway callback took,
  by endpoint (``ussd.hop``, ``sms.inbound``, ``delivery.report`` ...) and answer class
  (``2xx``, ``4xx``, ``5xx``); observed by the web layer for every view behind the token check;
* ``dehqon_ussd_hops_total{answer}`` (``continue``, ``end``, ``repeat``, ``refused``) and
  ``dehqon_ussd_sessions_total`` (sessions started), by ``service.ussd.engine``;
* ``dehqon_sms_sends_total{gateway,outcome}``: one per outbox row a dispatcher handed to a gateway,
  by the gateway's outcome (``service.messaging.gateways.OUTCOMES``);
  ``dehqon_sms_failures_total{gateway,stage,reason}``: rows not sent (``stage="send"``, every
  outcome but accepted and delivered) or reported failed (``stage="delivery"``), by reason;
  ``dehqon_sms_deliveries_total{gateway,state}``: delivery reports that moved a row
  (``in_transit``, ``delivered``, ``failed``);
  ``dehqon_sms_segments_total{gateway,kind}`` and ``dehqon_sms_cost_tjs_total{gateway}`` (as the
  gateway reported it, in TJS: AT's ``cost``; a gateway that reports none, e.g. the ``local``
  one, adds nothing: multiply its segments by ``SMS_PRICE_TJS`` for an estimate) of the rows the
  gateway took.

Read from the database at scrape time (:class:`StateCollector`, so every process shows the same):
``dehqon_outbox_messages{state}``, ``dehqon_outbox_oldest_queued_seconds``,
``dehqon_outbox_longest_wait_seconds``, ``dehqon_sending_held{gateway,cause}`` (1 while held),
``dehqon_heartbeat_age_seconds{kind}`` and ``dehqon_ready`` (1 when ``/readyz`` would say ready).

Several gunicorn workers: with ``PROMETHEUS_MULTIPROC_DIR`` set (``gunicorn.conf.py`` sets it)
each process writes its counters to files there and :func:`exposition` adds them up
(``prometheus_client.multiprocess``). Labels are bounded: a failure reason is cut to its first
words (:func:`reason_label`). No Flask here.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

#: seconds; AT waits 10 s to connect and 15 s for an answer (``gunicorn.conf.py``)
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)

WEBHOOK_SECONDS = Histogram("dehqon_webhook_seconds", "Time to answer a gateway callback, seconds",
                            ["callback", "status"], buckets=WEBHOOK_BUCKETS)
USSD_HOPS = Counter("dehqon_ussd_hops", "USSD hops answered, by answer", ["answer"])
USSD_SESSIONS = Counter("dehqon_ussd_sessions", "USSD sessions started")
SENDS = Counter("dehqon_sms_sends", "Outbox rows handed to a gateway, by outcome", ["gateway", "outcome"])
FAILURES = Counter("dehqon_sms_failures", "Outbox rows not sent or reported failed, by reason",
                   ["gateway", "stage", "reason"])
DELIVERIES = Counter("dehqon_sms_deliveries", "Delivery reports that moved an outbox row, by new state",
                     ["gateway", "state"])
SEGMENTS = Counter("dehqon_sms_segments", "SMS segments of the rows a gateway took", ["gateway", "kind"])
COST = Counter("dehqon_sms_cost_tjs", "Cost the gateway reported for the rows it took, TJS", ["gateway"])

_WORDS = re.compile(r"[^a-z0-9 _.-]+")


def reason_label(reason: str | None) -> str:
    """A bounded label for a failure reason: the part before the first ``:`` or ``(``, lower case,
    other characters dropped, at most 40 characters; ``none`` when empty
    (``"AT error: <html>..."`` → ``at error``)."""
    head = re.split(r"[:(]", reason or "", maxsplit=1)[0].strip().lower()
    return _WORDS.sub("", head)[:40].strip() or "none"


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


def observe_webhook(callback: str, seconds: float, status: int) -> None:
    """One gateway callback ``callback`` (its endpoint name) answered ``status`` after ``seconds``."""
    WEBHOOK_SECONDS.labels(callback=callback[:60], status=_status_class(status)).observe(max(0.0, seconds))


def ussd_hop(answer: str) -> None:
    """One USSD hop answered: ``continue``, ``end``, ``repeat`` (a stored answer) or ``refused``."""
    USSD_HOPS.labels(answer=answer).inc()


def ussd_session_started() -> None:
    """A new USSD session."""
    USSD_SESSIONS.inc()


def _tjs(cost: str | None) -> float | None:
    """``"TJS 0.1000"`` → 0.1; None for another currency, zero, or anything unreadable."""
    parts = (cost or "").split()
    if len(parts) != 2 or parts[0].upper() != "TJS":
        return None
    try:
        value = float(parts[1])
    except ValueError:
        return None
    return value if value > 0 else None


def sent(gateway: str, rows: Iterable, results: dict) -> None:
    """Count a request's rows by outcome: ``rows`` outbox rows (``phone``, ``kind``, ``segments``),
    ``results`` phone → ``RecipientResult``."""
    for row in rows:
        result = results.get(row.phone)
        if result is None:
            continue
        SENDS.labels(gateway=gateway, outcome=result.outcome).inc()
        if result.outcome in ("accepted", "delivered"):
            SEGMENTS.labels(gateway=gateway, kind=row.kind).inc(row.segments)
            reported = _tjs(result.cost)
            if reported is not None:
                COST.labels(gateway=gateway).inc(reported)
        else:
            FAILURES.labels(gateway=gateway, stage="send", reason=reason_label(result.reason)).inc()


def delivered(gateway: str, state: str, reason: str | None = None) -> None:
    """A delivery report moved a row to ``state``; a ``failed`` one also counts its ``reason``."""
    DELIVERIES.labels(gateway=gateway, state=state).inc()
    if state == "failed":
        FAILURES.labels(gateway=gateway, stage="delivery", reason=reason_label(reason)).inc()


class StateCollector:
    """Gauges read at scrape time from ``readiness()`` (a callable returning a
    ``service.health.Readiness``; None when the database does not answer)."""

    def __init__(self, readiness: Callable[[], object]):
        self.readiness = readiness

    def describe(self):
        """Nothing: the names are known only at scrape time (keeps registration free of DB access)."""
        return []

    def collect(self):
        """The gauges of the module docstring."""
        report = self.readiness()
        ready = GaugeMetricFamily("dehqon_ready", "1 when GET /readyz answers 200")
        ready.add_metric([], 1.0 if report is not None and report.ready else 0.0)
        yield ready
        if report is None or report.backlog is None:
            return
        states = GaugeMetricFamily("dehqon_outbox_messages", "Outbox rows by state", labels=["state"])
        for state, n in report.backlog.states.items():
            states.add_metric([state], n)
        yield states
        for name, value, help_text in (
                ("dehqon_outbox_oldest_queued_seconds", report.backlog.oldest_queued,
                 "Age of the oldest queued outbox row, seconds (0 when none)"),
                ("dehqon_outbox_longest_wait_seconds", report.backlog.longest_wait,
                 "Longest wait of a queued row that may be sent now, seconds (0 when none)")):
            gauge = GaugeMetricFamily(name, help_text)
            gauge.add_metric([], value.total_seconds() if isinstance(value, dt.timedelta) else 0.0)
            yield gauge
        held = GaugeMetricFamily("dehqon_sending_held", "1 while sending through a gateway is held",
                                 labels=["gateway", "cause"])
        holds = set(report.holds)
        for gateway in sorted({g for g, _ in holds} | set(report.gateways)):
            for cause in ("outage", "account"):
                held.add_metric([gateway, cause], 1.0 if (gateway, cause) in holds else 0.0)
        yield held
        ages = GaugeMetricFamily("dehqon_heartbeat_age_seconds",
                                 "Seconds since the newest heartbeat of each kind of process (NaN: never)",
                                 labels=["kind"])
        for kind, age in report.heartbeat_ages.items():
            ages.add_metric([kind], float("nan") if age is None else age)
        yield ages


class _ThisProcess:
    """The default registry's metrics (one process, no ``PROMETHEUS_MULTIPROC_DIR``)."""

    def collect(self):
        yield from REGISTRY.collect()


def multiprocess_dir() -> str | None:
    """The folder of the per-process metric files (``PROMETHEUS_MULTIPROC_DIR``), or None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def exposition(readiness: Callable[[], object]) -> tuple[bytes, str]:
    """The metrics page (Prometheus text format) and its content type: the counters of every
    process (multiprocess mode) or of this one, and the :class:`StateCollector` gauges."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        from prometheus_client import multiprocess
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector(readiness))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """A worker ``pid`` ended (gunicorn's ``child_exit``): drop its live gauges' files."""
    if multiprocess_dir():
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)
