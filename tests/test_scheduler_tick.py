"""The scheduler tick: ``scheduler tick --at``, the one-scheduler lock, downtime and grace, wiring."""
from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import scheduler
from scheduler import jobs
from scheduler.tick import tick
from service import scheduler_lock, session_factory
from service.reminders.crop_cycle import Reminder, record_planting
from service.farmers.models import register
from service.messaging.message import OutboundMessage

TZ = ZoneInfo("Asia/Dushanbe")


@pytest.fixture
def app_settings():
    return {"SCHEDULER_GRACE_HOURS": 6, "DISPATCH_INTERVAL_SECONDS": 3600, "SCHEDULER_TICK_SECONDS": 3600}


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ).astimezone(dt.timezone.utc)


def planted(session, n=1, on=dt.date(2027, 5, 1)):
    for i in range(n):
        f = register(session, phone=f"+99290200{i:04d}", name=f"Farmer {i}", gender="male", village_id=None,
                     crop_ids=["rice"], land_m2=None, language="tg")
        record_planting(session, f, "rice", "S", on, now=local(2027, 5, 1, 6), zone=TZ)
    session.commit()


def count(session):
    session.expire_all()
    return len(session.scalars(select(OutboundMessage.id)).all())


def test_cli_tick_at_a_local_time_queues_what_is_due(runner, session):
    planted(session, 2)
    early = runner.invoke(args=["scheduler", "tick", "--at", "2027-05-01T07:59"])
    assert early.exit_code == 0, early.output
    assert early.output.strip() == ("tick at 2027-05-01T07:59:00+05:00: 0 reminders, 0 broadcast messages "
                                    "(0 broadcasts), 0 price digests, 0 price alerts, 0 order totals, 0 pledge totals "
                                        "queued; 0 order rounds closed, 0 questions escalated")
    due = runner.invoke(args=["scheduler", "tick", "--at", "2027-05-01T08:00+05:00"])
    assert "2 reminders" in due.output and count(session) == 2
    again = runner.invoke(args=["scheduler", "tick", "--at", "2027-05-01T08:00"])
    assert "0 reminders" in again.output and count(session) == 2
    assert runner.invoke(args=["scheduler", "tick", "--at", "yesterday"]).exit_code != 0
    sent = runner.invoke(args=["scheduler", "dispatch", "--at", "2027-05-01T08:01"])
    assert sent.output.strip() == "dispatch: 2 claimed, 2 sent, 0 failed"


def test_downtime_within_the_grace_sends_late_and_beyond_it_reports_missed(app, session):
    planted(session)
    # down from 07:00 to 12:00: the 08:00 nursery reminder is 4 h late, inside the 6 h grace
    late = tick(session_factory(app), app.config, local(2027, 5, 1, 12))
    assert (late.reminders, late.missed) == (1, {})
    # down from 2 to 9 May: field_prep (6 May 08:00) and nursery_water (7 May) are past the grace,
    # drain_nursery (9 May 08:00) is not
    result = tick(session_factory(app), app.config, local(2027, 5, 9, 9))
    assert result.reminders == 1
    assert result.missed == {"rice_sri.field_prep": 1, "rice_sri.nursery_water": 1}
    assert "skipped: 2 reminders missed (rice_sri.field_prep ×1, rice_sri.nursery_water ×1)" in str(result)
    statuses = sorted(session.scalars(select(Reminder.status)).all())
    assert statuses == ["missed", "missed", "pending", "sent", "sent"]


def _in_thread(fn):
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("value", fn()))
    t.start()
    t.join(timeout=60)
    return out["value"]


def test_a_tick_does_nothing_while_another_scheduler_holds_the_lock(app, session):
    planted(session)
    engine = app.extensions["dehqon.engine"]
    with scheduler_lock.hold(engine) as taken:
        assert taken
        blocked = _in_thread(lambda: tick(session_factory(app), app.config, local(2027, 5, 1, 8)))
        assert not blocked.acted and str(blocked).startswith("another scheduler holds the lock")
        assert count(session) == 0
    done = _in_thread(lambda: tick(session_factory(app), app.config, local(2027, 5, 1, 8)))
    assert done.acted and done.reminders == 1


def test_an_expired_lease_of_a_dead_process_is_taken_over(app, session):
    if app.extensions["dehqon.engine"].dialect.name != "sqlite":
        pytest.skip("PostgreSQL frees an advisory lock when its process dies; leases are for SQLite")
    session.add(scheduler_lock.SchedulerLease(name="scheduler", holder="dead-host:1:1",
                                              expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    session.add(scheduler_lock.SchedulerLease(name="other", holder="live-host:1:1",
                                              expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)))
    session.commit()
    engine = app.extensions["dehqon.engine"]
    with scheduler_lock.hold(engine) as taken:
        assert taken
    with scheduler_lock.hold(engine, "other") as taken:
        assert not taken


def test_the_scheduler_runs_the_tick_job_with_its_settings(app):
    sched = scheduler.build(app.config)
    job = sched.get_job("tick")
    assert job.func is jobs.tick_job
    assert job.trigger.interval == dt.timedelta(hours=1)
    assert list(job.args) == [app.config["DATABASE_URL"], {"TIMEZONE": "Asia/Dushanbe", "SCHEDULER_GRACE_HOURS": 6,
                                                                "ADVICE_ESCALATE_HOURS": 24.0, "ORDER_ROUND_DAYS": 7}]
    assert set(jobs.dispatch_settings(app.config)) >= {"QUIET_HOURS_START", "QUIET_HOURS_END",
                                                       "SEND_RATE_SEGMENTS_PER_SECOND", "TIMEZONE"}


def test_tick_job_opens_its_own_session(app, session):
    planted(session, on=dt.date.today() - dt.timedelta(days=30))
    before = count(session)
    jobs.tick_job(app.config["DATABASE_URL"], jobs.tick_settings(app.config))  # real clock: no error, no duplicate
    jobs.tick_job(app.config["DATABASE_URL"], jobs.tick_settings(app.config))
    assert count(session) - before <= 1
