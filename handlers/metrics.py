"""``GET /metrics`` (Prometheus text format, ``service.metrics``) and the timing of every gateway
callback.

The page is served only with ``METRICS_TOKEN`` set and given, as ``Authorization: Bearer <token>``
or ``?key=<token>`` (compared in constant time); otherwise 404, as if there were no such page.
Every view behind :func:`handlers.common.require_token` (the gateway callbacks, whatever their
blueprint) is timed from the start of its request to its answer, refused or not, as
``dehqon_webhook_seconds{callback=<endpoint>}``.
"""
from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, abort, current_app, g, request

from service import logs, metrics

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    """Time the gateway callbacks of ``app`` (the first before-request function, so that a body
    refused at the door is timed too); ``METRICS_TOKEN`` is redacted from the logs."""

    def _start():
        g.metrics_started = time.perf_counter()

    def _observe(response):
        view = current_app.view_functions.get(request.endpoint or "")
        started = g.get("metrics_started")
        if started is not None and getattr(view, "gateway_callback", False):
            metrics.observe_webhook(request.endpoint, time.perf_counter() - started, response.status_code)
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_observe)
    logs.add_secrets([app.config.get("METRICS_TOKEN")])  # never logged, like the webhook tokens


def _token_given() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        return False
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth[:7].lower() == "bearer " else request.args.get("key", "")
    return hmac.compare_digest(given.encode(), token.encode())


def readiness():
    """The ``service.health`` report of the app's database now, or None when it cannot be made."""
    from handlers.health import readiness_report
    try:
        return readiness_report()
    except Exception:
        current_app.logger.exception("metrics: the outbox state could not be read")
        return None


@bp.get("/metrics")
def metrics_page():
    """The metrics page; 404 unless ``METRICS_TOKEN`` is set and given."""
    if not _token_given():
        abort(404)
    body, content_type = metrics.exposition(readiness)
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}
