"""Weekly price digests to subscribers and threshold price alerts."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import templates_sms
from service.prices import alerts as price_alert
from service.farmers.models import register
from service.reference.geography import Village
from service.prices.market import find_market, set_price
from service.messaging.message import OutboundMessage

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
    assert texts(session) == [templates_sms.text("push.digest", "ru", lines="Лук 1,30; Томат 1,50")]
    # the next week's slot passed more than the grace ago (scheduler down all Monday): skipped
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(days=7, hours=7), TZ, GRACE) is None
    # prices older than 14 days are not sent; a fresh one is
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(days=14), TZ, GRACE) == 0
    set_price(session, "tomato", find_market(session, "KULOB"), 120, dt.date(2027, 5, 15), "staff")
    session.commit()
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(days=14, minutes=1), TZ, GRACE) == 1
    assert texts(session)[-1] == templates_sms.text("push.digest", "ru", lines="Томат 1,20")


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
                                                 price="1,65", threshold="1,60")]
    with pytest.raises(ValueError):
        price_alert.set_price_alert(session, a, "tomato", 0)


# ---------------------------------------------------------------- a shared household phone

HOUSEHOLD = "+992901000020"


@pytest.fixture
def household(session, farmers):
    """Nodira (main, tg, tomato) and Said (ru, onion) on one phone, in Kulob."""
    village = session.scalar(select(Village.id).where(Village.district_id == "kulob").order_by(Village.id))
    nodira = register(session, phone=HOUSEHOLD, name="Nodira Aliyeva", gender="female", village_id=village,
                      crop_ids=["tomato"], land_m2=None, language="tg")
    said = register(session, phone=HOUSEHOLD, name="Said", gender="male", village_id=village,
                    crop_ids=["onion"], land_m2=None, language="ru")
    session.commit()
    return nodira, said


def household_rows(session):
    session.expire_all()
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.phone == HOUSEHOLD)
                                .order_by(OutboundMessage.id)))


def test_a_shared_phone_gets_one_digest_for_the_crops_of_everybody_subscribed(session, farmers, household):
    nodira, said = household
    a, _ = farmers
    for f in (said, nodira, a):
        price_alert.subscribe_prices(session, f, True)
    session.commit()
    assert price_alert.queue_digests(session, MONDAY_8, TZ, GRACE) == 2
    [row] = household_rows(session)
    assert (row.text, row.language, row.farmer_id) == (templates_sms.text(
        "push.for_names", "tg", names="Nodira, Said",
        text=templates_sms.text("push.digest", "tg", lines="Пиёз 1,30; Помидор 1,50")), "tg", nodira.id)
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(minutes=1), TZ, GRACE) == 0


def test_the_weeks_digest_sent_under_another_profile_is_not_sent_again(session, household):
    """Said alone subscribed and got Monday's digest; Nodira subscribes an hour later: the phone
    has this week's digest already."""
    nodira, said = household
    price_alert.subscribe_prices(session, said, True)
    session.commit()
    assert price_alert.queue_digests(session, MONDAY_8, TZ, GRACE) == 1
    price_alert.subscribe_prices(session, nodira, True)
    session.commit()
    assert price_alert.queue_digests(session, MONDAY_8 + dt.timedelta(hours=1), TZ, GRACE) == 0
    assert [r.text for r in household_rows(session)] == [  # for Said alone on a shared phone: named
        templates_sms.text("push.for_names", "ru", names="Said", text=templates_sms.text("push.digest", "ru",
                                                                                         lines="Лук 1,30"))]


def test_the_same_alert_of_two_profiles_of_a_phone_is_one_sms_naming_them(session, household):
    nodira, said = household
    for f in (said, nodira):
        price_alert.set_price_alert(session, f, "tomato", 150, "above")
    price_alert.set_price_alert(session, said, "tomato", 160, "below")  # says something else: its own SMS
    session.commit()
    assert price_alert.queue_alerts(session, MONDAY_8) == 2
    rows = household_rows(session)
    tg = templates_sms.text("push.price_above", "tg", crop="Помидор", market=find_market(session, "KULOB").name("tg"),
                            price="1,50", threshold="1,50")
    ru = templates_sms.text("push.price_below", "ru", crop="Томат", market="Рынок Куляба", price="1,50",
                            threshold="1,60")
    assert [(r.text, r.farmer_id) for r in rows] == [
        (templates_sms.text("push.for_names", "tg", names="Nodira, Said", text=tg), nodira.id),
        (templates_sms.text("push.for_names", "ru", names="Said", text=ru), said.id)]  # for him alone: named
    assert session.scalars(select(price_alert.PriceAlert.fired_at.is_not(None))).all() == [True, True, True]


# ---------------------------------------------------------------- one money format per language

@pytest.mark.parametrize("lang, digest, alert", [
    ("tg", "Помидор 1,50", "Помидор дар Бозори Кӯлоб: 1,65 сомонӣ/кг, аз 1,60 боло."),
    ("ru", "Томат 1,50", "Томат, Рынок Куляба: 1,65 сомони/кг, выше 1,60."),
    ("uz", "Pomidor 1.50", "Pomidor Ko'lob bozorida: 1.65 TJS/kg, 1.60 dan yuqori."),
    ("en", "Tomato 1.50", "Tomato at Kulob market: 1.65 TJS/kg, at or above 1.60."),
])
def test_digest_and_alert_write_amounts_and_the_market_as_every_other_text_of_the_language(
        session, farmers, lang, digest, alert):
    """The digest once wrote ``1.50`` in Russian while PRICE wrote ``1,50``: both now go through
    ``service.reference.render``; the alert names the market in the farmer's language."""
    village = session.scalar(select(Village.id).where(Village.district_id == "kulob").order_by(Village.id))
    farmer = register(session, phone="+992901000013", name="Dilnoza", gender="female", village_id=village,
                      crop_ids=["tomato"], land_m2=None, language=lang)
    price_alert.subscribe_prices(session, farmer, True)
    price_alert.set_price_alert(session, farmer, "tomato", 160, "above")
    session.commit()
    assert price_alert.queue_digests(session, MONDAY_8, TZ, GRACE) == 1
    set_price(session, "tomato", find_market(session, "KULOB"), 165, dt.date(2027, 5, 3), "staff")
    session.commit()
    assert price_alert.queue_alerts(session, MONDAY_8) == 1
    assert texts(session) == [templates_sms.text("push.digest", lang, lines=digest), alert]
