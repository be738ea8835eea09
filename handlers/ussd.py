"""AT USSD callbacks: ``POST /ussd`` (hops) and ``POST /ussd/events`` (end-of-session notice)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ussd", __name__)
