"""The activity reports (``/staff/reports/stages``, ``/messages``, ``/active``): figures counted by
hand from rows created with explicit times (Dushanbe month boundaries included), the scope, the
filters, the CSV, XLSX and SVG, and 404 outside the scope."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html import unescape
from zoneinfo import ZoneInfo

import pytest

from service.farmers.models import register
from service.groups import membership, producer_group
from service.messaging.message import InboundMessage, OutboundMessage
from service.reports import active, messages, selection, stages
from service.staff.scope import Scope
from service.ussd.session import UssdHop, UssdSession
from staff_pages import csv_rows, html, login, make_account, row_cells, xlsx_rows
from test_staff_pgs import _farmer, _village

ZONE = ZoneInfo("Asia/Dushanbe")
NOW = dt.datetime(2026, 1, 15, 6, 0, tzinfo=dt.timezone.utc)
ADMIN = Scope(role="admin", everything=True)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


def world(session) -> dict:
    """KUL01, KUL02 (Kulob, tomato), VOS01 (Vose', onion) founded 2024-05-01, VOS02 founded
    2025-05-15; stage history; farmers f1 (woman, KUL01), f2 (man, KUL02), f3 (man, VOS01), f4 (a
    woman on f1's phone, in Kulob, no PG); their SMS, USSD sessions and texts of 2024-2025."""
    kulob, kulob2, vose = _village(session, "kulob"), _village(session, "kulob", 1), _village(session, "vose")
    founded = dt.date(2024, 5, 1)
    kul01 = producer_group.create(session, code="KUL01", name="Dahana tomato", village_id=kulob.id,
                                  cluster_id="tomato.kulob", on=founded)
    kul02 = producer_group.create(session, code="KUL02", name="Zarbdor tomato", village_id=kulob2.id,
                                  cluster_id="tomato.kulob", on=founded)
    vos01 = producer_group.create(session, code="VOS01", name="Guliston onion", village_id=vose.id,
                                  cluster_id="onion.vose", on=founded)
    producer_group.create(session, code="VOS02", name="Navbahor onion", village_id=vose.id,
                          cluster_id="onion.vose", on=dt.date(2025, 5, 15))
    for pg, stage, day in ((kul01, "storming", (2025, 2, 10)), (kul01, "norming", (2025, 4, 30)),
                           (kul01, "norming", (2025, 6, 1)), (kul01, "performing", (2025, 6, 1)),
                           (kul02, "performing", (2025, 3, 31)), (vos01, "storming", (2025, 8, 1))):
        producer_group.set_stage(session, pg, stage, dt.date(*day))
    f1 = _farmer(session, kulob, "Farmer1 Test", "female", 1)
    f2 = _farmer(session, kulob2, "Farmer2 Test", "male", 2)
    f3 = _farmer(session, vose, "Farmer3 Test", "male", 3)
    f4 = register(session, phone=f1.phone, name="Farmer4 Test", gender="female", village_id=kulob.id,
                  crop_ids=["tomato"], land_m2=1000, language="en", via="ussd")
    for f, pg in ((f1, kul01), (f2, kul02), (f3, vos01)):
        membership.join(session, f, pg)
    n = 0

    def sms(farmer, kind, status, at, *, cost=None, segments=1, gateway=False, reason=None):
        nonlocal n
        n += 1
        session.add(OutboundMessage(phone=farmer.phone if farmer else "+992900000999", farmer_id=farmer.id if farmer else None,
                                    text="x", kind=kind, priority=1, encoding="GSM-7", segments=segments, status=status,
                                    cost=cost, gateway_message_id=f"ATX{n}" if gateway else None, failure_reason=reason,
                                    created_at=at, next_attempt_at=at, expires_at=at + dt.timedelta(days=1)))

    sms(f1, "reply", "delivered", utc(2024, 12, 31, 18, 0), gateway=True)  # December 2024 in Dushanbe: not counted
    sms(f1, "reply", "delivered", utc(2024, 12, 31, 19, 30), gateway=True)  # 1 January 2025, 00:30 in Dushanbe
    sms(f2, "reply", "delivered", utc(2025, 1, 31, 18, 59), cost="TJS 0.0500", gateway=True)  # 31 January, 23:59
    sms(f1, "reply", "delivered", utc(2025, 1, 31, 19, 30), cost="TJS 0.1000", gateway=True)  # 1 February, 00:30
    sms(f1, "tip", "failed", utc(2025, 2, 3, 4, 0), segments=2, gateway=True, reason="Failed: UserInBlacklist")
    sms(f1, "broadcast", "suppressed", utc(2025, 2, 4, 4, 0), reason="phone opted out")
    sms(f2, "notice", "queued", utc(2025, 2, 5, 4, 0))
    sms(f2, "stop_confirm", "accepted", utc(2025, 2, 6, 4, 0), gateway=True)
    sms(f3, "broadcast", "delivered", utc(2025, 2, 7, 4, 0), cost="TJS 0.1000", gateway=True)
    sms(None, "reply", "delivered", utc(2025, 2, 8, 4, 0), cost="TJS 0.1000", gateway=True)
    sms(f1, "alert", "failed", utc(2025, 3, 2, 4, 0), reason="expired: not sent within 24 h")

    def dial(sid, farmer, at, cost, hops):
        session.add(UssdSession(session_id=sid, phone=farmer.phone if farmer else "+992900000998",
                                farmer_id=farmer.id if farmer else None, created_at=at, updated_at=at, cost=cost,
                                status="ended"))
        session.flush()
        for h in range(hops):
            session.add(UssdHop(session_id=sid, text=str(h), response="CON x", created_at=at))

    dial("s1", f1, utc(2025, 2, 10, 5, 0), "TJS 0.0500", 3)
    dial("s2", f2, utc(2025, 2, 11, 5, 0), "KES 0.10", 1)
    dial("s3", None, utc(2025, 2, 12, 5, 0), None, 1)

    def text(farmer, at):
        nonlocal n
        n += 1
        session.add(InboundMessage(gateway_id=f"in{n}", phone=farmer.phone if farmer else "+992900000997", text="PRICE",
                                   sent_at=at, received_at=at, farmer_id=farmer.id if farmer else None))

    text(f1, utc(2025, 2, 14, 5, 0))
    text(f1, utc(2025, 2, 15, 5, 0))
    text(f1, utc(2025, 3, 1, 5, 0))
    text(f3, utc(2025, 1, 31, 19, 30))  # February in Dushanbe
    text(f4, utc(2025, 3, 3, 5, 0))  # the second profile of f1's phone
    text(None, utc(2025, 3, 4, 5, 0))  # an unknown phone: nobody
    session.commit()
    return {"f1": f1, "f2": f2, "f3": f3, "f4": f4}


@pytest.fixture
def data(session):
    return world(session)


def resolve(session, scope=ADMIN, **kw):
    return selection.resolve(session, scope, "en", zone=ZONE, now=NOW, season=kw.pop("season", "2025"), **kw)










# --- filters ---------------------------------------------------------------------------------------

def test_the_months_are_dushanbe_months_as_utc_boundaries():
    months = selection.months(2025, ZONE, NOW)
    assert len(months) == 12 and months[0][0] == "2025-01" and months[-1][0] == "2025-12"
    assert months[0][1] == utc(2024, 12, 31, 19, 0) and months[0][2] == utc(2025, 1, 31, 19, 0)
    assert months[1][3] == dt.date(2025, 2, 28)
    # the current season stops at the current month
    assert [m[0] for m in selection.months(2026, ZONE, NOW)] == ["2026-01"]
    quarters = selection.months(2025, ZONE, NOW, quarters=True)
    assert [q[0] for q in quarters] == ["2025 Q1", "2025 Q2", "2025 Q3", "2025 Q4"] and quarters[0][3] == dt.date(2025, 3, 31)


def test_filters_outside_the_scope_are_refused(session, data):
    officer = Scope(role="extension_officer", district_ids=frozenset({"kulob"}),
                    pg_ids=frozenset(p.id for p in resolve(session, district="kulob").pgs))
    sel = resolve(session, officer)
    assert [p.code for p in sel.pgs] == ["KUL01", "KUL02"] and sel.season == 2025
    for bad in ({"district": "vose"}, {"cluster": "onion.vose"}, {"pg": "VOS01"}, {"season": "2015"},
                {"season": "2027"}, {"season": "abc"}):
        with pytest.raises(selection.OutOfScope):
            resolve(session, officer, **bad)
    assert resolve(session, season="").season == 2026
    assert messages.tjs("TJS 0.1000") == 0.1 and messages.tjs("KES 0.10") is None and messages.tjs("0.10") is None
    assert messages.tjs(None) is None and messages.tjs("TJS x") is None


# --- stages ----------------------------------------------------------------------------------------

def test_stages_at_the_end_of_each_month_counted_by_hand(session, data):
    rep = stages.report(session, resolve(session))
    by = {p.label: p for p in rep.points}
    assert (by["2025-01"].total, by["2025-01"].counts) == (3, {"forming": 3})
    # KUL02 assessed performing on 31 March: counted at the end of March
    assert by["2025-03"].counts == {"forming": 1, "storming": 1, "performing": 1} and by["2025-03"].pct("performing") == 33
    assert not by["2025-03"].on_target
    assert by["2025-04"].counts == {"forming": 1, "norming": 1, "performing": 1}
    # VOS02 founded 15 May
    assert by["2025-05"].total == 4 and by["2025-05"].counts == {"forming": 2, "norming": 1, "performing": 1}
    # two assessments of KUL01 on 1 June: the later one (performing) holds
    assert by["2025-06"].counts == {"forming": 2, "performing": 2} and by["2025-06"].on_target
    assert by["2025-12"].counts == {"forming": 1, "storming": 1, "performing": 2}
    quarterly = stages.report(session, resolve(session, quarters=True))
    assert [(p.label, p.counts.get("performing", 0), p.total) for p in quarterly.points] == \
        [("2025 Q1", 1, 3), ("2025 Q2", 2, 4), ("2025 Q3", 2, 4), ("2025 Q4", 2, 4)]
    kulob = stages.report(session, resolve(session, district="kulob"))
    assert kulob.points[2].counts == {"storming": 1, "performing": 1} and kulob.points[2].on_target
    one = stages.report(session, resolve(session, pg="VOS02"))
    assert [p.total for p in one.points[:6]] == [0, 0, 0, 0, 1, 1]


def test_the_stages_page_csv_xlsx_and_chart(client, session, data):
    make_account(session, "extension_officer", "kulob", username="officer")
    login(client, "officer")
    page = html(client.get("/staff/reports/stages?season=2025"))
    assert "<h1>PG development stages</h1>" in page and "staff-print.css" in page
    assert row_cells(page, "stages", "2025-03") == ["2", "0 (0%)", "1 (50%)", "0 (0%)", "1 (50%)", "yes"]
    assert "End of 2025-12: 2 of 2 producer groups performing (100%)." in page
    assert "VOS01" not in page and 'value="vose"' not in page
    assert 'aria-current="page">PG development stages' in page and 'href="/staff/reports/messages"' in page
    assert '<figcaption>' in page
    assert html(client.get("/staff/reports/stages?season=2025&by=quarter")).count('<tr data-key="2025 Q') == 4
    rows = csv_rows(client.get("/staff/reports/stages.csv?season=2025"))
    assert rows[0][:3] == ["Period", "Day", "Producer groups"]
    assert rows[3] == ["2025-03", "2025-03-31", "2", "0", "1", "0", "1", "0", "50", "0", "50", "yes"]
    cells = xlsx_rows(client.get("/staff/reports/stages.xlsx?season=2025&pg=KUL01"))
    assert cells[6][:7] == ["2025-06", "2025-06-30", 1, 0, 0, 0, 1]
    svg = client.get("/staff/reports/stages.svg?season=2025")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and "script" not in svg.get_data(as_text=True).lower()
    root = ET.fromstring(svg.get_data())
    assert root.get("role") == "img" and "2025-03: 2 groups, Forming 0 (0%), Storming 1 (50%)" in root.get("aria-label")
    assert ">1.5<" not in svg.get_data(as_text=True).replace(" ", "").replace("\n", "")  # whole PGs on the axis
    for path in ("/staff/reports/stages?district=vose", "/staff/reports/stages.csv?pg=VOS01",
                 "/staff/reports/stages.svg?cluster=onion.vose", "/staff/reports/stages?season=1999",
                 "/staff/reports/stages.pdf"):
        assert client.get(path).status_code == 404, path


# --- messages --------------------------------------------------------------------------------------

def test_messages_counted_by_hand(session, data):
    rep = messages.report(session, resolve(session), 0.10)
    jan, feb, mar = rep.by_month[:3]
    assert (jan.queued, jan.sent, jan.delivered, jan.cost) == (2, 2, 2, 0.15)  # 0.05 reported + 0.10 estimated
    assert (feb.queued, feb.sent, feb.delivered, feb.failed, feb.suppressed, feb.waiting, feb.segments) == (7, 5, 3, 1, 1, 1, 6)
    assert (round(feb.reported, 2), round(feb.estimated, 2), feb.cost) == (0.3, 0.3, 0.6)
    assert (mar.queued, mar.sent, mar.failed) == (1, 0, 1)
    t = rep.total
    assert (t.queued, t.sent, t.delivered, t.failed, t.suppressed, t.waiting, t.cost, t.delivered_pct) == \
        (10, 7, 5, 2, 1, 1, 0.75, 71)
    assert {k: (c.queued, c.sent, c.delivered) for k, c in rep.by_kind.items()} == \
        {"reply": (5, 5, 4), "reminder": (1, 1, 0), "broadcast": (2, 1, 1), "alert": (1, 0, 0), "notice": (1, 0, 0)}
    assert rep.reasons == {"Failed: UserInBlacklist": 1, "expired: not sent in time": 1}
    assert rep.reasons_by_month == {(1, "Failed: UserInBlacklist"): 1, (2, "expired: not sent in time"): 1}
    u = rep.ussd[1]
    assert (u.sessions, u.hops, round(u.cost, 2), u.uncosted) == (3, 5, 0.05, 2) and rep.ussd_total.sessions == 3
    # a PG filter: its members only, never the rows of no farmer
    kul02 = messages.report(session, resolve(session, pg="KUL02"), 0.10)
    assert (kul02.total.queued, kul02.total.sent, kul02.ussd_total.sessions) == (3, 2, 1)


def test_messages_of_an_officer_are_those_of_the_district(session, data):
    officer = Scope(role="extension_officer", district_ids=frozenset({"kulob"}),
                    village_ids=frozenset({data["f1"].village_id, data["f2"].village_id}),
                    pg_ids=frozenset(p.id for p in resolve(session, district="kulob").pgs))
    rep = messages.report(session, resolve(session, officer), 0.10)
    feb = rep.by_month[1]
    assert (feb.queued, feb.sent, feb.delivered, feb.cost) == (5, 3, 1, 0.4)
    assert (rep.ussd[1].sessions, rep.ussd[1].hops) == (2, 4)


def test_failure_reasons_are_grouped():
    assert messages.reason("expired: not sent within 48 h") == "expired: not sent in time"
    assert messages.reason("gave up after 5 attempts: timeout") == "not accepted by the gateway"
    assert messages.reason("outcome unknown: no delivery report within 24 h; not resent") == "outcome unknown"
    assert messages.reason(None) == "unknown" and messages.reason("Rejected:  InvalidPhoneNumber") == "Rejected: InvalidPhoneNumber"


def test_the_messages_page_csv_xlsx_and_chart(client, session, data):
    make_account(session, "admin", username="amina")
    login(client, "amina")
    page = html(client.get("/staff/reports/messages?season=2025"))
    assert "<h1>Messages</h1>" in page
    assert row_cells(page, "by-month", "2025-02") == ["7", "5", "3", "1", "1", "0", "1", "6", "0.60"]
    assert row_cells(page, "by-kind", "reply") == ["5", "5", "4", "0", "0", "0", "0", "5", "0.45"]
    assert row_cells(page, "reasons", "Failed: UserInBlacklist") == ["1"]
    assert row_cells(page, "ussd", "2025-02") == ["3", "5", "0.05", "2"]
    assert "7 SMS sent, 5 delivered (71%), 2 failed, 1 suppressed; cost 0.75 TJS." in page
    rows = csv_rows(client.get("/staff/reports/messages.csv?season=2025"))
    assert rows[0][:4] == ["Section", "Month", "Kind", "Queued"]
    total = next(r for r in rows if r[0] == "total")
    assert total[3:10] == ["10", "7", "5", "2", "1", "0", "1"] and total[13] == "0.75" and total[14] == "3"
    assert ["failed", "2025-02", "", "", "", "", "1"] == next(r for r in rows if r[0] == "failed")[:7]
    cells = xlsx_rows(client.get("/staff/reports/messages.xlsx?season=2025&cluster=onion.vose"))
    xl_total = next(r for r in cells if r[0] == "total")
    assert xl_total[3:5] == [1, 1] and xl_total[14] == 0
    svg = client.get("/staff/reports/messages.svg?season=2025")
    root = ET.fromstring(svg.get_data())
    assert "2025-02: 5 sent, 3 delivered, 1 failed, 1 suppressed" in root.get("aria-label")
    assert svg.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_an_officer_sees_no_other_district_and_no_unknown_phone(client, session, data):
    make_account(session, "extension_officer", "kulob", username="officer")
    login(client, "officer")
    page = html(client.get("/staff/reports/messages?season=2025"))
    assert row_cells(page, "by-month", "2025-02")[:3] == ["5", "3", "1"]
    assert client.get("/staff/reports/messages?cluster=onion.vose").status_code == 404
    assert client.get("/staff/reports/messages.xlsx?pg=VOS01").status_code == 404


# --- active farmers --------------------------------------------------------------------------------

def test_active_farmers_counted_by_hand(session, data):
    rep = active.report(session, resolve(session))
    jan, feb, mar = rep.months[:3]
    assert (jan.active,) == (0,)
    assert (feb.active, feb.women, feb.men, feb.dialled, feb.texted) == (3, 1, 2, 2, 2)
    # f4 texted from f1's phone: the row names f4, so f4 counts, not f1 twice
    assert (mar.active, mar.women, mar.texted, mar.dialled) == (2, 2, 2, 0)
    s = rep.season
    assert (s.active, s.women, s.women_pct, s.dialled, s.texted) == (4, 2, 50, 2, 3)
    onion = active.report(session, resolve(session, cluster="onion.vose"))
    assert (onion.season.active, onion.months[1].texted) == (1, 1)
    officer = Scope(role="extension_officer", district_ids=frozenset({"kulob"}),
                    village_ids=frozenset({data["f1"].village_id, data["f2"].village_id}),
                    pg_ids=frozenset(p.id for p in resolve(session, district="kulob").pgs))
    kulob = active.report(session, resolve(session, officer))
    assert (kulob.months[1].active, kulob.months[2].active, kulob.season.active) == (2, 2, 3)


def test_the_active_page_csv_xlsx_and_chart(client, session, data):
    make_account(session, "cluster_coordinator", "tomato.kulob", username="coord", language="ru")
    login(client, "coord")
    page = html(client.get("/staff/reports/active?season=2025"))
    assert "<h1>Активные фермеры</h1>" in page
    # f4 is in no PG of the cluster: outside a coordinator's scope
    assert row_cells(page, "active", "2025-02") == ["2", "1", "1", "50%", "2", "1"]
    assert row_cells(page, "active", "all") == ["2", "1", "1", "50%", "2", "1"]
    rows = csv_rows(client.get("/staff/reports/active.csv?season=2025&pg=KUL01"))
    assert rows[0] == ["Месяц", "Активны", "Женщины", "Мужчины", "% женщин", "Набирали USSD", "Писали SMS"]
    assert rows[2][1:] == ["1", "1", "0", "100", "1", "1"] and rows[-1][0] == "all"
    cells = xlsx_rows(client.get("/staff/reports/active.xlsx?season=2025"))
    assert cells[2][:3] == ["2025-02", 2, 1]
    root = ET.fromstring(client.get("/staff/reports/active.svg?season=2025").get_data())
    assert "2025-02: активны 2, женщин 1; 2025-03: активны 1, женщин 1" in root.get("aria-label")
    assert client.get("/staff/reports/active?district=vose").status_code == 404


@pytest.mark.parametrize("role, scope, status", [
    ("admin", (), 200), ("vam_agent", ("kulob",), 200), ("pg_leader", ("KUL02",), 200), ("market_reporter", ("KULOB",), 404),
])
def test_who_sees_the_reports(client, session, data, role, scope, status):
    if role == "vam_agent":
        scope = (str(data["f1"].village_id),)
    make_account(session, role, *scope, username="someone")
    login(client, "someone")
    for path in ("/staff/reports/stages", "/staff/reports/messages", "/staff/reports/active",
                 "/staff/reports/active.csv", "/staff/reports/messages.svg"):
        assert client.get(path + ("&" if "?" in path else "?") + "season=2025").status_code == status, path
    home = unescape(client.get("/staff/").get_data(as_text=True))
    assert ('href="/staff/reports"' in home) == (status == 200)  # the nav's Reports: the index
    if status == 200:
        index = unescape(client.get("/staff/reports").get_data(as_text=True))
        assert all(f'href="/staff/reports/{name}"' in index for name in ("stages", "messages", "active"))


@pytest.mark.slow
def test_the_demo_region_has_35_of_81_groups_performing(runner, client, session):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    make_account(session, "admin", username="amina")
    login(client, "amina")
    page = " ".join(html(client.get("/staff/reports/stages")).split())  # this season: its last month ends after the demo's today
    assert re.search(r"End of \d{4}-\d\d: 35 of 81 producer groups performing \(43%\)\. The benchmark is met\.", page)
    rep = stages.report(session, selection.resolve(session, ADMIN, "en", zone=ZONE, now=dt.datetime.now(dt.timezone.utc)))
    assert rep.latest.counts == {"forming": 10, "storming": 14, "norming": 22, "performing": 35}


def test_each_report_is_a_fixed_number_of_grouped_queries(session, data):
    """Set-based: the number of statements does not grow with the rows (more messages, the same count)."""
    from sqlalchemy import event

    def statements(run) -> list[str]:
        seen: list[str] = []
        listener = lambda conn, cursor, statement, *a: seen.append(statement)  # noqa: E731
        event.listen(session.get_bind(), "before_cursor_execute", listener)
        try:
            run()
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", listener)
        return seen

    sel = resolve(session)
    counts = [len(statements(lambda: messages.report(session, sel, 0.10))),
              len(statements(lambda: active.report(session, sel))),
              len(statements(lambda: stages.report(session, sel)))]
    assert counts == [4, 2, 1]
    for i in range(30):
        session.add(OutboundMessage(phone=data["f1"].phone, farmer_id=data["f1"].id, text="x", kind="tip", priority=6,
                                    encoding="GSM-7", segments=1, status="delivered", created_at=utc(2025, 5, 1 + i % 28),
                                    next_attempt_at=utc(2025, 5, 1), expires_at=utc(2025, 6, 1)))
    session.commit()
    grouped = statements(lambda: messages.report(session, sel, 0.10))
    assert len(grouped) == 4 and all("GROUP BY" in s.upper() for s in grouped)
    assert messages.report(session, sel, 0.10).by_month[4].delivered == 30
