"""An extension officer sends a scheduled broadcast to the women of one cluster in Tajik with a
Russian version, in Debian's Chromium; the scheduler tick and the dispatcher send it through the
local gateway in its ``reports`` mode; the delivery reports arrive at the webhook over HTTP as
Africa's Talking posts them; the officer reads the per-recipient results and the delivery rate."""
from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select

from scheduler.tick import tick
from service import session_factory
from service.broadcasts.broadcast import Broadcast
from service.groups.cluster import CommodityCluster
from service.messaging.dispatch import dispatch_once
from service.messaging.gateways.local import LocalGateway, simulated_reports
from staff_pages import CHROMIUM, browser_login, chromium, make_account
from test_staff_broadcasts import RU, TG, tomorrow, world

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt install chromium)")]


def post_report(base_url: str, form: dict) -> int:
    body = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base_url}/sms/delivery", data=body), timeout=10) as answer:
        return answer.status


def test_an_officer_sends_a_scheduled_broadcast_to_a_clusters_women_and_reads_its_delivery(app, live_server, session):
    data = world(session)
    make_account(session, "extension_officer", "kulob", username="ext-kulob")
    cluster = session.get(CommodityCluster, "tomato.kulob").name("en")
    day = tomorrow()
    with chromium(viewport=(390, 844)) as page:  # a phone's screen
        page.set_default_timeout(30_000)  # the machine may be busy: wait longer than the usual 10 s
        browser_login(page, live_server, "ext-kulob")
        page.get_by_role("navigation").get_by_role("link", name="Broadcasts", exact=True).click()
        page.get_by_role("link", name="New broadcast").click()
        page.get_by_label("Text in Тоҷикӣ").fill(TG)
        page.get_by_label("Text in Русский").fill(RU)
        page.get_by_label(cluster, exact=True).check()
        page.locator("#f-gender").get_by_label("Woman", exact=True).check()
        page.locator("#compose").get_by_label("At", exact=True).check()
        page.locator("#compose").get_by_label("Date").fill(day.isoformat())
        page.locator("#compose").get_by_label("Time").fill("15:30")
        page.get_by_role("button", name="Preview").click()
        page.get_by_text("4 recipients, 4 SMS segments, about 0.40 TJS.").wait_for()
        assert "Awaiting confirmation" in page.locator("#preview").inner_text()
        preview = page.locator("#preview-languages")
        assert TG in preview.locator('tr[data-lang="tg"]').inner_text()
        assert RU in preview.locator('tr[data-lang="ru"]').inner_text()
        assert "UCS-2" in preview.inner_text()
        page.get_by_role("button", name="Confirm and send").click()
        page.get_by_text("The broadcast is confirmed").wait_for()
        assert page.locator("#status").get_attribute("data-status") == "scheduled"

        session.expire_all()
        row = session.scalars(select(Broadcast).order_by(Broadcast.id.desc())).first()
        assert row.send_at == dt.datetime.combine(day, dt.time(10, 30), tzinfo=dt.timezone.utc)
        # the scheduler tick at the time, the dispatcher a few seconds later (explicit times)
        factory, settings = session_factory(app), app.extensions["dehqon.settings"]
        assert tick(factory, settings, now=row.send_at).broadcasts == 1
        assert dispatch_once(factory, LocalGateway(reports=True), settings,
                             now=row.send_at + dt.timedelta(seconds=5)).sent == 4
        page.reload()
        assert page.locator('#recipients tr[data-result="sent"]').count() == 4

        # the delivery reports arrive as AT posts them: three delivered, one absent subscriber
        reports = simulated_reports(session, fail_every=4)
        assert [post_report(live_server, r.form()) for r in reports] == [200] * 4
        page.reload()
        assert page.locator("#rate").inner_text() == "Delivery rate: 75% of the recipients."
        assert page.locator('#recipients tr[data-result="delivered"]').count() == 3
        failed = page.locator('#recipients tr[data-result="failed"]')
        assert failed.count() == 1 and "AbsentSubscriber" in failed.inner_text()
        text = page.locator("#recipients").inner_text()
        assert data["zarina"].name in text and data["olga"].name in text and data["rustam"].name not in text
        assert re.search(r"\+992•+\d{4}", text) and data["zarina"].phone not in text
        chart = page.get_by_role("img", name=re.compile("Delivery rate over time"))
        assert "75% delivered and 25% failed" in chart.get_attribute("alt")
        assert page.evaluate("document.querySelector('figure img').naturalWidth") > 0  # the SVG loaded
        assert page.evaluate("document.documentElement.scrollWidth") <= 391  # wide tables scroll in their wrapper
