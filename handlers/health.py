"""``GET /healthz``: the process answers and its database is reachable. ``GET /readyz``: the service
can do its job (``service.health``: database, scheduler and dispatcher heartbeats, outbox backlog,
sending held)."""
from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text

from handlers.common import db, settings
from service import health
from service.messaging.gateways import routes
from service.messaging.rules import Rules

bp = Blueprint("health", __name__)
_PLAIN = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz():
    """200 ``ok`` when the database answers, 503 otherwise."""
    try:
        db().execute(text("SELECT 1"))
    except Exception:
        return "database unavailable", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/readyz")
def readyz():
    """200 with a short plain report when the service can do its job; 503 with one sentence per
    problem otherwise (``service.health.check``, thresholds ``READYZ_*`` of ``config.py``)."""
    report = readiness_report()
    return report.text(), 200 if report.ready else 503, _PLAIN


def readiness_report() -> health.Readiness:
    """The ``service.health`` report of the app's database now, with the app's rules, ``READYZ_*``
    thresholds and every gateway ``SMS_ROUTES`` names; raises what the database raises."""
    return health.check(db(), Rules.of(settings()), health.Thresholds.of(current_app.config),
                        gateways=routes.names(settings().sms_routes, settings().sms_gateway))
