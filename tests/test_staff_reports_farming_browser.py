"""An extension officer opens the farming reports in Debian's Chromium: the nav link, the filters
(district, cluster, PG, season) on a phone-sized screen, the chart and its text alternative, the
yields table, and the CSV download."""
from __future__ import annotations

import pytest

from staff_pages import CHROMIUM, browser_login, chromium, make_account
from test_staff_reports_farming import world

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]


def test_an_officer_filters_the_yields_and_downloads_the_land_csv(live_server, session):
    world(session)
    make_account(session, "extension_officer", "kulob", username="officer")
    with chromium(viewport=(390, 844)) as page:
        browser_login(page, live_server, "officer")
        page.get_by_role("navigation").get_by_role("link", name="Reports", exact=True).click()
        page.locator("#reports").get_by_role("link", name="Land report").click()
        page.get_by_role("heading", name="Land report").wait_for()
        assert "50% of 10 members are small farmers" in page.locator("#headline").inner_text()
        # the chart is an image with its words, drawn on the server
        image = page.locator("figure img")
        assert "Members by land size" in image.get_attribute("alt")
        page.wait_for_load_state("load")  # images included
        assert page.evaluate("() => document.querySelector('figure img').naturalWidth") > 0
        # no horizontal scrolling of the page on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        with page.expect_download() as got:
            page.get_by_role("link", name="Download CSV").click()
        text = open(got.value.path(), encoding="utf-8-sig").read()
        assert text.startswith("Level,Id,Name") and "KUL01" in text and "VOS01" not in text

        page.get_by_role("link", name="Yields report").click()
        page.get_by_label("Producer group").select_option("KUL01")
        page.get_by_label("Season").select_option("2025")
        page.get_by_role("button", name="Filter").click()
        row = page.locator('#by-crop tr[data-key="tomato-2025"]')
        assert "+56%" in row.inner_text() and "22.5" in row.inner_text()
        assert "season=2025" in page.url and "pg=KUL01" in page.url
