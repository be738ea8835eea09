"""Helpers for tests of the staff pages: accounts, logging in with the test client, and Chromium.

``make_account(session, role, *scope, ...)`` creates (and commits) an account with password
:data:`PASSWORD`; ``login(client, username)`` logs the test client in through the login form (with
its CSRF token); ``csrf(client, path)`` reads the token of a page's form. ``chromium()`` yields a
Playwright page on Debian's Chromium; ``browser_login(page, base_url, username)`` logs it in.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path

from service.staff import accounts

PASSWORD = "a long enough password"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_account(session, role: str, *scope: str, username: str | None = None, phone: str | None = None,
                 language: str = "en", name: str | None = None) -> accounts.StaffAccount:
    """Create and commit an account of ``role`` over ``scope`` (ids or codes)."""
    account = accounts.create(session, username=username or f"{role.replace('_', '-')}-{'-'.join(scope) or 'all'}"[:40].lower().replace(".", "-"),
                              name=name or f"Test {role}", role=role, password=PASSWORD, phone=phone,
                              language=language, scope=list(scope))
    session.commit()
    return account


def csrf(client, path: str = "/staff/login") -> str:
    """The CSRF token of the form on ``path`` (GET with the client's session)."""
    page = client.get(path)
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Log ``client`` in through the form; returns the POST's response (302 on success)."""
    token = csrf(client)
    return client.post("/staff/login", data={"username": username, "password": password, "csrf_token": token})


def post(client, path: str, data: dict, form_page: str | None = None):
    """POST ``data`` to ``path`` with the CSRF token read from ``form_page`` (default ``path``)."""
    return client.post(path, data={**data, "csrf_token": csrf(client, form_page or path)})


@contextlib.contextmanager
def chromium(viewport=(1280, 860)):
    """A Playwright page on Debian's Chromium (headless); fails the test on a script error."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            yield page
        finally:
            browser.close()
        assert errors == [], errors


def browser_login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log the browser in through the login page (labels, as a person would)."""
    page.goto(f"{base_url}/staff/login")
    page.get_by_label(re.compile("Username|Номи корбар|Имя пользователя")).fill(username)
    page.get_by_label(re.compile("^(Password|Рамз|Пароль)$")).fill(password)
    page.get_by_role("button", name=re.compile("Log in|Ворид шудан|Войти")).click()
    page.wait_for_url(re.compile(r"/staff/?$|/staff/(?!login)"))


def html(response) -> str:
    """A page's HTML with entities unescaped; fails unless the response is 200."""
    from html import unescape

    assert response.status_code == 200, response.status_code
    return unescape(response.get_data(as_text=True))


def row_cells(page: str, table: str, key: str) -> list[str]:
    """The ``<td>`` texts of the row ``data-key=key`` of the table ``id=table`` of ``page``."""
    body = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S).group(1)
    tr = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', body, re.S).group(1)
    return re.findall(r"<td>([^<]*)</td>", tr)


def csv_rows(response) -> list[list[str]]:
    """The rows of a CSV download (its byte-order mark dropped); fails unless 200 and CSV."""
    import csv
    import io

    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def xlsx_rows(response) -> list[list]:
    """The rows of an XLSX download's first sheet; fails unless 200 and XLSX."""
    import io

    from openpyxl import load_workbook

    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    return [list(r) for r in load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True)]
