"""AT delivery reports (``POST /sms/delivery``) and bulk-SMS opt-out notices (``POST /sms/optout``)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("delivery", __name__)
