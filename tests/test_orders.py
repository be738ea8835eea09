"""Collective input orders: the SMS table of ``tests/cases/orders.py``, the USSD order dialogue,
and the scripted PG of the issue (orders by USSD and SMS, the deadline, the cluster CSV, status
SMS, savings), on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

import farmer_text
import templates_sms
from cases import orders as cases
from cases.sms import at
from cases.ussd import hop
from service.orders import rounds as order
from service.db import utcnow
from service.messaging.encoding import fits_ussd, measure
from service.orders.catalogue import InputItem, by_code, parse_packs
from service.messaging.message import OutboundMessage
from service.orders.rounds import InputOrder, OrderRound
from service.ussd.session import FormDraft

LANGS = ("tg", "ru", "uz", "en")


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": cases.TOKEN}


def send(client, phone: str, text: str, n: int) -> None:
    resp = client.post(f"/sms/inbound?key={cases.TOKEN}", data=at(f"o{n}", phone, text))
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "processed"


def outbox(session) -> list[OutboundMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def lines(session, ids: dict) -> list[tuple]:
    label = {v: k for k, v in ids.items() if k not in ("pg", "pg2")}
    session.expire_all()
    return [(label[o.farmer_id], session.get(InputItem, o.item_id).code, o.packs, o.status)
            for o in session.scalars(select(InputOrder).order_by(InputOrder.id))]


@pytest.mark.parametrize("case", cases.CASES, ids=[c.label for c in cases.CASES])
def test_sms(case, client, session):
    ids = cases.build_world(session)
    for n, (phone, text) in enumerate(case.messages):
        send(client, phone, text, n)
    rows = outbox(session)
    assert len(rows) == len(case.replies), [r.text for r in rows]
    for row, want in zip(rows, case.replies):
        assert (row.phone, row.kind, row.language) == (want.to, want.kind, want.lang), row.text
        if want.key:
            assert row.text == templates_sms.text(want.key, want.lang, **want.params)
        for part in want.has:
            assert part in row.text, row.text
        assert row.segments <= 2
        farmer_text.check(row.text, row.language)  # totals and savings as the language writes amounts
    assert lines(session, ids) == case.orders
    for o in session.scalars(select(InputOrder)):  # the recorded saving is (retail - group) x packs
        item = session.get(InputItem, o.item_id)
        assert o.saving_diram == (item.retail_diram - item.group_diram) * o.packs
        assert o.total_diram == item.group_diram * o.packs
    if case.rounds is not None:
        assert session.scalar(select(func.count()).select_from(OrderRound).where(OrderRound.status == "open")) \
            == case.rounds


# ---------------------------------------------------------------- USSD

class Phone:
    """A USSD caller: ``dial()`` starts a session, ``press(value)`` types one input; bodies checked."""

    def __init__(self, client, phone: str):
        self.client, self.phone, self.sessions, self.typed, self.body = client, phone, 0, [], ""

    def dial(self) -> str:
        self.sessions += 1
        self.typed = []
        return self._post()

    def press(self, value: str) -> str:
        self.typed.append(value)
        return self._post()

    def pick(self, words: str) -> str:
        """Type the number of the option whose line contains ``words`` (paging with 98 to it)."""
        for _ in range(20):
            found = [ln for ln in self.body[4:].split("\n") if words in ln and ln.split(" ", 1)[0].isdigit()]
            if found or "\n98 " not in self.body and " 98 " not in self.body:
                break
            self.press("98")
        assert found, f"no option {words!r} in {self.body!r}"
        line = found[0]
        return self.press(line.split(" ", 1)[0])

    def _post(self) -> str:
        form = hop("*".join(self.typed), session=f"ATUid_{self.phone}_{self.sessions}", phone=self.phone)
        resp = self.client.post(f"/ussd?key={cases.TOKEN}", data=form)
        self.body = resp.get_data(as_text=True)
        assert resp.status_code == 200 and fits_ussd(self.body), self.body
        return self.body


def order_by_ussd(phone: Phone, item: str, packs: str) -> str:
    phone.dial()
    phone.pick(templates_sms.text("ussd.main.orders", "en"))
    phone.pick("New order")
    phone.pick("Onion")
    phone.pick(item)
    phone.press(packs)
    return phone.body


def test_ussd_order_confirm_screen_and_receipt(client, session):
    ids = cases.build_world(session)
    farrukh = Phone(client, cases.FARRUKH)
    body = order_by_ussd(farrukh, "ONJ1", "3")
    assert body == "CON ONJ1: 3 x 260.00 = 780.00 TJS\nYou save 120.00 TJS\n1 Yes\n2 No\n0 Back 00 Menu"
    assert farrukh.pick("Yes") == "END " + templates_sms.text("orders.ussd.done", "en", order=1)
    assert lines(session, ids) == [("farrukh", "ONJ1", 3, "placed")]
    receipt = outbox(session)[-1]
    assert (receipt.phone, receipt.language) == (cases.FARRUKH, "en")
    assert receipt.text.startswith("Order 1: ONJ1 x3 = 780.00 TJS, you save 120.00.")
    assert session.scalar(select(InputOrder)).via == "ussd"


def test_ussd_cart_survives_a_dropped_session(client, session):
    ids = cases.build_world(session)
    olga = Phone(client, cases.OLGA)
    olga.dial()
    olga.pick(templates_sms.text("ussd.main.orders", "ru"))  # 3, on the menu's first page in Russian
    olga.pick("Новый заказ")
    olga.pick("Лук")
    olga.pick("FCM1")
    assert "50 кг: 25,00 (рынок 30,00)" in olga.body
    olga.press("1,5")
    assert olga.body.startswith("CON " + templates_sms.text("orders.ussd.bad_qty", "ru"))
    olga.press("4")
    assert "FCM1 4x25,00=100,00" in olga.body and "Экономия 20,00" in olga.body
    # the session drops here; nothing is ordered, the cart is kept
    assert lines(session, ids) == []
    assert session.scalar(select(FormDraft).where(FormDraft.phone == cases.OLGA)).data == {"item": "fert.compost",
                                                                                           "packs": 4}
    olga.dial()
    olga.pick(templates_sms.text("ussd.main.orders", "ru"))
    olga.pick("Продолжить: FCM1 x4")
    assert "FCM1 4x25,00=100,00" in olga.body
    olga.pick("Да")
    assert olga.body.startswith("END ")
    assert lines(session, ids) == [("olga", "FCM1", 4, "placed")]
    assert session.scalar(select(FormDraft).where(FormDraft.phone == cases.OLGA)) is None


@pytest.mark.parametrize("phone, lang, key", [
    (cases.LONER, "tg", "orders.err.not_member"),
    (cases.PENDING, "tg", "orders.err.pending"),
])
def test_ussd_non_members_are_told_how_to_join(client, session, phone, lang, key):
    ids = cases.build_world(session)
    caller = Phone(client, phone)
    caller.dial()
    caller.pick(templates_sms.text("ussd.main.orders", lang))
    assert caller.body == "END " + templates_sms.text(key, lang, pg="VOS03")
    assert lines(session, ids) == []


# ---------------------------------------------------------------- the scripted PG

def test_scripted_pg_orders_closes_exports_and_tells_everyone(client, session, runner, tmp_path):
    """Issue 3 "done when": several farmers of a PG order by USSD and SMS, the round closes at its
    deadline, the cluster CSV shows the right totals and group prices, every farmer gets the
    status SMS in their language, and the recorded saving is (retail - group) x packs."""
    ids = cases.build_world(session)
    farrukh = Phone(client, cases.FARRUKH)
    for item, packs in (("ONJ1", "3"), ("ONS1", "1")):
        order_by_ussd(farrukh, item, packs)
        farrukh.pick("Yes")
    send(client, cases.OLGA, "ЗАКАЗ ONJ1 2", 1)
    send(client, cases.ZARINA, "BUYURTMA FCM1 10", 2)
    send(client, cases.ZARINA, "BUYURTMA ONJ1 1", 3)
    send(client, cases.OTHER_PG, "ФАРМОИШ ONJ1 5", 4)     # VOS04, same cluster, its own round
    send(client, cases.OLGA, "ЗАКАЗ FCM1 1", 5)
    send(client, cases.OLGA, "ОТМЕНА 7", 6)              # cancelled: left out of everything
    rounds = {r.pg_id: r for r in session.scalars(select(OrderRound))}
    assert {r.status for r in rounds.values()} == {"open"} and len(rounds) == 2
    closes_on = rounds[ids["pg"]].closes_on
    assert closes_on == order.local_today(utcnow()) + dt.timedelta(days=7)

    # the deadline: nothing closes on the closing day, everything just after it
    tz = order.DEFAULT_POLICY.timezone
    last_minute = dt.datetime.combine(closes_on, dt.time(23, 59), tz).astimezone(dt.timezone.utc)
    assert order.close_due_rounds(session, last_minute) == []
    before = len(outbox(session))
    result = runner.invoke(args=["orders", "close-due"])
    assert "0 round(s) closed" in result.output
    closed = order.close_due_rounds(session, last_minute + dt.timedelta(minutes=2))
    session.commit()
    assert sorted(r.pg_id for r in closed) == sorted([ids["pg"], ids["pg2"]])
    notices = outbox(session)[before:]
    chair = [n for n in notices if n.phone == cases.CHAIR]
    assert [(n.phone, n.kind) for n in chair] == [(cases.CHAIR, "notice")]  # VOS04 has no EC
    assert chair[0].text.startswith("VOS03 давраи ") and "3 нафар, 5 фармоиш, 2110,00 сомонӣ" in chair[0].text
    assert "FCM1 x10, ONJ1 x6, ONS1 x1" in chair[0].text
    # every farmer who ordered is told once, in their language: the total, then their live lines
    told = {n.phone: n for n in notices if n.phone != cases.CHAIR}
    assert len(told) == len(notices) - 1 and {n.kind for n in told.values()} == {"notice"}
    assert set(told) == {cases.FARRUKH, cases.OLGA, cases.ZARINA, cases.OTHER_PG}
    vos03 = rounds[ids["pg"]].id
    assert told[cases.FARRUKH].text.startswith(templates_sms.text(
        "orders.round_closed.member", "en", round=vos03, pg="VOS03", total="")[:-5])
    assert "ONJ1 x3" in told[cases.FARRUKH].text and "ONS1 x1" in told[cases.FARRUKH].text
    assert told[cases.OLGA].text.startswith(f"Сбор {vos03} группы VOS03 закрыт.") and "ONJ1 x2" in told[cases.OLGA].text
    assert "FCM1" not in told[cases.OLGA].text  # her cancelled line
    assert "FCM1 x10" in told[cases.ZARINA].text and "yopildi" in told[cases.ZARINA].text
    assert "ONJ1 x5" in told[cases.OTHER_PG].text and "VOS04" in told[cases.OTHER_PG].text
    assert order.close_due_rounds(session, last_minute + dt.timedelta(days=1)) == []

    # a late order opens the next round; it is not part of the export
    send(client, cases.FARRUKH, "ORDER ECR1 2", 7)

    # the cluster's bulk purchase order
    out = tmp_path / "vose.csv"
    result = runner.invoke(args=["orders", "export", "--cluster", "onion.vose", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    items = [(r["supplier_code"], r["item_code"], r["packs"], r["quantity"], r["unit"], r["group_price_tjs"],
              r["total_tjs"], r["saving_tjs"], r["farmers"]) for r in rows if r["row"] == "item"]
    assert items == [
        ("CBOVOSE", "FCM1", "10", "500", "kg", "25.00", "250.00", "50.00", "1"),
        ("CBOVOSE", "ONJ1", "11", "5.5", "kg", "260.00", "2860.00", "440.00", "4"),
        ("CBOVOSE", "ONS1", "1", "0.5", "kg", "300.00", "300.00", "50.00", "1"),
    ]
    onj1_pgs = [(r["pg_code"], r["packs"], r["total_tjs"], r["orders"]) for r in rows
                if r["row"] == "pg" and r["item_code"] == "ONJ1"]
    assert onj1_pgs == [("VOS03", "6", "1560.00", "3"), ("VOS04", "5", "1300.00", "1")]
    total = rows[-1]
    assert (total["row"], total["orders"], total["packs"], total["total_tjs"], total["saving_tjs"]) == \
        ("total", "6", "22", "3410.00", "540.00")
    assert all(r["supplier_phone"] == "+992900000103" for r in rows[:-1])

    # status changes reach every ordering farmer once, in their language
    before = len(outbox(session))
    result = runner.invoke(args=["orders", "status", "ready", "--cluster", "onion.vose", "--place", "Guliston CBO",
                                 "--date", "2026-03-12"])
    assert result.exit_code == 0, result.output
    assert "6 of 6 order line(s) now ready; 4 farmer(s) told" in result.output
    told = {(n.phone, n.language): n.text for n in outbox(session)[before:]}
    assert told == {
        (cases.FARRUKH, "en"): "Order 1, 2 is ready for pickup: Guliston CBO, 12.03.",
        (cases.OLGA, "ru"): "Заказ 3 готов: Guliston CBO, 12.03.",
        (cases.ZARINA, "uz"): "Buyurtma 4, 5 tayyor: Guliston CBO, 12.03.",
        (cases.OTHER_PG, "tg"): "Фармоиши 6 тайёр: Guliston CBO, 12.03.",
    }
    before = len(outbox(session))
    result = runner.invoke(args=["orders", "status", "confirmed", "--cluster", "onion.vose"])
    assert "0 of 6 order line(s) now confirmed; 0 farmer(s) told" in result.output  # never backwards
    result = runner.invoke(args=["orders", "status", "delivered", "--round", str(rounds[ids["pg"]].id)])
    assert "5 of 5 order line(s) now delivered; 3 farmer(s) told" in result.output
    assert len(outbox(session)) == before + 3
    # the export's default (lines not yet sent to a supplier) is now empty; --since finds them again
    result = runner.invoke(args=["orders", "export", "--cluster", "onion.vose", "--out", "-"])
    assert result.output.splitlines()[-1].startswith("total,onion.vose") and "0 supplier x item" in result.output

    # savings: recorded per line, summed per farmer, PG and cluster
    session.expire_all()
    for o in session.scalars(select(InputOrder).where(InputOrder.status != "cancelled")):
        assert o.saving_diram == (o.unit_retail_diram - o.unit_group_diram) * o.packs
    per_pg = {s.key: s.saving_diram for s in order.savings(session, "pg")}
    assert per_pg == {"VOS03": 35000, "VOS04": 20000}  # ECR1 x2 of the late round counts too
    per_cluster = order.savings(session, "cluster")
    assert [(s.key, s.saving_diram, s.group_diram, s.retail_diram) for s in per_cluster] == \
        [("onion.vose", 55000, 345000, 400000)]
    per_farmer = {s.key: s.saving_diram for s in order.savings(session, "farmer")}
    assert per_farmer[str(ids["olga"])] == 8000 and per_farmer[str(ids["farrukh"])] == 12000 + 5000 + 1000
    result = runner.invoke(args=["orders", "savings", "--by", "pg"])
    assert "VOS03,Guliston onion growers,6,2500.00,2150.00,350.00" in result.output


def test_daily_totals_at_most_once_a_day_and_only_after_changes(client, session):
    cases.build_world(session)
    send(client, cases.FARRUKH, "ORDER ONJ1 2", 1)
    now = utcnow()

    def daily(at_time):
        sent = order.send_daily_totals(session, at_time)
        session.commit()
        return sent

    assert daily(now) == 1
    assert daily(now + dt.timedelta(hours=1)) == 0   # same day
    assert daily(now + dt.timedelta(days=1)) == 0    # nothing changed
    send(client, cases.OLGA, "ORDER ONJ1 1", 2)
    assert daily(now + dt.timedelta(days=1)) == 1
    notices = [r for r in outbox(session) if r.kind == "notice"]
    assert [r.phone for r in notices] == [cases.CHAIR, cases.CHAIR]
    assert "2 нафар, 2 фармоиш, 780,00 сомонӣ. ONJ1 x3" in notices[-1].text


def test_prices_edited_later_do_not_change_recorded_orders(client, session, runner):
    ids = cases.build_world(session)
    send(client, cases.FARRUKH, "ORDER ONJ1 2", 1)
    result = runner.invoke(args=["orders", "item-set", "onj1", "--retail", "310", "--group", "250.50"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    item = by_code(session, "ONJ1")
    assert (item.retail_diram, item.group_diram, item.price_source.startswith("staff")) == (31000, 25050, True)
    placed = session.scalar(select(InputOrder))
    assert (placed.unit_group_diram, placed.total_diram, placed.saving_diram) == (26000, 52000, 8000)
    assert runner.invoke(args=["orders", "item-set", "ONJ1", "--group", "400"]).exit_code != 0  # above retail
    assert runner.invoke(args=["orders", "item-set", "ONJ1", "--inactive"]).exit_code == 0
    send(client, cases.FARRUKH, "ORDER ONJ1 2", 2)
    assert outbox(session)[-1].text == templates_sms.text("orders.err.item_inactive", "en", code="ONJ1")
    assert len(lines(session, ids)) == 1


def test_catalogue_load_is_idempotent_and_keeps_edits(app, session):
    from service import init_db
    item = by_code(session, "FCM1")
    item.group_diram = 2222
    session.commit()
    init_db(app)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(InputItem)) == 16
    assert by_code(session, "FCM1").group_diram == 2222


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "1,5", "abc", "1000", "", "²", "1e2"])
def test_bad_pack_counts(text):
    with pytest.raises(Exception) as exc:
        parse_packs(text)
    assert getattr(exc.value, "key", None) == "orders.err.qty"


def test_order_texts_fit_their_budgets():
    long = {"order": "123456", "orders": "123456, 123457, 123458", "code": "ONJ1", "packs": 999,
            "total": "259740,00", "saving": "39960,00", "date": "31.12", "pg": "VOSECC01", "round": "12345",
            "farmers": 120, "place": "Маркази Гулистон, анбор", "max": 999, "n": "1000", "price": "350,00",
            "retail": "350,00", "state": "супорида шуд", "ussd": "*384*7#", "pack": "1000 кг",
            "codes": cases.CODES_ONION, "crop": "Помидор", "qty": "999000 кг", "days": 60}
    code_lists = ("orders.err.item_unknown", "orders.err.crop_codes")  # SMS replies listing item codes
    for key in (k for k in templates_sms.catalogue() if k.startswith("orders.")):
        for lang in LANGS:
            text = templates_sms.text(key, lang, **long)
            assert measure(text).segments <= 2, (key, lang)
            if key.startswith(("orders.status.", "orders.err.", "orders.cancel.")) and \
                    key not in (*code_lists, "orders.status.ready"):  # a code list; staff's place
                assert measure(text).segments == 1, (key, lang, text)
            if key.startswith("orders.err.") and key not in code_lists:
                assert fits_ussd("END " + text), (key, lang, text)
