"""One scheduler acting at a time: a database lock held for the length of a tick.

Several web or worker processes may each run the scheduler; each tick first
takes the lock named ``scheduler`` and does nothing when another process holds
it, so exactly one tick runs at a time and another process takes over when the
holder stops.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a
  connection kept for the tick; the server frees it if the process dies.
- SQLite: a lease row (:class:`SchedulerLease`) with an expiry: taken when
  free, expired or already ours, with one conditional UPDATE (or the first
  INSERT), released by expiring it. A holder that dies blocks the others for
  at most ``ttl``. The lease uses the real clock, not the tick's ``--at`` time.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import String, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, utcnow

DEFAULT_TTL = dt.timedelta(minutes=10)


class SchedulerLease(Base):
    """A named lease (SQLite): ``holder`` (host:pid:thread) until ``expires_at`` UTC."""

    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[dt.datetime]


def holder_id() -> str:
    """This process and thread, as a lease holder name."""
    import threading
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@contextmanager
def hold(engine: Engine, name: str = "scheduler", *, ttl: dt.timedelta = DEFAULT_TTL) -> Iterator[bool]:
    """Try to take the lock ``name`` on ``engine``'s database; yields True when taken (then
    released on exit), False when another process holds it. Never waits."""
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"dehqon:{name}".encode())
        with engine.connect() as conn:
            taken = conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield bool(taken)
            finally:
                if taken:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    me = holder_id()
    with engine.begin() as conn:
        now = utcnow()
        taken = conn.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name,
                   (SchedulerLease.holder == me) | (SchedulerLease.expires_at < now))
            .values(holder=me, expires_at=now + ttl)).rowcount == 1
        if not taken:
            taken = conn.execute(sqlite.insert(SchedulerLease).values(name=name, holder=me, expires_at=now + ttl)
                                 .on_conflict_do_nothing()).rowcount == 1
    try:
        yield taken
    finally:
        if taken:
            with engine.begin() as conn:
                conn.execute(update(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == me)
                             .values(expires_at=utcnow()))


def renew(engine: Engine, name: str = "scheduler", *, ttl: dt.timedelta = DEFAULT_TTL) -> bool:
    """Keep the lock ``name`` that this thread holds (inside :func:`hold`) for ``ttl`` more; True
    while it is still ours. SQLite: the lease's expiry moves on (a lease that expired and was
    taken by another process is lost: False). PostgreSQL: the advisory lock lasts as long as
    :func:`hold`'s connection, nothing to renew (True)."""
    if engine.dialect.name == "postgresql":
        return True
    with engine.begin() as conn:
        return conn.execute(update(SchedulerLease)
                            .where(SchedulerLease.name == name, SchedulerLease.holder == holder_id())
                            .values(expires_at=utcnow() + ttl)).rowcount == 1
