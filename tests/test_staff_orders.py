"""The staff orders pages and service.orders.staff: order rounds per PG and cluster within the
account's scope, the purchase order per supplier (page, CSV, XLSX), status changes that tell the
farmers by SMS (forward only, audited, exactly once), savings per farmer, PG and cluster; who sees
what; bad input answered in the page language. Times are given explicitly (NOW)."""
from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cases import orders as cases
from service.audit.log import Actor, AuditEntry
from service.farmers import models as farmermod
from service.groups import membership
from service.groups.producer_group import ProducerGroup
from service.messaging.message import OutboundMessage
from service.orders import rounds
from service.orders import staff as ostaff
from service.orders.catalogue import by_code
from service.orders.rounds import InputOrder, OrderRound
from service.reference.geography import Village
from service.staff import scope as scope_mod
from staff_pages import csrf, login, make_account

UTC = dt.timezone.utc
#: 06:00 UTC on 2 March 2026 = 11:00 in Dushanbe
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
KULOB_FARMER = "+992902000051"
BOKHTAR_FARMER = "+992902000052"


def html(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def village(session, district: str, name: str) -> Village:
    return next(v for v in session.scalars(select(Village).where(Village.district_id == district))
                if v.names["en"] == name)


@pytest.fixture
def world(session):
    """VOS03 and VOS04 (Guliston, onion.vose) of the orders cases; VOS05 in another Vose village
    of the same cluster; KUL01 (Dahana, tomato.kulob). Each with orders placed at NOW; the rounds
    of VOS03, VOS04 and KUL01 closed a day later, VOS05's still open (closes 9 March)."""
    ids = cases.build_world(session)
    guliston = village(session, "vose", "Guliston")
    other_village = Village(jamoat_id=guliston.jamoat_id, district_id="vose",
                            names={"tg": "Навобод", "ru": "Навобод", "uz": "Navobod", "en": "Navobod"})
    session.add(other_village)
    session.flush()
    vos05 = ProducerGroup(code="VOS05", name="Other village onion", village_id=other_village.id, cluster_id="onion.vose")
    kul01 = ProducerGroup(code="KUL01", name="Dahana tomato", village_id=village(session, "kulob", "Dahana").id,
                          cluster_id="tomato.kulob")
    session.add_all([vos05, kul01])
    session.flush()
    karim = farmermod.register(session, phone=KULOB_FARMER, name="Карим", gender="male", village_id=kul01.village_id,
                               crop_ids=["tomato"], land_m2=4000, language="tg")
    membership.join(session, karim, kul01)
    lola = farmermod.register(session, phone=BOKHTAR_FARMER, name="Lola", gender="female", village_id=vos05.village_id,
                              crop_ids=["onion"], land_m2=3000, language="ru")
    membership.join(session, lola, vos05)
    session.flush()
    farmer = {k: session.get(farmermod.Farmer, v) for k, v in ids.items() if k not in ("pg", "pg2")}
    onj1, fcm1, tmc1 = by_code(session, "ONJ1"), by_code(session, "FCM1"), by_code(session, "TMC1")
    for who, item, packs in (("farrukh", onj1, 2), ("farrukh", fcm1, 10), ("olga", onj1, 3), ("zarina", onj1, 1),
                             ("other", onj1, 5)):
        rounds.place_order(session, farmer[who], item, packs, NOW, via="sms")
    rounds.place_order(session, karim, tmc1, 4, NOW, via="ussd")
    rounds.place_order(session, lola, onj1, 1, NOW, via="sms")
    for pg_id in (ids["pg"], ids["pg2"], kul01.id):
        rounds.close_round(session, rounds.open_round_of(session, pg_id), NOW + dt.timedelta(days=1))
    session.commit()
    by_pg = {pg.code: session.scalar(select(OrderRound.id).where(OrderRound.pg_id == pg.id))
             for pg in session.scalars(select(ProducerGroup))
             if session.scalar(select(OrderRound.id).where(OrderRound.pg_id == pg.id))}
    return {**ids, "karim": karim.id, "lola": lola.id, "rounds": by_pg, "guliston": session.get(ProducerGroup, ids["pg"]).village_id,
            "vos05_village": vos05.village_id}


def outbox(session) -> list[OutboundMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def audits(session) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "order.status").order_by(AuditEntry.id)))


