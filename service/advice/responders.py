"""Responders: VAM agents, lead farmers and extension staff, and the areas they serve.

Structure from ``docs/programme.md`` §2. A question a farmer
asks climbs these roles in order (:data:`ROLES` is also the escalation order):

1. ``vam_agent``: a Village Agronomy Model agent, of kind ``individual``,
   ``agro_shop`` or ``cbo`` (:data:`VAM_KINDS`), serving listed villages; also
   the supplier of inputs at village level;
2. ``lead_farmer``: a PG member (a :class:`~service.farmers.models.Farmer`) who runs a
   Farmers' Field School, serving listed villages (by default their PG's or own village);
3. ``extension``: district extension staff, serving the whole district.

The API other modules use (kept small on purpose):

* :class:`Responder` (table ``responder``; ``role``, ``kind``, ``phone``,
  ``language``, ``district_id``, ``farmer_id``, ``pg_id``) and
  :class:`ResponderVillage` (the villages a VAM agent or lead farmer serves);
* :func:`add_vam_agent`, :func:`add_lead_farmer`, :func:`add_extension`;
* :func:`serving` (who serves a village, in escalation order),
  :func:`vam_agents_of` (the VAM agents of a village), :func:`by_phone`.

CLI: ``flask --app service responders add-vam|add-lead|add-extension|list``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from service.db import Base, utcnow
from service.farmers.models import Farmer
from service.reference.geography import District, Village
from service.reference.names import LANGUAGES
from service.groups.producer_group import ProducerGroup

ROLES = ("vam_agent", "lead_farmer", "extension")
VAM_KINDS = ("individual", "agro_shop", "cbo")


class ResponderVillage(Base):
    """A village served by a VAM agent or a lead farmer."""

    __tablename__ = "responder_village"
    responder_id: Mapped[int] = mapped_column(ForeignKey("responder.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), primary_key=True, index=True)


class Responder(Base):
    """Someone who answers farmers' questions from their phone.

    ``role``: one of :data:`ROLES`; ``kind``: one of :data:`VAM_KINDS` for a VAM
    agent, else None; ``phone``: E.164; ``language``: tg/ru/uz/en of the SMS they
    get; ``district_id``: their district (an extension officer serves all of it);
    ``farmer_id``: the lead farmer's profile; ``pg_id``: the PG a lead farmer
    serves, if any; ``village_ids``: villages served (VAM agents, lead farmers).
    One row per (role, phone).
    """

    __tablename__ = "responder"
    __table_args__ = (UniqueConstraint("role", "phone"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str | None] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(2), default="tg")
    district_id: Mapped[str] = mapped_column(ForeignKey("district.id"), index=True)
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"))
    pg_id: Mapped[int | None] = mapped_column(ForeignKey("producer_group.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    village_rows: Mapped[list[ResponderVillage]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def village_ids(self) -> list[int]:
        """Ids of the villages served, sorted (empty for extension staff)."""
        return sorted(v.village_id for v in self.village_rows)

    @property
    def level(self) -> int:
        """Escalation level: 0 VAM agent, 1 lead farmer, 2 extension."""
        return ROLES.index(self.role)


def _check(session: Session, phone: str, role: str, language: str, district_id: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    if session.get(District, district_id) is None:
        raise ValueError(f"unknown district {district_id!r}")
    if session.scalar(select(Responder.id).where(Responder.role == role, Responder.phone == phone)):
        raise ValueError(f"{phone} is already a {role}")


def _villages(session: Session, village_ids: list[int]) -> list[ResponderVillage]:
    for vid in village_ids:
        if session.get(Village, vid) is None:
            raise ValueError(f"unknown village {vid}")
    return [ResponderVillage(village_id=v) for v in sorted(set(village_ids))]


def add_vam_agent(session: Session, *, name: str, kind: str, phone: str, district_id: str,
                  village_ids: list[int], language: str = "tg") -> Responder:
    """Add a VAM agent serving ``village_ids``; ``phone`` must already be E.164.

    Raises ``ValueError`` for a kind outside :data:`VAM_KINDS`, an unknown
    district, village or language, no village, or a phone that is already a VAM agent.
    """
    if kind not in VAM_KINDS:
        raise ValueError(f"kind must be one of {VAM_KINDS}")
    if not village_ids:
        raise ValueError("a VAM agent serves at least one village")
    _check(session, phone, "vam_agent", language, district_id)
    agent = Responder(role="vam_agent", kind=kind, name=name, phone=phone, language=language,
                      district_id=district_id, village_rows=_villages(session, village_ids))
    session.add(agent)
    session.flush()
    return agent


def add_lead_farmer(session: Session, farmer: Farmer, *, village_ids: list[int] | None = None,
                    pg: ProducerGroup | None = None) -> Responder:
    """Make ``farmer`` a lead farmer serving ``village_ids``, else ``pg``'s village, else their own.

    The phone, name and language are the farmer's. Raises ``ValueError`` when
    the farmer has no village and none is given, or is a lead farmer already.
    """
    villages = village_ids or ([pg.village_id] if pg else []) or ([farmer.village_id] if farmer.village_id else [])
    if not villages:
        raise ValueError("the lead farmer serves no village")
    district_id = session.get(Village, villages[0]).district_id
    _check(session, farmer.phone, "lead_farmer", farmer.language, district_id)
    lead = Responder(role="lead_farmer", name=farmer.name, phone=farmer.phone, language=farmer.language,
                     district_id=district_id, farmer_id=farmer.id, pg_id=pg.id if pg else None,
                     village_rows=_villages(session, villages))
    session.add(lead)
    session.flush()
    return lead


def add_extension(session: Session, *, name: str, phone: str, district_id: str, language: str = "tg") -> Responder:
    """Add an extension officer serving district ``district_id``; ``ValueError`` as for :func:`add_vam_agent`."""
    _check(session, phone, "extension", language, district_id)
    officer = Responder(role="extension", name=name, phone=phone, language=language, district_id=district_id)
    session.add(officer)
    session.flush()
    return officer


def serving(session: Session, village_id: int | None, district_id: str | None) -> list[Responder]:
    """Active responders of a village: its VAM agents, then lead farmers, then the extension
    staff of ``district_id``; by id within a role. Empty when nobody serves it."""
    conditions = []
    if village_id is not None:
        conditions.append(and_(Responder.role.in_(("vam_agent", "lead_farmer")),
                               Responder.id.in_(select(ResponderVillage.responder_id)
                                                .where(ResponderVillage.village_id == village_id))))
    if district_id is not None:
        conditions.append(and_(Responder.role == "extension", Responder.district_id == district_id))
    if not conditions:
        return []
    found = session.scalars(select(Responder).where(Responder.active, or_(*conditions)))
    return sorted(found, key=lambda r: (r.level, r.id))


def vam_agents_of(session: Session, village_id: int) -> list[Responder]:
    """Active VAM agents serving a village, by id."""
    return [r for r in serving(session, village_id, None) if r.role == "vam_agent"]


def by_phone(session: Session, phone: str) -> list[Responder]:
    """Active responder rows of a phone (E.164), lowest level first."""
    found = session.scalars(select(Responder).where(Responder.phone == phone, Responder.active))
    return sorted(found, key=lambda r: (r.level, r.id))
