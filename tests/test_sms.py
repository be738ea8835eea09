"""``POST /sms/inbound``: the tables of ``tests/cases/sms.py`` plus the failure path and the quiet period."""
from __future__ import annotations

import contextlib
import datetime as dt
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text, update

import templates_sms
from handlers.common import clean
from service.farmers import models as farmers
from service.groups import membership
from service.db import utcnow
from service.farmers.models import Farmer
from service.reference.geography import Village
from service.prices.market import Market, MarketPrice, set_price
from service.groups.membership import Membership
from service.messaging.message import InboundMessage, OutboundMessage
from service.messaging.optout import Suppression
from service.messaging.language import PhoneLanguage
from service.groups.producer_group import ProducerGroup
from service.ussd.session import FormDraft
import farmer_text
from conftest import add_staff
from cases.sms import CASES, FARRUKH, HOUSEHOLD, NEW, RUSTAM, STAFF, TOKEN, ZARINA, Case, Out, Post, at

TZ = ZoneInfo("Asia/Dushanbe")


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN}


def _village(session, en_name: str, district: str) -> Village:
    return next(v for v in session.scalars(select(Village).where(Village.district_id == district))
                if v.names["en"] == en_name)


def build_world(session) -> dict[str, str]:
    """The world of ``cases.sms.WORLD``; returns the member code of each profile by label."""
    dahana = _village(session, "Dahana", "kulob")
    guliston = _village(session, "Guliston", "vose")
    kulob = _village(session, "Kulob", "kulob")
    vos03 = ProducerGroup(code="VOS03", name="Guliston onion growers", village_id=guliston.id, cluster_id="onion.vose")
    kul01 = ProducerGroup(code="KUL01", name="Kulob tomato growers", village_id=kulob.id, cluster_id="tomato.kulob")
    session.add_all([vos03, kul01])
    session.flush()

    def reg(phone, name, gender, lang, village):
        return farmers.register(session, phone=phone, name=name, gender=gender, village_id=village.id,
                                crop_ids=["onion"], land_m2=5000, language=lang)

    gulnora = reg(HOUSEHOLD, "Gulnora", "female", "tg", dahana)
    dilshod = reg(HOUSEHOLD, "Dilshod", "male", "ru", dahana)
    rustam = reg(RUSTAM, "Rustam", "male", "tg", guliston)
    zarina = reg(ZARINA, "Zarina", "female", "uz", guliston)
    farrukh = reg(FARRUKH, "Farrukh", "male", "en", guliston)
    membership.join(session, farrukh, vos03)            # no EC yet: active at once
    membership.assign_ec_seat(session, rustam, vos03, "chair")
    assert membership.join(session, zarina, vos03).status == "pending"

    today = utcnow().astimezone(TZ).date()
    markets = {m.code: m for m in session.scalars(select(Market))}
    set_price(session, "onion", markets["VOSE"], 130, today - dt.timedelta(days=1), "demo")
    set_price(session, "onion", markets["VOSE"], 140, today, "demo")
    set_price(session, "onion", markets["KULOB"], 135, today, "demo")
    add_staff(session, STAFF, commit=False)  # the administrator's staff account of STAFF
    session.commit()
    return {"gulnora": gulnora.code, "dilshod": dilshod.code, "rustam": rustam.code, "zarina": zarina.code,
            "farrukh": farrukh.code}


def ids_of(session, codes: dict) -> dict[str, int]:
    """``{label: farmer id}`` of the profiles whose member codes ``codes`` holds."""
    return {label: session.scalar(select(Farmer.id).where(Farmer.code == code)) for label, code in codes.items()}


def snapshot(session) -> dict[str, set]:
    """Every row the commands may change, as comparable tuples."""
    session.expire_all()
    return {
        "farmer": {(f.id, f.phone, f.name, f.gender, f.language, f.village_id, f.land_m2, f.is_main,
                    tuple(f.crop_ids)) for f in session.scalars(select(Farmer))},
        "membership": {(m.id, m.farmer_id, m.pg_id, m.role, m.status) for m in session.scalars(select(Membership))},
        "suppression": set(session.scalars(select(Suppression.phone))),
        "phone_language": {tuple(r) for r in session.execute(select(PhoneLanguage.phone, PhoneLanguage.language))},
        "price": {(p.crop_id, p.market_id, p.observed_on, p.price_diram, p.source)
                  for p in session.scalars(select(MarketPrice))},
    }


