"""A newcomer's first hour on the staff pages, in Debian's Chromium: the first administrator made on
the command line, the login, the sample workbook downloaded from the import page and imported
through it, the case study's shape on the home page, and a second check of the same file that
finds nothing to change (and offers no Import)."""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import text

from staff_pages import CHROMIUM, PASSWORD, browser_login, chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]

TABLES = ("village", "cbo", "producer_group", "pg_stage_assessment", "farmer", "farmer_crop", "membership",
          "ec_term", "responder", "responder_village", "collection_centre", "market", "demo_plot")


def _digest(session) -> str:
    h = hashlib.sha256()
    for table in TABLES:
        h.update(repr(session.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()).encode())
    return h.hexdigest()


def _check(page, path) -> str:
    page.get_by_label("Files (XLSX or CSV)").set_input_files(str(path))
    assert "up to a minute" in page.locator("#check-wait").inner_text()
    page.get_by_role("button", name="Check (dry run)").click()
    return page.locator("section[aria-labelledby=report-title]").inner_text()


def _import(page, path) -> str:
    checked = _check(page, path)
    assert "click once and wait" in page.locator("#import-wait").inner_text()
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(re.compile(r"^Imported: ")).wait_for()
    return checked


def test_a_newcomer_imports_the_sample_workbook_and_sees_the_case_studys_shape(app, runner, live_server, session,
                                                                                tmp_path):
    made = runner.invoke(args=["staff", "create-admin", "--username", "amina", "--name", "Amina Rahimova",
                               "--language", "en", "--password-stdin"], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    with chromium() as page:
        page.set_default_timeout(300_000)  # a check or an import of 1,709 rows: 22 s alone, minutes on a busy machine
        browser_login(page, live_server, "amina")
        page.get_by_role("link", name="Import a programme").first.click()
        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile("^The sample workbook")).click()
        workbook = tmp_path / "demo-region.xlsx"
        download.value.save_as(workbook)
        first = _import(page, workbook)
        assert "No error" in first
        page.screenshot(path="/tmp/dehqon-staff-import.png", full_page=True)
        page.get_by_role("link", name="Dehqon · Staff").click()
        figures = {name: page.locator(f'[data-figure="{name}"]').inner_text() for name in ("farmers", "pgs", "ec")}
        assert figures == {"farmers": "1496 · 29% women", "pgs": "81", "ec": "398 of 405 filled · 16% women"}
        page.screenshot(path="/tmp/dehqon-staff-home.png", full_page=True)
        session.expire_all()
        before = _digest(session)
        page.get_by_role("link", name="Import a programme").first.click()
        second = _check(page, workbook)  # the same file again: nothing to change, so no Import button
        assert "Nothing would be created or updated" in second, second
        assert re.search(r"\(\d[\d,]* rows unchanged\)", second), second
        assert page.get_by_role("button", name="Import", exact=True).count() == 0
    session.expire_all()
    assert _digest(session) == before
