"""Quantities farmers type and read: produce mass (kg, t, centner) and field area (ha, sotka).

Units from ``docs/khatlon.md`` §5: stored in base units (mass in
integer grams, area in integer m²), exact (``Decimal``), rendered with the unit
and the decimal comma in Cyrillic languages. The words naming each unit in
every language live in ``templates_sms/keywords.toml`` under ``[measure]``.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import templates_sms
from service.errors import Refusal
from service.reference.words import word_key
from service.reference.render import number

GRAMS = {"kg": 1000, "t": 1_000_000, "c": 100_000}
SQUARE_METRES = {"ha": 10_000, "sotka": 100}


@lru_cache(maxsize=1)
def unit_words() -> dict[str, str]:
    """``{word key: unit}`` for every unit word of ``keywords.toml`` ``[measure]`` (kg, t, c, ha, sotka)."""
    measure = templates_sms.keywords()["measure"]
    return {word_key(w): unit for unit, words in measure.items() for w in words}


def read_amount(words: list[str]) -> tuple[Decimal, str | None, list[str]]:
    """Read a number with an optional unit from the start of ``words``.

    The unit may be attached (``"1,5t"``) or the next word (``"1,5 т"``).
    Returns ``(value, unit or None, the words left)``. Raises
    ``Refusal("quantity.bad")`` when the first word is not a positive finite number.
    """
    if not words:
        raise Refusal("quantity.bad", given="")
    first = words[0]
    match = re.fullmatch(r"(\d+(?:[.,]\d+)?)(\D*)", first.strip())
    if match is None:
        raise Refusal("quantity.bad", given=first[:20])
    try:
        value = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:
        raise Refusal("quantity.bad", given=first[:20]) from None
    rest = words[1:]
    unit = None
    if match.group(2):
        unit = unit_words().get(word_key(match.group(2)))
        if unit is None:
            raise Refusal("quantity.bad", given=first[:20])
    elif rest and word_key(rest[0]) in unit_words():
        unit, rest = unit_words()[word_key(rest[0])], rest[1:]
    if not value.is_finite() or value <= 0:
        raise Refusal("quantity.bad", given=first[:20])
    return value, unit, rest


def to_grams(value: Decimal, unit: str | None) -> int:
    """A mass in ``unit`` (kg when None) as whole grams; ``Refusal("quantity.bad")`` for an area unit."""
    unit = unit or "kg"
    if unit not in GRAMS:
        raise Refusal("quantity.bad", given=f"{value} {unit}")
    grams = value * GRAMS[unit]
    if grams != grams.to_integral_value():
        raise Refusal("quantity.bad", given=f"{value} {unit}")
    return int(grams)


def to_square_metres(value: Decimal, unit: str | None) -> int:
    """An area in ``unit`` (ha when None) as whole m²; ``Refusal("quantity.area")`` for a mass unit."""
    unit = unit or "ha"
    if unit not in SQUARE_METRES:
        raise Refusal("quantity.area")
    m2 = value * SQUARE_METRES[unit]
    if m2 != m2.to_integral_value():
        raise Refusal("quantity.area")
    return int(m2)


def read_mass(text: str) -> int:
    """``text`` as one mass and nothing else (``"3000"``, ``"1,5 т"``, ``"2t"``), in whole grams.
    Raises ``Refusal("quantity.bad")`` for anything else (no number, an area, words after it)."""
    value, unit, rest = read_amount(text.split())
    if rest:
        raise Refusal("quantity.bad", given=text[:20])
    return to_grams(value, unit)


def read_area(text: str) -> int:
    """``text`` as one area and nothing else (``"0,5"`` ha, ``"50 сотка"``), in whole m². Raises
    ``Refusal("quantity.bad")`` or ``Refusal("quantity.area")`` for anything else."""
    value, unit, rest = read_amount(text.split())
    if rest:
        raise Refusal("quantity.bad", given=text[:20])
    return to_square_metres(value, unit)


def mass(grams: int, lang: str) -> str:
    """Grams as kg, or as t from 10 t up (``1500000`` → ``"1500 кг"``, ``25000000`` → ``"25 т"``)."""
    if grams >= 10 * GRAMS["t"]:
        return f"{number(Decimal(grams) / GRAMS['t'], lang)} {templates_sms.text('quantity.unit.t', lang)}"
    return f"{number(Decimal(grams) / GRAMS['kg'], lang)} {templates_sms.text('quantity.unit.kg', lang)}"


def tonnes(grams: int, lang: str) -> str:
    """Grams as tonnes with the unit (``600000000`` → ``"600 т"``)."""
    return f"{number(Decimal(grams) / GRAMS['t'], lang)} {templates_sms.text('quantity.unit.t', lang)}"


def area(m2: int, lang: str) -> str:
    """Square metres as hectares with the unit (``5000`` → ``"0,5 га"``)."""
    return f"{number(Decimal(m2) / SQUARE_METRES['ha'], lang)} {templates_sms.text('quantity.unit.ha', lang)}"


def per_hectare(grams: int, m2: int, lang: str) -> str:
    """A yield as t/ha with one decimal, rounded half up (``2000000`` g on ``5000`` m² → ``"4 т/га"``)."""
    value = (Decimal(grams) / Decimal(m2) / 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{number(value, lang)} {templates_sms.text('quantity.unit.t_ha', lang)}"
