"""One SMS for several profiles of a shared phone: who it names, in which language, at what length
(``service.messaging.household``; the reminders and price alerts that use it are tested with them)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

import templates_sms
from service.messaging.encoding import measure
from service.messaging.household import NAMES_MAX_CHARS, Person, addressed

TIPS = {lang: templates_sms.text("campaigns.rice_sri.nursery", lang) for lang in templates_sms.LANGUAGES}
LONG_EN = templates_sms.text("campaigns.rice_sri.transplant", "en")  # 105 GSM-7 characters

GULNORA = Person(11, "Gulnora Karimova", "tg", is_main=True)
RUSTAM = Person(12, "Rustam", "ru")
DILSHOD = Person(13, "Dilshod", "uz")
ZARINA = Person(14, "Зарина", "en")
LONG = Person(15, "Abdurakhmonjon", "en")


@dataclass(frozen=True)
class Case:
    label: str
    people: tuple
    sent_for: Person
    text: str
    tips: dict = None


def names(label: str, lang: str, tips=TIPS) -> str:
    return templates_sms.text("push.for_names", lang, names=label, text=tips[lang])


CASES = [
    Case("one person: the text as it is", (RUSTAM,), RUSTAM, TIPS["ru"]),
    Case("the same person twice is one person", (RUSTAM, RUSTAM), RUSTAM, TIPS["ru"]),
    Case("two: first names, the main profile first, in its language", (RUSTAM, GULNORA), GULNORA,
         names("Gulnora, Rustam", "tg")),
    Case("without the main profile: registration order", (DILSHOD, RUSTAM), RUSTAM, names("Rustam, Dilshod", "ru")),
    Case("three", (DILSHOD, RUSTAM, GULNORA), GULNORA, names("Gulnora, Rustam, Dilshod", "tg")),
    Case(f"names beyond {NAMES_MAX_CHARS} characters are counted", (GULNORA, RUSTAM, DILSHOD, LONG), GULNORA,
         names("Gulnora, Rustam, Dilshod +1", "tg")),
    Case("a Cyrillic name turns a long Latin tip into UCS-2: still at most one segment more",
         (ZARINA, LONG), ZARINA, names("Зарина, Abdurakhmonjon", "en", {"en": LONG_EN}), {"en": LONG_EN}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_addressed(case):
    tips = case.tips or TIPS
    person, text = addressed(lambda lang: tips[lang], case.people)
    assert (person, text) == (case.sent_for, case.text)
    assert measure(text).segments <= measure(tips[person.language]).segments + 1


def test_names_are_shortened_or_left_out_rather_than_cost_two_segments_more():
    """The names part never exceeds 32 characters, so one more segment always holds it, unless the
    names switch a GSM-7 text to UCS-2: then fewer names, at worst none."""
    full = "ш" * 134  # exactly 2 UCS-2 segments
    _, text = addressed(lambda lang: full, [GULNORA, RUSTAM])
    assert text == templates_sms.text("push.for_names", "tg", names="Gulnora, Rustam", text=full)
    assert measure(text).segments == 3
    latin = "Rice: " + "x" * 144  # 150 GSM-7 characters: one segment
    _, text = addressed(lambda lang: latin, [LONG, Person(16, "Rustam", "en")])
    assert text == templates_sms.text("push.for_names", "en", names="Abdurakhmonjon, Rustam", text=latin)
    assert (measure(text).segments, measure(text).encoding) == (2, "GSM-7")
    _, text = addressed(lambda lang: latin, [ZARINA, LONG])  # a Cyrillic name: 3 UCS-2 segments
    assert text == latin
    too_long = [Person(i, "Ш" * 29 + str(i), "tg") for i in range(1, 4)]  # "ШШ…1 +2" is 33 characters
    assert addressed(lambda lang: TIPS["tg"], too_long) == (too_long[0], TIPS["tg"])
