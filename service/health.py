"""Readiness: can the service do its job now? The facts behind ``GET /readyz`` and ``/metrics``.

:func:`check` looks at, in order (``docs/operations.md`` §4):

1. the database: it answers a ``SELECT 1`` (if not, nothing else is looked at), and holds the
   reference data the farmer menus need (``service.reference.data.REQUIRED``: without crops no
   price or advice question can be answered);
2. the scheduler: its newest heartbeat (``service.heartbeat``, one beat per tick) is at most
   ``READYZ_SCHEDULER_MAX_AGE_SECONDS`` old;
3. the dispatchers: their newest heartbeat (one beat per pass) is at most
   ``READYZ_DISPATCHER_MAX_AGE_SECONDS`` old;
4. the outbox backlog (:func:`backlog`): at most ``READYZ_MAX_QUEUED`` rows ``queued``, and no
   row that may be sent now has waited more than ``READYZ_MAX_WAIT_MINUTES`` (a row held by
   the quiet hours waits from their end; a retry from its retry time);
5. sending held (``service.messaging.gateway_state.holds``): an outage of a gateway (its queue
   waits with growing pauses) or an account hold (balance, sender ID, risk hold, API key; Kannel's credentials or sender),
   each sentence from :func:`hold_sentence`.

Each problem is one plain sentence saying what is wrong and what to look at. The report is
ready when there is none. No Flask here: the caller passes a Session, the thresholds and now.
"""
from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from service import heartbeat
from service.reference import data
from service.db import utcnow
from service.messaging import gateway_state
from service.messaging.message import OUT_STATES, OutboundMessage
from service.messaging.rules import EXEMPT_KINDS, Rules


@dataclass(frozen=True)
class Thresholds:
    """When :func:`check` calls something a problem: heartbeat ages in seconds, the queue length
    in rows, the longest wait of a sendable row in minutes (``config.py``: ``READYZ_*``)."""

    scheduler_max_age_seconds: float = 300.0
    dispatcher_max_age_seconds: float = 60.0
    max_queued: int = 5000
    max_wait_minutes: float = 15.0

    @classmethod
    def of(cls, config: Mapping) -> Thresholds:
        """From a mapping of ``config.py`` names; a missing or empty value takes the default above.
        Raises ``ValueError`` for a value that is not a number."""
        d = cls()

        def get(name, default):
            value = config.get(name)
            return default if value is None or value == "" else value

        return cls(scheduler_max_age_seconds=float(get("READYZ_SCHEDULER_MAX_AGE_SECONDS",
                                                       d.scheduler_max_age_seconds)),
                   dispatcher_max_age_seconds=float(get("READYZ_DISPATCHER_MAX_AGE_SECONDS",
                                                        d.dispatcher_max_age_seconds)),
                   max_queued=int(get("READYZ_MAX_QUEUED", d.max_queued)),
                   max_wait_minutes=float(get("READYZ_MAX_WAIT_MINUTES", d.max_wait_minutes)))


@dataclass
class Backlog:
    """The outbox at one moment: ``states`` (every state of ``OUT_STATES`` → rows), ``oldest_queued``
    (age of the oldest ``queued`` row since it was created, or None), ``longest_wait`` (how long the
    row that has waited longest while it could be sent has waited, or None)."""

    states: dict[str, int]
    oldest_queued: dt.timedelta | None
    longest_wait: dt.timedelta | None

    @property
    def queued(self) -> int:
        """Rows waiting to be sent."""
        return self.states.get("queued", 0)


@dataclass
class Readiness:
    """What :func:`check` found: ``facts`` (short lines for the report), ``problems`` (one sentence
    each), and the values behind them (``backlog``, heartbeat ages in seconds, ``holds`` as
    (gateway, cause) pairs, ``gateways`` the configured gateways' names)."""

    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    backlog: Backlog | None = None
    heartbeat_ages: dict[str, float | None] = field(default_factory=dict)
    holds: list[tuple[str, str]] = field(default_factory=list)
    gateways: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        """True when the service can do its job: no problem found."""
        return not self.problems

    def text(self) -> str:
        """The plain report: ``ready`` or ``not ready``, then the problems, then the facts."""
        head = ["ready"] if self.ready else ["not ready", *self.problems]
        return "\n".join(head + self.facts) + "\n"


def _last_quiet_end(rules: Rules, now: dt.datetime) -> dt.datetime | None:
    """When the latest quiet hours ended at or before ``now`` (aware UTC), or None without quiet hours."""
    if rules.quiet_start == rules.quiet_end:
        return None
    local = now.astimezone(rules.zone)
    end = dt.datetime.combine(local.date(), rules.quiet_end, tzinfo=rules.zone)
    if end > local:
        end -= dt.timedelta(days=1)
    return end.astimezone(dt.timezone.utc)


def backlog(session: Session, rules: Rules, now: dt.datetime | None = None) -> Backlog:
    """The outbox's :class:`Backlog` at ``now`` (aware UTC; default the clock) under the delivery
    ``rules`` (quiet hours: only ``EXEMPT_KINDS`` may be sent then, the others wait from their end).
    One grouped count of the whole outbox and two small MIN queries."""
    now = now or utcnow()
    states = dict.fromkeys(OUT_STATES, 0)
    for state, n in session.execute(select(OutboundMessage.status, func.count())
                                    .group_by(OutboundMessage.status)).all():
        states[state] = n
    oldest = session.scalar(select(func.min(OutboundMessage.created_at)).where(OutboundMessage.status == "queued"))
    due = (select(func.min(OutboundMessage.next_attempt_at))
           .where(OutboundMessage.status == "queued", OutboundMessage.next_attempt_at <= now,
                  OutboundMessage.gateway_message_id.is_(None)))
    waits = [session.scalar(due.where(OutboundMessage.kind.in_(EXEMPT_KINDS)))]
    if not rules.is_quiet(now):
        since = session.scalar(due.where(OutboundMessage.kind.not_in(EXEMPT_KINDS)))
        quiet_end = _last_quiet_end(rules, now)
        waits.append(max(since, quiet_end) if since is not None and quiet_end is not None else since)
    waits = [w for w in waits if w is not None]
    return Backlog(states, now - oldest if oldest is not None else None,
                   max(dt.timedelta(0), now - min(waits)) if waits else None)


