"""The administrators' pages: staff accounts (list, create, edit, switch off, reset a password,
unlock) and the audit log (filters, paging, CSV and XLSX downloads and their row cap); "My account"
for every role. Every change leaves an audit entry without any password or hash in it."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import delete, select

from service.audit.log import Actor, AuditEntry, record
from service.staff import accounts
from staff_pages import PASSWORD, csrf, login, make_account, post

NEW_PASSWORD = "another long password"
ADMIN_URLS = ("/staff/accounts", "/staff/accounts/1", "/staff/audit", "/staff/audit.csv", "/staff/audit.xlsx")


@pytest.fixture
def admin(session):
    return make_account(session, "admin", username="amina", name="Amina Rahimova")


@pytest.fixture
def admin_client(client, admin):
    assert login(client, "amina").status_code == 302
    return client


def _entries(session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _no_secret(entry: AuditEntry, *passwords: str) -> None:
    text = json.dumps([entry.before, entry.after, entry.note], ensure_ascii=False)
    for p in passwords:
        assert p not in text
    assert "argon2" not in text and "password_hash" not in text


def _create(client, **fields):
    data = {"username": "rustam", "name": "Rustam Nazarov", "role": "extension_officer", "scope": "vose",
            "phone": "90 123 4567", "language": "ru", "password": PASSWORD}
    data.update(fields)
    return post(client, "/staff/accounts", data)


@pytest.mark.parametrize("role, scope", [("extension_officer", "vose"), ("cluster_coordinator", "onion.vose"),
                                         ("market_reporter", "VOSE")])
def test_every_admin_url_is_404_to_other_roles(client, session, admin, role, scope):
    make_account(session, role, scope, username="someone")
    assert login(client, "someone").status_code == 302
    for url in ADMIN_URLS:
        assert client.get(url).status_code == 404, url
    token = csrf(client, "/staff/account")
    for url in ("/staff/accounts", f"/staff/accounts/{admin.id}", f"/staff/accounts/{admin.id}/password",
                f"/staff/accounts/{admin.id}/unlock"):
        answer = client.post(url, data={"csrf_token": token, "username": "x1x", "name": "Xx", "role": "admin",
                                        "password": PASSWORD, "language": "en"})
        assert answer.status_code == 404, url
    assert accounts.count(session) == 2
    assert client.get("/staff/account").status_code == 200  # My account is everyone's
    assert "Staff accounts" not in client.get("/staff/").get_data(as_text=True)


def test_an_admin_creates_an_account_through_the_form(admin_client, session):
    answer = _create(admin_client)
    assert answer.status_code == 302
    created = accounts.by_username(session, "rustam")
    assert (created.role, created.scope_refs, created.phone, created.language) == \
        ("extension_officer", ["vose"], "+992901234567", "ru")
    listing = admin_client.get("/staff/accounts").get_data(as_text=True)
    assert "Rustam Nazarov" in listing and "+992••••••567" in listing and "+992901234567" not in listing
    entry, = _entries(session, "account.create")
    assert entry.object_id == str(created.id) and entry.channel == "web" and entry.actor == "amina (admin)"
    assert entry.after["scope_refs"] == ["vose"] and entry.before is None
    _no_secret(entry, PASSWORD)


@pytest.mark.parametrize("fields, reason", [
    ({"username": "A"}, "A username has 3 to 40"),
    ({"scope": ""}, "This role needs its area."),
    ({"scope": "nowhere"}, "Unknown area: nowhere."),
    ({"phone": "12"}, "This is not a phone number."),
    ({"password": "short"}, "A password has 10 to 128 characters."),
    ({"role": "king"}, "Choose a value from the list."),
    ({"role": "admin", "scope": "vose"}, "An administrator has no area"),
])
def test_refusals_are_shown_and_change_nothing(admin_client, session, fields, reason):
    answer = _create(admin_client, **fields)
    assert answer.status_code == 400 and reason in answer.get_data(as_text=True)
    assert accounts.count(session) == 1 and not _entries(session, "account.create")


def test_a_taken_username_and_phone_are_refused(admin_client, session):
    assert _create(admin_client).status_code == 302
    again = _create(admin_client)
    assert again.status_code == 400 and "The username rustam is taken." in again.get_data(as_text=True)
    phone = _create(admin_client, username="rustam2", phone="+992901234567")
    assert phone.status_code == 400 and "Another account has this phone." in phone.get_data(as_text=True)


def test_edit_role_scope_and_switch_off(admin_client, client, session):
    assert _create(admin_client).status_code == 302
    rustam = accounts.by_username(session, "rustam")
    url = f"/staff/accounts/{rustam.id}"
    answer = post(admin_client, url, {"name": "Rustam N.", "role": "cluster_coordinator", "scope": "onion.vose",
                                      "phone": "", "language": "tg", "active": "on"})
    assert answer.status_code == 302
    session.expire_all()
    rustam = accounts.by_username(session, "rustam")
    assert (rustam.name, rustam.role, rustam.scope_refs, rustam.phone, rustam.language) == \
        ("Rustam N.", "cluster_coordinator", ["onion.vose"], None, "tg")
    entry, = _entries(session, "account.update")
    assert entry.before["role"] == "extension_officer" and entry.after["role"] == "cluster_coordinator"
    assert entry.before["phone"] == "+992901234567" and entry.after["phone"] is None
    # switched off: the checkbox left unticked
    assert post(admin_client, url, {"name": "Rustam N.", "role": "cluster_coordinator", "scope": "onion.vose",
                                    "language": "tg"}).status_code == 302
    second = _entries(session, "account.update")[-1]
    assert second.before == {**second.before, "active": True} and second.after["active"] is False
    other = client.application.test_client()
    assert login(other, "rustam").status_code == 401  # an account switched off cannot log in


def test_the_last_active_admin_cannot_switch_off_or_demote_themselves(admin_client, session, admin):
    url = f"/staff/accounts/{admin.id}"
    off = post(admin_client, url, {"name": admin.name, "role": "admin", "language": "en"})
    assert off.status_code == 400 and "last active administrator" in off.get_data(as_text=True)
    demoted = post(admin_client, url, {"name": admin.name, "role": "extension_officer", "scope": "vose",
                                       "language": "en", "active": "on"})
    assert demoted.status_code == 400
    session.expire_all()
    assert accounts.by_username(session, "amina").role == "admin" and not _entries(session, "account.update")


def test_reset_password_ends_the_sessions_and_leaves_no_secret(app, admin_client, session):
    officer = make_account(session, "extension_officer", "vose", username="rustam")
    theirs = app.test_client()
    assert login(theirs, "rustam").status_code == 302 and theirs.get("/staff/").status_code == 200
    url = f"/staff/accounts/{officer.id}/password"
    short = post(admin_client, url, {"password": "short"}, form_page=f"/staff/accounts/{officer.id}")
    assert short.status_code == 400
    assert post(admin_client, url, {"password": NEW_PASSWORD},
                form_page=f"/staff/accounts/{officer.id}").status_code == 302
    assert theirs.get("/staff/").status_code == 302  # their session ended
    assert login(theirs, "rustam").status_code == 401
    assert login(theirs, "rustam", NEW_PASSWORD).status_code == 302
    entry, = _entries(session, "account.password")
    assert entry.object_id == str(officer.id)
    _no_secret(entry, PASSWORD, NEW_PASSWORD, officer.password_hash)
    for e in session.scalars(select(AuditEntry)):
        _no_secret(e, PASSWORD, NEW_PASSWORD)


def test_unlock(app, admin_client, session):
    officer = make_account(session, "extension_officer", "vose", username="rustam")
    theirs = app.test_client()
    for _ in range(accounts.LOCK_AFTER):
        login(theirs, "rustam", "wrong password!")
    session.expire_all()
    assert accounts.by_username(session, "rustam").locked_until is not None
    page = admin_client.get(f"/staff/accounts/{officer.id}").get_data(as_text=True)
    assert "Unlock the account" in page
    assert post(admin_client, f"/staff/accounts/{officer.id}/unlock", {},
                form_page=f"/staff/accounts/{officer.id}").status_code == 302
    assert login(theirs, "rustam").status_code == 302
    entry, = _entries(session, "account.unlock")
    assert entry.before["locked_until"] is not None and entry.after == {"locked_until": None, "failed_logins": 0}


def test_unknown_account_is_404(admin_client):
    assert admin_client.get("/staff/accounts/9999").status_code == 404


def test_my_account_changes_the_own_password_and_keeps_the_session(client, session):
    make_account(session, "cluster_coordinator", "onion.vose", username="leader")
    assert login(client, "leader").status_code == 302
    wrong = post(client, "/staff/account/password", {"old_password": "not it at all", "new_password": NEW_PASSWORD,
                                                     "new_password2": NEW_PASSWORD}, form_page="/staff/account")
    assert wrong.status_code == 400 and "The current password is wrong." in wrong.get_data(as_text=True)
    differ = post(client, "/staff/account/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                      "new_password2": NEW_PASSWORD + "x"}, form_page="/staff/account")
    assert differ.status_code == 400
    done = post(client, "/staff/account/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "new_password2": NEW_PASSWORD}, form_page="/staff/account")
    assert done.status_code == 302
    assert client.get("/staff/account").status_code == 200  # this session goes on
    entry, = _entries(session, "account.password")
    _no_secret(entry, PASSWORD, NEW_PASSWORD)
    other = client.application.test_client()
    assert login(other, "leader", NEW_PASSWORD).status_code == 302


def test_my_account_language(client, session):
    make_account(session, "vam_agent", "1", username="agent")
    assert login(client, "agent").status_code == 302
    answer = post(client, "/staff/language", {"lang": "ru", "next": "/staff/account"}, form_page="/staff/account")
    assert answer.status_code == 302 and answer.headers["Location"] == "/staff/account"
    assert "Моя учётная запись" in client.get("/staff/account").get_data(as_text=True)


# --- the audit log --------------------------------------------------------------------------------

T0 = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.timezone.utc)  # 11:00 in Dushanbe


def _seed(session, admin) -> None:
    """Entries on three days: 10, 11 and 12 March (Dushanbe), of two actors and three actions."""
    session.execute(delete(AuditEntry))  # the login's entry is at the real time: out of these tests
    cli = Actor.cli()
    for day, (actor, action, otype, oid) in enumerate([
            (Actor.of(admin, "web"), "account.create", "staff_account", 7),
            (cli, "centre.edit", "collection_centre", 3),
            (Actor.of(admin, "sms"), "price.set", "price_report", 12)]):
        with time_machine.travel(T0 + dt.timedelta(days=day), tick=False):
            record(session, actor, action, otype, oid, before={"x": 1, "same": "s"} if day else None,
                   after={"x": 2, "same": "s", "formula": "=1+1"})
    session.commit()


def test_the_audit_log_page_filters_and_shows_a_diff(admin_client, session, admin):
    _seed(session, admin)
    page = admin_client.get("/staff/audit").get_data(as_text=True)
    assert page.index("<code>price.set") < page.index("<code>centre.edit") < page.index("<code>account.create")
    assert "2026-03-10 11:00:00" in page and "2026-03-10 06:00:00 UTC" in page  # Dushanbe and UTC
    assert "<del>1</del>" in page and "<ins>2</ins>" in page and "Command line" in page

    def shown(**args) -> set[str]:
        text = admin_client.get("/staff/audit", query_string=args).get_data(as_text=True)
        return {a for a in ("account.create", "centre.edit", "price.set") if f"<code>{a}</code>" in text}

    assert shown(action="account") == {"account.create"}
    assert shown(action="centre.") == {"centre.edit"}
    assert shown(action="centre") == {"centre.edit"}
    assert shown(action="centre.ed") == set()  # a dotted action is exact
    assert shown(account=str(admin.id)) == {"account.create", "price.set"}
    assert shown(object_type="collection_centre", object_id="3") == {"centre.edit"}
    assert shown(since="2026-03-11") == {"centre.edit", "price.set"}
    assert shown(until="2026-03-11") == {"account.create", "centre.edit"}
    assert shown(since="2026-03-11", until="2026-03-11") == {"centre.edit"}
    assert shown(since="not a date") == {"account.create", "centre.edit", "price.set"}


def test_the_audit_log_pages(admin_client, session, admin):
    for i in range(55):
        record(session, Actor.of(admin, "web"), "test.step", "thing", i)
    session.commit()
    first = admin_client.get("/staff/audit?action=test").get_data(as_text=True)
    assert first.count('data-action="test.step"') == 50 and "Older →" in first and "← Newer" not in first
    assert "#54<" in first and "#4<" not in first
    second = admin_client.get("/staff/audit?action=test&page=2").get_data(as_text=True)
    assert second.count('data-action="test.step"') == 5 and "#4<" in second and "Older →" not in second


def test_downloads_parse_back_with_the_filtered_rows(admin_client, session, admin):
    _seed(session, admin)
    answer = admin_client.get("/staff/audit.csv?since=2026-03-11")
    assert answer.status_code == 200 and answer.headers["Content-Disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["action"] for r in rows] == ["price.set", "centre.edit"]
    assert json.loads(rows[1]["after"])["x"] == 2 and rows[1]["actor"].startswith("cli:")
    book = admin_client.get("/staff/audit.xlsx?since=2026-03-11")
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.data)).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    head = table[0]
    assert head[:3] == ["id", "at_utc", "at_local"] and [r[head.index("action")] for r in table[1:]] == \
        ["price.set", "centre.edit"]
    assert table[2][head.index("at_local")] == "2026-03-11 11:00:00"
    # nothing in the workbook reads as a formula (an actor, a note or a value could start with =)
    assert all(not (isinstance(c, str) and c[:1] in "=+-@") for r in table for c in r)


def test_a_formula_like_cell_is_inert_in_the_downloads(admin_client, session, admin):
    record(session, Actor.of(admin, "web"), "test.formula", "thing", "=HYPERLINK(\"x\")", note="@SUM(A1)")
    session.commit()
    sheet = load_workbook(io.BytesIO(admin_client.get("/staff/audit.xlsx").data)).active
    row = [c for c in list(sheet.iter_rows(values_only=True))[1]]
    assert "'=HYPERLINK(\"x\")" in row and "'@SUM(A1)" in row
    assert sheet.cell(2, 1).data_type != "f" and all(c.data_type != "f" for c in sheet[2])
    text = admin_client.get("/staff/audit.csv").get_data(as_text=True).lstrip("\ufeff")
    first = next(csv.DictReader(io.StringIO(text)))
    assert (first["object_id"], first["note"]) == ("'=HYPERLINK(\"x\")", "'@SUM(A1)")


@pytest.mark.parametrize("app_settings", [{"AUDIT_EXPORT_MAX_ROWS": 3}])
def test_the_download_row_cap(admin_client, session, admin):
    for i in range(5):
        record(session, Actor.of(admin, "web"), "test.cap", "thing", i)
    session.commit()
    page = admin_client.get("/staff/audit?action=test").get_data(as_text=True)
    assert "more than 3 entries" in page
    rows = list(csv.DictReader(io.StringIO(admin_client.get("/staff/audit.csv?action=test")
                                          .get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["object_id"] for r in rows] == ["4", "3", "2"]  # the newest three
    sheet = load_workbook(io.BytesIO(admin_client.get("/staff/audit.xlsx?action=test").data)).active
    assert sheet.max_row == 1 + 3
    few = admin_client.get("/staff/audit?action=test&object_id=1").get_data(as_text=True)
    assert "more than 3 entries" not in few


def test_admin_words_exist_in_tajik_and_russian():
    import tomllib

    from handlers.staff.web import STRINGS_DIR

    with (STRINGS_DIR / "admin.toml").open("rb") as f:
        table = tomllib.load(f)
    assert set(table["tg"]) == set(table["en"]) == set(table["ru"])
    assert set(table["uz"]) <= set(table["en"]) and len(table["uz"]) > len(table["en"]) // 2


def test_audit_values_read_as_written(admin_client, session, admin):
    record(session, Actor.of(admin, "web"), "alert.send", "broadcast", 7,
           after={"texts": {"tg": "Жола дар Восеъ", "en": "Hail in Vose'"}, "to": ["<b>x</b>"]})
    session.commit()
    page = admin_client.get("/staff/audit").get_data(as_text=True)
    assert "Жола дар Восеъ" in page and "Vose&#39;" in page and "\\u" not in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


@pytest.mark.parametrize("role, kind", [("extension_officer", "district"), ("cluster_coordinator", "cluster"),
                                        ("vam_agent", "village"), ("market_reporter", "market")])
@pytest.mark.parametrize("language", ["en", "ru"])
def test_home_and_my_account_name_the_area_in_the_page_language(client, session, role, kind, language):
    import html

    from service.groups.cluster import CommodityCluster
    from service.reference.geography import District, Village

    village = session.scalars(select(Village).where(Village.district_id == "vose").order_by(Village.id)).first()
    ref, name = {"district": ("vose", session.get(District, "vose").name(language)),
                 "cluster": ("onion.vose", session.get(CommodityCluster, "onion.vose").name(language)),
                 "village": (str(village.id), village.name(language)),
                 "market": ("VOSE", "VOSE")}[kind]
    assert name != ref or kind == "market"
    make_account(session, role, ref, username="someone", language=language)
    assert login(client, "someone").status_code == 302
    home = html.unescape(client.get("/staff/").get_data(as_text=True))
    assert f": {name}</p>" in home
    assert kind == "market" or f": {ref}</p>" not in home
    mine = html.unescape(client.get("/staff/account").get_data(as_text=True))
    assert f": {name}</dd>" in mine
