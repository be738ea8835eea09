"""SMS keyword texts and parsing: budgets of every reply, the keyword table, the printed examples."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

import templates_sms
from service.sms import engine as sms_commands
from service.reference.crops import find_crop
from service.messaging.encoding import measure
from service.prices.market import Market, find_market, set_price
from handlers.sms import parse_at_date
from service import features
from service.farmers.sms import parse_registration
from service.prices.sms import price_list
from service.reference import words
from service.sms.engine import parse

LANGS = ("tg", "ru", "uz", "en")
SMS_KEYS = sorted(k for k in templates_sms.catalogue() if k.startswith("sms."))
REFUSAL_KEYS = sorted(k for k in templates_sms.catalogue() if k.startswith("err."))
HELP_TOPICS = sorted(k for k in SMS_KEYS if k.startswith("sms.help.topic."))
ONE_SMS = ("sms.help.new", "sms.help.farmer", "sms.help.again", "sms.stopped", *HELP_TOPICS, "sms.reg.usage", "sms.stop.done", "sms.start.done", "sms.join.usage", "sms.join.pending", "sms.join.done",
           "sms.join.already", "sms.lang.done", "sms.code_not_here", "sms.staff.not_allowed", "sms.staff.out_of_scope")

# Long but real values; a farmer's own words are cut to ECHO_MAX.
LONG = {
    "name": "Гулбаҳор Абдураҳмонова", "code": "12345678", "pg": "VOSECC01", "crop": "Помидор",
    "crops": "Пиёз, Шолӣ, Помидор", "market": "Ҷалолиддини Балхӣ"[:words.ECHO_MAX],
    "markets": "Кӯлоб, Маркази Даҳана, Ҷомӣ, Маркази Ҷомӣ, Восеъ, Маркази Восеъ, Балх, Маркази Балх",
    "price": "1000,00", "date": "31.12.24", "count": 99,
    "district": "Ҷалолиддини Балхӣ", "place": "50-солагии Тоҷикистон"[:words.ECHO_MAX],
    "word": words.echo("Абдураҳмонова Гулбаҳор"), "guess": "50-солагии Тоҷикистон",
    "seen": "Маркази Восеъ 999,99 +99,99", "last": "1000,00", "low": "1000,00", "high": "1000,00",
}
# the name as long as ``clean_name`` allows
LONGEST = {**LONG, "name": "Гулбаҳор" * 5}


def render(key: str, lang: str, params: dict) -> str:
    wanted = templates_sms.placeholders(templates_sms.catalogue()[key][lang]) - {"ussd"}
    return templates_sms.text(key, lang, **{k: params[k] for k in wanted})


@pytest.mark.parametrize("key", SMS_KEYS + REFUSAL_KEYS)
def test_every_reply_fits_two_sms(key):
    for lang in LANGS:
        m = measure(render(key, lang, LONGEST))
        assert m.segments <= 2, (lang, m)


@pytest.mark.parametrize("key", ONE_SMS)
def test_common_replies_fit_one_sms(key):
    for lang in LANGS:
        m = measure(render(key, lang, LONG))
        assert m.segments == 1, (lang, m)


@pytest.mark.parametrize("key", SMS_KEYS)
def test_same_placeholders_in_every_language(key):
    entry = templates_sms.catalogue()[key]
    assert set(entry) == set(LANGS)
    assert len({frozenset(templates_sms.placeholders(entry[lang])) for lang in LANGS}) == 1


def test_uzbek_and_english_texts_are_gsm7():
    for key in SMS_KEYS:
        for lang in ("uz", "en"):
            plain = {k: "x" for k in templates_sms.placeholders(templates_sms.catalogue()[key][lang])}
            assert measure(render(key, lang, plain)).encoding == "GSM-7", (key, lang)


def test_keyword_table_has_no_clashes():
    v = sms_commands.vocabulary()  # raises when a word means two things
    commands = features.build_sms().commands
    assert {w.value for w in v.commands.values()} == set(commands)
    for command in commands:
        told = {lang for w in v.commands.values() if w.value == command for lang in w.languages}
        assert told == set(LANGS) or command in ("join", "leave"), command  # aliases in every language
    assert set(v.languages.values()) == set(LANGS)


@pytest.mark.parametrize("text, code, command, args", [
    ("STOP", None, "stop", []),
    ("Stop!", None, "stop", []),
    ("  stop.  ", None, "stop", []),
    ("1207 stop", "1207", "stop", []),
    ("1207, STOP", "1207", "stop", []),
    ("how do I stop pests?", None, None, ["how", "do", "I", "stop", "pests?"]),
    ("stopping", None, None, ["stopping"]),
    ("Нарх пиёз", None, "price", ["пиёз"]),
    ("нарх пиёз", None, "price", ["пиёз"]),
    ("ЦЕНА: лук", None, "price", ["лук"]),
    ("set price onion VOSE 1,40", None, "setprice", ["onion", "VOSE", "1,40"]),
    ("НАРХИ НАВ пиёз VOSE 1,40", None, "setprice", ["пиёз", "VOSE", "1,40"]),
    ("Отписаться!", None, "stop", []),
    ("ТАСДИК 1300", None, "approve", ["1300"]),
    ("REG Gulnora F Dahana tomato,onion 1,5", None, "reg", ["Gulnora", "F", "Dahana", "tomato", "onion", "1,5"]),
    ("1207", None, None, ["1207"]),
    ("01207 LEAVE", "01207", "leave", []),
    ("1234567890 LEAVE", None, None, ["1234567890", "LEAVE"]),
    ("² LEAVE", None, None, ["²", "LEAVE"]),
    ("", None, None, []),
])
def test_parse(text, code, command, args):
    p = parse(text)
    assert (p.code, p.command, p.args) == (code, command, args)


def test_keyword_language():
    assert parse("ЦЕНА лук").languages == ("ru",)
    assert parse("СТОП").languages == ("ru",)
    assert parse("РЕГ").languages == ("tg", "ru")
    assert parse("PRICE onion").languages == ()
    assert sms_commands.language_of(("tg", "ru"), "tg") == "tg"
    assert sms_commands.language_of(("tg", "ru"), "uz") == "tg"
    assert sms_commands.languages_of_all(("tg", "ru"), ("ru",)) == ("ru",)
    assert sms_commands.languages_of_all((), ("uz",)) == ("uz",)
    assert sms_commands.languages_of_all(("en",), ("ru",)) == ("en",)


@pytest.mark.parametrize("raw, expected", [
    ("2024-05-12 10:00:00", dt.datetime(2024, 5, 12, 10, 0, tzinfo=dt.timezone.utc)),
    ("2024-05-12T10:00:00Z", dt.datetime(2024, 5, 12, 10, 0, tzinfo=dt.timezone.utc)),
    ("2024-05-12T10:00:00.123Z", dt.datetime(2024, 5, 12, 10, 0, 0, 123000, tzinfo=dt.timezone.utc)),
    ("2024-05-12T10:00:00+05:00", None),
    ("12/05/2024", None),
    ("", None),
])
def test_parse_at_date(raw, expected):
    assert parse_at_date(raw) == expected


def example(text: str, word: str) -> str:
    """The example a text prints: from the last ``word`` to the end of that sentence."""
    return re.split(r"\.(?:\s|$)", text[text.rindex(word):])[0]


PRICE_WORD = {"tg": "НАРХ", "ru": "ЦЕНА", "uz": "NARX", "en": "PRICE"}


@pytest.mark.parametrize("lang", LANGS)
def test_printed_registration_examples_work(session, lang):
    for key in ("sms.reg.usage", "sms.reg.gender", "sms.reg.place"):
        parsed = parse(example(templates_sms.text(key, lang), "REG"))
        assert parsed.command == "reg", key
        reg = parse_registration(session, parsed.args, lang)
        assert reg.name in ("Gulnora", "Гулнора") and reg.gender == "female", key
        assert reg.village.names["en"] == "Dahana", key
    reg = parse_registration(session, parse(example(templates_sms.text("sms.reg.usage", lang), "REG")).args, lang)
    assert (reg.crop_ids, reg.land_m2) == (["onion"], 5000)


@pytest.mark.parametrize("lang", LANGS)
def test_printed_command_examples_work(session, lang):
    def shown(key, word, **params):
        return parse(example(templates_sms.text(key, lang, **params), word))

    assert shown("sms.join.usage", "JOIN").args == ["VOS03"]
    assert shown("sms.approve.usage", "APPROVE").args == ["1207"]
    price = shown("sms.price.usage", PRICE_WORD[lang], crops="")
    assert price.command == "price" and find_crop(session, price.args[0]).id == "onion"
    setprice = shown("sms.setprice.usage", "SETPRICE")
    assert setprice.command == "setprice" and find_crop(session, setprice.args[0]).id == "onion"
    assert len(setprice.args) == 3
    for key in ("sms.help.new", "sms.help.farmer"):
        for word in re.findall(r"\b[A-ZА-ЯҒӢҚӮҲҶЁ]{3,}\b", templates_sms.text(key, lang)):
            assert parse(word).command is not None, (lang, key, word)


@pytest.mark.parametrize("lang", LANGS)
def test_help_fits_what_the_caller_can_do(lang):
    """A phone without a profile is told REG first; a farmer's help names ASK, ORDER, PLANTED,
    PRICE and SELL (in the words of the language) and how to ask for one command's form."""
    def commands(key):  # each command word (or two) of the text, parsed
        return [parse(w) for w in re.findall(r"\b[A-ZА-ЯҒӢҚӮҲҶЁ']{3,}(?: [A-ZА-ЯҒӢҚӮҲҶЁ']{3,})?\b",
                                             templates_sms.text(key, lang))]
    assert commands("sms.help.new")[0].command == "reg"
    farmer = commands("sms.help.farmer")
    assert "reg" not in {p.command for p in farmer}
    assert {"ask", "order", "planted", "price", "sell"} <= {p.command for p in farmer}, farmer
    pointer = [p for p in farmer if p.command == "help"]  # HELP ORDER, in the language's words
    assert len(pointer) == 1 and parse(" ".join(pointer[0].args)).command == "order"


