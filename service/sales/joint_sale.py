"""Joint sales: pledges of produce to a cluster's collection centre, its capacity, buyers' offers.

A farmer pledges a crop, a quantity and the expected week (``SELL tomato 2t 24``
or by USSD). The pledge goes to the collection centre of the farmer's cluster
(the cluster of their active PG, else the cluster of that crop in their
district). Each centre (:class:`CollectionCentre`, a market of kind
``collection_centre``) holds at most ``capacity_g`` per season; a season is the
ISO year of the expected week (a simplification: the tomato and onion seasons
of ``docs/crop-calendars.md`` (§3, §4) fall inside one calendar year). A pledge beyond
the free amount is refused, telling that amount. Two pledges racing for the
last tonnes are serialised by a row lock on the centre (``SELECT … FOR UPDATE``;
SQLite has one writer at a time anyway), so the sum never exceeds the capacity.

Capacities (``docs/programme.md`` §6): DAHANA tomato 1,000 t per season;
VOSECC onion is not given: the placeholder is 600 t, the middle of the
sanity range (300, 600, 1,000 t), editable with
``flask --app service sales set-capacity VOSECC 800t``.

Cluster leaders (the chairs of the cluster's PGs; clusters have no EC of their
own in the data model yet) get the weekly totals (:func:`send_weekly_totals`);
staff enter buyers' offers (:func:`make_offer`), which go to every farmer with
an open pledge of that crop, one SMS per phone naming the people of a shared
phone who pledged (``service.messaging.household``). Quantities are integer grams (``service.reference.quantity``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import BigInteger, Date, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.groups import membership
from service.reference import quantity
from service.groups.cluster import CommodityCluster
from service.reference.crops import Crop
from service.db import Base, utcnow
from service.errors import Refusal
from service.farmers.models import Farmer
from service.reference.geography import Village
from service.messaging.household import Person, addressed
from service.prices.market import Market
from service.messaging.message import OutboundMessage, queue_sms
from service.groups.producer_group import ProducerGroup
from service.reference.render import tjs as money

#: market code: (crop, cluster served, capacity in grams per season)
DEFAULT_CENTRES = {
    "DAHANA": ("tomato", "tomato.kulob", 1_000 * 1_000_000),
    "VOSECC": ("onion", "onion.vose", 600 * 1_000_000),  # placeholder, see the module docstring
}
TOTAL_WEEKS = 4  # weeks shown in the weekly totals, from the current one


class CollectionCentre(Base):
    """A collection centre: its market, the crop it takes, the cluster it serves and its
    capacity per season in grams."""

    __tablename__ = "collection_centre"
    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("market.id"), unique=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"))
    cluster_id: Mapped[str] = mapped_column(ForeignKey("commodity_cluster.id"), unique=True)
    capacity_g: Mapped[int] = mapped_column(BigInteger)


class Pledge(Base):
    """Produce a farmer pledges: ``grams`` of ``crop_id`` to ``centre_id`` in the ISO week starting
    ``week`` (a Monday) of ``season`` (its ISO year); ``status`` ``pledged`` (``cancelled`` kept for history)."""

    __tablename__ = "pledge"
    id: Mapped[int] = mapped_column(primary_key=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"), index=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("collection_centre.id"), index=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"))
    grams: Mapped[int] = mapped_column(BigInteger)
    week: Mapped[dt.date] = mapped_column(Date)
    season: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="pledged")
    channel: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BuyerOffer(Base):
    """A buyer's offer entered by staff: ``price_diram`` per kg of ``crop_id``, the buyer's terms
    as typed (sent untranslated), who entered it and how many farmers were told."""

    __tablename__ = "buyer_offer"
    id: Mapped[int] = mapped_column(primary_key=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"))
    price_diram: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(40))
    farmers_told: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CentreFull(Refusal):
    """A pledge beyond the centre's free amount: ``free_g`` grams are left this season."""

    def __init__(self, centre: CollectionCentre, free_g: int):
        super().__init__("sales.sell.full")
        self.centre, self.free_g = centre, free_g


def load(session: Session) -> int:
    """Create the centres of :data:`DEFAULT_CENTRES` that are missing (their markets must exist);
    returns how many were added. Existing rows (and edited capacities) are kept."""
    added = 0
    for code, (crop_id, cluster_id, capacity_g) in DEFAULT_CENTRES.items():
        market = session.scalar(select(Market).where(Market.code == code))
        if market is None or session.scalar(select(CollectionCentre.id).where(CollectionCentre.market_id == market.id)):
            continue
        session.add(CollectionCentre(market_id=market.id, crop_id=crop_id, cluster_id=cluster_id,
                                     capacity_g=capacity_g))
        added += 1
    session.flush()
    return added


