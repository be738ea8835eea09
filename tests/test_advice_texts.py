"""Texts of advice, joint sales and yields: budgets, tips on a USSD screen, printed examples that work."""
from __future__ import annotations

import datetime as dt
import re

import pytest

import templates_sms
from service.advice import questions as advice
from service.reference import data, quantity
from service.reference.crops import find_crop
from service.messaging.encoding import fits_ussd, measure
from service.sales.sms import parse_week
from service.sms.engine import parse

LANGS = ("tg", "ru", "uz", "en")
MINE = ("advice.", "sales.", "yields.", "quantity.")
KEYS = sorted(k for k in templates_sms.catalogue() if k.startswith(MINE) and ".ussd." not in k)
#: texts that carry someone's own words (a question, an answer, a buyer's terms) or a list of weeks
LONG_BODIES = ("advice.sms.question", "advice.sms.escalated", "advice.answer.to_farmer", "sales.offer.sms",
               "sales.totals.head", "sales.totals.week", "sales.totals.season", "sales.sell.done",
               "sales.sell.changed", "sales.cancel.which")
LONG = {"id": 123456, "crop": "Помидор/Пиёз", "place": "Гулистони Боло-Даҳана, Кӯлоб", "text": "x" * 20,
        "max": 200, "crops": "Пиёз, Шолӣ, Помидор", "centre": "Маркази Даҳана", "free": "999,999 т", "qty": "9999,5 кг",
        "week": 53, "date": "31.12", "farmers": 1496, "price": "1000,00", "given": "x" * 20, "area": "500 га",
        "per_ha": "199,9 т/га", "pledged": "999,5 т", "capacity": "1000 т", "was": "9999,5 кг",
        "list": "#123456 Помидор 9999,5 кг ҳафтаи 53; #123457 Помидор 9999,5 кг ҳафтаи 53"}


def render(key, lang):
    text = templates_sms.catalogue()[key][lang]
    return templates_sms.text(key, lang, **{k: LONG[k] for k in templates_sms.placeholders(text) if k in LONG})


@pytest.mark.parametrize("key", KEYS)
def test_replies_fit_one_sms_and_latin_ones_are_gsm7(key):
    for lang in LANGS:
        m = measure(render(key, lang))
        assert m.segments <= (2 if key in LONG_BODIES else 1), (lang, m)
        if lang in ("uz", "en"):
            plain = {k: "x" for k in templates_sms.placeholders(templates_sms.catalogue()[key][lang])}
            assert measure(templates_sms.text(key, lang, **plain)).encoding == "GSM-7", lang


def test_a_usual_pledge_confirmation_fits_one_sms():
    for lang in LANGS:
        text = templates_sms.text("sales.sell.done", lang, crop=data.CROPS["tomato"][0][lang],
                                  qty=quantity.mass(2_000_000, lang), week=24, date="09.06",
                                  centre=data.market_names(data.MARKETS["DAHANA"][2])[f"{lang}_short"],
                                  free=quantity.tonnes(998_000_000, lang))
        assert measure(text).segments == 1, (lang, text)


def test_a_usual_pledge_change_and_cancel_fit_one_sms():
    for lang in LANGS:
        crop = "Pomidor" if lang in ("uz", "en") else "Помидор"
        changed = templates_sms.text("sales.sell.changed", lang, id=12, crop=crop, qty=quantity.mass(3_000_000, lang),
                                     was=quantity.mass(2_000_000, lang), week=24)
        cancelled = templates_sms.text("sales.cancel.done", lang, id=12, crop=crop, qty=quantity.mass(3_000_000, lang),
                                       week=24)
        assert measure(changed).segments == 1 and measure(cancelled).segments == 1, (lang, changed, cancelled)


def test_the_longest_question_reaches_the_responder_in_four_sms():
    for lang in LANGS:
        params = {**LONG, "text": "ё" * advice.MAX_QUESTION_CHARS}
        assert measure(templates_sms.text("advice.sms.escalated", lang, **params)).segments <= 4


