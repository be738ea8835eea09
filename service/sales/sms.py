"""SMS keywords of joint sales and yield reports.

| Command | Arguments | Effect |
|---|---|---|
| ``SELL`` | ``<crop> <qty> [kg/t] [week]`` | ``joint_sale.place`` to the cluster's collection centre; an open pledge of that crop and week is changed instead |
| ``SELL CANCEL`` | ``[pledge number or crop]`` | ``joint_sale.cancel_pledge``: the one open pledge (of the crop); several get their list |
| ``OFFER`` | ``<crop> <TJS per kg> <text>`` | staff accounts (``service.staff.commands``): ``joint_sale.make_offer`` to the pledging farmers of the sender's scope |
| ``YIELD`` | ``<crop> <qty> [kg/t/c] <area> [ha/sotka]`` | ``yield_report.record`` |

Quantities default to kg, areas to ha. The week of ``SELL`` is an ISO week
number (``24``, ``W24``, ``2025-W24``) or words for this / next week
(``keywords.toml`` ``[week]``); without one, next week. Offers are kept as typed.
A farmer changes a pledge by sending ``SELL`` again for the same crop and week (the new amount
replaces the old one), or cancels it and pledges another week; ``CANCEL`` is any word of
``[push_word.cancel]`` (``БЕКОР``, ``ОТМЕНА``, ``BEKOR``).
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import templates_sms
from service.errors import Refusal
from service.messaging.encoding import measure
from service.prices.market import parse_tjs
from service.reference import quantity
from service.reference.words import leading_fillers_dropped, means, word_key
from service.sales import joint_sale
from service.sales import yields as yield_report
from service.sms.engine import Command, Context
from service.staff import commands as staff_commands

MAX_WEEKS_AHEAD = 52


@lru_cache(maxsize=1)
def week_words() -> dict[tuple[str, ...], int]:
    """``{word keys: weeks from now}`` for the ``[week]`` words of ``keywords.toml`` (this 0, next 1)."""
    table = templates_sms.keywords()["week"]
    offsets = {"this": 0, "next": 1}
    return {tuple(word_key(p) for p in w.split()): offsets[name] for name, words in table.items() for w in words}


def parse_week(words: list[str], today: dt.date) -> dt.date:
    """The Monday of the week ``words`` name (see the module docstring), from ``today``.

    A week number without a year is the next such week (this one included).
    ``Refusal("sales.sell.week")`` for anything else, a past week or one more than
    :data:`MAX_WEEKS_AHEAD` weeks ahead.
    """
    this = joint_sale.monday(today)
    if not words:
        return this + dt.timedelta(weeks=1)
    keys = tuple(word_key(w) for w in words)
    if keys in week_words():
        return this + dt.timedelta(weeks=week_words()[keys])
    match = re.fullmatch(r"(?:(\d{4})\D*)?\D{0,3}(\d{1,2})", "".join(keys)) if len(words) == 1 else None
    if match is None:
        raise Refusal("sales.sell.week")
    year, number = int(match.group(1) or this.isocalendar().year), int(match.group(2))
    try:
        week = dt.date.fromisocalendar(year, number, 1)
        if match.group(1) is None and week < this:
            week = dt.date.fromisocalendar(year + 1, number, 1)
    except ValueError:
        raise Refusal("sales.sell.week") from None
    if week < this or week > this + dt.timedelta(weeks=MAX_WEEKS_AHEAD):
        raise Refusal("sales.sell.week")
    return week


def cancel(ctx: Context, args: list[str]) -> None:
    """``SELL CANCEL [pledge number | crop]``: cancel the farmer's open pledge; when that names
    several, reply with their list (``sales.cancel.which``)."""
    me = ctx.registered()
    today = ctx.today()
    if len(args) > 1:
        raise Refusal("sales.sell.usage")
    mine = joint_sale.open_pledges(ctx.session, me, today)
    if args and word_key(args[0]).isdigit():
        number = int(word_key(args[0])[:9])
        mine = [p for p in mine if p.id == number]
        if not mine:
            raise Refusal("sales.cancel.unknown", id=number)
    elif args:
        crop = ctx.crop(args[0], "sales.crop_unknown")
        mine = [p for p in mine if p.crop_id == crop.id]
    if not mine:
        raise Refusal("sales.cancel.none")
    if len(mine) > 1:  # the list, as many pledges as fit two SMS (the soonest first)
        listed = ""
        for p in mine:
            item = templates_sms.text("sales.cancel.item", ctx.lang, **joint_sale.pledge_line(ctx.session, p, ctx.lang))
            longer = f"{listed}; {item}" if listed else item
            if listed and measure(templates_sms.text("sales.cancel.which", ctx.lang, list=longer)).segments > 2:
                break
            listed = longer
        raise Refusal("sales.cancel.which", list=listed)
    (row,) = mine
    joint_sale.cancel_pledge(ctx.session, row, today)
    ctx.reply("sales.cancel.done", **joint_sale.pledge_line(ctx.session, row, ctx.lang))


def sell(ctx: Context, args: list[str]) -> None:
    """``SELL <crop> <qty> [unit] [week]``; ``SELL CANCEL ...`` (:func:`cancel`)."""
    me = ctx.registered()
    if args and means(args[0], "cancel"):
        return cancel(ctx, args[1:])
    args = leading_fillers_dropped(args)
    if len(args) < 2:
        raise Refusal("sales.sell.usage")
    crop = ctx.crop(args[0], "sales.crop_unknown")
    value, unit, rest = quantity.read_amount(args[1:])
    grams = quantity.to_grams(value, unit)
    week = parse_week(rest, ctx.today())
    try:
        placed = joint_sale.place(ctx.session, me, crop.id, grams, week, channel="sms")
    except joint_sale.CentreFull as full:
        raise Refusal("sales.sell.full", centre=joint_sale.market_of(ctx.session, full.centre).name(ctx.lang, short=True),
                      free=quantity.mass(full.free_g, ctx.lang)) from None
    ctx.reply(**joint_sale.receipt(ctx.session, placed.pledge, ctx.lang, placed.was_g))


def offer(ctx: Context, args: list[str]) -> None:
    """``OFFER <crop> <TJS per kg> <text>`` from a staff phone."""
    sender = staff_commands.sender(ctx.session, ctx.phone, "offer", not_staff="sms.setprice.not_staff")
    if len(args) < 3:
        raise Refusal("sales.offer.usage")
    crop = ctx.crop(args[0], "sales.crop_unknown")
    diram = parse_tjs(args[1])
    made = joint_sale.make_offer(ctx.session, crop.id, diram, ctx.rest(2), ctx.phone, ctx.today(),
                                 scope=sender.scope, actor=sender.actor)
    ctx.reply("sales.offer.done", crop=crop.name(ctx.lang), farmers=made.farmers_told)


# ---------------------------------------------------------------- yields

def report_yield(ctx: Context, args: list[str]) -> None:
    """``YIELD <crop> <qty> [unit] <area> [unit]``."""
    me = ctx.registered()
    args = leading_fillers_dropped(args)
    if len(args) < 3:
        raise Refusal("yields.usage")
    crop = ctx.crop(args[0], "sales.crop_unknown")
    value, unit, rest = quantity.read_amount(args[1:])
    grams = quantity.to_grams(value, unit)
    if not rest:
        raise Refusal("yields.usage")
    size, area_unit, rest = quantity.read_amount(rest)
    if rest:
        raise Refusal("yields.usage")
    area_m2 = quantity.to_square_metres(size, area_unit)
    report = yield_report.record(ctx.session, me, crop.id, grams, area_m2, year=ctx.today().year,
                                 entered=" ".join(args[1:]))
    ctx.reply("yields.done", crop=crop.name(ctx.lang), qty=quantity.mass(grams, ctx.lang),
              area=quantity.area(area_m2, ctx.lang), per_ha=quantity.per_hectare(report.grams, report.area_m2, ctx.lang))


COMMANDS = (Command("sell", sell), Command("offer", offer, staff=True), Command("yield", report_yield))
