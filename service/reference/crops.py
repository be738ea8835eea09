"""Crops the programme works with and how farmers name them.

Source: ``docs/khatlon.md`` §3 (tomato, onion, rice).
"""
from __future__ import annotations

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base
from service.reference.names import fold, pick


class Crop(Base):
    """A crop. ``names``: ``{lang: name}``; ``aliases``: other words farmers type for it."""

    __tablename__ = "crop"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    names: Mapped[dict]
    aliases: Mapped[list] = mapped_column(default=list)

    def name(self, lang: str) -> str:
        """Display name in ``lang``."""
        return pick(self.names, lang, self.id)


def crops(session: Session) -> list[Crop]:
    """All crops, ordered by id."""
    return list(session.scalars(select(Crop).order_by(Crop.id)))


def find_crop(session: Session, text: str) -> Crop | None:
    """The crop whose id, name or alias folds to ``text`` (or starts with it, 3+ letters); else None."""
    wanted = fold(text)
    if not wanted:
        return None
    all_crops = crops(session)
    for c in all_crops:
        if any(fold(n) == wanted for n in [c.id, *c.names.values(), *(c.aliases or [])]):
            return c
    if len(wanted) >= 3:
        hits = [c for c in all_crops
                if any(fold(n).startswith(wanted) for n in [c.id, *c.names.values(), *(c.aliases or [])])]
        if len(hits) == 1:
            return hits[0]
    return None
