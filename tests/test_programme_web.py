"""The staff import page: upload, the dry-run report on the page and as a download, confirm, templates."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from service.audit.log import AuditEntry
from service.farmers.models import Farmer
from service.programme import sheets
from staff_pages import browser_login, chromium, csrf, login, make_account
from test_programme import example_rows, workbook


@pytest.fixture
def admin(session):
    account = make_account(session, "admin", username="amina", name="Amina Rahimova")
    return account


def bad_and_fixed() -> tuple[bytes, bytes]:
    bad = example_rows()
    bad["farmers"][0]["village"] = "Nowhere"
    bad["farmers"].append(dict(example_rows()["farmers"][0], name="Ширин Назарова", gender="female",
                               phone="+992905550199"))  # a second chair of KUL01
    fixed = example_rows()
    fixed["farmers"].append(dict(example_rows()["farmers"][0], name="Ширин Назарова", gender="female",
                                 phone="+992905550199", ec_role="deputy"))
    return workbook(bad), workbook(fixed)


def upload(client, data: bytes, name: str = "programme.xlsx", token: str | None = None):
    return client.post("/staff/import/check", content_type="multipart/form-data",
                       data={"files": (io.BytesIO(data), name),
                             "csrf_token": token if token is not None else csrf(client, "/staff/import")})


def test_the_page_is_for_administrators(client, session, admin):
    make_account(session, "extension_officer", "kulob", username="officer")
    login(client, "officer")
    assert client.get("/staff/import").status_code == 404
    assert client.get("/staff/import/template/farmers.csv").status_code == 404
    client.post("/staff/logout", data={"csrf_token": csrf(client, "/staff/")})
    login(client, "amina")
    page = client.get("/staff/import")
    assert page.status_code == 200 and "Import a programme" in page.get_data(as_text=True)


def test_check_report_download_fix_and_import(client, session, admin):
    login(client, "amina")
    bad, fixed = bad_and_fixed()
    page = upload(client, bad)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Unknown village “Nowhere” in Kulob" in html
    assert "A second chair in one PG (the first in row 2)" in html
    assert re.search(r"\d errors: nothing can be imported", html) and "/staff/import/confirm" not in html
    assert session.scalar(select(func.count()).select_from(Farmer)) == 0
    table = list(csv.reader(io.StringIO(client.get("/staff/import/report.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][0] == "Severity" and {r[4] for r in table[1:]} >= {"village_unknown", "seat_twice_chair"}
    xlsx = client.get("/staff/import/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    # a refused confirm (nothing checked clean) imports nothing
    page = upload(client, fixed)
    html = page.get_data(as_text=True)
    assert "No error" in html and "/staff/import/confirm" in html
    assert html.count("click once and wait") == 2  # by Check and by Import
    assert session.scalar(select(func.count()).select_from(Farmer)) == 0
    done = client.post("/staff/import/confirm", data={"csrf_token": csrf(client, "/staff/import")})
    assert done.status_code == 302
    assert "Imported: " in client.get("/staff/import").get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Farmer)) == 2
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.run")).one()
    assert entry.channel == "web" and entry.account_id == admin.id
    # the checked file is gone: a second confirm has nothing to import
    again = client.post("/staff/import/confirm", data={"csrf_token": csrf(client, "/staff/import")})
    assert again.status_code == 302 and session.scalar(select(func.count()).select_from(Farmer)) == 2
    # the same file checked again: nothing would change, so no Import button
    html = upload(client, fixed).get_data(as_text=True)
    assert "Nothing would be created or updated" in html and "There is nothing to import." in html
    assert "/staff/import/confirm" not in html and "No error" not in html


def test_the_report_speaks_the_staff_language(client, session):
    make_account(session, "admin", username="rustam", language="ru")
    login(client, "rustam")
    bad, _ = bad_and_fixed()
    html = upload(client, bad).get_data(as_text=True)
    assert "Неизвестное село «Nowhere»" in html and "ошибка" in html


def test_the_upload_has_its_own_limit_above_the_body_cap(app, client, session, admin):
    app.config["IMPORT_MAX_BYTES"] = 300_000
    login(client, "amina")
    lines = ["name,gender,phone,language,district,village"]
    lines += [f"Farmer Number{i},male,+99290{5000000 + i},tg,kulob,Nowhere" for i in range(2000)]
    body = "\n".join(lines).encode()
    assert 65536 < len(body) < 300_000
    page = upload(client, body, "farmers.csv")
    assert page.status_code == 200 and "Unknown village" in page.get_data(as_text=True)
    page = upload(client, body * 4, "farmers.csv")
    assert page.status_code == 413


def test_a_post_without_csrf_is_refused(client, session, admin):
    login(client, "amina")
    _, fixed = bad_and_fixed()
    assert upload(client, fixed, token="").status_code == 400
    assert session.scalar(select(func.count()).select_from(Farmer)) == 0


def test_templates_download(client, admin):
    login(client, "amina")
    text = client.get("/staff/import/template/farmers.csv").get_data(as_text=True)
    assert text.lstrip("\ufeff").strip() == ",".join(sheets.sheet("farmers").headers)
    assert client.get("/staff/import/template/all.xlsx").data[:2] == b"PK"
    assert client.get("/staff/import/template/nothing.csv").status_code == 404


@pytest.mark.browser
@pytest.mark.slow
def test_browser_import_with_bad_rows_then_fixed(live_server, session, admin, tmp_path):
    bad, fixed = bad_and_fixed()
    (tmp_path / "bad.xlsx").write_bytes(bad)
    (tmp_path / "fixed.xlsx").write_bytes(fixed)
    with chromium() as page:
        browser_login(page, live_server, "amina")
        page.get_by_role("link", name="Import a programme").first.click()
        page.get_by_label("Files (XLSX or CSV)").set_input_files(str(tmp_path / "bad.xlsx"))
        page.get_by_role("button", name="Check (dry run)").click()
        report = page.get_by_role("table", name="Report")
        assert "Unknown village “Nowhere” in Kulob" in report.inner_text()
        assert "A second chair in one PG" in report.inner_text()
        assert re.match(r"\d errors", page.get_by_role("alert").inner_text())
        assert page.get_by_role("button", name="Import", exact=True).count() == 0
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        assert "village_unknown" in open(download.value.path(), encoding="utf-8-sig").read()
        page.get_by_label("Files (XLSX or CSV)").set_input_files(str(tmp_path / "fixed.xlsx"))
        page.get_by_role("button", name="Check (dry run)").click()
        assert "No error" in page.get_by_role("status").first.inner_text()
        page.get_by_role("button", name="Import", exact=True).click()
        assert re.search(r"Imported: \d+ created", page.get_by_role("status").first.inner_text())
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Farmer)) == 2
