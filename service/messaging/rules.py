"""Delivery rules the dispatcher applies when it claims outbox rows.

Quiet hours
    No SMS goes to farmers between ``QUIET_HOURS_START`` and ``QUIET_HOURS_END``
    (local ``TIMEZONE`` time, default 21:00–07:00 ``Asia/Dushanbe``). A row that
    falls inside stays ``queued`` and is claimed when the window opens. Exempt
    (:data:`EXEMPT_KINDS`): replies to the farmer's own request (``reply``,
    ``stop_confirm``: the farmer just wrote and expects the answer) and
    ``alert`` (staff alerts about hail, frost or mudflow: a warning that waits
    until 07:00 may come after the damage; staff choose when to send one).
    Equal start and end mean no quiet hours.

Rate cap
    At most ``SEND_RATE_SEGMENTS_PER_SECOND`` SMS segments per second, counted
    in the database over a sliding window of :func:`Rules.window` (the dispatch
    interval, at least one second): a pass may claim ``rate × window`` segments
    minus the segments of rows whose latest attempt started inside the window.
    Counting in the database shares one budget among several dispatcher
    processes and takes the pass's ``now``, so tests need no sleeping; token
    bucket libraries (``limits``, ``pyrate-limiter``) keep their state in the
    process or in Redis, which the service does not run. When nothing was sent
    inside the window one row is always allowed, so a message longer than the
    budget is not stuck. ``0`` means no cap.

Opt-out
    A phone on the suppression list (``service.messaging.optout``) gets only what
    :func:`sent_despite_opt_out` lets through, checked at send time: the STOP
    confirmation (``stop_confirm``, which also carries the once-a-day "messages
    are stopped, send START" answer of ``service.sms.engine``), and a ``reply``
    queued before the farmer's own STOP (SMS keyword or USSD; the farmer asked,
    seconds before stopping, and waits for that answer). Everything else to the
    phone (notices, broadcasts, tips, alerts, and replies queued after the STOP)
    is dropped as ``suppressed``; so is every row to a phone the gateway or the
    network opted out (AT's opt-out callback, ``UserInBlackList``).
    A phone whose last profile was erased (``docs/privacy.md`` §3; source
    ``"erased"``) gets only the replies to what it asks after the erasure; a row
    whose phone was blanked gets nothing.

Priorities and order
    Rows are claimed by priority (``service.messaging.message.PRIORITY``: replies and
    alerts before notices, broadcasts and tips), then oldest first; the
    dispatcher keeps one phone's rows in that order across its batched requests.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.settings import Settings, as_settings

EXEMPT_KINDS = ("reply", "stop_confirm", "alert")
#: suppression sources that are the farmer's own STOP (see :func:`sent_despite_opt_out`)
FARMER_STOP_SOURCES = ("keyword", "ussd")


def sent_despite_opt_out(kind: str, created_at: dt.datetime, stopped_at: dt.datetime, source: str) -> bool:
    """True when a row of ``kind`` queued at ``created_at`` (aware UTC) still goes to a phone
    suppressed since ``stopped_at`` (aware UTC) for ``source`` (``optout.SOURCES``): the
    STOP confirmation always; a ``reply`` queued before a STOP of the farmer's own
    (:data:`FARMER_STOP_SOURCES`); nothing else (see the module docstring)."""
    if kind == "stop_confirm":
        return True
    if source == "erased":  # an erased phone: only answers to what it asks anew (docs/privacy.md §3)
        return kind == "reply" and created_at >= stopped_at
    return kind == "reply" and source in FARMER_STOP_SOURCES and created_at < stopped_at


@dataclass(frozen=True)
class Rules:
    """The delivery rules as values: ``zone`` local zone, quiet hours ``quiet_start``–``quiet_end``
    (local wall-clock times), ``rate`` segments per second (0 = no cap), ``interval`` the dispatch
    interval in seconds."""

    zone: ZoneInfo
    quiet_start: dt.time
    quiet_end: dt.time
    rate: float = 0.0
    interval: float = 5.0

    @classmethod
    def of(cls, settings: Settings | Mapping) -> Rules:
        """The rules of ``settings`` (a :class:`service.settings.Settings`, or a mapping of
        ``config.py`` names, whose missing ones take ``config.py``'s defaults)."""
        settings = as_settings(settings)
        return cls(zone=settings.timezone, quiet_start=settings.quiet_start, quiet_end=settings.quiet_end,
                   rate=settings.send_rate_segments_per_second, interval=settings.dispatch_interval_seconds)

    @property
    def window(self) -> dt.timedelta:
        """The sliding window the rate cap counts over."""
        return dt.timedelta(seconds=max(1.0, self.interval))

    def is_quiet(self, now: dt.datetime) -> bool:
        """True when ``now`` (aware) falls inside the quiet hours."""
        if self.quiet_start == self.quiet_end:
            return False
        local = now.astimezone(self.zone).time()
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end

    def budget(self, session: Session, now: dt.datetime) -> int | None:
        """Segments a pass may send at ``now`` (None = no cap); see the module docstring."""
        if self.rate <= 0:
            return None
        from service.messaging.message import OutboundMessage

        used = session.scalar(select(func.coalesce(func.sum(OutboundMessage.segments), 0))
                              .where(OutboundMessage.sent_at > now - self.window,
                                     OutboundMessage.sent_at <= now)) or 0
        allowed = math.floor(self.rate * self.window.total_seconds()) - int(used)
        return max(allowed, 0) if used else max(allowed, 1)


def take_within(segments: list[int], budget: int | None) -> int:
    """How many leading rows (their ``segments`` in send order) fit ``budget``; all when None.
    Stops at the first row that does not fit, so order is kept; when the budget allows any
    sending at all, the first row is always taken."""
    if budget is None:
        return len(segments)
    taken, total = 0, 0
    for n in segments:
        if budget <= 0 or (taken and total + n > budget):
            break
        total += n
        taken += 1
    return taken
