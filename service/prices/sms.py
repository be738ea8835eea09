"""SMS keywords of market prices: the price list, staff price entry, and price pushes.

| Command | Arguments | Effect |
|---|---|---|
| ``PRICE`` | ``<crop> [market]`` | latest price per market, one or two SMS |
| ``SETPRICE`` | ``<crop> <market> <TJS per kg>`` | staff accounts whose scope covers the market (``service.staff.commands``): today's price (TIMEZONE); an unusual one (``entry.enter_price``: ``market.check_price``) asks for a code first |
| ``SETPRICE OK`` | ``<code>`` | staff only: stores the unusual price of the latest request (``service.sms.confirm``) |
| ``PRICES ON`` / ``PRICES OFF`` | | ``price_alert.subscribe_prices`` (``PRICES onion`` still lists prices) |
| ``PRICEALERT`` | ``<crop> [above/below] <TJS> [market]`` | ``price_alert.set_price_alert`` (``above`` when not said) |
| ``PRICEALERT OFF`` | ``[crop]`` (``OFF`` before or after it) | ``price_alert.cancel_alerts``: every unfired alert (of the crop) |
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

import templates_sms
from service.errors import Refusal
from service.messaging.encoding import measure
from service.prices import alerts as price_alert
from service.prices.entry import enter_price
from service.prices.market import (Market, MarketPrice, PriceLine, last_report, latest_prices, match_market,
                                   nearest_first, parse_tjs, require_market)
from service.reference.crops import Crop, find_crop
from service.reference.geography import Village
from service.reference.render import price as price_text
from service.reference.render import tjs as money
from service.reference.words import echo, means, name_words, word_key
from service.sms import confirm
from service.sms.engine import MAX_REPLY_SEGMENTS, Command, Context, drop_units, vocabulary
from service.staff import commands as staff_commands


def _markets(ctx: Context, staff: bool = False) -> str:
    """The markets an unknown-market reply lists: by code for staff (what SETPRICE takes), else by
    short name in the reply language (what a farmer can type back)."""
    markets = ctx.session.scalars(select(Market).order_by(Market.id))
    return ", ".join(m.code if staff else m.name(ctx.lang, short=True) for m in markets)


def _find_market(ctx: Context, words: list[str], staff: bool = False) -> Market:
    """The market ``words`` name (``match_market``: code or any name, as people write them);
    ``Refusal("sms.did_you_mean")`` when only near, ``Refusal("sms.price.market_unknown")`` with
    the markets (:func:`_markets`) when none is near."""
    market, sure = match_market(ctx.session, " ".join(words))
    if market is None:
        raise Refusal("sms.price.market_unknown", market=echo(" ".join(words)), markets=_markets(ctx, staff))
    if not sure:
        raise Refusal("sms.did_you_mean", word=echo(" ".join(words)), guess=market.name(ctx.lang))
    return market


def _day(day: dt.date, today: dt.date) -> str:
    return day.strftime("%d.%m") if day.year == today.year else day.strftime("%d.%m.%y")


def price_list(session: Session, crop: Crop, market: Market | None, lang: str, today: dt.date,
               near_district: str | None = None, ussd: str = templates_sms.DEFAULT_USSD_CODE) -> str | None:
    """The PRICE reply: a header with the crop and newest date, then one line per market
    ``<market> <TJS> <change> [<date if older>]`` (``service.reference.render.price``), the
    markets of ``near_district`` (the farmer's) first, then newest first, cut to at most
    :data:`MAX_REPLY_SEGMENTS` SMS; when markets are left out, a last line says how many and
    where to see them all (``sms.price.more``, the USSD code ``ussd``). Markets are named by
    their short name in a list of several, by their full name alone. None when the crop has no
    price yet."""
    lines = latest_prices(session, crop.id, market)
    if not lines:
        return None
    lines = nearest_first(lines, near_district)
    newest = max(ln.observed_on for ln in lines)
    head = templates_sms.text("sms.price.header", lang, crop=crop.name(lang), date=_day(newest, today))
    rows = []
    for ln in lines:
        row = price_line(ln, lang, several=market is None)
        if ln.observed_on != newest:
            row += f" {_day(ln.observed_on, today)}"
        rows.append(row)
    for shown in range(len(rows), 0, -1):
        text = "\n".join([head, *rows[:shown]])
        if shown < len(rows):
            text += "\n" + templates_sms.text("sms.price.more", lang, count=len(rows) - shown, ussd=ussd)
        if measure(text).segments <= MAX_REPLY_SEGMENTS:
            return text
    return "\n".join([head, rows[0]])


def price_line(ln: PriceLine, lang: str, several: bool = True) -> str:
    """One market's line of the PRICE reply as farmers read it in ``lang``, no date:
    ``<market> <TJS> <change>`` (``service.reference.render.price``), the market by its short name
    when the line sits in a list of ``several`` markets, else by its full name."""
    return f"{ln.market.name(lang, short=several)} {price_text(ln.price_diram, ln.change_diram, lang)}"


def _price(ctx: Context, args: list[str]) -> None:
    args = [w for w in args if name_words(w)]  # fillers and stray punctuation ("Цены на лук")
    if not args:
        raise Refusal("sms.price.usage", crops=ctx.crop_names())
    crop, rest = find_crop(ctx.session, args[0]), args[1:]
    if crop is None and len(args) > 1:  # "PRICE VOSE onion"
        crop, rest = find_crop(ctx.session, args[-1]), args[:-1]
    if crop is None:
        crop = ctx.crop(args[0])
    market = _find_market(ctx, rest) if rest else None
    village = ctx.session.get(Village, ctx.acting.village_id) if ctx.acting and ctx.acting.village_id else None
    text = price_list(ctx.session, crop, market, ctx.lang, ctx.today(), village.district_id if village else None,
                      ussd=ctx.settings.ussd_service_code)
    if text is None:
        ctx.reply("sms.price.none", crop=crop.name(ctx.lang))
    else:
        ctx.reply_text(text)


SETPRICE_DRAFT = "setprice"  # FormDraft.kind of an unusual price waiting for its OK


def _seen(crop: Crop, market: Market, diram: int, today: dt.date, lang: str, last: MarketPrice | None) -> str:
    """The line farmers will read in a price list once ``diram`` is today's price (change from
    ``last``; the market by its short name, as in the list)."""
    change = diram - last.price_diram if last is not None else None
    return price_line(PriceLine(market, diram, today, change), lang, several=True)


def _setprice(ctx: Context, args: list[str]) -> None:
    """``SETPRICE <crop> <market> <TJS>``: today's price, or a confirmation code when it is unusual
    (``entry.enter_price``); the reply shows the line farmers will read."""
    sender = staff_commands.sender(ctx.session, ctx.phone, "setprice", not_staff="sms.setprice.not_staff")
    args = drop_units(args, "tjs")
    if len(args) < 3:
        raise Refusal("sms.setprice.usage")
    crop = ctx.crop(args[0])
    market = _find_market(ctx, args[1:-1], staff=True)
    require_market(sender.scope, market)  # before any code is held for it
    diram = parse_tjs(args[-1])
    today = ctx.today()
    entry = enter_price(ctx.session, crop.id, market, diram, today, scope=sender.scope, actor=sender.actor,
                        source=ctx.phone)
    check = entry.check
    seen = _seen(crop, market, diram, today, ctx.lang, check.last)
    if entry.stored is not None:
        _done(ctx, crop, market, diram, seen)
        return
    code = confirm.hold(ctx.session, ctx.phone, SETPRICE_DRAFT,
                        {"crop": crop.id, "market": market.code, "diram": diram})
    params = dict(crop=crop.name(ctx.lang), price=money(diram, ctx.lang), seen=seen, code=code)
    if check.last is not None:
        ctx.reply("sms.setprice.confirm_last", last=money(check.last.price_diram, ctx.lang),
                  date=_day(check.last.observed_on, today), **params)
    else:
        ctx.reply("sms.setprice.confirm_range", low=money(check.low, ctx.lang), high=money(check.high, ctx.lang),
                  **params)


def _done(ctx: Context, crop: Crop, market: Market, diram: int, seen: str) -> None:
    today = ctx.today()
    ctx.reply("sms.setprice.done", crop=crop.name(ctx.lang), market=market.code,
              price=money(diram, ctx.lang), date=_day(today, today), seen=seen)


def _setprice_send(ctx: Context, args: list[str]) -> None:
    """``SETPRICE OK <code>``: store the unusual price of the latest confirmation request (within
    ``confirm.CONFIRM_WITHIN``) as today's."""
    sender = staff_commands.sender(ctx.session, ctx.phone, "setprice_send", not_staff="sms.setprice.not_staff")
    code = word_key(args[0]) if args else ""
    held = confirm.take(ctx.session, ctx.phone, SETPRICE_DRAFT, code)
    market = ctx.session.scalar(select(Market).where(Market.code == held["market"])) if held else None
    crop = ctx.session.get(Crop, held["crop"]) if held else None
    if market is None or crop is None:
        raise Refusal("sms.setprice.code_unknown", code=echo(code) or "-")
    today = ctx.today()
    last = last_report(ctx.session, crop.id, market, today)
    enter_price(ctx.session, crop.id, market, held["diram"], today, scope=sender.scope, actor=sender.actor,
                source=ctx.phone, confirmed=True)
    _done(ctx, crop, market, held["diram"], _seen(crop, market, held["diram"], today, ctx.lang, last))


