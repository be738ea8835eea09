"""Campaigns: agronomy reminders at day offsets from a crop cycle's dates, kept as data.

A :class:`Campaign` belongs to one crop and season (at most one active
campaign per crop) and lists :class:`CampaignEvent` rows: an anchor (``S``
nursery or direct sowing, ``T`` transplanting; ``docs/crop-calendars.md`` §1),
an offset in days, the local delivery hour (``TIMEZONE``) and the text, either
a key of ``templates_sms`` (``campaigns.rice_sri.weed1``) or texts per
language stored on the event. When a farmer reports only one anchor the other
is estimated with the campaign's ``transplant_days`` (``T = S + transplant_days``).
Rows of the calendar anchored on the harvest day ``H`` are expressed as
offsets from ``T`` or ``S`` (derived; see :data:`SEED`).

Staff list, add and edit campaigns and events without code
(``flask --app service campaign ...``); :func:`load_seed` loads the built-in
SRI rice, tomato and onion calendars (``docs/crop-calendars.md`` §2–§4) into an
empty table. Scheduling the reminders of a crop cycle is ``service.reminders.crop_cycle``.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.db import Base
from service.reference.names import LANGUAGES

ANCHORS = ("S", "T")
# hours a campaign event may be delivered at (local time): inside the 07:00-21:00 send window
HOURS = range(7, 21)
#: suffix of the catch-up wording of a campaign text (``campaigns.rice_sri.transplant_late``)
LATE = "_late"


class Campaign(Base):
    """A reminder campaign: ``code`` (``rice_sri``), ``crop_id``, ``season`` (free label),
    ``transplant_days`` (default days from S to T), ``active`` (at most one active per crop)."""

    __tablename__ = "campaign"
    __table_args__ = (
        Index("uq_campaign_active_crop", "crop_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"), index=True)
    season: Mapped[str] = mapped_column(String(40), default="main")
    transplant_days: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class CampaignEvent(Base):
    """One reminder of a campaign.

    ``code`` unique within the campaign; ``anchor`` ``S``/``T``; ``offset_days``
    from the anchor date (may be negative); ``hour`` local delivery hour
    (7..20); ``text_key`` a ``templates_sms`` key, or ``texts`` ``{lang: text}``
    (used when ``text_key`` is empty; Tajik is the fallback language).
    """

    __tablename__ = "campaign_event"
    __table_args__ = (Index("uq_campaign_event_code", "campaign_id", "code", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    anchor: Mapped[str] = mapped_column(String(1), default="S")
    offset_days: Mapped[int] = mapped_column(default=0)
    hour: Mapped[int] = mapped_column(default=8)
    text_key: Mapped[str | None] = mapped_column(String(80))
    texts: Mapped[dict | None]

    def render(self, lang: str) -> str:
        """The event's SMS text in ``lang`` (Tajik when missing)."""
        if self.text_key:
            return templates_sms.text(self.text_key, lang)
        texts = self.texts or {}
        return texts.get(lang) or texts.get("tg") or next(iter(texts.values()), "")

    def gist(self, lang: str) -> str:
        """The text's first clause without its crop prefix, for a list of tips on one screen:
        ``"Rice: drain the nursery now. Transplant in 2 days."`` → ``"drain the nursery now"``."""
        text = self.render(lang)
        head, sep, rest = text.partition(": ")
        if sep and " " not in head.strip():
            text = rest
        return re.split(r"[.;:!?](?:\s|$)", text, maxsplit=1)[0].strip() or text

    def render_late(self, lang: str) -> str:
        """The event's text when it is sent after its moment, as the one catch-up of a late
        report: the text key's ``<key>_late`` variant when there is one (it does not speak of
        "today" or "in 2 days" of a moment that has passed), else :meth:`render`."""
        if self.text_key and templates_sms.has(f"{self.text_key}{LATE}"):
            return templates_sms.text(f"{self.text_key}{LATE}", lang)
        return self.render(lang)

    def local_day(self, sown_on: dt.date, transplanted_on: dt.date) -> dt.date:
        """The local day this event falls on, given the cycle's S and T dates."""
        return (sown_on if self.anchor == "S" else transplanted_on) + dt.timedelta(days=self.offset_days)

    def due_at(self, sown_on: dt.date, transplanted_on: dt.date, zone: ZoneInfo) -> dt.datetime:
        """When the reminder is due: its local day at ``hour`` in ``zone``, as aware UTC."""
        local = dt.datetime.combine(self.local_day(sown_on, transplanted_on), dt.time(self.hour), tzinfo=zone)
        return local.astimezone(dt.timezone.utc)


class CampaignError(ValueError):
    """A campaign or event edit that is not allowed (unknown crop, anchor, hour, text ...)."""


