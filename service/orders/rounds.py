"""Collective input orders: ordering rounds per producer group, order lines, their roll-up
per cluster and supplier, status notices and the savings they bring.

* Only an **active** PG member orders (:func:`active_pg`). An order line is a number of
  whole packs of one :class:`~service.orders.catalogue.InputItem`; its unit prices
  (retail and group, diram per pack), total and saving
  (``(retail - group) * packs``) are copied when it is placed, so a later price change
  alters nothing recorded.
* Each PG has at most one **open round** (:class:`OrderRound`). The first order of a
  PG without one opens it, closing on the local day ``today + ROUND_DAYS``
  (``ORDER_ROUND_DAYS``); the EC chair may open one (``OPEN [days]``, or by USSD). Orders
  are taken until the end of ``closes_on`` (local time, ``TIMEZONE``); then
  :func:`close_due_rounds` closes it, or the chair does (``CLOSE``, or by USSD). At closing
  the chair gets the round's totals by SMS, and every farmer who ordered their lines and
  total (:func:`tell_members`).
* Running totals reach the chair at most once a local day, only when orders changed
  since the last notice (:func:`send_daily_totals`, run by the scheduler), and on
  request (``TOTALS``).
* Closed rounds roll up per cluster, supplier and item into a bulk purchase order
  (:func:`bulk_order`, :func:`write_csv`).
* Line statuses: ``placed`` (farmer confirmed; round open or waiting for purchase) →
  ``confirmed`` (supplier confirmed the bulk order) → ``procured`` → ``ready`` (for
  pickup at a place and date) → ``delivered``; or ``cancelled`` (by the farmer while the
  round is open, or by staff before delivery). Each change after closing reaches every
  farmer concerned by one SMS in their language (:func:`set_status`).

Money is integer diram; dates shown to people are local (``TIMEZONE``); times stored UTC.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.groups import membership
from service.groups.cluster import CommodityCluster
from service.db import Base, utcnow
from service.messaging.encoding import measure
from service.errors import Refusal
from service.farmers.models import Farmer
from service.advice import responders
from service.advice.responders import Responder
from service.orders.catalogue import MAX_PACKS, InputItem, number, supplier_for
from service.messaging.message import OutboundMessage, queue_sms
from service.groups.producer_group import ProducerGroup
from service.reference.render import tjs as money

FLOW = ("placed", "confirmed", "procured", "ready", "delivered")
STATUSES = (*FLOW, "cancelled")
MAX_ROUND_DAYS = 60
MAX_SMS_SEGMENTS = 2


@dataclass(frozen=True)
class Policy:
    """Round settings: ``days`` from opening to the closing day; ``timezone`` of local dates."""

    days: int = 7
    timezone: ZoneInfo = ZoneInfo("Asia/Dushanbe")


    @classmethod
    def of(cls, settings) -> Policy:
        """The policy of a :class:`service.settings.Settings` (``ORDER_ROUND_DAYS``, ``TIMEZONE``)."""
        return cls(settings.order_round_days, settings.timezone)


#: the defaults of ``config.py``, for callers given no settings
DEFAULT_POLICY = Policy()


def local_today(now: dt.datetime, policy: Policy = DEFAULT_POLICY) -> dt.date:
    """The local date (``policy.timezone``) of an aware UTC datetime."""
    return now.astimezone(policy.timezone).date()


class OrderRound(Base):
    """A PG's ordering round. ``status`` ``open``/``closed``; orders are taken until the end of
    the local day ``closes_on``; ``closed_by`` the farmer who closed it (None: deadline or staff);
    ``totals_sent_at`` when the chair last got the running totals."""

    __tablename__ = "order_round"
    __table_args__ = (
        Index("uq_order_round_open_pg", "pg_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    pg_id: Mapped[int] = mapped_column(ForeignKey("producer_group.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="SET NULL"))
    closes_on: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("farmer.id", ondelete="SET NULL"))
    totals_sent_at: Mapped[dt.datetime | None]


class InputOrder(Base):
    """One order line: ``packs`` of an item by a farmer in a round, with the unit prices
    (diram per pack) at ordering time, ``total_diram`` (group price × packs) and
    ``saving_diram`` ((retail − group) × packs); ``supplier_id`` the VAM agent (a
    :class:`~service.advice.responders.Responder`) supplying the PG's village when it was placed;
    ``status`` in :data:`STATUSES`; ``pickup_place``/``pickup_on`` once ready."""

    __tablename__ = "input_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("order_round.id"), index=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id"), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("input_item.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("responder.id", ondelete="SET NULL"), index=True)
    packs: Mapped[int]
    unit_retail_diram: Mapped[int]
    unit_group_diram: Mapped[int]
    total_diram: Mapped[int]
    saving_diram: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="placed")
    pickup_place: Mapped[str | None] = mapped_column(String(80))
    pickup_on: Mapped[dt.date | None] = mapped_column(Date)
    via: Mapped[str] = mapped_column(String(8), default="sms")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- rendering

def day(d: dt.date) -> str:
    """A local date as people read it (``12.03``)."""
    return d.strftime("%d.%m")


def _t(key: str, lang: str, **params) -> str:
    return templates_sms.text(key, lang, **params)


def _fit(head: str, parts: Iterable[str], sep: str = ", ") -> str:
    """``head`` followed by as many ``parts`` as fit :data:`MAX_SMS_SEGMENTS` SMS."""
    out, first = head, True
    for part in parts:
        candidate = f"{out}{'' if first else sep}{part}"
        if measure(candidate).segments > MAX_SMS_SEGMENTS:
            break
        out, first = candidate, False
    return out


# ---------------------------------------------------------------- rounds

def active_pg(session: Session, farmer: Farmer) -> ProducerGroup:
    """The PG the farmer is an active member of.

    Raises ``Refusal("orders.err.pending", pg=...)`` while the membership awaits approval,
    ``Refusal("orders.err.not_member")`` (how to join) without a membership.
    """
    m = membership.current(session, farmer)
    if m is None:
        raise Refusal("orders.err.not_member")
    pg = session.get(ProducerGroup, m.pg_id)
    if m.status != "active":
        raise Refusal("orders.err.pending", pg=pg.code)
    return pg


def open_round_of(session: Session, pg_id: int) -> OrderRound | None:
    """The PG's open round, or None."""
    return session.scalar(select(OrderRound).where(OrderRound.pg_id == pg_id, OrderRound.status == "open"))


