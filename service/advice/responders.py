"""Responders: VAM agents, lead farmers and extension staff, and the areas they serve.

Structure from ``docs/programme.md`` §2 (§2.2: a VAM agent is a person, an agro-shop or a
CBO that sells inputs and gives advice in the village). A question a farmer asks climbs
these roles in order (:data:`ROLES` is also the escalation order):

1. ``vam_agent``: a Village Agronomy Model agent, of kind ``individual``,
   ``agro_shop`` or ``cbo`` (:data:`VAM_KINDS`), serving listed villages;
2. ``lead_farmer``: a PG member (a :class:`~service.farmers.models.Farmer`) who runs a
   Farmers' Field School, serving listed villages (by default their PG's or own village);
3. ``extension``: district extension staff, serving the whole district.

A VAM agent is ONE :class:`Responder` row (role ``vam_agent``) that both answers questions
and supplies inputs: it carries a unique ``code`` (what a bulk purchase order names, e.g.
``CBOVOSE``), the villages it serves (:class:`ResponderVillage`: questions from there reach
it, and it supplies there) and the whole districts it supplies (:class:`ResponderDistrict`:
the PGs of every village there, when no agent serves the village itself; questions come
only from its villages). The input items it supplies belong to the orders feature
(``service.orders.catalogue.AgentItem``, which refers to this table; this module knows
nothing of orders).

The API other modules use (kept small on purpose):

* :class:`Responder` (table ``responder``; ``role``, ``code``, ``kind``, ``name``, ``phone``,
  ``language``, ``district_id``, ``farmer_id``, ``pg_id``), :class:`ResponderVillage`
  (the villages a VAM agent or lead farmer serves) and :class:`ResponderDistrict` (the
  whole districts a VAM agent supplies);
* :func:`add_vam_agent`, :func:`update_vam_agent`, :func:`add_lead_farmer`, :func:`add_extension`;
* :func:`serving` (who serves a village, in escalation order),
  :func:`vam_agents_of` (the VAM agents of a village), :func:`by_phone`,
  :func:`by_code` and :func:`vam_agents` (every VAM agent, by code).

CLI: ``flask --app service responders add-vam|add-lead|add-extension|list``; the supplier
side also ``flask --app service orders agents|agent-set`` (``handlers/cli/orders.py``).
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
MAX_CODE = 16  # characters of a VAM agent's code


class ResponderVillage(Base):
    """A village served by a VAM agent or a lead farmer."""

    __tablename__ = "responder_village"
    responder_id: Mapped[int] = mapped_column(ForeignKey("responder.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), primary_key=True, index=True)


class ResponderDistrict(Base):
    """A whole district a VAM agent supplies (its PGs order through the agent)."""

    __tablename__ = "responder_district"
    responder_id: Mapped[int] = mapped_column(ForeignKey("responder.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[str] = mapped_column(ForeignKey("district.id"), primary_key=True, index=True)


class Responder(Base):
    """Someone who answers farmers' questions from their phone; a VAM agent also supplies inputs.

    ``role``: one of :data:`ROLES`; ``code``: a VAM agent's unique code (upper case,
    at most :data:`MAX_CODE` characters; None for the other roles); ``kind``: one of
    :data:`VAM_KINDS` for a VAM agent, else None; ``name``: up to 120 characters;
    ``phone``: E.164; ``language``: tg/ru/uz/en of the SMS they get; ``district_id``:
    their district (an extension officer serves all of it; a VAM agent's is that of the
    first place it serves, None only for an agent that serves no place yet);
    ``farmer_id``: the lead farmer's profile; ``pg_id``: the PG a lead farmer serves, if
    any; ``village_ids``: villages served (VAM agents, lead farmers); ``district_ids``:
    whole districts a VAM agent supplies. One row per (role, phone).
    """

    __tablename__ = "responder"
    __table_args__ = (UniqueConstraint("role", "phone"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(12))
    code: Mapped[str | None] = mapped_column(String(MAX_CODE), unique=True)
    kind: Mapped[str | None] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(2), default="tg")
    district_id: Mapped[str | None] = mapped_column(ForeignKey("district.id"), index=True)
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"))
    pg_id: Mapped[int | None] = mapped_column(ForeignKey("producer_group.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    village_rows: Mapped[list[ResponderVillage]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    district_rows: Mapped[list[ResponderDistrict]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def village_ids(self) -> list[int]:
        """Ids of the villages served, sorted (empty for extension staff)."""
        return sorted(v.village_id for v in self.village_rows)

    @property
    def district_ids(self) -> list[str]:
        """Ids of the whole districts a VAM agent supplies, sorted (empty for the other roles)."""
        return sorted(d.district_id for d in self.district_rows)

    @property
    def level(self) -> int:
        """Escalation level: 0 VAM agent, 1 lead farmer, 2 extension."""
        return ROLES.index(self.role)


def _check(session: Session, phone: str, role: str, language: str, district_id: str | None) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    if district_id is not None and session.get(District, district_id) is None:
        raise ValueError(f"unknown district {district_id!r}")
    taken = session.scalar(select(Responder).where(Responder.role == role, Responder.phone == phone))
    if taken is not None:
        raise ValueError(f"{phone} is already a {role}" + (f" ({taken.code})" if taken.code else ""))


def _villages(session: Session, village_ids: list[int]) -> list[ResponderVillage]:
    for vid in village_ids:
        if session.get(Village, vid) is None:
            raise ValueError(f"unknown village {vid}")
    return [ResponderVillage(village_id=v) for v in sorted(set(village_ids))]


def _districts(session: Session, district_ids: list[str]) -> list[str]:
    for did in district_ids:
        if session.get(District, did) is None:
            raise ValueError(f"unknown district {did!r}")
    return sorted(set(district_ids))


def _code(session: Session, code: str, agent: Responder | None = None) -> str:
    """``code`` as stored (upper case, no spaces); ``ValueError`` when empty, too long or taken."""
    code = "".join((code or "").split()).upper()
    if not (code and len(code) <= MAX_CODE and code.isascii() and code.replace("-", "").replace("_", "").isalnum()):
        raise ValueError(f"a VAM agent's code is 1 to {MAX_CODE} Latin letters, digits, - or _")
    taken = session.scalar(select(Responder).where(Responder.code == code))
    if taken is not None and taken is not agent:
        raise ValueError(f"code {code} is already {taken.name} ({taken.phone})")
    return code


def _free_code(session: Session) -> str:
    """The first free ``VAM001``, ``VAM002``, ...: the code of an agent entered without one."""
    taken = set(session.scalars(select(Responder.code).where(Responder.code.is_not(None))))
    return next(c for n in range(1, len(taken) + 2) if (c := f"VAM{n:03d}") not in taken)


def _home(session: Session, village_ids: list[int], district_ids: list[str]) -> str | None:
    """A VAM agent's district: its first whole district, else its first village's, else None."""
    if district_ids:
        return district_ids[0]
    return session.get(Village, village_ids[0]).district_id if village_ids else None


def _sync(rows: list, wanted: list, key: str, make) -> None:
    """Make ``rows`` (a relationship list) hold exactly ``wanted`` values of ``key``, keeping the
    rows already there (replacing them would delete and insert the same primary key)."""
    for row in [r for r in rows if getattr(r, key) not in wanted]:
        rows.remove(row)
    have = {getattr(r, key) for r in rows}
    rows.extend(make(v) for v in wanted if v not in have)


def add_vam_agent(session: Session, *, name: str, kind: str, phone: str, district_id: str | None = None,
                  village_ids: list[int] = (), language: str = "tg", code: str | None = None,
                  district_ids: list[str] = ()) -> Responder:
    """Add a VAM agent serving ``village_ids`` and supplying them and the whole ``district_ids``;
    ``phone`` must already be E.164; ``code`` (default: the first free ``VAM001``...) is what
    purchase orders name; ``district_id`` its district (default: the first whole district,
    else the first village's). The items it supplies are set by the orders feature
    (``service.orders.catalogue.set_items``).

    Raises ``ValueError`` for a kind outside :data:`VAM_KINDS`, an unknown
    district, village or language, neither a village nor a district, a code that is
    taken, or a phone that is already a VAM agent.
    """
    if kind not in VAM_KINDS:
        raise ValueError(f"kind must be one of {VAM_KINDS}")
    if not village_ids and not district_ids:
        raise ValueError("a VAM agent serves at least one village or district")
    villages = _villages(session, list(village_ids))
    districts = _districts(session, list(district_ids))
    district_id = district_id or _home(session, [v.village_id for v in villages], districts)
    _check(session, phone, "vam_agent", language, district_id)
    agent = Responder(role="vam_agent", code=_code(session, code) if code else _free_code(session), kind=kind,
                      name=name, phone=phone, language=language, district_id=district_id, village_rows=villages,
                      district_rows=[ResponderDistrict(district_id=d) for d in districts])
    session.add(agent)
    session.flush()
    return agent


def update_vam_agent(session: Session, agent: Responder, *, name: str | None = None, kind: str | None = None,
                     phone: str | None = None, language: str | None = None, village_ids: list[int] | None = None,
                     district_ids: list[str] | None = None) -> Responder:
    """Change what is given of a VAM agent (None: unchanged; the lists replace what it serves).
    ``ValueError`` as for :func:`add_vam_agent`, also for a phone that is another VAM agent's."""
    if agent.role != "vam_agent":
        raise ValueError(f"responder {agent.id} is not a VAM agent")
    if kind is not None and kind not in VAM_KINDS:
        raise ValueError(f"kind must be one of {VAM_KINDS}")
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    if phone is not None and phone != agent.phone:
        _check(session, phone, "vam_agent", agent.language, None)
        agent.phone = phone
    agent.name, agent.kind, agent.language = name or agent.name, kind or agent.kind, language or agent.language
    if village_ids is not None:
        wanted = [v.village_id for v in _villages(session, list(village_ids))]
        _sync(agent.village_rows, wanted, "village_id", lambda v: ResponderVillage(village_id=v))
    if district_ids is not None:
        wanted = _districts(session, list(district_ids))
        _sync(agent.district_rows, wanted, "district_id", lambda d: ResponderDistrict(district_id=d))
    if agent.district_id is None:
        agent.district_id = _home(session, agent.village_ids, agent.district_ids)
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
    if not district_id:
        raise ValueError("an extension officer serves a district")
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


def by_code(session: Session, code: str) -> Responder | None:
    """The VAM agent with this code (any case, spaces dropped), or None."""
    wanted = "".join((code or "").split()).upper()
    return session.scalar(select(Responder).where(Responder.code == wanted)) if wanted else None


def vam_agents(session: Session) -> list[Responder]:
    """Every VAM agent, active or not, by code."""
    return list(session.scalars(select(Responder).where(Responder.role == "vam_agent").order_by(Responder.code)))
