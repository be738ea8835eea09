"""What needs a staff member today, within their scope: the home page's items (``docs/staff.md`` §19).

Each item is counted by one set-based query (a window ``count(*) OVER ()`` beside the few oldest or
most urgent rows; no loop over PGs) and returned as an :class:`Item`: a ``key`` (the words and the
link of the page are the caller's), the ``count``, optional sub-counts (``extra``) and up to
``limit`` :class:`Entry` rows. Every function takes ``(session, scope, now)`` (``now`` an aware UTC
datetime; local dates are those of ``zone``, Dushanbe by default) and reads only.

| Item | What is counted | Entries |
|---|---|---|
| ``join_requests`` | pending memberships of the scope's PGs | oldest request first |
| ``questions`` | open farmers' questions of the scope's farmers (``extra``: ``escalated``, sent past the VAM agent; ``unrouted``, nobody serves the farmer) | highest level first, then oldest |
| ``rounds_closing`` | open order rounds of the scope's PGs closing within ``days`` local days (or overdue) | soonest first |
| ``rounds_to_order`` | closed rounds with order lines still ``placed`` (not yet ordered from the supplier) | oldest closing first |
| ``messages`` | outbox rows ``held`` (any age) or ``failed`` within :data:`FAILED_WITHIN`, of the scope's farmers (an administrator: every row) (``extra``: ``held``, ``failed``) | newest change first |
| ``gateway`` | SMS gateways in an outage (``service.messaging.gateway_state``) | each gateway |
| ``alert_drafts`` | SMS ``ALERT`` previews waiting for their ``ALERT OK`` (``FormDraft`` of kind ``alert``, younger than ``confirm.CONFIRM_WITHIN``): the account's phone; an administrator every phone | newest first |
| ``broadcasts_soon`` | broadcasts still ``scheduled`` to go within ``hours`` (or overdue) that concern the scope | soonest first |
| ``stale_prices`` | markets of the scope with no price within :data:`STALE_DAYS` local days | oldest price first (none first) |

:data:`ROLE_ITEMS` says which items each role sees (:func:`for_account` builds them).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, false, func, or_, select
from sqlalchemy.orm import Session

from service.staff.scope import Scope

DUSHANBE = ZoneInfo("Asia/Dushanbe")
#: how many entries an item shows under its count
LIMIT = 3
#: a failed message stays on the home page this long after it failed
FAILED_WITHIN = dt.timedelta(hours=24)
#: rounds closing within this many local days (today included) are shown
CLOSING_DAYS = 3
#: broadcasts scheduled within this many hours are shown
SOON_HOURS = 24
#: a market whose newest price is older than this many local days is stale (the weekly digest)
STALE_DAYS = 7
#: the questions' text is cut to this many characters on the page
QUESTION_CHARS = 80

#: the items each role sees, in the page's order (an administrator sees them all)
ROLE_ITEMS: dict[str, tuple[str, ...]] = {
    "admin": ("join_requests", "questions", "rounds_closing", "rounds_to_order", "gateway", "messages",
              "alert_drafts", "broadcast_drafts", "broadcasts_soon", "stale_prices"),
    "extension_officer": ("join_requests", "questions", "rounds_closing", "rounds_to_order", "gateway", "messages",
                          "alert_drafts", "broadcast_drafts", "broadcasts_soon"),
    "cluster_coordinator": ("join_requests", "questions", "rounds_closing", "rounds_to_order", "alert_drafts",
                            "broadcast_drafts", "broadcasts_soon"),
    "vam_agent": ("questions", "rounds_closing", "rounds_to_order", "alert_drafts", "broadcast_drafts"),
    "pg_leader": ("join_requests", "rounds_closing", "rounds_to_order"),
    "market_reporter": ("stale_prices",),
}


@dataclass(frozen=True)
class Entry:
    """One row under an item. ``title``: what it is (a farmer's name, a PG code, a market code, a
    question's text); ``pg_code``, ``farmer_code``, ``market_code``, ``broadcast_id``: what it links
    to (None: nothing); ``at``: its time (aware UTC) and ``day`` its local date, when it has them;
    ``level``: a question's escalation level (0 VAM agent, 1 lead farmer, 2 extension; None: not
    routed); ``note``: a short detail (a failure reason, a round's order lines, a gateway's error);
    ``status``: a message's outbox status (``held``, ``failed``)."""

    title: str
    pg_code: str | None = None
    farmer_code: str | None = None
    market_code: str | None = None
    broadcast_id: int | None = None
    at: dt.datetime | None = None
    day: dt.date | None = None
    level: int | None = None
    note: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Item:
    """One thing that needs the user: ``key`` (an item name of :data:`ROLE_ITEMS`), ``count`` of
    rows, ``extra`` sub-counts by name, and the first ``entries``."""

    key: str
    count: int
    entries: tuple[Entry, ...] = ()
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Today:
    """The home page's items for one account, in order; ``empty`` when none has anything."""

    items: tuple[Item, ...]

    @property
    def empty(self) -> bool:
        return not any(i.count for i in self.items)


