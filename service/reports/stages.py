"""The PG development stages report: how many producer groups of the selection were at each stage
(forming, storming, norming, performing; ``service.groups.producer_group.STAGES``) at the end of
each month or quarter of a season, from their dated :class:`StageAssessment` rows.

A PG's stage on a day is that of its latest assessment on or before that day (the latest id when
one day has several); a PG with no assessment by then is not counted that day (every PG created
on the staff pages or imported is assessed ``forming`` on its founding day). Shares are whole
percentages of the PGs counted that day. The case study's benchmark is at least 40% of PGs
performing (:data:`TARGET_PCT`; ``docs/programme.md`` §3, §8).
Everything is counted in SQL: one ``GROUP BY`` over a ``UNION ALL`` of the period ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from service.groups.producer_group import STAGES, StageAssessment
from service.groups.shape import Shape
from service.reports import output
from service.reports.selection import Selection

#: the case study's benchmark: at least this share of PGs performing, %
TARGET_PCT = 40


@dataclass
class Point:
    """One period end: ``label`` ("2025-03"), ``day`` (its last local day), ``counts`` (stage →
    PGs), ``total`` (PGs assessed by then)."""

    label: str
    day: object
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def pct(self, stage: str) -> int:
        """The share of ``stage`` among the PGs counted, a whole percentage (0 with none)."""
        return Shape.share(self.counts.get(stage, 0), self.total)

    @property
    def on_target(self) -> bool:
        """True when at least :data:`TARGET_PCT` % of the PGs counted are performing."""
        return self.total > 0 and self.counts.get("performing", 0) * 100 >= TARGET_PCT * self.total


@dataclass
class Report:
    """``points``, one per period of the selection, in order; ``selection``: the filters."""

    selection: Selection
    points: list[Point]

    @property
    def latest(self) -> Point | None:
        """The last period's point (None for a season with no period)."""
        return self.points[-1] if self.points else None


def report(session: Session, sel: Selection) -> Report:
    """Count, for each period of ``sel`` (``selection.resolve``), the PGs of ``sel.pgs`` at each
    stage on the period's last local day. One query."""
    points = [Point(label, last) for label, _, _, last in sel.periods]
    pg_ids = [p.id for p in sel.pgs]
    if not pg_ids or not points:
        return Report(sel, points)
    a = StageAssessment
    # per period and PG, the day of the latest assessment on or before the period's end
    latest_day = union_all(*[
        select(literal(i).label("period"), a.pg_id.label("pg_id"), func.max(a.assessed_on).label("day"))
        .where(a.pg_id.in_(pg_ids), a.assessed_on <= p.day).group_by(a.pg_id)
        for i, p in enumerate(points)]).subquery("latest_day")
    # the latest assessment of that day (the highest id)
    latest_id = (select(latest_day.c.period, func.max(a.id).label("id"))
                 .join(a, (a.pg_id == latest_day.c.pg_id) & (a.assessed_on == latest_day.c.day))
                 .group_by(latest_day.c.period, latest_day.c.pg_id)).subquery("latest_id")
    rows = session.execute(select(latest_id.c.period, a.stage, func.count().label("n"))
                           .join(a, a.id == latest_id.c.id).group_by(latest_id.c.period, a.stage)).all()
    for period, stage, n in rows:
        point = points[int(period)]
        point.counts[stage] = point.counts.get(stage, 0) + int(n)
        point.total += int(n)
    return Report(sel, points)


#: the download's columns (the page gives them words)
COLUMNS = ("period", "day", "pgs", *STAGES, *(f"{s}_pct" for s in STAGES), "on_target")


def rows(rep: Report) -> list[list]:
    """The download's rows, one per period: :data:`COLUMNS`."""
    return [[p.label, p.day.isoformat(), p.total, *(p.counts.get(s, 0) for s in STAGES),
             *(p.pct(s) for s in STAGES), "yes" if p.on_target else "no"] for p in rep.points]


def to_csv(rep: Report, header: list[str] | None = None) -> bytes:
    """The report as CSV bytes (UTF-8 with BOM): ``header`` (else :data:`COLUMNS`), one line per period."""
    return output.to_csv(header or COLUMNS, rows(rep))


def to_xlsx(rep: Report, header: list[str] | None = None) -> bytes:
    """The report as an XLSX workbook (bytes), the columns of :func:`to_csv`."""
    return output.to_xlsx(header or COLUMNS, rows(rep), "stages")


def chart_svg(rep: Report, *, stage_labels: dict[str, str], axis_label: str, description: str) -> str:
    """An SVG (text): stacked areas of the PGs at each stage per period; ``stage_labels`` names the
    stages, ``description`` is the text alternative."""
    return output.line_chart([p.label for p in rep.points],
                             [(stage_labels.get(s, s), [p.counts.get(s, 0) for p in rep.points]) for s in STAGES],
                             axis_label=axis_label, description=description, stacked=True, integer=True)
