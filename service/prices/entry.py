"""Staff price entry: the one rule of SMS ``SETPRICE`` and of the staff prices page.

A staff member enters a crop's price at a market for a day (``docs/khatlon.md`` §6). The market
must be in the account's scope (``market.require_market``); the text must be a price
(``market.parse_tjs``: 0 < TJS/kg ≤ 1,000, at most 2 decimals); an *unusual* price
(``market.check_price``: more than 50% off the newest earlier report, or outside the crop's
plausible range when there is none) is stored only once confirmed (by SMS ``SETPRICE OK <code>``,
on the web a "confirm unusual price" box). A stored price writes one ``price.set`` audit entry in
the caller's transaction (``market.staff_set_price``).

:func:`enter_price` is one entry (``SETPRICE``); :func:`enter_prices` is several at once, all or
nothing: when any row is refused or waits for a confirmation, no row is stored.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import Refusal
from service.logs import mask_phone
from service.prices.market import (Market, MarketPrice, PriceCheck, check_price, parse_tjs, require_market,
                                   staff_set_price)

#: the longest price text read from a form field (characters)
MAX_PRICE_TEXT = 16
#: the most rows of one market's history a page shows
HISTORY_CAP = 200


@dataclass(frozen=True)
class Entry:
    """The outcome of one price entry: ``stored`` (the row, None when not stored), ``check`` (the
    sanity check, None when refused before it) and ``diram`` (the price read, diram/kg)."""

    stored: MarketPrice | None
    check: PriceCheck | None
    diram: int | None

    @property
    def needs_confirmation(self) -> bool:
        """True when the price is unusual and was not stored for want of a confirmation."""
        return self.stored is None and self.check is not None and self.check.unusual


def enter_price(session: Session, crop_id: str, market: Market, price_diram: int, on: dt.date, *,
                scope, actor, source: str, confirmed: bool = False) -> Entry:
    """Store ``price_diram`` (diram/kg) for ``crop_id`` at ``market`` on day ``on`` unless it is
    unusual and not ``confirmed``. Raises ``Refusal("sms.staff.out_of_scope")`` when ``scope``
    (``service.staff.scope.Scope``) does not cover the market, before anything else. Writes the
    ``price.set`` audit entry for ``actor`` in the caller's transaction."""
    require_market(scope, market)
    check = check_price(session, crop_id, market, price_diram, on)
    if check.unusual and not confirmed:
        return Entry(None, check, price_diram)
    row = staff_set_price(session, crop_id, market, price_diram, on, scope=scope, actor=actor, source=source)
    return Entry(row, check, price_diram)


@dataclass(frozen=True)
class Row:
    """One row of a batch: ``crop_id`` at ``market``, the price ``text`` as typed and whether the
    staff member ``confirmed`` an unusual price."""

    crop_id: str
    market: Market
    text: str
    confirmed: bool = False


@dataclass(frozen=True)
class RowResult:
    """What became of a :class:`Row`: ``refusal`` (the price cannot be read or the market is out
    of scope), else ``entry`` (:class:`Entry`; its ``stored`` is None when the batch stored nothing)."""

    row: Row
    refusal: Refusal | None = None
    entry: Entry | None = None

    @property
    def needs_confirmation(self) -> bool:
        """True when the price is unusual and the row does not confirm it."""
        return self.entry is not None and self.entry.check is not None and self.entry.check.unusual \
            and not self.row.confirmed

    @property
    def ok(self) -> bool:
        """True when the row may be stored (read, in scope, usual or confirmed)."""
        return self.refusal is None and self.entry is not None and not self.needs_confirmation


@dataclass(frozen=True)
class Batch:
    """The outcome of :func:`enter_prices`: one :class:`RowResult` per row, in order, and whether
    the rows were ``saved`` (all of them) or none was."""

    results: list[RowResult]
    saved: bool


def enter_prices(session: Session, rows: list[Row], on: dt.date, *, scope, actor, source: str) -> Batch:
    """Several price entries at once, all or nothing. Each row is read (``parse_tjs``, at most
    :data:`MAX_PRICE_TEXT` characters), scope-checked and sanity-checked as :func:`enter_price`
    does; only when every row passes (unusual ones confirmed) are they all stored, each with its
    ``price.set`` audit entry, in the caller's transaction. Otherwise nothing is written and the
    results say which rows were refused (``refusal``: ``prices.err.price`` with the ``text`` for
    an unreadable price, ``sms.staff.out_of_scope``) or wait for a confirmation. An empty
    ``rows`` raises ``Refusal("prices.err.none")``."""
    if not rows:
        raise Refusal("prices.err.none")
    results = []
    for row in rows:
        try:
            require_market(scope, row.market)
            if len(row.text) > MAX_PRICE_TEXT:
                raise Refusal("err.price")
            diram = parse_tjs(row.text)
        except Refusal as refusal:
            if refusal.key == "err.price":
                refusal = Refusal("prices.err.price", text=row.text[:MAX_PRICE_TEXT])
            results.append(RowResult(row, refusal=refusal))
            continue
        check = check_price(session, row.crop_id, row.market, diram, on)
        results.append(RowResult(row, entry=Entry(None, check, diram)))
    if not all(r.ok for r in results):
        return Batch(results, saved=False)
    stored = []
    for r in results:
        e = enter_price(session, r.row.crop_id, r.row.market, r.entry.diram, on, scope=scope, actor=actor,
                        source=source, confirmed=r.row.confirmed)
        stored.append(RowResult(r.row, entry=e))
    return Batch(stored, saved=True)


def history(session: Session, market: Market, limit: int = HISTORY_CAP) -> list[MarketPrice]:
    """The prices reported at ``market``, newest day first (then by crop), at most ``limit`` rows."""
    return list(session.scalars(select(MarketPrice).where(MarketPrice.market_id == market.id)
                                .order_by(MarketPrice.observed_on.desc(), MarketPrice.crop_id)
                                .limit(max(1, min(limit, HISTORY_CAP)))))


def latest(session: Session, markets: list[Market]) -> dict[tuple[int, str], MarketPrice]:
    """The newest price per (market id, crop id) of ``markets``."""
    if not markets:
        return {}
    found: dict[tuple[int, str], MarketPrice] = {}
    q = (select(MarketPrice).where(MarketPrice.market_id.in_([m.id for m in markets]))
         .order_by(MarketPrice.market_id, MarketPrice.crop_id, MarketPrice.observed_on.desc()))
    for row in session.scalars(q):
        found.setdefault((row.market_id, row.crop_id), row)
    return found


def web_source(username: str) -> str:
    """The ``MarketPrice.source`` of a price entered on the web by ``username`` (≤ 40 characters)."""
    return f"web:{username}"[:40]


def reporter(session: Session, source: str) -> str:
    """Who reported a price, fit to show: the staff account's username for a staff phone or a web
    entry, else the source with any phone number masked (``service.logs.mask_phone``)."""
    from service.staff import accounts

    if source.startswith("web:"):
        return source[4:]
    if source.startswith("+"):
        account = session.scalar(select(accounts.StaffAccount).where(accounts.StaffAccount.phone == source))
        return account.username if account is not None else mask_phone(source)
    return source
