"""A rice farmer's SRI season through the webhooks and the scheduler CLI.

The farmer reports yesterday's nursery sowing by SMS (``EKDIM sholi kecha``, Uzbek); then
``flask scheduler tick --at`` and ``scheduler dispatch --at`` run at 07:00 and 08:00 local
time every day of the season (each CLI run a fresh scheduler). The nursery step arrives at
once as the one catch-up; every later SRI reminder is sent once, on its day, at its hour,
in Uzbek. A farmer who reports by USSD (my account -> my crops) gets the same plan.
"""
from __future__ import annotations

import datetime as dt
import urllib.parse
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import templates_sms
from cases.sms import TOKEN, at
from service.reminders import campaign
from service.reminders.crop_cycle import Reminder
from service.db import utcnow
from service.farmers.models import register
from service.messaging.message import OutboundMessage

TZ = ZoneInfo("Asia/Dushanbe")
RICE_FARMER = "+992901000077"
USSD_FARMER = "+992901000078"


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN, "SCHEDULER_GRACE_HOURS": 6}


def tips(session, phone):
    session.expire_all()
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.phone == phone,
                                                              OutboundMessage.kind == "tip")
                                .order_by(OutboundMessage.id)))


def test_sri_season_by_sms_and_the_scheduler_cli(client, runner, session):
    register(session, phone=RICE_FARMER, name="Dilnoza", gender="female", village_id=None, crop_ids=["rice"],
             land_m2=2000, language="uz")
    session.commit()
    today = utcnow().astimezone(TZ).date()
    sown = today - dt.timedelta(days=1)
    resp = client.post(f"/sms/inbound?key={TOKEN}", data=urllib.parse.urlencode(at("j1", RICE_FARMER, "EKDIM sholi kecha")),
                       content_type="application/x-www-form-urlencoded")
    assert resp.get_data(as_text=True) == "processed"

    rice = campaign.by_code(session, "rice_sri")
    events = {e.code: e for e in campaign.events_of(session, rice.id)}
    first = tips(session, RICE_FARMER)
    assert [t.text for t in first] == [events["nursery"].render("uz")]  # the catch-up
    reply = session.scalar(select(OutboundMessage.text).where(OutboundMessage.kind == "reply"))
    field_prep = sown + dt.timedelta(days=5)
    assert reply == templates_sms.text("push.planted_next", "uz", crop="Sholi", what="ekish",
                                       date=sown.strftime("%d.%m"),
                                       next=field_prep.strftime("%d.%m") if field_prep.year == today.year
                                       else field_prep.strftime("%d.%m.%y"))

    transplanted = sown + dt.timedelta(days=rice.transplant_days)
    expected = {}
    for e in events.values():
        day = (sown if e.anchor == "S" else transplanted) + dt.timedelta(days=e.offset_days)
        if e.code != "nursery":
            expected[e.code] = dt.datetime.combine(day, dt.time(e.hour), tzinfo=TZ)
    last = max(expected.values()).date()
    day = today
    while day <= last + dt.timedelta(days=1):
        for hour in (7, 8):
            when = dt.datetime.combine(day, dt.time(hour)).isoformat(timespec="minutes")
            ticked = runner.invoke(args=["scheduler", "tick", "--at", when])
            assert ticked.exit_code == 0, ticked.output
            sent = runner.invoke(args=["scheduler", "dispatch", "--at", when])
            assert sent.exit_code == 0 and "0 failed" in sent.output, sent.output
        day += dt.timedelta(days=1)

    got = tips(session, RICE_FARMER)[1:]
    by_text = {e.render("uz"): code for code, e in events.items()}
    assert [by_text[t.text] for t in got] == sorted(expected, key=lambda c: (expected[c], events[c].id))
    for t in got:
        assert t.status == "delivered" or t.status == "sent", t.status
        assert t.language == "uz"
        assert t.sent_at.astimezone(TZ) == expected[by_text[t.text]], by_text[t.text]
    session.expire_all()
    assert set(session.scalars(select(Reminder.status))) == {"sent"}


def _ussd(client, session_id, phone, text):
    form = {"sessionId": session_id, "serviceCode": "*384*7#", "phoneNumber": phone, "networkCode": "99999",
            "text": text}
    resp = client.post(f"/ussd?key={TOKEN}", data=urllib.parse.urlencode(form),
                       content_type="application/x-www-form-urlencoded")
    return resp.get_data(as_text=True)


def test_ussd_my_crops_records_a_transplanting_date(client, session):
    register(session, phone=USSD_FARMER, name="Bahrom", gender="male", village_id=None, crop_ids=["rice"],
             land_m2=2000, language="en")
    session.commit()
    today = utcnow().astimezone(TZ).date()
    d3 = today - dt.timedelta(days=3)
    typed = d3.strftime("%d.%m.%Y")
    bodies = [_ussd(client, "S1", USSD_FARMER, text) for text in
              ("", "5", "5*3", "5*3*1", "5*3*1*2", "5*3*1*2*3", f"5*3*1*2*3*{typed}")]
    assert "My crops" in bodies[1]
    assert bodies[3].startswith("CON Rice: no date yet") and "2 I transplanted" in bodies[3]
    assert bodies[5].startswith("CON Type the date")
    gap_fill = today + dt.timedelta(days=4)
    assert bodies[6] == "END " + templates_sms.text(
        "push.planted_next", "en", crop="Rice", what="transplanted", date=d3.strftime("%d.%m") if d3.year == today.year
        else d3.strftime("%d.%m.%y"), next=gap_fill.strftime("%d.%m") if gap_fill.year == today.year
        else gap_fill.strftime("%d.%m.%y"))
    assert [t.text for t in tips(session, USSD_FARMER)] == [templates_sms.text("campaigns.rice_sri.moist_late", "en")]
    again = [_ussd(client, "S2", USSD_FARMER, text) for text in ("", "5", "5*3", "5*3*1")]
    assert again[3].startswith("CON Rice: transplanted ") and "next tip" in again[3]
    stop = [_ussd(client, "S3", USSD_FARMER, text) for text in ("", "5", "5*3", "5*3*1", "5*3*1*3", "5*3*1*3*1")]
    assert stop[5] == "END " + templates_sms.text("push.planted_off", "en", crop="Rice")
    session.expire_all()
    assert session.scalar(select(Reminder.id).where(Reminder.status == "pending")) is None
