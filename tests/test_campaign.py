"""Campaigns as data: the built-in calendars, their texts, and editing without code (CLI)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import templates_sms
from service.reminders import campaign as campaigns
from service.reminders.crop_cycle import Reminder, record_planting
from service.messaging.encoding import measure
from service.farmers.models import register

TZ = ZoneInfo("Asia/Dushanbe")
SEED_KEYS = [f"campaigns.{code}.{event[0]}" for code, (_, _, _, events) in campaigns.SEED.items()
             for event in events]


CAMPAIGN_KEYS = sorted(k for k in templates_sms.catalogue() if k.startswith("campaigns."))
LATE_KEYS = [k for k in CAMPAIGN_KEYS if k.endswith(campaigns.LATE)]


@pytest.mark.parametrize("key", CAMPAIGN_KEYS)
def test_every_reminder_is_one_sms_in_every_language(key):
    for lang in templates_sms.LANGUAGES:
        m = measure(templates_sms.text(key, lang))
        assert m.segments == 1, (lang, m.units, m.encoding)
    assert measure(templates_sms.text(key, "uz")).encoding == "GSM-7"
    assert measure(templates_sms.text(key, "en")).encoding == "GSM-7"


def test_every_catch_up_wording_belongs_to_a_built_in_step_and_a_step_bound_to_its_day_has_one():
    """``<key>_late`` texts replace a step's text when it is sent late; a step whose text speaks of
    its own day ("today", "in 2 days", "for 10 days") would be false then, so it needs one."""
    assert LATE_KEYS and set(k.removesuffix(campaigns.LATE) for k in LATE_KEYS) <= set(SEED_KEYS)
    bound = [k for k in SEED_KEYS
             if any(w in templates_sms.text(k, "en").lower() for w in ("today", " in 2 days", "for 10 days"))]
    assert bound and [k for k in bound if k + campaigns.LATE not in LATE_KEYS] == []
    for key in LATE_KEYS:
        assert "today" not in templates_sms.text(key, "en").lower()
        assert not {"сегодня", "имрӯз", "bugun"} & set(
            " ".join(templates_sms.text(key, lang) for lang in ("tg", "ru", "uz")).lower().replace(":", " ").split())


def test_the_seed_is_loaded_once_with_one_active_campaign_per_crop(session):
    assert campaigns.load_seed(session) == 0  # already loaded by init_db
    active = {c.crop_id: c.code for c in session.scalars(select(campaigns.Campaign).where(campaigns.Campaign.active))}
    assert active == {"rice": "rice_sri", "tomato": "tomato", "onion": "onion"}
    weed = {e.code: e for e in campaigns.events_of(session, campaigns.by_code(session, "rice_sri").id)}
    assert [(weed[c].anchor, weed[c].offset_days) for c in ("weed1", "weed2", "weed3")] == [
        ("T", 10), ("T", 20), ("T", 30)]


@pytest.mark.parametrize("label, kwargs, message", [
    ("hour inside quiet hours", {"hour": 22}, "hour must be 7..20"),
    ("unknown anchor", {"anchor": "H"}, "anchor must be"),
    ("unknown text key", {"text_key": "campaigns.nope"}, "unknown text key"),
    ("texts without Tajik", {"texts": {"ru": "Текст"}}, "at least the Tajik text"),
    ("existing code", {"code": "weed1"}, "exists"),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_bad_events_are_refused(session, label, kwargs, message):
    c = campaigns.by_code(session, "rice_sri")
    args = {"code": "extra", "anchor": "T", "offset_days": 3, "hour": 8, "texts": {"tg": "Матн"}, **kwargs}
    with pytest.raises(campaigns.CampaignError, match=message):
        campaigns.add_event(session, c, **args)


def test_cli_lists_adds_and_edits_events_and_replans_pending_reminders(runner, session):
    f = register(session, phone="+992901110009", name="Ali", gender="male", village_id=None,
                 crop_ids=["rice"], land_m2=None, language="en")
    now = dt.datetime.now(dt.timezone.utc)
    record_planting(session, f, "rice", "S", now=now, zone=TZ)
    session.commit()

    listed = runner.invoke(args=["campaign", "list"])
    assert listed.exit_code == 0 and "rice_sri\tcrop=rice" in listed.output and "14 events" in listed.output
    events = runner.invoke(args=["campaign", "list", "rice_sri"]).output
    assert "weed1\tT+10\t07:00\tRice: 1st weeding" in events

    added = runner.invoke(args=["campaign", "add-event", "rice_sri", "bird_scare", "--anchor", "T", "--offset", "60",
                                "--hour", "9", "--text", "tg=Паррандаҳоро ронед.", "--text", "en=Scare the birds."])
    assert added.exit_code == 0, added.output
    assert "rice_sri.bird_scare: T+60 at 09:00; 1 crop cycles re-planned" in added.output
    bad = runner.invoke(args=["campaign", "add-event", "rice_sri", "late", "--offset", "1", "--hour", "23",
                              "--text", "tg=Матн"])
    assert bad.exit_code != 0 and "hour must be 7..20" in bad.output

    # move the next pending reminder (today's nursery step, or the next one) one hour later
    session.expire_all()
    pending = session.scalar(select(Reminder).where(Reminder.status == "pending"))
    event = session.get(campaigns.CampaignEvent, pending.event_id)
    event_id, due_before = pending.event_id, pending.due_at
    edited = runner.invoke(args=["campaign", "edit-event", "rice_sri", event.code, "--hour", str(event.hour + 1)])
    assert edited.exit_code == 0, edited.output
    session.expire_all()
    moved = session.scalar(select(Reminder).where(Reminder.status == "pending"))
    assert (moved.event_id, moved.due_at) == (event_id, due_before + dt.timedelta(hours=1))

    edited = runner.invoke(args=["campaign", "edit-event", "rice_sri", "bird_scare", "--text", "ru=Отпугните птиц."])
    assert edited.exit_code == 0, edited.output
    session.expire_all()
    bird = next(e for e in campaigns.events_of(session, campaigns.by_code(session, "rice_sri").id)
                if e.code == "bird_scare")
    assert (bird.render("ru"), bird.render("en"), bird.render("uz")) == (
        "Отпугните птиц.", "Scare the birds.", "Паррандаҳоро ронед.")
