"""Crop cycles and their campaign reminders: what a farmer planted when, and what to tell them.

A farmer reports a sowing (``S``: nursery or direct sowing) or transplanting
(``T``) date for a crop (:func:`record_planting`; ``PLANTED <crop> [date]`` by
SMS or the USSD menu). The report opens a :class:`CropCycle` or corrects the
open one (a report within :data:`CYCLE_SPAN_DAYS` of its sowing date), and
plans the reminders of the crop's active campaign (``service.reminders.campaign``).

Reminder rows (:class:`Reminder`) are materialised one at a time per cycle:
each cycle holds at most one ``pending`` row, its next event; the scheduler
tick (:func:`queue_due`) turns due rows into outbox rows and plans the next
one. The UNIQUE (cycle, event) constraint and the outbox ``dedupe_key``
``rem:<cycle>:<event>`` are the idempotency keys: a farmer gets each event of
a cycle at most once, whatever restarts or overlapping ticks happen.

Late recording (the rule, ``docs/crop-calendars.md`` §9; tested in ``tests/test_crop_cycle.py``)
    When a farmer reports a date (first report or a correction), events whose
    due time has already passed are never sent as a backlog: they are marked
    ``skipped``. Of the past events, these are *closed* and can never be a
    catch-up (:func:`_closed`): those on a day before a reported date (a stage
    the farmer has finished: the nursery steps once transplanting is reported),
    the transplanting step itself (``T+0``) once transplanting is reported (the
    report says it is done), and, while the transplanting date is only an
    estimate, the steps after it (``T+n``: the service does not know the
    seedlings are in the field). At most ONE catch-up message is queued at
    once: the current step, i.e. the latest past event that is not closed,
    provided it was not sent before and fell due at most
    :data:`CATCH_UP_MAX_AGE` ago (an older step is no longer current). It is
    sent in its catch-up wording (:meth:`CampaignEvent.render_late`: the text
    key's ``_late`` variant, which does not say "today" or "in 2 days" of a
    moment that has passed). The events still ahead are scheduled as usual.
    A correction re-plans every reminder not yet sent; sent ones stay sent.

One reminder per phone and moment (``service.messaging.household``)
    Profiles of one household phone that have the same campaign event due in
    the same scheduler pass (husband and wife reported planting rice on the
    same day) get ONE SMS naming them (``"Gulnora, Rustam: <tip>"``), in the
    language of the first of them (main profile first); every reminder
    involved is marked ``sent``, each claimed once, and the outbox row carries
    the ``dedupe_key`` of the first person's reminder. The same event at the
    same due time on that phone is one *moment*: when a reminder of it (a
    catch-up of :func:`record_planting`, or one handled by the tick) finds the
    phone's message for that moment already in the outbox, it is not sent
    again; if that message is still ``queued`` its text is rewritten to name
    everybody concerned (a conditional UPDATE: once a dispatcher has claimed
    it, it goes out as it was).

Downtime
    :func:`queue_due` sends a reminder due up to ``grace`` ago (the scheduler
    was down or late) and marks older ones ``missed``, counted in its report;
    then it plans the cycle's next event (the first unhandled one after it,
    which may itself be due: it is handled in the same pass).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, Index, String, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from service.reminders import campaign as campaigns
from service.reminders.campaign import Campaign, CampaignEvent
from service.db import Base, utcnow
from service.messaging.encoding import measure
from service.errors import Refusal
from service.farmers.models import Farmer
from service.messaging.household import Person, addressed
from service.messaging.message import OutboundMessage, queue_many

log = logging.getLogger(__name__)

ANCHORS = campaigns.ANCHORS
CYCLE_SPAN_DAYS = 180       # a report this close to the open cycle's sowing date corrects it
MAX_AGE_DAYS = 365          # reports older than this are refused
CATCH_UP_MAX_AGE = dt.timedelta(days=7)
STATUSES = ("pending", "sent", "skipped", "missed")
DEFAULT_ZONE = ZoneInfo("Asia/Dushanbe")


class CropCycle(Base):
    """One season of one crop on one farmer's field.

    ``sown_on``/``transplanted_on``: the reported local dates (either may be
    None: the campaign's ``transplant_days`` estimates the other);
    ``campaign_id``: the crop's active campaign when the cycle opened (None: no reminders).
    """

    __tablename__ = "crop_cycle"
    __table_args__ = (Index("ix_crop_cycle_farmer_crop", "farmer_id", "crop_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"))
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"), index=True)
    sown_on: Mapped[dt.date | None] = mapped_column(Date)
    transplanted_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def dates(self, transplant_days: int) -> tuple[dt.date, dt.date]:
        """Effective (S, T): reported dates, the missing one estimated with ``transplant_days``."""
        gap = dt.timedelta(days=transplant_days)
        sown = self.sown_on or self.transplanted_on - gap
        return sown, self.transplanted_on or sown + gap


class Reminder(Base):
    """A campaign event for a crop cycle: ``due_at`` UTC; ``status`` one of :data:`STATUSES`;
    ``catch_up`` True for the one catch-up message of a late report; ``handled_at`` when it
    was sent, skipped or missed. Unique per (cycle, event)."""

    __tablename__ = "reminder"
    __table_args__ = (
        Index("uq_reminder_cycle_event", "cycle_id", "event_id", unique=True),
        Index("ix_reminder_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("crop_cycle.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("campaign_event.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(8), default="pending")
    catch_up: Mapped[bool] = mapped_column(default=False)
    handled_at: Mapped[dt.datetime | None]


@dataclass
class Planting:
    """What :func:`record_planting` did: the ``cycle``; ``corrected`` True when an open cycle
    was corrected; ``catch_up`` the event sent now as the catch-up (or None); ``skipped``
    events already past; ``next_due`` the next reminder's due time (UTC) or None."""

    cycle: CropCycle
    corrected: bool
    catch_up: CampaignEvent | None = None
    skipped: int = 0
    next_due: dt.datetime | None = None


def dedupe_key(cycle_id: int, event_id: int) -> str:
    """The outbox idempotency key of a reminder."""
    return f"rem:{cycle_id}:{event_id}"


def record_planting(session: Session, farmer: Farmer, crop_id: str, anchor: str = "S",
                    on: dt.date | None = None, *, now: dt.datetime | None = None,
                    zone: ZoneInfo = DEFAULT_ZONE) -> Planting:
    """Record that ``farmer`` sowed (``anchor="S"``) or transplanted (``"T"``) ``crop_id`` on local day ``on``.

    ``on`` defaults to today in ``zone`` (as of ``now``, aware UTC). Opens a
    crop cycle or corrects the open one, and (re)plans its reminders by the
    late-recording rule of the module docstring (the catch-up message is queued
    in the caller's transaction). Raises ``Refusal``: ``push.planted_future``
    (a date after today), ``push.planted_too_old`` (more than a year ago),
    ``push.planted_order`` (transplanting before sowing). ``ValueError`` for
    an anchor other than S/T.
    """
    if anchor not in ANCHORS:
        raise ValueError(f"anchor must be one of {ANCHORS}")
    now = now or utcnow()
    today = now.astimezone(zone).date()
    on = on or today
    if on > today:
        raise Refusal("push.planted_future", date=on.strftime("%d.%m.%Y"))
    if on < today - dt.timedelta(days=MAX_AGE_DAYS):
        raise Refusal("push.planted_too_old")
    campaign = campaigns.active_for(session, crop_id)
    cycle = latest_cycle(session, farmer, crop_id)
    if cycle is not None:
        cycle_days = _transplant_days(session, cycle)
        sown = on if anchor == "S" else on - dt.timedelta(days=cycle_days)
        if abs((cycle.dates(cycle_days)[0] - sown).days) > CYCLE_SPAN_DAYS:
            cycle = None
    corrected = cycle is not None
    if cycle is None:
        cycle = CropCycle(farmer_id=farmer.id, crop_id=crop_id, campaign_id=campaign.id if campaign else None)
        session.add(cycle)
    if anchor == "S":
        cycle.sown_on = on
    else:
        cycle.transplanted_on = on
    if cycle.sown_on and cycle.transplanted_on and cycle.transplanted_on < cycle.sown_on:
        raise Refusal("push.planted_order")
    cycle.updated_at = now
    session.flush()
    return _plan(session, cycle, now, zone, corrected)


def _transplant_days(session: Session, cycle: CropCycle) -> int:
    campaign = session.get(Campaign, cycle.campaign_id) if cycle.campaign_id else None
    return campaign.transplant_days if campaign else 0


def _plan(session: Session, cycle: CropCycle, now: dt.datetime, zone: ZoneInfo, corrected: bool) -> Planting:
    """Re-plan a cycle's reminders not yet sent (late-recording rule)."""
    result = Planting(cycle, corrected)
    if cycle.campaign_id is None:
        return result
    session.execute(delete(Reminder).where(Reminder.cycle_id == cycle.id,
                                           Reminder.status.in_(("pending", "skipped"))))
    handled = set(session.scalars(select(Reminder.event_id).where(Reminder.cycle_id == cycle.id)))
    sown, transplanted = cycle.dates(_transplant_days(session, cycle))
    timeline = sorted(((e.due_at(sown, transplanted, zone), e.id, e) for e in campaigns.events_of(session, cycle.campaign_id)),
                      key=lambda t: t[:2])
    past = [(due, e) for due, _, e in timeline if due <= now]
    ahead = [(due, e) for due, _, e in timeline if due > now and e.id not in handled]
    open_ = [(due, e) for due, e in past if not _closed(cycle, e, sown, transplanted)]
    current = open_[-1] if open_ else None
    for due, event in past:
        if event.id in handled:
            continue
        if current and event is current[1] and now - due <= CATCH_UP_MAX_AGE:
            farmer = session.get(Farmer, cycle.farmer_id)
            siblings = _sent_at_moments(session, {(farmer.phone, event.id, due)})
            session.add(Reminder(cycle_id=cycle.id, event_id=event.id, due_at=due, status="sent",
                                 catch_up=True, handled_at=now))
            if not _join_sent(session, event, siblings.get((farmer.phone, event.id, due), []), [_person(farmer)],
                              render=event.render_late):
                queue_many(session, [{"phone": farmer.phone, "farmer_id": farmer.id, "language": farmer.language,
                                      "text": event.render_late(farmer.language),
                                      "dedupe_key": dedupe_key(cycle.id, event.id)}], kind="tip")
            result.catch_up = event
        else:
            session.add(Reminder(cycle_id=cycle.id, event_id=event.id, due_at=due, status="skipped",
                                 handled_at=now))
            result.skipped += 1
    if ahead:
        due, event = ahead[0]
        session.add(Reminder(cycle_id=cycle.id, event_id=event.id, due_at=due, status="pending"))
        result.next_due = due
    session.flush()
    return result


def _closed(cycle: CropCycle, event: CampaignEvent, sown: dt.date, transplanted: dt.date) -> bool:
    """True when a past ``event`` can no longer be the catch-up of ``cycle`` (module docstring):
    its day is before a reported date, it is the reported transplanting step (``T+0``), or it
    comes after a transplanting date that is only an estimate (``T+n``, n > 0)."""
    day = event.local_day(sown, transplanted)
    if any(reported and day < reported for reported in (cycle.sown_on, cycle.transplanted_on)):
        return True
    if event.anchor == "T":
        return event.offset_days == 0 if cycle.transplanted_on else event.offset_days > 0
    return False


def latest_cycle(session: Session, farmer: Farmer, crop_id: str) -> CropCycle | None:
    """The farmer's most recent crop cycle of ``crop_id``, or None."""
    return session.scalar(select(CropCycle).where(CropCycle.farmer_id == farmer.id, CropCycle.crop_id == crop_id)
                          .order_by(CropCycle.id.desc()).limit(1))


def next_due(session: Session, cycle: CropCycle) -> dt.datetime | None:
    """When the cycle's next reminder is due (UTC), or None when none is pending."""
    return session.scalar(select(Reminder.due_at).where(Reminder.cycle_id == cycle.id, Reminder.status == "pending")
                          .order_by(Reminder.due_at).limit(1))


@dataclass(frozen=True)
class Upcoming:
    """A reminder still to come for a crop cycle: the campaign ``event`` and when it is due
    (``due_at``, aware UTC); ``pending`` True for the one already planned (the cycle's pending
    row), False for those after it (planned in turn; they move if a date is reported)."""

    event: CampaignEvent
    due_at: dt.datetime
    pending: bool


def upcoming(session: Session, cycle: CropCycle, now: dt.datetime, *, zone: ZoneInfo = DEFAULT_ZONE,
             limit: int = 5) -> list[Upcoming]:
    """The next ``limit`` reminders of ``cycle`` as of ``now`` (aware UTC), soonest first.

    The pending reminder, then the events not yet handled that fall after ``now``, on the
    cycle's dates as they stand (a transplanting date not reported is estimated). Empty when
    the cycle has no campaign or nothing pending (finished, or stopped with ``PLANTED <crop> OFF``:
    nothing more will be sent)."""
    if cycle.campaign_id is None:
        return []
    rows = session.execute(select(Reminder.event_id, Reminder.status, Reminder.due_at)
                           .where(Reminder.cycle_id == cycle.id)).all()
    pending = {r.event_id: r.due_at for r in rows if r.status == "pending"}
    if not pending:
        return []
    handled = {r.event_id for r in rows if r.status != "pending"}
    sown, transplanted = cycle.dates(_transplant_days(session, cycle))
    found = []
    for event in campaigns.events_of(session, cycle.campaign_id):
        if event.id in pending:
            found.append(Upcoming(event, pending[event.id], True))
        elif event.id not in handled and (due := event.due_at(sown, transplanted, zone)) > now:
            found.append(Upcoming(event, due, False))
    found.sort(key=lambda u: (u.due_at, not u.pending, u.event.id))
    return found[:limit]


def next_for_farmer(session: Session, farmer: Farmer, now: dt.datetime, *, zone: ZoneInfo = DEFAULT_ZONE,
                    crop_id: str | None = None, limit: int = 5) -> list[tuple[CropCycle, list[Upcoming]]]:
    """The farmer's latest crop cycle of each crop (or of ``crop_id``), ordered by crop, each with
    its next ``limit`` reminders as of ``now`` (:func:`upcoming`; an empty list when none will come)."""
    q = select(CropCycle).where(CropCycle.farmer_id == farmer.id).order_by(CropCycle.crop_id, CropCycle.id.desc())
    if crop_id is not None:
        q = q.where(CropCycle.crop_id == crop_id)
    latest: dict[str, CropCycle] = {}
    for cycle in session.scalars(q):
        latest.setdefault(cycle.crop_id, cycle)
    return [(cycle, upcoming(session, cycle, now, zone=zone, limit=limit)) for cycle in latest.values()]


def stop_reminders(session: Session, farmer: Farmer, crop_id: str) -> int:
    """The farmer no longer grows ``crop_id``: drop the pending reminders of their cycles of it
    (the tick plans a cycle's next reminder only after handling its pending one, so nothing
    more is sent); returns how many were dropped. A later :func:`record_planting` plans again."""
    cycles = select(CropCycle.id).where(CropCycle.farmer_id == farmer.id, CropCycle.crop_id == crop_id)
    dropped = session.execute(delete(Reminder).where(Reminder.cycle_id.in_(cycles), Reminder.status == "pending")
                              .execution_options(synchronize_session=False))
    return dropped.rowcount


@dataclass
class TickReport:
    """What :func:`queue_due` did: ``sent`` messages queued to the outbox, ``shared`` reminders
    handled by another profile's message on the same phone (no SMS of their own), ``missed``
    (due longer than the grace ago) counted by ``campaign.event`` code in ``missed_events``."""

    sent: int = 0
    shared: int = 0
    missed: int = 0
    missed_events: Counter = field(default_factory=Counter)


def queue_due(session: Session, now: dt.datetime, *, zone: ZoneInfo = DEFAULT_ZONE,
              grace: dt.timedelta = dt.timedelta(hours=6), chunk: int = 5000) -> TickReport:
    """Queue every pending reminder due at ``now`` (aware UTC), in chunks of ``chunk`` rows,
    COMMITTING after each chunk; returns a :class:`TickReport`.

    A reminder due within ``grace`` before ``now`` is claimed ``sent`` and becomes an
    outbox row (kind ``tip``, the farmer's current language); an older one is
    ``missed``. Reminders of the same event for several profiles of one phone become
    one row naming them, and one whose phone already has its moment's message is
    folded into it (module docstring). Each handled reminder's cycle gets its next
    event planned in the same transaction. Rows are claimed with a conditional
    UPDATE and the outbox insert skips existing ``dedupe_key`` values, so an
    overlapping run sends nothing twice.
    """
    report = TickReport()
    events: dict[int, CampaignEvent] = {e.id: e for e in session.scalars(select(CampaignEvent))}
    by_campaign: dict[int, list[CampaignEvent]] = {}
    for event in events.values():
        by_campaign.setdefault(event.campaign_id, []).append(event)
    codes = {c.id: c.code for c in session.scalars(select(Campaign))}
    texts: dict[tuple[int, str], str] = {}
    housemates = aliased(Farmer)
    profiles = (select(func.count(housemates.id)).where(housemates.phone == Farmer.phone)
                .correlate(Farmer).scalar_subquery())
    while True:
        due = session.execute(
            select(Reminder.id, Reminder.cycle_id, Reminder.event_id, Reminder.due_at,
                   Farmer.id.label("farmer_id"), Farmer.phone, Farmer.language, Farmer.name, Farmer.is_main,
                   profiles.label("profiles"))
            .join(CropCycle, CropCycle.id == Reminder.cycle_id).join(Farmer, Farmer.id == CropCycle.farmer_id)
            .where(Reminder.status == "pending", Reminder.due_at <= now)
            .order_by(Reminder.due_at, Reminder.id).limit(chunk)).all()
        if not due:
            break
        fresh = [r for r in due if now - r.due_at <= grace]
        stale = [r for r in due if now - r.due_at > grace]
        claimed = _claim(session, [r.id for r in fresh], "sent", now)
        missed = _claim(session, [r.id for r in stale], "missed", now)
        groups: dict[tuple[str, int], list] = {}  # (phone, event) → its claimed reminders
        for r in fresh:
            if r.id in claimed:
                groups.setdefault((r.phone, r.event_id), []).append(r)
        siblings = _sent_at_moments(session, {(r.phone, r.event_id, r.due_at) for members in groups.values()
                                              for r in members if r.profiles > 1}, exclude=claimed)
        rows = []
        for (phone, event_id), members in groups.items():
            event = events[event_id]
            earlier = [s for r in members for s in siblings.get((phone, event_id, r.due_at), [])]
            people = [_person(r) for r in members]
            if earlier and _join_sent(session, event, earlier, people):
                report.shared += len(members)
                continue
            if len({r.farmer_id for r in members}) == 1:
                r = members[0]
                key = (event_id, r.language)
                if key not in texts:
                    texts[key] = event.render(r.language)
                person, text = _person(r), texts[key]
            else:
                person, text = addressed(event.render, people)
            first = min((r for r in members if r.farmer_id == person.farmer_id), key=lambda r: r.cycle_id)
            rows.append({"phone": phone, "farmer_id": person.farmer_id, "language": person.language, "text": text,
                         "dedupe_key": dedupe_key(first.cycle_id, event_id)})
            report.shared += len(members) - 1
        queue_many(session, rows, kind="tip", not_before=now)
        for r in stale:
            if r.id in missed:
                event = events[r.event_id]
                report.missed_events[f"{codes[event.campaign_id]}.{event.code}"] += 1
        report.sent += len(rows)
        report.missed += len(missed)
        floors: dict[int, tuple[dt.datetime, int]] = {}
        for r in due:
            if r.id in claimed or r.id in missed:
                floors[r.cycle_id] = max(floors.get(r.cycle_id, (r.due_at, r.event_id)), (r.due_at, r.event_id))
        _plan_next(session, floors, by_campaign, zone)
        session.commit()
    if report.missed:
        log.warning("scheduler: %d reminders missed (due more than %s ago): %s", report.missed, grace,
                    dict(report.missed_events))
    return report


def _person(row) -> Person:
    """A :class:`~service.messaging.household.Person` from a ``Farmer`` or a row with its columns."""
    farmer_id = row.farmer_id if hasattr(row, "farmer_id") else row.id
    return Person(farmer_id, row.name, row.language, bool(row.is_main))


def _sent_at_moments(session: Session, moments: set[tuple[str, int, dt.datetime]],
                     exclude: set[int] = frozenset()) -> dict[tuple[str, int, dt.datetime], list[tuple[int, Person]]]:
    """Reminders already ``sent`` at each moment ``(phone, event id, due_at)``, but those in
    ``exclude`` (reminder ids): ``{moment: [(cycle id, person)]}``."""
    if not moments:
        return {}
    found: dict[tuple[str, int, dt.datetime], list[tuple[int, Person]]] = {}
    for r in session.execute(
            select(Reminder.id, Reminder.cycle_id, Reminder.event_id, Reminder.due_at, Farmer.id.label("farmer_id"),
                   Farmer.phone, Farmer.name, Farmer.language, Farmer.is_main)
            .join(CropCycle, CropCycle.id == Reminder.cycle_id).join(Farmer, Farmer.id == CropCycle.farmer_id)
            .where(Reminder.status == "sent", Farmer.phone.in_(sorted({m[0] for m in moments})),
                   Reminder.event_id.in_(sorted({m[1] for m in moments})),
                   Reminder.due_at.in_(sorted({m[2] for m in moments})))):
        moment = (r.phone, r.event_id, r.due_at)
        if moment in moments and r.id not in exclude:
            found.setdefault(moment, []).append((r.cycle_id, _person(r)))
    return found


def _join_sent(session: Session, event: CampaignEvent, earlier: list[tuple[int, Person]],
               people: list[Person], render=None) -> bool:
    """``people`` have ``event`` due at a moment whose message their phone already has in the
    outbox (that of the ``earlier`` reminders, ``(cycle id, person)``): True, and the message,
    when still ``queued``, rewritten to name everybody (with ``render(lang)``, default
    ``event.render``); False when there is no such message."""
    if not earlier:
        return False
    found = session.execute(
        select(OutboundMessage.id, OutboundMessage.status)
        .where(OutboundMessage.dedupe_key.in_(sorted({dedupe_key(c, event.id) for c, _ in earlier})))
        .order_by(OutboundMessage.id).limit(1)).first()
    if found is None:
        return False
    if found.status == "queued":
        person, text = addressed(render or event.render, [p for _, p in earlier] + people)
        m = measure(text)
        session.execute(update(OutboundMessage)
                        .where(OutboundMessage.id == found.id, OutboundMessage.status == "queued")
                        .values(text=m.text, encoding=m.encoding, segments=m.segments, language=person.language,
                                farmer_id=person.farmer_id)
                        .execution_options(synchronize_session=False))
    return True


def _claim(session: Session, ids: list[int], status: str, now: dt.datetime) -> set[int]:
    if not ids:
        return set()
    return set(session.scalars(
        update(Reminder).where(Reminder.id.in_(ids), Reminder.status == "pending")
        .values(status=status, handled_at=now).returning(Reminder.id)
        .execution_options(synchronize_session=False)))


def _plan_next(session: Session, floors: dict[int, tuple[dt.datetime, int]],
               by_campaign: dict[int, list[CampaignEvent]], zone: ZoneInfo) -> None:
    """Insert each cycle's next pending reminder: its first unhandled event after the cycle's
    floor ``(due_at, event id)`` (the reminder just handled), possibly already due."""
    if not floors:
        return
    ids = sorted(floors)
    handled: dict[int, set[int]] = {}
    for cycle_id, event_id in session.execute(select(Reminder.cycle_id, Reminder.event_id)
                                              .where(Reminder.cycle_id.in_(ids))):
        handled.setdefault(cycle_id, set()).add(event_id)
    cycles = session.execute(
        select(CropCycle.id, CropCycle.campaign_id, CropCycle.sown_on, CropCycle.transplanted_on,
               Campaign.transplant_days)
        .join(Campaign, Campaign.id == CropCycle.campaign_id).where(CropCycle.id.in_(ids))).all()
    rows = []
    for cycle_id, campaign_id, sown_on, transplanted_on, transplant_days in cycles:
        gap = dt.timedelta(days=transplant_days)
        sown = sown_on or transplanted_on - gap
        transplanted = transplanted_on or sown + gap
        done = handled.get(cycle_id, set())
        upcoming = [(e.due_at(sown, transplanted, zone), e.id) for e in by_campaign.get(campaign_id, [])
                    if e.id not in done]
        upcoming = [t for t in upcoming if t > floors[cycle_id]]
        if upcoming:
            due, event_id = min(upcoming)
            rows.append({"cycle_id": cycle_id, "event_id": event_id, "due_at": due, "status": "pending",
                         "catch_up": False})
    if rows:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(Reminder).on_conflict_do_nothing(), rows)


def replan_campaign(session: Session, campaign_id: int, now: dt.datetime, zone: ZoneInfo = DEFAULT_ZONE) -> int:
    """After a campaign's events were edited: re-plan the next reminder of every cycle of the
    campaign that has one pending (the first unhandled event due after ``now``); returns how
    many cycles were re-planned. Events already sent are not sent again; an event edited or
    added into the past is not sent as a backlog."""
    cycle_ids = set(session.scalars(select(Reminder.cycle_id).join(CropCycle, CropCycle.id == Reminder.cycle_id)
                                    .where(CropCycle.campaign_id == campaign_id, Reminder.status == "pending")))
    if not cycle_ids:
        return 0
    session.execute(delete(Reminder).where(Reminder.cycle_id.in_(cycle_ids), Reminder.status == "pending"))
    by_campaign = {campaign_id: campaigns.events_of(session, campaign_id)}
    _plan_next(session, {cycle_id: (now, 0) for cycle_id in cycle_ids}, by_campaign, zone)
    session.flush()
    return len(cycle_ids)
