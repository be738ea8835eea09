"""Markets, collection centres and the prices seen there.

Prices are TJS per kg stored as integer diram per kg (1 TJS = 100 diram,
``docs/khatlon.md`` §6), one row per (crop, market, day); a later report of the
same day replaces the earlier one. Staff enter them by SMS (``SETPRICE``) or
on the staff prices page, both through ``service.prices.entry``; the demo data
command loads some.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base, utcnow
from service.reference import data
from service.errors import Refusal
from service.reference.geography import find_district
from service.reference.names import pick
from service.reference.words import decide, rank

KINDS = ("market", "collection_centre")
MAX_PRICE_DIRAM = 100_000  # 1,000 TJS per kg: anything above is a typing error
OUTLIER_SHARE = Decimal("0.5")  # more than 50% above or below the last report needs a confirmation


class Market(Base):
    """A market or a cluster's collection centre. ``code``: short id staff type (``KULOB``), never
    shown to farmers; ``names``: ``{lang: full name, "<lang>_short": short name}`` (the short one,
    for tight screens, may be missing: the full one stands in)."""

    __tablename__ = "market"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    names: Mapped[dict]
    district_id: Mapped[str] = mapped_column(ForeignKey("district.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="market")

    def name(self, lang: str, short: bool = False) -> str:
        """Display name in ``lang``: the full one (``"Рынок Куляба"``), or with ``short`` the one for
        tight screens (``"Куляб"``), else the full one."""
        if short and (self.names or {}).get(f"{lang}_short"):
            return self.names[f"{lang}_short"]
        return pick({k: v for k, v in (self.names or {}).items() if not k.endswith("_short")}, lang, self.code)


class MarketPrice(Base):
    """Price of a crop at a market on a day: ``price_diram`` per kg, ``source`` (staff phone, demo, ...)."""

    __tablename__ = "market_price"
    __table_args__ = (UniqueConstraint("crop_id", "market_id", "observed_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"))
    market_id: Mapped[int] = mapped_column(ForeignKey("market.id"), index=True)
    observed_on: Mapped[dt.date] = mapped_column(Date)
    price_diram: Mapped[int]
    source: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class PriceLine:
    """Latest price of a crop at one market, with the change from the previous report (diram/kg)."""

    market: Market
    price_diram: int
    observed_on: dt.date
    change_diram: int | None


def parse_tjs(text: str) -> int:
    """Parse a price in TJS (``"1.40"``, ``"1,4"``, ``"140d"`` is not accepted) into diram.

    Raises ``Refusal("err.price")`` unless 0 < price ≤ 1,000 TJS with at most 2 decimals.
    """
    cleaned = (text or "").strip().lower().replace(",", ".")
    for suffix in ("tjs", "сомонӣ", "сомони", "somoni"):
        if cleaned.endswith(suffix):
            cleaned = cleaned[: -len(suffix)].strip()
    try:
        value = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        raise Refusal("err.price") from None
    diram = value * 100
    if not value.is_finite() or diram != diram.to_integral_value() or diram <= 0 or diram > MAX_PRICE_DIRAM:
        raise Refusal("err.price")
    return int(diram.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def match_market(session: Session, text: str) -> tuple[Market | None, bool]:
    """The market ``text`` names as people write it (``service.reference.words``: its code or any
    of its names, inflected, other spellings, typos), else the one market (not collection centre)
    of the district so named (``Восеъ``), and whether that is sure: ``(market, True)`` to act on,
    ``(market, False)`` to ask "did you mean ...?", ``(None, False)`` when none is near."""
    markets = list(session.scalars(select(Market).order_by(Market.id)))
    best, sure = decide(rank(text, [(m, [m.code, *m.names.values()]) for m in markets]))
    if sure:
        return best.value, True
    # a town or district name ("Восеъ") names that district's one market (not its collection centre)
    in_district = [m for m in markets if m.kind == "market" and m.district_id in
                   {d.id for d in find_district(session, text)}]
    if len(in_district) == 1:
        return in_district[0], True
    return (best.value, False) if best else (None, False)


def find_market(session: Session, text: str) -> Market | None:
    """The market ``text`` surely names (:func:`match_market`), else None."""
    market, sure = match_market(session, text)
    return market if sure else None


def set_price(session: Session, crop_id: str, market: Market, price_diram: int, on: dt.date,
              source: str) -> MarketPrice:
    """Record (or replace) the price of ``crop_id`` at ``market`` on day ``on``."""
    row = session.scalar(select(MarketPrice).where(
        MarketPrice.crop_id == crop_id, MarketPrice.market_id == market.id, MarketPrice.observed_on == on))
    if row is None:
        row = MarketPrice(crop_id=crop_id, market_id=market.id, observed_on=on,
                          price_diram=price_diram, source=source)
        session.add(row)
    else:
        row.price_diram, row.source, row.created_at = price_diram, source, utcnow()
    session.flush()
    return row


def require_market(scope, market: Market) -> None:
    """``Refusal("sms.staff.out_of_scope", place=<market code>)`` unless the staff ``scope``
    (``service.staff.scope.Scope``) covers ``market``: the check of a staff price entry."""
    from service.staff import commands as staff_commands

    staff_commands.require(scope is not None and scope.covers_market(market.id), market.code)


def staff_set_price(session: Session, crop_id: str, market: Market, price_diram: int, on: dt.date, *,
                    scope, actor, source: str) -> MarketPrice:
    """:func:`set_price` for a staff member (``SETPRICE``): ``scope`` must cover ``market``
    (:func:`require_market`); writes a ``price.set`` audit entry for ``actor``
    (``service.audit.log.Actor``) with the day's price before (None when new) and after, in the
    caller's transaction."""
    from service.audit import log as audit

    require_market(scope, market)
    old = session.scalar(select(MarketPrice.price_diram).where(
        MarketPrice.crop_id == crop_id, MarketPrice.market_id == market.id, MarketPrice.observed_on == on))
    row = set_price(session, crop_id, market, price_diram, on, source=source)
    where = {"crop": crop_id, "market": market.code, "observed_on": on}
    audit.record(session, actor, "price.set", "market_price", row.id,
                 before=None if old is None else {**where, "price_diram": old},
                 after={**where, "price_diram": price_diram})
    return row


