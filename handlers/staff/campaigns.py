"""The crop calendars on the web (``docs/staff.md`` "Crop calendars on the web").

``GET /staff/campaigns`` lists each campaign (SRI rice, tomato, onion) with its events in order:
anchor, day offset, local hour, the text in the page language and how many farmers of the
account's scope each event will still reach, with the days it falls on for them
(``service.reminders.calendars.reach``). ``GET /staff/campaigns/<campaign>/<event>`` is one
event with its form: the day offset and the text in Tajik, Russian, Uzbek and English, each
measured as one reminder SMS (encoding, segments, characters left). ``POST`` with
``action=check`` shows the measurement of the typed texts (no JavaScript needed); with
``action=save`` it saves through ``calendars.edit`` (re-plans the pending reminders, audited) and
redirects; a refused form comes back (400) with the values typed.

Roles: the calendar is region-wide (one per crop, for every district), so only an administrator
or an extension officer edits it (``calendars.EDIT_ROLES``); the other roles but the market
reporter read it. An unknown campaign or event is 404.
"""
from __future__ import annotations

from flask import flash, g, redirect, url_for
from sqlalchemy import select

from handlers.common import db, field, settings
from handlers.staff import web
from service.db import utcnow
from service.errors import Refusal
from service.reference.crops import crops as all_crops
from service.reminders import calendars, campaign as campaigns

bp = web.blueprint("staff_campaigns", __name__, "/staff/campaigns")
web.nav_item("staff_campaigns.index", "campaigns.title", roles=calendars.VIEW_ROLES, order=60)


def _may_edit() -> bool:
    return g.account.role in calendars.EDIT_ROLES


def _campaigns() -> list[campaigns.Campaign]:
    """Every campaign, active ones first, then by code."""
    return sorted(db().scalars(select(campaigns.Campaign)), key=lambda c: (not c.active, c.code))


def _crop_names() -> dict[str, str]:
    return {c.id: c.name(g.lang) for c in all_crops(db())}


@bp.get("")
def index():
    """Every calendar with its events and their reach in the account's scope."""
    web.require_role(*calendars.VIEW_ROLES)
    s, now = db(), utcnow()
    zone = settings().timezone
    shown = [(c, campaigns.events_of(s, c.id), calendars.reach(s, c, g.scope, now, zone)) for c in _campaigns()]
    return web.render("staff/campaigns.html", shown=shown, crops=_crop_names(), may_edit=_may_edit(),
                      today=settings().today(now), zone=str(zone))


def _event(code: str, event_code: str) -> tuple[campaigns.Campaign, campaigns.CampaignEvent]:
    """The campaign and event of the path; 404 when either is unknown."""
    web.require_role(*calendars.VIEW_ROLES)
    campaign = campaigns.by_code(db(), code[:40])
    event = None
    if campaign is not None:
        event = next((e for e in campaigns.events_of(db(), campaign.id) if e.code == event_code[:40]), None)
    if event is None:
        web.not_found()
    return campaign, event


def _form(campaign, event, offset: str, texts: dict[str, str], *, checked: bool = False, error: str | None = None,
          status: int = 200):
    s, now = db(), utcnow()
    reach = calendars.reach(s, campaign, g.scope, now, settings().timezone).get(event.id, calendars.Reach())
    return web.render("staff/campaign_event.html", campaign=campaign, event=event, offset=offset, texts=texts,
                      checks=calendars.check_texts(texts), checked=checked, error=error, reach=reach,
                      crops=_crop_names(), may_edit=_may_edit(), languages=calendars.TEXT_LANGUAGES,
                      max_text=calendars.MAX_TEXT, low=calendars.OFFSET_RANGE.start,
                      high=calendars.OFFSET_RANGE.stop - 1, problem=_problem), status


def _problem(check: calendars.TextCheck) -> str:
    return web.t(check.problem, **(check.params or {})) if check.problem else ""


@bp.get("/<code>/<event_code>")
def event(code: str, event_code: str):
    """One event: its reach, its texts measured, and (for the editing roles) the form."""
    campaign, found = _event(code, event_code)
    texts = {lang: found.render(lang) for lang in calendars.TEXT_LANGUAGES}
    return _form(campaign, found, str(found.offset_days), texts)


@bp.post("/<code>/<event_code>")
def save(code: str, event_code: str):
    """``action=check``: the typed texts measured; ``action=save``: saved, re-planned, audited."""
    campaign, found = _event(code, event_code)
    if not _may_edit():
        web.not_found()
    offset = field("offset_days", limit=8).strip()
    texts = {lang: field(f"text-{lang}", limit=calendars.MAX_TEXT).strip() for lang in calendars.TEXT_LANGUAGES}
    if field("action", limit=8) != "save":
        return _form(campaign, found, offset, texts, checked=True)
    s = db()
    try:
        result = calendars.edit(s, campaign, found, offset_days=calendars.parse_offset(offset), texts=texts,
                                actor=web.actor(), now=utcnow(), zone=settings().timezone)
    except Refusal as refusal:
        s.rollback()
        return _form(campaign, found, offset, texts, checked=True, error=web.refusal_text(refusal), status=400)
    if not result.changed:
        return web.done("campaigns.unchanged", "staff_campaigns.event", code=campaign.code, event_code=found.code)
    s.commit()
    flash(web.t("campaigns.done", replanned=result.replanned), "notice")
    return redirect(url_for("staff_campaigns.index") + f"#event-{campaign.code}-{found.code}")
