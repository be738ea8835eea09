"""The scheduler's and dispatchers' own metrics endpoint (``SCHEDULER_METRICS_BIND``).

The counters of sending (``dehqon_sms_sends_total``, ``..._failures_total``, ``..._segments_total``,
``..._cost_tjs_total``) are counted in the process that dispatches: ``flask --app service
scheduler run`` or ``scheduler dispatchers`` when the scheduler is its own process. The web's
``GET /metrics`` cannot see them, so that process serves this process's registry
(``prometheus_client``'s ``make_wsgi_app``) on ``host:port`` from a daemon thread
(``wsgiref``), behind the same ``METRICS_TOKEN`` as the web page: ``Authorization: Bearer
<token>`` or ``?key=<token>`` on ``GET /metrics``, else 404, as if there were no such page.
The gauges read from the database (outbox depth, holds, heartbeats, ready) are on the web's
``/metrics`` only, so that no value is counted twice (``docs/operations.md`` §5). No Flask here.
"""
from __future__ import annotations

import hmac
import threading
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, make_wsgi_app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - wsgiref's signature; scrapes are not logged
        pass


def parse_bind(bind: str) -> tuple[str, int]:
    """``"127.0.0.1:9101"`` → ``("127.0.0.1", 9101)``; ``ValueError`` for anything else."""
    host, sep, port = bind.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"SCHEDULER_METRICS_BIND must be host:port, e.g. 127.0.0.1:9101, not {bind!r}")
    return host.strip("[]"), int(port)


def protected_app(token: str, registry=REGISTRY):
    """A WSGI app answering ``GET /metrics`` with ``registry``'s metrics when ``token`` (non-empty)
    is given as a bearer token or ``?key=``; 404 otherwise."""
    inner = make_wsgi_app(registry)

    def app(environ, start_response):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        given = auth[7:].strip() if auth[:7].lower() == "bearer " else \
            (parse_qs(environ.get("QUERY_STRING", "")).get("key") or [""])[0]
        if (not token or environ.get("PATH_INFO") != "/metrics"
                or not hmac.compare_digest(given.encode(), token.encode())):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Not Found\n"]
        return inner(environ, start_response)

    return app


def start(bind: str, token: str, registry=REGISTRY) -> WSGIServer:
    """Serve :func:`protected_app` on ``bind`` (``host:port``) from a daemon thread; returns the
    server (``shutdown()`` stops it). ``ValueError`` for a bad ``bind``, ``OSError`` when the
    address cannot be bound."""
    host, port = parse_bind(bind)
    server = make_server(host, port, protected_app(token, registry), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server
