"""The crop calendars as the staff pages show and edit them (``docs/staff.md`` "Crop calendars on the web").

:func:`reach` counts, for each event of a campaign, the farmers it will still reach: the crop
cycles of farmers in a :class:`~service.staff.scope.Scope` that are running (they hold a pending
reminder, so the scheduler will plan their next events in turn), for which the event has not been
handled (sent, skipped or missed) and falls after ``now`` on the cycle's dates (a transplanting
date not reported is estimated, as ``crop_cycle.upcoming`` does); with the first and last local
day it falls on for them.

:func:`check_texts` measures an event's SMS text in each language (a reminder is ONE SMS: 160
GSM-7 septets or 70 UCS-2 units; Uzbek and English must stay GSM-7, as ``tests/test_campaign.py``
checks the built-in texts). :func:`edit` changes an event's day (offset from its anchor) and its
texts, re-plans the pending reminders of the campaign (``crop_cycle.replan_campaign``) and writes
one ``campaign.event.edit`` audit entry, in the caller's transaction.

What an edit can never do: send a farmer the same event twice. A reminder is one row per
(crop cycle, event) (UNIQUE ``uq_reminder_cycle_event``) and its SMS carries the outbox
``dedupe_key`` ``rem:<cycle>:<event>``; an edit keeps the event's id, so an event already sent,
skipped or missed for a cycle stays handled whatever its new day, and re-planning only ever
inserts events not yet handled (``ON CONFLICT DO NOTHING``). An event moved onto a day already
past for a cycle is not sent to it as a backlog (``replan_campaign`` plans the first event due
after ``now``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.log import Actor, record, snapshot
from service.errors import Refusal
from service.farmers.models import Farmer
from service.messaging.encoding import SMS_SINGLE, measure
from service.reminders import campaign as campaigns
from service.reminders.crop_cycle import CropCycle, Reminder, replan_campaign

#: the roles that may edit the calendar (region-wide: it reaches every farmer of the crop);
#: every other role but the market reporter reads it
EDIT_ROLES = ("admin", "extension_officer")
#: the roles that see the calendar pages (an administrator always does)
VIEW_ROLES = ("extension_officer", "cluster_coordinator", "vam_agent", "pg_leader")
#: the languages an event's text is edited in, in the order the form shows them
TEXT_LANGUAGES = ("tg", "ru", "uz", "en")
#: languages whose reminder text must be GSM-7 (Latin script)
GSM_LANGUAGES = ("uz", "en")
#: the longest text read from a form field (characters; one SMS is at most 160)
MAX_TEXT = 320
#: the day offsets an event may take (days from its anchor: sowing or transplanting)
OFFSET_RANGE = range(-60, 366)
AUDIT_FIELDS = ("code", "anchor", "offset_days", "hour", "text_key", "texts")


@dataclass(frozen=True)
class Reach:
    """Whom an event will still reach: ``farmers`` (distinct profiles), ``cycles``, ``pending``
    (of them, those whose next planned reminder it is), ``first``/``last`` the local days it falls on."""

    farmers: int = 0
    cycles: int = 0
    pending: int = 0
    first: dt.date | None = None
    last: dt.date | None = None


def reach(session: Session, campaign: campaigns.Campaign, scope, now: dt.datetime,
          zone: ZoneInfo) -> dict[int, Reach]:
    """``{event id: Reach}`` for every event of ``campaign`` (module docstring), counting the crop
    cycles of farmers ``scope`` covers, as of ``now`` (aware UTC); dates are local to ``zone``."""
    events = campaigns.events_of(session, campaign.id)
    rows = session.execute(
        select(CropCycle.id, CropCycle.farmer_id, CropCycle.sown_on, CropCycle.transplanted_on)
        .join(Farmer, Farmer.id == CropCycle.farmer_id)
        .where(CropCycle.campaign_id == campaign.id, scope.farmers(),
               CropCycle.id.in_(select(Reminder.cycle_id).where(Reminder.status == "pending")))).all()
    handled: dict[int, dict[int, str]] = {}
    if rows:
        for cycle_id, event_id, status in session.execute(
                select(Reminder.cycle_id, Reminder.event_id, Reminder.status)
                .where(Reminder.cycle_id.in_([r.id for r in rows]))):
            handled.setdefault(cycle_id, {})[event_id] = status
    gap = dt.timedelta(days=campaign.transplant_days)
    found: dict[int, dict] = {e.id: {"farmers": set(), "cycles": 0, "pending": 0, "days": []} for e in events}
    for r in rows:
        sown = r.sown_on or r.transplanted_on - gap
        transplanted = r.transplanted_on or sown + gap
        statuses = handled.get(r.id, {})
        for e in events:
            status = statuses.get(e.id)
            if status not in (None, "pending") or e.due_at(sown, transplanted, zone) <= now and status is None:
                continue
            slot = found[e.id]
            slot["farmers"].add(r.farmer_id)
            slot["cycles"] += 1
            slot["pending"] += status == "pending"
            slot["days"].append(e.local_day(sown, transplanted))
    return {eid: Reach(len(s["farmers"]), s["cycles"], s["pending"], min(s["days"], default=None),
                       max(s["days"], default=None)) for eid, s in found.items()}


@dataclass(frozen=True)
class TextCheck:
    """One language's text measured as one reminder SMS: ``text`` (normalised, as it will be
    sent), ``encoding``, ``units`` (septets or UCS-2 units), ``segments``, ``left`` (units left in
    one SMS; negative when over), ``problem`` (a staff-word key, or None when it may be sent) and
    ``params`` for it."""

    text: str
    encoding: str
    units: int
    segments: int
    left: int
    problem: str | None = None
    params: dict | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_text(lang: str, text: str) -> TextCheck:
    """Measure ``text`` (any length; cut to :data:`MAX_TEXT` first) as the reminder SMS in ``lang``."""
    m = measure((text or "").strip()[:MAX_TEXT])
    left = SMS_SINGLE[m.encoding] - m.units
    problem, params = None, None
    if not m.text.strip():
        problem = "campaigns.err.empty"
    elif m.segments > 1:
        problem, params = "campaigns.err.long", {"over": -left}
    elif lang in GSM_LANGUAGES and m.encoding != "GSM-7":
        bad = "".join(dict.fromkeys(ch for ch in m.text if measure(ch).encoding != "GSM-7"))
        problem, params = "campaigns.err.not_gsm", {"chars": bad[:10]}
    return TextCheck(m.text, m.encoding, m.units, m.segments, left, problem, params)


def check_texts(texts: dict[str, str]) -> dict[str, TextCheck]:
    """:func:`check_text` for each of :data:`TEXT_LANGUAGES` (a missing one is empty)."""
    return {lang: check_text(lang, texts.get(lang, "")) for lang in TEXT_LANGUAGES}


def parse_offset(text: str) -> int:
    """The day offset typed in a form (``"12"``, ``"-2"``, ``"+5"``); ``Refusal``
    ``campaigns.err.offset`` when it is not a whole number in :data:`OFFSET_RANGE`."""
    raw = (text or "").strip()[:8]
    try:
        value = int(raw)
    except ValueError:
        raise Refusal("campaigns.err.offset", low=OFFSET_RANGE.start, high=OFFSET_RANGE.stop - 1) from None
    if value not in OFFSET_RANGE:
        raise Refusal("campaigns.err.offset", low=OFFSET_RANGE.start, high=OFFSET_RANGE.stop - 1)
    return value


@dataclass(frozen=True)
class Edited:
    """What :func:`edit` did: ``changed`` (False: the form changed nothing) and ``replanned``
    (crop cycles whose next reminder was re-planned)."""

    changed: bool
    replanned: int


def edit(session: Session, campaign: campaigns.Campaign, event: campaigns.CampaignEvent, *, offset_days: int,
         texts: dict[str, str], actor: Actor, now: dt.datetime, zone: ZoneInfo) -> Edited:
    """Set ``event``'s offset (days from its anchor) and, when any differs from what it sends
    now, its texts in the four languages; re-plan the campaign's pending reminders as of ``now``
    and audit ``campaign.event.edit`` (before and after), all in the caller's transaction (not
    committed). ``Refusal`` (nothing changed): ``campaigns.err.offset``,
    ``campaigns.err.texts`` when a text fails :func:`check_text`. An event's text key (and its
    catch-up wording ``_late``) is kept while the texts are unchanged; edited texts replace it."""
    if offset_days not in OFFSET_RANGE:
        raise Refusal("campaigns.err.offset", low=OFFSET_RANGE.start, high=OFFSET_RANGE.stop - 1)
    checks = check_texts(texts)
    if not all(c.ok for c in checks.values()):
        raise Refusal("campaigns.err.texts")
    new_texts = {lang: c.text for lang, c in checks.items()}
    changes: dict = {}
    if offset_days != event.offset_days:
        changes["offset_days"] = offset_days
    if any(new_texts[lang] != event.render(lang) for lang in TEXT_LANGUAGES):
        changes["texts"] = new_texts
    if not changes:
        return Edited(False, 0)
    before = snapshot(event, AUDIT_FIELDS)
    try:
        campaigns.edit_event(session, event, **changes)
    except campaigns.CampaignError as exc:  # a rule of the campaign module the checks above did not see
        raise Refusal("campaigns.err.rule", reason=str(exc)[:200]) from None
    replanned = replan_campaign(session, campaign.id, now, zone)
    record(session, actor, "campaign.event.edit", "campaign_event", event.id, before=before,
           after=snapshot(event, AUDIT_FIELDS), note=f"campaign {campaign.code}; {replanned} crop cycles re-planned")
    return Edited(True, replanned)

