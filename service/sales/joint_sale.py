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

Every commodity cluster has its centre (:data:`DEFAULT_CENTRES`). Capacities
(``docs/programme.md`` §6): DAHANA tomato 1,000 t per season; VOSECC onion is
not given: the placeholder is 600 t, the middle of the sanity range (300, 600,
1,000 t). The case study names no centre for the Jomi tomato and the Balkhi rice
clusters: JOMICC and BALKHCC stand for them with the same 600 t placeholder.
Staff add and edit centres with ``flask --app service centres add|edit|list``
(:func:`add_centre`, :func:`edit_centre`).

A farmer changes or cancels an open pledge (one for this week or later):
a new pledge of the same crop for the same week replaces the open one
(:func:`pledge`: a farmer who sends ``SELL`` again corrects the amount, it is
not added to it), :func:`change_pledge` sets a new amount or week and
:func:`cancel_pledge` cancels it (``SELL cancel``, USSD "My pledges"). The
capacity check counts the pledge being changed as free.

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
from service.reference import data
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
    "JOMICC": ("tomato", "tomato.jomi", 600 * 1_000_000),  # placeholder centre and capacity
    "BALKHCC": ("rice", "rice.balkhi", 600 * 1_000_000),  # placeholder centre and capacity
}
MAX_CENTRE_NAME = 40  # characters of a centre's name in one language
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
    """Create the centres of :data:`DEFAULT_CENTRES` that are missing, with their markets
    (``service.reference.data.MARKETS``) when those are missing too, so a database loaded
    before a centre was added gets it; returns how many centres were added. Existing rows (and
    edited names and capacities) are kept, and a cluster that has a centre (one staff added)
    gets no second one."""
    added = 0
    for code, (crop_id, cluster_id, capacity_g) in DEFAULT_CENTRES.items():
        market = session.scalar(select(Market).where(Market.code == code))
        if market is None and code in data.MARKETS and session.get(CommodityCluster, cluster_id) is not None:
            district, kind, names = data.MARKETS[code]
            market = Market(code=code, district_id=district, kind=kind, names=data.market_names(names))
            session.add(market)
            session.flush()
        if market is None or session.scalar(select(CollectionCentre.id).where(
                (CollectionCentre.market_id == market.id) | (CollectionCentre.cluster_id == cluster_id))):
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


@dataclass(frozen=True)
class Placed:
    """What :func:`place` did: the ``pledge`` row, and ``was_g`` (its grams before) when it
    changed an open pledge of the same crop and week instead of adding one (else None)."""

    pledge: "Pledge"
    was_g: int | None = None


def _lock(session: Session, centre: CollectionCentre) -> None:
    """Lock the centre row (``SELECT … FOR UPDATE``), so pledges to it are checked one after the other."""
    session.execute(select(CollectionCentre.id).where(CollectionCentre.id == centre.id).with_for_update())
    session.refresh(centre)


def place(session: Session, farmer: Farmer, crop_id: str, grams: int, week: dt.date, *,
          channel: str) -> Placed:
    """Pledge ``grams`` of ``crop_id`` for the ISO week of ``week`` to the farmer's centre; an open
    pledge of the farmer for the same crop, week and centre is changed to ``grams`` instead (a
    farmer who pledges again corrects the amount).

    Locks the centre row, so concurrent pledges are checked one after the other.
    Raises ``Refusal("sales.sell.no_centre")`` (see :func:`centre_for`),
    ``ValueError`` for ``grams`` ≤ 0, and :class:`CentreFull` when the season's
    free amount (the replaced pledge counted as free) is smaller than ``grams``.
    """
    if grams <= 0:
        raise ValueError("grams must be positive")
    centre = centre_for(session, farmer, crop_id)
    _lock(session, centre)
    week = monday(week)
    season = week.isocalendar().year
    same = session.scalar(select(Pledge).where(
        Pledge.farmer_id == farmer.id, Pledge.crop_id == crop_id, Pledge.week == week,
        Pledge.centre_id == centre.id, Pledge.status == "pledged").order_by(Pledge.id))
    free = centre.capacity_g - pledged_g(session, centre, season) + (same.grams if same else 0)
    if grams > free:
        raise CentreFull(centre, max(free, 0))
    if same is not None:
        was, same.grams = same.grams, grams
        session.flush()
        return Placed(same, was)
    row = Pledge(farmer_id=farmer.id, centre_id=centre.id, crop_id=crop_id, grams=grams, week=week,
                 season=season, channel=channel)
    session.add(row)
    session.flush()
    return Placed(row)


