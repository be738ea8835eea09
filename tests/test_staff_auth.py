"""The staff pages' door: login, the lock after failed logins, sessions that expire, CSRF, logout,
the language choice, ``staff create-admin``, and the audit entries they leave."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from service.audit.log import AuditEntry
from service.staff import accounts
from staff_pages import PASSWORD, csrf, login, make_account, post

NOON = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.timezone.utc)  # 12:00 in Dushanbe


@pytest.fixture
def admin(session):
    return make_account(session, "admin", username="amina", name="Amina Rahimova")


def test_pages_need_a_login(client, admin):
    home = client.get("/staff/")
    assert home.status_code == 302 and home.headers["Location"].startswith("/staff/login")
    assert client.post("/staff/language", data={"lang": "ru"}).status_code == 400  # no CSRF token, no session


def test_login_and_logout(client, session, admin):
    answer = login(client, "amina")
    assert answer.status_code == 302 and answer.headers["Location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200 and "Amina Rahimova" in home.get_data(as_text=True)
    assert post(client, "/staff/logout", {}, form_page="/staff/").status_code == 302
    assert client.get("/staff/").status_code == 302  # the session is gone
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["staff.login", "staff.logout"]


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, admin):
    wrong = login(client, "amina", "not the password")
    unknown = login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'<p class="error"[^>]*>([^<]+)</p>')
    assert message.search(wrong.get_data(as_text=True)).group(1) == message.search(unknown.get_data(as_text=True)).group(1)


def test_the_lock_after_failed_logins_and_its_end(client, session, admin):
    with time_machine.travel(NOON, tick=False):
        for _ in range(accounts.LOCK_AFTER - 1):
            assert login(client, "amina", "wrong password!").status_code == 401
        locked = login(client, "amina", "wrong password!")
        assert locked.status_code == 423 and "12:15" in locked.get_data(as_text=True)  # Dushanbe time
        assert login(client, "amina").status_code == 423  # the right password is refused while locked
    with time_machine.travel(NOON + dt.timedelta(minutes=accounts.LOCK_MINUTES, seconds=1), tick=False):
        assert login(client, "amina").status_code == 302
    session.expire_all()
    account = accounts.by_username(session, "amina")
    assert account.failed_logins == 0 and account.locked_until is None


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(client, session, admin):
    refused = client.post("/staff/login", data={"username": "amina", "password": "wrong password!"})
    assert refused.status_code == 400
    assert "form has expired" in refused.get_data(as_text=True) or "Мӯҳлати" in refused.get_data(as_text=True)
    session.expire_all()
    assert accounts.by_username(session, "amina").failed_logins == 0
    login(client, "amina")
    changed = client.post("/staff/language", data={"lang": "ru", "csrf_token": "forged"})
    assert changed.status_code == 400
    session.expire_all()
    assert accounts.by_username(session, "amina").language == "en"


def test_an_idle_session_ends(client, admin):
    with time_machine.travel(NOON, tick=False):
        login(client, "amina")
        assert client.get("/staff/").status_code == 200
    with time_machine.travel(NOON + dt.timedelta(minutes=59), tick=False):
        assert client.get("/staff/").status_code == 200  # used: the idle time starts again
    with time_machine.travel(NOON + dt.timedelta(minutes=59 + 61), tick=False):
        gone = client.get("/staff/")
        assert gone.status_code == 302, gone.headers
        assert "expired=1" in gone.headers["Location"], gone.headers
        again = client.get(gone.headers["Location"])
        assert "session has ended" in again.get_data(as_text=True)


def test_a_visitor_who_only_chose_the_login_pages_language_is_not_told_a_session_ended(client, admin):
    page = client.get("/staff/login")
    assert page.status_code == 200
    chosen = client.post("/staff/language", data={"lang": "ru", "csrf_token": csrf(client)})
    assert chosen.status_code == 302
    sent = client.get("/staff/")
    assert sent.status_code == 302 and "expired" not in sent.headers["Location"], sent.headers
    login(client, "amina")
    client.post("/staff/logout", data={"csrf_token": csrf(client, "/staff/")})
    after = client.get("/staff/")
    assert after.status_code == 302 and "expired" not in after.headers["Location"], after.headers


def test_a_session_whose_stored_file_is_gone_says_it_ended(app, client, admin):
    login(client, "amina")
    assert client.get("/staff/").status_code == 200
    for stored in Path(app.config["STAFF_SESSION_DIR"]).iterdir():
        stored.unlink()
    gone = client.get("/staff/")
    assert gone.status_code == 302 and "expired=1" in gone.headers["Location"], gone.headers


def test_a_session_ends_after_its_longest_life_even_in_use(client, admin):
    with time_machine.travel(NOON, tick=False):
        login(client, "amina")
    for minutes in range(50, 12 * 60, 50):
        with time_machine.travel(NOON + dt.timedelta(minutes=minutes), tick=False):
            assert client.get("/staff/").status_code == 200
    with time_machine.travel(NOON + dt.timedelta(hours=12, minutes=1), tick=False):
        assert client.get("/staff/").status_code == 302


def test_a_password_change_ends_other_sessions(client, session, admin):
    login(client, "amina")
    account = accounts.by_username(session, "amina")
    accounts.set_password(account, "another long password")
    session.commit()
    assert client.get("/staff/").status_code == 302


def test_the_language_is_the_staff_members_choice_and_is_remembered(client, session, admin):
    login(client, "amina")
    assert post(client, "/staff/language", {"lang": "ru", "next": "/staff/"}, form_page="/staff/").status_code == 302
    assert "Добро пожаловать" in client.get("/staff/").get_data(as_text=True)
    session.expire_all()
    assert accounts.by_username(session, "amina").language == "ru"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.language")).one()
    assert (entry.before, entry.after, entry.channel) == ({"language": "en"}, {"language": "ru"}, "web")
    post(client, "/staff/logout", {}, form_page="/staff/")
    login(client, "amina")
    assert 'lang="ru"' in client.get("/staff/").get_data(as_text=True)


def test_before_login_the_language_is_a_cookie(client):
    token = csrf(client)
    client.post("/staff/language", data={"lang": "tg", "csrf_token": token})
    assert "Воридшавии кормандон" in client.get("/staff/login").get_data(as_text=True)


def test_no_open_redirect_after_login(client, admin):
    token = csrf(client)
    answer = client.post("/staff/login?next=//evil.example/x", data={"username": "amina", "password": PASSWORD,
                                                                      "csrf_token": token})
    assert answer.headers["Location"] == "/staff/"


def test_unknown_staff_pages_are_404_in_the_staff_language(client, admin):
    login(client, "amina")
    missing = client.get("/staff/no-such-page")
    assert missing.status_code == 404 and "not in your area" in missing.get_data(as_text=True)


def test_gateway_webhooks_set_no_cookie_and_need_no_csrf(client):
    answer = client.post("/ussd", data={"sessionId": "s1", "phoneNumber": "+992900001000",
                                        "serviceCode": "*384*7#", "text": ""})
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers


def test_cli_create_admin(runner, session):
    result = runner.invoke(args=["staff", "create-admin", "--username", "Amina", "--name", "Amina Rahimova",
                                 "--phone", "900 00 05 01", "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    account = accounts.by_username(session, "amina")
    assert (account.role, account.phone) == ("admin", "+992900000501")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "account.create")).one()
    assert entry.channel == "cli" and entry.actor.startswith("cli:") and entry.after["username"] == "amina"
    assert "a long enough password" not in str(entry.after)


@pytest.mark.parametrize("args, stdin, message", [
    (["--username", "a b"], "a long enough password\n", "A username has 3 to 40"),
    (["--username", "amina"], "short\n", "A password has 10 to 128"),
    (["--username", "amina", "--phone", "12"], "a long enough password\n", "is not a phone number"),
], ids=["bad username", "short password", "bad phone"])
def test_cli_create_admin_refuses_bad_values(runner, session, args, stdin, message):
    result = runner.invoke(args=["staff", "create-admin", "--name", "Amina", *args, "--password-stdin"], input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert accounts.count(session) == 0


def test_cli_add_with_scope_and_unknown_scope(runner, session):
    ok = runner.invoke(args=["staff", "add", "--username", "rustam", "--name", "Rustam N", "--role",
                             "extension_officer", "--scope", "vose", "--password-stdin"], input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    assert accounts.by_username(session, "rustam").scope_refs == ["vose"]
    bad = runner.invoke(args=["staff", "add", "--username", "karim", "--name", "Karim", "--role",
                              "extension_officer", "--scope", "atlantis", "--password-stdin"], input=PASSWORD + "\n")
    assert bad.exit_code != 0 and "Unknown area: atlantis" in bad.output
    none = runner.invoke(args=["staff", "add", "--username", "karim", "--name", "Karim", "--role",
                               "vam_agent", "--password-stdin"], input=PASSWORD + "\n")
    assert none.exit_code != 0 and "needs its area" in none.output


def test_staff_words_exist_in_tajik_russian_and_english():
    from handlers.staff.web import strings

    words = strings()
    # strings() fills gaps with English; compare with the raw files
    import tomllib
    from handlers.staff.web import STRINGS_DIR

    for path in STRINGS_DIR.glob("*.toml"):
        table = tomllib.loads(path.read_text("utf-8"))
        for lang in ("tg", "ru"):
            missing = set(table["en"]) - set(table.get(lang, {}))
            assert not missing, f"{path.name} [{lang}] lacks {sorted(missing)}"
    assert words["tg"]["staff.login"] != words["en"]["staff.login"]
