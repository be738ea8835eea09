"""Market-price pushes: the weekly digest for subscribers and threshold alerts.

``PRICES ON|OFF`` (:func:`subscribe_prices`) subscribes a farmer to a weekly
digest sent on :data:`DIGEST_WEEKDAY` at :data:`DIGEST_HOUR` local time: the
latest price of each crop the farmer grows (all crops when none is recorded)
at the markets of their district (else any market), one line per crop. The
outbox ``dedupe_key`` ``digest:<farmer>:<ISO week>`` sends it once a week; a
digest whose slot passed more than the scheduler grace ago is skipped. A phone
shared by several subscribed profiles gets ONE digest (``service.messaging.household``):
in the language of the first of them (main profile first), for the crops any
of them grows (all crops when one of them recorded none), at the markets of the
first one's district, keyed by the first one's id; none when the digest of the
week already went to that phone under another of its profiles.

The same by USSD (My account, Price SMS: ``service.prices.ussd``), where a farmer also sees
and cancels their alerts (:func:`open_alerts`, :func:`cancel_alerts`; ``PRICEALERT OFF [crop]``).

A threshold alert (:func:`set_price_alert`) fires once when the latest price
of a crop (at one market, or the best of all markets) reaches the farmer's
threshold (``above``: at or over it; ``below``: at or under it); it is then
spent and the farmer sets a new one. Alerts of several profiles of one phone that
fire in the same pass with the same content (crop, market, price, direction and
threshold) make ONE message naming them (``service.messaging.household``), keyed
``palert:<alert id>`` by the first one's alert. Prices are diram per kg (``service.prices.market``).
"""
from __future__ import annotations

import datetime as dt
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.reference.crops import Crop
from service.db import Base, utcnow
from service.farmers.models import Farmer, FarmerCrop
from service.reference.geography import Village
from service.messaging.household import Person, addressed
from service.prices.market import Market, MarketPrice
from service.messaging.message import OutboundMessage, queue_many
from service.reference.render import tjs

DIGEST_WEEKDAY = 0  # Monday
DIGEST_HOUR = 8
DIRECTIONS = ("above", "below")
CHUNK = 5000


class PriceSubscription(Base):
    """A farmer subscribed to the weekly price digest (one row per subscribed farmer)."""

    __tablename__ = "price_subscription"
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PriceAlert(Base):
    """A threshold on a crop's price: ``threshold_diram`` per kg, ``direction`` ``above``/``below``,
    ``market_id`` one market or None (any); ``fired_at`` set when it fired (it is then spent)."""

    __tablename__ = "price_alert"
    id: Mapped[int] = mapped_column(primary_key=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"), index=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"))
    market_id: Mapped[int | None] = mapped_column(ForeignKey("market.id"))
    direction: Mapped[str] = mapped_column(String(5), default="above")
    threshold_diram: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    fired_at: Mapped[dt.datetime | None]


def subscribe_prices(session: Session, farmer: Farmer, on: bool) -> bool:
    """Subscribe (``on``) or unsubscribe ``farmer``; returns False when nothing changed."""
    row = session.get(PriceSubscription, farmer.id)
    if on and row is None:
        session.add(PriceSubscription(farmer_id=farmer.id))
    elif not on and row is not None:
        session.delete(row)
    else:
        return False
    session.flush()
    return True


def set_price_alert(session: Session, farmer: Farmer, crop_id: str, threshold_diram: int,
                    direction: str = "above", market: Market | None = None) -> PriceAlert:
    """Set the farmer's alert on ``crop_id`` (replacing an unfired one on the same crop, market
    and direction). ``ValueError`` for a direction other than above/below or a threshold ≤ 0."""
    if direction not in DIRECTIONS or threshold_diram <= 0:
        raise ValueError("direction must be above/below and the threshold positive")
    market_id = market.id if market else None
    row = session.scalar(select(PriceAlert).where(
        PriceAlert.farmer_id == farmer.id, PriceAlert.crop_id == crop_id, PriceAlert.direction == direction,
        PriceAlert.market_id.is_(None) if market_id is None else PriceAlert.market_id == market_id,
        PriceAlert.fired_at.is_(None)))
    if row is None:
        row = PriceAlert(farmer_id=farmer.id, crop_id=crop_id, market_id=market_id, direction=direction,
                         threshold_diram=threshold_diram)
        session.add(row)
    row.threshold_diram = threshold_diram
    session.flush()
    return row