def open_round(session: Session, pg: ProducerGroup, now: dt.datetime, *, days: int | None = None, policy: Policy = DEFAULT_POLICY,
               by: Farmer | None = None) -> OrderRound:
    """Open a round for ``pg`` closing on the local day ``today + days`` (default ``ROUND_DAYS``).

    Raises ``Refusal("orders.err.days", max=...)`` unless 1 ≤ days ≤ :data:`MAX_ROUND_DAYS`,
    ``Refusal("orders.err.round_open", round=..., date=...)`` when one is open and not yet due.
    """
    days = policy.days if days is None else days
    if not 1 <= days <= MAX_ROUND_DAYS:
        raise Refusal("orders.err.days", max=MAX_ROUND_DAYS)
    current = open_round_of(session, pg.id)
    if current is not None and not _is_due(current, now, policy):
        raise Refusal("orders.err.round_open", round=current.id, date=day(current.closes_on))
    if current is not None:
        close_round(session, current, now)
    rnd = OrderRound(pg_id=pg.id, status="open", opened_at=now, opened_by=by.id if by else None,
                     closes_on=local_today(now, policy) + dt.timedelta(days=days))
    session.add(rnd)
    session.flush()
    return rnd


def _is_due(rnd: OrderRound, now: dt.datetime, policy: Policy = DEFAULT_POLICY) -> bool:
    return rnd.status == "open" and local_today(now, policy) > rnd.closes_on


def round_for_order(session: Session, pg: ProducerGroup, now: dt.datetime, policy: Policy = DEFAULT_POLICY) -> OrderRound:
    """The open round an order joins: the PG's open round, or a new one (a round past its
    closing day is closed first)."""
    current = open_round_of(session, pg.id)
    if current is not None and not _is_due(current, now, policy):
        return current
    return open_round(session, pg, now, policy=policy)


