"""The order rounds as staff see and move them on the web (``docs/staff.md`` "Orders on the web").

Everything here is asked within a :class:`~service.staff.scope.Scope`: the PGs it covers
(``Scope.pg_ids``; everything for an administrator) are the only ones whose rounds, lines,
purchase orders and savings are shown or changed. What lies outside is :class:`OutOfScope`
(the page answers 404); a request that cannot be read is ``ValueError`` with a staff-words key
(``ord.err.*``) as its message, for the page to show in the user's language.

* :func:`rounds_in_scope`: the rounds per PG with deadline (local date), status and totals.
* :func:`closing_soon`: open rounds whose last ordering day is within a few local days.
* :func:`choose_rounds` + :func:`purchase_order`: the purchase order per supplier (VAM agent)
  of chosen closed rounds of a cluster or PG (``rounds.bulk_order``), and :func:`purchase_rows`
  for its CSV/XLSX (``service.reports.output``).
* :func:`change_status`: staff move the live lines of closed rounds forward
  (``rounds.set_status``: one SMS per farmer in their language), audited, and exactly once.
* :func:`savings_in_scope`: ``rounds.savings`` within the scope, with the saving in % of retail.

Money is integer diram (shown as TJS); closing days are local dates (``TIMEZONE``); times UTC.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.advice.responders import Responder
from service.audit.log import Actor, record
from service.farmers.models import Farmer
from service.groups.producer_group import ProducerGroup, normalise_code
from service.orders import rounds
from service.orders.catalogue import InputItem
from service.orders.rounds import DEFAULT_POLICY, BulkLine, InputOrder, OrderRound, Policy, RoundTotals
from service.staff.scope import Scope

#: the roles of the orders pages (an administrator always passes)
VIEW_ROLES = ("extension_officer", "cluster_coordinator", "vam_agent", "pg_leader")
#: the roles that move order lines (a PG leader only looks)
CHANGE_ROLES = ("extension_officer", "cluster_coordinator", "vam_agent")
#: the status changes staff make, in the order of the flow: what the web calls each of them
#: (``confirmed``: ordered from the supplier, who confirmed; ``procured``: bought by the supplier;
#: ``ready``: delivered to the PG, ready for pickup at a place and day; ``delivered``: collected)
WEB_STATUSES = ("confirmed", "procured", "ready", "delivered", "cancelled")
#: the most rounds one request may choose, the most rounds a list shows, the longest pickup place
MAX_ROUNDS = 50
LIST_CAP = 300
MAX_PLACE = 60
#: how far ahead :func:`closing_soon` looks by default
CLOSING_WITHIN = dt.timedelta(days=3)


class OutOfScope(LookupError):
    """The round, PG or cluster asked for does not exist or is outside the account's scope."""


@dataclass
class RoundRow:
    """One round as listed: the round, its PG, its totals (diram) and its live lines per status."""

    round: OrderRound
    pg: ProducerGroup
    totals: RoundTotals
    states: dict[str, int] = field(default_factory=dict)


def _pgs(session: Session, scope: Scope) -> dict[int, ProducerGroup]:
    return {pg.id: pg for pg in session.scalars(select(ProducerGroup).where(scope.pgs()).order_by(ProducerGroup.code))}


def pg_choices(session: Session, scope: Scope) -> list[ProducerGroup]:
    """The PGs of the scope, by code."""
    return list(_pgs(session, scope).values())


def cluster_choices(session: Session, scope: Scope) -> list[str]:
    """The cluster ids of the scope's PGs (a cluster with a PG in the scope), sorted."""
    return sorted({pg.cluster_id for pg in _pgs(session, scope).values() if pg.cluster_id})


