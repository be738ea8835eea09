"""An extension officer in Debian's Chromium: the PG list, a filter, a PG's page, the chair replaced
through the form (by its labels), the new chair in the seats and the former one in the seat history."""
from __future__ import annotations

import re

import pytest

from staff_pages import CHROMIUM, browser_login, chromium, make_account
from test_staff_pgs import world

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]


def test_an_officer_replaces_a_chair_through_the_pg_page(app, live_server, session):
    data = world(session)
    make_account(session, "extension_officer", "kulob", username="officer", name="Rustam Nazarov")
    bahrom = f"{data['bahrom'].name} ({data['bahrom'].code})"
    with chromium() as page:
        browser_login(page, live_server, "officer")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Producer groups").click()
        assert page.locator("[data-figure=found]").inner_text() == "2 producer groups"
        page.get_by_label("Stage").select_option(label="Forming")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"stage=forming"))
        rows = page.locator("#pg-list tbody tr")
        assert rows.count() == 1 and "KUL01" in rows.first.inner_text()
        page.get_by_role("link", name="KUL01").click()
        page.get_by_role("heading", name="KUL01 · Dahana tomato").wait_for()
        assert "Rustam Karimov" in page.locator("#seats tr[data-seat=chair]").inner_text()

        form = page.locator("form#seat-replace")
        form.get_by_label("Seat").select_option(label="Chair")
        form.get_by_label("New holder").select_option(label=bahrom)
        form.get_by_label("Election date").fill("2025-09-10")
        form.get_by_role("button", name="Replace").click()

        page.get_by_role("status").filter(has_text="The seat has its new holder").wait_for()
        chair = page.locator("#seats tr[data-seat=chair]").inner_text()
        assert "Bahrom Aliev" in chair and "2025-09-10" in chair and "2027-09-10" in chair
        history = page.locator("#terms tbody tr")
        lines = [history.nth(i).inner_text() for i in range(history.count())]
        assert len(lines) == 2
        assert "Bahrom Aliev" in lines[0] and "In office" in lines[0]
        assert "Rustam Karimov" in lines[1] and "2025-03-01" in lines[1] and "Replaced" in lines[1]
        page.screenshot(path="/tmp/pgs.png", full_page=True)
