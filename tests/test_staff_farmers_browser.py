"""The farmer pages in Debian's Chromium: an extension officer finds a farmer by name through the
search form (by its label, as a person would), opens the farmer's page and reads the memberships
and the messages with their delivery status; a VAM agent of one district who types another
district's farmer's address gets 404, said in the agent's language."""
from __future__ import annotations

import re

import pytest

from farmer_world import build
from staff_pages import CHROMIUM, browser_login, chromium, make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]


def test_an_extension_officer_finds_a_farmer_by_name_and_reads_the_page(live_server, session):
    world = build(session)
    make_account(session, "extension_officer", "vose", username="rustam", name="Rustam Nazarov")
    g = world["gulnora"]
    with chromium() as page:
        browser_login(page, live_server, "rustam")
        page.get_by_role("navigation").get_by_role("link", name="Farmers", exact=True).click()
        page.get_by_label("Name, phone or member code").fill("гулнора")
        page.get_by_role("button", name="Search").click()
        results = page.locator("#farmer-results")
        assert "Farmers found: 1" in page.locator("#results-title").inner_text()
        row = results.locator("tbody tr").first.inner_text()
        assert "Гулнора Раҳимова" in row and "VOS91" in row and g.code in row and g.phone not in row
        page.get_by_role("link", name="Гулнора Раҳимова").click()
        page.wait_for_url(re.compile(rf"/staff/farmers/{g.code}$"))
        assert page.get_by_role("heading", level=1).inner_text().startswith("Гулнора Раҳимова")
        memberships = page.locator("#memberships").inner_text()
        assert "VOS91 · Dahana onion growers" in memberships and "Treasurer" in memberships and "Active" in memberships
        messages = page.locator("#messages tbody tr")
        assert messages.count() == 3
        first = messages.nth(0).inner_text()
        assert "Нархи ҳафта" in first and "Failed" in first and "403 InvalidPhoneNumber" in first
        assert "Delivered" in messages.nth(1).inner_text() and "Received" in messages.nth(2).inner_text()
        household = page.locator("section[aria-labelledby=household-title]").inner_text()
        assert "No other profile uses this phone." in household
        page.screenshot(path="/tmp/farmers.png", full_page=True)


def test_a_vam_agent_gets_404_for_another_districts_farmer_by_url(live_server, session):
    world = build(session)
    make_account(session, "vam_agent", str(world["gulnora"].village_id), username="zarina", language="ru")
    karim = world["kulob"]
    with chromium() as page:
        browser_login(page, live_server, "zarina")
        response = page.goto(f"{live_server}/staff/farmers/{karim.code}")
        assert response.status == 404
        assert "Такой страницы нет, или она вне вашей зоны." in page.locator("main").inner_text()
        assert "Karim" not in page.content()
        page.screenshot(path="/tmp/farmers-404.png", full_page=True)
        own = page.goto(f"{live_server}/staff/farmers/{world['gulnora'].code}")
        assert own.status == 200 and "Членство" in page.locator("main").inner_text()