def pledge(session: Session, farmer: Farmer, crop_id: str, grams: int, week: dt.date, *,
           channel: str) -> Pledge:
    """:func:`place`, returning the pledge row (new, or the open one of that crop and week, changed)."""
    return place(session, farmer, crop_id, grams, week, channel=channel).pledge


def open_pledges(session: Session, farmer: Farmer, today: dt.date, crop_id: str | None = None) -> list[Pledge]:
    """The farmer's open pledges (``pledged``, for ``today``'s week or later), optionally of one
    crop, by week then id."""
    q = select(Pledge).where(Pledge.farmer_id == farmer.id, Pledge.status == "pledged",
                             Pledge.week >= monday(today))
    if crop_id is not None:
        q = q.where(Pledge.crop_id == crop_id)
    return list(session.scalars(q.order_by(Pledge.week, Pledge.id)))


def _check_open(row: Pledge, today: dt.date) -> None:
    if row.status != "pledged" or row.week < monday(today):
        raise Refusal("sales.cancel.not_open", id=row.id)


def change_pledge(session: Session, row: Pledge, grams: int, week: dt.date, today: dt.date) -> int:
    """Set an open pledge to ``grams`` for the ISO week of ``week`` (same centre); returns its
    grams before. Locks the centre like :func:`place`; the pledge's own grams count as free in
    its season. Raises ``ValueError`` for ``grams`` ≤ 0, ``Refusal("sales.cancel.not_open")``
    for a pledge cancelled or of a past week, ``Refusal("sales.sell.week")`` for a past week,
    ``Refusal("sales.change.week_taken")`` when another open pledge of the crop has that week,
    and :class:`CentreFull`."""
    if grams <= 0:
        raise ValueError("grams must be positive")
    centre = session.get(CollectionCentre, row.centre_id)
    _lock(session, centre)
    session.refresh(row)
    _check_open(row, today)
    week = monday(week)
    if week < monday(today):
        raise Refusal("sales.sell.week")
    other = session.scalar(select(Pledge.id).where(
        Pledge.farmer_id == row.farmer_id, Pledge.crop_id == row.crop_id, Pledge.week == week,
        Pledge.status == "pledged", Pledge.id != row.id))
    if other is not None:
        raise Refusal("sales.change.week_taken", id=other, week=week.isocalendar().week)
    season = week.isocalendar().year
    free = centre.capacity_g - pledged_g(session, centre, season) + (row.grams if row.season == season else 0)
    if grams > free:
        raise CentreFull(centre, max(free, 0))
    was = row.grams
    row.grams, row.week, row.season = grams, week, season
    session.flush()
    return was


def cancel_pledge(session: Session, row: Pledge, today: dt.date) -> None:
    """Cancel an open pledge (kept as ``cancelled``): its grams are free again at once.
    ``Refusal("sales.cancel.not_open")`` for a pledge cancelled already or of a past week."""
    session.refresh(row)
    _check_open(row, today)
    row.status = "cancelled"
    session.flush()


# ---------------------------------------------------------------- centres, as staff keep them

