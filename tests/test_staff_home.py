"""The staff home page's "today" items (``service.staff.today``): each counted from rows made here
with explicit times, within the account's scope (another district's officer sees none of them),
the items each role sees, one query per item, the page and its links (a page not built yet gives
words without a link), and an empty day said plainly."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from sqlalchemy import event, select

from service.advice.questions import Question
from service.broadcasts.broadcast import Broadcast
from service.farmers.models import Farmer, register
from service.groups import producer_group
from service.groups.membership import Membership
from service.messaging.gateway_state import GatewayState
from service.messaging.message import OutboundMessage
from service.orders.catalogue import InputItem
from service.orders.rounds import InputOrder, OrderRound
from service.prices.market import Market, MarketPrice
from service.reference.geography import Village
from service.staff import scope as scope_mod
from service.staff import today
from service.ussd.session import FormDraft
from staff_pages import login, make_account

NOW = dt.datetime(2026, 4, 2, 9, 0, tzinfo=dt.timezone.utc)  # 14:00 in Dushanbe, 2 April
OFFICER_PHONE = "+992900001001"
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def _village(session, district: str, index: int = 0) -> Village:
    return session.scalars(select(Village).where(Village.district_id == district).order_by(Village.id)).all()[index]


class World:
    """Rows for every item in Kulob (KUL01, KUL02) and one of each in Vose' (VOS01)."""

    def __init__(self, session):
        self.session = session
        self.k1, self.k2, self.v1 = _village(session, "kulob"), _village(session, "kulob", 1), _village(session, "vose")
        self.kul01 = producer_group.create(session, code="KUL01", name="Dahana tomato", village_id=self.k1.id,
                                           cluster_id="tomato.kulob", on=dt.date(2024, 5, 1))
        self.kul02 = producer_group.create(session, code="KUL02", name="Zarbdor tomato", village_id=self.k2.id,
                                           cluster_id="tomato.kulob", on=dt.date(2024, 5, 1))
        self.vos01 = producer_group.create(session, code="VOS01", name="Guliston onion", village_id=self.v1.id,
                                           cluster_id="onion.vose", on=dt.date(2024, 5, 1))
        self.n = 0
        self.item = session.scalars(select(InputItem).where(InputItem.active.is_(True)).order_by(InputItem.code)).first()

    def farmer(self, village, name: str) -> Farmer:
        self.n += 1
        return register(self.session, phone=f"+9929066{self.n:05d}", name=name, gender="female",
                        village_id=village.id, crop_ids=["tomato"], land_m2=5000, language="en", via="ussd")

    def request(self, pg, village, name: str, at: dt.datetime) -> Farmer:
        f = self.farmer(village, name)
        self.session.add(Membership(farmer_id=f.id, pg_id=pg.id, status="pending", requested_at=at))
        return f

    def question(self, farmer, text: str, at: dt.datetime, level: int | None, status: str = "open") -> None:
        self.session.add(Question(farmer_id=farmer.id, village_id=farmer.village_id, text=text, channel="sms",
                                  status=status, level=level, asked_at=at))

    def round(self, pg, status: str, closes_on: dt.date, line_status: str | None = None, farmer=None,
              closed_at: dt.datetime | None = None) -> OrderRound:
        rnd = OrderRound(pg_id=pg.id, status=status, opened_at=NOW - 10 * D, closes_on=closes_on, closed_at=closed_at)
        self.session.add(rnd)
        self.session.flush()
        if line_status:
            self.session.add(InputOrder(round_id=rnd.id, farmer_id=farmer.id, item_id=self.item.id, packs=2,
                                        unit_retail_diram=1000, unit_group_diram=800, total_diram=1600,
                                        saving_diram=400, status=line_status, created_at=NOW - 5 * D,
                                        updated_at=NOW - 5 * D))
        return rnd

    def message(self, phone: str, farmer, status: str, at: dt.datetime, reason: str | None = None) -> None:
        self.session.add(OutboundMessage(phone=phone, farmer_id=farmer.id if farmer else None, text="Hello",
                                         kind="notice", priority=3, encoding="GSM-7", segments=1, status=status,
                                         failure_reason=reason, created_at=at - H, next_attempt_at=at - H,
                                         expires_at=at + D, updated_at=at))

    def broadcast(self, audience: dict, send_at: dt.datetime, status: str = "scheduled", text: str = "Hail",
                  created_by: str = "cli") -> Broadcast:
        b = Broadcast(kind="broadcast", audience=audience, texts={"tg": text}, send_at=send_at, status=status,
                      created_by=created_by, created_at=NOW - D)
        self.session.add(b)
        return b

    def price(self, code: str, on: dt.date) -> None:
        market = self.session.scalar(select(Market).where(Market.code == code))
        self.session.add(MarketPrice(crop_id="tomato", market_id=market.id, observed_on=on, price_diram=300,
                                     source="test"))


