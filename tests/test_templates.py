"""Every farmer-facing text exists in all four languages, with the same placeholders, clean of hidden UCS-2."""
from __future__ import annotations

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