def chair_of(session: Session, pg_id: int) -> Farmer | None:
    """Who gets the round notices: the PG's EC chair, else its first EC seat holder, else None."""
    seats = membership.ec_members(session, pg_id)
    return seats[0][1] if seats else None


def close_round(session: Session, rnd: OrderRound, now: dt.datetime, *, by: Farmer | None = None,
                tell_chair: bool = True) -> OrderRound:
    """Close an open round (``Refusal("orders.err.no_round")`` if it is not open) and, when
    ``tell_chair``, send the chair its totals (False: the caller answers the chair itself).
    Every farmer with live lines in the round is told by one SMS (:func:`tell_members`)."""
    if rnd.status != "open":
        raise Refusal("orders.err.no_round")
    rnd.status, rnd.closed_at, rnd.closed_by = "closed", now, by.id if by else None
    session.flush()
    chair = chair_of(session, rnd.pg_id) if tell_chair else None
    if chair is not None:
        queue_sms(session, chair.phone, totals_text(session, rnd, chair.language), kind="notice",
                  farmer_id=chair.id, language=chair.language)
    rnd.totals_sent_at = now
    tell_members(session, rnd)
    return rnd


def member_closed_text(session: Session, rnd: OrderRound, farmer: Farmer, lang: str) -> str | None:
    """The SMS telling ``farmer`` that ``rnd`` closed: their total, then ``<code> x<packs> <TJS>``
    per live line (as many as fit two SMS); None when they have no live line in it."""
    lines = [o for o in live_orders(session, [rnd.id]) if o.farmer_id == farmer.id]
    if not lines:
        return None
    pg = session.get(ProducerGroup, rnd.pg_id)
    head = _t("orders.round_closed.member", lang, round=rnd.id, pg=pg.code,
              total=money(sum(o.total_diram for o in lines), lang))
    return _fit(head + " ", (f"{session.get(InputItem, o.item_id).code} x{o.packs} {money(o.total_diram, lang)}"
                             for o in lines), "; ")


def tell_members(session: Session, rnd: OrderRound) -> int:
    """Queue one notice to every farmer with live lines in the closed round ``rnd``, in their
    language (:func:`member_closed_text`), once per farmer and round (dedupe key
    ``round-closed:<round>:<farmer>``). Returns the farmers told."""
    told = 0
    for farmer_id in dict.fromkeys(o.farmer_id for o in live_orders(session, [rnd.id])):
        farmer = session.get(Farmer, farmer_id)
        text = member_closed_text(session, rnd, farmer, farmer.language)
        key = f"round-closed:{rnd.id}:{farmer.id}"
        if text is None or session.scalar(select(OutboundMessage.id).where(OutboundMessage.dedupe_key == key)):
            continue
        queue_sms(session, farmer.phone, text, kind="notice", farmer_id=farmer.id, language=farmer.language,
                  dedupe_key=key)
        told += 1
    session.flush()
    return told


def last_closed_round(session: Session, pg_id: int) -> OrderRound | None:
    """The PG's most recently closed round, or None."""
    return session.scalar(select(OrderRound).where(OrderRound.pg_id == pg_id, OrderRound.status == "closed")
                          .order_by(OrderRound.closed_at.desc(), OrderRound.id.desc()).limit(1))


def close_due_rounds(session: Session, now: dt.datetime, policy: Policy = DEFAULT_POLICY) -> list[OrderRound]:
    """Close every open round whose closing day (local) is over; returns them. Run periodically."""
    due = [r for r in session.scalars(select(OrderRound).where(OrderRound.status == "open").order_by(OrderRound.id))
           if _is_due(r, now, policy)]
    for rnd in due:
        close_round(session, rnd, now)
    return due


@dataclass
class ItemTotal:
    """Packs and money of one item in a round (diram)."""

    item: InputItem
    packs: int = 0
    total_diram: int = 0
    saving_diram: int = 0