@pytest.fixture
def world(session) -> World:
    w = World(session)
    k = w.k1
    # join requests: KUL01 two (3 days and 1 day old), KUL02 one (2 h), VOS01 one
    w.request(w.kul01, k, "Dilnoza Rahimova", NOW - 3 * D)
    w.request(w.kul01, k, "Malika Sharipova", NOW - D)
    w.request(w.kul02, w.k2, "Gulnora Yusufova", NOW - 2 * H)
    w.request(w.vos01, w.v1, "Vosida Umarova", NOW - 4 * D)
    session.add(Membership(farmer_id=w.farmer(k, "Active Member").id, pg_id=w.kul01.id, status="active",
                           requested_at=NOW - 9 * D, joined_at=NOW - 9 * D))
    # questions: Kulob three open (level 0, level 1, nobody serves), one answered; Vose' one
    asker, asker2 = w.farmer(k, "Firuza Nazarova"), w.farmer(w.k2, "Zarina Saidova")
    w.question(asker, "When to transplant tomato seedlings?", NOW - 30 * H, 0)
    w.question(asker, "Leaves turn yellow, what to do?", NOW - 50 * H, 1)
    w.question(asker2, "Where to buy drip tape?", NOW - 2 * H, None)
    w.question(asker, "Answered already", NOW - 90 * H, 0, status="answered")
    vose_asker = w.farmer(w.v1, "Vose Asker")  # a member of VOS01: the onion cluster's coordinator sees it
    session.add(Membership(farmer_id=vose_asker.id, pg_id=w.vos01.id, status="active", requested_at=NOW - 9 * D,
                           joined_at=NOW - 9 * D))
    w.question(vose_asker, "Onion thrips?", NOW - 5 * H, 0)
    # rounds: KUL01 open closing tomorrow with a line; KUL02 open closing in 8 days, and closed
    # yesterday with a placed line; KUL01 closed with a confirmed line only; VOS01 closing today
    w.round(w.kul01, "open", dt.date(2026, 4, 3), "placed", asker)
    w.round(w.kul02, "open", dt.date(2026, 4, 10))
    w.round(w.kul02, "closed", dt.date(2026, 4, 1), "placed", asker2, closed_at=NOW - D)
    w.round(w.kul01, "closed", dt.date(2026, 3, 20), "confirmed", asker, closed_at=NOW - 12 * D)
    w.round(w.vos01, "open", dt.date(2026, 4, 2))
    # messages: Kulob held (3 days), failed (2 h), failed too long ago, delivered; Vose' failed; a staff phone held
    w.message(asker.phone, asker, "held", NOW - 3 * D, "AT status 406")
    w.message(asker2.phone, asker2, "failed", NOW - 2 * H, "expired: not sent within 24 h")
    w.message(asker.phone, asker, "failed", NOW - 30 * H, "old")
    w.message(asker.phone, asker, "delivered", NOW - H)
    w.message("+992900009999", w.farmer(w.v1, "Vose Reader"), "failed", NOW - H, "rejected")
    w.message("+992900008888", None, "held", NOW - H, "AT status 405")
    # ALERT previews: the officer's (5 min), another phone's, one too old to confirm
    session.add(FormDraft(phone=OFFICER_PHONE, kind="alert", data={"target": "Kulob", "text": "Hail tonight",
                                                                   "code": "1234"}, updated_at=NOW - 5 * dt.timedelta(minutes=1)))
    session.add(FormDraft(phone="+992900001002", kind="alert", data={"target": "Vose", "text": "Frost"},
                          updated_at=NOW - 10 * dt.timedelta(minutes=1)))
    session.add(FormDraft(phone="+992900001003", kind="alert", data={"target": "Jomi", "text": "Old"},
                          updated_at=NOW - 2 * H))
    # broadcasts: Kulob in 3 h, Vose' in 5 h, KUL02 (by PG) in 1 h, Kulob in 3 days, Kulob already queued
    w.broadcast({"districts": ["kulob"]}, NOW + 3 * H, text="Hail in Kulob")
    w.broadcast({"districts": ["vose"]}, NOW + 5 * H, text="Vose meeting")
    w.broadcast({"pgs": ["KUL02"]}, NOW + H, text="KUL02 meeting")
    w.broadcast({"districts": ["kulob"]}, NOW + 3 * D, text="Later")
    w.broadcast({"districts": ["kulob"]}, NOW - H, status="queued", text="Gone")
    # prices: KULOB stale (20 March), DAHANA fresh (1 April); VOSE none
    w.price("KULOB", dt.date(2026, 3, 20))
    w.price("DAHANA", dt.date(2026, 4, 1))
    session.commit()
    return w