def confirm_code(session, phone: str | None) -> str | None:
    """The code of the newest confirmation a staff command holds for ``phone`` (``service.sms.confirm``)."""
    if not phone or "\x00" in phone:  # the %00 cases: no staff command there
        return None
    session.expire_all()
    row = session.scalars(select(FormDraft).where(FormDraft.phone == phone)
                          .order_by(FormDraft.updated_at.desc())).first()
    return row.data.get("code") if row else None


def post(client, p: Post, codes: dict):
    query = "" if p.key is None else "?" + urllib.parse.urlencode({"key": p.key})
    if p.form is not None:
        form = {k: v.format(**codes) if isinstance(v, str) else v for k, v in p.form.items()}
        body = urllib.parse.urlencode(form)
    else:
        body = p.raw
    return client.post("/sms/inbound" + query, data=body.encode(), content_type=p.content_type)


def fill(value, codes):
    return value.format(**codes) if isinstance(value, str) else value


def check_out(row: OutboundMessage, want: Out, codes: dict):
    assert row.phone == want.to
    assert row.kind == want.kind
    if want.lang:
        assert row.language == want.lang
    if want.key:
        params = {k: fill(v, codes) for k, v in want.params.items()}
        text = templates_sms.text(want.key, want.lang, **params)
        if want.then:
            text = f"{text} {templates_sms.text(want.then, want.lang)}"
        if want.named:
            text = templates_sms.text("push.for_names", want.lang, names=want.named, text=text)
        assert row.text == text
    for part in want.has:
        assert fill(part, codes) in row.text
    for part in want.lacks:
        assert part not in row.text
    if want.segments:
        assert row.segments == want.segments
    assert row.segments <= 2
    assert row.status == want.status
    if row.phone != STAFF:  # staff read market codes (SETPRICE); farmers read names
        farmer_text.check(row.text, row.language)


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_inbound(case: Case, client, session):
    codes = build_world(session)
    ids = ids_of(session, codes)
    before = snapshot(session)
    for p in case.posts:
        codes["code"] = confirm_code(session, p.form.get("from") if p.form else None) or codes.get("code", "none")
        resp = post(client, p, codes)
        assert resp.status_code == p.status, resp.get_data(as_text=True)
        if p.answer is not None:
            assert resp.get_data(as_text=True) == p.answer
    last = case.posts[-1].form
    codes["code"] = confirm_code(session, last.get("from") if last else None) or codes["code"]
    after = snapshot(session)

    changed = set()
    if case.new_farmer:
        added = [f for f in session.scalars(select(Farmer).order_by(Farmer.id)) if f.id not in ids.values()]
        assert len(added) == 1
        new = added[0]
        codes["new"], ids["new"] = new.code, new.id
        want = dict(case.new_farmer)
        village, district = want.pop("village", None), want.pop("district", None)
        crops = want.pop("crops", None)
        for name, value in want.items():
            assert getattr(new, name) == value, name
        if village:
            assert session.get(Village, new.village_id).names["en"] == village
        if district:
            assert new.village_id and session.get(Village, new.village_id).district_id == district
        if crops is not None:
            assert new.crop_ids == crops
        changed.add("farmer")
    for label in case.erased:
        gone = session.get(Farmer, ids[label])
        assert gone.erased_at is not None and gone.name == "" and gone.phone == ""
        changed.add("farmer")
    for label, lang in case.languages.items():
        assert session.get(Farmer, ids[label]).language == lang
        changed.add("farmer")
    for label, want in case.memberships.items():
        m = membership.current(session, session.get(Farmer, ids[label]))
        got = None if m is None else (session.get(ProducerGroup, m.pg_id).code, m.status)
        assert got == want, label
        changed.add("membership")
    if case.suppressed is not None:
        assert after["suppression"] == set(case.suppressed)
        changed.add("suppression")
    if case.picked is not None:
        assert after["phone_language"] == set(case.picked.items())
        changed.add("phone_language")
    today = utcnow().astimezone(TZ).date()
    for (crop, code), (diram, source) in case.prices.items():
        market = session.scalar(select(Market).where(Market.code == code))
        row = session.scalar(select(MarketPrice).where(MarketPrice.crop_id == crop, MarketPrice.market_id == market.id,
                                                       MarketPrice.observed_on == today))
        assert (row.price_diram, row.source) == (diram, source)
        changed.add("price")
    for table in before:
        if table not in changed:
            assert after[table] == before[table], f"{table} changed"

    outbox = list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
    assert len(outbox) == len(case.out), [o.text for o in outbox]
    for row, want in zip(outbox, case.out):
        check_out(row, want, codes)

    inbound = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
    posted = [clean(p.form.get("id")) if p.form else urllib.parse.parse_qs(p.raw).get("id", [None])[0]
              for p in case.posts if p.status == 200 and p.answer != "ignored"]
    assert [m.gateway_id for m in inbound] == list(dict.fromkeys(posted))
    assert len(case.inbound) in (0, len(inbound))
    for row, want in zip(inbound, case.inbound):
        for name, value in want.items():
            if name == "farmer":
                assert row.farmer_id == (ids[value] if value else None)
            elif name == "sent_at" and value == "now":
                assert abs(row.sent_at - row.received_at) < dt.timedelta(seconds=5)
            elif name == "sent_at":
                assert row.sent_at.isoformat() == value
            else:
                assert getattr(row, name) == value, name
    for row in outbox:
        if row.kind in ("reply", "stop_confirm"):
            assert row.in_reply_to in {m.id for m in inbound}


