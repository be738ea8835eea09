"""Checks every farmer text of the case tables passes (``tests/test_sms.py``, ``tests/test_ussd.py``):
no market code inside a Cyrillic text, and amounts written one way per language."""
from __future__ import annotations

import re

from service.reference import data

#: a market code as a word (``VOSE``, ``VOSECC``): codes are what staff type, never what farmers read
MARKET_CODE = re.compile(r"\b(?:" + "|".join(sorted(data.MARKETS, key=len, reverse=True)) + r")\b")
#: an amount with two decimals written the other language's way: ``3.90`` in tg/ru (a date is
#: ``dd.mm``, two digits before the point), ``3,90`` in uz/en
POINT_AMOUNT = re.compile(r"(?<![\d.,])\d\.\d\d(?![\d.])")
COMMA_AMOUNT = re.compile(r"\d,\d\d(?!\d)")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def check(text: str, lang: str | None = None) -> None:
    """Assert ``text`` (in ``lang``; guessed from its script when None) names no market by code
    when it is Cyrillic, and writes amounts with the comma in tg/ru and the point in uz/en."""
    cyrillic = lang in ("tg", "ru") if lang else bool(CYRILLIC.search(text))
    if cyrillic:
        assert not MARKET_CODE.search(text), f"market code in a Cyrillic text: {text!r}"
    check_amounts(text, "tg" if cyrillic else "en")


def check_amounts(text: str, lang: str) -> None:
    """Assert the amounts of ``text`` have the comma in tg/ru and the point in uz/en."""
    if lang in ("tg", "ru"):
        assert not POINT_AMOUNT.search(text), f"an amount with a point in a Cyrillic text: {text!r}"
    else:
        assert not COMMA_AMOUNT.search(text), f"an amount with a comma in a Latin text: {text!r}"
