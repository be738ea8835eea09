"""How numbers are written to farmers: TJS and hectares, with the decimal comma in
Cyrillic texts (tg, ru) and the point in Latin ones (uz, en) — ``docs/khatlon.md`` §5–§6.
"""
from __future__ import annotations

from decimal import Decimal

CYRILLIC = ("tg", "ru")


def number(value: Decimal, lang: str) -> str:
    """A decimal without trailing zeros (``Decimal("0.50")`` → ``"0,5"`` in tg, ``"0.5"`` in en)."""
    text = format(value.normalize(), "f") if value else "0"
    return text.replace(".", ",") if lang in CYRILLIC else text


def tjs(diram: int, lang: str = "en", signed: bool = False) -> str:
    """Diram as TJS with two decimals (``140`` → ``"1,40"`` in tg/ru, ``"1.40"`` in uz/en);
    ``signed`` puts ``+`` before an amount that is not negative (price changes)."""
    sign = "-" if diram < 0 else ("+" if signed else "")
    whole, cents = divmod(abs(diram), 100)
    return f"{sign}{whole}{',' if lang in CYRILLIC else '.'}{cents:02d}"


def hectares(m2: int, lang: str) -> str:
    """Square metres as hectares without trailing zeros, no unit (``5000`` → ``"0,5"`` in tg)."""
    return number(Decimal(m2) / 10000, lang)
