"""Staff commands that ask for a confirmation code before they act (``ALERT``, an unusual ``SETPRICE``).

The command keeps what it would do per phone and kind (a ``FormDraft``) with a random 4-digit
code and answers with a preview naming the code; ``<COMMAND> OK <code>`` must name the code of
the latest preview within :data:`CONFIRM_WITHIN`, so a late OK cannot act on an older preview.
A new preview of the same kind replaces the previous one.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.ussd.session import FormDraft

CONFIRM_WITHIN = dt.timedelta(minutes=30)


def _row(session: Session, phone: str, kind: str) -> FormDraft | None:
    return session.scalar(select(FormDraft).where(FormDraft.phone == phone, FormDraft.kind == kind))


def hold(session: Session, phone: str, kind: str, data: dict) -> str:
    """Keep ``data`` (JSON-ready) for ``phone`` (E.164) under ``kind`` (at most 20 characters),
    replacing an earlier one; returns the new 4-digit code."""
    code = str(1000 + secrets.randbelow(9000))
    row = _row(session, phone, kind)
    if row is None:
        row = FormDraft(phone=phone, kind=kind)
        session.add(row)
    row.data, row.updated_at = {**data, "code": code}, utcnow()
    session.flush()
    return code


def take(session: Session, phone: str, kind: str, code: str) -> dict | None:
    """The data held for ``phone`` and ``kind`` when ``code`` is its code and it is younger than
    :data:`CONFIRM_WITHIN` (then it is removed), else None (nothing removed)."""
    row = _row(session, phone, kind)
    if row is None or row.data.get("code") != code or utcnow() - row.updated_at > CONFIRM_WITHIN:
        return None
    data = dict(row.data)
    session.delete(row)
    session.flush()
    return data
