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


LAYOUT_PAGES = ["/staff", "/staff/pgs/KUL01", "/staff/clusters/tomato.kulob", "/staff/accounts"]

# Each select and input of a staff form whose right edge lies outside its form, as "form#id: name".
_OVERFLOWING = """() => {
  const out = [];
  for (const form of document.querySelectorAll('main form')) {
    const box = form.getBoundingClientRect();
    for (const el of form.querySelectorAll('select, input:not([type=hidden]), textarea')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > box.right + 0.5) out.push(`form#${form.id}: ${el.name} ${r.right} > ${box.right}`);
    }
  }
  return out;
}"""


def test_staff_pages_fit_a_phone_and_form_controls_fit_their_forms(app, live_server, session):
    world(session)
    make_account(session, "admin", username="amina", name="Amina Rahimova")
    with chromium() as page:
        browser_login(page, live_server, "amina")
        for path in LAYOUT_PAGES:
            page.goto(f"{live_server}{path}")
            assert page.locator("main h1").count() == 1, path
            assert page.evaluate(_OVERFLOWING) == [], path
            if path == "/staff/pgs/KUL01":
                page.screenshot(path="/tmp/pg-1280.png", full_page=True)
    with chromium(viewport=(390, 844)) as page:
        browser_login(page, live_server, "amina")
        for path in LAYOUT_PAGES:
            page.goto(f"{live_server}{path}")
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], (path, width)
            assert page.evaluate(_OVERFLOWING) == [], path
            page.screenshot(path=f"/tmp/phone{path.replace('/', '-')}.png", full_page=True)