def _filter_pgs(session: Session, scope: Scope, cluster_id: str | None, pg_code: str | None) -> dict[int, ProducerGroup]:
    """The scope's PGs of ``cluster_id`` and/or ``pg_code``; :class:`OutOfScope` when none is."""
    pgs = _pgs(session, scope)
    if cluster_id:
        pgs = {i: p for i, p in pgs.items() if p.cluster_id == cluster_id}
        if not pgs:
            raise OutOfScope(cluster_id)
    if pg_code:
        code = normalise_code(pg_code)
        pgs = {i: p for i, p in pgs.items() if p.code == code}
        if not pgs:
            raise OutOfScope(pg_code)
    return pgs


def _states(session: Session, round_ids: list[int]) -> dict[int, Counter]:
    out: dict[int, Counter] = {r: Counter() for r in round_ids}
    if round_ids:
        for rid, status in session.execute(select(InputOrder.round_id, InputOrder.status).where(
                InputOrder.round_id.in_(round_ids))):
            out[rid][status] += 1
    return out


def rounds_in_scope(session: Session, scope: Scope, *, cluster_id: str | None = None, pg_code: str | None = None,
                    status: str | None = None, limit: int = LIST_CAP) -> list[RoundRow]:
    """The scope's rounds, open ones first, then newest first (at most ``limit``), optionally of one
    cluster, one PG (code) and one round status (``open``/``closed``), each with its totals and its
    lines per status. :class:`OutOfScope` for a cluster or PG with no PG of the scope;
    ``ValueError("ord.err.round_status")`` for another status."""
    if status not in (None, "", "open", "closed"):
        raise ValueError("ord.err.round_status")
    pgs = _filter_pgs(session, scope, cluster_id, pg_code)
    if not pgs:
        return []
    q = select(OrderRound).where(OrderRound.pg_id.in_(sorted(pgs)))
    if status:
        q = q.where(OrderRound.status == status)
    found = list(session.scalars(q.order_by((OrderRound.status == "open").desc(), OrderRound.id.desc()).limit(limit)))
    states = _states(session, [r.id for r in found])
    return [RoundRow(r, pgs[r.pg_id], rounds.round_totals(session, r), dict(states[r.id])) for r in found]


def closing_soon(session: Session, scope: Scope, now: dt.datetime, within: dt.timedelta = CLOSING_WITHIN,
                 policy: Policy = DEFAULT_POLICY) -> list[OrderRound]:
    """The scope's open rounds still taking orders whose closing day (local, ``policy.timezone``)
    is at most ``within`` (whole days) after today's local date at ``now`` (aware UTC); soonest
    first. A round past its closing day but not yet closed is not listed (the periodic job closes it)."""
    today = rounds.local_today(now, policy)
    last = today + dt.timedelta(days=within.days)
    return list(session.scalars(select(OrderRound).join(ProducerGroup, ProducerGroup.id == OrderRound.pg_id).where(
        OrderRound.status == "open", OrderRound.closes_on >= today, OrderRound.closes_on <= last, scope.pgs())
        .order_by(OrderRound.closes_on, OrderRound.id)))


def round_in_scope(session: Session, scope: Scope, round_id: int) -> OrderRound:
    """The round with this id when its PG is in the scope; :class:`OutOfScope` otherwise."""
    rnd = session.get(OrderRound, round_id) if 0 < round_id < 2**31 else None
    if rnd is None or not scope.covers_pg(rnd.pg_id):
        raise OutOfScope(round_id)
    return rnd


@dataclass(frozen=True)
class ItemRow:
    """One item of a round or purchase order: packs, quantity in ``unit``, kg (None unless the
    unit is kg), money in diram."""

    item: InputItem
    packs: int
    quantity: Decimal
    kg: Decimal | None
    total_diram: int
    saving_diram: int


def item_rows(session: Session, rnd: OrderRound) -> list[ItemRow]:
    """The round's live lines per item (``rounds.round_totals``), items by code."""
    return [ItemRow(t.item, t.packs, t.packs * t.item.pack_size, t.packs * t.item.pack_size if t.item.unit == "kg" else None,
                    t.total_diram, t.saving_diram) for t in rounds.round_totals(session, rnd).items]


