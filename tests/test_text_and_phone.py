"""Phone normalisation (docs/khatlon.md §7) and SMS measurement (docs/message-budgets.md §1)."""
from __future__ import annotations

import pytest

from service.messaging.encoding import fits_ussd, measure, normalise
from service.reference.names import fold
from service.reference.phone import InvalidPhone, to_e164

PHONES = [
    ("e164", "+992901234567", "+992901234567"),
    ("plus decoded to space", " 992901234567", "+992901234567"),
    ("12 digits", "992901234567", "+992901234567"),
    ("00 prefix", "00992901234567", "+992901234567"),
    ("810 prefix", "810992901234567", "+992901234567"),
    ("national 9 digits", "90 123 4567", "+992901234567"),
    ("legacy trunk 8", "8901234567", "+992901234567"),
    ("leading 0", "0901234567", "+992901234567"),
    ("dashes and brackets", "+992 (90) 123-45-67", "+992901234567"),
    ("AT sandbox Kenya", "+254711082000", "+254711082000"),
]


@pytest.mark.parametrize("raw, expected", [(r, e) for _, r, e in PHONES], ids=[p[0] for p in PHONES])
def test_to_e164(raw, expected):
    assert to_e164(raw) == expected


@pytest.mark.parametrize("raw", ["", None, "12", "+99290123456", "+9929012345678", "abc", "+992 90 123 456x",
                                 "0 0"])
def test_to_e164_rejects(raw):
    with pytest.raises(InvalidPhone):
        to_e164(raw)


@pytest.mark.parametrize("text, encoding, units, segments", [
    ("Hello", "GSM-7", 5, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("[x]", "GSM-7", 5, 1),                 # extension characters count 2 in GSM-7
    ("€" * 80, "GSM-7", 160, 1),
    ("Салом", "UCS-2", 5, 1),
    ("я" * 70, "UCS-2", 70, 1),
    ("я" * 71, "UCS-2", 71, 2),
    ("я" * 134, "UCS-2", 134, 2),
    ("я" * 135, "UCS-2", 135, 3),
    ("[я]", "UCS-2", 3, 1),                 # ...but 1 in UCS-2
    ("a\u2019b \u2014 c\u00a0d", "GSM-7", 9, 1),  # smart quote, dash and NBSP normalised away
    ("ok \U0001F600", "GSM-7", 3, 1),          # emoji removed
])
def test_measure(text, encoding, units, segments):
    m = measure(text)
    assert (m.encoding, m.units, m.segments) == (encoding, units, segments)


def test_backtick_and_tab_are_replaced():
    assert normalise("a`b\tc") == "a'b c"


def test_fits_ussd_counts_prefix_and_encoding():
    assert fits_ussd("CON " + "a" * 156)
    assert not fits_ussd("CON " + "a" * 157)
    assert fits_ussd("CON " + "я" * 66)
    assert not fits_ussd("CON " + "я" * 67)
    assert not fits_ussd("CON a\u2019b")  # would be changed by normalisation


@pytest.mark.parametrize("a, b", [("Кӯлоб", "Кулоб"), ("Даҳана", "Дахана"), ("Восеъ", "Восе"),
                                  ("Балхӣ", "Балхи"), ("Ҷомӣ", "Чоми"), ("ноҳияи", "ноҳияи"),
                                  ("Vose'", "vose"), ("ноҳия Восеъ", "Восе")])
def test_fold_equalities(a, b):
    assert fold(a) == fold(b)