@pytest.mark.parametrize("lang", LANGS)
def test_price_topic_example_names_a_crop_and_a_market(session, lang):
    shown = example(templates_sms.text("sms.help.topic.price", lang), PRICE_WORD[lang])
    crop, market = parse(shown).args
    assert find_crop(session, crop).id == "onion" and find_market(session, market).code == "VOSE"


def test_every_command_has_a_help_topic():
    commands = set(features.build_sms().commands) - {"help"}
    assert {k.removeprefix("sms.help.topic.") for k in HELP_TOPICS} == commands


@pytest.mark.parametrize("key", HELP_TOPICS)
def test_help_topic_starts_with_its_command_word_and_its_example_works(key):
    command = key.removeprefix("sms.help.topic.")
    for lang in LANGS:
        text = templates_sms.text(key, lang)
        assert parse(text).command == command, (lang, text)
        assert parse(f"HELP {text}").args[:1] == text.split()[:1]
        for shown in re.findall(r"(?:Мисол|Пример|Misol|Example): ([^.]+)", text):
            assert parse(shown).command == command, (lang, shown)


def _all_markets_priced(session):
    today = dt.date(2024, 5, 12)
    for i, market in enumerate(session.scalars(select(Market).order_by(Market.id))):
        set_price(session, "tomato", market, 99_950, today - dt.timedelta(days=10 + i), "test")
        set_price(session, "tomato", market, 1_050 + i, today - dt.timedelta(days=i), "test")
    return today