def _local(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    return now.astimezone(zone).date()


def _item(key: str, rows, entry, extra: tuple[str, ...] = ()) -> Item:
    """An :class:`Item` from rows whose last columns are ``total`` (and the ``extra`` sums)."""
    rows = list(rows)
    if not rows:
        return Item(key, 0, (), {name: 0 for name in extra})
    first = rows[0]
    return Item(key, int(first.total), tuple(entry(r) for r in rows),
                {name: int(getattr(first, name) or 0) for name in extra})


def join_requests(session: Session, scope: Scope, now: dt.datetime, *, limit: int = LIMIT) -> Item:
    """Pending join requests of the PGs in ``scope``: their number and the ``limit`` oldest
    (applicant's name and code, PG code, ``at`` = requested)."""
    from service.farmers.models import Farmer
    from service.groups.membership import Membership
    from service.groups.producer_group import ProducerGroup

    rows = session.execute(
        select(Farmer.name, Farmer.code.label("farmer_code"), ProducerGroup.code.label("pg_code"),
               Membership.requested_at, func.count().over().label("total"))
        .join(Farmer, Farmer.id == Membership.farmer_id).join(ProducerGroup, ProducerGroup.id == Membership.pg_id)
        .where(Membership.status == "pending", scope.pgs())
        .order_by(Membership.requested_at, Membership.id).limit(limit))
    return _item("join_requests", rows, lambda r: Entry(r.name, pg_code=r.pg_code, farmer_code=r.farmer_code,
                                                        at=r.requested_at))


def questions(session: Session, scope: Scope, now: dt.datetime, *, limit: int = LIMIT) -> Item:
    """Open questions of the farmers in ``scope``: their number, how many went past the first
    level (``escalated``: level ≥ 1) and how many nobody serves (``unrouted``), and the ``limit``
    most urgent (highest level first, unrouted ones first of all; then oldest): text cut to
    :data:`QUESTION_CHARS`, farmer code, ``at`` = asked, ``level``."""
    from service.advice.questions import Question
    from service.farmers.models import Farmer

    urgency = case((Question.level.is_(None), 99), else_=Question.level)
    rows = session.execute(
        select(Question.text, Question.asked_at, Question.level, Farmer.code.label("farmer_code"),
               func.count().over().label("total"),
               func.sum(case((Question.level >= 1, 1), else_=0)).over().label("escalated"),
               func.sum(case((Question.level.is_(None), 1), else_=0)).over().label("unrouted"))
        .join(Farmer, Farmer.id == Question.farmer_id)
        .where(Question.status == "open", scope.farmers())
        .order_by(urgency.desc(), Question.asked_at, Question.id).limit(limit))

    def entry(r) -> Entry:
        text = r.text if len(r.text) <= QUESTION_CHARS else r.text[:QUESTION_CHARS - 1] + "…"
        return Entry(text, farmer_code=r.farmer_code, at=r.asked_at, level=r.level)

    return _item("questions", rows, entry, ("escalated", "unrouted"))


def _live_lines(round_id, statuses: tuple[str, ...]):
    from service.orders.rounds import InputOrder

    return (select(func.count()).select_from(InputOrder)
            .where(InputOrder.round_id == round_id, InputOrder.status.in_(statuses)).scalar_subquery())


def rounds_closing(session: Session, scope: Scope, now: dt.datetime, *, days: int = CLOSING_DAYS,
                   limit: int = LIMIT, zone: ZoneInfo = DUSHANBE) -> Item:
    """Open order rounds of the PGs in ``scope`` whose closing day (local) is within ``days`` days
    of today (today counts as the first; an overdue round not closed yet too): their number and the
    ``limit`` soonest (PG code, ``day`` = closing day, ``note`` = order lines placed)."""
    from service.groups.producer_group import ProducerGroup
    from service.orders.rounds import OrderRound

    last = _local(now, zone) + dt.timedelta(days=max(1, days) - 1)
    lines = _live_lines(OrderRound.id, ("placed",)).label("lines")
    rows = session.execute(
        select(ProducerGroup.code.label("pg_code"), OrderRound.closes_on, lines, func.count().over().label("total"))
        .join(ProducerGroup, ProducerGroup.id == OrderRound.pg_id)
        .where(OrderRound.status == "open", OrderRound.closes_on <= last, scope.pgs())
        .order_by(OrderRound.closes_on, ProducerGroup.code).limit(limit))
    return _item("rounds_closing", rows, lambda r: Entry(r.pg_code, pg_code=r.pg_code, day=r.closes_on,
                                                         note=str(r.lines)))


def rounds_to_order(session: Session, scope: Scope, now: dt.datetime, *, limit: int = LIMIT) -> Item:
    """Closed rounds of the PGs in ``scope`` with order lines still ``placed`` (not yet ordered
    from the supplier): their number and the ``limit`` closed longest ago (PG code, ``at`` =
    closed, ``note`` = the lines waiting)."""
    from service.groups.producer_group import ProducerGroup
    from service.orders.rounds import InputOrder, OrderRound

    lines = _live_lines(OrderRound.id, ("placed",)).label("lines")
    rows = session.execute(
        select(ProducerGroup.code.label("pg_code"), OrderRound.closed_at, lines, func.count().over().label("total"))
        .join(ProducerGroup, ProducerGroup.id == OrderRound.pg_id)
        .where(OrderRound.status == "closed", scope.pgs(),
               exists().where(InputOrder.round_id == OrderRound.id, InputOrder.status == "placed"))
        .order_by(OrderRound.closed_at, OrderRound.id).limit(limit))
    return _item("rounds_to_order", rows, lambda r: Entry(r.pg_code, pg_code=r.pg_code, at=r.closed_at,
                                                          note=str(r.lines)))


def messages(session: Session, scope: Scope, now: dt.datetime, *, limit: int = LIMIT) -> Item:
    """Outbox rows ``held`` (waiting for a person's review, any age) or ``failed`` within
    :data:`FAILED_WITHIN` before ``now`` and not made good since (no later message to the same
    phone delivered, e.g. a broadcast's resend), to the farmers of ``scope`` (an administrator:
    every row, staff phones too): their number, ``held`` and ``failed`` apart, and the ``limit``
    latest changed (the farmer's name, else the phone masked; ``status``; ``note`` = the reason)."""
    from service.farmers.models import Farmer
    from service.logs import mask_phone
    from service.messaging.message import OutboundMessage

    from sqlalchemy.orm import aliased

    since = now - FAILED_WITHIN
    later = aliased(OutboundMessage)
    made_good = exists().where(later.phone == OutboundMessage.phone, later.status == "delivered",
                               later.created_at > OutboundMessage.created_at)
    wanted = or_(OutboundMessage.status == "held",
                 (OutboundMessage.status == "failed") & (OutboundMessage.updated_at >= since) & ~made_good)
    q = (select(OutboundMessage.phone, OutboundMessage.status, OutboundMessage.failure_reason, OutboundMessage.kind,
                OutboundMessage.updated_at, Farmer.name, Farmer.code.label("farmer_code"),
                func.count().over().label("total"),
                func.sum(case((OutboundMessage.status == "held", 1), else_=0)).over().label("held"),
                func.sum(case((OutboundMessage.status == "failed", 1), else_=0)).over().label("failed"))
         .where(wanted))
    if scope.everything:
        q = q.outerjoin(Farmer, Farmer.id == OutboundMessage.farmer_id)
    else:
        q = q.join(Farmer, Farmer.id == OutboundMessage.farmer_id).where(scope.farmers())
    rows = session.execute(q.order_by(OutboundMessage.updated_at.desc(), OutboundMessage.id.desc()).limit(limit))

    def entry(r) -> Entry:
        return Entry(r.name or mask_phone(r.phone), farmer_code=r.farmer_code, at=r.updated_at,
                     note=(r.failure_reason or "")[:120] or None, status=r.status)

    return _item("messages", rows, entry, ("held", "failed"))


def gateway(session: Session, scope: Scope, now: dt.datetime) -> Item:
    """SMS gateways in an outage (``outage_since`` set): the whole queue waits for them, whatever
    the scope. Entries: the gateway, ``at`` = outage start, ``note`` = the latest error."""
    from service.messaging.gateway_state import GatewayState

    rows = session.execute(
        select(GatewayState.gateway, GatewayState.outage_since, GatewayState.last_error,
               func.count().over().label("total"))
        .where(GatewayState.outage_since.is_not(None)).order_by(GatewayState.gateway))
    return _item("gateway", rows, lambda r: Entry(r.gateway, at=r.outage_since, note=(r.last_error or "")[:120]))


def alert_drafts(session: Session, scope: Scope, now: dt.datetime, *, phone: str | None = None,
                 limit: int = LIMIT) -> Item:
    """SMS ``ALERT`` previews waiting for their ``ALERT OK`` (made within ``CONFIRM_WITHIN`` before
    ``now``): the account's ``phone``'s (none without a phone); an administrator sees every phone's.
    Entries: the alert's target as typed, ``at`` = previewed, ``note`` = its text's start."""
    from service.broadcasts.sms import ALERT_DRAFT
    from service.sms.confirm import CONFIRM_WITHIN
    from service.ussd.session import FormDraft

    if not scope.everything and not phone:
        return Item("alert_drafts", 0)
    q = (select(FormDraft.data, FormDraft.updated_at, func.count().over().label("total"))
         .where(FormDraft.kind == ALERT_DRAFT, FormDraft.updated_at >= now - CONFIRM_WITHIN))
    if not scope.everything:
        q = q.where(FormDraft.phone == phone)
    rows = session.execute(q.order_by(FormDraft.updated_at.desc(), FormDraft.id.desc()).limit(limit))

    def entry(r) -> Entry:
        data = r.data or {}
        return Entry(str(data.get("target") or "-")[:40], at=r.updated_at, note=str(data.get("text") or "")[:60])

    return _item("alert_drafts", rows, entry)


def _concerns(audience: dict, created_by: str, scope: Scope, phone: str | None, pg_codes: frozenset) -> bool:
    """True when a broadcast of ``audience`` (``Audience.as_dict``) made by ``created_by`` concerns
    an account of ``scope``: made from its phone, or aimed at one of its districts, clusters or PGs."""
    if scope.everything or (phone and created_by == phone):
        return True
    return bool(set(audience.get("districts", ())) & scope.district_ids
                or set(audience.get("clusters", ())) & scope.cluster_ids
                or set(audience.get("pgs", ())) & pg_codes)


def broadcast_drafts(session: Session, scope: Scope, now: dt.datetime, *, limit: int = LIMIT) -> Item:
    """Broadcasts composed and previewed on the web but not confirmed, that ``scope`` sees
    (``service.broadcasts.staff.awaiting_confirmation``): their number and the ``limit`` oldest
    (``title`` = the first text, ``broadcast_id``, ``at`` = composed)."""
    from service.broadcasts.staff import awaiting_confirmation

    drafts = awaiting_confirmation(session, scope)

    def entry(b) -> Entry:
        texts = b.texts or {}
        first = texts.get("tg") or next(iter(texts.values()), "")
        return Entry(str(first)[:60], broadcast_id=b.id, at=b.created_at, note=b.kind)

    return Item("broadcast_drafts", len(drafts), tuple(entry(b) for b in drafts[:limit]))


def broadcasts_soon(session: Session, scope: Scope, now: dt.datetime, *, phone: str | None = None,
                    hours: int = SOON_HOURS, limit: int = LIMIT) -> Item:
    """Broadcasts and alerts still ``scheduled`` to go before ``now + hours`` (overdue ones too)
    that concern ``scope`` (made from ``phone``, or aimed at a district, cluster or PG of it; an
    administrator: all): their number and the ``limit`` soonest (``title`` = the first text,
    ``broadcast_id``, ``at`` = send time, ``note`` = kind).

    One query for the broadcasts due (a handful a day: the audience, a JSON column, is matched
    here), and one for the scope's PG codes only when one of them names PGs."""
    from service.broadcasts.broadcast import Broadcast
    from service.groups.producer_group import ProducerGroup

    found = session.execute(
        select(Broadcast.id, Broadcast.kind, Broadcast.texts, Broadcast.audience, Broadcast.created_by,
               Broadcast.send_at)
        .where(Broadcast.status == "scheduled", Broadcast.send_at <= now + dt.timedelta(hours=hours))
        .order_by(Broadcast.send_at, Broadcast.id)).all()
    codes: frozenset = frozenset()
    if not scope.everything and scope.pg_ids and any((b.audience or {}).get("pgs") for b in found):
        codes = frozenset(session.scalars(select(ProducerGroup.code).where(scope.pgs())))
    mine = [b for b in found if _concerns(b.audience or {}, b.created_by, scope, phone, codes)]

    def entry(b) -> Entry:
        texts = b.texts or {}
        first = texts.get("tg") or next(iter(texts.values()), "")
        return Entry(str(first)[:60], broadcast_id=b.id, at=b.send_at, note=b.kind)

    return Item("broadcasts_soon", len(mine), tuple(entry(b) for b in mine[:limit]))


def stale_prices(session: Session, scope: Scope, now: dt.datetime, *, days: int = STALE_DAYS,
                 limit: int = LIMIT + 2, zone: ZoneInfo = DUSHANBE) -> Item:
    """Markets of ``scope`` whose newest price (any crop) is older than ``days`` local days before
    today, or that have none: their number and the ``limit`` most stale (never priced first):
    market code and name key, ``day`` = the newest price's day (None: never)."""
    from service.prices.market import Market, MarketPrice

    newest = (select(MarketPrice.market_id, func.max(MarketPrice.observed_on).label("newest"))
              .group_by(MarketPrice.market_id).subquery())
    cutoff = _local(now, zone) - dt.timedelta(days=days)
    q = (select(Market.code, Market.id, newest.c.newest, func.count().over().label("total"))
         .outerjoin(newest, newest.c.market_id == Market.id)
         .where(or_(newest.c.newest.is_(None), newest.c.newest < cutoff)))
    if not scope.everything:
        q = q.where(Market.id.in_(sorted(scope.market_ids)) if scope.market_ids else false())
    rows = session.execute(q.order_by(newest.c.newest.is_not(None), newest.c.newest, Market.code).limit(limit))

    def entry(r) -> Entry:
        day = r.newest
        if isinstance(day, str):  # SQLite gives an aggregate's date back as text
            day = dt.date.fromisoformat(day)
        return Entry(r.code, market_code=r.code, day=day)

    return _item("stale_prices", rows, entry)


def for_account(session: Session, scope: Scope, now: dt.datetime, *, phone: str | None = None,
                zone: ZoneInfo = DUSHANBE) -> Today:
    """The items of :data:`ROLE_ITEMS` for the scope's role (``phone``: the account's, for its
    ALERT previews and the broadcasts it made), each by its function above."""
    counters = {
        "join_requests": lambda: join_requests(session, scope, now),
        "questions": lambda: questions(session, scope, now),
        "rounds_closing": lambda: rounds_closing(session, scope, now, zone=zone),
        "rounds_to_order": lambda: rounds_to_order(session, scope, now),
        "gateway": lambda: gateway(session, scope, now),
        "messages": lambda: messages(session, scope, now),
        "alert_drafts": lambda: alert_drafts(session, scope, now, phone=phone),
        "broadcast_drafts": lambda: broadcast_drafts(session, scope, now),
        "broadcasts_soon": lambda: broadcasts_soon(session, scope, now, phone=phone),
        "stale_prices": lambda: stale_prices(session, scope, now, zone=zone),
    }
    return Today(tuple(counters[key]() for key in ROLE_ITEMS.get(scope.role, ())))
