"""Planting dates as farmers give them and as the service writes them back, the same by SMS and USSD.

Dates (:func:`parse_day`): ``12.05``, ``12/5``, ``12-05``, ``12.05.2027``,
``12.05.27``, ``2027-05-12``, and the words for today and yesterday in the
four languages (``keywords.toml`` ``[push_word]``). A date without a year is
this year's, unless that is more than :data:`YEAR_GUESS_DAYS` ahead (``28.12``
sent on 3 January): then last year's.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import templates_sms
from service.errors import Refusal
from service.reference.crops import Crop
from service.reference.words import echo, means

YEAR_GUESS_DAYS = 183
_DAY_MONTH = re.compile(r"(\d{1,2})[./,-](\d{1,2})(?:[./,-](\d{4}|\d{2}))?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_day(word: str, today: dt.date) -> dt.date | None:
    """The local day a typed word names (see the module docstring), or None when it is no date.

    Raises ``Refusal("push.planted_date")`` for a word shaped like a date that is none (``31.02``).
    """
    if means(word, "today"):
        return today
    if means(word, "yesterday"):
        return today - dt.timedelta(days=1)
    word = word.strip()
    if m := _ISO.fullmatch(word):
        year, month, day = (int(x) for x in m.groups())
    elif m := _DAY_MONTH.fullmatch(word):
        day, month = int(m[1]), int(m[2])
        year = None if m[3] is None else int(m[3]) + (2000 if len(m[3]) == 2 else 0)
    else:
        return None
    try:
        found = dt.date(year or today.year, month, day)
        if year is None and (found - today).days > YEAR_GUESS_DAYS:
            found = found.replace(year=today.year - 1)
    except ValueError:
        raise Refusal("push.planted_date", date=echo(word)) from None
    return found


def short_day(day: dt.date, today: dt.date) -> str:
    """``12.05`` this year, ``12.05.26`` another year."""
    return day.strftime("%d.%m") if day.year == today.year else day.strftime("%d.%m.%y")


def planted_text(lang: str, crop: Crop, anchor: str, day: dt.date, next_due: dt.datetime | None,
                 zone: ZoneInfo, today: dt.date) -> str:
    """The confirmation of a planting report: crop, what and when, and the next tip's local day."""
    what = templates_sms.text("push.what_sown" if anchor == "S" else "push.what_transplanted", lang)
    params = {"crop": crop.name(lang), "what": what, "date": short_day(day, today)}
    if next_due is None:
        return templates_sms.text("push.planted", lang, **params)
    return templates_sms.text("push.planted_next", lang, next=short_day(next_due.astimezone(zone).date(), today),
                              **params)
