"""The suppression list: phones that must get no MT message but the STOP confirmation.

STOP (SMS keyword or USSD "stop messages"), AT's bulk opt-out callback and a
delivery report with ``UserInBlackList`` all feed this one list, and the
dispatcher checks it at send time (``docs/gateway-africastalking.md`` §6).
Opting out is per phone: every profile sharing the phone stops receiving.
What still goes to a suppressed phone is the rule of
``service.messaging.rules.sent_despite_opt_out``: the STOP confirmation, and the
replies to the farmer's own requests queued before the farmer's STOP.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow

SOURCES = ("keyword", "ussd", "gateway_optout", "blacklist")
#: not a row's source: what :func:`suppressions_among` says of a phone whose last profile was erased
#: (``service.farmers.models.ErasedPhone``, kept as a keyed digest) or of a row whose phone was blanked


class Suppression(Base):
    """One suppressed phone (E.164) with why (:data:`SOURCES`) and since when (UTC)."""

    __tablename__ = "suppression"
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


_erased: dict = {"lookup": None}


def set_erased_lookup(lookup: Callable[[Session, list[str]], dict[str, dt.datetime]]) -> None:
    """Register how to find the phones whose last profile was erased (``lookup(session, phones)``:
    ``{phone: erased at}``, the farmers feature's ``erased_among``): :func:`suppressions_among`
    reports them with the source ``"erased"``, without this module knowing the feature."""
    _erased["lookup"] = lookup


def is_suppressed(session: Session, phone: str) -> bool:
    """True when ``phone`` (E.164) is on the suppression list."""
    return session.get(Suppression, phone) is not None


def opt_out(session: Session, phone: str, source: str) -> bool:
    """Put ``phone`` on the list; returns False when it already was (nothing changes)."""
    if source not in SOURCES:
        raise ValueError(f"unknown opt-out source {source!r}")
    if is_suppressed(session, phone):
        return False
    session.add(Suppression(phone=phone, source=source))
    session.flush()
    return True


def opt_in(session: Session, phone: str) -> bool:
    """Take ``phone`` off the list; returns False when it was not on it."""
    result = session.execute(delete(Suppression).where(Suppression.phone == phone))
    return result.rowcount > 0


def suppressions_among(session: Session, phones: list[str]) -> dict[str, Suppression]:
    """The suppression rows of those of ``phones`` that are suppressed, by phone (one query)."""
    if not phones:
        return {}
    found = {row.phone: row for row in session.scalars(select(Suppression).where(Suppression.phone.in_(phones)))}
    rest = [p for p in phones if p and p not in found]
    if rest and _erased["lookup"] is not None:
        for phone, since in _erased["lookup"](session, rest).items():
            found[phone] = Suppression(phone=phone, source="erased", created_at=since)
    for p in phones:
        if not p:  # a row whose phone was erased
            found[p] = Suppression(phone=p, source="erased", created_at=dt.datetime.max.replace(tzinfo=dt.timezone.utc))
    return found

