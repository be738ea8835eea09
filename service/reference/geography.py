"""Districts, jamoats and villages of the service area (Khatlon).

Source of the districts and jamoats: ``docs/khatlon.md`` §2.
IDs are stable strings (``kulob``, ``kulob.dahana``); names change, IDs never.
"""
from __future__ import annotations

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base
from service.reference.names import fold, pick
from service.reference.words import rank


class District(Base):
    """A district (ноҳия). ``names``: ``{lang: name}``; ``aliases``: former names and spellings."""

    __tablename__ = "district"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    names: Mapped[dict]
    aliases: Mapped[list] = mapped_column(default=list)

    def name(self, lang: str) -> str:
        """Display name in ``lang``."""
        return pick(self.names, lang, self.id)


class Jamoat(Base):
    """A jamoat (rural municipality) or town inside a district; id ``<district>.<slug>``."""

    __tablename__ = "jamoat"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    district_id: Mapped[str] = mapped_column(ForeignKey("district.id"), index=True)
    names: Mapped[dict]

    def name(self, lang: str) -> str:
        """Display name in ``lang``."""
        return pick(self.names, lang, self.id)


class Village(Base):
    """A village, the home of producer groups and farmers."""

    __tablename__ = "village"
    id: Mapped[int] = mapped_column(primary_key=True)
    jamoat_id: Mapped[str] = mapped_column(ForeignKey("jamoat.id"), index=True)
    district_id: Mapped[str] = mapped_column(ForeignKey("district.id"), index=True)
    names: Mapped[dict]

    def name(self, lang: str) -> str:
        """Display name in ``lang``."""
        return pick(self.names, lang, str(self.id))


def districts(session: Session) -> list[District]:
    """All districts, ordered by id (a stable order for USSD lists)."""
    return list(session.scalars(select(District).order_by(District.id)))


def villages_of(session: Session, district_id: str) -> list[Village]:
    """Villages of one district ordered by their English (else Tajik) name, then id."""
    rows = session.scalars(select(Village).where(Village.district_id == district_id)).all()
    return sorted(rows, key=lambda v: (fold(pick(v.names, "en")), v.id))


def find_district(session: Session, text: str) -> list[District]:
    """Districts whose id, name in any language or alias ``text`` names exactly as people write
    it (``service.reference.words.rank`` score 100: inflected, other spellings, punctuation)."""
    ranked = rank(text, [(d, [d.id, *d.names.values(), *(d.aliases or [])]) for d in districts(session)])
    return [m.value for m in ranked if m.score >= 100]