@dataclass
class RoundTotals:
    """A round's live orders: ``orders`` lines by ``farmers`` farmers, per item, and sums (diram)."""

    orders: int = 0
    farmers: int = 0
    items: list[ItemTotal] = field(default_factory=list)
    total_diram: int = 0
    saving_diram: int = 0


def live_orders(session: Session, round_ids: Iterable[int]) -> list[InputOrder]:
    """Order lines of the rounds that are not cancelled, by id."""
    ids = list(round_ids)
    return list(session.scalars(select(InputOrder).where(
        InputOrder.round_id.in_(ids), InputOrder.status != "cancelled").order_by(InputOrder.id))) if ids else []


def round_totals(session: Session, rnd: OrderRound) -> RoundTotals:
    """Totals of a round's live orders, items by code."""
    lines = live_orders(session, [rnd.id])
    per_item: dict[str, ItemTotal] = {}
    for o in lines:
        t = per_item.setdefault(o.item_id, ItemTotal(session.get(InputItem, o.item_id)))
        t.packs += o.packs
        t.total_diram += o.total_diram
        t.saving_diram += o.saving_diram
    return RoundTotals(len(lines), len({o.farmer_id for o in lines}), sorted(per_item.values(), key=lambda t: t.item.code),
                       sum(o.total_diram for o in lines), sum(o.saving_diram for o in lines))


def totals_text(session: Session, rnd: OrderRound, lang: str) -> str:
    """The chair's SMS: round, state, farmers, orders, sum, then ``<code> x<packs>`` per item
    (as many as fit two SMS)."""
    pg = session.get(ProducerGroup, rnd.pg_id)
    t = round_totals(session, rnd)
    key = "orders.totals.open" if rnd.status == "open" else "orders.totals.closed"
    head = _t(key, lang, pg=pg.code, round=rnd.id, date=day(rnd.closes_on), farmers=t.farmers, orders=t.orders,
              total=money(t.total_diram, lang))
    return _fit(head + (" " if t.items else ""), (f"{i.item.code} x{i.packs}" for i in t.items))


def send_daily_totals(session: Session, now: dt.datetime, policy: Policy = DEFAULT_POLICY) -> int:
    """Send each open round's chair the running totals, at most once per local day and only
    when orders were placed or cancelled since the last notice. Returns SMS queued."""
    sent = 0
    for rnd in session.scalars(select(OrderRound).where(OrderRound.status == "open").order_by(OrderRound.id)):
        last = rnd.totals_sent_at
        if last is not None and local_today(last, policy) >= local_today(now, policy):
            continue
        changed = session.scalar(select(InputOrder.id).where(
            InputOrder.round_id == rnd.id, *([InputOrder.updated_at > last] if last else [])).limit(1))
        chair = chair_of(session, rnd.pg_id)
        if changed is None or chair is None:
            continue
        queue_sms(session, chair.phone, totals_text(session, rnd, chair.language), kind="notice",
                  farmer_id=chair.id, language=chair.language)
        rnd.totals_sent_at = now
        sent += 1
    session.flush()
    return sent


# ---------------------------------------------------------------- orders

def place_order(session: Session, farmer: Farmer, item: InputItem, packs: int, now: dt.datetime,
                *, via: str, policy: Policy = DEFAULT_POLICY) -> InputOrder:
    """Place an order line for an active member (``via`` ``sms``/``ussd``); returns it, flushed.

    Raises ``Refusal``: those of :func:`active_pg`, ``orders.err.item_inactive``. ``packs``
    must already be valid (``input_catalogue.parse_packs``), else ``ValueError``.
    """
    if not 1 <= packs <= MAX_PACKS:
        raise ValueError(f"packs must be 1..{MAX_PACKS}")
    pg = active_pg(session, farmer)
    if not item.active:
        raise Refusal("orders.err.item_inactive", code=item.code)
    rnd = round_for_order(session, pg, now, policy)
    supplier = supplier_for(session, item, pg.village_id)
    order = InputOrder(round_id=rnd.id, farmer_id=farmer.id, item_id=item.id,
                       supplier_id=supplier.id if supplier else None, packs=packs,
                       unit_retail_diram=item.retail_diram, unit_group_diram=item.group_diram,
                       total_diram=item.group_diram * packs, saving_diram=item.saving_diram * packs,
                       status="placed", via=via, created_at=now, updated_at=now)
    session.add(order)
    session.flush()
    return order