def scope_of(session, role, *refs):
    account = make_account(session, role, *refs, username=f"s-{role[:8]}-{len(refs)}-{'-'.join(refs)[:10]}".replace(".", "-"))
    return scope_mod.of(session, account), account


def shown_rounds(page: str, world) -> list[str]:
    return sorted(code for code, rid in world["rounds"].items() if f'data-round="{rid}"' in page)


# ---------------------------------------------------------------- service

@pytest.mark.parametrize("role, refs, pgs", [
    ("admin", (), ["KUL01", "VOS03", "VOS04", "VOS05"]),
    ("extension_officer", ("vose",), ["VOS03", "VOS04", "VOS05"]),
    ("extension_officer", ("kulob",), ["KUL01"]),
    ("cluster_coordinator", ("onion.vose",), ["VOS03", "VOS04", "VOS05"]),
    ("pg_leader", ("VOS04",), ["VOS04"]),
])
def test_rounds_in_scope_per_role(session, world, role, refs, pgs):
    scope, _ = scope_of(session, role, *refs)
    rows = ostaff.rounds_in_scope(session, scope)
    assert sorted(r.pg.code for r in rows) == pgs
    assert rows[0].round.status == "open" or "VOS05" not in pgs  # open rounds first


def test_a_vam_agent_sees_only_their_villages_rounds(session, world):
    scope, _ = scope_of(session, "vam_agent", str(world["guliston"]))
    rows = ostaff.rounds_in_scope(session, scope)
    assert sorted(r.pg.code for r in rows) == ["VOS03", "VOS04"]
    vos03 = next(r for r in rows if r.pg.code == "VOS03")
    assert (vos03.totals.farmers, vos03.totals.orders, vos03.totals.total_diram) == (3, 4, 52000 + 25000 + 78000 + 26000)
    assert vos03.states == {"placed": 4}
    with pytest.raises(ostaff.OutOfScope):
        ostaff.rounds_in_scope(session, scope, pg_code="VOS05")
    with pytest.raises(ostaff.OutOfScope):
        ostaff.rounds_in_scope(session, scope, cluster_id="tomato.kulob")
    with pytest.raises(ostaff.OutOfScope):
        ostaff.round_in_scope(session, scope, world["rounds"]["VOS05"])
    with pytest.raises(ValueError, match="ord.err.round_status"):
        ostaff.rounds_in_scope(session, scope, status="half")


def test_item_rows_give_packs_kg_and_tjs(session, world):
    rnd = session.get(OrderRound, world["rounds"]["VOS03"])
    rows = {r.item.code: r for r in ostaff.item_rows(session, rnd)}
    assert (rows["ONJ1"].packs, rows["ONJ1"].quantity, rows["ONJ1"].kg, rows["ONJ1"].total_diram) == \
        (6, Decimal("3.0"), Decimal("3.0"), 156000)
    assert (rows["FCM1"].packs, rows["FCM1"].kg, rows["FCM1"].total_diram, rows["FCM1"].saving_diram) == \
        (10, Decimal("500"), 25000, 5000)


def test_closing_soon_lists_open_rounds_closing_within_the_days_given(session, world):
    scope, _ = scope_of(session, "admin")
    vos05 = session.get(OrderRound, world["rounds"]["VOS05"])
    assert vos05.closes_on == dt.date(2026, 3, 9)
    assert ostaff.closing_soon(session, scope, NOW, dt.timedelta(days=3)) == []
    assert ostaff.closing_soon(session, scope, NOW, dt.timedelta(days=7)) == [vos05]
    # 20:00 UTC on 5 March is 01:00 on 6 March in Dushanbe: three local days before the closing day
    assert ostaff.closing_soon(session, scope, dt.datetime(2026, 3, 5, 20, 0, tzinfo=UTC)) == [vos05]
    assert ostaff.closing_soon(session, scope, dt.datetime(2026, 3, 5, 18, 0, tzinfo=UTC)) == []
    assert ostaff.closing_soon(session, scope, dt.datetime(2026, 3, 10, 6, 0, tzinfo=UTC)) == []  # past its day
    kulob, _ = scope_of(session, "extension_officer", "kulob")
    assert ostaff.closing_soon(session, kulob, NOW, dt.timedelta(days=30)) == []