@pytest.mark.parametrize("lang", LANGS)
def test_price_list_of_every_market_fits_two_sms(session, lang):
    today = _all_markets_priced(session)
    text = price_list(session, find_crop(session, "tomato"), None, lang, today)
    assert measure(text).segments <= 2
    assert text.count("\n") >= 3  # several markets made it in
    first = text.splitlines()[1]
    kulob = session.scalar(select(Market).where(Market.code == "KULOB")).name(lang, short=True)
    assert first.startswith(f"{kulob} 10") and " -989" in first  # newest first, change shown
    # the markets that did not fit are counted on the last line, with the USSD code
    markets = list(session.scalars(select(Market)))
    n, shorts = len(markets), [m.name(lang, short=True) for m in markets]
    shown = sum(1 for line in text.splitlines()[1:] if any(line.startswith(f"{name} ") for name in shorts))
    more = text.splitlines()[-1]
    assert shown >= 2
    if shown < n:
        assert more == templates_sms.text("sms.price.more", lang, count=n - shown, ussd="*384*7#")
    if lang in ("uz", "en"):
        assert shown >= 6  # GSM-7 holds more


@pytest.mark.parametrize("lang", LANGS)
def test_price_list_of_two_markets_fits_one_sms(session, lang):
    today = dt.date(2024, 5, 12)
    markets = list(session.scalars(select(Market).where(Market.code.in_(["VOSE", "VOSECC"]))))
    for market in markets:
        set_price(session, "onion", market, 130, today - dt.timedelta(days=1), "test")
        set_price(session, "onion", market, 145, today, "test")
    text = price_list(session, find_crop(session, "onion"), None, lang, today)
    assert measure(text).segments == 1, text
    assert text.count("\n") == 2
    sep = "," if lang in ("tg", "ru") else "."
    assert f"1{sep}45 +0{sep}15" in text and "12.05" in text.splitlines()[0]


def test_price_list_dates_older_reports(session):
    today = dt.date(2024, 5, 12)
    kulob, vose = (session.scalar(select(Market).where(Market.code == c)) for c in ("KULOB", "VOSE"))
    set_price(session, "rice", kulob, 800, today, "test")
    set_price(session, "rice", vose, 750, dt.date(2023, 11, 2), "test")
    assert price_list(session, find_crop(session, "rice"), None, "en", today) == \
        "Rice, TJS/kg, 12.05:\nKulob 8.00\nVose 7.50 02.11.23"
    assert price_list(session, find_crop(session, "rice"), None, "ru", today) == \
        "Рис, сомони/кг, 12.05:\nКуляб 8,00\nВосе 7,50 02.11.23"
    assert price_list(session, find_crop(session, "tomato"), None, "en", today) is None
