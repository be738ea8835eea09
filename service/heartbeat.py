"""Heartbeats: each scheduler tick and each dispatcher pass records that its process is alive.

One row of :class:`Heartbeat` per process and kind (``scheduler``, ``dispatcher``), named
``<kind>@<host>:<pid>``, holding the time of its latest beat (UTC). ``GET /readyz``
(``service.health``) reads the newest beat of each kind: a scheduler or dispatcher that stopped
beating is a process that stopped working. Rows of processes silent for :data:`FORGET_AFTER`
are removed by the next beat. No Flask here: callers pass a Session (or an Engine) and the
beat commits on its own connection.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket

from sqlalchemy import String, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow

log = logging.getLogger(__name__)

SCHEDULER, DISPATCHER = "scheduler", "dispatcher"
KINDS = (SCHEDULER, DISPATCHER)
#: a process silent this long is forgotten (its row deleted by the next beat of anyone)
FORGET_AFTER = dt.timedelta(days=7)


class Heartbeat(Base):
    """The latest beat of one process: ``name`` (``<kind>@<host>:<pid>``), ``kind``
    (:data:`KINDS`), ``beat_at`` UTC, ``pid``, ``host``, ``started_at`` (UTC, its first beat)."""

    __tablename__ = "heartbeat"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    beat_at: Mapped[dt.datetime]
    pid: Mapped[int]
    host: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime]


def process_name(kind: str) -> str:
    """This process's row name for ``kind``: ``<kind>@<host>:<pid>``."""
    return f"{kind}@{socket.gethostname()[:80]}:{os.getpid()}"


def beat(bind: Engine | Session, kind: str, now: dt.datetime | None = None) -> None:
    """Record a beat of this process as ``kind`` at ``now`` (aware UTC; default the clock), in its
    own transaction on ``bind``'s engine (committed at once), and forget processes silent for
    :data:`FORGET_AFTER`. Raises ``ValueError`` for an unknown kind; database errors propagate."""
    if kind not in KINDS:
        raise ValueError(f"unknown heartbeat kind {kind!r}")
    now = now or utcnow()
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    name = process_name(kind)
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        moved = conn.execute(update(Heartbeat).where(Heartbeat.name == name).values(beat_at=now)).rowcount
        if not moved:
            conn.execute(insert(Heartbeat).values(name=name, kind=kind, beat_at=now, pid=os.getpid(),
                                                  host=socket.gethostname()[:80], started_at=now)
                         .on_conflict_do_update(index_elements=["name"], set_={"beat_at": now}))
            conn.execute(delete(Heartbeat).where(Heartbeat.beat_at < now - FORGET_AFTER))


def try_beat(bind: Engine | Session, kind: str) -> bool:
    """:func:`beat` now, logging a warning instead of raising when the database refuses it (e.g.
    a schema not migrated yet): a heartbeat never stops a tick or a dispatcher pass. True when
    recorded."""
    try:
        beat(bind, kind)
    except SQLAlchemyError as exc:
        log.warning("%s heartbeat not recorded (%s): is the database migrated (flask --app service "
                    "init-db)?", kind, type(exc).__name__)
        return False
    return True


def latest(session: Session, kind: str) -> dt.datetime | None:
    """The newest beat (aware UTC) of any process of ``kind``, or None when none ever beat."""
    return session.scalar(select(func.max(Heartbeat.beat_at)).where(Heartbeat.kind == kind))


def processes(session: Session) -> list[Heartbeat]:
    """Every process that beat within :data:`FORGET_AFTER`, newest beat first."""
    return list(session.scalars(select(Heartbeat).order_by(Heartbeat.beat_at.desc())))