def test_change_status_tells_each_farmer_once_forward_only(session, world):
    scope, account = scope_of(session, "cluster_coordinator", "onion.vose")
    actor = Actor.of(account, "web")
    ids = [world["rounds"]["VOS03"], world["rounds"]["VOS04"]]
    before = len(outbox(session))
    result = ostaff.change_status(session, scope, actor, ids, "ready", NOW, place="Guliston  CBO", on=dt.date(2026, 3, 12))
    session.commit()
    assert result == ostaff.StatusResult(chosen=5, changed=5, told=4)
    told = {(m.phone, m.language): m.text for m in outbox(session)[before:]}
    assert told[(cases.OLGA, "ru")].startswith("Заказ") and "готов: Guliston CBO, 12.03." in told[(cases.OLGA, "ru")]
    assert "tayyor: Guliston CBO, 12.03." in told[(cases.ZARINA, "uz")]
    assert "is ready for pickup: Guliston CBO, 12.03." in told[(cases.FARRUKH, "en")]
    assert "тайёр: Guliston CBO, 12.03." in told[(cases.OTHER_PG, "tg")]
    [entry] = audits(session)
    assert entry.channel == "web" and entry.after["status"] == "ready" and entry.after["farmers_told"] == 4
    # the same again (a double submit) changes nothing and tells nobody
    again = ostaff.change_status(session, scope, actor, ids, "ready", NOW, place="Guliston CBO", on=dt.date(2026, 3, 12))
    session.commit()
    assert again.changed == 0 and again.told == 0 and len(outbox(session)) == before + 4 and len(audits(session)) == 1
    # never backwards
    assert ostaff.change_status(session, scope, actor, ids, "confirmed", NOW).changed == 0
    # collected: only one supplier's lines may be chosen
    assert ostaff.change_status(session, scope, actor, ids, "delivered", NOW, supplier_code="SHOPJOMI").changed == 0
    done = ostaff.change_status(session, scope, actor, ids, "delivered", NOW, supplier_code="CBOVOSE")
    session.commit()
    assert done.changed == 5 and done.told == 4
    assert {o.status for o in session.scalars(select(InputOrder).where(InputOrder.round_id.in_(ids)))} == {"delivered"}


@pytest.mark.parametrize("args, key", [
    (dict(status="ready", place="", on=dt.date(2026, 3, 12)), "ord.err.place"),
    (dict(status="ready", place="x" * 61, on=dt.date(2026, 3, 12)), "ord.err.place"),
    (dict(status="ready", place="CBO", on=None), "ord.err.day"),
    (dict(status="ready", place="CBO", on=dt.date(2026, 3, 1)), "ord.err.day_past"),
    (dict(status="placed"), "ord.err.status"),
    (dict(status="lost"), "ord.err.status"),
    (dict(status="confirmed", supplier_code="NOSUCH"), "ord.err.supplier"),
])
def test_change_status_refuses_bad_requests(session, world, args, key):
    scope, account = scope_of(session, "admin")
    args = dict(args)
    status = args.pop("status")
    with pytest.raises(ValueError, match=key):
        ostaff.change_status(session, scope, Actor.of(account, "web"), [world["rounds"]["VOS03"]], status, NOW, **args)


def test_change_status_refuses_open_out_of_scope_and_too_many_rounds(session, world):
    scope, account = scope_of(session, "extension_officer", "vose")
    actor = Actor.of(account, "web")
    with pytest.raises(ValueError, match="ord.err.not_closed"):
        ostaff.change_status(session, scope, actor, [world["rounds"]["VOS05"]], "confirmed", NOW)
    with pytest.raises(ostaff.OutOfScope):
        ostaff.change_status(session, scope, actor, [world["rounds"]["KUL01"]], "confirmed", NOW)
    with pytest.raises(ValueError, match="ord.err.too_many"):
        ostaff.change_status(session, scope, actor, list(range(1, 52)), "confirmed", NOW)
    with pytest.raises(ValueError, match="ord.err.no_rounds"):
        ostaff.change_status(session, scope, actor, [], "confirmed", NOW)
    assert audits(session) == []


def test_parse_inputs():
    assert ostaff.parse_round_ids(["3", " 4 ", "3"]) == [3, 4]
    for bad in (["x"], ["-1"], ["1" * 10], ["٣"]):
        with pytest.raises(ValueError, match="ord.err.round_ids"):
            ostaff.parse_round_ids(bad)
    with pytest.raises(ValueError, match="ord.err.too_many"):
        ostaff.parse_round_ids(["1"] * 51)
    assert ostaff.parse_day("2026-03-12") == dt.date(2026, 3, 12)
    for bad in ("12.03.2026", "2026-02-30", "2026-3-1", "x" * 30):
        with pytest.raises(ValueError, match="ord.err.day"):
            ostaff.parse_day(bad)