def scope_of(session, role: str, *refs: str, phone: str | None = None):
    account = make_account(session, role, *refs, phone=phone)
    return account, scope_mod.of(session, account)


def items(session, scope, phone=None) -> dict[str, today.Item]:
    return {i.key: i for i in today.for_account(session, scope, NOW, phone=phone).items}


def test_an_extension_officer_sees_each_item_of_their_district(session, world):
    _, scope = scope_of(session, "extension_officer", "kulob", phone=OFFICER_PHONE)
    got = items(session, scope, OFFICER_PHONE)
    assert list(got) == list(today.ROLE_ITEMS["extension_officer"])
    joins = got["join_requests"]
    assert joins.count == 3
    assert [(e.title, e.pg_code) for e in joins.entries] == [
        ("Dilnoza Rahimova", "KUL01"), ("Malika Sharipova", "KUL01"), ("Gulnora Yusufova", "KUL02")]
    assert joins.entries[0].at == NOW - 3 * D
    q = got["questions"]
    assert (q.count, q.extra) == (3, {"escalated": 1, "unrouted": 1})
    # nobody serves the farmer first, then the higher level, then by age
    assert [e.title for e in q.entries] == ["Where to buy drip tape?", "Leaves turn yellow, what to do?",
                                           "When to transplant tomato seedlings?"]
    assert [e.level for e in q.entries] == [None, 1, 0]
    closing = got["rounds_closing"]
    assert closing.count == 1 and closing.entries[0].pg_code == "KUL01"
    assert closing.entries[0].day == dt.date(2026, 4, 3) and closing.entries[0].note == "1"
    waiting = got["rounds_to_order"]
    assert waiting.count == 1 and waiting.entries[0].pg_code == "KUL02" and waiting.entries[0].note == "1"
    msgs = got["messages"]
    assert (msgs.count, msgs.extra) == (2, {"held": 1, "failed": 1})
    assert [e.title for e in msgs.entries] == ["Zarina Saidova", "Firuza Nazarova"]  # the newest change first
    assert msgs.entries[0].status == "failed" and msgs.entries[0].note.startswith("expired")
    assert got["gateway"].count == 0
    drafts = got["alert_drafts"]
    assert drafts.count == 1 and drafts.entries[0].title == "Kulob" and drafts.entries[0].note == "Hail tonight"
    soon = got["broadcasts_soon"]
    assert soon.count == 2 and [e.title for e in soon.entries] == ["KUL02 meeting", "Hail in Kulob"]
    assert all(e.broadcast_id for e in soon.entries)
    assert not today.for_account(session, scope, NOW, phone=OFFICER_PHONE).empty