def _names(names: dict) -> dict:
    """``names`` checked: one non-empty name of at most :data:`MAX_CENTRE_NAME` characters in each of
    tg, ru, uz, en, and optionally a short one (``<lang>_short``) (``ValueError`` naming what is wrong)."""
    out = {lang: " ".join((names.get(lang) or "").split()) for lang in ("tg", "ru", "uz", "en")}
    missing = [lang for lang, name in out.items() if not name]
    if missing:
        raise ValueError(f"a name is needed in every language; missing: {', '.join(missing)}")
    # short names (``<lang>_short``, ``service.prices.market.Market.name``) are optional
    out.update({f"{lang}_short": " ".join(names[f"{lang}_short"].split()) for lang in ("tg", "ru", "uz", "en")
                if (names.get(f"{lang}_short") or "").strip()})
    long = [lang for lang, name in out.items() if len(name) > MAX_CENTRE_NAME]
    if long:
        raise ValueError(f"names are at most {MAX_CENTRE_NAME} characters: {', '.join(long)}")
    return out


def by_code(session: Session, code: str) -> CollectionCentre | None:
    """The centre whose market has ``code`` (case-insensitive), or None."""
    return session.scalar(select(CollectionCentre).join(Market, Market.id == CollectionCentre.market_id)
                          .where(func.upper(Market.code) == (code or "").strip().upper()))


def add_centre(session: Session, code: str, cluster_id: str, capacity_g: int, names: dict) -> CollectionCentre:
    """Add the collection centre ``code`` of the cluster ``cluster_id`` (it takes the cluster's crop, and
    its market lies in the cluster's district), ``capacity_g`` grams per season, ``names``
    ``{tg, ru, uz, en}``. ``ValueError``: an unknown cluster, a cluster that has a centre, a code in
    use (or not 2-24 letters and digits), a capacity ≤ 0, names missing or too long."""
    code = (code or "").strip().upper()
    if not (2 <= len(code) <= 24 and code.isascii() and code.isalnum()):
        raise ValueError(f"{code!r}: a centre code is 2-24 letters and digits")
    cluster = session.get(CommodityCluster, cluster_id)
    if cluster is None:
        raise ValueError(f"no cluster {cluster_id!r}")
    held = session.scalar(select(CollectionCentre).where(CollectionCentre.cluster_id == cluster_id))
    if held is not None:
        raise ValueError(f"cluster {cluster_id} has the centre {market_of(session, held).code} already (edit it)")
    if session.scalar(select(Market.id).where(func.upper(Market.code) == code)) is not None:
        raise ValueError(f"the code {code} is in use")
    if capacity_g <= 0:
        raise ValueError("the capacity must be positive")
    market = Market(code=code, district_id=cluster.district_id, kind="collection_centre", names=_names(names))
    session.add(market)
    session.flush()
    centre = CollectionCentre(market_id=market.id, crop_id=cluster.crop_id, cluster_id=cluster.id,
                              capacity_g=capacity_g)
    session.add(centre)
    session.flush()
    return centre


def edit_centre(session: Session, centre: CollectionCentre, *, capacity_g: int | None = None,
                names: dict | None = None, cluster_id: str | None = None) -> CollectionCentre:
    """Change a centre's capacity (grams per season), names (the languages given replace those
    names) or cluster (another cluster of the same crop without a centre; the market moves to its
    district). ``ValueError``: a capacity ≤ 0, a name too long or empty, an unknown cluster, one of
    another crop or with a centre already, or a new cluster while the centre holds open pledges.
    A capacity below what is already pledged is allowed (the pledges stay; new ones are refused)."""
    market = market_of(session, centre)
    if capacity_g is not None:
        if capacity_g <= 0:
            raise ValueError("the capacity must be positive")
        centre.capacity_g = capacity_g
    if names:
        given = {k: v for k, v in names.items() if v is not None}
        kept = {k: v for k, v in market.names.items()  # a new full name drops the old short one
                if not (k.endswith("_short") and k.removesuffix("_short") in given)}
        market.names = _names({**kept, **given})
    if cluster_id is not None and cluster_id != centre.cluster_id:
        cluster = session.get(CommodityCluster, cluster_id)
        if cluster is None:
            raise ValueError(f"no cluster {cluster_id!r}")
        if cluster.crop_id != centre.crop_id:
            raise ValueError(f"cluster {cluster_id} grows {cluster.crop_id}, the centre takes {centre.crop_id}")
        if session.scalar(select(CollectionCentre.id).where(CollectionCentre.cluster_id == cluster_id)):
            raise ValueError(f"cluster {cluster_id} has a centre already")
        if session.scalar(select(Pledge.id).where(Pledge.centre_id == centre.id, Pledge.status == "pledged").limit(1)):
            raise ValueError("the centre holds open pledges: it cannot move to another cluster")
        centre.cluster_id, market.district_id = cluster.id, cluster.district_id
    session.flush()
    return centre