def receipt_text(session: Session, order: InputOrder, lang: str) -> str:
    """The SMS receipt of a placed order: number, item, packs, total, saving, closing day, how to cancel."""
    item = session.get(InputItem, order.item_id)
    rnd = session.get(OrderRound, order.round_id)
    return _t("orders.receipt", lang, order=order.id, code=item.code, packs=order.packs,
              total=money(order.total_diram, lang), saving=money(order.saving_diram, lang), date=day(rnd.closes_on))


def find_own_order(session: Session, farmer: Farmer, code: str) -> InputOrder:
    """The farmer's order with number ``code``; ``Refusal("orders.err.unknown_order", order=...)`` otherwise."""
    code = (code or "").strip().lstrip("#№")
    order = session.get(InputOrder, int(code)) if code.isascii() and code.isdigit() and len(code) <= 9 else None
    if order is None or order.farmer_id != farmer.id:
        raise Refusal("orders.err.unknown_order", order=code[:12])
    return order


def cancel_order(session: Session, farmer: Farmer, code: str, now: dt.datetime, policy: Policy = DEFAULT_POLICY) -> InputOrder:
    """The farmer cancels their own ``placed`` order while its round is open.

    Raises ``Refusal``: ``orders.err.unknown_order``, ``orders.err.cancelled`` (already),
    ``orders.err.too_late`` (round closed).
    """
    order = find_own_order(session, farmer, code)
    if order.status == "cancelled":
        raise Refusal("orders.err.cancelled", order=order.id)
    rnd = session.get(OrderRound, order.round_id)
    if order.status != "placed" or rnd.status != "open" or _is_due(rnd, now, policy):
        raise Refusal("orders.err.too_late", order=order.id)
    order.status, order.updated_at = "cancelled", now
    session.flush()
    return order


def orders_of(session: Session, farmer: Farmer, limit: int = 10) -> list[InputOrder]:
    """The farmer's orders not yet delivered or cancelled, newest first (at most ``limit``)."""
    return list(session.scalars(select(InputOrder).where(
        InputOrder.farmer_id == farmer.id, InputOrder.status.in_(FLOW[:-1]))
        .order_by(InputOrder.id.desc()).limit(limit)))


def order_line(session: Session, order: InputOrder, lang: str) -> str:
    """One order as listed to its farmer: ``17 ONJ1 x2 52,00 placed`` (state in ``lang``)."""
    item = session.get(InputItem, order.item_id)
    return _t("orders.line", lang, order=order.id, code=item.code, packs=order.packs,
              total=money(order.total_diram, lang), state=_t(f"orders.state.{order.status}", lang))


def my_orders_text(session: Session, farmer: Farmer, lang: str) -> str:
    """The MYORDERS reply: the farmer's open orders, newest first, within two SMS."""
    found = orders_of(session, farmer)
    if not found:
        return _t("orders.mine.none", lang)
    return _fit(_t("orders.mine.head", lang) + " ", (order_line(session, o, lang) for o in found), "; ")


# ---------------------------------------------------------------- statuses