def test_purchase_order_per_supplier_and_its_rows(session, world):
    scope, _ = scope_of(session, "cluster_coordinator", "onion.vose")
    chosen = ostaff.choose_rounds(session, scope, cluster_id="onion.vose")
    assert [r.id for r in chosen] == [world["rounds"]["VOS03"], world["rounds"]["VOS04"]]  # VOS05 still open
    [cbo] = ostaff.purchase_order(session, chosen)
    assert cbo.supplier.code == "CBOVOSE" and cbo.total_diram == 311000 and cbo.saving_diram == 49000
    rows = ostaff.purchase_rows(cbo and [cbo], "en")
    items = [(r[4], r[12], r[13], r[16]) for r in rows if r[0] == "item"]
    assert items == [("FCM1", 10, Decimal("500"), Decimal("250")), ("ONJ1", 11, Decimal("5.5"), Decimal("2860"))]
    parts = [(r[8], r[12]) for r in rows if r[0] == "pg"]
    assert parts == [("VOS03", 10), ("VOS03", 6), ("VOS04", 5)]
    assert rows[-1][0] == "total" and rows[-1][-2:] == [Decimal("3110"), Decimal("490")]
    # chosen by PG, by ids; errors
    assert [r.id for r in ostaff.choose_rounds(session, scope, pg_code="vos04")] == [world["rounds"]["VOS04"]]
    with pytest.raises(ValueError, match="ord.err.not_closed"):
        ostaff.choose_rounds(session, scope, cluster_id="onion.vose", round_ids=[world["rounds"]["VOS05"]])
    with pytest.raises(ostaff.OutOfScope):
        ostaff.choose_rounds(session, scope, cluster_id="onion.vose", round_ids=[world["rounds"]["KUL01"]])
    with pytest.raises(ostaff.OutOfScope):
        ostaff.choose_rounds(session, scope, cluster_id="tomato.kulob")
    with pytest.raises(ValueError, match="ord.err.pick_area"):
        ostaff.choose_rounds(session, scope)
    # once ordered from the supplier, the default choice (lines still placed) is empty
    ostaff.change_status(session, scope, Actor.of(make_account(session, "admin", username="adm"), "web"),
                         [r.id for r in chosen], "confirmed", NOW)
    assert ostaff.choose_rounds(session, scope, cluster_id="onion.vose") == []


def test_savings_in_scope_with_percent_against_retail(session, world):
    scope, _ = scope_of(session, "cluster_coordinator", "onion.vose")
    rows, total = ostaff.savings_in_scope(session, scope, "pg")
    assert [(r.key, r.saving_diram, r.retail_diram) for r in rows] == \
        [("VOS03", 29000, 210000), ("VOS04", 20000, 150000), ("VOS05", 4000, 30000)]
    assert [r.pct for r in rows] == [14, 13, 13] and total.pct == 14 and total.saving_diram == 53000
    clusters, _ = ostaff.savings_in_scope(session, scope, "cluster")
    assert [(c.key, c.saving_diram) for c in clusters] == [("onion.vose", 53000)]
    farmers, _ = ostaff.savings_in_scope(session, scope, "farmer", pg_code="VOS03")
    assert {r.label: r.saving_diram for r in farmers} == {"Farrukh": 8000 + 5000, "Ольга": 12000, "Zarina": 4000}
    kulob, _ = scope_of(session, "extension_officer", "kulob")
    assert [r.key for r in ostaff.savings_in_scope(session, kulob, "pg")[0]] == ["KUL01"]
    with pytest.raises(ValueError, match="ord.err.by"):
        ostaff.savings_in_scope(session, scope, "village")
    with pytest.raises(ostaff.OutOfScope):
        ostaff.savings_in_scope(session, kulob, "pg", cluster_id="onion.vose")


# ---------------------------------------------------------------- pages