def market_of(session: Session, centre: CollectionCentre) -> Market:
    """The centre's market row (its code and names)."""
    return session.get(Market, centre.market_id)


def centre_for(session: Session, farmer: Farmer, crop_id: str) -> CollectionCentre:
    """The centre taking ``crop_id`` from ``farmer``: their active PG's cluster's centre, else the
    centre of a cluster of that crop in their district. ``Refusal("sales.sell.no_centre")`` if none."""
    m = membership.current(session, farmer)
    pg = session.get(ProducerGroup, m.pg_id) if m is not None and m.status == "active" else None
    if pg is not None and pg.cluster_id:
        found = session.scalar(select(CollectionCentre).where(
            CollectionCentre.cluster_id == pg.cluster_id, CollectionCentre.crop_id == crop_id))
        if found is not None:
            return found
    village = session.get(Village, farmer.village_id) if farmer.village_id else None
    found = None if village is None else session.scalar(
        select(CollectionCentre).join(CommodityCluster, CommodityCluster.id == CollectionCentre.cluster_id)
        .where(CollectionCentre.crop_id == crop_id, CommodityCluster.district_id == village.district_id)
        .order_by(CollectionCentre.id))
    if found is None:
        raise Refusal("sales.sell.no_centre", crop=crop_id)
    return found


def pledged_g(session: Session, centre: CollectionCentre, season: int) -> int:
    """Grams pledged to ``centre`` for ``season`` (open pledges)."""
    return session.scalar(select(func.coalesce(func.sum(Pledge.grams), 0)).where(
        Pledge.centre_id == centre.id, Pledge.season == season, Pledge.status == "pledged")) or 0


