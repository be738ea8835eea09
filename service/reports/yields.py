"""The yields report: PG members against non-members per crop and season, from the farmers'
``YIELD`` reports (:class:`service.sales.yields.YieldReport`; ``docs/staff.md`` §17), as the case
study's figures 10 and 11 show them (``docs/programme.md`` §8, R5).

A report's side is its ``is_member`` flag, set when it was sent (an active membership then). A
member's report belongs to the PG the farmer was a member of at ``reported_at`` (joined on or
before, not left; else the farmer's latest membership) and counts when that PG is selected; a
non-member's report counts when the farmer lives in a village of a selected PG (non-members are
the members' neighbours, as in the case study). A season is the report's ``year``. Per crop and
season: the mean yield (kg/ha, the mean of the reports' yields, exact until shown) of members, of
members linked to a VAM agent (``linked_to_vam``) and of non-members; the difference in whole
percent of the non-members' mean, rounded half up: (members − non-members) ÷ non-members × 100.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from service.farmers.models import Farmer
from service.groups.membership import Membership
from service.reference.crops import Crop
from service.reports import output
from service.reports.selection import Selection, pct, select_pgs
from service.sales.yields import YieldReport


def _mean(values: list[Fraction]) -> Fraction | None:
    return sum(values, Fraction(0)) / len(values) if values else None


def _diff(a: Fraction | None, b: Fraction | None) -> int | None:
    if a is None or not b:
        return None
    return pct(a - b, b) if a >= b else -pct(b - a, b)


def _shown(value: Fraction | None, places: str) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


@dataclass
class Row:
    """One crop in one season: the yields (kg/ha, exact) of the members' reports (``members``), of
    those linked to VAM (``vam``) and of the non-members' (``others``)."""

    crop_id: str
    crop: str
    season: int
    members: list[Fraction] = field(default_factory=list)
    vam: list[Fraction] = field(default_factory=list)
    others: list[Fraction] = field(default_factory=list)

    @property
    def member_kg_ha(self) -> Fraction | None:
        """Mean yield of the members' reports, kg/ha (None without one)."""
        return _mean(self.members)

    @property
    def vam_kg_ha(self) -> Fraction | None:
        """Mean yield of the reports of members linked to VAM, kg/ha (None without one)."""
        return _mean(self.vam)

    @property
    def other_kg_ha(self) -> Fraction | None:
        """Mean yield of the non-members' reports, kg/ha (None without one)."""
        return _mean(self.others)

    @property
    def difference_pct(self) -> int | None:
        """Members against non-members, whole % of the non-members' mean (None without both)."""
        return _diff(self.member_kg_ha, self.other_kg_ha)

    @property
    def vam_gain_pct(self) -> int | None:
        """Members linked to VAM against non-members (R5), whole % (None without both)."""
        return _diff(self.vam_kg_ha, self.other_kg_ha)

    @staticmethod
    def t_ha(value: Fraction | None) -> Decimal | None:
        """kg/ha as t/ha with one decimal (None stays None)."""
        return None if value is None else _shown(value / 1000, "0.1")

    @staticmethod
    def kg_ha(value: Fraction | None) -> int | None:
        """kg/ha as a whole number (None stays None)."""
        return None if value is None else int(_shown(value, "1"))


@dataclass
class Report:
    """The report: ``rows`` per crop (by name) and season (oldest first), the ``selection``
    (filters) and the ``seasons`` with reports in the selection (newest first)."""

    rows: list[Row]
    selection: Selection
    season: int | None = None
    seasons: tuple[int, ...] = ()

    @property
    def compared(self) -> list[Row]:
        """The rows with reports on both sides (what the chart draws)."""
        return [r for r in self.rows if r.members and r.others]