@pytest.mark.parametrize("role, refs, pgs", [
    ("admin", (), ["KUL01", "VOS03", "VOS04", "VOS05"]),
    ("extension_officer", ("kulob",), ["KUL01"]),
    ("cluster_coordinator", ("onion.vose",), ["VOS03", "VOS04", "VOS05"]),
    ("pg_leader", ("VOS03",), ["VOS03"]),
])
def test_the_index_per_role_and_its_round_pages(client, session, world, role, refs, pgs):
    make_account(session, role, *refs, username="someone")
    login(client, "someone")
    page = html(client.get("/staff/orders"))
    assert "<h1>Order rounds</h1>" in page and 'href="/staff/orders"' in page  # the nav link
    assert shown_rounds(page, world) == pgs
    for code, rid in world["rounds"].items():
        assert client.get(f"/staff/orders/round/{rid}").status_code == (200 if code in pgs else 404)
    assert client.get("/staff/orders/round/999999").status_code == 404
    assert client.get("/staff/orders/round/99999999999").status_code == 404


def test_a_vam_agent_sees_only_their_villages_orders_on_every_page(client, session, world):
    make_account(session, "vam_agent", str(world["guliston"]), username="agent")
    login(client, "agent")
    assert shown_rounds(html(client.get("/staff/orders")), world) == ["VOS03", "VOS04"]
    assert client.get("/staff/orders?pg=VOS05").status_code == 404
    assert client.get("/staff/orders?cluster=tomato.kulob").status_code == 404
    page = html(client.get("/staff/orders/purchase?cluster=onion.vose"))
    assert 'data-pg="VOS03"' in page and 'data-pg="VOS04"' in page and "VOS05" not in page
    page = html(client.get("/staff/orders/savings?by=pg"))
    assert 'data-key="VOS03"' in page and 'data-key="VOS05"' not in page and 'data-key="KUL01"' not in page
    assert client.get(f"/staff/orders/purchase?cluster=onion.vose&round={world['rounds']['KUL01']}").status_code == 404


def test_the_filters_and_the_round_page(client, session, world):
    make_account(session, "extension_officer", "vose", username="ext")
    login(client, "ext")
    assert shown_rounds(html(client.get("/staff/orders?pg=vos04")), world) == ["VOS04"]
    assert shown_rounds(html(client.get("/staff/orders?status=open")), world) == ["VOS05"]
    assert shown_rounds(html(client.get("/staff/orders?cluster=onion.vose&status=closed")), world) == ["VOS03", "VOS04"]
    assert client.get("/staff/orders?cluster=tomato.kulob").status_code == 404
    answer = client.get("/staff/orders?status=" + "x" * 500)
    assert answer.status_code == 400 and "Choose open or closed rounds." in html(answer)
    page = html(client.get(f"/staff/orders/round/{world['rounds']['VOS03']}"))
    row = page[page.index('data-item="ONJ1"'):]
    row = row[:row.index("</tr>")]
    assert "<td>6</td>" in row and "3 kg" in row and "1560.00" in row
    assert "2026-03-09" in page and "Dushanbe date" in page  # closing day, local (closed early, on 3 March)
    assert "Closed on</dt><dd>2026-03-03" in page
    assert 'name="status" value="ready"' in page and 'name="place"' in page and 'for="s-place"' in page
    page = html(client.get(f"/staff/orders/round/{world['rounds']['VOS05']}"))
    assert 'name="status"' not in page and "still takes orders" in page
    assert "2026-03-09" in html(client.get("/staff/orders"))


def status_post(client, rid, **form):
    return client.post("/staff/orders/status", data={"round": str(rid), **form,
                                                    "csrf_token": csrf(client, f"/staff/orders/round/{rid}")})


def test_staff_move_a_round_to_delivered_to_the_pg_and_collected_exactly_once(client, session, world):
    make_account(session, "cluster_coordinator", "onion.vose", username="coord")
    login(client, "coord")
    rid = world["rounds"]["VOS03"]
    before = len(outbox(session))
    answer = status_post(client, rid, status="ready", place="Guliston CBO", day="2099-03-12")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/staff/orders/round/{rid}")
    new = outbox(session)[before:]
    assert sorted((m.phone, m.language) for m in new) == sorted([(cases.FARRUKH, "en"), (cases.OLGA, "ru"),
                                                                  (cases.ZARINA, "uz")])
    assert all(m.kind == "notice" and m.segments <= 2 and "Guliston CBO, 12.03." in m.text for m in new)
    page = html(client.get(f"/staff/orders/round/{rid}"))
    assert "4 of 4 lines changed; 3 farmers told by SMS." in page
    assert "delivered to the PG (Guliston CBO, 2099-03-12)" in page
    # a double submit of the same form
    assert status_post(client, rid, status="ready", place="Guliston CBO", day="2099-03-12").status_code == 302
    assert len(outbox(session)) == before + 3
    assert "Nothing changed" in html(client.get(f"/staff/orders/round/{rid}"))
    assert status_post(client, rid, status="delivered").status_code == 302
    assert len(outbox(session)) == before + 6
    assert [e.after["status"] for e in audits(session)] == ["ready", "delivered"]
    assert audits(session)[0].actor.startswith("coord")
    session.expire_all()
    assert {o.status for o in session.scalars(select(InputOrder).where(InputOrder.round_id == rid))} == {"delivered"}


