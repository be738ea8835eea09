"""The gender report: members and Executive Committee seats by gender, per producer group,
commodity cluster and district, within a staff account's :class:`~service.staff.scope.Scope`.

:func:`report` counts active memberships (``Membership.status == "active"``) and, among them, the
EC seats filled (``Membership.role`` in :data:`~service.groups.membership.EC_ROLES`, as the home
page's :func:`service.groups.shape.shape`), split by the member's ``Farmer.gender``. Percentages are
whole numbers (:meth:`service.groups.shape.Shape.share`). :func:`to_csv` and :func:`to_xlsx` write
the same rows for download; :func:`chart_svg` draws the per-cluster shares as an SVG
(matplotlib, no script) carrying its own text alternative.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from service.farmers.models import Farmer
from service.groups.membership import EC_ROLES, Membership
from service.groups.shape import Shape
from service.reports import output
from service.reports.selection import Line, OutOfScope, chart_rows, rollup, select_pgs  # noqa: F401 (the handler's)

LEVELS = ("district", "cluster", "pg")


@dataclass
class Row(Line):
    """One line of the report (:class:`~service.reports.selection.Line`). Counts: ``members`` (active
    memberships), ``women`` (of them female), ``ec_seats`` (EC seats filled by active members),
    ``ec_women`` (of them held by women)."""

    members: int = 0
    women: int = 0
    ec_seats: int = 0
    ec_women: int = 0

    @property
    def women_pct(self) -> int:
        """Women among members, a whole percentage (0 with no member)."""
        return Shape.share(self.women, self.members)

    @property
    def ec_women_pct(self) -> int:
        """Women among EC seats filled, a whole percentage (0 with no seat filled)."""
        return Shape.share(self.ec_women, self.ec_seats)


@dataclass
class Report:
    """The report: ``total`` (everything shown), ``districts``, ``clusters`` and ``pgs`` (rows sorted
    by name, PGs by code), and the filter choices within the scope: ``district_choices`` and
    ``cluster_choices`` as ``[(id, name)]``."""

    total: Row
    districts: list[Row] = field(default_factory=list)
    clusters: list[Row] = field(default_factory=list)
    pgs: list[Row] = field(default_factory=list)
    district_choices: list[tuple[str, str]] = field(default_factory=list)
    cluster_choices: list[tuple[str, str]] = field(default_factory=list)

    def rows(self) -> list[Row]:
        """Every row for a download: the total, then districts, clusters, PGs."""
        return [self.total, *self.districts, *self.clusters, *self.pgs]


def report(session: Session, scope, lang: str = "en", district: str = "", cluster: str = "",
           no_cluster: str = "—") -> Report:
    """The :class:`Report` of the PGs ``scope`` covers, narrowed to ``district`` and/or ``cluster``
    (ids; empty: all; :func:`service.reports.selection.select_pgs`). Names are in ``lang``;
    ``no_cluster`` names PGs of no cluster. Raises :class:`OutOfScope` when ``district`` or
    ``cluster`` has nothing in the scope. Four queries: the selection's three, the member counts."""
    sel = select_pgs(session, scope, lang, district=district, cluster=cluster, no_cluster=no_cluster)
    female = case((Farmer.gender == "female", 1), else_=0)
    on_ec = case((Membership.role.in_(EC_ROLES), 1), else_=0)
    counts = {}
    if sel.pgs:
        counts = {r.pg_id: r for r in session.execute(
            select(Membership.pg_id, func.count().label("members"), func.sum(female).label("women"),
                   func.sum(on_ec).label("ec_seats"), func.sum(female * on_ec).label("ec_women"))
            .join(Farmer, Farmer.id == Membership.farmer_id)
            .where(Membership.status == "active", Membership.pg_id.in_(sel.pg_ids))
            .group_by(Membership.pg_id))}

    def row_of(p):
        c = counts.get(p.id)
        return Row("pg", p.code, p.name, p.district_id, p.cluster_id,
                   *(int(v or 0) for v in ((c.members, c.women, c.ec_seats, c.ec_women) if c else (0, 0, 0, 0))))

    total, districts, clusters, rows = rollup(sel, row_of, Row)
    return Report(total=total, districts=districts, clusters=clusters, pgs=rows,
                  district_choices=sel.district_choices, cluster_choices=sel.cluster_choices)


#: the download's columns (the header row's keys; the page gives them words)
COLUMNS = ("level", "id", "name", "district", "cluster", "members", "women", "women_pct",
           "ec_seats", "ec_women", "ec_women_pct")


def _cells(row: Row) -> list:
    return [row.level, row.key, row.name, row.district_id, row.cluster_id, row.members, row.women, row.women_pct,
            row.ec_seats, row.ec_women, row.ec_women_pct]


def to_csv(rep: Report, header: list[str] | None = None) -> str:
    """The report as CSV text: a header (``header``, else :data:`COLUMNS`), then one line per row of
    :meth:`Report.rows`; text cells that a spreadsheet would read as a formula are made inert."""
    return output.to_csv(header or COLUMNS, [_cells(r) for r in rep.rows()]).decode("utf-8").removeprefix("\ufeff")


def to_xlsx(rep: Report, header: list[str] | None = None) -> bytes:
    """The report as an XLSX workbook (bytes): the columns of :func:`to_csv`, numbers as numbers."""
    return output.to_xlsx(header or COLUMNS, [_cells(r) for r in rep.rows()], "gender")


def chart_svg(rows: list[Row], *, members_label: str, ec_label: str, axis_label: str, total_label: str,
              description: str) -> str:
    """An SVG (text) of horizontal bars: per row, the % women among members and among EC seats.
    ``*_label``: the legend, the axis and the total row's words; ``description``: the text
    alternative, put in the SVG's ``<title>`` and ``aria-label`` (``role="img"``)."""
    names = [total_label if r.level == "total" else r.name for r in rows]
    return output.bar_chart(names, [(members_label, [r.women_pct for r in rows]), (ec_label, [r.ec_women_pct for r in rows])],
                            axis_label=axis_label, description=description, unit="%", xmax=100)