# Built-in calendars: code → (crop, season, transplant_days, [(event code, anchor, offset, hour)]).
# Text keys are ``campaigns.<campaign code>.<event code>``. Rows before S (seed selection, group
# orders) cannot be scheduled from a reported sowing date and are left to broadcasts.
# Harvest-anchored rows are derived: rice H ≈ T+140, tomato H ≈ T+60, autumn onion H ≈ S+240.
SEED: dict[str, tuple[str, str, int, list[tuple[str, str, int, int]]]] = {
    "rice_sri": ("rice", "main", 10, [
        ("nursery", "S", 0, 8), ("field_prep", "S", 5, 8), ("nursery_water", "S", 6, 8),
        ("drain_nursery", "T", -2, 8), ("transplant", "T", 0, 7), ("moist", "T", 1, 8),
        ("gap_fill", "T", 7, 8), ("weed1", "T", 10, 7), ("awd", "T", 12, 8), ("weed2", "T", 20, 7),
        ("weed3", "T", 30, 7), ("weed4", "T", 40, 7), ("pi_water", "T", 45, 8), ("drain_field", "T", 125, 8),
    ]),
    "tomato": ("tomato", "open field", 45, [
        ("nursery", "S", 0, 8), ("frost_check", "T", -3, 8), ("transplant", "T", 0, 7),
        ("stake", "T", 14, 8), ("sale_plan", "T", 50, 8), ("harvest", "T", 60, 7),
    ]),
    "onion": ("onion", "autumn sowing", 0, [
        ("thin_check", "S", 21, 8), ("thin_check_again", "S", 28, 8), ("lift_plan", "S", 226, 8),
        ("harvest", "S", 240, 7), ("next_crop", "S", 247, 8),
    ]),
}


def load_seed(session: Session) -> int:
    """Add the built-in campaigns of :data:`SEED` that are missing (by code); returns how many."""
    have = set(session.scalars(select(Campaign.code)))
    added = 0
    for code, (crop_id, season, transplant_days, events) in SEED.items():
        if code in have:
            continue
        campaign = Campaign(code=code, crop_id=crop_id, season=season, transplant_days=transplant_days,
                            active=not active_for(session, crop_id))
        session.add(campaign)
        session.flush()
        for event_code, anchor, offset, hour in events:
            session.add(CampaignEvent(campaign_id=campaign.id, code=event_code, anchor=anchor,
                                      offset_days=offset, hour=hour, text_key=f"campaigns.{code}.{event_code}"))
        added += 1
    session.flush()
    return added


def active_for(session: Session, crop_id: str) -> Campaign | None:
    """The crop's active campaign, or None."""
    return session.scalar(select(Campaign).where(Campaign.crop_id == crop_id, Campaign.active))


def by_code(session: Session, code: str) -> Campaign | None:
    """The campaign with this code, or None."""
    return session.scalar(select(Campaign).where(Campaign.code == code))


def events_of(session: Session, campaign_id: int) -> list[CampaignEvent]:
    """A campaign's events ordered by anchor, offset and id."""
    return list(session.scalars(select(CampaignEvent).where(CampaignEvent.campaign_id == campaign_id)
                                .order_by(CampaignEvent.anchor, CampaignEvent.offset_days, CampaignEvent.id)))


def _check_event(anchor: str, hour: int, text_key: str | None, texts: dict | None) -> None:
    if anchor not in ANCHORS:
        raise CampaignError(f"anchor must be one of {ANCHORS}")
    if hour not in HOURS:
        raise CampaignError(f"hour must be {HOURS.start}..{HOURS.stop - 1} (local time, outside quiet hours)")
    if text_key and not templates_sms.has(text_key):
        raise CampaignError(f"unknown text key {text_key!r}")
    if not text_key:
        if not texts or not texts.get("tg"):
            raise CampaignError("give a text key or at least the Tajik text")
        unknown = set(texts) - set(LANGUAGES)
        if unknown:
            raise CampaignError(f"unknown languages {sorted(unknown)}")


def add_event(session: Session, campaign: Campaign, *, code: str, anchor: str, offset_days: int, hour: int,
              text_key: str | None = None, texts: dict | None = None) -> CampaignEvent:
    """Add an event to ``campaign``; raises :class:`CampaignError` for a bad anchor, hour
    (7..20), text key, language or a code already used in the campaign. Pending reminders of
    running cycles pick the event up when their next reminder is planned."""
    _check_event(anchor, hour, text_key, texts)
    if session.scalar(select(CampaignEvent.id).where(CampaignEvent.campaign_id == campaign.id,
                                                     CampaignEvent.code == code)):
        raise CampaignError(f"event {code!r} exists in {campaign.code}")
    event = CampaignEvent(campaign_id=campaign.id, code=code, anchor=anchor, offset_days=offset_days, hour=hour,
                          text_key=text_key or None, texts=None if text_key else dict(texts))
    session.add(event)
    session.flush()
    return event


def edit_event(session: Session, event: CampaignEvent, **changes) -> CampaignEvent:
    """Change ``anchor``, ``offset_days``, ``hour``, ``text_key`` or ``texts`` of an event
    (``texts`` merges into the stored languages); :class:`CampaignError` as in :func:`add_event`.
    A reminder already sent is not sent again; pending reminders keep their due time until
    their cycle is re-planned (``service.reminders.crop_cycle.replan_pending``)."""
    unknown = set(changes) - {"anchor", "offset_days", "hour", "text_key", "texts"}
    if unknown:
        raise CampaignError(f"cannot change {sorted(unknown)}")
    texts = dict(event.texts or {})
    if changes.get("texts"):
        texts.update(changes["texts"])
    text_key = changes.get("text_key", event.text_key)
    if changes.get("texts") and "text_key" not in changes:
        text_key = None  # new texts replace the template
    anchor = changes.get("anchor", event.anchor)
    hour = changes.get("hour", event.hour)
    _check_event(anchor, hour, text_key, texts)
    event.anchor, event.hour, event.text_key = anchor, hour, text_key or None
    event.offset_days = changes.get("offset_days", event.offset_days)
    event.texts = texts or None
    session.flush()
    return event
