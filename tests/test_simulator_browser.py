"""The simulator page in a real browser: headless Chromium (Debian's) driven by Playwright.

The app is served on 127.0.0.1 from a background thread; an ``after_request``
hook records every POST the page makes (fields, query, content type) and what
the service answered. The test checks what the page does: it posts AT's
fields, shows exactly what the server answered, and shows the phone's outbox.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path

import pytest
from flask import request

from service.messaging.message import queue_sms

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TOKEN = "sim-token-123"
PHONE = "+992900001000"
SCREENSHOT = Path("/tmp/dehqon-simulator.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)"),
]


@pytest.fixture
def posts(app):
    """Every POST the served app receives: path, query, form, content type, answer status and body."""
    seen: list[dict] = []

    @app.after_request
    def _record(response):
        if request.method == "POST":
            seen.append({"path": request.path, "args": request.args.to_dict(), "form": request.form.to_dict(),
                         "content_type": request.mimetype, "status": response.status_code,
                         "body": response.get_data(as_text=True)})
        return response

    return seen


@pytest.fixture
def base_url(app, posts, live_server):
    """The app served on a free port of 127.0.0.1 (``live_server``), expecting the webhook token."""
    app.config["WEBHOOK_TOKENS"] = [TOKEN]
    return live_server


@pytest.fixture
def page(base_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1300, "height": 820})
        tab.set_default_timeout(10_000)
        # the page's Date follows the test's wall clock (which `make test-at` may simulate)
        tab.clock.set_system_time(dt.datetime.now(dt.timezone.utc))
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        browser.close()
        assert errors == [], errors  # no script error on the page


def wait_for_post(posts: list[dict], path: str, after: int = 0, timeout: float = 10) -> dict:
    """The first POST to ``path`` recorded at index ``after`` or later (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in posts[after:]:
            if item["path"] == path:
                return item
        time.sleep(0.05)
    raise AssertionError(f"the page posted nothing to {path}; posts: {posts}")


def wait_for_answer(page) -> None:
    """Wait until the USSD dialog shows an answer (no string eval: the page's CSP forbids it)."""
    page.locator("#ussd[data-mode='con'], #ussd[data-mode='end']").wait_for()


def shown_for(answer: dict) -> str:
    """What the USSD dialog must show for a recorded answer (AT's contract, docs/gateway-africastalking.md §2.4)."""
    if answer["status"] == 200 and re.match(r"(CON|END) ", answer["body"]):
        return answer["body"][4:]
    return f"Connection problem or invalid MMI code. (HTTP {answer['status']})"


def test_the_page_posts_like_africas_talking_and_shows_the_answers(page, base_url, posts, session):
    queue_sms(session, PHONE, "Нарх: <b>пиёз</b> 1,40 сомонӣ", kind="reply", language="tg")
    session.commit()

    page.goto(f"{base_url}/simulator?phone=0900001000")
    assert page.inner_text("#phone-number") == PHONE

    # the inbox shows the outbox row, as text (no markup from the message)
    bubble = page.locator("#thread .msg.mt").first
    bubble.wait_for()
    assert bubble.locator(".text").inner_text() == "Нарх: <b>пиёз</b> 1,40 сомонӣ"
    assert page.locator("#thread b").count() == 0
    assert "UCS-2 · 1 SMS · queued" in bubble.locator(".meta").inner_text()

    # dial: the first hop carries AT's fields and an empty text
    page.click("#dial")
    dial = wait_for_post(posts, "/ussd")
    assert dial["content_type"] == "application/x-www-form-urlencoded"
    assert dial["args"] == {"key": TOKEN}
    assert re.fullmatch(r"ATUid_[0-9a-f]{32}", dial["form"]["sessionId"])
    assert dial["form"] == {"sessionId": dial["form"]["sessionId"], "serviceCode": "*384*7#",
                            "phoneNumber": PHONE, "networkCode": "99999", "text": ""}
    wait_for_answer(page)
    assert page.inner_text("#ussd-body") == shown_for(dial)

    if dial["status"] == 200 and dial["body"].startswith("CON "):
        # reply "1": the next hop has the same session and the whole history as text
        page.fill("#ussd-input", "1")
        page.click("#ussd-send")
        second = wait_for_post(posts, "/ussd", after=posts.index(dial) + 1)
        assert second["form"] | {"text": "1"} == dial["form"] | {"text": "1"}
        assert second["form"]["text"] == "1"
        wait_for_answer(page)
        assert page.inner_text("#ussd-body") == shown_for(second)
        last = second
    else:
        last = dial
    if last["status"] == 200 and last["body"].startswith("CON "):
        page.click("#ussd-cancel")
        expected_status = "Incomplete"
    else:  # END, or an answer AT treats as a failure: AT reports the end itself
        expected_status = "Success" if last["status"] == 200 and last["body"].startswith("END ") else "Failed"
        page.click("#ussd-ok")
    event = wait_for_post(posts, "/ussd/events", after=posts.index(last) + 1)
    assert event["args"] == {"key": TOKEN}
    assert event["form"]["status"] == expected_status
    assert {k: event["form"][k] for k in ("sessionId", "serviceCode", "phoneNumber", "networkCode")} == {
        k: dial["form"][k] for k in ("sessionId", "serviceCode", "phoneNumber", "networkCode")}
    assert event["form"]["input"] == last["form"]["text"]
    assert event["form"]["hopsCount"] == str(1 + (last is not dial))
    assert page.locator("#ussd").is_hidden()

    # a new dial is a new session
    mark = len(posts)
    page.click("#dial")
    redial = wait_for_post(posts, "/ussd", after=mark)
    assert redial["form"]["sessionId"] != dial["form"]["sessionId"] and redial["form"]["text"] == ""
    wait_for_answer(page)
    page.click("#ussd-cancel" if redial["status"] == 200 and redial["body"].startswith("CON ") else "#ussd-ok")

    # an SMS: AT's inbound fields, to the short code, a UTC date
    mark = len(posts)
    page.fill("#sms-text", "NARX piyoz")
    page.click("#sms-send")
    sms = wait_for_post(posts, "/sms/inbound", after=mark)
    assert sms["args"] == {"key": TOKEN}
    assert re.fullmatch(r"ATXid_[0-9a-f]{32}", sms["form"]["id"])
    assert {k: sms["form"][k] for k in ("from", "to", "text", "networkCode")} == {
        "from": PHONE, "to": "3847", "text": "NARX piyoz", "networkCode": "99999"}
    sent_at = dt.datetime.strptime(sms["form"]["date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    assert abs(dt.datetime.now(dt.timezone.utc) - sent_at) < dt.timedelta(minutes=1)
    mine = page.locator("#thread .msg.mo").last
    assert mine.locator(".text").inner_text() == "NARX piyoz"
    outcome = "sent" if 200 <= sms["status"] < 300 else f"not accepted (HTTP {sms['status']})"
    page.locator("#thread .msg.mo .meta", has_text=re.compile(re.escape(outcome) + "$")).wait_for()

    # a reply queued later shows up by polling
    queue_sms(session, PHONE, "Пиёз: 1,40 сомонӣ/кг", kind="reply", language="tg")
    session.commit()
    page.locator("#thread .msg.mt", has_text="Пиёз: 1,40 сомонӣ/кг").wait_for()

    # for a person to look at; written whole, as parallel workers and runs share the name
    partial = SCREENSHOT.with_name(f"{SCREENSHOT.stem}.{os.getpid()}.png")
    page.screenshot(path=str(partial))
    os.replace(partial, SCREENSHOT)


def test_replies_follow_their_sms_and_survive_a_reload(page, base_url, posts, session):
    """What the farmer sent is read back from the service: after a reload the thread still holds
    the farmer's SMS, each followed by its reply; and the page's words are in its language."""
    page.goto(f"{base_url}/simulator?phone={PHONE}&lang=ru")
    assert page.inner_text("h1") == "Симулятор телефона"
    for n, text in enumerate(["HELP", "НАРХ пиёз"]):
        mark = len(posts)
        page.fill("#sms-text", text)
        page.click("#sms-send")
        wait_for_post(posts, "/sms/inbound", after=mark)
        # the service's reply shows up below the farmer's SMS
        page.locator("#thread .msg").nth(2 * n + 1).wait_for()

    def thread() -> list[tuple[str, str]]:
        return [("mo" if "mo" in (node.get_attribute("class") or "") else "mt", node.locator(".text").inner_text())
                for node in page.locator("#thread .msg").all()]

    page.locator("#thread .msg.mo .meta", has_text="отправлено").first.wait_for()
    before = thread()
    assert [kind for kind, _ in before][:4] == ["mo", "mt", "mo", "mt"], before
    assert [text for kind, text in before if kind == "mo"] == ["HELP", "НАРХ пиёз"]

    page.reload()
    page.locator("#thread .msg").nth(len(before) - 1).wait_for()
    assert thread() == before
    assert page.inner_text("h1") == "Симулятор телефона"  # the language is kept (cookie)
    assert page.inner_text("#dial") == "Вызов"
