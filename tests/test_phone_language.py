"""The language of a phone without a profile (``service.messaging.language``): the guess from
letters and words, the script's language, and the per-phone pick (real database)."""
from __future__ import annotations

import pytest

from service.messaging import language
from service.messaging.message import queue_sms

PHONE = "+992901000077"


@pytest.mark.parametrize("text, lang", [
    ("Стоп.", "ru"), ("СТОП", "ru"), ("отписаться", "ru"), ("Сколько стоит лук?", "ru"), ("Хочу узнать цены", "ru"),
    ("помощь", "ru"), ("ЦЕНА лук", "ru"),
    ("Қатъ", "tg"), ("Нархи пиёз чанд аст?", "tg"), ("маслиҳат лозим", "tg"), ("нарх пиёз", "tg"), ("Салом", "tg"),
    ("Piyoz narxi qancha?", "uz"), ("narx piyoz", "uz"), ("Men to'g'risida", "uz"), ("Men toʻgʻrisida", "uz"),
    ("How much is the onion today?", "en"), ("I need help", "en"), ("LANG en", "en"),
])
def test_the_text_tells_its_language(text, lang):
    assert language.guess(text) == lang


@pytest.mark.parametrize("text", ["START", "help", "STOP", "REG Ali M Guliston", "12 34", "", "Гулнора"])
def test_poster_words_names_and_numbers_tell_nothing(text):
    assert language.guess(text) is None


def test_only_the_languages_of_the_script_compete():
    # "TAJIK" is a Tajik language name, but Latin text is English or Uzbek
    assert language.scores("TAJIK")["tg"] == 1 and language.guess("TAJIK") is None
    # a Tajik letter outweighs a Russian word: "REG Зарина Ж Даҳана" (Ж ru, ҳ tg)
    assert language.guess("REG Зарина Ж Даҳана") == "tg"
    # one Tajik and one Russian clue: a tie tells nothing
    assert language.scores("почему чанд") == {"tg": 1, "ru": 1, "uz": 0, "en": 0}
    assert language.guess("почему чанд") is None
    # crop names tell nothing: people copy a command's example whatever they speak
    assert language.guess("SETPRICE onion VOSE 1.40") is None and language.guess("рис пиёз") is None


@pytest.mark.parametrize("text, default, lang", [
    # Latin that tells nothing is the poster's command of a farmer of DEFAULT_LANGUAGE, not English
    ("START", "tg", None), ("START", "en", "en"), ("stop", "uz", "uz"), ("Гулнора", "tg", "tg"), ("Гулнора", "ru", "ru"),
    ("Гулнора", "en", "tg"), ("123", "tg", None),
])
def test_the_script_decides_when_nothing_else_does(text, default, lang):
    assert language.by_script(text, default) == lang


def test_a_long_text_is_read_only_so_far():
    assert language.guess("x " * 2000 + "сколько стоит") is None


def test_picked_beats_guess_beats_last_answered_beats_the_default(session):
    phone = PHONE
    assert language.for_unknown_phone(session, phone, "START", "tg") == "tg"  # nothing tells: DEFAULT_LANGUAGE
    queue_sms(session, phone, "Рассылка остановлена.", language="ru")
    assert language.for_unknown_phone(session, phone, "START", "tg") == "ru"  # last answered
    assert language.for_unknown_phone(session, phone, "Piyoz narxi qancha?", "tg") == "uz"  # guess
    language.remember(session, phone, "tg")
    language.remember(session, phone, "en")  # picked again: the one row changes
    assert language.remembered(session, phone) == "en"
    assert session.query(language.PhoneLanguage).count() == 1
    assert language.for_unknown_phone(session, phone, "Сколько стоит лук?", "tg") == "en"  # picked
    with pytest.raises(ValueError):
        language.remember(session, phone, "fr")
