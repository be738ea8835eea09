"""An extension officer edits a crop calendar event in Debian's Chromium: the nav link, the reach
of the event, a text too long for one SMS caught by "Check" (no script on the page), the fix, the
save and the re-planned calendar; the event page fits a 390 px phone screen."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.farmers.models import register
from service.reference.geography import Village
from service.reminders import campaign as campaigns
from service.reminders.crop_cycle import record_planting
from staff_pages import CHROMIUM, browser_login, chromium, make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]


# each input and textarea of the page's forms whose right edge lies outside its form
_OVERFLOWING = """() => [...document.querySelectorAll('main form')].flatMap(form => {
  const box = form.getBoundingClientRect();
  return [...form.querySelectorAll('input:not([type=hidden]), textarea')]
    .filter(el => el.getBoundingClientRect().right > box.right + 0.5).map(el => el.name);
})"""


def test_an_officer_checks_fixes_and_saves_an_event(live_server, session, app):
    zone = app.extensions["dehqon.settings"].timezone
    village = session.scalar(select(Village.id).where(Village.district_id == "kulob").order_by(Village.id).limit(1))
    farmer = register(session, phone="+992901110001", name="Aziza", gender="female", village_id=village,
                      crop_ids=["rice"], land_m2=5000, language="en")
    now = utcnow()
    # sown 3 days ago: the 4th weeding (transplanting + 40 days) is weeks ahead whatever the hour
    record_planting(session, farmer, "rice", "S", now.astimezone(zone).date() - dt.timedelta(days=3), now=now, zone=zone)
    session.commit()
    make_account(session, "extension_officer", "kulob", username="ext")
    with chromium() as page:
        browser_login(page, live_server, "ext")
        page.get_by_role("navigation").get_by_role("link", name="Crop calendars", exact=True).click()
        row = page.locator("#event-rice_sri-weed4")
        assert row.locator("[data-farmers]").inner_text() == "1"
        row.get_by_role("link", name="transplanting +40 d").click()
        page.get_by_text("Still ahead for 1 farmers of your area").wait_for()
        english = page.get_by_label("Text: English")
        english.fill("Rice: 4th weeding today. " + "Weed between the rows with the rotary weeder. " * 3)
        page.get_by_role("button", name="Check").click()
        page.get_by_text("Checked; nothing is saved yet.").wait_for()
        assert "Too long for one SMS" in page.locator("#measure-en").inner_text()
        english.fill("Rice: 4th weeding today, with the rotary weeder between the rows.")
        page.get_by_label("Day: days after the transplanting date").fill("41")
        page.get_by_role("button", name="Check").click()
        page.get_by_text("Checked; nothing is saved yet.").wait_for()
        assert "Fits one SMS." in page.locator("#measure-en").inner_text()
        assert page.get_by_label("Day: days after the transplanting date").input_value() == "41"
        page.get_by_role("button", name="Save and re-plan").click()
        page.get_by_text("Saved: 1 crop cycles re-planned.").wait_for()
        row = page.locator("#event-rice_sri-weed4")
        assert "transplanting +41 d" in row.inner_text()
        assert "Rice: 4th weeding today, with the rotary weeder between the rows." in row.inner_text()

        page.set_viewport_size({"width": 390, "height": 800})
        row.get_by_role("link", name="transplanting +41 d").click()
        page.get_by_label("Text: English").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.evaluate(_OVERFLOWING) == []
        page.screenshot(path="/tmp/campaign-event-390.png", full_page=True)
    session.expire_all()
    event = next(e for e in campaigns.events_of(session, campaigns.by_code(session, "rice_sri").id) if e.code == "weed4")
    assert event.offset_days == 41 and event.render("en").startswith("Rice: 4th weeding today, with")
