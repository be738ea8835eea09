"""``POST /sms/inbound`` with the push-side keywords: the tables of ``tests/cases/sms_push.py``,
dates, the ALERT code's expiry, and a field alert reaching farmers through the tick."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

import templates_sms
from cases.sms import FARRUKH, HOUSEHOLD, STAFF, TOKEN, Post, at
from cases.sms_push import CASES, Case
from scheduler.tick import tick
from service import session_factory
from service.broadcasts.broadcast import Broadcast, alert_versions
from service.broadcasts.sms import split_versions
from service.reminders.crop_cycle import CropCycle, Reminder
from service.db import utcnow
from service.messaging.encoding import measure
from service.errors import Refusal
from service.farmers.models import Farmer
from service.prices.market import Market
from service.messaging.message import OutboundMessage
from service.prices.alerts import PriceAlert, PriceSubscription
from service.reminders.sms import parse_day
from service.ussd.session import FormDraft
from test_sms import build_world, check_out, ids_of, post

TZ = ZoneInfo("Asia/Dushanbe")
PUSH_SMS_KEYS = sorted(k for k in templates_sms.catalogue() if k.startswith("push.") and ".ussd." not in k)


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN, "SMS_PRICE_TJS": 0.10}


def day_codes(today: dt.date) -> dict[str, str]:
    """The ``{today}``, ``{d3}``, ``{in4}`` ... placeholders of the cases (see its docstring)."""
    def short(day):
        return day.strftime("%d.%m") if day.year == today.year else day.strftime("%d.%m.%y")

    codes = {"today": short(today), "yesterday": short(today - dt.timedelta(days=1)),
             "tomorrow_full": (today + dt.timedelta(days=1)).strftime("%d.%m.%Y")}
    for n in range(1, 31):
        codes[f"d{n}"] = short(today - dt.timedelta(days=n))
        codes[f"in{n}"] = short(today + dt.timedelta(days=n))
    d3, d5 = today - dt.timedelta(days=3), today - dt.timedelta(days=5)
    codes.update(d3_full=d3.strftime("%d.%m.%Y"), d5_slash=f"{d5.day}/{d5.month}/{d5.year}", d5_iso=d5.isoformat())
    return codes


def _code(session, phone: str) -> str:
    session.expire_all()
    draft = session.scalar(select(FormDraft).where(FormDraft.phone == phone, FormDraft.kind == "alert"))
    return draft.data["code"] if draft else "none"


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_push_keyword(case: Case, client, session):
    codes = build_world(session)
    today = utcnow().astimezone(TZ).date()
    days = day_codes(today)
    codes.update(days)
    for n, (sender, text) in enumerate(case.posts):
        codes["code"] = _code(session, sender)
        resp = post(client, Post(at(f"m{n}", sender, text)), codes)
        assert resp.get_data(as_text=True) == "processed"
    codes["code"] = _code(session, STAFF)
    session.expire_all()

    outbox = list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
    assert len(outbox) == len(case.out), [o.text for o in outbox]
    for row, want in zip(outbox, case.out):
        check_out(row, want, codes)

    labels = {v: k for k, v in ids_of(session, {k: v for k, v in codes.items() if k in (
        "gulnora", "dilshod", "rustam", "zarina", "farrukh")}).items()}

    def as_day(value):
        return None if value is None else value.strftime("%d.%m") if value.year == today.year \
            else value.strftime("%d.%m.%y")

    cycles = {}
    for c in session.scalars(select(CropCycle)):
        pending = len(session.scalars(select(Reminder.id).where(Reminder.cycle_id == c.id,
                                                                Reminder.status == "pending")).all())
        cycles[(labels[c.farmer_id], c.crop_id)] = (as_day(c.sown_on), as_day(c.transplanted_on), pending)
    want = {k: tuple(v.format(**days) if isinstance(v, str) else v for v in t) for k, t in case.cycles.items()}
    assert cycles == want
    assert {labels[f] for f in session.scalars(select(PriceSubscription.farmer_id))} == case.subscribed
    markets = {m.id: m.code for m in session.scalars(select(Market))}
    assert {(labels[a.farmer_id], a.crop_id): (a.direction, a.threshold_diram, markets.get(a.market_id))
            for a in session.scalars(select(PriceAlert))} == case.alerts
    assert [(b.kind, b.status, b.audience, b.texts["en"]) for b in session.scalars(select(Broadcast))] == \
        case.broadcasts


@pytest.mark.parametrize("word, expected", [
    ("12.05", dt.date(2027, 5, 12)), ("12/5", dt.date(2027, 5, 12)), ("12-05", dt.date(2027, 5, 12)),
    ("1,5", dt.date(2027, 5, 1)), ("12.05.2026", dt.date(2026, 5, 12)), ("12.05.26", dt.date(2026, 5, 12)),
    ("2026-12-31", dt.date(2026, 12, 31)), ("СЕГОДНЯ", dt.date(2027, 5, 20)), ("дирӯз", dt.date(2027, 5, 19)),
    ("Kecha", dt.date(2027, 5, 19)), ("yesterday", dt.date(2027, 5, 19)),
    ("20.06", dt.date(2027, 6, 20)),       # ahead, but less than half a year: this year's (then refused)
    ("28.12", dt.date(2026, 12, 28)),      # more than half a year ahead: last year's
    ("onion", None), ("5", None), ("12.05.2027.1", None),
])
def test_parse_day(word, expected):
    assert parse_day(word, dt.date(2027, 5, 20)) == expected


@pytest.mark.parametrize("word", ["31.02", "12.13", "00.05", "29.02.2027"])
def test_parse_day_refuses_impossible_dates(word):
    with pytest.raises(Refusal) as err:
        parse_day(word, dt.date(2027, 5, 20))
    assert err.value.key == "push.planted_date"


@pytest.mark.parametrize("key", PUSH_SMS_KEYS)
def test_push_replies_fit_two_sms_and_latin_ones_are_gsm7(key):
    long = {"crop": "Помидор", "what": "шинондан", "date": "31.12.26", "next": "31.12.26",
            "target": "Помидор - Ҷомӣ, Помидор, занон",
            "count": 12345, "segments": 23456, "langs": "tg: tg; ru: ru; uz: uz; en: en",  # without counts when long
            "cost": "2345,60", "code": "1234", "threshold": "1000,00", "market": "Ҷалолиддини Балхӣ",
            "place": "RICE.BALKHI", "text": "x", "lines": "x", "price": "1,00",
            "names": "Ҷалолиддин, Гулнора +1"}
    latin = {"target": "Pomidor - Jomiy, Pomidor, ayollar"}  # places are named in the reply language
    for lang in ("tg", "ru", "uz", "en"):
        names = templates_sms.placeholders(templates_sms.catalogue()[key][lang]) - {"ussd"}
        values = {**long, **latin} if lang in ("uz", "en") else long
        text = templates_sms.text(key, lang, **{k: values[k] for k in names})
        m = measure(text)
        assert m.segments <= 2, (key, lang, m)
        if lang in ("uz", "en"):
            plain = templates_sms.text(key, lang, **{k: "x" for k in names})
            assert measure(plain).encoding == "GSM-7", (key, lang)


def test_alert_code_expires_after_half_an_hour(client, session):
    codes = build_world(session)
    post(client, Post(at("a1", STAFF, "ALERT vose Hail")), codes)
    session.execute(update(FormDraft).values(updated_at=utcnow() - dt.timedelta(minutes=31)))
    session.commit()
    post(client, Post(at("a2", STAFF, f"ALERT OK {_code(session, STAFF)}")), codes)
    session.expire_all()
    assert session.scalar(select(Broadcast.id)) is None
    last = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc())).first()
    assert last.text.startswith(templates_sms.text("push.alert_code_unknown", "tg", code="X")[:5])


def test_confirmed_alert_reaches_each_farmer_at_the_next_tick(app, client, session):
    """The next tick queues the confirmed alert to every farmer of the target, in their language."""
    codes = build_world(session)
    post(client, Post(at("a1", STAFF, "ALERT vose Hail tonight, cover seedlings")), codes)
    post(client, Post(at("a2", STAFF, f"ALERT OK {_code(session, STAFF)}")), codes)
    result = tick(session_factory(app), app.config, utcnow() + dt.timedelta(minutes=1))
    assert (result.broadcasts, result.broadcast_rows) == (1, 3)
    session.expire_all()
    alerts = {r.phone: (r.language, r.text) for r in session.scalars(select(OutboundMessage)
                                                                      .where(OutboundMessage.kind == "alert"))}
    farmers = {f.phone: f.language for f in session.scalars(select(Farmer)) if f.phone != HOUSEHOLD}
    vose = {"tg": "Восеъ", "ru": "Восе", "uz": "Vose", "en": "Vose'"}
    assert alerts == {phone: (lang, templates_sms.text("push.alert", lang, place=vose[lang],
                                                       text="Hail tonight, cover seedlings"))
                      for phone, lang in farmers.items()}
    assert FARRUKH in alerts


def test_alert_versions_reach_each_language_at_the_next_tick(app, client, session):
    """``ALERT vose women men: Hail tg: Жола``: Tajik speakers get the Tajik version, the others the
    text as typed, each inside their language's wrapper naming the place in their language."""
    codes = build_world(session)
    post(client, Post(at("a1", STAFF, "ALERT vose women men: Hail tonight tg: Имшаб жола")), codes)
    post(client, Post(at("a2", STAFF, f"ALERT OK {_code(session, STAFF)}")), codes)
    tick(session_factory(app), app.config, utcnow() + dt.timedelta(minutes=1))
    session.expire_all()
    alerts = {r.phone: r.text for r in session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "alert"))}
    assert alerts == {"+992901000002": "ОГОҲӢ Восеъ: Имшаб жола", "+992901000003": "DIQQAT Vose: Hail tonight",
                      FARRUKH: "ALERT Vose': Hail tonight"}
    assert session.scalar(select(Broadcast.audience)) == {"districts": ["vose"], "genders": ["female", "male"]}