def _age(text_: str, delta: dt.timedelta | None) -> str:
    if delta is None:
        return f"{text_} none"
    seconds = max(0, int(delta.total_seconds()))
    return f"{text_} {seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{text_} {seconds} s"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


#: the most characters of a hold's cause shown (cut at a word boundary, ``…`` marking the cut)
CAUSE_SHOWN = 160


def _cause(text_: str | None) -> str:
    """``text_`` on one line, whole when at most :data:`CAUSE_SHOWN` characters, else cut at a word
    boundary with `` …``; ``unknown`` when empty."""
    return textwrap.shorten(text_ or "", CAUSE_SHOWN, placeholder=" …") or "unknown"


def hold_sentence(gateway: str, cause: str, state) -> str:
    """The sentence for one hold of :func:`gateway_state.holds` (``cause`` ``outage`` or
    ``account``; ``state`` its :class:`~service.messaging.gateway_state.GatewayState`), shown by
    ``/readyz`` and ``flask --app service outbox status`` alike. Times UTC."""
    if cause == "outage":
        since = state.outage_since.strftime("%Y-%m-%d %H:%M") if state.outage_since else "?"
        until = state.held_until.strftime("%H:%M:%S") if state.held_until else "?"
        return (f"Sending through {gateway} is held: the gateway has been down since {since} UTC "
                f"({state.failed_passes} failed passes, last error: {_cause(state.last_error)}); "
                f"the next try is at {until} UTC and the queue waits until it answers.")
    until = state.account_held_until.strftime("%Y-%m-%d %H:%M")
    advice = gateway_state.account_advice(gateway)
    return (f"Sending through {gateway} is held until {until} UTC by an account problem "
            f"({_cause(state.account_problem)}): a person must act ({advice}), then run "
            f"flask --app service outbox resume --gateway {gateway}.")


def check(session: Session, rules: Rules, thresholds: Thresholds = Thresholds(),
          now: dt.datetime | None = None, *, gateways: Iterable[str] = ()) -> Readiness:
    """Look at everything of the module docstring at ``now`` (aware UTC; default the clock) and
    return the :class:`Readiness`; ``gateways``: the names of the configured gateways (shown
    as not held when they are not). Never raises for a database that is away: that is its
    first problem (the session is rolled back)."""
    now = now or utcnow()
    report = Readiness(gateways=tuple(gateways))
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # the database is away or refuses us: nothing else can be known
        session.rollback()
        report.problems.append(f"The database does not answer ({type(exc).__name__}): check DATABASE_URL "
                               "and that the database server runs.")
        return report
    report.facts.append("database: answers")
    try:
        absent = data.missing(session)
    except Exception:  # no schema yet: the reference tables are not there either
        session.rollback()
        absent = [what for _, what in data.REQUIRED]
    if absent:
        report.facts.append(f"reference data: no {', no '.join(absent)}")
        report.problems.append(f"The database holds no {' and no '.join(absent)}, so farmers' price and advice "
                               "questions find nothing: run flask --app service db upgrade (or init-db).")
    else:
        report.facts.append("reference data: present")

    labels = {heartbeat.SCHEDULER: ("scheduler", thresholds.scheduler_max_age_seconds,
                                    "flask --app service scheduler run (or SCHEDULER_EMBEDDED=1 in one web process)"),
              heartbeat.DISPATCHER: ("dispatcher", thresholds.dispatcher_max_age_seconds,
                                     "flask --app service scheduler run (its dispatcher job)")}
    for kind, (name, limit, start) in labels.items():
        last = heartbeat.latest(session, kind)
        age = None if last is None else max(0.0, (now - last).total_seconds())
        report.heartbeat_ages[kind] = age
        if age is None:
            report.facts.append(f"{name} heartbeat: never")
            report.problems.append(f"No {name} has ever run on this database: start {start}.")
        else:
            report.facts.append(f"{name} heartbeat: {_age('', dt.timedelta(seconds=age)).strip()} ago")
            if age > limit:
                report.problems.append(f"The {name} last ran {_minutes(age)} ago (more than {_minutes(limit)}): "
                                       f"it has stopped; check its process ({start}).")

    queue = report.backlog = backlog(session, rules, now)
    report.facts.append(f"outbox: {queue.queued} queued, {_age('oldest', queue.oldest_queued)}, "
                        f"{_age('longest wait', queue.longest_wait)}")
    if queue.queued > thresholds.max_queued:
        report.problems.append(f"The outbox holds {queue.queued} queued messages (more than "
                               f"{thresholds.max_queued}): the dispatchers do not keep up or sending is held.")
    if queue.longest_wait is not None and queue.longest_wait > dt.timedelta(minutes=thresholds.max_wait_minutes):
        minutes = queue.longest_wait.total_seconds() / 60
        report.problems.append(f"A queued message that may be sent now has waited {minutes:.0f} min (more than "
                               f"{thresholds.max_wait_minutes:g} min): messages are stuck; see "
                               "flask --app service outbox status.")

    for gateway, cause, state in gateway_state.holds(session, now):
        report.holds.append((gateway, cause))
        report.problems.append(hold_sentence(gateway, cause, state))
    if not report.holds:
        report.facts.append("sending: not held")
    return report
