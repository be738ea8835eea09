"""MO and MT SMS: inbound messages, the outbox and delivery reports.

Every MT message is first a row of the outbox (:class:`OutboundMessage`);
the dispatcher (``service.messaging.dispatch``) sends queued rows through the gateway
adapter chosen by ``SMS_GATEWAY``. States follow
``docs/gateway-africastalking.md`` §5 and §9:
``queued → sending → accepted → in_transit → delivered | failed``, plus
``suppressed`` (opted out at send time), ``withdrawn`` (taken back unsent because it no
longer holds, ``service.messaging.outbox.withdraw``), ``held`` (AT answered a status code
that needs a person's review) and ``unconfirmed`` (the outcome is unknown, e.g.
the send timed out after AT may have accepted it: never resent automatically;
settled by its delivery report or after a deadline, ``service.messaging.delivery``).

Every row has a deadline, ``expires_at`` (UTC): a row still unsent then is not
sent any more but ``failed`` ("expired: not sent within 24 h"). The caller may
give it (``expires_at=``); otherwise it is the row's due time (``not_before``,
default now) plus the lifetime of its kind, :data:`LIFETIME`:

| Kind | Lifetime | Why |
|---|---|---|
| ``reply`` | 24 h | the answer to a farmer's own SMS or USSD request; a day late it still answers |
| ``stop_confirm`` | 24 h | the STOP confirmation, and "messages are stopped, send START" |
| ``alert`` | 24 h | staff alerts (hail, frost, mudflow): older than a day they are stale |
| ``notice`` | 24 h | order totals, approvals, price digests and alerts, question routing |
| ``broadcast`` | 24 h | unless the caller gives its own deadline |
| ``tip`` | 48 h | crop-calendar reminders: the caller's deadline (the step's window), else 48 h |
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import text as sql
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow
from service.messaging import household
from service.messaging.encoding import measure

OUT_STATES = ("queued", "sending", "accepted", "in_transit", "delivered", "failed", "suppressed", "held",
              "unconfirmed", "withdrawn")
FINAL_STATES = ("delivered", "failed", "suppressed", "withdrawn")
# kinds of MT message; ``stop_confirm`` always goes to a suppressed phone (``rules.sent_despite_opt_out``)
KINDS = ("reply", "stop_confirm", "notice", "alert", "tip", "broadcast")
PRIORITY = {"stop_confirm": 0, "reply": 1, "alert": 2, "notice": 3, "broadcast": 5, "tip": 6}
# how long an unsent row may wait (from its due time) before it expires; see the module docstring
LIFETIME = {"reply": dt.timedelta(hours=24), "stop_confirm": dt.timedelta(hours=24),
            "alert": dt.timedelta(hours=24), "notice": dt.timedelta(hours=24),
            "broadcast": dt.timedelta(hours=24), "tip": dt.timedelta(hours=48)}


def deadline(kind: str, due: dt.datetime | None = None) -> dt.datetime:
    """The default ``expires_at`` of a row of ``kind`` due at ``due`` (aware UTC; default now):
    ``due + LIFETIME[kind]``. Raises ``KeyError`` for an unknown kind."""
    return (due or utcnow()) + LIFETIME[kind]


def expiry_reason(created_at: dt.datetime, expires_at: dt.datetime) -> str:
    """The ``failure_reason`` of a row that expired unsent: ``"expired: not sent within 24 h"``
    (the time from queuing to the deadline, in whole hours, or minutes under an hour)."""
    seconds = max(0, (expires_at - created_at).total_seconds())
    within = f"{round(seconds / 3600)} h" if seconds >= 3600 else f"{max(1, round(seconds / 60))} min"
    return f"expired: not sent within {within}"


def _default_expiry(context) -> dt.datetime:
    """Column default of ``expires_at`` for an INSERT that gives none (e.g. a bulk insert)."""
    return deadline(context.get_current_parameters().get("kind") or "reply")


class InboundMessage(Base):
    """An MO SMS as AT posted it. ``gateway_id`` (AT ``id``) is unique: the idempotency key.
    ``status``: ``processed`` or ``error`` (kept with ``error`` text, never lost)."""

    __tablename__ = "inbound_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(100), unique=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    to: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    network_code: Mapped[str | None] = mapped_column(String(12))
    link_id: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="SET NULL"))
    command: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="processed")
    error: Mapped[str | None] = mapped_column(Text)


class OutboundMessage(Base):
    """An MT SMS in the outbox.

    ``phone`` E.164; ``text`` already normalised; ``encoding`` ``GSM-7``/``UCS-2``
    and ``segments`` as measured at queue time; ``gateway_message_id`` AT's
    ``messageId`` once accepted (never the string "None"); ``cost`` as AT
    reports it (e.g. ``"TJS 0.1000"``, NULL when AT reports ``"0"``);
    ``billed_parts`` AT's ``messageParts`` (NULL when absent); ``attempts``
    counts send attempts (an outage or account hold does not count one);
    ``sent_at`` when the latest attempt started; ``expires_at`` the deadline after
    which an unsent row fails instead of being sent (:data:`LIFETIME`);
    ``failure_reason`` why the row failed, is held or waits for a retry;
    ``updated_at`` its latest change; times UTC.
    """

    __tablename__ = "outbound_message"
    __table_args__ = (
        Index("ix_outbound_message_due", "status", "priority", "next_attempt_at"),
        Index("ix_outbound_message_sent_at", "sent_at"),  # the rate cap's window (service.messaging.rules)
        UniqueConstraint("dedupe_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16), default="reply")
    priority: Mapped[int] = mapped_column(default=1)
    encoding: Mapped[str] = mapped_column(String(6))
    segments: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(default=_default_expiry)
    gateway_message_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    gateway_status_code: Mapped[int | None]
    cost: Mapped[str | None] = mapped_column(String(32))
    billed_parts: Mapped[int | None]
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    in_reply_to: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    # the dispatcher pass that claimed the row, and when it handed the row to the gateway:
    # a row claimed but never submitted (its dispatcher died) is safe to send again
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    submitted_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    # the latest change of the row (UTC), kept by SQLAlchemy on every UPDATE: when it got its state
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeliveryReport(Base):
    """Every raw delivery report as received (history). Deduplicated on
    (``gateway_message_id``, ``status``, ``retry_count``); ``applied`` False while the
    message id is unknown (an orphan)."""

    __tablename__ = "delivery_report"
    __table_args__ = (
        UniqueConstraint("gateway_message_id", "status", "retry_count"),
        # the parked orphans (service.messaging.delivery matches them by id, or by phone and time)
        Index("ix_delivery_report_orphan", "received_at", sqlite_where=sql("NOT applied"),
              postgresql_where=sql("NOT applied")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_message_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))
    network_code: Mapped[str | None] = mapped_column(String(12))
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    retry_count: Mapped[int] = mapped_column(default=0)
    applied: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def queue_sms(session: Session, phone: str, text: str, *, kind: str = "reply", farmer_id: int | None = None,
              language: str | None = None, in_reply_to: int | None = None, dedupe_key: str | None = None,
              not_before: dt.datetime | None = None, expires_at: dt.datetime | None = None,
              named: bool | None = None) -> OutboundMessage:
    """Add an MT message to the outbox (in the caller's transaction) and return it.

    A message for one profile (``farmer_id``) of a phone that carries several names that person
    (``service.messaging.household.named``) when ``named`` is True, or None and ``kind`` is one
    of ``household.NAMED_KINDS`` (pass False for a text about the whole phone).

    ``text`` is normalised and measured here (see ``service.messaging.encoding``);
    ``kind`` is one of :data:`KINDS` and sets the priority. ``not_before``
    (aware UTC) delays the first attempt; ``expires_at`` (aware UTC) is the
    deadline after which the row is not sent but fails, default
    ``not_before`` (or now) plus :data:`LIFETIME` of the kind. Nothing is sent
    here: the dispatcher sends after the transaction commits. Raises
    ``ValueError`` for an unknown kind.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if farmer_id is not None and (named if named is not None else kind in household.NAMED_KINDS):
        text = household.named(text, household.shared_names(session, [farmer_id]).get(farmer_id), language)
    m = measure(text)
    due = not_before or utcnow()
    row = OutboundMessage(phone=phone, farmer_id=farmer_id, text=m.text, language=language, kind=kind,
                          priority=PRIORITY[kind], encoding=m.encoding, segments=m.segments,
                          in_reply_to=in_reply_to, dedupe_key=dedupe_key,
                          next_attempt_at=due, expires_at=expires_at or deadline(kind, due))
    session.add(row)
    return row


def queue_many(session: Session, rows: Iterable[dict], *, kind: str,
               not_before: dt.datetime | None = None, expires_at: dt.datetime | None = None) -> list[int]:
    """Add many MT messages to the outbox in one multi-row INSERT; returns the new rows' ids.

    ``rows``: dicts with ``phone``, ``text`` and optionally ``farmer_id``,
    ``language``, ``dedupe_key``, ``named`` (False: not named; else a row of a personal kind for
    one profile of a shared phone names that person, as :func:`queue_sms` does). A row whose
    ``dedupe_key`` is already in the outbox is skipped without error (``ON CONFLICT DO NOTHING``), which is what
    makes re-running a half-done broadcast or scheduler pass safe. ``kind``,
    ``not_before`` and ``expires_at`` (one deadline for every row) as in
    :func:`queue_sms`; texts are normalised and measured once per distinct
    text. Runs in the caller's transaction.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    now = utcnow()
    expires_at = expires_at or deadline(kind, not_before or now)
    measured: dict[str, object] = {}
    values = []
    rows = list(rows)
    names = household.shared_names(session, (r.get("farmer_id") for r in rows if r.get("named", True))) \
        if kind in household.NAMED_KINDS else {}
    if names:
        rows = [{**r, "text": household.named(r["text"], names.get(r.get("farmer_id")), r.get("language"))}
                if r.get("named", True) else r for r in rows]
    for row in rows:
        m = measured.get(row["text"]) or measured.setdefault(row["text"], measure(row["text"]))
        values.append({"phone": row["phone"], "farmer_id": row.get("farmer_id"), "text": m.text,
                       "language": row.get("language"), "kind": kind, "priority": PRIORITY[kind],
                       "encoding": m.encoding, "segments": m.segments, "status": "queued", "attempts": 0,
                       "dedupe_key": row.get("dedupe_key"), "next_attempt_at": not_before or now,
                       "expires_at": expires_at, "created_at": now, "updated_at": now})
    if not values:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(OutboundMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(OutboundMessage.id))
    return list(session.scalars(statement, values))