@pytest.mark.parametrize("form, message", [
    ({"status": "ready", "place": "", "day": "2099-03-12"}, "Type the pickup place (at most 60 characters)."),
    ({"status": "ready", "place": "CBO", "day": "12/03/2099"}, "Give the pickup day as a date (YYYY-MM-DD)."),
    ({"status": "ready", "place": "CBO", "day": "2000-03-12"}, "The pickup day cannot be in the past."),
    ({"status": "ready", "place": "CBO"}, "Give the pickup day as a date"),
    ({"status": ""}, "Choose the new status."),
    ({"status": "placed"}, "Choose the new status."),
    ({"status": "confirmed", "round": "abc"}, "A round is given by its number."),
])
def test_bad_status_requests_get_a_clear_answer_and_change_nothing(client, session, world, form, message):
    make_account(session, "extension_officer", "vose", username="ext")
    login(client, "ext")
    rid = world["rounds"]["VOS03"]
    before = len(outbox(session))
    answer = status_post(client, rid, **form)
    assert answer.status_code == 400 and message in html(answer)
    assert len(outbox(session)) == before and audits(session) == []


def test_status_changes_outside_the_scope_or_role_are_404(client, session, world):
    make_account(session, "extension_officer", "kulob", username="ext")
    make_account(session, "pg_leader", "VOS03", username="leader")
    login(client, "ext")
    token = csrf(client, "/staff/orders")
    rid = world["rounds"]["VOS03"]
    assert client.post("/staff/orders/status", data={"round": rid, "status": "confirmed", "csrf_token": token}).status_code == 404
    assert client.post("/staff/orders/status", data={"round": rid, "status": "confirmed"}).status_code == 400  # no CSRF
    many = {"round": [str(i) for i in range(1, 80)], "status": "confirmed", "csrf_token": token}
    assert client.post("/staff/orders/status", data=many).status_code == 400
    client.post("/staff/logout", data={"csrf_token": token})
    login(client, "leader")
    page = html(client.get(f"/staff/orders/round/{rid}"))
    assert 'name="status"' not in page  # a PG leader looks only
    assert client.post("/staff/orders/status", data={"round": rid, "status": "confirmed",
                                                     "csrf_token": csrf(client, "/staff/orders")}).status_code == 404
    assert audits(session) == []


def test_the_purchase_order_page_csv_and_xlsx(client, session, world):
    make_account(session, "cluster_coordinator", "onion.vose", username="coord")
    login(client, "coord")
    page = html(client.get("/staff/orders/purchase"))
    assert "Choose a cluster or a producer group." in page and 'id="p-cluster"' in page
    page = html(client.get("/staff/orders/purchase?cluster=onion.vose"))
    assert 'data-supplier="CBOVOSE"' in page and "+992900000103" in page
    assert "Total 3110.00 TJS; saved against retail 490.00 TJS." in page
    assert f'value="{world["rounds"]["VOS03"]}" checked' in page
    answer = client.get("/staff/orders/purchase.csv?cluster=onion.vose")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert 'filename="purchase-onion-vose.csv"' in answer.headers["Content-Disposition"]
    text = answer.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["Row", "Supplier code", "Supplier", "Supplier phone", "Item code"]
    items = [(r[1], r[4], r[12], r[13], r[16]) for r in rows[1:] if r[0] == "item"]
    assert items == [("CBOVOSE", "FCM1", "10", "500", "250.00"), ("CBOVOSE", "ONJ1", "11", "5.5", "2860.00")]
    assert rows[-1][0] == "total" and rows[-1][-2:] == ["3110.00", "490.00"]
    # one PG's round only, as XLSX
    rid = world["rounds"]["VOS04"]
    answer = client.get(f"/staff/orders/purchase.xlsx?pg=VOS04&round={rid}")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(answer.get_data())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Row" and values[1][:5] == ["item", "CBOVOSE", "CBO Vose", "+992900000103", "ONJ1"] or \
        values[1][0] == "item"
    assert [v[12] for v in values if v[0] == "item"] == [5] and values[-1][-2] == 1300
    # bad and outside-scope choices
    assert client.get("/staff/orders/purchase?cluster=tomato.kulob").status_code == 404
    assert client.get(f"/staff/orders/purchase.csv?cluster=onion.vose&round={world['rounds']['KUL01']}").status_code == 404
    answer = client.get(f"/staff/orders/purchase?cluster=onion.vose&round={world['rounds']['VOS05']}")
    assert answer.status_code == 400 and "still open" in html(answer)
    answer = client.get("/staff/orders/purchase?cluster=onion.vose&round=x1")
    assert answer.status_code == 400 and "given by its number" in html(answer)
    answer = client.get("/staff/orders/purchase?cluster=onion.vose&" + "&".join(f"round={i}" for i in range(60)))
    assert answer.status_code == 400 and "at most 50 rounds" in html(answer)
    assert client.get("/staff/orders/purchase.csv").status_code == 400
    assert client.get("/staff/orders/purchase.pdf?cluster=onion.vose").status_code == 404