@contextlib.contextmanager
def table_away(app, session, table: str):
    """``table`` unreachable (renamed), as when the database fails half-way; restored afterwards."""
    session.commit()
    engine = app.extensions["dehqon.engine"]
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        session.rollback()
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))


def answer(client, msg_id, phone, body, codes):
    resp = post(client, Post(at(msg_id, phone, body)), codes)
    return resp.status_code, resp.get_data(as_text=True)


def test_failure_keeps_the_message_and_apologises(app, client, session):
    codes = build_world(session)
    with table_away(app, session, "market_price"):
        assert answer(client, "boom", HOUSEHOLD, "PRICE onion", codes) == (200, "error")
        assert answer(client, "boom", HOUSEHOLD, "PRICE onion", codes) == (200, "duplicate")
    session.expire_all()
    row = session.scalar(select(InboundMessage).where(InboundMessage.gateway_id == "boom"))
    assert (row.status, row.text, row.farmer_id) == ("error", "PRICE onion", None)
    assert "market_price" in row.error
    assert [(r.phone, r.text, r.in_reply_to) for r in session.scalars(select(OutboundMessage))] == [
        (HOUSEHOLD, templates_sms.text("err.generic", "tg"), row.id)]


def test_failure_after_a_write_undoes_it(app, client, session):
    """LEAVE ends the membership, then fails reading the PG: the membership stays active."""
    codes = build_world(session)
    before = snapshot(session)
    with table_away(app, session, "producer_group"):
        assert answer(client, "x1", FARRUKH, "LEAVE", codes) == (200, "error")
    after = snapshot(session)
    assert after["membership"] == before["membership"]
    assert session.scalar(select(InboundMessage.status).where(InboundMessage.gateway_id == "x1")) == "error"
    assert [r.text for r in session.scalars(select(OutboundMessage))] == [templates_sms.text("err.generic", "en")]


def test_unstorable_message_is_left_for_the_retry(app, client, session):
    """When not even the error record can be written, nothing is stored and AT is asked to retry."""
    codes = build_world(session)
    with table_away(app, session, "outbound_message"):
        assert answer(client, "r1", HOUSEHOLD, "STOP", codes) == (503, "unavailable")
    session.expire_all()
    assert session.scalar(select(InboundMessage.id)) is None
    assert session.get(Suppression, HOUSEHOLD) is None
    assert answer(client, "r1", HOUSEHOLD, "STOP", codes) == (200, "processed")
    session.expire_all()
    assert session.get(Suppression, HOUSEHOLD) is not None


def test_same_id_at_once_is_carried_out_once(app, session):
    """Concurrent deliveries of one AT id: one is processed, the others are duplicates."""
    codes = build_world(session)

    def deliver(_):
        return post(app.test_client(), Post(at("race", HOUSEHOLD, "{dilshod} JOIN KUL01")), codes).get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = sorted(pool.map(deliver, range(6)))
    assert answers == ["duplicate"] * 5 + ["processed"]
    session.expire_all()
    assert len(list(session.scalars(select(InboundMessage)))) == 1
    assert len(list(session.scalars(select(OutboundMessage)))) == 1
    assert membership.current(session, farmers.by_code(session, codes["dilshod"])).status == "active"