def select_orders(session: Session, *, round_ids: Iterable[int] = (), cluster_id: str | None = None,
                  supplier_code: str | None = None, item_code: str | None = None) -> list[InputOrder]:
    """Live order lines of closed rounds chosen by round ids and/or cluster, optionally of one
    supplier and one item code. ``ValueError`` for an unknown cluster, supplier or item."""
    q = select(InputOrder).join(OrderRound, OrderRound.id == InputOrder.round_id).where(
        OrderRound.status == "closed", InputOrder.status != "cancelled")
    ids = list(round_ids)
    if ids:
        q = q.where(OrderRound.id.in_(ids))
    if cluster_id is not None:
        if session.get(CommodityCluster, cluster_id) is None:
            raise ValueError(f"unknown cluster {cluster_id!r}")
        q = q.join(ProducerGroup, ProducerGroup.id == OrderRound.pg_id).where(ProducerGroup.cluster_id == cluster_id)
    if supplier_code is not None:
        agent = responders.by_code(session, supplier_code)
        if agent is None:
            raise ValueError(f"unknown supplier {supplier_code!r}")
        q = q.where(InputOrder.supplier_id == agent.id)
    if item_code is not None:
        item = session.scalar(select(InputItem).where(InputItem.code == item_code.upper()))
        if item is None:
            raise ValueError(f"unknown item {item_code!r}")
        q = q.where(InputOrder.item_id == item.id)
    return list(session.scalars(q.order_by(InputOrder.id)))


def _allowed(current: str, new: str) -> bool:
    if new == "cancelled":
        return current not in ("delivered", "cancelled")
    if current not in FLOW:
        return False
    return FLOW.index(new) > FLOW.index(current) or new == current == "ready"


def _status_text(status: str, lang: str, ids: list[int], params: dict) -> str:
    """The status notice naming the order numbers ``ids``, as many as fit :data:`MAX_SMS_SEGMENTS`
    SMS (the rest shown as ``...``, which keeps a GSM-7 text in GSM-7)."""
    shown = len(ids)
    while True:
        numbers = ", ".join(str(i) for i in ids[:shown]) + ("..." if shown < len(ids) else "")
        text = _t(f"orders.status.{status}", lang, orders=numbers, **params)
        if shown <= 1 or measure(text).segments <= MAX_SMS_SEGMENTS:
            return text
        shown -= 1


def set_status(session: Session, orders: Iterable[InputOrder], status: str, now: dt.datetime, *,
               place: str | None = None, on: dt.date | None = None) -> tuple[list[InputOrder], int]:
    """Move order lines to ``status`` and tell each farmer concerned by one SMS in their language.

    Lines that cannot move there (backwards, or already delivered/cancelled) are left as
    they are. ``ready`` needs the pickup ``place`` and day ``on`` (a ready line may be
    re-announced with a new place or day; the same place and day again changes nothing, so a
    repeated request tells nobody twice). Each farmer's notice carries a dedupe key of the lines,
    status, place and day, so the outbox refuses a second copy. Returns (lines changed, farmers told).
    ``ValueError`` for an unknown status or ``ready`` without place and day.
    """
    if status not in STATUSES or status == "placed":
        raise ValueError(f"status must be one of {STATUSES[1:]}")
    if status == "ready" and (not (place or "").strip() or on is None):
        raise ValueError("ready needs a pickup place and day")
    place = (place or "").strip()[:80] or None
    changed = [o for o in orders if _allowed(o.status, status)
               and not (o.status == "ready" and (o.pickup_place, o.pickup_on) == (place, on))]
    per_farmer: dict[int, list[InputOrder]] = defaultdict(list)
    for o in changed:
        o.status, o.updated_at = status, now
        if status == "ready":
            o.pickup_place, o.pickup_on = place, on
        per_farmer[o.farmer_id].append(o)
    for farmer_id, lines in per_farmer.items():
        farmer = session.get(Farmer, farmer_id)
        params = {"place": lines[0].pickup_place, "date": day(on)} if status == "ready" else {}
        text = _status_text(status, farmer.language, [o.id for o in lines], params)
        ids = ",".join(str(o.id) for o in lines)
        digest = hashlib.sha1(f"{ids}|{place}|{on}".encode()).hexdigest()[:16]
        queue_sms(session, farmer.phone, text, kind="notice", farmer_id=farmer.id, language=farmer.language,
                  dedupe_key=f"order-status:{status}:{farmer.id}:{lines[0].id}:{digest}")
    session.flush()
    return changed, len(per_farmer)


# ---------------------------------------------------------------- bulk purchase order

@dataclass
class PgLine:
    """One PG round's part of a bulk line (money in diram)."""

    pg: ProducerGroup
    round_id: int
    orders: int = 0
    farmers: set = field(default_factory=set)
    packs: int = 0
    total_diram: int = 0
    saving_diram: int = 0