@dataclass(frozen=True)
class Line:
    """One order line of a round as staff read it."""

    order: InputOrder
    farmer: Farmer
    item: InputItem


def lines_of(session: Session, rnd: OrderRound) -> list[Line]:
    """Every order line of the round (cancelled ones too), by order number."""
    rows = session.execute(select(InputOrder, Farmer, InputItem).join(Farmer, Farmer.id == InputOrder.farmer_id)
                           .join(InputItem, InputItem.id == InputOrder.item_id)
                           .where(InputOrder.round_id == rnd.id).order_by(InputOrder.id))
    return [Line(o, f, i) for o, f, i in rows]


def parse_round_ids(values: list[str]) -> list[int]:
    """Round ids as typed or ticked (``"12"``); ``ValueError("ord.err.round_ids")`` for one that is
    not a number, ``ValueError("ord.err.too_many")`` for more than :data:`MAX_ROUNDS`."""
    if len(values) > MAX_ROUNDS:
        raise ValueError("ord.err.too_many")
    out = []
    for v in values:
        v = (v or "").strip()
        if not (v.isascii() and v.isdigit() and len(v) <= 9):
            raise ValueError("ord.err.round_ids")
        out.append(int(v))
    return list(dict.fromkeys(out))


def choose_rounds(session: Session, scope: Scope, *, cluster_id: str | None = None, pg_code: str | None = None,
                  round_ids: list[int] = ()) -> list[OrderRound]:
    """Closed rounds of the scope's PGs of ``cluster_id`` or ``pg_code`` (at least one of them):
    the ids given, else those with lines still ``placed`` (not yet ordered from a supplier).
    :class:`OutOfScope` for a cluster/PG outside the scope or a round id not of those PGs;
    ``ValueError("ord.err.pick_area")`` without cluster or PG, ``ValueError("ord.err.not_closed")``
    for a round still open, ``ValueError("ord.err.too_many")`` past :data:`MAX_ROUNDS`."""
    if not cluster_id and not pg_code:
        raise ValueError("ord.err.pick_area")
    if len(round_ids) > MAX_ROUNDS:
        raise ValueError("ord.err.too_many")
    pgs = _filter_pgs(session, scope, cluster_id, pg_code)
    if round_ids:
        found = list(session.scalars(select(OrderRound).where(OrderRound.id.in_(list(round_ids))).order_by(OrderRound.id)))
        if len(found) != len(set(round_ids)) or any(r.pg_id not in pgs for r in found):
            raise OutOfScope(round_ids)
        if any(r.status != "closed" for r in found):
            raise ValueError("ord.err.not_closed")
        return found
    placed = select(InputOrder.round_id).where(InputOrder.status == "placed")
    return list(session.scalars(select(OrderRound).where(
        OrderRound.pg_id.in_(sorted(pgs)), OrderRound.status == "closed", OrderRound.id.in_(placed))
        .order_by(OrderRound.id).limit(MAX_ROUNDS)))


def closed_rounds(session: Session, scope: Scope, *, cluster_id: str | None = None, pg_code: str | None = None,
                  limit: int = 100) -> list[RoundRow]:
    """The closed rounds a purchase order may be made of (newest first, at most ``limit``)."""
    return rounds_in_scope(session, scope, cluster_id=cluster_id, pg_code=pg_code, status="closed", limit=limit)


@dataclass
class SupplierOrder:
    """The purchase order of one supplier (None: no VAM agent serves the village): its lines
    (``rounds.BulkLine``: supplier × item × group price with one part per PG round)."""

    supplier: Responder | None
    lines: list[BulkLine] = field(default_factory=list)

    @property
    def total_diram(self) -> int:
        """Group price × packs over every line (diram)."""
        return sum(line.total_diram for line in self.lines)

    @property
    def saving_diram(self) -> int:
        """(retail − group) × packs over every line (diram)."""
        return sum(line.saving_diram for line in self.lines)