def last_report(session: Session, crop_id: str, market: Market, before: dt.date) -> MarketPrice | None:
    """The newest report of ``crop_id`` at ``market`` observed before day ``before``, else None."""
    return session.scalar(select(MarketPrice).where(
        MarketPrice.crop_id == crop_id, MarketPrice.market_id == market.id, MarketPrice.observed_on < before)
        .order_by(MarketPrice.observed_on.desc()).limit(1))


@dataclass(frozen=True)
class PriceCheck:
    """Whether a price staff enter is far from the market: ``unusual`` True when it is more than
    :data:`OUTLIER_SHARE` above or below ``last`` (the newest earlier report), or, with no such
    report, outside ``low``..``high`` (diram/kg, ``data.PRICE_RANGES``; None for a crop without one)."""

    unusual: bool
    last: MarketPrice | None
    low: int | None = None
    high: int | None = None


def check_price(session: Session, crop_id: str, market: Market, price_diram: int, on: dt.date) -> PriceCheck:
    """Compare ``price_diram`` for ``crop_id`` at ``market`` on day ``on`` with the newest report of
    an earlier day (a report of ``on`` itself is being replaced, so it is not the reference), else with
    the crop's plausible range (docs/khatlon.md §6)."""
    last = last_report(session, crop_id, market, on)
    if last is not None:
        off = abs(Decimal(price_diram - last.price_diram)) / last.price_diram
        return PriceCheck(off > OUTLIER_SHARE, last)
    low, high = data.PRICE_RANGES.get(crop_id, (None, None))
    unusual = low is not None and not low <= price_diram <= high
    return PriceCheck(unusual, None, low, high)


def latest_prices(session: Session, crop_id: str, market: Market | None = None) -> list[PriceLine]:
    """Latest price per market for a crop (optionally one market), newest first then by market code.

    Reads the two latest rows per market, so the change is exact even when
    reports are days apart.
    """
    q = select(MarketPrice, Market).join(Market, Market.id == MarketPrice.market_id).where(
        MarketPrice.crop_id == crop_id)
    if market is not None:
        q = q.where(MarketPrice.market_id == market.id)
    q = q.order_by(MarketPrice.market_id, MarketPrice.observed_on.desc())
    lines: dict[int, PriceLine] = {}
    seen: dict[int, int] = {}
    for price, mkt in session.execute(q):
        n = seen.get(mkt.id, 0)
        if n == 0:
            lines[mkt.id] = PriceLine(mkt, price.price_diram, price.observed_on, None)
        elif n == 1:
            first = lines[mkt.id]
            lines[mkt.id] = PriceLine(mkt, first.price_diram, first.observed_on,
                                      first.price_diram - price.price_diram)
        seen[mkt.id] = n + 1
    return sorted(lines.values(), key=lambda ln: (-ln.observed_on.toordinal(), ln.market.code))


def nearest_first(lines: list[PriceLine], district_id: str | None) -> list[PriceLine]:
    """``lines`` of :func:`latest_prices` (newest first, then by market code) with the markets of
    ``district_id`` (the farmer's district; None: no district) first, each part kept in its order:
    the order of the PRICE reply and of the USSD price screen. Returns a new list."""
    return sorted(lines, key=lambda ln: district_id is None or ln.market.district_id != district_id)


def load(session: Session) -> None:
    """Insert the markets and collection centres of ``service.reference.data.MARKETS`` (an empty database)."""
    for code, (district, kind, names) in data.MARKETS.items():
        session.add(Market(code=code, district_id=district, kind=kind, names=data.market_names(names)))
    session.flush()


def refresh_names(session: Session) -> int:
    """Give the reference markets that still carry the first reference names (no short names:
    ``"Рынок Балх"``, ``"Центр Восе"``) today's names of ``data.MARKETS``; returns how many changed.
    Markets with short names (loaded or edited since) are left alone."""
    changed = 0
    for m in session.scalars(select(Market).where(Market.code.in_(list(data.MARKETS)))):
        if not any(k.endswith("_short") for k in (m.names or {})):
            m.names = data.market_names(data.MARKETS[m.code][2])
            changed += 1
    session.flush()
    return changed
