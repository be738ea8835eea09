"""The phone simulator: ``GET /simulator`` and ``GET /simulator/messages``."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("simulator", __name__)
