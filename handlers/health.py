"""``GET /healthz``: the process answers and its database is reachable."""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from handlers.common import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 ``ok`` when the database answers, 503 otherwise."""
    try:
        db().execute(text("SELECT 1"))
    except Exception:
        return "database unavailable", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