def test_help_again_after_the_quiet_period(client, session):
    codes = build_world(session)
    post(client, Post(at("q1", NEW, "Salom")), codes)
    session.execute(update(OutboundMessage).values(created_at=utcnow() - dt.timedelta(minutes=11)))
    session.commit()
    post(client, Post(at("q2", NEW, "Salom")), codes)
    post(client, Post(at("q3", NEW, "Salom")), codes)
    session.expire_all()
    ids = {g: session.scalar(select(InboundMessage.id).where(InboundMessage.gateway_id == g)) for g in ("q1", "q2")}
    replies = [r.in_reply_to for r in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]
    assert replies == [ids["q1"], ids["q2"]]


@pytest.mark.parametrize("hours, told_again", [(23, False), (25, True)])
def test_stopped_answer_at_most_once_a_day(client, session, hours, told_again):
    """A stopped phone asking again a day after its last "messages are stopped" answer is told
    again; within the day it is not (the clock moved by ageing the rows)."""
    codes = build_world(session)
    post(client, Post(at("s1", FARRUKH, "STOP")), codes)
    post(client, Post(at("s2", FARRUKH, "PRICE onion")), codes)
    earlier = utcnow() - dt.timedelta(hours=hours)
    session.execute(update(OutboundMessage).values(created_at=earlier))
    session.execute(update(Suppression).values(created_at=earlier - dt.timedelta(seconds=1)))
    session.commit()
    post(client, Post(at("s3", FARRUKH, "PRICE onion")), codes)
    session.expire_all()
    stopped = templates_sms.text("sms.stopped", "en")
    texts = [r.text for r in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]
    assert texts.count(stopped) == (2 if told_again else 1), texts
    assert texts[-1] == stopped if told_again else texts[-1] != stopped


def test_help_pointer_again_after_the_quiet_period(client, session):
    """After the quiet period the guard starts afresh: the help, then the short pointer."""
    codes = build_world(session)
    post(client, Post(at("q1", NEW, "Салом")), codes)
    post(client, Post(at("q2", NEW, "Хуб")), codes)
    session.execute(update(OutboundMessage).values(created_at=utcnow() - dt.timedelta(minutes=11)))
    session.commit()
    for msg_id, body in (("q3", "Салом"), ("q4", "Хуб"), ("q5", "Ҳа")):
        post(client, Post(at(msg_id, NEW, body)), codes)
    session.expire_all()
    keys = {templates_sms.text(k, "tg"): k for k in ("sms.help.new", "sms.help.again")}
    texts = [keys.get(r.text, r.text) for r in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]
    assert texts == ["sms.help.new", "sms.help.again", "sms.help.new", "sms.help.again"]


def test_no_help_while_the_pointer_is_recent(client, session):
    """The help aged out of the quiet period but the short pointer not: still nothing."""
    codes = build_world(session)
    post(client, Post(at("q1", NEW, "Салом")), codes)
    session.execute(update(OutboundMessage).values(created_at=utcnow() - dt.timedelta(minutes=11)))
    session.commit()
    post(client, Post(at("q2", NEW, "Хуб")), codes)  # the help again: the first answer aged out
    post(client, Post(at("q3", NEW, "Ҳа")), codes)     # the pointer
    _, second, _ = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    session.execute(update(OutboundMessage).where(OutboundMessage.id == second.id)
                    .values(created_at=utcnow() - dt.timedelta(minutes=11)))
    session.commit()
    post(client, Post(at("q4", NEW, "Мо")), codes)
    session.expire_all()
    texts = [r.text for r in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]
    assert texts == [templates_sms.text(k, "tg") for k in ("sms.help.new", "sms.help.new", "sms.help.again")]


def test_setprice_code_expires_after_half_an_hour(client, session):
    """An unusual price's code is good for 30 minutes (``service.sms.confirm.CONFIRM_WITHIN``)."""
    codes = build_world(session)
    post(client, Post(at("p1", STAFF, "SETPRICE onion VOSE 17")), codes)
    code = confirm_code(session, STAFF)
    session.execute(update(FormDraft).values(updated_at=utcnow() - dt.timedelta(minutes=31)))
    session.commit()
    post(client, Post(at("p2", STAFF, f"SETPRICE OK {code}")), codes)
    session.expire_all()
    last = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc())).first()
    assert last.text == templates_sms.text("sms.setprice.code_unknown", "tg", code=code)
    vose = session.scalar(select(Market.id).where(Market.code == "VOSE"))
    assert session.scalar(select(MarketPrice.price_diram).where(
        MarketPrice.market_id == vose, MarketPrice.crop_id == "onion",
        MarketPrice.observed_on == utcnow().astimezone(TZ).date())) == 140
