"""SMS keywords of advice, joint sales and yield reports (registered in ``sms_commands.COMMANDS``).

| Command | Arguments | Effect |
|---|---|---|
| ``ASK`` | ``<question>`` | ``advice.ask``: queued and sent to the responder serving the farmer |
| ``ANSWER`` | ``<number> <text>`` | responders and staff: ``advice.answer``, the farmer gets the text |
| ``SELL`` | ``<crop> <qty> [kg/t] [week]`` | ``joint_sale.pledge`` to the cluster's collection centre |
| ``OFFER`` | ``<crop> <TJS per kg> <text>`` | STAFF_PHONES only: ``joint_sale.make_offer`` to pledging farmers |
| ``YIELD`` | ``<crop> <qty> [kg/t/c] <area> [ha/sotka]`` | ``yield_report.record`` |

Quantities default to kg, areas to ha. The week of ``SELL`` is an ISO week
number (``24``, ``W24``, ``2025-W24``) or words for this / next week
(``keywords.toml`` ``[week]``); without one, next week. Free text (questions,
answers, offers) is kept as typed, commas included.
"""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from functools import lru_cache

from service.advice import questions as advice
from service.sales import joint_sale
from service.reference import quantity
from service.advice import responders as vam_agent
from service.sales import yields as yield_report
from service.sms import engine as sms
from service.reference.crops import Crop, crops, find_crop
from service.messaging.encoding import normalise
from service.errors import Refusal
from service.prices.market import parse_tjs

MAX_WEEKS_AHEAD = 52


def rest_of(ctx: sms.Context, skip: int = 0) -> str:
    """The message as typed after the keyword and ``skip`` more words (commas and all)."""
    raw = normalise(ctx.inbound.text)
    words = sms.tokens(raw)
    pos = 0
    for w in words[:len(words) - len(ctx.parsed.args) + skip]:
        pos = raw.index(w, pos) + len(w)
    return raw[pos:].lstrip(" \t\r\n,;:.-")


def _crop(ctx: sms.Context, word: str) -> Crop:
    crop = find_crop(ctx.session, word)
    if crop is None:
        raise Refusal("sales.crop_unknown", crop=sms.echo(word),
                      crops=", ".join(c.name(ctx.lang) for c in crops(ctx.session)))
    return crop


def _today(ctx: sms.Context) -> dt.date:
    return dt.datetime.now(ctx.settings.timezone).date()


# ---------------------------------------------------------------- advice

def ask(ctx: sms.Context, args: list[str]) -> None:
    """``ASK <question>``."""
    me = ctx.registered()
    question = advice.ask(ctx.session, me, rest_of(ctx), channel="sms")
    ctx.reply("advice.ask.done" if question.responder_id else "advice.ask.waiting", id=question.id)


def answer(ctx: sms.Context, args: list[str]) -> None:
    """``ANSWER <number> <text>``, from a responder's or a staff phone."""
    responders = vam_agent.by_phone(ctx.session, ctx.phone)
    staff = ctx.phone in ctx.settings.staff_phones
    if ctx.acting is None and responders:
        ctx.lang = responders[0].language
    if not responders and not staff:
        raise Refusal("advice.answer.not_responder")
    number = args[0].lstrip("#№") if args else ""
    if sms.member_id(number) is None:
        raise Refusal("advice.answer.usage")
    question = advice.answer(ctx.session, ctx.phone, int(number), rest_of(ctx, 1), staff=staff)
    ctx.reply("advice.answer.done", id=question.id)


# ---------------------------------------------------------------- joint sales

@lru_cache(maxsize=1)
def week_words() -> dict[tuple[str, ...], int]:
    """``{word keys: weeks from now}`` for the ``[week]`` words of ``keywords.toml`` (this 0, next 1)."""
    with sms.KEYWORDS_FILE.open("rb") as fh:
        table = tomllib.load(fh)["week"]
    offsets = {"this": 0, "next": 1}
    return {tuple(sms.word_key(p) for p in w.split()): offsets[name] for name, words in table.items() for w in words}


