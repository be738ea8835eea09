"""The home page on a 390 px phone in Debian's Chromium: an extension officer sees the join request
waiting in their district, with its count, and follows the count to the PG page's requests; the
page fits the screen; an officer of another district has an empty day."""
from __future__ import annotations

import pytest

from staff_pages import CHROMIUM, browser_login, chromium, make_account
from test_staff_pgs import world

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]


def test_the_home_page_shows_a_join_request_and_links_to_the_pg_page(app, live_server, session):
    world(session)  # KUL01 has one pending request (Dilnoza Rahimova), an open round and a question
    make_account(session, "extension_officer", "kulob", username="officer", name="Rustam Nazarov")
    make_account(session, "extension_officer", "balkhi", username="balkhi", name="Balkhi Officer")
    with chromium(viewport=(390, 844)) as page:
        page.set_default_timeout(30_000)  # a loaded 2-core CI machine opens the PG page slowly
        browser_login(page, live_server, "officer")
        today = page.get_by_role("region", name="Today")
        joins = today.locator("[data-item=join_requests]")
        assert joins.locator("[data-count=join_requests]").inner_text() == "1"
        assert "Dilnoza Rahimova" in joins.inner_text() and "KUL01" in joins.inner_text()
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
        box = joins.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        page.screenshot(path="/tmp/home-phone.png", full_page=True)
        joins.get_by_role("link", name="Join requests to approve 1").click()
        page.wait_for_url(f"{live_server}/staff/pgs/KUL01#requests-title")
        assert "Dilnoza Rahimova" in page.locator("#requests").inner_text()
        page.get_by_role("button", name="Log out").click()
        browser_login(page, live_server, "balkhi")
        assert page.locator("[data-today=empty]").inner_text() == "Nothing needs you today."
        assert page.locator("[data-item]").count() == 0
