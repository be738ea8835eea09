"""A market reporter enters prices in Debian's Chromium: the nav link, the labelled inputs, an
unusual price confirmed, and the market's history with its chart."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.prices.market import Market, MarketPrice
from staff_pages import CHROMIUM, browser_login, chromium, make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]


def test_a_reporter_enters_a_price_and_confirms_an_unusual_one(live_server, session):
    make_account(session, "market_reporter", "KULOB", username="rep")
    with chromium() as page:
        browser_login(page, live_server, "rep")
        page.get_by_role("navigation").get_by_role("link", name="Prices", exact=True).click()
        page.get_by_label("Tomato, Kulob").fill("3.40")
        page.get_by_label("Onion, Kulob").fill("12")  # outside onion's usual 0.50–5.00
        page.get_by_role("button", name="Save prices").click()
        page.get_by_text("Nothing was saved").wait_for()
        page.get_by_label("Confirm unusual price").check()
        page.get_by_role("button", name="Save prices").click()
        page.get_by_text("The prices are saved.").wait_for()
        page.get_by_role("link", name="Kulob market").click()
        assert "3.40" in page.locator("#history-tomato").inner_text()
        assert "12.00" in page.locator("#history-onion").inner_text()
        chart = page.locator("#price-chart img")
        assert "Tomato (TJS/kg): " in chart.get_attribute("alt") and "3.40" in chart.get_attribute("alt")
        width = chart.evaluate("img => img.complete ? img.naturalWidth : new Promise(done => {"
                               " img.onload = () => done(img.naturalWidth); img.onerror = () => done(0); })")
        assert width > 0  # the SVG loads and is drawn under its CSP
    session.expire_all()
    stored = session.execute(select(MarketPrice.crop_id, MarketPrice.price_diram)
                             .join(Market, Market.id == MarketPrice.market_id).where(Market.code == "KULOB")
                             .order_by(MarketPrice.crop_id)).all()
    assert [tuple(r) for r in stored] == [("onion", 1200), ("tomato", 340)]
