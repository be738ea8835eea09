"""The land report: small versus medium and large farmers among the members, and how the Executive
Committee seats are shared between them, per producer group, commodity cluster and district
(``docs/staff.md`` §17).

A member's class comes from ``Farmer.land_m2`` (:data:`CLASSES`): **small** up to 1 ha (the case
study's small producers, 80% of members, ``docs/programme.md`` §4), **medium** over 1 ha up to
5 ha, **large** over 5 ha (the case study gives no line between medium and large: 5 ha is the
programme's own), **unknown** without a recorded land size. Members are the active memberships
(in a season: those active at some time in it, :func:`service.reports.selection.members_query`);
EC seats are those of them whose role is one of :data:`~service.groups.membership.EC_ROLES` and
who are active now. Percentages are whole numbers of the members (the seats) counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from service.farmers.models import Farmer
from service.groups.membership import EC_ROLES, Membership
from service.reports import output
from service.reports.selection import LOCAL, Line, Rolled, chart_rows, members_query, pct, rollup, select_pgs  # noqa: F401

#: the land classes, smallest first, with their upper bound in m² (None: no bound)
CLASSES = (("small", 10_000), ("medium", 50_000), ("large", None))
KINDS = ("small", "medium", "large", "unknown")


@dataclass
class Row(Line):
    """One line (:class:`~service.reports.selection.Line`): ``members`` and ``seats`` (EC seats
    filled) per class (dicts over :data:`KINDS`), ``land_m2`` (the members' land, m², where known)."""

    members: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    seats: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    land_m2: int = 0

    @property
    def member_count(self) -> int:
        """Members counted, every class."""
        return sum(self.members.values())

    @property
    def seat_count(self) -> int:
        """EC seats filled, every class."""
        return sum(self.seats.values())

    def member_pct(self, kind: str) -> int:
        """Members of class ``kind`` as a whole percentage of the members (0 with none)."""
        return pct(self.members[kind], self.member_count)

    def seat_pct(self, kind: str) -> int:
        """EC seats held by class ``kind`` as a whole percentage of the seats filled (0 with none)."""
        return pct(self.seats[kind], self.seat_count)

    @property
    def avg_land_ha(self) -> Decimal:
        """Average land of the members with a known size, ha, two decimals (0 with none)."""
        known = self.member_count - self.members["unknown"]
        if not known:
            return Decimal("0.00")
        return (Decimal(self.land_m2) / known / 10_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def add(self, other: "Row") -> None:
        """Add ``other``'s counts to this row's."""
        for k in KINDS:
            self.members[k] += other.members[k]
            self.seats[k] += other.seats[k]
        self.land_m2 += other.land_m2


class Report(Rolled):
    """The report (:class:`~service.reports.selection.Rolled`); ``seasons``: the years from the
    first member's joining to the last one's."""


def land_class(land_m2: int | None) -> str:
    """The class (:data:`KINDS`) of a land size in m² (None: ``"unknown"``)."""
    if land_m2 is None:
        return "unknown"
    for kind, bound in CLASSES:
        if bound is None or land_m2 <= bound:
            return kind
    return "large"


def report(session: Session, scope, lang: str = "en", *, district: str = "", cluster: str = "", pg: str = "",
           season: int | None = None, no_cluster: str = "—") -> Report:
    """The :class:`Report` of the PGs ``scope`` covers, narrowed by the filters (district and cluster
    ids, a PG code, a season year). Raises :class:`~service.reports.selection.OutOfScope` for a
    filter outside the scope. One grouped query over the memberships besides the selection's."""
    sel = select_pgs(session, scope, lang, district=district, cluster=cluster, pg=pg, no_cluster=no_cluster)
    kind = case((Farmer.land_m2.is_(None), "unknown"), (Farmer.land_m2 <= CLASSES[0][1], "small"),
                (Farmer.land_m2 <= CLASSES[1][1], "medium"), else_="large")
    on_ec = case(((Membership.role.in_(EC_ROLES)) & (Membership.status == "active"), 1), else_=0)
    counts: dict[int, list] = {}
    if sel.pgs:
        q = members_query((Membership.pg_id, kind.label("kind"), on_ec.label("ec"), func.count().label("n"),
                           func.coalesce(func.sum(Farmer.land_m2), 0).label("land")), sel.pg_ids, season)
        # grouped by the labels: PostgreSQL would not match the CASEs' bound parameters again
        q = q.join(Farmer, Farmer.id == Membership.farmer_id).group_by(Membership.pg_id, "kind", "ec")
        for r in session.execute(q):
            counts.setdefault(r.pg_id, []).append(r)

    def row_of(p):
        row = Row("pg", p.code, p.name, p.district_id, p.cluster_id)
        for r in counts.get(p.id, ()):
            row.members[r.kind] += int(r.n)
            if r.ec:
                row.seats[r.kind] += int(r.n)
            row.land_m2 += int(r.land or 0)
        return row

    total, districts, clusters, pgs = rollup(sel, row_of, Row)
    seasons: tuple[int, ...] = ()
    if sel.pgs:
        first, last = session.execute(select(func.min(Membership.joined_at), func.max(Membership.joined_at))
                                      .where(Membership.pg_id.in_(sel.pg_ids))).one()
        if first is not None:
            seasons = tuple(range(last.astimezone(LOCAL).year, first.astimezone(LOCAL).year - 1, -1))
    return Report(total, districts, clusters, pgs, sel, season, seasons)


#: the download's columns (the header row's keys; the page gives them words)
COLUMNS = ("level", "id", "name", "district", "cluster", "members", "small", "medium", "large", "unknown",
           "small_pct", "medium_pct", "large_pct", "avg_land_ha", "ec_seats", "ec_small", "ec_medium", "ec_large",
           "ec_unknown", "ec_small_pct", "ec_medium_pct", "ec_large_pct")


def cells(row: Row) -> list:
    """The cells of one download line, in :data:`COLUMNS` order (ha as a float)."""
    return [row.level, row.key, row.name, row.district_id, row.cluster_id, row.member_count,
            *(row.members[k] for k in KINDS), *(row.member_pct(k) for k in KINDS[:3]), float(row.avg_land_ha),
            row.seat_count, *(row.seats[k] for k in KINDS), *(row.seat_pct(k) for k in KINDS[:3])]


def to_csv(rep: Report, header) -> bytes:
    """The report as CSV bytes (:func:`service.reports.output.to_csv`)."""
    return output.to_csv(header, [cells(r) for r in rep.rows()])


def to_xlsx(rep: Report, header) -> bytes:
    """The report as an XLSX workbook (bytes)."""
    return output.to_xlsx(header, [cells(r) for r in rep.rows()], "land")


def chart_svg(rows: list[Row], names: list[str], *, labels: dict[str, str], axis_label: str, description: str) -> str:
    """An SVG of horizontal bars: per row (named ``names``), the % of members that are small,
    medium, large farmers and the % of EC seats held by small farmers. ``labels``: the series'
    words by ``small``/``medium``/``large``/``ec_small``."""
    series = [(labels[k], [r.member_pct(k) for r in rows]) for k in KINDS[:3]]
    series.append((labels["ec_small"], [r.seat_pct("small") for r in rows]))
    return output.bar_chart(names, series, axis_label=axis_label, description=description, unit="%", xmax=100)
