"""Weekly price digests to subscribers and threshold price alerts."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import templates_sms
from service import price_alert
from service.farmer import register
from service.geography import Village
from service.market import find_market, set_price
from service.message import OutboundMessage

TZ = ZoneInfo("Asia/Dushanbe")
GRACE = dt.timedelta(hours=6)
MONDAY_8 = dt.datetime(2027, 5, 3, 8, tzinfo=TZ).astimezone(dt.timezone.utc)  # 3 May 2027 is a Monday


@pytest.fixture
def farmers(session):
    village = session.scalar(select(Village.id).where(Village.district_id == "kulob").order_by(Village.id))
    a = register(session, phone="+992901000011", name="Aziz", gender="male", village_id=village,
                 crop_ids=["tomato", "onion"], land_m2=None, language="ru")
    b = register(session, phone="+992901000012", name="Bibi", gender="female", village_id=village,
                 crop_ids=["rice"], land_m2=None, language="en")
    kulob, vose = find_market(session, "KULOB"), find_market(session, "VOSE")
    set_price(session, "tomato", kulob, 140, dt.date(2027, 4, 28), "staff")
    set_price(session, "tomato", kulob, 150, dt.date(2027, 5, 1), "staff")
    set_price(session, "onion", vose, 130, dt.date(2027, 5, 1), "staff")
    session.commit()
    return a, b


def texts(session):
    session.expire_all()
    return [r.text for r in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]


def test_subscribe_and_unsubscribe(session, farmers):
    a, _ = farmers
    assert price_alert.subscribe_prices(session, a, True) is True
    assert price_alert.subscribe_prices(session, a, True) is False
    assert price_alert.subscribe_prices(session, a, False) is True
    assert session.get(price_alert.PriceSubscription, a.id) is None


def test_weekly_digest_once_a_week_at_its_hour_to_subscribers_only(session, farmers):
    a, b = farmers
    price_alert.subscribe_prices(session, a, True)
    session.commit()
    assert price_alert.queue_digests(session, MONDAY_8 - dt.timedelta(minutes=1), TZ, GRACE) == 0
    assert price_alert.queue_digests(session, MONDAY_8, TZ, GRACE) == 1
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(hours=1), TZ, GRACE) == 0
    # local market (Kulob) for tomato, another district's market for onion
    assert texts(session) == [templates_sms.text("push.digest", "ru", lines="Лук 1.30, Томат 1.50")]
    # the next week's slot passed more than the grace ago (scheduler down all Monday): skipped
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(days=7, hours=7), TZ, GRACE) is None
    # prices older than 14 days are not sent; a fresh one is
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(days=14), TZ, GRACE) == 0
    set_price(session, "tomato", find_market(session, "KULOB"), 120, dt.date(2027, 5, 15), "staff")
    session.commit()
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(days=14, minutes=1), TZ, GRACE) == 1
    assert texts(session)[-1] == templates_sms.text("push.digest", "ru", lines="Томат 1.20")


def test_threshold_alert_fires_once_when_the_price_reaches_it(session, farmers):
    a, b = farmers
    price_alert.set_price_alert(session, a, "tomato", 160, "above")
    price_alert.set_price_alert(session, b, "tomato", 145, "below")
    session.commit()
    now = MONDAY_8
    assert price_alert.queue_alerts(session, now) == 0  # 1.50: neither reached
    set_price(session, "tomato", find_market(session, "KULOB"), 165, dt.date(2027, 5, 3), "staff")
    session.commit()
    assert price_alert.queue_alerts(session, now) == 1
    assert price_alert.queue_alerts(session, now + dt.timedelta(hours=1)) == 0  # spent
    assert texts(session) == [templates_sms.text("push.price_above", "ru", crop="Томат", market="Рынок Куляба",
                                                 price="1.65", threshold="1.60")]
    with pytest.raises(ValueError):
        price_alert.set_price_alert(session, a, "tomato", 0)
