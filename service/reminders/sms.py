"""SMS keywords of reminders: the planting dates that start a crop's campaign.

Words in the push block of ``templates_sms/keywords.toml``, texts in ``templates_sms/push.toml``.

| Command | Arguments | Effect |
|---|---|---|
| ``PLANTED`` | ``<crop> [T] [date]`` | ``crop_cycle.record_planting``: the sowing (nursery or direct) date, or with ``T`` the transplanting date; the reply gives the next tip's date |
| ``PLANTED`` | ``<crop> OFF`` | ``crop_cycle.stop_reminders``: no more tips for that crop |
| ``TRANSPLANTED`` | ``<crop> [date]`` | as ``PLANTED <crop> T [date]`` |

Dates as :func:`service.reminders.dates.parse_day` reads them; no date means today
(``TIMEZONE``). A future date is refused.
"""
from __future__ import annotations

from service.db import utcnow
from service.errors import Refusal
from service.reference.words import echo, means
from service.reminders import crop_cycle
from service.reminders.dates import parse_day, planted_text
from service.sms.engine import Command, Context


def planted(ctx: Context, args: list[str], anchor: str = "S") -> None:
    """``PLANTED <crop> [T] [date]`` / ``PLANTED <crop> OFF``."""
    me = ctx.registered()
    today = ctx.today()
    words, day, off = [], None, False
    for word in args:
        if means(word, "transplant"):
            anchor = "T"
        elif means(word, "off"):
            off = True
        elif (found := parse_day(word, today)) is not None:
            if day is not None:
                raise Refusal("push.planted_usage")
            day = found
        elif any(ch.isdigit() for ch in word):
            raise Refusal("push.planted_date", date=echo(word))
        else:
            words.append(word)
    if not words:
        raise Refusal("push.planted_usage")
    crop = ctx.crop(" ".join(words))
    if off:
        dropped = crop_cycle.stop_reminders(ctx.session, me, crop.id)
        ctx.reply("push.planted_off" if dropped else "push.planted_off_none", crop=crop.name(ctx.lang))
        return
    day = day or today
    zone = ctx.settings.timezone
    planting = crop_cycle.record_planting(ctx.session, me, crop.id, anchor, day, now=utcnow(), zone=zone)
    ctx.reply_text(planted_text(ctx.lang, crop, anchor, day, planting.next_due, zone, today))


def transplanted(ctx: Context, args: list[str]) -> None:
    """``TRANSPLANTED <crop> [date]``: as ``PLANTED <crop> T [date]``."""
    planted(ctx, args, "T")


COMMANDS = (Command("planted", planted), Command("transplanted", transplanted))