def is_subscribed(session: Session, farmer: Farmer) -> bool:
    """True when ``farmer`` gets the weekly digest."""
    return session.get(PriceSubscription, farmer.id) is not None


def open_alerts(session: Session, farmer: Farmer, crop_id: str | None = None) -> list[PriceAlert]:
    """The farmer's unfired alerts (optionally of one crop), by crop then id."""
    q = select(PriceAlert).where(PriceAlert.farmer_id == farmer.id, PriceAlert.fired_at.is_(None))
    if crop_id is not None:
        q = q.where(PriceAlert.crop_id == crop_id)
    return list(session.scalars(q.order_by(PriceAlert.crop_id, PriceAlert.id)))


def cancel_alerts(session: Session, farmer: Farmer, crop_id: str | None = None,
                  alert_id: int | None = None) -> int:
    """Delete the farmer's unfired alerts: all, those of ``crop_id``, or the one ``alert_id``;
    returns how many (0 when there was none: an alert that fired meanwhile is kept)."""
    rows = [a for a in open_alerts(session, farmer, crop_id) if alert_id is None or a.id == alert_id]
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def _newest(session: Session, since: dt.date) -> list[tuple[str, int, str, int]]:
    """``(crop id, market id, district id, price diram/kg)`` of each market's latest report per
    crop observed on or after ``since``."""
    newest = (select(MarketPrice.crop_id, MarketPrice.market_id, func.max(MarketPrice.observed_on).label("day"))
              .where(MarketPrice.observed_on >= since).group_by(MarketPrice.crop_id, MarketPrice.market_id)
              .subquery())
    return [tuple(r) for r in session.execute(
        select(MarketPrice.crop_id, MarketPrice.market_id, Market.district_id, MarketPrice.price_diram)
        .join(newest, (newest.c.crop_id == MarketPrice.crop_id) & (newest.c.market_id == MarketPrice.market_id)
              & (newest.c.day == MarketPrice.observed_on))
        .join(Market, Market.id == MarketPrice.market_id))]


