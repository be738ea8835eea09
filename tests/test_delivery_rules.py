"""Delivery rules in the dispatcher: quiet hours, the rate cap, priorities and per-phone order."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from service import session_factory
from service.messaging import dispatch
from service.messaging import gateways
from service.messaging.rules import Rules, take_within
from service.messaging.message import OutboundMessage, queue_sms

TZ = ZoneInfo("Asia/Dushanbe")


@pytest.fixture
def app_settings():
    return {"QUIET_HOURS_START": "21:00", "QUIET_HOURS_END": "07:00", "SEND_RATE_SEGMENTS_PER_SECOND": 0,
            "DISPATCH_INTERVAL_SECONDS": 5}


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ).astimezone(dt.timezone.utc)


RULES = Rules(zone=TZ, quiet_start=dt.time(21), quiet_end=dt.time(7))


@pytest.mark.parametrize("label, when, quiet", [
    ("20:59 is open", local(2027, 5, 1, 20, 59), False),
    ("21:00 is quiet", local(2027, 5, 1, 21), True),
    ("02:00 is quiet", local(2027, 5, 2, 2), True),
    ("07:00 is open", local(2027, 5, 2, 7), False),
], ids=lambda v: v if isinstance(v, str) else "")
def test_quiet_hours_in_local_time(label, when, quiet):
    assert RULES.is_quiet(when) is quiet


def test_equal_start_and_end_mean_no_quiet_hours():
    rules = Rules(zone=TZ, quiet_start=dt.time(0), quiet_end=dt.time(0))
    assert not rules.is_quiet(local(2027, 5, 1, 23))


@pytest.mark.parametrize("label, segments, budget, taken", [
    ("no cap takes all", [1, 2, 3], None, 3),
    ("stops at the first row that does not fit", [1, 2, 3], 3, 2),
    ("no budget takes none", [1, 1], 0, 0),
    ("a long first row still goes when the budget allows sending", [3, 1], 1, 1),
], ids=lambda v: v if isinstance(v, str) else "")
def test_take_within(label, segments, budget, taken):
    assert take_within(segments, budget) == taken


def run(app, now, **config):
    return dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config), {**app.config, **config},
                                  now=now)


def states(session):
    session.expire_all()
    return {r.kind: r.status for r in session.scalars(select(OutboundMessage))}


def test_quiet_hours_hold_tips_and_broadcasts_but_not_replies_and_alerts(app, session):
    night = local(2027, 5, 1, 23)
    for i, kind in enumerate(("tip", "broadcast", "notice", "reply", "alert", "stop_confirm")):
        queue_sms(session, f"+99290100000{i}", f"text {kind}", kind=kind, not_before=night)
    session.commit()
    summary = run(app, night)
    assert summary.claimed == 3
    assert states(session) == {"tip": "queued", "broadcast": "queued", "notice": "queued",
                               "reply": "delivered", "alert": "delivered", "stop_confirm": "delivered"}
    assert run(app, local(2027, 5, 2, 6, 59)).claimed == 0  # still quiet
    assert run(app, local(2027, 5, 2, 7)).claimed == 3  # the window opens
    assert set(states(session).values()) == {"delivered"}


def test_rate_cap_counts_segments_over_the_window_without_sleeping(app, session):
    now = local(2027, 5, 1, 10)
    for i in range(30):
        queue_sms(session, f"+9929010{i:05d}", f"tip {i}", kind="tip", not_before=now)
    session.commit()
    # 2 segments/s over a 5 s window: 10 segments a window
    assert run(app, now, SEND_RATE_SEGMENTS_PER_SECOND=2).claimed == 10
    assert run(app, now + dt.timedelta(seconds=2), SEND_RATE_SEGMENTS_PER_SECOND=2).claimed == 0
    assert run(app, now + dt.timedelta(seconds=5, milliseconds=1), SEND_RATE_SEGMENTS_PER_SECOND=2).claimed == 10
    assert run(app, now + dt.timedelta(seconds=11), SEND_RATE_SEGMENTS_PER_SECOND=2).claimed == 10


def test_replies_and_alerts_go_before_tips(app, session):
    now = local(2027, 5, 1, 10)
    queue_sms(session, "+992901000001", "tip", kind="tip", not_before=now)
    queue_sms(session, "+992901000002", "broadcast", kind="broadcast", not_before=now)
    queue_sms(session, "+992901000003", "alert", kind="alert", not_before=now)
    queue_sms(session, "+992901000004", "reply", kind="reply", not_before=now)
    session.commit()
    run(app, now, DISPATCH_BATCH_SIZE=2)
    assert states(session) == {"tip": "queued", "broadcast": "queued", "alert": "delivered", "reply": "delivered"}


class _Row:
    def __init__(self, phone, text):
        self.phone, self.text = phone, text


def test_batches_keep_each_phones_order_while_grouping_identical_texts():
    a1 = _Row("+1", "Y")
    b1 = _Row("+2", "X")   # phone +2 gets X first ...
    b2 = _Row("+2", "Y")   # ... so its Y must not join the first Y request, sent before X
    c1 = _Row("+3", "Y")   # another phone joins the first Y request
    batches = dispatch._batches([a1, b1, b2, c1])
    assert [(t, [r.phone for r in rows]) for _, t, rows in batches] == [
        ("Y", ["+1", "+3"]), ("X", ["+2"]), ("Y", ["+2"])]