@dataclass
class BulkLine:
    """One supplier × item × group price of a cluster's bulk purchase order, with its PG parts."""

    supplier: Responder | None
    item: InputItem
    group_diram: int
    retail_diram: int
    parts: list[PgLine] = field(default_factory=list)

    @property
    def packs(self) -> int:
        """Packs over every PG."""
        return sum(p.packs for p in self.parts)

    @property
    def total_diram(self) -> int:
        """Group price × packs over every PG (diram)."""
        return sum(p.total_diram for p in self.parts)

    @property
    def saving_diram(self) -> int:
        """(retail − group) × packs over every PG (diram)."""
        return sum(p.saving_diram for p in self.parts)


def export_rounds(session: Session, cluster_id: str, *, round_ids: Iterable[int] = (),
                  since: dt.date | None = None, policy: Policy = DEFAULT_POLICY) -> list[OrderRound]:
    """Closed rounds of the cluster's PGs to export: the given ids, else those closed on or after
    ``since`` (local), else those with lines still ``placed`` (not yet sent to a supplier).
    ``ValueError`` for an unknown cluster or a round id that is not a closed round of it."""
    if session.get(CommodityCluster, cluster_id) is None:
        raise ValueError(f"unknown cluster {cluster_id!r}")
    rounds = list(session.scalars(select(OrderRound).join(ProducerGroup, ProducerGroup.id == OrderRound.pg_id).where(
        ProducerGroup.cluster_id == cluster_id, OrderRound.status == "closed").order_by(OrderRound.id)))
    ids = list(round_ids)
    if ids:
        missing = set(ids) - {r.id for r in rounds}
        if missing:
            raise ValueError(f"not closed rounds of {cluster_id}: {sorted(missing)}")
        return [r for r in rounds if r.id in ids]
    if since is not None:
        return [r for r in rounds if local_today(r.closed_at, policy) >= since]
    placed = set(session.scalars(select(InputOrder.round_id).where(InputOrder.status == "placed")))
    return [r for r in rounds if r.id in placed]


def bulk_order(session: Session, rounds: Iterable[OrderRound]) -> list[BulkLine]:
    """Roll the rounds' live lines up per supplier (None: no agent serves the village), item and
    group price, each with one part per PG round; sorted by supplier code, item code, PG code."""
    rounds = {r.id: r for r in rounds}
    lines: dict[tuple, BulkLine] = {}
    for o in live_orders(session, rounds):
        supplier = session.get(Responder, o.supplier_id) if o.supplier_id else None
        key = (supplier.code if supplier else "", session.get(InputItem, o.item_id).code, o.unit_group_diram)
        line = lines.get(key)
        if line is None:
            line = lines[key] = BulkLine(supplier, session.get(InputItem, o.item_id), o.unit_group_diram,
                                         o.unit_retail_diram)
        rnd = rounds[o.round_id]
        part = next((p for p in line.parts if p.round_id == rnd.id), None)
        if part is None:
            part = PgLine(session.get(ProducerGroup, rnd.pg_id), rnd.id)
            line.parts.append(part)
        part.orders += 1
        part.farmers.add(o.farmer_id)
        part.packs += o.packs
        part.total_diram += o.total_diram
        part.saving_diram += o.saving_diram
    for line in lines.values():
        line.parts.sort(key=lambda p: (p.pg.code, p.round_id))
    return [lines[k] for k in sorted(lines)]


CSV_COLUMNS = ("row", "cluster", "supplier_code", "supplier", "supplier_phone", "item_code", "item", "unit",
               "pack_size", "pg_code", "round", "orders", "farmers", "packs", "quantity", "group_price_tjs",
               "retail_price_tjs", "total_tjs", "saving_tjs")


def _tjs(diram: int) -> str:
    return money(diram, "en")


