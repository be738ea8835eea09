"""The questions inbox in Debian's Chromium: a farmer asks from the phone simulator, the village's
VAM agent (who sees only their villages' questions) answers it on the inbox page after a preview,
and the answer arrives in the simulator's thread for that phone."""
from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select

from cases.advice import AZIZ, GULNORA, at, build_world
from service.advice.questions import Question
from service.reference.geography import Village
from staff_pages import CHROMIUM, browser_login, chromium, make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]

QUESTION = "ASK барги помидор зард шуд, чӣ кунам?"
ANSWER = "Бордо пошед, ҳар 10 рӯз."


def sms_from(base_url: str, phone: str, text: str) -> None:
    """Post an inbound SMS to the webhook as AT (and the simulator) does."""
    body = urllib.parse.urlencode(at(f"ATXid_{phone[-4:]}", phone, text)).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base_url}/sms/inbound?key=any", data=body)) as answer:
        assert answer.status == 200


def test_a_farmer_asks_in_the_simulator_and_the_vam_agent_answers_on_the_inbox(live_server, session):
    build_world(session)
    dahana = next(v.id for v in session.scalars(select(Village)) if v.names["en"] == "Dahana")
    make_account(session, "vam_agent", str(dahana), username="agent")
    sms_from(live_server, AZIZ, "ASK pomidor barglari sarg'aydi")  # Yokhsuchiyon: not the agent's village
    with chromium() as phone:
        # the farmer asks from the phone simulator
        phone.goto(f"{live_server}/simulator?phone={urllib.parse.quote(GULNORA)}")
        phone.fill("#sms-text", QUESTION)
        phone.click("#sms-send")
        phone.locator("#thread .msg.mt").first.wait_for()  # the service's confirmation
        session.expire_all()
        questions = {q.text: q.id for q in session.scalars(select(Question))}
        asked = questions["барги помидор зард шуд, чӣ кунам?"]
        other = questions["pomidor barglari sarg'aydi"]

        staff = phone.context.browser.new_page(viewport={"width": 390, "height": 844})  # a phone-sized screen
        staff.set_default_timeout(10_000)
        errors: list[str] = []
        staff.on("pageerror", lambda exc: errors.append(str(exc)))
        browser_login(staff, live_server, "agent")
        staff.get_by_role("navigation").get_by_role("link", name="Questions", exact=True).click()
        table = staff.locator("#questions")
        assert f"#{asked}" in table.inner_text()
        assert f"#{other}" not in table.inner_text() and "Aziz" not in table.inner_text()
        # the page fits the phone's width (the table scrolls inside its own box)
        assert staff.evaluate("document.documentElement.scrollWidth") <= 390
        staff.get_by_role("link", name=f"#{asked}", exact=True).click()
        assert staff.evaluate("document.documentElement.scrollWidth") <= 390
        staff.get_by_role("textbox", name=re.compile("^Answer")).fill(ANSWER)
        staff.get_by_role("button", name="Preview").click()
        assert ANSWER in staff.locator("#preview-body").inner_text()
        assert "UCS-2" in staff.locator("#preview-measure").inner_text()
        staff.get_by_role("button", name="Send the answer").click()
        staff.get_by_text("The answer is queued to the farmer by SMS.").wait_for()
        assert staff.locator("#answer-text").inner_text() == ANSWER
        # the other village's question is not there for this agent
        assert staff.goto(f"{live_server}/staff/questions/{other}").status == 404

        # the answer reaches the farmer's phone: the simulator's thread polls the outbox
        phone.bring_to_front()
        phone.locator("#thread .msg.mt", has_text=ANSWER).wait_for()
        assert f"#{asked}" in phone.locator("#thread .msg.mt", has_text=ANSWER).inner_text()
        assert errors == [], errors
    session.expire_all()
    assert session.get(Question, asked).status == "answered"
    assert session.get(Question, other).status == "open"


def dial(base_url: str, phone: str, text: str) -> str:
    """One USSD hop as AT posts it; the body answered."""
    body = urllib.parse.urlencode({"sessionId": f"ATUid_{abs(hash(text))}", "serviceCode": "*384*7#",
                                   "phoneNumber": phone, "networkCode": "99999", "text": text}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base_url}/ussd?key=any", data=body)) as answer:
        return answer.read().decode()


def test_an_officer_edits_a_tip_with_the_live_count_and_farmers_read_it_on_ussd(live_server, session):
    from service.advice import questions as advice
    from service.reference.crops import crops

    make_account(session, "extension_officer", "kulob", username="ext")
    edited = "Дар май буттаро бандед ва об диҳед."
    with chromium(viewport=(390, 844)) as page:
        browser_login(page, live_server, "ext")
        page.goto(f"{live_server}/staff/questions/tips")
        page.get_by_role("link", name="Edit tip 1: Tomato, Care").click()
        tajik = page.get_by_label(re.compile("^Text in Тоҷикӣ"))
        # the script counts while typing: "CON " + the tip + the navigation line, against 70 units
        tajik.fill("Дар май буттаро бандед, алаф канед, хок кашед ва бисёр об диҳед.")
        live = page.locator("#live-tg")
        assert re.search(r"USSD screen \d+ of 70 \(UCS-2\)", live.inner_text())
        assert live.get_attribute("class") == "field-error"
        tajik.fill(edited)
        assert live.get_attribute("class") == "muted"
        page.get_by_role("button", name="Check").click()
        assert "USSD screen" in page.locator("#measure-tg").inner_text()
        assert page.get_by_label(re.compile("^Text in Тоҷикӣ")).input_value() == edited
        page.get_by_role("button", name="Save").click()
        page.get_by_text("The tip is saved").wait_for()
        page.get_by_role("link", name="Tips library").first.click()
        assert "(edited)" in page.locator('[data-tip="tips.tomato.care.1"]').inner_text()
    crop = [c.id for c in crops(session)].index("tomato") + 1
    screen = dial(live_server, "+992901399010", f"4*1*{crop}*{advice.TOPICS.index('care') + 1}")
    assert edited in screen