def report(session: Session, scope, lang: str = "en", *, district: str = "", cluster: str = "", pg: str = "",
           season: int | None = None, no_cluster: str = "—") -> Report:
    """The :class:`Report` of the yield reports of the PGs ``scope`` covers and their villages,
    narrowed by the filters (district and cluster ids, a PG code, a season year). Raises
    :class:`~service.reports.selection.OutOfScope` for a filter outside the scope."""
    sel = select_pgs(session, scope, lang, district=district, cluster=cluster, pg=pg, no_cluster=no_cluster)
    if not sel.pgs:
        return Report([], sel, season)
    pg_ids, villages = set(sel.pg_ids), sel.village_ids
    in_pgs = exists().where(Membership.farmer_id == YieldReport.farmer_id, Membership.pg_id.in_(sorted(pg_ids)))
    reports = session.execute(
        select(YieldReport.farmer_id, YieldReport.crop_id, YieldReport.year, YieldReport.grams, YieldReport.area_m2,
               YieldReport.is_member, YieldReport.linked_to_vam, YieldReport.reported_at)
        .join(Farmer, Farmer.id == YieldReport.farmer_id)
        .where((YieldReport.is_member & in_pgs) | (~YieldReport.is_member & Farmer.village_id.in_(villages)))
        .order_by(YieldReport.id)).all()
    member_ids = sorted({r.farmer_id for r in reports if r.is_member})
    spells: dict[int, list] = {}
    for i in range(0, len(member_ids), 5000):
        for m in session.execute(select(Membership.farmer_id, Membership.pg_id, Membership.joined_at,
                                        Membership.left_at).where(Membership.farmer_id.in_(member_ids[i:i + 5000]),
                                                                  Membership.status.in_(("active", "left")))):
            spells.setdefault(m.farmer_id, []).append(m)

    def pg_at(farmer_id, when):
        options = spells.get(farmer_id, [])
        for m in options:
            if m.joined_at is not None and m.joined_at <= when and (m.left_at is None or m.left_at > when):
                return m.pg_id
        latest = max(options, key=lambda m: (m.joined_at is not None, m.joined_at or when), default=None)
        return latest.pg_id if latest else None

    names = {c.id: c.name(lang) for c in session.scalars(select(Crop))}
    rows: dict[tuple[str, int], Row] = {}
    seasons = set()
    for r in reports:
        if r.is_member and pg_at(r.farmer_id, r.reported_at) not in pg_ids:
            continue
        seasons.add(r.year)
        if season is not None and r.year != season:
            continue
        row = rows.setdefault((r.crop_id, r.year), Row(r.crop_id, names.get(r.crop_id, r.crop_id), r.year))
        kg_ha = Fraction(r.grams, 1000) / Fraction(r.area_m2, 10_000)
        if r.is_member:
            row.members.append(kg_ha)
            if r.linked_to_vam:
                row.vam.append(kg_ha)
        else:
            row.others.append(kg_ha)
    ordered = sorted(rows.values(), key=lambda x: (x.crop, x.crop_id, x.season))
    return Report(ordered, sel, season, tuple(sorted(seasons, reverse=True)))


#: the download's columns (the header row's keys; the page gives them words); yields in kg/ha
COLUMNS = ("crop_id", "crop", "season", "member_reports", "member_kg_ha", "vam_reports", "vam_kg_ha",
           "other_reports", "other_kg_ha", "difference_pct", "vam_gain_pct")


def cells(row: Row) -> list:
    """The cells of one download line, in :data:`COLUMNS` order (None, an empty cell, where a side
    has no report)."""
    return [row.crop_id, row.crop, row.season, len(row.members), Row.kg_ha(row.member_kg_ha), len(row.vam),
            Row.kg_ha(row.vam_kg_ha), len(row.others), Row.kg_ha(row.other_kg_ha), row.difference_pct,
            row.vam_gain_pct]


def to_csv(rep: Report, header) -> bytes:
    """The report as CSV bytes (:func:`service.reports.output.to_csv`)."""
    return output.to_csv(header, [cells(r) for r in rep.rows])


def to_xlsx(rep: Report, header) -> bytes:
    """The report as an XLSX workbook (bytes)."""
    return output.to_xlsx(header, [cells(r) for r in rep.rows], "yields")


def chart_svg(rows: list[Row], *, members_label: str, others_label: str, axis_label: str, description: str) -> str:
    """An SVG of horizontal bars: per crop and season (``"onion 2025"``), the mean yield in t/ha of
    members and of non-members."""
    names = [f"{r.crop} {r.season}" for r in rows]
    return output.bar_chart(names, [(members_label, [float(Row.t_ha(r.member_kg_ha)) for r in rows]),
                                    (others_label, [float(Row.t_ha(r.other_kg_ha)) for r in rows])],
                            axis_label=axis_label, description=description, unit="")
