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
from service.reminders import campaign as campaigns
from service import create_app, session_factory
from service.reminders import crop_cycle
from service.messaging import dispatch
from service.messaging import gateways
from service.reminders.crop_cycle import Reminder, record_planting
from service.errors import Refusal
from service.farmers.models import register
from service.messaging.message import OutboundMessage

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
    now = local(2027, 5, 26, 10)
    record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=now, zone=TZ)
    result = record_planting(session, f, "rice", "T", dt.date(2027, 5, 11), now=now, zone=TZ)
    session.commit()
    # T = 11 May (reported); the latest step already due is AWD (T+12 = 23 May, 08:00), 3 days ago
    assert result.catch_up.code == "awd"
    assert result.skipped == 8  # nursery, field_prep, nursery_water, drain_nursery, transplant, moist, gap_fill, weed1
    assert result.next_due == local(2027, 5, 31, 7)  # weed2 at T+20
    rows = outbox(session)
    assert [(r.text, r.kind, r.language) for r in rows] == [
        (templates_sms.text("campaigns.rice_sri.awd", "ru"), "tip", "ru")]
    # the skipped steps are never sent later, the tick adds nothing now
    assert crop_cycle.queue_due(session, now, zone=TZ).sent == 0
    assert len(outbox(session)) == 1


# --- the catch-up fits the moment (docs/crop-calendars.md §9) ------------------------------------

def _catch_up(session, reports, now, crop="rice", language="ru"):
    """Record ``reports`` [(anchor, date)] at ``now``; the texts queued and the last Planting."""
    f = farmer(session, language=language, crops=(crop,))
    result = None
    for anchor, on in reports:
        result = record_planting(session, f, crop, anchor, on, now=now, zone=TZ)
    session.commit()
    return [r.text for r in outbox(session)], result


