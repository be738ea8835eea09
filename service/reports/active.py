"""The active farmers report: per local month of a season, the farmers who dialled the USSD code
(a :class:`~service.ussd.session.UssdSession` naming them) or texted the service (an
:class:`~service.messaging.message.InboundMessage` naming them), by gender, within the selection.

A phone shared by several profiles (a household) counts the profile each stored row names
(``farmer_id``: the profile the service acted for, usually the phone's main profile), never every
profile of the phone; a row naming no farmer (an unknown phone) counts nobody. A farmer active in
several months counts once in each, and once in the season's total. One ``GROUP BY`` in SQL over
the union of both tables per query (per month, and for the season).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.orm import Session

from service.farmers.models import Farmer
from service.groups.shape import Shape
from service.messaging.message import InboundMessage
from service.reports import output
from service.reports.selection import Selection, in_periods, period_index
from service.ussd.session import UssdSession


@dataclass
class Line:
    """One month (or the season): distinct farmers ``active`` (dialled or texted), ``women``
    among them, ``dialled``, ``texted``."""

    label: str
    active: int = 0
    women: int = 0
    dialled: int = 0
    texted: int = 0

    @property
    def men(self) -> int:
        """Active farmers not recorded as women."""
        return self.active - self.women

    @property
    def women_pct(self) -> int:
        """Women among the active, a whole percentage (0 with none)."""
        return Shape.share(self.women, self.active)


@dataclass
class Report:
    """``months``: a :class:`Line` per period; ``season``: the season's distinct farmers."""

    selection: Selection
    months: list[Line] = field(default_factory=list)
    season: Line = field(default_factory=lambda: Line("all"))


def _activity(sel: Selection):
    """A subquery ``(month, farmer_id, channel)`` of the rows in the selection's periods."""
    parts = []
    for model, column, channel in ((UssdSession, UssdSession.created_at, "ussd"), (InboundMessage, InboundMessage.received_at, "sms")):
        parts.append(select(period_index(column, sel.periods).label("month"), model.farmer_id.label("farmer_id"),
                            literal(channel).label("channel"))
                     .where(in_periods(column, sel.periods), model.farmer_id.is_not(None)))
    return union_all(*parts).subquery("activity")


def report(session: Session, sel: Selection) -> Report:
    """The active farmers of ``sel`` (``selection.resolve``) per period and over the season. Two queries."""
    rep = Report(sel, [Line(label) for label, *_ in sel.periods])
    if not sel.periods:
        return rep
    act = _activity(sel)
    female = Farmer.gender == "female"

    def figures(*group):
        return session.execute(
            select(*group, func.count(func.distinct(act.c.farmer_id)).label("active"),
                   func.count(func.distinct(case((female, act.c.farmer_id)))).label("women"),
                   func.count(func.distinct(case((act.c.channel == "ussd", act.c.farmer_id)))).label("dialled"),
                   func.count(func.distinct(case((act.c.channel == "sms", act.c.farmer_id)))).label("texted"))
            .join(Farmer, Farmer.id == act.c.farmer_id).where(sel.farmers(), act.c.month.is_not(None))
            .group_by(*group)).all()

    for r in figures(act.c.month):
        line = rep.months[int(r.month)]
        line.active, line.women, line.dialled, line.texted = int(r.active), int(r.women), int(r.dialled), int(r.texted)
    for r in figures():
        rep.season.active, rep.season.women, rep.season.dialled, rep.season.texted = \
            int(r.active), int(r.women), int(r.dialled), int(r.texted)
    return rep


#: the download's columns (the page gives them words)
COLUMNS = ("month", "active", "women", "men", "women_pct", "dialled", "texted")


def rows(rep: Report) -> list[list]:
    """The download's rows: one per month, then the season (month ``"all"``)."""
    return [[ln.label, ln.active, ln.women, ln.men, ln.women_pct, ln.dialled, ln.texted] for ln in (*rep.months, rep.season)]


def to_csv(rep: Report, header: list[str] | None = None) -> bytes:
    """The report as CSV bytes (UTF-8 with BOM): ``header`` (else :data:`COLUMNS`) and :func:`rows`."""
    return output.to_csv(header or COLUMNS, rows(rep))


def to_xlsx(rep: Report, header: list[str] | None = None) -> bytes:
    """The report as an XLSX workbook (bytes), the rows of :func:`to_csv`."""
    return output.to_xlsx(header or COLUMNS, rows(rep), "active farmers")


def chart_svg(rep: Report, *, women_label: str, men_label: str, axis_label: str, description: str) -> str:
    """An SVG (text): stacked areas of active women and men per month; ``description`` is the text alternative."""
    return output.line_chart([ln.label for ln in rep.months],
                             [(women_label, [ln.women for ln in rep.months]), (men_label, [ln.men for ln in rep.months])],
                             axis_label=axis_label, description=description, stacked=True, integer=True)