def write_csv(lines: list[BulkLine], cluster_id: str, out: TextIO) -> None:
    """Write the bulk purchase order as CSV (UTF-8 text, header :data:`CSV_COLUMNS`).

    Per supplier × item one ``item`` row (the quantity to buy, every PG together), followed
    by its ``pg`` rows (one per PG round: who gets how much); one ``total`` row last.
    Prices per pack and totals in TJS with a decimal point; ``quantity`` = packs × pack size
    in ``unit``; ``supplier_code`` empty when no agent serves the village.
    """
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)

    def row(kind, line, pg="", rnd="", orders=0, farmers=0, packs=0, total=0, saving=0):
        supplier = line.supplier
        return [kind, cluster_id, supplier.code if supplier else "", supplier.name if supplier else "",
                supplier.phone if supplier else "", line.item.code, line.item.name("en"), line.item.unit,
                number(line.item.pack_size), pg, rnd, orders, farmers, packs, number(packs * line.item.pack_size),
                _tjs(line.group_diram), _tjs(line.retail_diram), _tjs(total), _tjs(saving)]

    for line in lines:
        farmers = set().union(*(p.farmers for p in line.parts))
        w.writerow(row("item", line, orders=sum(p.orders for p in line.parts), farmers=len(farmers),
                       packs=line.packs, total=line.total_diram, saving=line.saving_diram))
        for p in line.parts:
            w.writerow(row("pg", line, p.pg.code, p.round_id, p.orders, len(p.farmers), p.packs, p.total_diram,
                           p.saving_diram))
    all_farmers = set().union(*(p.farmers for line in lines for p in line.parts)) if lines else set()
    w.writerow(["total", cluster_id, *[""] * 9, sum(p.orders for line in lines for p in line.parts),
                len(all_farmers), sum(line.packs for line in lines), "", "", "",
                _tjs(sum(line.total_diram for line in lines)), _tjs(sum(line.saving_diram for line in lines))])


# ---------------------------------------------------------------- savings

@dataclass(frozen=True)
class Saving:
    """Savings of one farmer, PG or cluster: ``key`` (farmer id, PG code or cluster id),
    ``label`` (name), live ``orders``, and diram at retail, at group price and saved."""

    key: str
    label: str
    orders: int
    retail_diram: int
    group_diram: int
    saving_diram: int


def savings(session: Session, by: str, *, cluster_id: str | None = None, since: dt.date | None = None,
            policy: Policy = DEFAULT_POLICY, pg_ids: Iterable[int] | None = None) -> list[Saving]:
    """Recorded savings of live (not cancelled) order lines, grouped ``by`` ``farmer``, ``pg`` or
    ``cluster``, optionally of one cluster, of the PGs ``pg_ids`` (a staff scope's; None: every
    PG) and of lines placed on or after ``since`` (local).
    Sorted by key. ``ValueError`` for another ``by``."""
    if by not in ("farmer", "pg", "cluster"):
        raise ValueError("by must be farmer, pg or cluster")
    q = select(InputOrder, OrderRound, ProducerGroup, Farmer).join(
        OrderRound, OrderRound.id == InputOrder.round_id).join(
        ProducerGroup, ProducerGroup.id == OrderRound.pg_id).join(
        Farmer, Farmer.id == InputOrder.farmer_id).where(InputOrder.status != "cancelled")
    if cluster_id is not None:
        q = q.where(ProducerGroup.cluster_id == cluster_id)
    if pg_ids is not None:
        q = q.where(ProducerGroup.id.in_(sorted(pg_ids)))
    sums: dict[str, list] = {}
    for o, _rnd, pg, farmer in session.execute(q.order_by(InputOrder.id)):
        if since is not None and local_today(o.created_at, policy) < since:
            continue
        key, label = {"farmer": (str(farmer.id), farmer.name), "pg": (pg.code, pg.name),
                      "cluster": (pg.cluster_id or "", pg.cluster_id or "")}[by]
        acc = sums.setdefault(key, [label, 0, 0, 0, 0])
        acc[1] += 1
        acc[2] += o.unit_retail_diram * o.packs
        acc[3] += o.total_diram
        acc[4] += o.saving_diram
    return [Saving(k, *sums[k]) for k in sorted(sums, key=lambda k: (len(k), k) if by == "farmer" else k)]
