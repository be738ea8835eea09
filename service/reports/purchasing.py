"""The collective purchasing report: the share of members who ordered inputs together, what they
spent, what they saved against retail (TJS and %), per producer group, commodity cluster and
district (``docs/staff.md`` §17; report R4 of ``docs/programme.md`` §8).

An order line counts when it is not cancelled (``InputOrder.status``) and belongs to a round of a
selected PG; in a season, when it was placed in that local calendar year. Its prices are those
copied when it was placed (``service.orders.rounds``): spend = Σ group price × packs
(``total_diram``), retail = Σ retail price × packs, saving = Σ ``saving_diram``; saving % =
saving ÷ retail. Members are those of :func:`service.reports.selection.members_query`; buyers are
the members counted who placed at least one such line. Money in diram (1 TJS = 100 diram).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.groups.membership import Membership
from service.orders.rounds import InputOrder, OrderRound
from service.reference.render import tjs
from service.reports import output
from service.reports.selection import (LOCAL, Line, Rolled, chart_rows, members_query, pct, rollup,  # noqa: F401
                                       season_bounds, select_pgs)


@dataclass
class Row(Line):
    """One line (:class:`~service.reports.selection.Line`): ``members`` counted, ``buyers`` (of
    them with an order line), ``lines`` (order lines), diram at ``retail_diram``, spent
    (``spend_diram``, group price) and saved (``saving_diram``)."""

    members: int = 0
    buyers: int = 0
    lines: int = 0
    retail_diram: int = 0
    spend_diram: int = 0
    saving_diram: int = 0

    @property
    def buyers_pct(self) -> int:
        """Buyers as a whole percentage of the members (0 with none)."""
        return pct(self.buyers, self.members)

    @property
    def saving_pct(self) -> int:
        """Saving as a whole percentage of the retail cost (0 with nothing bought)."""
        return pct(self.saving_diram, self.retail_diram)


class Report(Rolled):
    """The report (:class:`~service.reports.selection.Rolled`); ``seasons``: those with order lines
    in the selected PGs."""


def report(session: Session, scope, lang: str = "en", *, district: str = "", cluster: str = "", pg: str = "",
           season: int | None = None, no_cluster: str = "—") -> Report:
    """The :class:`Report` of the PGs ``scope`` covers, narrowed by the filters (district and cluster
    ids, a PG code, a season year). Raises :class:`~service.reports.selection.OutOfScope` for a
    filter outside the scope."""
    sel = select_pgs(session, scope, lang, district=district, cluster=cluster, pg=pg, no_cluster=no_cluster)
    members: dict[int, set[int]] = {}
    sums: dict[int, list[int]] = {}
    buyers: dict[int, set[int]] = {}
    seasons: set[int] = set()
    if sel.pgs:
        for pg_id, farmer_id in session.execute(members_query((Membership.pg_id, Membership.farmer_id),
                                                              sel.pg_ids, season)):
            members.setdefault(pg_id, set()).add(farmer_id)
        live = select(OrderRound.pg_id, InputOrder.farmer_id, func.count().label("lines"),
                      func.sum(InputOrder.unit_retail_diram * InputOrder.packs).label("retail"),
                      func.sum(InputOrder.total_diram).label("spend"), func.sum(InputOrder.saving_diram).label("saving")
                      ).join(OrderRound, OrderRound.id == InputOrder.round_id).where(
            OrderRound.pg_id.in_(sel.pg_ids), InputOrder.status != "cancelled")
        if season is not None:
            start, end = season_bounds(season)
            live = live.where(InputOrder.created_at >= start, InputOrder.created_at < end)
        for r in session.execute(live.group_by(OrderRound.pg_id, InputOrder.farmer_id)):
            acc = sums.setdefault(r.pg_id, [0, 0, 0, 0])
            for i, v in enumerate((r.lines, r.retail, r.spend, r.saving)):
                acc[i] += int(v or 0)
            if r.farmer_id in members.get(r.pg_id, ()):
                buyers.setdefault(r.pg_id, set()).add(r.farmer_id)
        stamps = session.scalars(select(InputOrder.created_at).join(OrderRound, OrderRound.id == InputOrder.round_id)
                                 .where(OrderRound.pg_id.in_(sel.pg_ids), InputOrder.status != "cancelled")
                                 .distinct())
        seasons = {s.astimezone(LOCAL).year for s in stamps}

    def row_of(p):
        lines, retail, spend, saving = sums.get(p.id, (0, 0, 0, 0))
        return Row("pg", p.code, p.name, p.district_id, p.cluster_id, len(members.get(p.id, ())),
                   len(buyers.get(p.id, ())), lines, retail, spend, saving)

    total, districts, clusters, pgs = rollup(sel, row_of, Row)
    return Report(total, districts, clusters, pgs, sel, season, tuple(sorted(seasons, reverse=True)))


#: the download's columns (the header row's keys; the page gives them words); money in TJS
COLUMNS = ("level", "id", "name", "district", "cluster", "members", "buyers", "buyers_pct", "lines",
           "retail_tjs", "spend_tjs", "saving_tjs", "saving_pct")


def _tjs(diram: int) -> float:
    return float(tjs(diram, "en"))


def cells(row: Row) -> list:
    """The cells of one download line, in :data:`COLUMNS` order (TJS as numbers with two decimals)."""
    return [row.level, row.key, row.name, row.district_id, row.cluster_id, row.members, row.buyers, row.buyers_pct,
            row.lines, _tjs(row.retail_diram), _tjs(row.spend_diram), _tjs(row.saving_diram), row.saving_pct]


def to_csv(rep: Report, header) -> bytes:
    """The report as CSV bytes (:func:`service.reports.output.to_csv`)."""
    return output.to_csv(header, [cells(r) for r in rep.rows()])


def to_xlsx(rep: Report, header) -> bytes:
    """The report as an XLSX workbook (bytes)."""
    return output.to_xlsx(header, [cells(r) for r in rep.rows()], "purchasing")


def chart_svg(rows: list[Row], names: list[str], *, buyers_label: str, saving_label: str, axis_label: str,
              description: str) -> str:
    """An SVG of horizontal bars: per row (named ``names``), the % of members who bought
    collectively and the saving in % of retail."""
    return output.bar_chart(names, [(buyers_label, [r.buyers_pct for r in rows]),
                                    (saving_label, [r.saving_pct for r in rows])],
                            axis_label=axis_label, description=description, unit="%", xmax=100)