@pytest.mark.parametrize("typed, expected", [
    ("Hail tonight", ("Hail tonight", {})),
    ("tg: Имшаб жола ru: Град", ("", {"tg": "Имшаб жола", "ru": "Град"})),
    ("Hail TG: Жола", ("Hail", {"tg": "Жола"})),
    ("Frozen: ground, open:en", ("Frozen: ground, open:en", {})),  # a marker needs a space before it
    ("en: Hail en: Frost", ("", {"en": "Frost"})),                  # a later marker wins
])
def test_split_versions(typed, expected):
    assert split_versions(typed) == expected


@pytest.mark.parametrize("text, versions, expected", [
    ("Hail", {}, {"tg": "", "ru": "", "uz": "", "en": ""}),
    ("Hail", {"tg": "Жола"}, {"tg": "tg", "ru": "", "uz": "", "en": ""}),
    ("", {"ru": "Град", "en": "Hail"}, {"tg": "ru", "ru": "ru", "uz": "ru", "en": "en"}),
    ("", {"en": "Hail", "tg": "Жола"}, {"tg": "tg", "ru": "tg", "uz": "tg", "en": "en"}),
    ("", {"tg": ""}, {}),
])
def test_alert_versions(text, versions, expected):
    assert alert_versions(text, versions) == expected
