"""PRICE by SMS lists the farmer's own district's markets first, whatever fits in the reply."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.prices import market
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