def test_the_savings_page(client, session, world):
    make_account(session, "admin", username="adm")
    login(client, "adm")
    page = html(client.get("/staff/orders/savings"))
    row = page[page.index('data-key="KUL01"'):]
    row = row[:row.index("</tr>")]
    tmc1 = by_code(session, "TMC1")
    assert f"{(tmc1.retail_diram - tmc1.group_diram) * 4 / 100:.2f}" in row and "%" in row
    page = html(client.get("/staff/orders/savings?by=cluster"))
    assert 'data-key="onion.vose"' in page and 'data-key="tomato.kulob"' in page
    page = html(client.get("/staff/orders/savings?by=farmer&pg=VOS03"))
    assert "Farrukh" in page and "Ольга" in page and "Карим" not in page
    assert client.get("/staff/orders/savings?by=village").status_code == 400
    assert client.get("/staff/orders/savings?pg=NOSUCH").status_code == 404


def test_refusals_in_the_page_language(client, session, world):
    make_account(session, "extension_officer", "vose", username="ext-ru", language="ru")
    login(client, "ext-ru")
    rid = world["rounds"]["VOS03"]
    answer = status_post(client, rid, status="ready", place="", day="2099-03-12")
    assert answer.status_code == 400 and "Укажите место выдачи" in html(answer)
    page = html(client.get("/staff/orders"))
    assert "Сборы заказов" in page and "заказан у поставщика" not in page and "принят: 4" in page


def test_roles_without_orders_do_not_see_the_pages(client, session, world):
    make_account(session, "market_reporter", "KULOB", username="rep")
    login(client, "rep")
    for path in ("/staff/orders", f"/staff/orders/round/{world['rounds']['VOS03']}", "/staff/orders/purchase",
                 "/staff/orders/savings", "/staff/orders/purchase.csv?cluster=onion.vose"):
        assert client.get(path).status_code == 404, path
    assert "/staff/orders" not in html(client.get("/staff"))


def test_nothing_is_counted_twice_in_the_outbox(session, world):
    """The notices carry dedupe keys: at most one per farmer, status and set of lines."""
    scope, account = scope_of(session, "admin")
    ostaff.change_status(session, scope, Actor.of(account, "web"), [world["rounds"]["KUL01"]], "confirmed", NOW)
    session.commit()
    keys = list(session.scalars(select(OutboundMessage.dedupe_key).where(OutboundMessage.phone == KULOB_FARMER,
                                                                          OutboundMessage.dedupe_key.like("order-status:%"))))
    assert len(keys) == 1 and keys[0].startswith(f"order-status:confirmed:{world['karim']}:")
    assert session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.dedupe_key == keys[0])) == 1


@pytest.mark.parametrize("lang", ["tg", "ru", "uz", "en"])
def test_a_status_notice_with_many_order_numbers_stays_within_two_sms(lang):
    from service.messaging.encoding import measure

    ids = list(range(100001, 100061))
    text = rounds._status_text("delivered", lang, ids, {})
    assert measure(text).segments <= 2 and "100001, 100002" in text and "..." in text and "100060" not in text
    ready = rounds._status_text("ready", lang, ids[:2], {"place": "Guliston CBO", "date": "12.03"})
    assert "100001, 100002" in ready and "..." not in ready and measure(ready).segments == 1
