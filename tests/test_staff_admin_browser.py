"""The administrators' pages in Debian's Chromium: an administrator creates an extension officer's
account through the form (by its labels), logs out, the officer logs in; the administrator finds
the entry in the audit log; a form sent without its CSRF token is refused with the 400 page."""
from __future__ import annotations

import re

import pytest

from staff_pages import CHROMIUM, browser_login, chromium, make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]

OFFICER_PASSWORD = "officer's first password"


def test_an_admin_creates_an_officer_who_logs_in_and_reads_the_audit_log(live_server, session):
    make_account(session, "admin", username="amina", name="Amina Rahimova")
    with chromium() as page:
        browser_login(page, live_server, "amina")
        page.get_by_role("link", name="Staff accounts").first.click()
        page.get_by_role("heading", name="New account").wait_for()
        page.get_by_label("Username").fill("rustam")
        page.get_by_label("Full name").fill("Rustam Nazarov")
        page.get_by_label("Role").select_option(label="Extension officer")
        page.get_by_label("Area").fill("vose")
        page.get_by_label("Phone").fill("90 123 4567")
        page.get_by_label("Language of the staff pages").select_option(label="English")
        page.get_by_label("Initial password").fill(OFFICER_PASSWORD)
        page.get_by_role("button", name="Create the account").click()
        page.get_by_text("The account is created.").wait_for()
        assert page.get_by_role("heading", name="Account rustam").is_visible()
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/staff/login"))

        browser_login(page, live_server, "rustam", OFFICER_PASSWORD)
        assert "Rustam Nazarov" in page.locator("header").inner_text()
        assert page.get_by_role("link", name="Staff accounts").count() == 0  # not an administrator's page
        assert page.goto(f"{live_server}/staff/audit").status == 404
        page.goto(f"{live_server}/staff/")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/staff/login"))

        browser_login(page, live_server, "amina")
        page.get_by_role("link", name="Audit log").first.click()
        page.get_by_label("Action").fill("account")
        page.get_by_role("button", name="Filter").click()
        row = page.locator("tr[data-action='account.create']")
        assert row.count() == 1
        text = row.inner_text()
        assert "amina (admin)" in text and "Staff pages" in text and "rustam" in text and "vose" in text
        assert OFFICER_PASSWORD not in page.content()
        page.screenshot(path="/tmp/admin.png", full_page=True)

        # a form whose CSRF token was removed is refused and changes nothing
        page.get_by_role("link", name="Staff accounts").first.click()
        page.evaluate("document.querySelector('form[action$=\"/staff/accounts\"] input[name=csrf_token]').remove()")
        page.get_by_label("Username").fill("intruder")
        page.get_by_label("Full name").fill("Someone Else")
        page.get_by_label("Role").select_option(label="Administrator")
        page.get_by_label("Area").fill("")
        page.get_by_label("Initial password").fill(OFFICER_PASSWORD)
        with page.expect_response(lambda r: r.url.endswith("/staff/accounts") and r.request.method == "POST") as sent:
            page.get_by_role("button", name="Create the account").click()
        assert sent.value.status == 400
        assert page.get_by_role("heading", name="400").is_visible()
        assert "This form has expired or was not sent from this site" in page.locator("main").inner_text()
    from service.staff import accounts

    session.expire_all()
    assert accounts.by_username(session, "intruder") is None
    assert accounts.by_username(session, "rustam").phone == "+992901234567"