def monday(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def pledge(session: Session, farmer: Farmer, crop_id: str, grams: int, week: dt.date, *,
           channel: str) -> Pledge:
    """Pledge ``grams`` of ``crop_id`` for the ISO week of ``week`` to the farmer's centre.

    Locks the centre row, so concurrent pledges are checked one after the other.
    Raises ``Refusal("sales.sell.no_centre")`` (see :func:`centre_for`),
    ``ValueError`` for ``grams`` ≤ 0, and :class:`CentreFull` when the season's
    free amount is smaller than ``grams``.
    """
    if grams <= 0:
        raise ValueError("grams must be positive")
    centre = centre_for(session, farmer, crop_id)
    session.execute(select(CollectionCentre.id).where(CollectionCentre.id == centre.id).with_for_update())
    session.refresh(centre)
    week = monday(week)
    season = week.isocalendar().year
    free = centre.capacity_g - pledged_g(session, centre, season)
    if grams > free:
        raise CentreFull(centre, max(free, 0))
    row = Pledge(farmer_id=farmer.id, centre_id=centre.id, crop_id=crop_id, grams=grams, week=week,
                 season=season, channel=channel)
    session.add(row)
    session.flush()
    return row


# ---------------------------------------------------------------- weekly totals

@dataclass(frozen=True)
class WeekTotal:
    """Open pledges of one centre for the ISO week starting ``week``: ``grams`` from ``farmers`` farmers."""

    week: dt.date
    grams: int
    farmers: int


def weekly_totals(session: Session, centre: CollectionCentre, first_week: dt.date,
                  weeks: int = TOTAL_WEEKS) -> list[WeekTotal]:
    """Totals per week for ``weeks`` weeks from ``first_week``'s week (weeks without pledges left out)."""
    start = monday(first_week)
    rows = session.execute(select(Pledge.week, func.sum(Pledge.grams), func.count(func.distinct(Pledge.farmer_id)))
                           .where(Pledge.centre_id == centre.id, Pledge.status == "pledged", Pledge.week >= start,
                                  Pledge.week < start + dt.timedelta(weeks=weeks))
                           .group_by(Pledge.week).order_by(Pledge.week)).all()
    return [WeekTotal(w, int(g), n) for w, g, n in rows]


def leaders(session: Session, centre: CollectionCentre) -> list[Farmer]:
    """The cluster's leaders: the chairs of its PGs (active seats), one per phone, by id."""
    chairs = session.scalars(select(Farmer).join(membership.Membership, membership.Membership.farmer_id == Farmer.id)
                             .join(ProducerGroup, ProducerGroup.id == membership.Membership.pg_id)
                             .where(ProducerGroup.cluster_id == centre.cluster_id,
                                    membership.Membership.status == "active", membership.Membership.role == "chair")
                             .order_by(Farmer.id)).all()
    seen, out = set(), []
    for f in chairs:
        if f.phone not in seen:
            seen.add(f.phone)
            out.append(f)
    return out


def totals_text(session: Session, centre: CollectionCentre, today: dt.date, lang: str) -> str:
    """The weekly totals SMS of a centre in ``lang``: the coming weeks, then the season against capacity."""
    market, crop = market_of(session, centre), session.get(Crop, centre.crop_id)
    lines = [templates_sms.text("sales.totals.head", lang, centre=market.name(lang, short=True),
                                    crop=crop.name(lang))]
    for t in weekly_totals(session, centre, today):
        lines.append(templates_sms.text("sales.totals.week", lang, week=t.week.isocalendar().week,
                                        qty=quantity.mass(t.grams, lang), farmers=t.farmers))
    season = monday(today).isocalendar().year
    lines.append(templates_sms.text("sales.totals.season", lang, pledged=quantity.tonnes(
        pledged_g(session, centre, season), lang), capacity=quantity.tonnes(centre.capacity_g, lang)))
    return "\n".join(lines)


def send_weekly_totals(session: Session, today: dt.date) -> int:
    """Queue each centre's totals to each of its cluster leaders, once per ISO week
    (a repeated run that week sends nothing new; a centre without pledges this season
    sends nothing); returns the number queued."""
    year, week, _ = today.isocalendar()
    queued = 0
    for centre in session.scalars(select(CollectionCentre).order_by(CollectionCentre.id)):
        if not pledged_g(session, centre, monday(today).isocalendar().year):
            continue
        for leader in leaders(session, centre):
            key = f"sales.totals:{centre.id}:{leader.id}:{year}-W{week:02d}"
            if session.scalar(select(OutboundMessage.id).where(OutboundMessage.dedupe_key == key)):
                continue
            queue_sms(session, leader.phone, totals_text(session, centre, today, leader.language), kind="notice",
                      farmer_id=leader.id, language=leader.language, dedupe_key=key)
            queued += 1
    session.flush()
    return queued


# ---------------------------------------------------------------- buyers' offers

def make_offer(session: Session, crop_id: str, price_diram: int, text: str, entered_by: str,
               today: dt.date) -> BuyerOffer:
    """Record a buyer's offer and queue it to every farmer with an open pledge of ``crop_id``
    for this week or later, in each farmer's language (``text`` as typed); several pledging
    profiles of one phone get one SMS naming them, in the first one's language (main first).
    ``Refusal("sales.offer.usage")`` for an empty text; ``ValueError`` for a price ≤ 0."""
    text = " ".join((text or "").split())
    if not text:
        raise Refusal("sales.offer.usage")
    if price_diram <= 0:
        raise ValueError("price must be positive")
    offer = BuyerOffer(crop_id=crop_id, price_diram=price_diram, text=text, entered_by=entered_by)
    session.add(offer)
    session.flush()
    crop = session.get(Crop, crop_id)
    farmer_ids = session.scalars(select(Pledge.farmer_id).where(
        Pledge.crop_id == crop_id, Pledge.status == "pledged", Pledge.week >= monday(today))
        .distinct()).all()
    phones: dict[str, list[Person]] = {}  # one SMS per phone, naming its people (service.messaging.household)
    for farmer in sorted((session.get(Farmer, i) for i in farmer_ids), key=lambda f: f.id):
        phones.setdefault(farmer.phone, []).append(Person(farmer.id, farmer.name, farmer.language, farmer.is_main))

    def render(lang: str) -> str:
        return templates_sms.text("sales.offer.sms", lang, crop=crop.name(lang), price=money(price_diram, lang),
                                  text=text)

    for phone, people in phones.items():
        person, body = addressed(render, people)
        queue_sms(session, phone, body, kind="broadcast", farmer_id=person.farmer_id, language=person.language,
                  dedupe_key=f"sales.offer:{offer.id}:{person.farmer_id}")
    offer.farmers_told = len(farmer_ids)
    session.flush()
    return offer


def receipt(session: Session, pledge: Pledge, lang: str) -> dict:
    """The ``sales.sell.done`` receipt of a pledge, the same by SMS and USSD: ``{"key": ..., **placeholders}``
    in ``lang`` (quantity in kg or t, the centre's free capacity in t)."""
    centre = session.get(CollectionCentre, pledge.centre_id)
    free = centre.capacity_g - pledged_g(session, centre, pledge.season)
    return {"key": "sales.sell.done", "crop": session.get(Crop, pledge.crop_id).name(lang),
            "qty": quantity.mass(pledge.grams, lang), "week": pledge.week.isocalendar().week,
            "date": pledge.week.strftime("%d.%m"), "centre": market_of(session, centre).name(lang, short=True),
            "free": quantity.tonnes(free, lang)}
