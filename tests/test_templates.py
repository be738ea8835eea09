"""Every farmer-facing text exists in all four languages, with the same placeholders, clean of hidden UCS-2."""
from __future__ import annotations

import re

import pytest

import templates_sms
from service.messaging.encoding import measure, normalise

KEYS = sorted(templates_sms.catalogue())


def test_catalogue_is_not_empty():
    assert len(KEYS) > 10


@pytest.mark.parametrize("key", KEYS)
def test_all_languages_same_placeholders(key):
    entry = templates_sms.catalogue()[key]
    assert set(entry) == set(templates_sms.LANGUAGES), f"{key} lacks {set(templates_sms.LANGUAGES) - set(entry)}"
    shapes = {lang: templates_sms.placeholders(text) for lang, text in entry.items()}
    assert len({frozenset(s) for s in shapes.values()}) == 1, f"{key}: {shapes}"


@pytest.mark.parametrize("key", KEYS)
def test_texts_are_normalised_and_latin_ones_gsm7(key):
    for lang, text in templates_sms.catalogue()[key].items():
        assert text.strip(), f"{key}/{lang} is empty"
        assert normalise(text) == text, f"{key}/{lang} holds a hidden UCS-2 trigger"
        if lang in ("en", "uz"):
            assert measure(text).encoding == "GSM-7", f"{key}/{lang} is not GSM-7: {text!r}"
        if lang in ("tg", "ru") and any("а" <= ch <= "я" for ch in text.lower()):
            assert not any(ch in "ABEKMHOPCTXaeopcxy" and _between_cyrillic(text, i)
                           for i, ch in enumerate(text)), f"{key}/{lang} mixes Latin look-alikes into Cyrillic"


def _between_cyrillic(text: str, i: int) -> bool:
    left = text[i - 1] if i else " "
    right = text[i + 1] if i + 1 < len(text) else " "
    return "\u0400" <= left <= "\u04ff" or "\u0400" <= right <= "\u04ff"


def test_tajik_uses_tajik_letters_somewhere():
    tajik = " ".join(e["tg"] for e in templates_sms.catalogue().values())
    assert any(ch in tajik for ch in "ғӣқӯҳҷ")


def test_unknown_language_falls_back_to_tajik():
    assert templates_sms.text("err.land", "xx") == templates_sms.text("err.land", "tg")


# ---- the four languages say the same thing (what a machine can check) -------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _numbers(text: str) -> list[str]:
    """The numbers a text states (not its placeholders), ``2,5`` and ``2.5`` alike, sorted."""
    return sorted(n.replace(",", ".") for n in _NUMBER.findall(_PLACEHOLDER.sub("", text)))


@pytest.mark.parametrize("key", KEYS)
def test_every_language_states_the_same_numbers(key):
    """A number in one language is in all (the SRI transplant tip once lacked "2-3 leaves, within
    30 minutes" in Tajik and Russian): days, sizes, doses and ranges, whichever script."""
    entry = templates_sms.catalogue()[key]
    numbers = {lang: _numbers(text) for lang, text in entry.items()}
    assert len({tuple(n) for n in numbers.values()}) == 1, f"{key}: {numbers}"


def _typed_words() -> set[str]:
    """Every Latin word of keywords.toml (commands and aliases farmers and staff type), upper case."""
    found: set[str] = set()

    def walk(value):
        if isinstance(value, str):
            found.update(w.upper() for w in re.findall(r"[A-Za-z']+", value))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(templates_sms.keywords())
    return found


#: Latin words a Cyrillic text may hold besides the keywords: the channel's name and the "x" of "x3 packs"
LATIN_IN_CYRILLIC = {"SMS", "USSD", "X"}
#: usage texts whose example is a code people type (a market, a PG code)
TYPED_CODES = {"sms.setprice.usage": {"VOSE"}, "sms.join.usage": {"VOS"}, "sms.help.topic.setprice": {"VOSE"},
               "sms.help.topic.join": {"VOS"}, "sms.help.topic.order": {"ONJ"}}


@pytest.mark.parametrize("key", KEYS)
def test_cyrillic_texts_hold_no_latin_codes(key):
    """No Latin code (``VOSECC``, ``BALKH``) inside a Tajik or Russian text but what people type."""
    allowed = _typed_words() | LATIN_IN_CYRILLIC | TYPED_CODES.get(key, set())
    for lang in ("tg", "ru"):
        text = _PLACEHOLDER.sub("", templates_sms.catalogue()[key][lang])
        latin = [w for w in re.findall(r"[A-Za-z][A-Za-z']*", text) if w.upper() not in allowed]
        assert latin == [], f"{key}/{lang}: {latin} in {text!r}"


# ---- gendered variants (templates_sms module docstring) ---------------------------------------

VARIANTS = [k for k in KEYS if k.endswith(tuple(f"_{g}" for g in templates_sms.GENDERS))]


def test_there_are_gendered_variants_and_each_has_its_plain_text():
    assert VARIANTS
    for key in VARIANTS:
        assert templates_sms.has(key.rsplit("_", 1)[0]), key


@pytest.mark.parametrize("key", VARIANTS)
def test_a_gendered_variant_differs_only_where_the_language_has_gender(key):
    """Same placeholders as the plain text; Tajik, Uzbek and English repeat it word for word (so an
    edit of the plain text cannot leave a variant behind); the Russian variant has no "(а)"."""
    base, gender = key.rsplit("_", 1)
    plain, variant = templates_sms.catalogue()[base], templates_sms.catalogue()[key]
    assert {lang: variant[lang] for lang in ("tg", "uz", "en")} == {lang: plain[lang] for lang in ("tg", "uz", "en")}
    assert templates_sms.placeholders(variant["ru"]) == templates_sms.placeholders(plain["ru"])
    assert "(а)" not in variant["ru"] and "(ла)" not in variant["ru"]
    params = {name: "Мадина" for name in templates_sms.placeholders(plain["ru"])}
    assert templates_sms.text(base, "ru", gender=gender, **params) == variant["ru"].format(**params)
    assert templates_sms.text(base, "ru", **params) == plain["ru"].format(**params)


@pytest.mark.parametrize("key", [k for k in KEYS if "(а)" in templates_sms.catalogue()[k]["ru"]])
def test_a_text_written_for_both_genders_has_both_variants(key):
    for gender in templates_sms.GENDERS:
        assert templates_sms.has(f"{key}_{gender}"), f"{key} lacks _{gender}"


# ---- amounts: one way per language (service.reference.render) ---------------------------------

@pytest.mark.parametrize("key", KEYS)
def test_amounts_in_texts_use_the_languages_decimal_mark(key):
    """An amount printed in a text (an example price) has the comma in tg/ru, the point in uz/en,
    as ``service.reference.render`` writes the amounts filled in (``1,40`` beside ``1.40``)."""
    import farmer_text

    for lang, text in templates_sms.catalogue()[key].items():
        farmer_text.check_amounts(_PLACEHOLDER.sub("", text), lang)
