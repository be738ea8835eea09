"""SMS and USSD text measurement: GSM-7 or UCS-2, units and segments.

Rules from ``docs/message-budgets.md``: normalise hidden UCS-2
triggers (§7), decide the encoding for the whole text with the ``gsm0338``
codec (GSM-7 septets, extension characters count 2), else count UTF-16
code units (UCS-2). Single SMS: 160 septets / 70 units; concatenated parts
153 / 67. USSD screen budget (§9.1, counted with the ``CON ``/``END `` prefix):
160 GSM-7 characters or 70 UCS-2 units.
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

SMS_SINGLE = {"GSM-7": 160, "UCS-2": 70}
SMS_PART = {"GSM-7": 153, "UCS-2": 67}
USSD_BUDGET = {"GSM-7": 160, "UCS-2": 70}

_REPLACE = {
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u200b": "", "\u200c": "",
    "\u200d": "", "\ufeff": "", "\u2116": "No.", "\u00b0": "", "\u00d7": "x", "\u02bb": "'",
    "\u02bc": "'", "\t": " ", "`": "'", "\u00e7": "c",
}
_EMOJI = re.compile("[\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Measure:
    """A measured text: ``text`` (normalised), ``encoding`` (``GSM-7``/``UCS-2``),
    ``units`` (septets or UTF-16 units) and ``segments`` (SMS parts, ≥ 1)."""

    text: str
    encoding: str
    units: int
    segments: int


def normalise(text: str) -> str:
    """NFC, hidden UCS-2 triggers replaced (smart quotes, dashes, NBSP, …), emoji removed."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(_REPLACE.get(ch, ch) for ch in text)
    return _EMOJI.sub("", text)


@functools.lru_cache(maxsize=4096)
def measure(text: str) -> Measure:
    """Normalise ``text`` and measure it as one SMS would be encoded (memoised: a screen or an
    SMS is measured several times while it is laid out)."""
    text = normalise(text)
    try:
        units = len(text.encode("gsm03.38"))
        encoding = "GSM-7"
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        encoding = "UCS-2"
    if units <= SMS_SINGLE[encoding]:
        segments = 1
    else:
        segments = math.ceil(units / SMS_PART[encoding])
    return Measure(text, encoding, units, segments)


def fits_ussd(body: str) -> bool:
    """True when a whole USSD body (prefix included) fits the screen budget for its encoding."""
    m = measure(body)
    return m.text == body and m.units <= USSD_BUDGET[m.encoding]
