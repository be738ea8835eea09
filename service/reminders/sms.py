"""Push-side SMS keywords: planting dates, price pushes and staff field alerts.

Registered into ``service.sms.engine.COMMANDS`` when imported (the last
lines of ``sms_commands`` import this module); words in the push block of
``templates_sms/keywords.toml``, texts in ``templates_sms/push.toml``.

| Command | Arguments | Effect |
|---|---|---|
| ``PLANTED`` | ``<crop> [T] [date]`` | ``crop_cycle.record_planting``: the sowing (nursery or direct) date, or with ``T`` the transplanting date; the reply gives the next tip's date |
| ``PLANTED`` | ``<crop> OFF`` | ``crop_cycle.stop_reminders``: no more tips for that crop |
| ``TRANSPLANTED`` | ``<crop> [date]`` | as ``PLANTED <crop> T [date]`` |
| ``PRICES ON`` / ``PRICES OFF`` | | ``price_alert.subscribe_prices`` (``PRICES onion`` still lists prices) |
| ``PRICEALERT`` | ``<crop> [above/below] <TJS> [market]`` | ``price_alert.set_price_alert`` (``above`` when not said) |
| ``ALERT`` | ``<district/cluster/PG> <text>`` | STAFF_PHONES only: the preview (recipients, SMS per language, cost) and a code |
| ``ALERT OK`` | ``<code>`` | sends the previewed alert (the scheduler tick queues it) |

Dates (:func:`parse_day`): ``12.05``, ``12/5``, ``12-05``, ``12.05.2027``,
``12.05.27``, ``2027-05-12``, and the words for today and yesterday in the
four languages; no date means today (``TIMEZONE``). A date without a year is
this year's, unless that is more than :data:`YEAR_GUESS_DAYS` ahead (``28.12``
sent on 3 January): then last year's. A future date is refused.

Why ALERT asks for a confirmation
    The issue wants the sender told the recipients, segments per language and
    cost *before* sending. A typo in the target (a cluster for a PG, a
    district for a village) reaches thousands of farmers and costs real money,
    while the confirmation costs the sender one SMS round trip (seconds), which
    a hail or frost warning can afford. The preview is kept per staff phone
    (a ``FormDraft`` of kind ``alert``) for :data:`CONFIRM_WITHIN` with a
    random 4-digit code; a new ALERT replaces it; ``ALERT OK <code>`` must
    name the code of the latest preview, so a late OK cannot send an older
    text. The confirmed alert is stored due now and the next scheduler tick
    queues it (``SCHEDULER_TICK_SECONDS``, 60 s by default): the webhook stays
    one short transaction whatever the audience size.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
import tomllib
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select

import templates_sms
from service.broadcasts import broadcast
from service.reminders import crop_cycle
from service.prices import alerts as price_alert
from service.sms import engine as sms_commands
from service.reference.crops import Crop, crops, find_crop
from service.db import utcnow
from service.messaging.encoding import normalise
from service.errors import Refusal
from service.prices.market import Market, find_market, parse_tjs
from service.sms.engine import KEYWORDS_FILE, Context, echo, money, vocabulary, word_key
from service.ussd.session import FormDraft

YEAR_GUESS_DAYS = 183
CONFIRM_WITHIN = dt.timedelta(minutes=30)
ALERT_DRAFT = "alert"  # FormDraft.kind of a staff alert waiting for its OK
_DAY_MONTH = re.compile(r"(\d{1,2})[./,-](\d{1,2})(?:[./,-](\d{4}|\d{2}))?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


@lru_cache(maxsize=1)
def push_words() -> dict[str, frozenset[str]]:
    """The ``[push_word.*]`` tables of ``keywords.toml``: ``{meaning: word keys}`` (``>``/``<`` as typed)."""
    with KEYWORDS_FILE.open("rb") as fh:
        tables = tomllib.load(fh)["push_word"]
    return {name: frozenset(_key(w) for words in table.values() for w in words) for name, table in tables.items()}


def _key(word: str) -> str:
    return word_key(word) or word.strip()


def means(word: str, meaning: str) -> bool:
    """True when the typed ``word`` is one of the push words for ``meaning`` (``today``, ``off`` ...)."""
    return _key(word) in push_words()[meaning]


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


def _today(ctx: Context) -> dt.date:
    return utcnow().astimezone(ctx.settings.timezone).date()


def _crop(ctx: Context, words: list[str]) -> Crop:
    crop = find_crop(ctx.session, " ".join(words))
    if crop is None:
        raise Refusal("sms.price.crop_unknown", crop=echo(" ".join(words)),
                      crops=", ".join(c.name(ctx.lang) for c in crops(ctx.session)))
    return crop


# ---------------------------------------------------------------- planting

def planted(ctx: Context, args: list[str], anchor: str = "S") -> None:
    """``PLANTED <crop> [T] [date]`` / ``PLANTED <crop> OFF``."""
    me = ctx.registered()
    today = _today(ctx)
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
    crop = _crop(ctx, words)
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
    if not rest or diram is None:
        raise Refusal("push.pricealert_usage")
    at = next((i for i, w in enumerate(rest) if find_crop(ctx.session, w)), 0)
    crop = _crop(ctx, [rest[at]])
    market_words = rest[:at] + rest[at + 1:]
    market = find_market(ctx.session, " ".join(market_words)) if market_words else None
    if market_words and market is None:
        codes = ", ".join(ctx.session.scalars(select(Market.code).order_by(Market.id)))
        raise Refusal("sms.price.market_unknown", market=echo(" ".join(market_words)), markets=codes)
    price_alert.set_price_alert(ctx.session, me, crop.id, diram, direction, market)
    ctx.reply(f"push.pricealert_{direction}", crop=crop.name(ctx.lang), threshold=money(diram, ctx.lang),
              market=market.name(ctx.lang) if market else templates_sms.text("push.any_market", ctx.lang))


# ---------------------------------------------------------------- staff alerts

def _typed_from(ctx: Context, args: list[str], index: int) -> str:
    """The message as typed (commas kept) from ``args[index]`` on."""
    typed = normalise(ctx.inbound.text)
    spaced = re.sub(r"(?<!\d)[,;]|[,;](?!\d)", " ", typed)  # as sms_commands.tokens splits, same length
    spans = [m.start() for m in re.finditer(r"\S+", spaced)]
    first = len(spans) - len(args) + index
    return typed[spans[first]:].strip() if index < len(args) else ""


def _draft(ctx: Context) -> FormDraft | None:
    return ctx.session.scalar(select(FormDraft).where(FormDraft.phone == ctx.phone, FormDraft.kind == ALERT_DRAFT))


def _cost(preview: broadcast.Preview, lang: str) -> str:
    return money(int(preview.cost_tjs * 100), lang)


def alert(ctx: Context, args: list[str]) -> None:
    """``ALERT <district|cluster|PG> <text>``: tell the staff member what it would cost, with a code."""
    target, text = (args[0], _typed_from(ctx, args, 1)) if args else ("", "")
    found = broadcast.field_alert(ctx.session, ctx.phone, target, text,
                                  staff_phones=sorted(ctx.settings.staff_phones),
                                  price_tjs=ctx.settings.sms_price_tjs)
    code = str(1000 + secrets.randbelow(9000))
    row = _draft(ctx)
    if row is None:
        row = FormDraft(phone=ctx.phone, kind=ALERT_DRAFT)
        ctx.session.add(row)
    row.data, row.updated_at = {"target": target, "text": text, "code": code}, utcnow()
    p = found.preview
    langs = ", ".join(f"{lang} {p.by_language[lang]['recipients']}x{p.by_language[lang]['segments']}"
                      for lang in templates_sms.LANGUAGES if lang in p.by_language)
    ctx.reply("push.alert_preview", target=found.label.upper(), count=p.recipients, segments=p.segments,
              langs=langs, cost=_cost(p, ctx.lang), code=code)


def alert_send(ctx: Context, args: list[str]) -> None:
    """``ALERT OK <code>``: send the alert of the latest preview (within :data:`CONFIRM_WITHIN`)."""
    if ctx.phone not in ctx.settings.staff_phones:
        raise Refusal("push.not_staff")
    code = word_key(args[0]) if args else ""
    row = _draft(ctx)
    if row is None or row.data.get("code") != code or utcnow() - row.updated_at > CONFIRM_WITHIN:
        raise Refusal("push.alert_code_unknown", code=echo(code) or "-")
    _, p = broadcast.alert_from_field(ctx.session, ctx.phone, row.data["target"], row.data["text"],
                                      staff_phones=sorted(ctx.settings.staff_phones),
                                      price_tjs=ctx.settings.sms_price_tjs)
    ctx.session.delete(row)
    ctx.reply("push.alert_sent", count=p.recipients, segments=p.segments, cost=_cost(p, ctx.lang))


COMMANDS = {"planted": planted, "transplanted": transplanted, "prices_on": prices_on, "prices_off": prices_off,
            "pricealert": pricealert, "alert": alert, "alert_send": alert_send}
sms_commands.COMMANDS.update(COMMANDS)