def test_another_districts_officer_sees_none_of_them(session, world):
    _, scope = scope_of(session, "extension_officer", "balkhi", phone="+992900001009")
    got = items(session, scope, "+992900001009")
    assert {k: i.count for k, i in got.items()} == {k: 0 for k in today.ROLE_ITEMS["extension_officer"]}
    assert today.for_account(session, scope, NOW, phone="+992900001009").empty
    # Vose's officer sees Vose's rows only
    _, vose = scope_of(session, "extension_officer", "vose")
    got = items(session, vose)
    assert got["join_requests"].count == 1 and got["join_requests"].entries[0].pg_code == "VOS01"
    assert [e.title for e in got["questions"].entries] == ["Onion thrips?"]
    assert got["rounds_closing"].count == 1 and got["rounds_closing"].entries[0].day == dt.date(2026, 4, 2)
    assert got["rounds_to_order"].count == 0
    assert got["messages"].count == 1 and got["messages"].entries[0].title == "Vose Reader"
    assert got["alert_drafts"].count == 0  # no phone: no preview of theirs
    assert [e.title for e in got["broadcasts_soon"].entries] == ["Vose meeting"]


def test_a_pg_leader_sees_their_pgs_requests_and_round_only(session, world):
    _, scope = scope_of(session, "pg_leader", "KUL01")
    got = items(session, scope)
    assert list(got) == ["join_requests", "rounds_closing", "rounds_to_order"]
    assert got["join_requests"].count == 2 and {e.pg_code for e in got["join_requests"].entries} == {"KUL01"}
    assert got["rounds_closing"].count == 1 and got["rounds_to_order"].count == 0


def test_a_vam_agent_sees_their_villages_questions_and_orders(session, world):
    _, scope = scope_of(session, "vam_agent", str(world.k2.id))
    got = items(session, scope)
    assert list(got) == ["questions", "rounds_closing", "rounds_to_order", "alert_drafts", "broadcast_drafts"]
    assert [e.title for e in got["questions"].entries] == ["Where to buy drip tape?"]
    assert got["rounds_closing"].count == 0  # KUL02's open round closes in 8 days
    assert got["rounds_to_order"].count == 1 and got["rounds_to_order"].entries[0].pg_code == "KUL02"


def test_a_cluster_coordinator_sees_their_clusters_pgs(session, world):
    _, scope = scope_of(session, "cluster_coordinator", "onion.vose")
    got = items(session, scope)
    assert "messages" not in got and "stale_prices" not in got
    assert got["join_requests"].count == 1 and got["questions"].count == 1
    assert got["broadcasts_soon"].count == 0  # aimed at the district, not the cluster


def test_a_market_reporter_sees_their_stale_markets(session, world):
    _, kulob = scope_of(session, "market_reporter", "KULOB")
    got = items(session, kulob)
    assert list(got) == ["stale_prices"]
    stale = got["stale_prices"]
    assert stale.count == 1 and stale.entries[0].market_code == "KULOB"
    assert stale.entries[0].day == dt.date(2026, 3, 20)
    _, dahana = scope_of(session, "market_reporter", "DAHANA")
    assert items(session, dahana)["stale_prices"].count == 0
    assert today.for_account(session, dahana, NOW).empty
    # a price exactly ``days`` days old is not yet stale
    assert today.stale_prices(session, kulob, NOW, days=13).count == 0
    assert today.stale_prices(session, kulob, NOW, days=12).count == 1
    _, vose = scope_of(session, "market_reporter", "VOSE")
    [never] = items(session, vose)["stale_prices"].entries
    assert never.market_code == "VOSE" and never.day is None


def test_an_administrator_sees_everything(session, world):
    account, scope = scope_of(session, "admin")
    got = items(session, scope)
    assert got["join_requests"].count == 4 and got["questions"].count == 4
    assert got["rounds_closing"].count == 2 and got["rounds_to_order"].count == 1
    assert got["messages"].count == 4 and got["messages"].extra == {"held": 2, "failed": 2}
    assert "***888" in [e.title for e in got["messages"].entries]  # a staff phone, masked
    assert got["alert_drafts"].count == 2 and got["broadcasts_soon"].count == 3
    stale = got["stale_prices"]
    assert stale.count == len(session.scalars(select(Market.id)).all()) - 1  # all but DAHANA
    assert stale.entries[0].day is None and "DAHANA" not in [e.market_code for e in stale.entries]


