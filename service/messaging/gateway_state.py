"""The outage state of each SMS gateway, shared by every dispatcher process through the database.

A dispatcher pass whose request fails as a whole (``service.messaging.gateways.OUTAGE``:
AT answers HTTP 5xx or another non-2xx that is not the auth refusal, refuses
the connection, or the connect times out) calls :func:`record_failure`: the
gateway's row counts the consecutive failed passes and holds sending until
``held_until``, with pauses that grow from :data:`PAUSE_BASE` (30 s, 1 min,
2 min, 4 min, 8 min) to :data:`PAUSE_CAP` (10 min). Every dispatcher checks
:func:`held_until` before it claims rows, so during an outage the whole queue
waits and the gateway gets one probing request per pause. The first answer
that is not an outage ends it (:func:`record_answer`).

Log lines: ERROR ``ALERT`` when an outage starts and again at most every
:data:`ALERT_EVERY` (15 min) while it lasts; INFO when the gateway answers again.
No Flask here: callers pass a Session and commit.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base

log = logging.getLogger(__name__)

PAUSE_BASE = dt.timedelta(seconds=30)
PAUSE_CAP = dt.timedelta(minutes=10)
ALERT_EVERY = dt.timedelta(minutes=15)

#: what a person does about an account hold, per gateway: AT's refusals (``docs/gateway-africastalking.md``
#: §8), Kannel's 403 and "Sender missing" (``docs/gateway-kannel.md`` §3)
ACCOUNT_ADVICE = {
    "africastalking": "top up the account, get the sender ID approved, have AT lift a risk hold, or fix AT_API_KEY",
    "kannel": "fix KANNEL_USERNAME/KANNEL_PASSWORD or the sendsms-user's user-allow-ip after a 403, or set "
              "KANNEL_FROM or smsbox's global-sender after \"Sender missing\"",
}


def account_advice(gateway: str) -> str:
    """What a person does about an account hold of ``gateway`` (:data:`ACCOUNT_ADVICE`), one clause."""
    return ACCOUNT_ADVICE.get(gateway, "fix the gateway account's problem")


class GatewayState(Base):
    """One row per gateway adapter name (``africastalking``, ``local``).

    ``outage_since`` when the current outage started (None: the gateway answers);
    ``failed_passes`` consecutive passes whose request failed as a whole;
    ``held_until`` no dispatcher sends through this gateway before it;
    ``last_alert_at`` the latest ALERT log line; ``last_error`` the latest
    failure's reason; ``account_held_until`` and ``account_problem``: the latest account
    hold (``service.messaging.dispatch.ACCOUNT_HOLD``: balance, sender ID, risk hold, API key)
    and its reason, recorded by :func:`record_account_hold`. Times UTC.
    """

    __tablename__ = "gateway_state"
    gateway: Mapped[str] = mapped_column(String(40), primary_key=True)
    outage_since: Mapped[dt.datetime | None]
    failed_passes: Mapped[int] = mapped_column(default=0)
    held_until: Mapped[dt.datetime | None]
    last_alert_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    account_held_until: Mapped[dt.datetime | None]
    account_problem: Mapped[str | None] = mapped_column(String(200))


def pause(failed_passes: int) -> dt.timedelta:
    """The hold after the ``failed_passes``-th consecutive failed pass (≥ 1):
    ``PAUSE_BASE · 2^(n-1)``, capped at :data:`PAUSE_CAP`."""
    return min(PAUSE_CAP, PAUSE_BASE * 2 ** min(max(0, failed_passes - 1), 20))


def get(session: Session, gateway: str) -> GatewayState | None:
    """The gateway's state row, or None when it never had an outage."""
    return session.get(GatewayState, gateway)


def held_until(session: Session, gateway: str) -> dt.datetime | None:
    """Until when sending through ``gateway`` is held (aware UTC), or None."""
    return session.scalar(select(GatewayState.held_until).where(GatewayState.gateway == gateway))