def purchase_order(session: Session, chosen: list[OrderRound]) -> list[SupplierOrder]:
    """The chosen rounds' live lines rolled up per supplier (``rounds.bulk_order``), suppliers by
    code, the lines with no supplier last."""
    out: dict[str, SupplierOrder] = {}
    for line in rounds.bulk_order(session, chosen):
        key = line.supplier.code if line.supplier else "~"
        out.setdefault(key, SupplierOrder(line.supplier)).lines.append(line)
    return [out[k] for k in sorted(out)]


#: the columns of the purchase order download (their headers are staff words ``ord.col.<name>``)
PO_COLUMNS = ("row", "supplier_code", "supplier", "supplier_phone", "item_code", "item", "unit", "pack_size",
              "pg_code", "round", "orders", "farmers", "packs", "quantity", "group_price_tjs", "retail_price_tjs",
              "total_tjs", "saving_tjs")


def _tjs(diram: int) -> Decimal:
    return (Decimal(diram) / 100).quantize(Decimal("0.01"))


def purchase_rows(orders: list[SupplierOrder], lang: str) -> list[list]:
    """The purchase order as rows of :data:`PO_COLUMNS` for ``output.to_csv``/``to_xlsx``: per
    supplier × item an ``item`` row (every PG together), then its ``pg`` rows (one per PG round),
    a ``supplier`` total per supplier and one ``total`` row last. Money in TJS (Decimal, two
    places), quantity = packs × pack size in ``unit``; item names in ``lang``."""
    rows: list[list] = []
    blank = [""] * len(PO_COLUMNS)
    for so in orders:
        s = so.supplier
        who = [s.code if s else "", s.name if s else "", s.phone if s else ""]
        for line in so.lines:
            item = [line.item.code, line.item.name(lang), line.item.unit, line.item.pack_size]
            farmers = set().union(*(p.farmers for p in line.parts))
            rows.append(["item", *who, *item, "", "", sum(p.orders for p in line.parts), len(farmers), line.packs,
                         line.packs * line.item.pack_size, _tjs(line.group_diram), _tjs(line.retail_diram),
                         _tjs(line.total_diram), _tjs(line.saving_diram)])
            for p in line.parts:
                rows.append(["pg", *who, *item, p.pg.code, p.round_id, p.orders, len(p.farmers), p.packs,
                             p.packs * line.item.pack_size, _tjs(line.group_diram), _tjs(line.retail_diram),
                             _tjs(p.total_diram), _tjs(p.saving_diram)])
        row = list(blank)
        row[0:4] = ["supplier", *who]
        row[-2:] = [_tjs(so.total_diram), _tjs(so.saving_diram)]
        rows.append(row)
    row = list(blank)
    row[0] = "total"
    row[-2:] = [_tjs(sum(o.total_diram for o in orders)), _tjs(sum(o.saving_diram for o in orders))]
    rows.append(row)
    return rows


@dataclass(frozen=True)
class StatusResult:
    """What a status change did: lines chosen, lines moved, farmers told by SMS."""

    chosen: int
    changed: int
    told: int


def parse_day(text: str) -> dt.date:
    """A pickup day typed ``YYYY-MM-DD`` (a date input); ``ValueError("ord.err.day")`` otherwise."""
    text = (text or "").strip()
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("ord.err.day") from None