def test_a_broadcast_composed_on_the_web_awaits_confirmation_in_its_scope(session, world):
    from service.audit.log import Actor
    from service.broadcasts import staff as bc
    from service.broadcasts.broadcast import Audience

    officer, scope = scope_of(session, "extension_officer", "kulob", phone=OFFICER_PHONE)
    _, other = scope_of(session, "extension_officer", "balkhi", phone="+992900001009")
    row = bc.compose(session, scope, Audience(districts=("kulob",)), {"tg": "Ҷамъомад дар хоҷагӣ"},
                     actor=Actor.of(officer, "web"), created_by=f"web:{officer.id}", now=NOW)
    session.commit()
    drafts = today.broadcast_drafts(session, scope, NOW)
    assert drafts.count == 1 and drafts.entries[0].broadcast_id == row.id
    assert drafts.entries[0].title == "Ҷамъомад дар хоҷагӣ" and drafts.entries[0].note == "broadcast"
    assert today.broadcast_drafts(session, other, NOW).count == 0
    assert items(session, scope, OFFICER_PHONE)["broadcast_drafts"].count == 1


def test_a_failed_message_made_good_by_a_later_delivery_no_longer_counts(session, world):
    _, scope = scope_of(session, "extension_officer", "kulob", phone=OFFICER_PHONE)
    before = today.messages(session, scope, NOW)
    assert before.extra == {"held": 1, "failed": 1}
    zarina = session.scalar(select(Farmer).where(Farmer.name == "Zarina Saidova"))
    world.message(zarina.phone, zarina, "delivered", NOW + 2 * H)  # e.g. a broadcast's resend, after the failure
    session.commit()
    after = today.messages(session, scope, NOW + 3 * H)
    assert after.extra == {"held": 1, "failed": 0} and [e.status for e in after.entries] == ["held"]


def test_the_times_decide(session, world):
    _, scope = scope_of(session, "extension_officer", "kulob", phone=OFFICER_PHONE)
    later = NOW + 40 * dt.timedelta(minutes=1)  # the preview is 45 min old: past its 30 min
    assert today.alert_drafts(session, scope, later, phone=OFFICER_PHONE).count == 0
    assert today.messages(session, scope, NOW + D).extra == {"held": 1, "failed": 0}
    assert today.rounds_closing(session, scope, NOW, days=9).count == 2
    assert today.rounds_closing(session, scope, NOW, days=1).count == 0
    assert today.broadcasts_soon(session, scope, NOW, hours=80).count == 3
    # the local day: at 20:00 UTC on 2 April it is 3 April in Dushanbe, KUL01's closing day
    assert today.rounds_closing(session, scope, NOW.replace(hour=20), days=1).count == 1


def test_a_gateway_outage_is_shown_to_officers_and_administrators(session, world):
    session.add(GatewayState(gateway="africastalking", outage_since=NOW - 10 * dt.timedelta(minutes=1),
                             failed_passes=4, held_until=NOW + H, last_error="HTTP 503"))
    session.commit()
    _, officer = scope_of(session, "extension_officer", "balkhi")
    outage = items(session, officer)["gateway"]
    assert outage.count == 1 and outage.entries[0].title == "africastalking" and outage.entries[0].note == "HTTP 503"
    _, leader = scope_of(session, "pg_leader", "KUL02")
    assert "gateway" not in items(session, leader)


def test_one_query_per_item_whatever_the_number_of_pgs(app, session, world):
    _, scope = scope_of(session, "admin")
    engine = app.extensions["dehqon.engine"]
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for key in today.ROLE_ITEMS["admin"]:
            seen.clear()
            getattr(today, key)(session, scope, NOW)
            assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1, (key, seen)
    finally:
        event.remove(engine, "before_cursor_execute", count)


# ---------------------------------------------------------------- the page