@pytest.mark.parametrize("label, crop, reports, now, sent, next_due", [
    # sowing reported 12 days late: T = 30.11 is an estimate; moist (T+1) and later steps are not
    # caught up (the seedlings may still be in the nursery): the transplanting step is, worded for now
    ("late sowing: transplant now, not a post-transplant tip", "rice", [("S", dt.date(2026, 11, 20))],
     local(2026, 12, 2, 10), "campaigns.rice_sri.transplant_late", local(2026, 12, 7, 8)),
    # transplanting reported a day late: the transplanting step is done; moist (T+1, 08:00 today)
    # is the current step, in its catch-up wording (no "for 10 days" from a day already gone)
    ("transplanting reported a day late: moist, not transplant today", "rice", [("T", dt.date(2026, 12, 1))],
     local(2026, 12, 2, 10), "campaigns.rice_sri.moist_late", local(2026, 12, 8, 8)),
    # ... reported before moist's hour: nothing is current, moist comes at 08:00 as planned
    ("transplanting reported a day late, early morning: nothing now", "rice", [("T", dt.date(2026, 12, 1))],
     local(2026, 12, 2, 6), None, local(2026, 12, 2, 8)),
    # a tomato transplanted three days ago: frost_check (T-3) and transplant (T+0) are done
    ("tomato transplanted three days ago: nothing to catch up", "tomato", [("T", dt.date(2026, 11, 29))],
     local(2026, 12, 2, 10), None, local(2026, 12, 13, 8)),
    # sowing (the current step then: nursery_water, S+6), then transplanting reported: the steps
    # before T are closed and the transplant is done, so the second report adds nothing
    ("sowing then transplanting: no nursery step after it", "rice",
     [("S", dt.date(2026, 11, 24)), ("T", dt.date(2026, 12, 1))],
     local(2026, 12, 2, 6), "campaigns.rice_sri.nursery_water", local(2026, 12, 2, 8)),
    # nine days after sowing, drain_nursery (T-2 of the estimate) is current: "transplant in 1-2 days"
    ("drain the nursery, late wording", "rice", [("S", dt.date(2026, 11, 23))],
     local(2026, 12, 2, 10), "campaigns.rice_sri.drain_nursery_late", local(2026, 12, 3, 7)),
    # the estimated transplanting step more than 7 days ago: no catch-up at all
    ("late sowing, transplant step stale: nothing", "rice", [("S", dt.date(2026, 11, 1))],
     local(2026, 12, 2, 10), None, local(2026, 12, 11, 7)),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_catch_up_fits_the_moment(session, label, crop, reports, now, sent, next_due):
    texts, result = _catch_up(session, reports, now, crop)
    assert texts == ([templates_sms.text(sent, "ru")] if sent else [])
    assert result.next_due == next_due
    assert not any("сегодня" in t for t in texts)


def test_the_catch_up_wording_is_used_only_for_catch_ups(session, app):
    """The tick sends a step on its day in its own wording; ``_late`` only for the catch-up."""
    f = farmer(session)
    record_planting(session, f, "rice", "T", dt.date(2026, 12, 1), now=local(2026, 12, 1, 6), zone=TZ)
    session.commit()
    tick(session_factory(app), app.config, local(2026, 12, 1, 7))
    assert [r.text for r in outbox(session)] == [templates_sms.text("campaigns.rice_sri.transplant", "ru")]


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
    # field_prep (S+5), nursery_water (S+6) and drain_nursery (T-2) are before the reported day and
    # the transplanting itself (T+0, 07:00 today) is what the farmer reports: no catch-up
    assert result.catch_up is None
    assert result.next_due == local(2027, 5, 15, 8)  # moist at T+1 of the reported T
    pending = session.scalars(select(Reminder).where(Reminder.status == "pending")).all()
    assert len(pending) == 1
    # reporting the same date again changes nothing and sends nothing twice
    record_planting(session, f, "rice", "T", dt.date(2027, 5, 14), now=local(2027, 5, 14, 9, 5), zone=TZ)
    session.commit()
    assert [r.text for r in outbox(session)] == [templates_sms.text("campaigns.rice_sri.nursery", "ru")]


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
            dispatch.dispatch_once(factory, gateways.for_settings(settings), settings, now=now)
        # back after the downtime: the tick an hour after due is the first one
        if code == "weed1":
            tick(factory, settings, due + dt.timedelta(hours=1))
            dispatch.dispatch_once(factory, gateways.for_settings(settings), settings, now=due + dt.timedelta(hours=1))
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


# --- one reminder per phone and moment (a shared household phone) --------------------------------

HOUSEHOLD = "+992901110050"
NEIGHBOUR = "+992901110051"


def person(session, name, phone=HOUSEHOLD, language="tg"):
    f = register(session, phone=phone, name=name, gender="female", village_id=None, crop_ids=["rice"],
                 land_m2=5000, language=language)
    session.commit()
    return f


def named(names: str, code: str, lang: str) -> str:
    return templates_sms.text("push.for_names", lang, names=names,
                              text=templates_sms.text(f"campaigns.rice_sri.{code}", lang))


def test_a_shared_phone_gets_one_sms_per_event_naming_both_and_another_phone_its_own(app):
    """Gulnora and Rustam (one phone) and their neighbour all sowed rice on 1 May; ticks run at
    every reminder's time, twice each (an overlapping or repeated pass), through the season."""
    factory = session_factory(app)
    with factory() as session:
        gulnora = person(session, "Gulnora Karimova")
        rustam = person(session, "Rustam")
        neighbour = person(session, "Zarina", phone=NEIGHBOUR, language="ru")
        for f in (gulnora, rustam, neighbour):
            record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 1, 6), zone=TZ)
        session.commit()
        _, events = sri(session)
        timeline = sorted((e.due_at(dt.date(2027, 5, 1), dt.date(2027, 5, 11), TZ), e.code) for e in events)
    reports = []
    for due, _ in timeline:
        for now in (due, due + dt.timedelta(minutes=1)):
            with factory() as session:
                reports.append(crop_cycle.queue_due(session, now, zone=TZ))
    with factory() as session:
        assert [r.text for r in outbox(session, HOUSEHOLD)] == [named("Gulnora, Rustam", c, "tg") for _, c in timeline]
        assert {(r.farmer_id, r.language, r.kind) for r in outbox(session, HOUSEHOLD)} == {(gulnora.id, "tg", "tip")}
        assert [r.text for r in outbox(session, NEIGHBOUR)] == [
            templates_sms.text(f"campaigns.rice_sri.{c}", "ru") for _, c in timeline]
        assert session.scalars(select(Reminder.status).distinct()).all() == ["sent"]
        assert len(session.scalars(select(Reminder)).all()) == 3 * len(events)
    assert sum(r.sent for r in reports) == 2 * len(events)
    assert sum(r.shared for r in reports) == len(events)


