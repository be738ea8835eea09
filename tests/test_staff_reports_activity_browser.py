"""An extension officer reads the activity reports in Debian's Chromium: the nav link, the season
and PG filters, the charts (loaded, with their text alternative), a CSV download, a 390 px phone
screen without sideways scrolling, and the printed page without forms or links."""
from __future__ import annotations

import csv
import io
import re

import pytest

from staff_pages import CHROMIUM, browser_login, chromium, make_account
from test_staff_reports_activity import world

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]


def _chart_loaded(page) -> bool:
    return page.locator("figure img").evaluate("img => img.complete && img.naturalWidth > 0")


def test_an_officer_filters_the_reports_and_downloads_a_csv(live_server, session):
    world(session)
    make_account(session, "extension_officer", "kulob", username="officer")
    with chromium() as page:
        browser_login(page, live_server, "officer")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports", exact=True).click()
        page.locator("#reports").get_by_role("link", name="PG development stages").click()
        page.get_by_role("heading", name="PG development stages").wait_for()
        page.get_by_label("Season").select_option("2025")
        page.get_by_label("Per").select_option(label="Quarter")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"season=2025.*by=quarter|by=quarter.*season=2025"))
        assert page.locator("#stages tbody tr").count() == 4
        assert "50%" in page.locator('#stages tr[data-key="2025 Q1"]').inner_text()
        assert _chart_loaded(page)
        assert "Storming 1 (50%)" in page.locator("figure img").get_attribute("alt")

        page.get_by_role("navigation", name="Reports").get_by_role("link", name="Messages").click()
        page.get_by_label("Season").select_option("2025")
        page.get_by_label("Producer group").select_option("KUL02")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"pg=KUL02"))
        assert page.locator('#by-month tr[data-key="2025-02"] td').nth(0).inner_text() == "2"
        assert _chart_loaded(page)
        with page.expect_download() as info:
            page.get_by_role("link", name="Download CSV").click()
        rows = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8-sig").read())))
        assert info.value.suggested_filename == "messages.csv"
        assert next(r for r in rows if r[0] == "total")[3:5] == ["3", "2"]


def test_the_active_farmers_report_on_a_phone_and_on_paper(live_server, session):
    world(session)
    make_account(session, "admin", username="amina")
    with chromium(viewport=(390, 800)) as page:
        browser_login(page, live_server, "amina")
        page.goto(f"{live_server}/staff/reports/active?season=2025")
        page.get_by_role("heading", name="Active farmers").wait_for()
        assert _chart_loaded(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator('#active tr[data-key="2025-02"] td').first.inner_text() == "3"
        page.emulate_media(media="print")
        assert not page.locator("form.filters").is_visible()
        assert not page.get_by_role("link", name="Download CSV").is_visible()
        assert page.locator("#active").is_visible() and page.locator("figure img").is_visible()
        assert page.locator("#covers").inner_text() == "Season 2025"