@pytest.mark.parametrize("key", [k for k in templates_sms.catalogue() if k.startswith("tips.")])
def test_every_tip_fits_a_ussd_screen_with_navigation(key):
    for lang in LANGS:
        nav = " ".join(templates_sms.text(f"ussd.nav.{n}", lang) for n in ("back", "more"))
        assert fits_ussd(f"CON {templates_sms.text(key, lang)}\n{nav}"), (key, lang)


def test_every_crop_and_topic_has_tips():
    for crop in ("tomato", "onion", "rice"):
        for topic in advice.TOPICS:
            assert len(advice.tips(crop, topic)) >= 2, (crop, topic)


def example(text: str, word: str) -> str:
    return re.split(r"\.(?:\s|$)", text[text.rindex(word):])[0]


@pytest.mark.parametrize("lang", LANGS)
def test_printed_examples_work(session, lang):
    def shown(key, word):
        return parse(example(templates_sms.text(key, lang), word))

    ask = shown("advice.ask.usage", "ASK")
    assert ask.command == "ask" and len(ask.args) >= 3
    answer = shown("advice.answer.usage", "ANSWER")
    assert answer.command == "answer" and answer.args[0] == "12" and len(answer.args) >= 2
    sell = shown("sales.sell.usage", "SELL")
    assert sell.command == "sell" and find_crop(session, sell.args[0]).id == "tomato"
    value, unit, rest = quantity.read_amount(sell.args[1:])
    assert quantity.to_grams(value, unit) == 2_000_000
    assert parse_week(rest, dt.date(2025, 6, 2)) == dt.date(2025, 6, 9)
    offer = shown("sales.offer.usage", "OFFER")
    assert offer.command == "offer" and find_crop(session, offer.args[0]).id == "onion"
    crop_yield = shown("yields.usage", "YIELD")
    assert crop_yield.command == "yield" and find_crop(session, crop_yield.args[0]).id == "onion"
    value, unit, rest = quantity.read_amount(crop_yield.args[1:])
    size, area_unit, rest = quantity.read_amount(rest)
    assert (quantity.to_grams(value, unit), quantity.to_square_metres(size, area_unit), rest) == (3_000_000, 1000, [])


@pytest.mark.parametrize("words, expected", [
    ([], dt.date(2025, 6, 9)),
    (["next", "week"], dt.date(2025, 6, 9)),
    (["ҳафтаи", "оянда"], dt.date(2025, 6, 9)),
    (["на", "этой", "неделе"], dt.date(2025, 6, 2)),
    (["shu", "hafta"], dt.date(2025, 6, 2)),
    (["23"], dt.date(2025, 6, 2)),
    (["W30"], dt.date(2025, 7, 21)),
    (["2026-W02"], dt.date(2026, 1, 5)),
    (["22"], dt.date(2026, 5, 25)),  # week 22 has passed: next year's
])
def test_parse_week(words, expected):
    assert parse_week(words, dt.date(2025, 6, 4)) == expected


@pytest.mark.parametrize("words", [["54"], ["0"], ["2024-W30"], ["2027-W30"], ["soon"], ["week", "60"]])
def test_parse_week_refuses(words):
    with pytest.raises(Exception) as caught:
        parse_week(words, dt.date(2025, 6, 4))
    assert getattr(caught.value, "key", None) == "sales.sell.week"


@pytest.mark.parametrize("words, grams", [
    (["500"], 500_000), (["500kg"], 500_000), (["1,5", "т"], 1_500_000), (["2t"], 2_000_000),
    (["12", "ц"], 1_200_000), (["0.5"], 500), (["1,5т"], 1_500_000),
])
def test_quantities(words, grams):
    value, unit, rest = quantity.read_amount(words)
    assert (quantity.to_grams(value, unit), rest) == (grams, [])


@pytest.mark.parametrize("grams, lang, text", [
    (1_500_000, "tg", "1500 кг"), (500, "en", "0.5 kg"), (25_000_000, "ru", "25 т"), (12_500_000, "uz", "12.5 t"),
])
def test_mass_rendering(grams, lang, text):
    assert quantity.mass(grams, lang) == text
