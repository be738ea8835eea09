"""Staff SMS commands act for the sender's staff account, within its role and scope.

One table of labelled cases (``CASES``), each run over ``POST /sms/inbound`` on the world of
``test_sms.build_world`` (farmers in Guliston, Vose' district: Rustam, chair of VOS03, Zarina
pending, Farrukh member; a household phone in Dahana, Kulob district) plus the staff accounts of
:data:`ACCOUNTS`. A case names the sender, the messages (``{code}``: the confirmation code the
sender holds), the reply expected to the last one (key and parameters, rendered exactly in the
reply language) and the effect: the farmers an alert reaches once queued, a price stored, an
offer's farmers told, and the audit entry written (or none at all for a refusal).
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import templates_sms
from cases.sms import FARRUKH, HOUSEHOLD, TOKEN, Post, at
from conftest import add_staff
from service.audit.log import AuditEntry
from service.broadcasts import broadcast
from service.broadcasts.broadcast import Broadcast
from service.db import utcnow
from service.messaging.message import OutboundMessage
from service.prices.market import Market, MarketPrice
from service.reference.geography import Village
from service.reference.render import tjs as money
from service.sales.joint_sale import BuyerOffer
from service.staff import commands as staff_commands
from test_sms import build_world, confirm_code, post

TZ = ZoneInfo("Asia/Dushanbe")

VOSE_OFFICER = "+992900000301"   # extension officer of Vose', Russian
KULOB_OFFICER = "+992900000302"  # extension officer of Kulob, Tajik
REPORTER = "+992900000303"       # market reporter of KULOB, Uzbek
DISABLED = "+992900000304"       # extension officer of Vose', switched off
COORDINATOR = "+992900000305"    # cluster coordinator of onion.vose, English
VAM = "+992900000306"            # VAM agent of Guliston (Vose'), Tajik
PG_LEADER = "+992900000307"      # PG leader of VOS03, Tajik
ADMIN = "+992900000001"          # administrator (test_sms.build_world), Tajik
UNKNOWN = "+992900000399"        # no staff account

#: phone: (role, scope refs, language, active); "guliston" stands for the village's id
ACCOUNTS = {
    VOSE_OFFICER: ("extension_officer", ["vose"], "ru", True),
    KULOB_OFFICER: ("extension_officer", ["kulob"], "tg", True),
    REPORTER: ("market_reporter", ["KULOB"], "uz", True),
    DISABLED: ("extension_officer", ["vose"], "ru", False),
    COORDINATOR: ("cluster_coordinator", ["onion.vose"], "en", True),
    VAM: ("vam_agent", ["guliston"], "tg", True),
    PG_LEADER: ("pg_leader", ["VOS03"], "tg", True),
}


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN, "SMS_PRICE_TJS": 0.10}


@dataclass
class Case:
    """``texts`` from ``sender`` in order (``setup``: ``(phone, text)`` posted first); the last
    reply is ``key`` with ``params`` in ``lang``; effects: ``alert_to`` farmers reached (None: no
    alert stored), ``price`` ``(crop, market, diram)`` stored today (``unchanged``: every price as
    before), ``offer_told`` farmers told of an offer, ``audit`` the action written (None: no entry)."""

    label: str
    sender: str
    texts: tuple[str, ...]
    key: str
    lang: str
    params: dict = field(default_factory=dict)
    setup: tuple[tuple[str, str], ...] = ()
    alert_to: int | None = None
    price: tuple[str, str, int] | None = None
    offer_told: int | None = None
    audit: str | None = None


def sent(count: int, lang: str) -> dict:
    """The ``push.alert_sent`` parameters of an alert of one segment per farmer at 0.10 TJS."""
    return {"count": count, "segments": count, "cost": money(10 * count, lang)}


def saved(crop: str, market: str, price: str, seen: str, lang: str) -> dict:
    """The ``sms.setprice.done`` parameters but the date (the stored row's day, filled in by the test)."""
    return {"crop": crop, "market": market, "price": price, "seen": seen}


ALERT_VOSE = ("ALERT vose Hail tonight", "ALERT OK {code}")
CASES = [
    # ---- ALERT: the target must be in the account's scope
    Case("extension officer of Vose' ALERTs Vose': sent to its 3 farmers, audit entry", VOSE_OFFICER, ALERT_VOSE,
         "push.alert_sent", "ru", sent(3, "ru"), alert_to=3, audit="alert.send"),
    Case("the same officer ALERTs Kulob: refused, nothing queued", VOSE_OFFICER, ("ALERT Kulob Hail tonight",),
         "sms.staff.out_of_scope", "ru", {"place": "Kulob"}),
    Case("the same officer ALERTs the Kulob tomato cluster: refused", VOSE_OFFICER, ("ALERT tomato.kulob Hail",),
         "sms.staff.out_of_scope", "ru", {"place": "tomato.kulob"}),
    Case("the same officer ALERTs a PG of Vose' (VOS03): its 2 active members", VOSE_OFFICER,
         ("ALERT VOS03 Hail tonight", "ALERT OK {code}"), "push.alert_sent", "ru", sent(2, "ru"), alert_to=2,
         audit="alert.send"),
    Case("Kulob's officer cannot ALERT Vose' even with a code held by none", KULOB_OFFICER, ("ALERT vose Hail",),
         "sms.staff.out_of_scope", "tg", {"place": "vose"}),
    Case("cluster coordinator ALERTs their cluster: its active members", COORDINATOR,
         ("ALERT onion.vose Thrips seen", "ALERT OK {code}"), "push.alert_sent", "en", sent(2, "en"), alert_to=2,
         audit="alert.send"),
    Case("cluster coordinator ALERTs the whole district: refused", COORDINATOR, ("ALERT vose Thrips seen",),
         "sms.staff.out_of_scope", "en", {"place": "vose"}),
    Case("VAM agent ALERTs a PG of their village", VAM, ("ALERT VOS03 Hail", "ALERT OK {code}"),
         "push.alert_sent", "tg", sent(2, "tg"), alert_to=2, audit="alert.send"),
    Case("VAM agent ALERTs the district: refused", VAM, ("ALERT vose Hail",), "sms.staff.out_of_scope", "tg",
         {"place": "vose"}),
    Case("administrator ALERTs any district", ADMIN, ("ALERT kulob Hail", "ALERT OK {code}"), "push.alert_sent",
         "tg", sent(1, "tg"), alert_to=1, audit="alert.send"),  # the household phone: one SMS
    Case("a PG leader's role may not ALERT", PG_LEADER, ("ALERT VOS03 Hail",), "sms.staff.not_allowed", "tg"),
    Case("a market reporter's role may not ALERT", REPORTER, ("ALERT vose Hail",), "sms.staff.not_allowed", "uz"),
    Case("unknown phone refused as before", UNKNOWN, ("ALERT vose Hail",), "push.not_staff", "tg"),
    Case("a switched-off account is refused as an unknown phone", DISABLED, ("ALERT vose Hail",), "push.not_staff",
         "tg"),
    Case("a switched-off account's ALERT OK is refused too", DISABLED, ("ALERT OK 1234",), "push.not_staff", "tg"),
    # ---- SETPRICE: the market must be in the account's scope
    Case("market reporter SETPRICE at their market: stored, audit entry", REPORTER, ("SETPRICE onion KULOB 1.40",),
         "sms.setprice.done", "uz", saved("Piyoz", "KULOB", "1.40", "Ko'lob 1.40", "uz"),
         price=("onion", "KULOB", 140), audit="price.set"),
    Case("market reporter SETPRICE at another market: refused, nothing stored", REPORTER,
         ("SETPRICE onion VOSE 1.45",), "sms.staff.out_of_scope", "uz", {"place": "VOSE"}),
    Case("market reporter with the Russian keyword is answered in Russian", REPORTER,
         ("НОВАЯ ЦЕНА лук VOSE 1,45",), "sms.staff.out_of_scope", "ru", {"place": "VOSE"}),
    Case("an unusual price out of scope gets no code", REPORTER, ("SETPRICE onion VOSE 17",),
         "sms.staff.out_of_scope", "uz", {"place": "VOSE"}),
    Case("extension officer of Vose' SETPRICE at VOSE: stored in their language", VOSE_OFFICER,
         ("SETPRICE onion VOSE 1.45",), "sms.setprice.done", "ru", saved("Лук", "VOSE", "1,45", "Восе 1,45 +0,15", "ru"),
         price=("onion", "VOSE", 145), audit="price.set"),
    Case("extension officer of Vose' SETPRICE at KULOB: refused", VOSE_OFFICER, ("SETPRICE onion KULOB 1.45",),
         "sms.staff.out_of_scope", "ru", {"place": "KULOB"}),
    Case("an unusual price confirmed with SETPRICE OK: stored, audit entry", VOSE_OFFICER,
         ("SETPRICE onion VOSE 17", "SETPRICE OK {code}"), "sms.setprice.done", "ru",
         saved("Лук", "VOSE", "17,00", "Восе 17,00 +15,70", "ru"), price=("onion", "VOSE", 1700), audit="price.set"),
    Case("a VAM agent's role may not SETPRICE", VAM, ("SETPRICE onion VOSE 1.45",), "sms.staff.not_allowed", "tg"),
    Case("unknown phone SETPRICE refused as before", UNKNOWN, ("SETPRICE onion VOSE 1.45",),
         "sms.setprice.not_staff", "tg"),
    Case("a switched-off account SETPRICE refused", DISABLED, ("SETPRICE onion VOSE 1.45",),
         "sms.setprice.not_staff", "tg"),
    # ---- OFFER: the pledging farmers of the scope
    Case("Vose' officer's OFFER reaches the pledging farmer of Vose'", VOSE_OFFICER, ("OFFER onion 1.50 Buyer Dushanbe",),
         "sales.offer.done", "ru", {"crop": "Лук", "farmers": 1}, setup=((FARRUKH, "SELL onion 500"),),
         offer_told=1, audit="offer.make"),
    Case("Kulob officer's OFFER tells no farmer of Vose'", KULOB_OFFICER, ("OFFER onion 1.50 Buyer Dushanbe",),
         "sales.offer.done", "tg", {"crop": "Пиёз", "farmers": 0}, setup=((FARRUKH, "SELL onion 500"),),
         offer_told=0, audit="offer.make"),
    Case("a market reporter's role may not OFFER", REPORTER, ("OFFER onion 1.50 Buyer",), "sms.staff.not_allowed",
         "uz"),
    # ---- ANSWER: the question's farmer must be in the scope
    Case("Vose' officer ANSWERs a question of a Vose' farmer", VOSE_OFFICER, ("ANSWER 1 Spray in the evening",),
         "advice.answer.done", "ru", {"id": 1}, setup=((FARRUKH, "ASK thrips on my onion"),),
         audit="question.answer"),
    Case("Kulob officer's ANSWER to a Vose' farmer: unknown question", KULOB_OFFICER, ("ANSWER 1 Spray",),
         "advice.answer.unknown", "tg", {"id": 1}, setup=((FARRUKH, "ASK thrips on my onion"),)),
    Case("a coordinator's role may not ANSWER", COORDINATOR, ("ANSWER 1 Spray",), "sms.staff.not_allowed", "en",
         setup=((FARRUKH, "ASK thrips on my onion"),)),
    Case("unknown phone ANSWER refused as before", UNKNOWN, ("ANSWER 1 Spray",), "advice.answer.not_responder", "tg",
         setup=((FARRUKH, "ASK thrips on my onion"),)),
]


def _accounts(session) -> dict[str, int]:
    guliston = next(v.id for v in session.scalars(select(Village).where(Village.district_id == "vose"))
                    if v.names["en"] == "Guliston")
    ids = {}
    for phone, (role, refs, lang, active) in ACCOUNTS.items():
        refs = [str(guliston) if r == "guliston" else r for r in refs]
        ids[phone] = add_staff(session, phone, role, refs, language=lang, active=active).id
    ids[ADMIN] = staff_commands.staff_for(session, ADMIN).id
    return ids


def _prices(session) -> set:
    session.expire_all()
    return {(p.crop_id, p.market_id, p.observed_on, p.price_diram) for p in session.scalars(select(MarketPrice))}


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_staff_command(case: Case, client, session):
    codes = build_world(session)
    ids = _accounts(session)
    for n, (phone, text) in enumerate(case.setup):
        post(client, Post(at(f"s{n}", phone, text)), codes)
    prices_before = _prices(session)
    mark = session.scalar(select(func.max(OutboundMessage.id))) or 0
    first_day = utcnow().astimezone(TZ).date()

    for n, text in enumerate(case.texts):
        filled = text.replace("{code}", confirm_code(session, case.sender) or "0000")
        post(client, Post(at(f"c{n}", case.sender, filled)), codes)

    session.expire_all()
    replies = session.scalars(select(OutboundMessage).where(
        OutboundMessage.phone == case.sender, OutboundMessage.id > mark).order_by(OutboundMessage.id)).all()
    assert len(replies) == len(case.texts)
    last = replies[-1]
    last_day = utcnow().astimezone(TZ).date()
    params = dict(case.params)
    if case.price is not None:  # the day the price was stored for (the local date when it was sent)
        crop, code, diram = case.price
        stored = session.scalars(select(MarketPrice).join(Market, Market.id == MarketPrice.market_id).where(
            MarketPrice.crop_id == crop, Market.code == code).order_by(MarketPrice.observed_on.desc())).first()
        assert stored.price_diram == diram and first_day <= stored.observed_on <= last_day
        params["date"] = stored.observed_on.strftime("%d.%m")
    assert last.language == case.lang
    assert last.text == templates_sms.text(case.key, case.lang, **params)

    alerts = session.scalars(select(Broadcast).where(Broadcast.kind == "alert")).all()
    if case.alert_to is None:
        assert alerts == []
    else:
        assert len(alerts) == 1 and alerts[0].created_by == case.sender
        broadcast.queue(session, alerts[0], utcnow())
        session.commit()
        assert session.scalar(select(func.count()).select_from(OutboundMessage)
                              .where(OutboundMessage.kind == "alert")) == case.alert_to

    prices = _prices(session)
    if case.price is None:
        assert prices == prices_before
    else:
        row = (stored.crop_id, stored.market_id, stored.observed_on, stored.price_diram)
        assert row in prices and prices - {row} <= prices_before

    offers = session.scalars(select(BuyerOffer)).all()
    assert [o.farmers_told for o in offers] == ([] if case.offer_told is None else [case.offer_told])

    entries = session.scalars(select(AuditEntry).where(AuditEntry.channel == "sms")).all()
    if case.audit is None:
        assert entries == []
    else:
        assert [(e.action, e.account_id, e.channel) for e in entries] == [(case.audit, ids.get(case.sender), "sms")]
        role = ACCOUNTS[case.sender][0] if case.sender in ACCOUNTS else "admin"
        assert entries[0].actor.endswith(f"({role})")


def test_staff_phones_lists_the_active_accounts(session):
    build_world(session)
    _accounts(session)
    phones = staff_commands.phones(session)
    assert DISABLED not in phones and UNKNOWN not in phones
    assert {VOSE_OFFICER, REPORTER, ADMIN} <= set(phones) and phones == sorted(phones)
    assert staff_commands.staff_for(session, DISABLED) is None
    assert staff_commands.staff_for(session, REPORTER).role == "market_reporter"


def test_an_account_losing_its_scope_cannot_confirm_an_alert_it_previewed(client, session):
    codes = build_world(session)
    _accounts(session)
    post(client, Post(at("p1", VOSE_OFFICER, "ALERT vose Hail")), codes)
    code = confirm_code(session, VOSE_OFFICER)
    account = staff_commands.staff_for(session, VOSE_OFFICER)
    from service.staff import accounts
    accounts.update(session, account, scope=["kulob"])
    session.commit()
    post(client, Post(at("p2", VOSE_OFFICER, f"ALERT OK {code}")), codes)
    session.expire_all()
    last = session.scalars(select(OutboundMessage).where(OutboundMessage.phone == VOSE_OFFICER)
                           .order_by(OutboundMessage.id.desc())).first()
    assert last.text == templates_sms.text("sms.staff.out_of_scope", "ru", place="vose")
    assert session.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_startup_warns_about_staff_phones_without_an_account(app, session, caplog):
    build_world(session)
    with caplog.at_level(logging.WARNING, logger="dehqon.staff"):
        missing = staff_commands.warn_unlisted(session, [ADMIN, "+992900000388"])
    assert missing == ["+992900000388"]
    messages = [r.getMessage() for r in caplog.records if r.name == "dehqon.staff"]
    assert len(messages) == 1 and "***388" in messages[0] and "+992900000388" not in messages[0]


def test_create_app_warns_about_staff_phones(database_url, caplog, tmp_path):
    from service import create_app

    with caplog.at_level(logging.WARNING, logger="dehqon.staff"):
        app = create_app({"DATABASE_URL": database_url, "DATABASE_INIT": False, "SMS_GATEWAY": "local",
                          "SCHEDULER_EMBEDDED": False, "STAFF_PHONES": ["+992900000377"],
                          "STAFF_SESSION_DIR": str(tmp_path / "s")})
    app.extensions["dehqon.engine"].dispose()
    assert any("***377" in r.getMessage() for r in caplog.records if r.name == "dehqon.staff")
    assert not any("+992900000377" in r.getMessage() for r in caplog.records)


def test_import_phones_lists_what_each_phone_needs(app, session):
    from service.advice import responders

    build_world(session)
    _accounts(session)
    responders.add_extension(session, name="Old Staff Phone", phone="+992900000366", district_id="jomi", language="ru")
    session.commit()
    app.extensions["dehqon.settings"] = dataclasses.replace(
        app.extensions["dehqon.settings"], staff_phones=frozenset({ADMIN, DISABLED, "+992900000366", "+992900000355"}))
    result = app.test_cli_runner().invoke(args=["staff", "import-phones"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{ADMIN}\tok: account" in out
    assert f"{DISABLED}\tswitched off" in out
    assert ('--name "Old Staff Phone" --role extension_officer --scope jomi --phone +992900000366 --language ru'
            in out)
    assert "--role ROLE --scope AREA --phone +992900000355" in out
    assert "2 of 4 phones have no staff account" in out
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0  # it changes nothing

    turned = app.test_cli_runner().invoke(args=["staff", "enable", "--username", "sms-extension-officer-0304"])
    assert turned.exit_code == 0, turned.output
    session.expire_all()
    assert staff_commands.staff_for(session, DISABLED) is not None
    assert [e.action for e in session.scalars(select(AuditEntry))] == ["staff.update"]
