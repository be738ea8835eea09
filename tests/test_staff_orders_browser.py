"""Orders in Debian's Chromium: a cluster coordinator moves a closed round to "delivered to the PG"
(pickup place and day) and then "collected", and the farmers' SMS are in the outbox and in the
phone simulator's thread, each in the farmer's language; a VAM agent sees only their villages'
rounds. The orders are placed at the fixed time of ``test_staff_orders.NOW``; the pickup day is
given explicitly (12 March 2099, never in the past)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from cases import orders as cases
from service.messaging.message import OutboundMessage
from service.orders.rounds import InputOrder
from staff_pages import CHROMIUM, browser_login, chromium, make_account
from test_staff_orders import world  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]

PICKUP_DAY = "2099-03-12"


def texts_to(session, phone: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(OutboundMessage.text).where(OutboundMessage.phone == phone)
                                .order_by(OutboundMessage.id)))


def test_staff_move_a_round_to_delivered_and_the_farmers_get_their_sms(live_server, session, world):  # noqa: F811
    make_account(session, "cluster_coordinator", "onion.vose", username="coord")
    rid = world["rounds"]["VOS03"]
    before = {phone: len(texts_to(session, phone)) for phone in (cases.FARRUKH, cases.OLGA, cases.ZARINA)}
    with chromium(viewport=(390, 844)) as page:  # a phone's screen
        browser_login(page, live_server, "coord")
        page.get_by_role("navigation").get_by_role("link", name="Orders", exact=True).click()
        page.get_by_role("link", name=f"Round {rid}", exact=True).click()
        page.get_by_label(re.compile("Delivered to the PG")).check()
        page.get_by_label("Pickup place").fill("Guliston CBO")
        page.get_by_label("Pickup day").fill(PICKUP_DAY)
        page.get_by_role("button", name="Change and tell the farmers").click()
        page.get_by_text("4 of 4 lines changed; 3 farmers told by SMS.").wait_for()
        assert "delivered to the PG (Guliston CBO, 2099-03-12)" in page.locator("#lines").inner_text()
        # the farmers' SMS, in their languages, in the outbox
        assert "Order" in texts_to(session, cases.FARRUKH)[-1] and \
            texts_to(session, cases.FARRUKH)[-1].endswith("is ready for pickup: Guliston CBO, 12.03.")
        assert texts_to(session, cases.OLGA)[-1].endswith("готов: Guliston CBO, 12.03.")
        assert texts_to(session, cases.ZARINA)[-1].endswith("tayyor: Guliston CBO, 12.03.")
        # a second click of the same form (browser back, submit again) tells nobody twice
        page.go_back()
        page.get_by_label(re.compile("Delivered to the PG")).check()
        page.get_by_label("Pickup place").fill("Guliston CBO")
        page.get_by_label("Pickup day").fill(PICKUP_DAY)
        page.get_by_role("button", name="Change and tell the farmers").click()
        page.get_by_text("Nothing changed").wait_for()
        # collected
        page.get_by_label("Collected by the farmers").check()
        page.get_by_role("button", name="Change and tell the farmers").click()
        page.get_by_text("4 of 4 lines changed; 3 farmers told by SMS.").wait_for()
        # Olga's phone in the simulator: both notices in her thread, in Russian
        page.goto(f"{live_server}/simulator?phone={cases.OLGA}")
        thread = page.locator("#thread")
        thread.locator(".msg.mt", has_text="готов: Guliston CBO, 12.03.").wait_for()
        thread.locator(".msg.mt", has_text="выдан. Спасибо!").wait_for()
    after = {phone: len(texts_to(session, phone)) for phone in before}
    assert after == {phone: n + 2 for phone, n in before.items()}
    session.expire_all()
    assert {o.status for o in session.scalars(select(InputOrder).where(InputOrder.round_id == rid))} == {"delivered"}


def test_a_vam_agent_sees_only_their_villages_orders(live_server, session, world):  # noqa: F811
    make_account(session, "vam_agent", str(world["guliston"]), username="agent")
    with chromium() as page:
        browser_login(page, live_server, "agent")
        page.get_by_role("navigation").get_by_role("link", name="Orders", exact=True).click()
        table = page.locator("#rounds").inner_text()
        assert "VOS03" in table and "VOS04" in table
        assert "VOS05" not in table and "KUL01" not in table
        page.get_by_role("link", name="Purchase order").click()
        page.get_by_label("Cluster").select_option("onion.vose")
        page.get_by_role("button", name="Show the purchase order").click()
        page.locator("#po-total").wait_for()
        body = page.locator("main").inner_text()
        assert "VOS03" in body and "VOS04" in body and "VOS05" not in body
        response = page.goto(f"{live_server}/staff/orders/round/{world['rounds']['KUL01']}")
        assert response.status == 404