def parse_week(words: list[str], today: dt.date) -> dt.date:
    """The Monday of the week ``words`` name (see the module docstring), from ``today``.

    A week number without a year is the next such week (this one included).
    ``Refusal("sales.sell.week")`` for anything else, a past week or one more than
    :data:`MAX_WEEKS_AHEAD` weeks ahead.
    """
    this = joint_sale.monday(today)
    if not words:
        return this + dt.timedelta(weeks=1)
    keys = tuple(sms.word_key(w) for w in words)
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


def sell(ctx: sms.Context, args: list[str]) -> None:
    """``SELL <crop> <qty> [unit] [week]``."""
    me = ctx.registered()
    if len(args) < 2:
        raise Refusal("sales.sell.usage")
    crop = _crop(ctx, args[0])
    value, unit, rest = quantity.read_amount(args[1:])
    grams = quantity.to_grams(value, unit)
    week = parse_week(rest, _today(ctx))
    try:
        pledge = joint_sale.pledge(ctx.session, me, crop.id, grams, week, channel="sms")
    except joint_sale.CentreFull as full:
        raise Refusal("sales.sell.full", centre=joint_sale.market_of(ctx.session, full.centre).code,
                      free=quantity.mass(full.free_g, ctx.lang)) from None
    ctx.reply(**done_params(ctx.session, pledge, ctx.lang))


def done_params(session, pledge: joint_sale.Pledge, lang: str) -> dict:
    """The ``sales.sell.done`` confirmation of a pledge: key and placeholders in ``lang``."""
    centre = session.get(joint_sale.CollectionCentre, pledge.centre_id)
    free = centre.capacity_g - joint_sale.pledged_g(session, centre, pledge.season)
    return {"key": "sales.sell.done", "crop": session.get(Crop, pledge.crop_id).name(lang),
            "qty": quantity.mass(pledge.grams, lang), "week": pledge.week.isocalendar().week,
            "date": pledge.week.strftime("%d.%m"), "centre": joint_sale.market_of(session, centre).code,
            "free": quantity.tonnes(free, lang)}


def offer(ctx: sms.Context, args: list[str]) -> None:
    """``OFFER <crop> <TJS per kg> <text>`` from a staff phone."""
    if ctx.phone not in ctx.settings.staff_phones:
        raise Refusal("sms.setprice.not_staff")
    if len(args) < 3:
        raise Refusal("sales.offer.usage")
    crop = _crop(ctx, args[0])
    diram = parse_tjs(args[1])
    made = joint_sale.make_offer(ctx.session, crop.id, diram, rest_of(ctx, 2), ctx.phone, _today(ctx))
    ctx.reply("sales.offer.done", crop=crop.name(ctx.lang), farmers=made.farmers_told)


# ---------------------------------------------------------------- yields

def report_yield(ctx: sms.Context, args: list[str]) -> None:
    """``YIELD <crop> <qty> [unit] <area> [unit]``."""
    me = ctx.registered()
    if len(args) < 3:
        raise Refusal("yields.usage")
    crop = _crop(ctx, args[0])
    value, unit, rest = quantity.read_amount(args[1:])
    grams = quantity.to_grams(value, unit)
    if not rest:
        raise Refusal("yields.usage")
    size, area_unit, rest = quantity.read_amount(rest)
    if rest:
        raise Refusal("yields.usage")
    area_m2 = quantity.to_square_metres(size, area_unit)
    report = yield_report.record(ctx.session, me, crop.id, grams, area_m2, year=_today(ctx).year,
                                 entered=" ".join(args[1:]))
    ctx.reply("yields.done", crop=crop.name(ctx.lang), qty=quantity.mass(grams, ctx.lang),
              area=quantity.area(area_m2, ctx.lang), per_ha=quantity.per_hectare(report.grams, report.area_m2, ctx.lang))


COMMANDS = {"ask": ask, "answer": answer, "sell": sell, "offer": offer, "yield": report_yield}