@dataclass(frozen=True)
class CentreState:
    """A centre as staff list it: its market ``code``, ``names``, ``crop_id``, ``cluster_id``,
    ``district_id``, ``capacity_g`` and ``pledged_g`` (open pledges of ``season``)."""

    code: str
    names: dict
    crop_id: str
    cluster_id: str
    district_id: str
    capacity_g: int
    season: int
    pledged_g: int


def centres(session: Session, season: int) -> list[CentreState]:
    """Every collection centre with its open pledges of ``season``, by code."""
    out = []
    for centre in session.scalars(select(CollectionCentre)):
        market = market_of(session, centre)
        out.append(CentreState(market.code, dict(market.names), centre.crop_id, centre.cluster_id,
                               market.district_id, centre.capacity_g, season, pledged_g(session, centre, season)))
    return sorted(out, key=lambda c: c.code)


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
               today: dt.date, *, scope=None, actor=None) -> BuyerOffer:
    """Record a buyer's offer and queue it to every farmer with an open pledge of ``crop_id``
    for this week or later, in each farmer's language (``text`` as typed); several pledging
    profiles of one phone get one SMS naming them, in the first one's language (main first).
    ``scope`` (``service.staff.scope.Scope`` of a staff sender; None: everybody, the CLI) keeps
    the pledging farmers to those it covers (``Scope.farmers()``); with ``actor``
    (``service.audit.log.Actor``) an ``offer.make`` audit entry is written in the same transaction.
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
    pledging = select(Pledge.farmer_id).where(
        Pledge.crop_id == crop_id, Pledge.status == "pledged", Pledge.week >= monday(today))
    if scope is not None:
        pledging = pledging.where(Pledge.farmer_id.in_(select(Farmer.id).where(scope.farmers())))
    farmer_ids = session.scalars(pledging.distinct()).all()
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
    if actor is not None:
        from service.audit import log as audit

        audit.record(session, actor, "offer.make", "buyer_offer", offer.id,
                     after={"crop": crop_id, "price_diram": price_diram, "text": text,
                            "farmers_told": offer.farmers_told})
    return offer


def receipt(session: Session, pledge: Pledge, lang: str, was_g: int | None = None) -> dict:
    """The ``sales.sell.done`` receipt of a pledge, the same by SMS and USSD: ``{"key": ..., **placeholders}``
    in ``lang`` (quantity in kg or t, the centre's free capacity in t); ``sales.sell.changed``
    with ``was`` (the amount before) when ``was_g`` is given (a changed pledge)."""
    centre = session.get(CollectionCentre, pledge.centre_id)
    free = centre.capacity_g - pledged_g(session, centre, pledge.season)
    extra = {} if was_g is None else {"key": "sales.sell.changed", "was": quantity.mass(was_g, lang)}
    return {"key": "sales.sell.done", **pledge_line(session, pledge, lang),
            "centre": market_of(session, centre).name(lang, short=True), "free": quantity.tonnes(free, lang), **extra}


def pledge_line(session: Session, pledge: Pledge, lang: str) -> dict:
    """The placeholders naming a pledge in ``lang``: ``id``, ``crop``, ``qty``, ``week`` (ISO number)
    and ``date`` (its Monday, dd.mm)."""
    return {"id": pledge.id, "crop": session.get(Crop, pledge.crop_id).name(lang),
            "qty": quantity.mass(pledge.grams, lang), "week": pledge.week.isocalendar().week,
            "date": pledge.week.strftime("%d.%m")}