def change_status(session: Session, scope: Scope, actor: Actor, round_ids: list[int], status: str, now: dt.datetime,
                  *, place: str | None = None, on: dt.date | None = None, supplier_code: str | None = None,
                  policy: Policy = DEFAULT_POLICY) -> StatusResult:
    """Move the live lines of the closed rounds ``round_ids`` (of one supplier code, optionally)
    to ``status`` (one of :data:`WEB_STATUSES`), telling each farmer concerned by one SMS in their
    language (``rounds.set_status``), with one ``order.status`` audit entry (channel of ``actor``)
    in the caller's transaction when a line moved.

    Forward only: lines already there or further are left as they are, so a second submit of
    the same change moves nothing and sends nothing (the rows are locked ``FOR UPDATE`` where the
    database can, and the notices carry dedupe keys). ``ready`` needs ``place`` (at most
    :data:`MAX_PLACE` characters) and a day ``on`` no earlier than today (local).

    Raises :class:`OutOfScope` for a round outside the scope; ``ValueError`` with a staff-words
    key: ``ord.err.no_rounds``, ``ord.err.too_many``, ``ord.err.status``, ``ord.err.not_closed``,
    ``ord.err.place``, ``ord.err.day``, ``ord.err.day_past``, ``ord.err.supplier``.
    """
    if not round_ids:
        raise ValueError("ord.err.no_rounds")
    if len(round_ids) > MAX_ROUNDS:
        raise ValueError("ord.err.too_many")
    if status not in WEB_STATUSES:
        raise ValueError("ord.err.status")
    chosen = [round_in_scope(session, scope, r) for r in round_ids]
    if any(r.status != "closed" for r in chosen):
        raise ValueError("ord.err.not_closed")
    place = " ".join((place or "").split())
    if status == "ready":
        if not place or len(place) > MAX_PLACE:
            raise ValueError("ord.err.place")
        if on is None:
            raise ValueError("ord.err.day")
        if on < rounds.local_today(now, policy):
            raise ValueError("ord.err.day_past")
    else:
        place, on = "", None
    supplier_id = None
    if supplier_code:
        from service.advice import responders

        agent = responders.by_code(session, supplier_code[:24])
        if agent is None:
            raise ValueError("ord.err.supplier")
        supplier_id = agent.id
    q = select(InputOrder).where(InputOrder.round_id.in_([r.id for r in chosen]), InputOrder.status != "cancelled")
    if supplier_id is not None:
        q = q.where(InputOrder.supplier_id == supplier_id)
    lines = list(session.scalars(q.order_by(InputOrder.id).with_for_update()))
    changed, told = rounds.set_status(session, lines, status, now, place=place or None, on=on)
    if changed:
        record(session, actor, "order.status", "order_round",
               ",".join(str(r) for r in sorted({o.round_id for o in changed})),
               after={"status": status, "lines": len(changed), "farmers_told": told,
                      "order_ids": sorted(o.id for o in changed)[:1000], "place": place or None, "on": on,
                      "supplier": supplier_code or None})
    return StatusResult(len(lines), len(changed), told)


@dataclass(frozen=True)
class SavingRow:
    """``rounds.Saving`` with the saving in whole % of the retail price (None when retail is 0)."""

    key: str
    label: str
    orders: int
    retail_diram: int
    group_diram: int
    saving_diram: int
    pct: int | None


def savings_in_scope(session: Session, scope: Scope, by: str, *, cluster_id: str | None = None,
                     pg_code: str | None = None, policy: Policy = DEFAULT_POLICY) -> tuple[list[SavingRow], SavingRow]:
    """``(rows, total)``: the savings of the scope's PGs' live lines grouped ``by`` ``farmer``,
    ``pg`` or ``cluster`` (``rounds.savings``), optionally of one cluster or PG, and their total.
    ``ValueError("ord.err.by")`` for another ``by``; :class:`OutOfScope` as :func:`rounds_in_scope`."""
    if by not in ("farmer", "pg", "cluster"):
        raise ValueError("ord.err.by")
    pgs = _filter_pgs(session, scope, cluster_id, pg_code)
    found = rounds.savings(session, by, policy=policy, pg_ids=list(pgs)) if pgs else []

    def row(s) -> SavingRow:
        pct = round(100 * s.saving_diram / s.retail_diram) if s.retail_diram else None
        return SavingRow(s.key, s.label, s.orders, s.retail_diram, s.group_diram, s.saving_diram, pct)

    total = rounds.Saving("", "", sum(s.orders for s in found), sum(s.retail_diram for s in found),
                          sum(s.group_diram for s in found), sum(s.saving_diram for s in found))
    return [row(s) for s in found], row(total)
