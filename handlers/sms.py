"""AT SMS callbacks: inbound MO (``/sms/inbound``), delivery reports (``/sms/delivery``), opt-out (``/sms/optout``)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sms", __name__)
