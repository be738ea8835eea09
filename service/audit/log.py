"""The audit log of staff actions (``docs/staff.md`` §3).

Every change a staff member makes, whether on the staff pages (``web``), by a staff SMS command
(``sms``) or with a ``flask --app service ...`` command (``cli``), writes one :class:`AuditEntry` in
the same transaction as the change: who (:class:`Actor`), what (``action``, the object's type and
id), when (UTC) and the record before and after (JSON objects of the fields that matter, or None
for a record created or removed). Administrators read it on the staff pages and download it.

When a farmer's data is erased, :func:`forget` rewrites the entries about that farmer so that no
name or phone of theirs stays in the log.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import getpass
import io
import json
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow

CHANNELS = ("web", "sms", "cli")
MAX_NOTE_CHARS = 200


class AuditEntry(Base):
    """One staff action. ``account_id``: the staff account (None for a CLI user without one, or an
    account since removed); ``actor``: how the actor was named at the time (``"rustam (admin)"``,
    ``"cli:root"``); ``channel``: :data:`CHANNELS`; ``action``: dotted verb (``"pg.seat.replace"``);
    ``object_type``/``object_id``: what was acted on; ``before``/``after``: JSON objects or None."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(48), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None]
    after: Mapped[dict | None]
    note: Mapped[str | None] = mapped_column(String(MAX_NOTE_CHARS))


@dataclass(frozen=True)
class Actor:
    """Who acts: ``account_id`` (a staff account, or None), ``label`` (as the log shows it) and
    ``channel`` (``web``, ``sms``, ``cli``)."""

    account_id: int | None
    label: str
    channel: str

    @classmethod
    def of(cls, account, channel: str) -> Actor:
        """The actor for a :class:`~service.staff.accounts.StaffAccount` acting through ``channel``."""
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}")
        return cls(account.id, account.label()[:80], channel)

    @classmethod
    def cli(cls, account=None) -> Actor:
        """A command-line user: the given account, else the operating-system user (``cli:<login>``)."""
        if account is not None:
            return cls.of(account, "cli")
        try:
            who = getpass.getuser()
        except Exception:  # no login name (a container without a passwd entry)
            who = "unknown"
        return cls(None, f"cli:{who}"[:80], "cli")


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def snapshot(obj, fields: tuple[str, ...] | list[str]) -> dict:
    """``{field: value}`` of ``obj``'s attributes ``fields``, as JSON-safe values (dates as ISO text)."""
    return {f: _plain(getattr(obj, f)) for f in fields}


def record(session: Session, actor: Actor, action: str, object_type: str, object_id=None, *,
           before: dict | None = None, after: dict | None = None, note: str | None = None) -> AuditEntry:
    """Add one entry (flushed with the caller's transaction; the caller commits). ``before`` and
    ``after``: JSON objects (made safe with the rules of :func:`snapshot`); ``note``: cut to
    :data:`MAX_NOTE_CHARS`. ``ValueError`` for an actor whose channel is not in :data:`CHANNELS`."""
    if actor.channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    entry = AuditEntry(at=utcnow(), account_id=actor.account_id, actor=actor.label[:80], channel=actor.channel,
                       action=action[:48], object_type=object_type[:32],
                       object_id=None if object_id is None else str(object_id)[:64],
                       before=_plain(before) if before is not None else None,
                       after=_plain(after) if after is not None else None,
                       note=(note or None) and note[:MAX_NOTE_CHARS])
    session.add(entry)
    session.flush()
    return entry


def entries(session: Session, *, action: str | None = None, account_id: int | None = None,
            object_type: str | None = None, object_id: str | None = None,
            since: dt.datetime | None = None, until: dt.datetime | None = None,
            limit: int | None = 100, offset: int = 0) -> list[AuditEntry]:
    """Entries newest first, filtered: ``action`` (an exact action or a prefix ending in ``.``),
    ``account_id``, ``object_type``/``object_id``, ``since``/``until`` (UTC, half-open)."""
    q = select(AuditEntry)
    if action:
        q = q.where(AuditEntry.action.startswith(action) if action.endswith(".") else AuditEntry.action == action)
    if account_id is not None:
        q = q.where(AuditEntry.account_id == account_id)
    if object_type:
        q = q.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        q = q.where(AuditEntry.object_id == str(object_id))
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if until is not None:
        q = q.where(AuditEntry.at < until)
    q = q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q))


CSV_COLUMNS = ("id", "at_utc", "actor", "channel", "action", "object_type", "object_id", "before", "after", "note")


def to_csv(rows: list[AuditEntry]) -> str:
    """The entries as CSV text (UTF-8 when encoded), one row each, ``before``/``after`` as JSON; a
    cell that a spreadsheet would read as a formula (``= + - @`` first) is made inert."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in rows:
        writer.writerow([_inert(c) for c in [e.id, e.at.isoformat(), e.actor, e.channel, e.action, e.object_type, e.object_id or "",
                         "" if e.before is None else json.dumps(e.before, ensure_ascii=False, sort_keys=True),
                         "" if e.after is None else json.dumps(e.after, ensure_ascii=False, sort_keys=True),
                         e.note or ""]])
    return out.getvalue()


#: the most entries one download (CSV or XLSX) holds: the newest of the filtered entries
EXPORT_MAX_ROWS = 10_000


def _inert(value):
    """A cell a spreadsheet shows as text: one starting with ``=``, ``+``, ``-`` or ``@`` (a formula
    to Excel, LibreOffice and openpyxl) gets a leading apostrophe (as ``service.programme.report``)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_xlsx(rows: list[AuditEntry], zone=None) -> bytes:
    """The entries as an XLSX workbook (one sheet ``audit``): the columns of :data:`CSV_COLUMNS`,
    plus ``at_local`` (the time in ``zone``, a ``ZoneInfo``, when given) after ``at_utc``; every text
    cell that would read as a formula made inert."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit")
    head = list(CSV_COLUMNS)
    if zone is not None:
        head.insert(2, "at_local")
    sheet.append(head)
    for e in rows:
        cells = [e.id, e.at.isoformat(),
                 e.actor, e.channel, e.action, e.object_type, e.object_id or "",
                 "" if e.before is None else json.dumps(e.before, ensure_ascii=False, sort_keys=True),
                 "" if e.after is None else json.dumps(e.after, ensure_ascii=False, sort_keys=True),
                 e.note or ""]
        if zone is not None:
            cells.insert(2, e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"))
        sheet.append([_inert(c) for c in cells])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def diff(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """What an entry changed, as ``(field, old, new)`` sorted by field: every field of a record
    created (old None) or removed (new None), else the fields whose value differs."""
    before, after = before or {}, after or {}
    keys = sorted(set(before) | set(after))
    if before and after:
        keys = [k for k in keys if before.get(k) != after.get(k)]
    return [(k, before.get(k), after.get(k)) for k in keys]


def _scrub(value, secrets: list[str]):
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str):
        for s in secrets:
            if s and s in value:
                value = value.replace(s, "[erased]")
    return value


def forget(session: Session, values: list[str]) -> int:
    """Replace every occurrence of ``values`` (a farmer's name, phone forms) in every entry's
    ``before``, ``after`` and ``note`` by ``[erased]``; returns how many entries changed."""
    values = sorted({v for v in values if v and len(v) >= 2}, key=len, reverse=True)
    changed = 0
    for e in session.scalars(select(AuditEntry)):
        before, after, note = _scrub(e.before, values), _scrub(e.after, values), _scrub(e.note, values)
        if (before, after, note) != (e.before, e.after, e.note):
            e.before, e.after, e.note = before, after, note
            changed += 1
    session.flush()
    return changed
