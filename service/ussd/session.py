"""USSD sessions, their hops, and forms saved across dropped sessions.

State is kept server-side per AT ``sessionId`` (``docs/gateway-africastalking.md`` §2.2):
each hop's (``sessionId``, ``text``) and the answer given are stored, so a
repeated hop gets the same screen and its side effects run once (the
uniqueness is on the SHA-256 of the text, :func:`text_hash`, so that a long
text fits PostgreSQL's index row limit of about 2.7 KB). A form
left half-way (a dropped registration) is kept per phone in
:class:`FormDraft` and offered again on the next dial.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, utcnow


class UssdSession(Base):
    """One USSD session. ``state``: the dialogue's JSON state; ``status`` ``open``/``ended``;
    the end-of-session notice fills ``end_status`` (Success/Incomplete/Failed), ``cost``
    (as AT wrote it, e.g. ``"KES 0.10"``), ``duration_ms``, ``hops_count``, ``final_input``,
    ``last_response`` (AT's ``lastAppResponse``) and ``error_message``."""

    __tablename__ = "ussd_session"
    session_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    service_code: Mapped[str | None] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(12))
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="SET NULL"))
    state: Mapped[dict] = mapped_column(default=dict)
    last_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    end_status: Mapped[str | None] = mapped_column(String(16))
    cost: Mapped[str | None] = mapped_column(String(32))
    duration_ms: Mapped[int | None]
    hops_count: Mapped[int | None]
    final_input: Mapped[str | None] = mapped_column(Text)
    last_response: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[dt.datetime | None]


def text_hash(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8) as 64 lower-case hex digits: the key of a hop's text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class UssdHop(Base):
    """One answered hop: (``session_id``, ``text_hash``) is unique (``text_hash`` =
    :func:`text_hash` of ``text``, filled from ``text`` when not given); ``response`` is the body sent."""

    __tablename__ = "ussd_hop"
    __table_args__ = (UniqueConstraint("session_id", "text_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("ussd_session.session_id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(
        String(64), default=lambda context: text_hash(context.get_current_parameters()["text"]))
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FormDraft(Base):
    """A form a phone started and did not finish (``kind`` e.g. ``register``; ``data`` JSON)."""

    __tablename__ = "form_draft"
    __table_args__ = (UniqueConstraint("phone", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
