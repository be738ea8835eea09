"""PRICE by SMS lists the farmer's own district's markets first, whatever fits in the reply; markets
by name in every language (full and short), found by any name or code; one way to write a change."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service import features
from service.prices import market
from service.reference import data
from service.reference.crops import Crop
from service.prices.market import Market
from service.prices.sms import price_list


def test_own_district_markets_come_first_and_survive_the_cut(session):
    onion = session.get(Crop, "onion")
    day = dt.date(2026, 11, 20)
    for i, mkt in enumerate(session.scalars(select(Market).order_by(Market.code))):
        # the Vose markets carry the oldest prices, so "newest first" alone would list them last
        on = day - dt.timedelta(days=5) if mkt.district_id == "vose" else day
        market.set_price(session, "onion", mkt, 130 + 5 * i, on, "test")
    session.flush()
    anywhere = price_list(session, onion, None, "tg", day)
    near = price_list(session, onion, None, "tg", day, near_district="vose")
    vose = [session.scalar(select(Market).where(Market.code == c)).name("tg", short=True) for c in ("VOSE", "VOSECC")]
    assert vose == ["Восеъ", "Маркази Восеъ"]
    assert not anywhere.split("\n")[1].startswith(tuple(vose))
    assert [ln.rsplit(" ", 2)[0] for ln in near.split("\n")[1:3]] == vose
    assert near.split("\n")[0] == anywhere.split("\n")[0]  # the header keeps the newest date


def test_every_name_of_a_market_finds_it_and_the_code_too(session):
    """``PRICE <crop> <market>`` takes the code, the full or the short name in any language, as typed."""
    for code, (_, _, names) in data.MARKETS.items():
        want = session.scalar(select(Market).where(Market.code == code))
        typed = [code, code.lower(), *(n for pair in names.values() for n in pair), names["tg"][1].upper()]
        for text in typed:
            assert market.find_market(session, text) is want, (code, text)


def test_a_market_name_per_language_full_and_short(session):
    kulob = session.scalar(select(Market).where(Market.code == "KULOB"))
    assert [kulob.name(lang) for lang in ("tg", "ru", "uz", "en")] == [
        "Бозори Кӯлоб", "Рынок Куляба", "Ko'lob bozori", "Kulob market"]
    assert [kulob.name(lang, short=True) for lang in ("tg", "ru", "uz", "en")] == ["Кӯлоб", "Куляб", "Ko'lob", "Kulob"]
    # a market without short names (added by hand) shows its full name in a list
    bare = Market(code="NEW", names={"tg": "Бозори Нав", "en": "New market"}, district_id="kulob")
    assert (bare.name("tg", short=True), bare.name("ru", short=True), bare.name("ru")) == (
        "Бозори Нав", "New market", "New market")


def test_a_database_of_the_first_reference_names_gets_todays_at_init(session):
    balkh, vosecc = (session.scalar(select(Market).where(Market.code == c)) for c in ("BALKH", "VOSECC"))
    balkh.names = {"tg": "Бозори Балх", "ru": "Рынок Балх", "uz": "Balx bozori", "en": "Balkh bazaar"}
    edited = {**vosecc.names, "ru": "Пункт сбора в Восе"}  # staff's own name, short names kept
    vosecc.names = edited
    session.flush()
    assert features.load_reference(session) is False  # the reference data was there
    session.expire_all()
    assert balkh.names == data.market_names(data.MARKETS["BALKH"][2])
    assert (balkh.name("ru"), balkh.name("ru", short=True)) == ("Рынок Балха", "Балх")
    assert vosecc.names == edited


@pytest.mark.parametrize("lang, line", [("tg", "Бозори Ҷомӣ 1,45 +0,00"), ("ru", "Рынок Джами 1,45 +0,00"),
                                        ("uz", "Jomiy bozori 1.45 +0.00"), ("en", "Jomi market 1.45 +0.00")])
def test_an_unchanged_price_reads_as_on_ussd(session, lang, line):
    """SMS once wrote an unchanged price as ``(0,00)`` and USSD as ``+0,00``: both write ``+0,00`` now."""
    jomi = session.scalar(select(Market).where(Market.code == "JOMI"))
    day = dt.date(2026, 11, 20)
    market.set_price(session, "tomato", jomi, 145, day - dt.timedelta(days=3), "test")
    market.set_price(session, "tomato", jomi, 145, day, "test")
    assert price_list(session, session.get(Crop, "tomato"), jomi, lang, day).split("\n")[1] == line