# ---------------------------------------------------------------- price pushes

def prices_on(ctx: Context, args: list[str]) -> None:
    """``PRICES ON``: the weekly price digest."""
    price_alert.subscribe_prices(ctx.session, ctx.registered(), True)
    ctx.reply("push.prices_on")


def prices_off(ctx: Context, args: list[str]) -> None:
    """``PRICES OFF``."""
    price_alert.subscribe_prices(ctx.session, ctx.registered(), False)
    ctx.reply("push.prices_off")


def pricealert(ctx: Context, args: list[str]) -> None:
    """``PRICEALERT <crop> [above|below] <TJS> [market]``: one SMS when the price gets there."""
    me = ctx.registered()
    if args and (means(args[0], "off") or means(args[-1], "off")):
        return pricealert_off(ctx, args[1:] if means(args[0], "off") else args[:-1])
    units = vocabulary().units["tjs"]
    direction, diram, rest = "above", None, []
    for word in args:
        if word[:1] in "<>" and len(word) > 1:  # ">2,5"
            direction, word = ("above" if word[0] == ">" else "below"), word[1:]
        if means(word, "above") or means(word, "below"):
            direction = "above" if means(word, "above") else "below"
        elif word_key(word) in units:
            continue
        elif diram is None and any(ch.isdigit() for ch in word):
            diram = parse_tjs(word)
        else:
            rest.append(word)
    rest = [w for w in rest if name_words(w)]
    if not rest or diram is None:
        raise Refusal("push.pricealert_usage")
    at = next((i for i, w in enumerate(rest) if find_crop(ctx.session, w)), 0)
    crop = ctx.crop(rest[at])
    market_words = [w for w in rest[:at] + rest[at + 1:] if name_words(w)]
    market = _find_market(ctx, market_words) if market_words else None
    price_alert.set_price_alert(ctx.session, me, crop.id, diram, direction, market)
    ctx.reply(f"push.pricealert_{direction}", crop=crop.name(ctx.lang), threshold=money(diram, ctx.lang),
              market=market.name(ctx.lang) if market else templates_sms.text("push.any_market", ctx.lang))


def pricealert_off(ctx: Context, args: list[str]) -> None:
    """``PRICEALERT OFF [crop]`` (or ``PRICEALERT <crop> OFF``): cancel the unfired alerts (of the crop)."""
    crop = ctx.crop(" ".join(args)) if args else None
    dropped = price_alert.cancel_alerts(ctx.session, ctx.registered(), crop.id if crop else None)
    what = crop.name(ctx.lang) if crop else templates_sms.text("push.all_crops", ctx.lang)
    ctx.reply("push.pricealert_off" if dropped else "push.pricealert_off_none", count=dropped, crop=what)


COMMANDS = (Command("price", _price), Command("setprice", _setprice, staff=True),
            Command("setprice_send", _setprice_send, staff=True),
            Command("prices_on", prices_on),
            Command("prices_off", prices_off), Command("pricealert", pricealert))
