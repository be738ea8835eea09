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
