"""Lead farmers' demonstration plots: where a lead farmer shows a practice to the farmers around.

A :class:`DemoPlot` belongs to a lead farmer (a :class:`~service.advice.responders.Responder` of
role ``lead_farmer``), lies in a village, grows one crop on an area (m², shown in ha) in a season
(the year it is sown) and shows one practice (free text, e.g. "SRI transplanting").
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow

MAX_PRACTICE_CHARS = 120


class DemoPlot(Base):
    """A demonstration plot. ``lead_id``: the lead farmer's responder id; ``area_m2``: m²;
    ``season``: the year; ``practice``: up to :data:`MAX_PRACTICE_CHARS` characters."""

    __tablename__ = "demo_plot"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("responder.id", ondelete="CASCADE"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"))
    area_m2: Mapped[int | None]
    season: Mapped[int]
    practice: Mapped[str | None] = mapped_column(String(MAX_PRACTICE_CHARS))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def of_lead(session: Session, lead_id: int) -> list[DemoPlot]:
    """A lead farmer's plots, newest season first."""
    return list(session.scalars(select(DemoPlot).where(DemoPlot.lead_id == lead_id)
                                .order_by(DemoPlot.season.desc(), DemoPlot.id)))
