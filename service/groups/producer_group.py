"""Producer groups (PGs) and the Community Based Organisations they belong to.

A PG is a village-level group of smallholders, a sub-committee of a CBO,
linked to one commodity cluster, with a development stage
(forming → storming → norming → performing; ``docs/programme.md`` §3)
kept as dated assessments.
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Date, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow

STAGES = ("forming", "storming", "norming", "performing")


class CBO(Base):
    """A village Community Based Organisation."""

    __tablename__ = "cbo"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)


class ProducerGroup(Base):
    """A producer group. ``code``: short upper-case code farmers type (``JOIN VOS03``);
    ``stage``: the latest assessed development stage (history in :class:`StageAssessment`)."""

    __tablename__ = "producer_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    cbo_id: Mapped[int | None] = mapped_column(ForeignKey("cbo.id"), index=True)
    cluster_id: Mapped[str | None] = mapped_column(ForeignKey("commodity_cluster.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="forming")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StageAssessment(Base):
    """One dated assessment of a PG's development stage (history is kept, never overwritten)."""

    __tablename__ = "pg_stage_assessment"
    id: Mapped[int] = mapped_column(primary_key=True)
    pg_id: Mapped[int] = mapped_column(ForeignKey("producer_group.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    assessed_on: Mapped[dt.date] = mapped_column(Date)


def normalise_code(text: str) -> str:
    """Upper-case a PG code and drop spaces and punctuation (``"vos-03"``, ``"VOS03!"`` → ``"VOS03"``)."""
    return re.sub(r"[\W_]+", "", text or "").upper()


def by_code(session: Session, code: str) -> ProducerGroup | None:
    """The PG with this code (any case, spaces or dashes), or None."""
    code = normalise_code(code)
    if not code:
        return None
    return session.scalar(select(ProducerGroup).where(ProducerGroup.code == code))


def of_village(session: Session, village_id: int) -> list[ProducerGroup]:
    """PGs of a village ordered by code."""
    return list(session.scalars(
        select(ProducerGroup).where(ProducerGroup.village_id == village_id).order_by(ProducerGroup.code)))


def set_stage(session: Session, pg: ProducerGroup, stage: str, on: dt.date) -> None:
    """Record an assessment; ``stage`` must be one of :data:`STAGES` (else ``ValueError``)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    session.add(StageAssessment(pg_id=pg.id, stage=stage, assessed_on=on))
    latest = session.scalar(select(StageAssessment.assessed_on).where(
        StageAssessment.pg_id == pg.id).order_by(StageAssessment.assessed_on.desc()).limit(1))
    if latest is None or on >= latest:
        pg.stage = stage


MAX_NAME_CHARS = 120


def create(session: Session, *, code: str, name: str, village_id: int, on: dt.date, cbo_id: int | None = None,
           cluster_id: str | None = None) -> ProducerGroup:
    """Create a PG (staff, from the registry pages): ``code`` (normalised by :func:`normalise_code`,
    2-16 ASCII letters and digits), ``name`` (2-:data:`MAX_NAME_CHARS` characters), its village, and
    optionally a CBO of that village and a commodity cluster of the village's district. The PG starts
    ``forming``, assessed so on ``on`` (local date): the first line of its stage history.

    Returns the new PG (flushed, with its id). Raises ``Refusal``: ``staff.err.pg_code`` (a bad code),
    ``staff.err.pg_code_taken`` (``code``), ``staff.err.pg_name``, ``staff.err.village_unknown``,
    ``staff.err.cbo_other_village`` (the CBO is not the village's), ``staff.err.cluster_other_district``
    (the cluster is not of the village's district).
    """
    from service.errors import Refusal
    from service.groups.cluster import CommodityCluster
    from service.reference.geography import Village

    code = normalise_code(code)
    if not (2 <= len(code) <= 16 and code.isascii()):
        raise Refusal("staff.err.pg_code")
    if session.scalar(select(ProducerGroup.id).where(ProducerGroup.code == code)) is not None:
        raise Refusal("staff.err.pg_code_taken", code=code)
    name = " ".join((name or "").split())
    if not 2 <= len(name) <= MAX_NAME_CHARS:
        raise Refusal("staff.err.pg_name")
    village = session.get(Village, village_id)
    if village is None:
        raise Refusal("staff.err.village_unknown")
    if cbo_id is not None:
        cbo = session.get(CBO, cbo_id)
        if cbo is None or cbo.village_id != village.id:
            raise Refusal("staff.err.cbo_other_village")
    if cluster_id is not None:
        cluster = session.get(CommodityCluster, cluster_id)
        if cluster is None or cluster.district_id != village.district_id:
            raise Refusal("staff.err.cluster_other_district")
    pg = ProducerGroup(code=code, name=name, village_id=village.id, cbo_id=cbo_id, cluster_id=cluster_id,
                       stage="forming", created_at=utcnow())
    session.add(pg)
    session.flush()
    set_stage(session, pg, "forming", on)
    session.flush()
    return pg


def stage_history(session: Session, pg_id: int) -> list[StageAssessment]:
    """The PG's stage assessments, newest first."""
    return list(session.scalars(select(StageAssessment).where(StageAssessment.pg_id == pg_id)
                                .order_by(StageAssessment.assessed_on.desc(), StageAssessment.id.desc())))