def test_the_message_is_in_the_main_profiles_language_and_a_split_pass_still_sends_one(session):
    """Different languages on one phone: the main profile's (tg). Chunks of one row split the
    household between two chunks of a pass: the second reminder joins the queued message."""
    dilshod = person(session, "Dilshod", language="ru")  # registered first: the main profile
    gulnora = person(session, "Gulnora", language="uz")
    for f in (gulnora, dilshod):
        record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 1, 6), zone=TZ)
    session.commit()
    report = crop_cycle.queue_due(session, local(2027, 5, 1, 8), zone=TZ, chunk=1)
    assert (report.sent, report.shared) == (1, 1)
    [row] = outbox(session, HOUSEHOLD)
    assert (row.text, row.language, row.farmer_id) == (named("Dilshod, Gulnora", "nursery", "ru"), "ru", dilshod.id)
    assert (row.segments, row.encoding) == (2, "UCS-2")


def test_a_late_report_of_the_same_planting_joins_the_queued_catch_up(session):
    """Gulnora reports on 26 May that she sowed on 17 May: one catch-up (draining the nursery, T-2 of the estimate,
    in its catch-up wording). Rustam, same phone,
    reports the same an hour later: no second SMS; the queued one now names both."""
    gulnora, rustam = person(session, "Gulnora"), person(session, "Rustam")
    record_planting(session, rustam, "rice", "S", dt.date(2027, 5, 17), now=local(2027, 5, 26, 9), zone=TZ)
    session.commit()
    second = record_planting(session, gulnora, "rice", "S", dt.date(2027, 5, 17), now=local(2027, 5, 26, 10), zone=TZ)
    session.commit()
    assert second.catch_up.code == "drain_nursery"
    [row] = outbox(session, HOUSEHOLD)
    # Gulnora is the main profile (registered first): her name and language come first
    assert (row.text, row.farmer_id, row.status) == (named("Gulnora, Rustam", "drain_nursery_late", "tg"), gulnora.id,
                                                     "queued")
    assert session.scalars(select(Reminder.status).where(Reminder.event_id == second.catch_up.id)).all() == [
        "sent", "sent"]


def test_a_late_report_after_the_phone_got_that_moments_tip_sends_nothing_more(session):
    gulnora, rustam = person(session, "Gulnora"), person(session, "Rustam")
    record_planting(session, gulnora, "rice", "S", dt.date(2027, 5, 17), now=local(2027, 5, 26, 9), zone=TZ)
    session.commit()
    [first] = outbox(session, HOUSEHOLD)
    first.status = "delivered"
    session.commit()
    record_planting(session, rustam, "rice", "S", dt.date(2027, 5, 17), now=local(2027, 5, 26, 10), zone=TZ)
    session.commit()
    [row] = outbox(session, HOUSEHOLD)
    assert row.text == named("Gulnora", "drain_nursery_late", "tg")  # as it was sent: for her, on a shared phone
    # a different planting day is a different moment: its own catch-up
    neighbour = person(session, "Zarina")
    record_planting(session, neighbour, "rice", "S", dt.date(2027, 5, 18), now=local(2027, 5, 26, 11), zone=TZ)
    session.commit()
    assert len(outbox(session, HOUSEHOLD)) == 2