def digest_slot(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """This week's digest time (aware UTC): :data:`DIGEST_WEEKDAY` at :data:`DIGEST_HOUR` local."""
    local = now.astimezone(zone)
    day = local.date() - dt.timedelta(days=(local.weekday() - DIGEST_WEEKDAY) % 7)
    return dt.datetime.combine(day, dt.time(DIGEST_HOUR), tzinfo=zone).astimezone(dt.timezone.utc)


def queue_digests(session: Session, now: dt.datetime, zone: ZoneInfo, grace: dt.timedelta) -> int | None:
    """Queue this week's digest to every subscribed phone (one per phone, module docstring)
    once its slot has come; returns the rows written. When the slot passed more than ``grace`` ago nothing is sent; during the hour after
    the grace ends the function returns None (reported once by the tick as skipped, when there are
    subscribers), later 0. Commits per chunk. Subscribers without a price for any of their crops
    in the last 14 days get nothing."""
    slot = digest_slot(now, zone)
    if now < slot:
        return 0
    if now - slot > grace:
        reportable = now - slot <= grace + dt.timedelta(hours=1)
        return None if reportable and session.scalar(select(PriceSubscription.farmer_id).limit(1)) else 0
    year, week, _ = slot.astimezone(zone).isocalendar()
    prices: dict[tuple[str, str], int] = {}  # (crop, district) → the highest latest price there
    for crop_id, _, district_id, price in _newest(session, slot.astimezone(zone).date() - dt.timedelta(days=14)):
        prices[(crop_id, district_id)] = max(price, prices.get((crop_id, district_id), 0))
    crop_names = {c.id: c for c in session.scalars(select(Crop))}
    all_crops = sorted(crop_names)
    grown: dict[int, list[str]] = {}
    written, chunk = 0, []
    farmers = session.execute(
        select(Farmer.id, Farmer.phone, Farmer.name, Farmer.language, Farmer.is_main, Village.district_id)
        .join(PriceSubscription, PriceSubscription.farmer_id == Farmer.id)
        .outerjoin(Village, Village.id == Farmer.village_id).order_by(Farmer.id)).all()
    for farmer_id, crop_id in session.execute(select(FarmerCrop.farmer_id, FarmerCrop.crop_id)
                                              .join(PriceSubscription,
                                                    PriceSubscription.farmer_id == FarmerCrop.farmer_id)):
        grown.setdefault(farmer_id, []).append(crop_id)
    tag = f"{year}-W{week:02d}"
    phones: dict[str, list] = {}  # phone → its subscribed profiles, phones by their first subscriber
    for row in farmers:
        phones.setdefault(row.phone, []).append(row)
    done = _digest_sent_to_shared(session, phones, tag)
    for phone, rows in phones.items():
        if phone in done:
            continue
        rows.sort(key=lambda r: (not r.is_main, r.id))
        first, lang = rows[0], rows[0].language
        lines = []
        for crop_id in sorted({c for r in rows for c in (grown.get(r.id) or all_crops)}):
            price = prices.get((crop_id, first.district_id)) or max(
                (p for (c, _), p in prices.items() if c == crop_id), default=None)
            if price:
                lines.append(f"{crop_names[crop_id].name(lang)} {tjs(price, lang)}")
        if not lines:
            continue
        digest = templates_sms.text("push.digest", lang, lines="; ".join(lines))
        # for several subscribers of a shared phone: their names (one alone: named by the outbox)
        _, digest = addressed(lambda _lang: digest, [Person(r.id, r.name, r.language, r.is_main) for r in rows])
        chunk.append({"phone": phone, "farmer_id": first.id, "language": lang, "text": digest,
                      "dedupe_key": f"digest:{first.id}:{tag}"})
        if len(chunk) >= CHUNK:
            written += len(queue_many(session, chunk, kind="notice", not_before=now))
            session.commit()
            chunk = []
    written += len(queue_many(session, chunk, kind="notice", not_before=now))
    session.commit()
    return written


def _digest_sent_to_shared(session: Session, phones: dict[str, list], tag: str) -> set[str]:
    """The phones with several subscribed profiles whose digest of week ``tag`` is already in
    the outbox under one of their profiles' keys."""
    keys = {f"digest:{r.id}:{tag}": phone for phone, rows in phones.items() if len(rows) > 1 for r in rows}
    done: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        done.update(keys[k] for k in session.scalars(
            select(OutboundMessage.dedupe_key).where(OutboundMessage.dedupe_key.in_(ordered[start:start + 500]))))
    return done


def queue_alerts(session: Session, now: dt.datetime) -> int:
    """Fire every unfired threshold alert whose crop's latest price (last 14 days) reaches its
    threshold; returns the messages queued. Commits."""
    prices = {(crop_id, market_id): price
              for crop_id, market_id, _, price in _newest(session, now.date() - dt.timedelta(days=14))}
    markets = {m.id: m for m in session.scalars(select(Market))}
    crops = {c.id: c for c in session.scalars(select(Crop))}
    fired: dict[tuple, list[tuple[PriceAlert, Person]]] = {}  # (phone, what it says) → its alerts
    for alert, phone, name, lang, is_main in session.execute(
            select(PriceAlert, Farmer.phone, Farmer.name, Farmer.language, Farmer.is_main)
            .join(Farmer, Farmer.id == PriceAlert.farmer_id)
            .where(PriceAlert.fired_at.is_(None)).order_by(PriceAlert.id)):
        candidates = [(p, m) for (c, m), p in prices.items()
                      if c == alert.crop_id and (alert.market_id is None or m == alert.market_id)]
        if not candidates:
            continue
        price, market_id = max(candidates) if alert.direction == "above" else min(candidates)
        if (alert.direction == "above" and price < alert.threshold_diram) or \
                (alert.direction == "below" and price > alert.threshold_diram):
            continue
        alert.fired_at = now
        says = (alert.direction, crops[alert.crop_id], markets[market_id], price, alert.threshold_diram)
        fired.setdefault((phone, says), []).append((alert, Person(alert.farmer_id, name, lang, is_main)))
    rows = []
    for (phone, says), members in fired.items():
        person, text = addressed(partial(_alert_text, *says), [p for _, p in members])
        first = min(a.id for a, p in members if p.farmer_id == person.farmer_id)
        rows.append({"phone": phone, "farmer_id": person.farmer_id, "language": person.language,
                     "dedupe_key": f"palert:{first}", "text": text})
    written = len(queue_many(session, rows, kind="notice", not_before=now))
    session.commit()
    return written


def _alert_text(direction: str, crop: Crop, market: Market, price: int, threshold: int, lang: str) -> str:
    return templates_sms.text(f"push.price_{direction}", lang, crop=crop.name(lang), market=market.name(lang),
                              price=tjs(price, lang), threshold=tjs(threshold, lang))