def html(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_the_home_page_shows_the_officers_day_with_links(client, session, world):
    make_account(session, "extension_officer", "kulob", username="officer", phone=OFFICER_PHONE)
    with time_machine.travel(NOW, tick=False):
        login(client, "officer")
        page = html(client.get("/staff/"))
    assert '<h2 id="today-title">Today</h2>' in page
    assert ('<a href="/staff/pgs">Join requests to approve <span class="count" data-count="join_requests">3</span></a>'
            in page), page
    assert 'href="/staff/pgs/KUL01#requests-title">Dilnoza Rahimova</a>' in page
    assert "KUL01 · 3 days ago" in page and "KUL02 · 2 h ago" in page
    assert ('<h3 id="today-questions"><a href="/staff/questions">Unanswered questions <span class="count" '
            'data-count="questions">3</span></a></h3>') in page
    assert "1 escalated past the VAM agent, 1 with nobody to answer them" in page
    assert "nobody serves this farmer" in page
    assert re.search(r'<a href="/staff/farmers/\d+">Where to buy drip tape\?</a>', page), page
    assert re.search(r'<a href="/staff/farmers/\d+">Zarina Saidova</a>', page)  # her failed message
    assert 'href="/staff/pgs/KUL01#orders-title">KUL01</a>' in page and "closes 2026-04-03" in page
    assert "1 held for review, 1 failed in the last 24 hours" in page
    assert "SMS alerts waiting for their ALERT OK" in page and "Broadcasts going out within 24 hours" in page
    assert "closes 2026-04-03 · order lines: 1" in page
    assert "2026-04-02 17:00" in page  # the Kulob broadcast at 12:00 UTC, in Dushanbe time
    assert "Dehqon" in page and "Nothing needs you today." not in page
    assert "Vosida Umarova" not in page and "Vose meeting" not in page  # another district's


def test_a_pg_leaders_count_links_to_their_pg_page(client, session, world):
    make_account(session, "pg_leader", "KUL01", username="leader")
    with time_machine.travel(NOW, tick=False):
        login(client, "leader")
        page = html(client.get("/staff/"))
    assert re.search(r'<a href="/staff/pgs/KUL01#requests-title">Join requests to approve <span class="count" '
                     r'data-count="join_requests">2</span></a>', page), page
    assert 'data-item="questions"' not in page and 'data-item="rounds_closing"' in page
    # more requests than entries shown: the count still links to their one PG
    for n in range(3):
        world.request(world.kul01, world.k1, f"Late Applicant {n}", NOW - H)
    session.commit()
    with time_machine.travel(NOW, tick=False):
        page = html(client.get("/staff/"))
    assert re.search(r'<a href="/staff/pgs/KUL01#requests-title">Join requests to approve <span class="count" '
                     r'data-count="join_requests">5</span></a>', page), page
    assert "and 2 more" in page


def test_a_market_reporters_stale_market_links_to_its_prices(client, session, world):
    make_account(session, "market_reporter", "KULOB", username="rep", language="ru")
    with time_machine.travel(NOW, tick=False):
        login(client, "rep")
        page = html(client.get("/staff/"))
    assert ('<a href="/staff/prices">Рынки без цены 7 дней <span class="count" data-count="stale_prices">1</span></a>'
            in page), page
    assert 'href="/staff/prices/KULOB">KULOB</a>' in page and "последняя цена 2026-03-20" in page


def test_an_empty_day_says_so(client, session):
    make_account(session, "extension_officer", "jomi", username="jomi")
    with time_machine.travel(NOW, tick=False):
        login(client, "jomi")
        page = html(client.get("/staff/"))
    assert '<p class="today-empty" data-today="empty">Nothing needs you today.</p>' in page
    assert 'data-item=' not in page


def test_link_to_builds_only_registered_pages(app):
    from handlers.staff.web import link_to

    with app.test_request_context("/staff/"):
        assert link_to("staff_pgs.page", code="KUL01") == "/staff/pgs/KUL01"
        assert link_to("staff_questions.index") == "/staff/questions"
        assert link_to("staff_broadcasts.show", broadcast_id=3) == "/staff/broadcasts/3"
        assert link_to("staff_no_such_page.index") is None
        assert link_to("staff_pgs.page") is None  # a value missing


def test_a_round_past_its_closing_day_says_so(client, session, world):
    make_account(session, "pg_leader", "KUL01", username="leader")
    with time_machine.travel(NOW + 2 * D, tick=False):
        login(client, "leader")
        page = html(client.get("/staff/"))
    assert "its closing day 2026-04-03 has passed · order lines: 1" in page
    assert "5 days ago" in page  # Dilnoza's request, 3 days before NOW