def test_the_tick_folds_a_pending_reminder_into_a_catch_up_of_the_same_moment(session):
    """Rustam reported his sowing in time (nursery due 1 May 08:00); Gulnora reports the same sowing
    at 08:00:30, before the tick handled his: her catch-up is queued, the tick adds his name to it."""
    gulnora, rustam = person(session, "Gulnora"), person(session, "Rustam")
    record_planting(session, rustam, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 1, 6), zone=TZ)
    record_planting(session, gulnora, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 1, 8, 0, 30), zone=TZ)
    session.commit()
    report = crop_cycle.queue_due(session, local(2027, 5, 1, 8, 1), zone=TZ)
    assert (report.sent, report.shared) == (0, 1)
    [row] = outbox(session, HOUSEHOLD)
    assert row.text == named("Gulnora, Rustam", "nursery", "tg")


# --- the next reminders: for the farmer (USSD My crops) and staff (CLI) -----------------------------

def test_upcoming_lists_the_pending_reminder_then_the_following_ones(session):
    f = farmer(session)
    record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=local(2027, 5, 3, 10), zone=TZ)
    session.commit()
    cycle = crop_cycle.latest_cycle(session, f, "rice")
    coming = crop_cycle.upcoming(session, cycle, local(2027, 5, 3, 10), zone=TZ, limit=3)
    assert [(u.event.code, u.due_at, u.pending) for u in coming] == [
        ("field_prep", local(2027, 5, 6, 8), True), ("nursery_water", local(2027, 5, 7, 8), False),
        ("drain_nursery", local(2027, 5, 9, 8), False)]
    crop_cycle.stop_reminders(session, f, "rice")
    assert crop_cycle.upcoming(session, cycle, local(2027, 5, 3, 10), zone=TZ) == []


def test_cli_reminders_next_by_phone_and_by_farmer_id(runner, session):
    """Staff see the next reminders of each crop cycle; days chosen so the hour of the run does
    not matter (sown 3 days ago: field_prep in 2 days is the planned one)."""
    from service.db import utcnow
    f = farmer(session, phone="+992901110009", language="ru")
    now = utcnow()
    today = now.astimezone(TZ).date()
    record_planting(session, f, "rice", "S", today - dt.timedelta(days=3), now=now, zone=TZ)
    session.commit()
    result = runner.invoke(args=["reminders", "next", "--phone", "901110009", "--count", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    sown = today - dt.timedelta(days=3)
    assert lines[0] == (f"farmer {f.id} Dilnoza, rice (cycle {lines[0].split('cycle ')[1].split(',')[0]}, rice_sri): "
                        f"sown {sown:%d.%m.%Y}, transplanted {sown + dt.timedelta(days=10):%d.%m.%Y} (estimated)")
    assert lines[1] == (f"  {today + dt.timedelta(days=2):%d.%m.%Y} 08:00  field_prep  planned  "
                        + templates_sms.text("campaigns.rice_sri.field_prep", "ru"))
    assert lines[2].startswith(f"  {today + dt.timedelta(days=3):%d.%m.%Y} 08:00  nursery_water  then  ")
    assert len(lines) == 3
    by_id = runner.invoke(args=["reminders", "next", "--farmer", str(f.id), "--crop", "tomato"])
    assert by_id.exit_code == 0 and by_id.output == f"farmer {f.id} Dilnoza: no crop cycle of tomato\n"


@pytest.mark.parametrize("args, message", [
    ([], "give --phone or --farmer"), (["--phone", "hello"], "not a phone number"),
    (["--farmer", "999999"], "no farmer with that id"), (["--phone", "+992901119999"], "no farmer with that phone"),
])
def test_cli_reminders_next_refuses_bad_input(runner, args, message):
    result = runner.invoke(args=["reminders", "next", *args])
    assert result.exit_code != 0 and message in result.output
