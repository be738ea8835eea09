"""Flask CLI commands (``flask --app service ...``), thin: each opens a session with
:func:`session` and calls the service.

Groups: ``init-db``, ``demo-data``, ``serve``, ``scheduler``, ``campaign``, ``broadcast``
(``handlers.cli.service``, ``handlers.cli.scheduler``), ``orders`` (``handlers.cli.orders``),
``responders``, ``advice``, ``sales``, ``yields`` (``handlers.cli.advice``), ``centres``
(``handlers.cli.centres``), ``outbox`` (``handlers.cli.outbox``), ``reminders``
(``handlers.cli.reminders``), ``farmers`` (``handlers.cli.farmers``), ``staff``
(``handlers.cli.staff``), ``programme`` (``handlers.cli.programme``), ``db``
(``handlers.cli.db``: the schema's migrations), ``doctor`` (``handlers.cli.doctor``) and ``backup``
(``handlers.cli.backup``).
"""
from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy.orm import Session

from service.settings import Settings


def session() -> Session:
    """A new session on the current app's database (use as ``with session() as s:``)."""
    return current_app.extensions["dehqon.sessionmaker"]()


def audit(s: Session, action: str, object_type: str, object_id=None, *, before: dict | None = None,
          after: dict | None = None, note: str | None = None) -> None:
    """Record a command's change in the audit log, done by ``Actor.cli()`` (``cli:<login>``), in the
    command's transaction (``service.audit.log.record``; the caller commits)."""
    from service.audit.log import Actor, record

    record(s, Actor.cli(), action, object_type, object_id, before=before, after=after, note=note)


def settings() -> Settings:
    """The current app's :class:`~service.settings.Settings`."""
    return current_app.extensions["dehqon.settings"]


def register(app: Flask) -> None:
    """Attach every CLI command to ``app``."""
    from handlers.cli import (advice, centres, farmers, orders, outbox, programme, reminders, scheduler, service,
                              staff)
    from handlers.cli import backup, db, doctor

    for command in (*service.COMMANDS, *scheduler.COMMANDS, orders.orders_group, outbox.outbox_group,
                    *advice.COMMANDS, *reminders.COMMANDS, *centres.COMMANDS, *farmers.COMMANDS,
                    *staff.COMMANDS, *programme.COMMANDS, *db.COMMANDS, *doctor.COMMANDS,
                    *backup.COMMANDS):
        app.cli.add_command(command)
