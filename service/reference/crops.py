"""Crops the programme works with and how farmers name them.

Source: ``docs/khatlon.md`` §3 (tomato, onion, rice).
"""
from __future__ import annotations

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base
from service.reference.names import pick
from service.reference.words import decide, rank


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


def _candidates(all_crops: list[Crop]) -> list[tuple[Crop, list[str]]]:
    return [(c, [c.id, *c.names.values(), *(c.aliases or [])]) for c in all_crops]


def match_crop(session: Session, text: str) -> tuple[Crop | None, bool]:
    """The crop ``text`` names as people write it (``service.reference.words``: inflections,
    punctuation, fillers, other spellings, typos) and whether that is sure: ``(crop, True)`` to act
    on, ``(crop, False)`` to ask "did you mean ...?", ``(None, False)`` when none is near."""
    best, sure = decide(rank(text, _candidates(crops(session))))
    return (best.value if best else None), sure


def find_crop(session: Session, text: str) -> Crop | None:
    """The crop ``text`` surely names (:func:`match_crop`), else None."""
    crop, sure = match_crop(session, text)
    return crop if sure else None
