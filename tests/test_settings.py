"""One settings object for both channels and the scheduler: ``TIMEZONE`` and ``USSD_SERVICE_CODE``
are honoured by USSD, SMS and the tick alike.

The wall clock is set (time-machine) to 11:00 UTC, which is already the next day in
``Pacific/Kiritimati`` (UTC+14) and still the same day in Dushanbe (UTC+5): "today" by SMS and by
USSD must both be Kiritimati's.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases.sms import TOKEN, at
from service.farmers.models import register
from service.settings import DEFAULTS, Settings

ZONE = "Pacific/Kiritimati"
NOW = dt.datetime(2027, 5, 10, 11, 0, tzinfo=dt.timezone.utc)  # 11 May 01:00 in Kiritimati, 10 May 16:00 in Dushanbe
SMS_FARMER, USSD_FARMER = "+992901000081", "+992901000082"


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN, "TIMEZONE": ZONE, "USSD_SERVICE_CODE": "*555*1#"}


def test_settings_are_typed_and_frozen():
    s = Settings.from_mapping({"TIMEZONE": ZONE, "STAFF_PHONES": ["0 90 100 00 01", "not a phone"],
                               "QUIET_HOURS_START": "22:30", "ORDER_ROUND_DAYS": "5"})
    assert s.timezone == ZoneInfo(ZONE) and s.quiet_start == dt.time(22, 30) and s.order_round_days == 5
    assert s.staff_phones == frozenset({"+992901000001"})
    assert s.today(NOW) == dt.date(2027, 5, 11) and DEFAULTS.today(NOW) == dt.date(2027, 5, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.timezone = ZoneInfo("UTC")


def test_the_app_builds_one_settings_object(app):
    settings = app.extensions["dehqon.settings"]
    assert settings.timezone == ZoneInfo(ZONE) and settings.ussd_service_code == "*555*1#"


def _ussd(client, session_id, phone, text):
    form = {"sessionId": session_id, "serviceCode": "*555*1#", "phoneNumber": phone, "networkCode": "99999",
            "text": text}
    return client.post(f"/ussd?key={TOKEN}", data=urllib.parse.urlencode(form),
                       content_type="application/x-www-form-urlencoded").get_data(as_text=True)


def test_sms_and_ussd_agree_on_today_in_the_configured_timezone(client, session):
    for phone in (SMS_FARMER, USSD_FARMER):
        register(session, phone=phone, name="Bahrom", gender="male", village_id=None, crop_ids=["rice"],
                 land_m2=2000, language="en")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        client.post(f"/sms/inbound?key={TOKEN}", data=urllib.parse.urlencode(at("tz1", SMS_FARMER, "PLANTED rice")),
                    content_type="application/x-www-form-urlencoded")
        # My account -> My crops -> Rice -> I sowed -> today
        bodies = [_ussd(client, "TZ1", USSD_FARMER, t) for t in ("", "5", "5*3", "5*3*1", "5*3*1*1", "5*3*1*1*1")]
    from service.messaging.message import OutboundMessage
    session.expire_all()
    sms_reply = session.query(OutboundMessage).filter_by(phone=SMS_FARMER).order_by(OutboundMessage.id).all()[-1].text
    assert "11.05" in sms_reply and "10.05" not in sms_reply, sms_reply
    assert bodies[-1].startswith("END ") and "11.05" in bodies[-1] and "10.05" not in bodies[-1], bodies


def test_texts_name_the_configured_ussd_code(client, session):
    """An unregistered phone asking for help by SMS is told the configured code, not the default."""
    client.post(f"/sms/inbound?key={TOKEN}", data=urllib.parse.urlencode(at("tz2", "+992901000083", "JOIN VOS01")),
                content_type="application/x-www-form-urlencoded")
    from service.messaging.message import OutboundMessage
    reply = session.query(OutboundMessage).filter_by(phone="+992901000083").one().text
    assert "*555*1#" in reply and "*384*7#" not in reply, reply
