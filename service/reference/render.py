"""How numbers are written to farmers: TJS amounts, price changes and hectares, with the decimal
comma in Cyrillic texts (tg, ru) and the point in Latin ones (uz, en) — ``docs/khatlon.md`` §5–§6.

The one place that formats money: every farmer text (prices by SMS and USSD, the weekly digest,
price alerts, orders, sales) writes an amount with :func:`tjs`, a change with :func:`change`, and
a price with its change with :func:`price`, so a language writes a number one way everywhere.
"""
from __future__ import annotations

from decimal import Decimal

CYRILLIC = ("tg", "ru")


def number(value: Decimal, lang: str) -> str:
    """A decimal without trailing zeros (``Decimal("0.50")`` → ``"0,5"`` in tg, ``"0.5"`` in en)."""
    text = format(value.normalize(), "f") if value else "0"
    return text.replace(".", ",") if lang in CYRILLIC else text


def tjs(diram: int, lang: str) -> str:
    """Diram as TJS with two decimals, no unit (``140`` → ``"1,40"`` in tg/ru, ``"1.40"`` in uz/en;
    ``-5`` → ``"-0,05"``)."""
    sign = "-" if diram < 0 else ""
    whole, cents = divmod(abs(diram), 100)
    return f"{sign}{whole}{',' if lang in CYRILLIC else '.'}{cents:02d}"


def change(diram: int, lang: str) -> str:
    """A price change in diram, always signed so that it reads as a change: ``"+0,10"``,
    ``"-0,05"``, and ``"+0,00"`` when unchanged."""
    return ("-" if diram < 0 else "+") + tjs(abs(diram), lang)


def price(diram: int, change_diram: int | None, lang: str) -> str:
    """A price and its change since the previous report (``"1,40 +0,10"``), or the price alone when
    there is no previous report (``change_diram`` None): ``"1,40"``. The same by SMS and USSD."""
    text = tjs(diram, lang)
    return text if change_diram is None else f"{text} {change(change_diram, lang)}"


def hectares(m2: int, lang: str) -> str:
    """Square metres as hectares without trailing zeros, no unit (``5000`` → ``"0,5"`` in tg)."""
    return number(Decimal(m2) / 10000, lang)
