"""HTTP adapters: one blueprint per gateway callback family, plus the simulator and health check."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint of the service on ``app``."""
    from handlers import common, delivery, health, simulator, sms, ussd

    common.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(ussd.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(delivery.bp)
    app.register_blueprint(simulator.bp)
