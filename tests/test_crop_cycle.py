"""Crop cycles: recording planting dates, the late-recording rule, and the SRI season end to end.

Time is driven by passing ``now`` (never by sleeping). Local time is Asia/Dushanbe (UTC+5).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import templates_sms
from scheduler.tick import tick
from service import campaign as campaigns
from service import create_app, crop_cycle, dispatch, gateways, session_factory
from service.crop_cycle import Reminder, record_planting
from service.errors import Refusal
from service.farmer import register
from service.message import OutboundMessage

TZ = ZoneInfo("Asia/Dushanbe")


@pytest.fixture
def app_settings():
    return {"QUIET_HOURS_START": "21:00", "QUIET_HOURS_END": "07:00", "SEND_RATE_SEGMENTS_PER_SECOND": 20,
            "SCHEDULER_GRACE_HOURS": 6}


def local(*args) -> dt.datetime:
    """An aware UTC datetime from local Dushanbe wall-clock values."""
    return dt.datetime(*args, tzinfo=TZ).astimezone(dt.timezone.utc)


def farmer(session, phone="+992901110001", language="ru", crops=("rice",)):
    f = register(session, phone=phone, name="Dilnoza", gender="female", village_id=None,
                 crop_ids=list(crops), land_m2=5000, language=language)
    session.commit()
    return f


def outbox(session, phone=None):
    session.expire_all()
    q = select(OutboundMessage).order_by(OutboundMessage.id)
    if phone:
        q = q.where(OutboundMessage.phone == phone)
    return list(session.scalars(q))


def sri(session):
    c = campaigns.by_code(session, "rice_sri")
    return c, campaigns.events_of(session, c.id)


# --- recording ---------------------------------------------------------------------------------

@pytest.mark.parametrize("label, on, key", [
    ("tomorrow is refused", dt.date(2027, 5, 2), "push.planted_future"),
    ("over a year ago is refused", dt.date(2026, 4, 30), "push.planted_too_old"),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_refused_dates(session, label, on, key):
    f = farmer(session)
    with pytest.raises(Refusal) as err:
        record_planting(session, f, "rice", "S", on, now=local(2027, 5, 1, 10), zone=TZ)
    assert err.value.key == key and templates_sms.has(key)
    assert session.scalars(select(crop_cycle.CropCycle)).all() == []


def test_transplanting_before_sowing_is_refused(session):
    f = farmer(session)
    record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 3, 10), zone=TZ)
    with pytest.raises(Refusal) as err:
        record_planting(session, f, "rice", "T", dt.date(2027, 4, 30), now=local(2027, 5, 3, 10), zone=TZ)
    assert err.value.key == "push.planted_order"


def test_date_defaults_to_local_today(session):
    f = farmer(session)
    # 20:30 UTC on 1 May is already 2 May in Dushanbe
    result = record_planting(session, f, "rice", now=dt.datetime(2027, 5, 1, 20, 30, tzinfo=dt.timezone.utc), zone=TZ)
    assert result.cycle.sown_on == dt.date(2027, 5, 2) and not result.corrected


def test_reported_on_the_morning_of_sowing_nothing_is_late(session):
    f = farmer(session)
    result = record_planting(session, f, "rice", "S", now=local(2027, 5, 1, 6), zone=TZ)
    session.commit()
    assert (result.catch_up, result.skipped) == (None, 0)
    assert result.next_due == local(2027, 5, 1, 8)
    assert outbox(session) == []


def test_late_recording_skips_the_past_and_sends_one_catch_up_of_the_current_step(session):
    f = farmer(session)
    _, events = sri(session)
    now = local(2027, 5, 26, 10)
    result = record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=now, zone=TZ)
    session.commit()
    # T = S+10 = 11 May; the latest step already due is AWD (T+12 = 23 May, 08:00), 3 days ago
    assert result.catch_up.code == "awd"
    assert result.skipped == 8  # nursery, field_prep, nursery_water, drain_nursery, transplant, moist, gap_fill, weed1
    assert result.next_due == local(2027, 5, 31, 7)  # weed2 at T+20
    rows = outbox(session)
    assert [(r.text, r.kind, r.language) for r in rows] == [
        (templates_sms.text("campaigns.rice_sri.awd", "ru"), "tip", "ru")]
    # the skipped steps are never sent later, the tick adds nothing now
    assert crop_cycle.queue_due(session, now, zone=TZ).sent == 0
    assert len(outbox(session)) == 1


def test_late_recording_with_a_stale_current_step_sends_no_catch_up(session):
    f = farmer(session)
    result = record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 8, 10, 10), zone=TZ)
    session.commit()
    # latest due step: pi_water at T+45 = 25 June, more than 7 days ago
    assert result.catch_up is None and result.skipped == 13
    assert result.next_due == local(2027, 9, 13, 8)  # drain_field at T+125
    assert outbox(session) == []


def test_re_reporting_recomputes_later_reminders_and_never_resends(session, app):
    f = farmer(session)
    record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 1, 6), zone=TZ)
    session.commit()
    tick(session_factory(app), app.config, local(2027, 5, 1, 8))  # nursery reminder sent
    assert len(outbox(session)) == 1
    # the farmer transplanted late, on 14 May (estimate was 11 May); reported the same day at 09:00
    result = record_planting(session, f, "rice", "T", dt.date(2027, 5, 14), now=local(2027, 5, 14, 9), zone=TZ)
    session.commit()
    assert result.corrected and result.cycle.sown_on == dt.date(2027, 5, 1)
    # field_prep (S+5) and nursery_water (S+6) passed while the scheduler was not asked: skipped;
    # the current step is the transplanting itself (T+0, 07:00 today): the catch-up
    assert result.catch_up.code == "transplant"
    assert result.next_due == local(2027, 5, 15, 8)  # moist at T+1 of the reported T
    pending = session.scalars(select(Reminder).where(Reminder.status == "pending")).all()
    assert len(pending) == 1
    # reporting the same date again changes nothing and sends nothing twice
    record_planting(session, f, "rice", "T", dt.date(2027, 5, 14), now=local(2027, 5, 14, 9, 5), zone=TZ)
    session.commit()
    assert [r.text for r in outbox(session)].count(templates_sms.text("campaigns.rice_sri.transplant", "ru")) == 1
    assert len(outbox(session)) == 2


def test_a_report_far_from_the_open_cycle_opens_a_new_one(session):
    f = farmer(session)
    first = record_planting(session, f, "rice", "S", dt.date(2026, 6, 1), now=local(2026, 6, 1, 6), zone=TZ)
    second = record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 1, 6), zone=TZ)
    assert second.cycle.id != first.cycle.id and not second.corrected


# --- the SRI season end to end -----------------------------------------------------------------

def test_sri_farmer_gets_each_reminder_once_on_its_day_at_its_hour_across_restart_and_downtime(app, database_url):
    """A rice farmer records a nursery date; ticks run around every reminder's time (one before,
    one at, one after), the scheduler process is replaced half-way (new app, new engine) and is
    down for an hour around one reminder; the dispatcher runs after each tick under the real
    quiet hours and rate cap."""
    settings = dict(app.config)
    factory = session_factory(app)
    with factory() as session:
        f = farmer(session, language="ru")
        record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 1, 6), zone=TZ)
        session.commit()
        c, events = sri(session)
        sown, transplanted = dt.date(2027, 5, 1), dt.date(2027, 5, 11)
        timeline = sorted((e.due_at(sown, transplanted, TZ), e.code) for e in events)
    downtime = (timeline[7][0] - dt.timedelta(minutes=30), timeline[7][0] + dt.timedelta(minutes=30))  # weed1
    restarted = None
    for i, (due, code) in enumerate(timeline):
        if i == len(timeline) // 2:  # the scheduler process restarts: a new app on the same database
            restarted = create_app({**settings})
            factory = session_factory(restarted)
        for now in (due - dt.timedelta(minutes=1), due, due + dt.timedelta(minutes=30)):
            if downtime[0] <= now <= downtime[1]:
                continue
            tick(factory, settings, now)
            dispatch.dispatch_once(factory, gateways.for_config(settings), settings, now=now)
        # back after the downtime: the tick an hour after due is the first one
        if code == "weed1":
            tick(factory, settings, due + dt.timedelta(hours=1))
            dispatch.dispatch_once(factory, gateways.for_config(settings), settings, now=due + dt.timedelta(hours=1))
    with factory() as session:
        rows = outbox(session, f.phone)
        assert len(rows) == len(events) == 14
        by_text = {r.text: r for r in rows}
        for due, code in timeline:
            row = by_text[templates_sms.text(f"campaigns.rice_sri.{code}", "ru")]
            sent = row.next_attempt_at.astimezone(TZ)
            expected = due.astimezone(TZ)
            assert sent.date() == expected.date(), code
            late = dt.timedelta(hours=1) if code == "weed1" else dt.timedelta(0)
            assert sent == expected + late, code
            assert (row.status, row.language, row.kind) == ("delivered", "ru", "tip")
        statuses = session.scalars(select(Reminder.status)).all()
        assert sorted(set(statuses)) == ["sent"]
    if restarted is not None:
        restarted.extensions["dehqon.engine"].dispose()
