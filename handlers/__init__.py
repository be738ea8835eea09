"""HTTP adapters: one blueprint per gateway callback family, the simulator, the health check and the
staff web application (``handlers.staff``)."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint of the service on ``app``."""
    from handlers import common, delivery, health, simulator, sms, staff, ussd
    from handlers import kannel

    common.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(ussd.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(delivery.bp)
    app.register_blueprint(kannel.bp)
    app.register_blueprint(simulator.bp)
    staff.init_app(app)
    from handlers import metrics  # times every gateway callback, whichever blueprint registered it
    metrics.init_app(app)
    app.register_blueprint(metrics.bp)