def record_failure(session: Session, gateway: str, now: dt.datetime, reason: str) -> dt.datetime:
    """Count one failed pass of ``gateway`` at ``now`` and return the new ``held_until``.

    Logs the ALERT when the outage starts and when the last one is :data:`ALERT_EVERY`
    old. Atomic against other dispatchers (an UPDATE that increments in the database).
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(GatewayState).values(gateway=gateway, failed_passes=0)
                    .on_conflict_do_nothing(index_elements=["gateway"]))
    session.execute(
        update(GatewayState).where(GatewayState.gateway == gateway)
        .values(failed_passes=GatewayState.failed_passes + 1, last_error=reason[:200])
        .execution_options(synchronize_session=False))
    state = session.scalars(select(GatewayState).where(GatewayState.gateway == gateway)
                            .execution_options(populate_existing=True)).one()
    until = now + pause(state.failed_passes)
    state.held_until = max(until, state.held_until or until)
    started = state.outage_since is None
    if started:
        state.outage_since = now
    if started or state.last_alert_at is None or now - state.last_alert_at >= ALERT_EVERY:
        state.last_alert_at = now
        log.error("ALERT: SMS gateway %s %s (%s): %d failed passes since %s UTC; sending held until %s UTC "
                  "and retried with growing pauses (messages keep their attempts)",
                  gateway, "is down" if started else "is still down", reason[:200], state.failed_passes,
                  state.outage_since.strftime("%Y-%m-%d %H:%M:%S"), state.held_until.strftime("%H:%M:%S"))
    session.flush()
    return state.held_until


def record_answer(session: Session, gateway: str, now: dt.datetime) -> bool:
    """The gateway answered at ``now``: end its outage, if any (INFO line); True when one ended."""
    state = session.scalars(select(GatewayState).where(GatewayState.gateway == gateway,
                                                       GatewayState.outage_since.is_not(None))
                            .execution_options(populate_existing=True)).one_or_none()
    if state is None:
        return False
    minutes = max(0.0, (now - state.outage_since).total_seconds() / 60)
    log.info("SMS gateway %s answers again after an outage of %.0f min (%d failed passes); sending resumes",
             gateway, minutes, state.failed_passes)
    state.outage_since, state.failed_passes, state.held_until, state.last_alert_at = None, 0, None, None
    session.flush()
    return True


def record_account_hold(session: Session, gateway: str, until: dt.datetime, problem: str) -> None:
    """``gateway``'s account refused to send (the dispatcher holds every queued row until ``until``,
    aware UTC): keep the hold and its ``problem`` so that ``GET /readyz`` and ``/metrics`` show it.
    The caller commits."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(GatewayState).values(gateway=gateway, failed_passes=0)
                    .on_conflict_do_nothing(index_elements=["gateway"]))
    session.execute(update(GatewayState).where(GatewayState.gateway == gateway)
                    .values(account_held_until=until, account_problem=(problem or "")[:200])
                    .execution_options(synchronize_session=False))


def holds(session: Session, now: dt.datetime) -> list[tuple[str, str, GatewayState]]:
    """The holds in force at ``now`` (aware UTC): ``(gateway, cause, state)`` with cause
    ``outage`` (``held_until`` after ``now``, or an outage not yet ended) or ``account``
    (``account_held_until`` after ``now``), by gateway name."""
    found = []
    for state in session.scalars(select(GatewayState).order_by(GatewayState.gateway)):
        if state.outage_since is not None or (state.held_until is not None and state.held_until > now):
            found.append((state.gateway, "outage", state))
        if state.account_held_until is not None and state.account_held_until > now:
            found.append((state.gateway, "account", state))
    return found


@dataclass(frozen=True)
class Resumed:
    """What :func:`resume` ended for one gateway: ``account`` the account hold's end and cause
    (None: there was none), ``outage`` whether an outage hold was ended, ``rows`` the queued rows
    brought back to now."""

    gateway: str
    account: tuple[dt.datetime, str] | None
    outage: bool
    rows: int


def resume(session: Session, gateway: str, now: dt.datetime, only=None) -> Resumed:
    """A person fixed the cause of ``gateway``'s hold: end its account hold and its outage hold
    (a gateway still down is held again by the next failed pass, :func:`record_failure`), and
    bring the queued rows the holds pushed back to ``now`` (aware UTC). The rows pushed are those
    whose ``next_attempt_at`` is exactly the hold's end (``service.messaging.dispatch`` sets it
    so); rows waiting for a time of their own (a retry, a planned send) keep it. ``only``: an SQL
    condition picking that gateway's rows when there are several (None: every row). Nothing is
    changed for a gateway without a state row. The caller commits."""
    from service.messaging.message import OutboundMessage

    state = session.scalars(select(GatewayState).where(GatewayState.gateway == gateway)
                            .execution_options(populate_existing=True)).one_or_none()
    if state is None:
        return Resumed(gateway, None, False, 0)
    ends = [until for until in (state.account_held_until, state.held_until) if until is not None and until > now]
    account = ((state.account_held_until, state.account_problem or "")
               if state.account_held_until is not None and state.account_held_until > now else None)
    outage = state.outage_since is not None or (state.held_until is not None and state.held_until > now)
    rows = 0
    if ends:
        back = (update(OutboundMessage)
                .where(OutboundMessage.status == "queued", OutboundMessage.next_attempt_at.in_(ends))
                .values(next_attempt_at=now).execution_options(synchronize_session=False))
        if only is not None:
            back = back.where(only)
        rows = session.execute(back).rowcount or 0
    state.account_held_until, state.account_problem = None, None
    state.outage_since, state.failed_passes, state.held_until, state.last_alert_at = None, 0, None, None
    session.flush()
    if account or outage:
        log.info("SMS gateway %s resumed by hand (%s); %d queued rows due now", gateway,
                 ", ".join(n for n, held in (("account hold", account), ("outage hold", outage)) if held), rows)
    return Resumed(gateway, account, outage, rows)
