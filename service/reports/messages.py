"""The messages report: SMS the service queued, sent, delivered, failed (by reason) and
suppressed, with their cost, per local month and per kind; and USSD sessions, their hops and what
the gateway reported they cost.

Kinds (:data:`KINDS`, from ``OutboundMessage.kind``, ``service.messaging.message.KINDS``):
``reply`` (replies and STOP confirmations), ``reminder`` (crop-calendar tips), ``broadcast``,
``alert`` and ``notice`` (order totals, approvals, price digests). A row counts in the month its
row was queued (``created_at``). Its outcome, from ``status``:

* ``sent``: handed to the gateway and not refused (``accepted``, ``in_transit``, ``delivered``,
  ``unconfirmed``, or ``failed`` with the gateway's message id: its delivery report failed);
* ``delivered``; ``failed`` (any failure, sent or not; :func:`reason` groups the reasons);
  ``suppressed`` (the phone had opted out); ``withdrawn``; ``waiting`` (queued, sending, held).

Cost, TJS: ``reported`` sums the gateway's own figure (``OutboundMessage.cost``, e.g. ``"TJS
0.1000"``; :func:`tjs`); ``estimated`` is ``SMS_PRICE_TJS`` times the
segments of the sent rows that carry no cost in TJS (``config.py``, dated and unverified,
``docs/message-budgets.md`` §5). USSD has no tariff on record, so no estimate is made: the report
shows sessions, hops (answered screens, ``UssdHop``) and the cost AT wrote on the end-of-session
notice when it is in TJS, with the number of sessions that carry none.

Scope: messages and sessions of farmers the selection covers; those of no farmer (unknown
phones, staff) only for an administrator without a district, cluster or PG filter. Every figure
is a ``GROUP BY`` in SQL; Python adds up the groups.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from service.farmers.models import Farmer
from service.messaging.message import OutboundMessage
from service.reports import output
from service.reports.selection import Selection, in_periods, period_index
from service.ussd.session import UssdHop, UssdSession

KINDS = ("reply", "reminder", "broadcast", "alert", "notice")
#: ``OutboundMessage.kind`` → the report's kind
KIND_OF = {"reply": "reply", "stop_confirm": "reply", "tip": "reminder", "broadcast": "broadcast",
           "alert": "alert", "notice": "notice"}
OUTCOMES = ("queued", "sent", "delivered", "failed", "suppressed", "withdrawn", "waiting")
SENT = ("accepted", "in_transit", "delivered", "unconfirmed")
WAITING = ("queued", "sending", "held")


def reason(text: str | None) -> str:
    """The group of a failure reason as stored: the gateway's own reason (``"Failed:
    UserInBlacklist"``) as is; the service's reasons without their numbers (``"expired: not sent
    in time"``, ``"not accepted by the gateway"``, ``"outcome unknown"``, ``"failed by hand"``);
    ``"unknown"`` when empty. At most 100 characters."""
    text = (text or "").strip()
    low = text.lower()
    if not text:
        return "unknown"
    if low.startswith("expired: not sent"):
        return "expired: not sent in time"
    if low.startswith(("gave up after", "not accepted after")):
        return "not accepted by the gateway"
    if low.startswith("outcome unknown"):
        return "outcome unknown"
    if low.startswith("failed by hand"):
        return "failed by hand"
    return re.sub(r"\s+", " ", text)[:100]


@dataclass
class Counts:
    """Counts of one month and kind (or a total): one per :data:`OUTCOMES`, ``segments`` (of the
    sent rows), ``reported`` and ``estimated`` cost (TJS)."""

    queued: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    suppressed: int = 0
    withdrawn: int = 0
    waiting: int = 0
    segments: int = 0
    reported: float = 0.0
    estimated: float = 0.0

    @property
    def cost(self) -> float:
        """Reported plus estimated cost, TJS, rounded to 0.01."""
        return round(self.reported + self.estimated, 2)

    @property
    def delivered_pct(self) -> int:
        """Delivered among sent, a whole percentage (0 with none sent)."""
        return round(self.delivered * 100 / self.sent) if self.sent else 0

    def add(self, other: "Counts") -> None:
        """Add ``other``'s figures to these."""
        for name in (*OUTCOMES, "segments", "reported", "estimated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Ussd:
    """USSD figures of one month (or the total): ``sessions``, ``hops``, ``cost`` (TJS as AT
    reported it) and ``uncosted`` (sessions with no cost in TJS)."""

    sessions: int = 0
    hops: int = 0
    cost: float = 0.0
    uncosted: int = 0

    def add(self, other: "Ussd") -> None:
        """Add ``other``'s figures to these."""
        self.sessions += other.sessions
        self.hops += other.hops
        self.cost += other.cost
        self.uncosted += other.uncosted


@dataclass
class Report:
    """``months``: the labels; ``cells[(month index, kind)]``: :class:`Counts`; ``by_month`` and
    ``by_kind`` their sums; ``total``; ``reasons``: ``{reason: failed rows}`` over the season, most
    first; ``reasons_by_month[(month index, reason)]``; ``ussd``: per month index; ``ussd_total``;
    ``price``: the SMS price used for the estimate (TJS per segment)."""

    selection: Selection
    months: list[str]
    price: float
    cells: dict[tuple[int, str], Counts] = field(default_factory=dict)
    by_month: list[Counts] = field(default_factory=list)
    by_kind: dict[str, Counts] = field(default_factory=dict)
    total: Counts = field(default_factory=Counts)
    reasons: dict[str, int] = field(default_factory=dict)
    reasons_by_month: dict[tuple[int, str], int] = field(default_factory=dict)
    ussd: list[Ussd] = field(default_factory=list)
    ussd_total: Ussd = field(default_factory=Ussd)


def _who(sel: Selection, farmer_column):
    """The WHERE clause of the rows the selection covers (by their ``farmer_id`` column)."""
    covered = farmer_column.in_(select(Farmer.id).where(sel.farmers()))
    if sel.scope.everything and not sel.narrowed:
        return or_(farmer_column.is_(None), covered)
    return covered


def tjs(cost: str | None) -> float | None:
    """The amount of a cost as the gateway wrote it when it is in TJS (``"TJS 0.1000"`` → 0.1),
    else None (empty, another currency such as ``"KES 0.10"``, a bare number of unknown currency,
    unreadable)."""
    parts = (cost or "").split()
    if len(parts) != 2 or parts[0].upper() != "TJS":
        return None
    try:
        return float(parts[1])
    except ValueError:
        return None


def report(session: Session, sel: Selection, price_tjs: float) -> Report:
    """The messages report of the selection's periods; ``price_tjs``: ``SMS_PRICE_TJS``. Four
    ``GROUP BY`` queries (messages, failure reasons, USSD sessions, USSD hops)."""
    months = [p[0] for p in sel.periods]
    rep = Report(sel, months, price_tjs, by_month=[Counts() for _ in months], by_kind={k: Counts() for k in KINDS},
                 ussd=[Ussd() for _ in months])
    if not months:
        return rep
    m = OutboundMessage
    month = period_index(m.created_at, sel.periods).label("month")
    sent = or_(m.status.in_(SENT), and_(m.status == "failed", m.gateway_message_id.is_not(None)))
    where = (in_periods(m.created_at, sel.periods), _who(sel, m.farmer_id))
    groups = session.execute(
        select(month, m.kind, m.status, sent.label("sent"), m.cost, func.count().label("n"),
               func.sum(m.segments).label("segments"))
        .where(*where).group_by(month, m.kind, m.status, sent, m.cost)).all()
    for g in groups:
        if g.month is None:
            continue
        c = rep.cells.setdefault((int(g.month), KIND_OF.get(g.kind, "notice")), Counts())
        n, segments = int(g.n), int(g.segments or 0)
        c.queued += n
        if g.sent:
            c.sent += n
            c.segments += segments
            amount = tjs(g.cost)
            if amount is None:
                c.estimated += price_tjs * segments
            else:
                c.reported += amount * n
        if g.status in ("delivered", "failed", "suppressed", "withdrawn"):
            setattr(c, g.status, getattr(c, g.status) + n)
        elif g.status in WAITING:
            c.waiting += n
    for (i, kind), c in rep.cells.items():
        rep.by_month[i].add(c)
        rep.by_kind[kind].add(c)
        rep.total.add(c)

    failures = session.execute(
        select(month, m.failure_reason, func.count().label("n"))
        .where(*where, m.status == "failed").group_by(month, m.failure_reason)).all()
    for g in failures:
        if g.month is None:
            continue
        key = reason(g.failure_reason)
        rep.reasons[key] = rep.reasons.get(key, 0) + int(g.n)
        rep.reasons_by_month[(int(g.month), key)] = rep.reasons_by_month.get((int(g.month), key), 0) + int(g.n)
    rep.reasons = dict(sorted(rep.reasons.items(), key=lambda kv: (-kv[1], kv[0])))

    s = UssdSession
    smonth = period_index(s.created_at, sel.periods).label("month")
    swhere = (in_periods(s.created_at, sel.periods), _who(sel, s.farmer_id))
    for g in session.execute(select(smonth, s.cost, func.count().label("n")).where(*swhere)
                             .group_by(smonth, s.cost)).all():
        if g.month is None:
            continue
        u, amount = rep.ussd[int(g.month)], tjs(g.cost)
        u.sessions += int(g.n)
        if amount is None:
            u.uncosted += int(g.n)
        else:
            u.cost += amount * int(g.n)
    for g in session.execute(select(smonth, func.count(UssdHop.id).label("n")).join(UssdHop, UssdHop.session_id == s.session_id)
                             .where(*swhere).group_by(smonth)).all():
        if g.month is not None:
            rep.ussd[int(g.month)].hops += int(g.n)
    for u in rep.ussd:
        rep.ussd_total.add(u)
    return rep


#: the download's columns (the page gives them words): one line per month and kind, then the
#: months' and kinds' totals (kind/month "all"), then one line per failure reason and month
COLUMNS = ("section", "month", "kind", *OUTCOMES, "segments", "reported_tjs", "estimated_tjs", "cost_tjs",
           "ussd_sessions", "ussd_hops", "ussd_cost_tjs", "reason")


def rows(rep: Report) -> list[list]:
    """The download's rows (:data:`COLUMNS`)."""
    def line(section, month, kind, c: Counts, u: Ussd | None = None, why=""):
        return [section, month, kind, *(getattr(c, o) for o in OUTCOMES), c.segments, round(c.reported, 2),
                round(c.estimated, 2), c.cost, *((u.sessions, u.hops, round(u.cost, 2)) if u else ("", "", "")), why]

    out = []
    for i, label in enumerate(rep.months):
        for kind in KINDS:
            if (i, kind) in rep.cells:
                out.append(line("sms", label, kind, rep.cells[(i, kind)]))
        out.append(line("month", label, "all", rep.by_month[i], rep.ussd[i]))
    for kind in KINDS:
        out.append(line("kind", "all", kind, rep.by_kind[kind]))
    out.append(line("total", "all", "all", rep.total, rep.ussd_total))
    for i, label in enumerate(rep.months):
        for why in rep.reasons:
            n = rep.reasons_by_month.get((i, why))
            if n:
                cells = ["failed", label, ""] + [""] * (len(COLUMNS) - 4) + [why]
                cells[3 + OUTCOMES.index("failed")] = n
                out.append(cells)
    return out


def to_csv(rep: Report, header: list[str] | None = None) -> bytes:
    """The report as CSV bytes (UTF-8 with BOM): ``header`` (else :data:`COLUMNS`) and :func:`rows`."""
    return output.to_csv(header or COLUMNS, rows(rep))


def to_xlsx(rep: Report, header: list[str] | None = None) -> bytes:
    """The report as an XLSX workbook (bytes), the rows of :func:`to_csv`."""
    return output.to_xlsx(header or COLUMNS, rows(rep), "messages")


def chart_svg(rep: Report, *, labels: dict[str, str], axis_label: str, description: str) -> str:
    """An SVG (text): per month, lines of SMS sent, delivered, failed and suppressed; ``labels``
    names them, ``description`` is the text alternative."""
    series = [(labels.get(o, o), [getattr(c, o) for c in rep.by_month]) for o in ("sent", "delivered", "failed", "suppressed")]
    return output.line_chart(rep.months, series, axis_label=axis_label, description=description, integer=True)
