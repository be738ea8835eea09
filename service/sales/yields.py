"""Yield reports: harvests farmers report, and the members-with-VAM vs non-members comparison.

``YIELD <crop> <quantity> <area>`` records one harvest (:func:`record`) with two
flags taken when it is reported: ``is_member`` (an active PG membership) and
``linked_to_vam`` (a VAM agent serves the farmer's village,
``service.advice.responders``). :func:`gains` computes report R5 of
``docs/programme.md`` §8: per crop and year, gain % = (mean yield of members
linked to VAM − mean yield of non-members) ÷ mean yield of non-members × 100,
yields in kg/ha (the mean of the reports' yields), rounded half up to a whole
percent. The year is the harvest's local (``TIMEZONE``) calendar year.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import BigInteger, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.groups import membership
from service.advice import responders as vam_agent
from service.db import Base, utcnow
from service.errors import Refusal
from service.farmers.models import MAX_LAND_HA, Farmer

MAX_YIELD_KG_PER_HA = 200_000  # 200 t/ha: above any open-field or greenhouse crop here, so a typing error


class YieldReport(Base):
    """One reported harvest: ``grams`` of ``crop_id`` from ``area_m2`` in ``year``; ``entered``
    keeps the quantity and area as typed; the flags are as they were when reported."""

    __tablename__ = "yield_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"), index=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"))
    year: Mapped[int]
    grams: Mapped[int] = mapped_column(BigInteger)
    area_m2: Mapped[int]
    entered: Mapped[str] = mapped_column(String(60))
    is_member: Mapped[bool]
    linked_to_vam: Mapped[bool]
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def kg_per_ha(self) -> Fraction:
        """The yield in kg per hectare, exact."""
        return Fraction(self.grams, 1000) / Fraction(self.area_m2, 10_000)


def check(grams: int, area_m2: int) -> None:
    """Refuse an implausible harvest: ``Refusal("quantity.area")`` for an area (m²) not in
    (0, :data:`MAX_LAND_HA` ha], ``Refusal("yields.too_high")`` over :data:`MAX_YIELD_KG_PER_HA`."""
    if area_m2 <= 0 or area_m2 > MAX_LAND_HA * 10_000:
        raise Refusal("quantity.area")
    if Fraction(grams, 1000) / Fraction(area_m2, 10_000) > MAX_YIELD_KG_PER_HA:
        raise Refusal("yields.too_high")


def record(session: Session, farmer: Farmer, crop_id: str, grams: int, area_m2: int, *, year: int,
           entered: str) -> YieldReport:
    """Store a harvest of ``farmer``, after :func:`check` (its refusals)."""
    check(grams, area_m2)
    report = YieldReport(farmer_id=farmer.id, crop_id=crop_id, year=year, grams=grams, area_m2=area_m2,
                         entered=entered[:60], is_member=_is_member(session, farmer),
                         linked_to_vam=bool(farmer.village_id and vam_agent.vam_agents_of(session, farmer.village_id)))
    session.add(report)
    session.flush()
    return report


def _is_member(session: Session, farmer: Farmer) -> bool:
    m = membership.current(session, farmer)
    return m is not None and m.status == "active"


@dataclass(frozen=True)
class Gain:
    """R5 for one crop and year: report counts and mean kg/ha of members linked to VAM and of
    non-members, and the gain in whole percent (None without reports on both sides)."""

    crop_id: str
    year: int
    vam_reports: int
    vam_kg_per_ha: Decimal | None
    other_reports: int
    other_kg_per_ha: Decimal | None
    gain_percent: int | None


def _mean(values: list[Fraction]) -> Fraction | None:
    return sum(values, Fraction(0)) / len(values) if values else None


def _round(value: Fraction, places: str = "1") -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def gains(session: Session, year: int | None = None) -> list[Gain]:
    """R5 per crop and year (one year, or all), ordered by crop then year. Members not linked to
    VAM count on neither side, as in the case study."""
    q = select(YieldReport)
    if year is not None:
        q = q.where(YieldReport.year == year)
    groups: dict[tuple[str, int], tuple[list, list]] = {}
    for r in session.scalars(q):
        vam, other = groups.setdefault((r.crop_id, r.year), ([], []))
        if r.is_member and r.linked_to_vam:
            vam.append(r.kg_per_ha)
        elif not r.is_member:
            other.append(r.kg_per_ha)
    out = []
    for (crop_id, yr), (vam, other) in sorted(groups.items()):
        a, b = _mean(vam), _mean(other)
        gain = int(_round((a - b) / b * 100)) if a is not None and b else None
        out.append(Gain(crop_id, yr, len(vam), None if a is None else _round(a, "0.1"), len(other),
                        None if b is None else _round(b, "0.1"), gain))
    return out
