"""Inbound SMS (MO) keywords: store each AT message exactly once and carry out its command.

:func:`receive` takes one message as AT posted it (``docs/gateway-africastalking.md`` §4)
and runs in one transaction: the :class:`~service.messaging.message.InboundMessage` row
is inserted first under its unique ``gateway_id`` (a repeated AT ``id`` stops
there), then the command's effects and its reply in the outbox. If anything
unexpected raises, everything is rolled back and the message is stored again
with ``status="error"`` plus an apology, so nothing is lost and a retry of the
same id is a duplicate. Nothing is sent here: the dispatcher sends the outbox.

Message shape: ``[member code] KEYWORD [arguments]``. Keywords and their
aliases in every language live in ``templates_sms/keywords.toml``; matching
ignores case and punctuation and folds the Tajik letters (``service.reference.names.fold``).
Commands act for the phone's main profile unless the message starts with the
member code of another profile on the same phone (``1207 JOIN VOS03``).

| Command | Arguments | Effect |
|---|---|---|
| ``REG`` | ``<name> <F/M> <village> [crops] [ha]`` | new farmer profile on the phone (see :func:`parse_registration`) |
| ``JOIN`` | ``<PG code>`` | ``membership.join``; the PG's EC members get a notice |
| ``LEAVE`` | | ``membership.leave`` |
| ``PRICE`` | ``<crop> [market]`` | latest price per market, one or two SMS |
| ``LANG`` | ``<tg/ru/uz/en or a language name>`` | the profile's language |
| ``STOP`` / ``START`` | | phone on / off the suppression list (``service.messaging.optout``) |
| ``HELP`` | | the help text |
| ``APPROVE`` | ``<member code>`` | EC members only: ``membership.approve``; the farmer is told |
| ``SETPRICE`` | ``<crop> <market> <TJS per kg>`` | STAFF_PHONES only: today's price (TIMEZONE) |

Anything else gets the help text, at most once per phone in
:data:`HELP_QUIET_PERIOD`; an empty message gets no reply (auto-replies must
not start a loop).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import templates_sms
from service.farmers import models as farmers
from service.groups import membership
from service.messaging import optout
from service.reference.crops import Crop, crops, find_crop
from service.db import utcnow
from service.messaging.encoding import measure, normalise
from service.errors import Refusal
from service.logs import mask_phone
from service.farmers.models import Farmer
from service.reference.geography import Village, find_district, villages_of
from service.prices.market import Market, find_market, latest_prices, parse_tjs, set_price
from service.messaging.message import InboundMessage, OutboundMessage, queue_sms
from service.reference.names import LANGUAGES, fold
from service.reference.phone import InvalidPhone, to_e164
from service.reference.render import tjs as money
from service.groups.producer_group import ProducerGroup, by_code, normalise_code

log = logging.getLogger(__name__)

HELP_QUIET_PERIOD = dt.timedelta(minutes=10)
MAX_REPLY_SEGMENTS = 2
ECHO_MAX = 20  # characters of the farmer's own words repeated in a reply
AT_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")
KEYWORDS_FILE = Path(templates_sms.__file__).parent / "keywords.toml"


@dataclass(frozen=True)
class Settings:
    """What the commands need from the configuration.

    ``staff_phones``: E.164 phones allowed to use SETPRICE and ALERT; ``timezone``: zone of
    "today" for prices and planting dates; ``default_language``: tg/ru/uz/en for unknown phones;
    ``sms_price_tjs``: estimated TJS per SMS segment (alert previews).
    """

    staff_phones: frozenset[str]
    timezone: ZoneInfo
    default_language: str
    sms_price_tjs: float = 0.10

    @classmethod
    def from_config(cls, config: Mapping) -> Settings:
        """Build from the app settings (``STAFF_PHONES``, ``TIMEZONE``, ``DEFAULT_LANGUAGE``).

        Staff phones are normalised with ``to_e164``; one that cannot be is left out (logged).
        """
        staff = set()
        for raw in config.get("STAFF_PHONES") or []:
            try:
                staff.add(to_e164(raw))
            except InvalidPhone:
                log.warning("STAFF_PHONES entry %s is not a phone number; ignored", mask_phone(raw))
        return cls(frozenset(staff), ZoneInfo(config.get("TIMEZONE") or "Asia/Dushanbe"),
                   config.get("DEFAULT_LANGUAGE") or "tg", float(config.get("SMS_PRICE_TJS") or 0.10))


@dataclass(frozen=True)
class Inbound:
    """An MO SMS as AT posted it: every field a string, ``""`` when missing.

    ``gateway_id`` AT ``id``; ``sender`` AT ``from`` (a leading space is an
    un-encoded ``+``); ``date`` in one of :data:`AT_DATE_FORMATS`.
    """

    gateway_id: str
    sender: str
    to: str = ""
    text: str = ""
    date: str = ""
    network_code: str = ""
    link_id: str = ""


# ---------------------------------------------------------------- keywords

@dataclass(frozen=True)
class Word:
    """What a typed word means (``value``: a command, gender or language) and the
    languages it tells (empty: a word for everyone, see ``keywords.toml``)."""

    value: str
    languages: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    """``keywords.toml`` folded for matching: ``commands`` maps a tuple of word keys
    to a :class:`Word` (longest first), ``genders`` and ``languages`` map one key."""

    commands: dict[tuple[str, ...], Word]
    genders: dict[str, Word]
    languages: dict[str, str]
    units: dict[str, set[str]]


def word_key(token: str) -> str:
    """A typed word reduced for comparison: folded, punctuation dropped (``"Stop!"`` → ``"stop"``)."""
    return re.sub(r"[\W_]+", "", fold(token))


def _index(tables: Mapping[str, Mapping[str, list[str]]], key_of: Callable[[str], object]) -> dict:
    """``{key: Word}`` from ``{value: {language or "any": [words]}}``; a key with two values raises."""
    found: dict = {}
    for value, table in tables.items():
        for lang, words in table.items():
            for w in words:
                known, langs = found.setdefault(key_of(w), (value, set()))
                if known != value:
                    raise ValueError(f"keywords.toml: {w!r} means both {known} and {value}")
                langs.add(lang)
    return {key: Word(value, () if "any" in langs else tuple(x for x in LANGUAGES if x in langs))
            for key, (value, langs) in found.items()}


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The keywords of ``templates_sms/keywords.toml`` (loaded once).

    Raises ``ValueError`` when one word means two different things.
    """
    with KEYWORDS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    commands = _index(data["command"], lambda w: tuple(word_key(part) for part in w.split()))
    genders = _index(data["gender"], word_key)
    languages = {word_key(w): lang for lang, words in data["language"].items() for w in words}
    units = {unit: {word_key(w) for w in words} for unit, words in data["unit"].items()}
    longest_first = dict(sorted(commands.items(), key=lambda kv: -len(kv[0])))
    return Vocabulary(longest_first, genders, languages, units)


def tokens(text: str) -> list[str]:
    """Split a message into words: whitespace, and commas or semicolons that are not a
    decimal comma (``"onion,rice 1,5"`` → ``["onion", "rice", "1,5"]``)."""
    text = re.sub(r"(?<!\d)[,;]|[,;](?!\d)", " ", normalise(text))
    return text.split()


@dataclass(frozen=True)
class Parsed:
    """A message split into ``code`` (member code prefix or None), ``command``
    (a command name, or None when no keyword leads the message), ``languages``
    (told by the keyword used) and ``args`` (the words after the keyword, as typed)."""

    code: str | None
    command: str | None
    languages: tuple[str, ...]
    args: list[str]


def parse(text: str) -> Parsed:
    """Read ``[member code] KEYWORD args...``; the keyword must be the first word after the code."""
    words = tokens(text)
    code = None
    if len(words) > 1 and (member := member_id(word_key(words[0]))) is not None:
        code, words = str(member), words[1:]
    keys = [word_key(w) for w in words]
    for alias, meaning in vocabulary().commands.items():
        if tuple(keys[:len(alias)]) == alias:
            return Parsed(code, meaning.value, meaning.languages, words[len(alias):])
    return Parsed(code, None, (), words)


def member_id(code: str) -> int | None:
    """The farmer id a typed member code stands for (1 to 9 digits; ``"01207"`` → 1207), else None."""
    return int(code) if code.isdecimal() and len(code) <= 9 else None


def language_of(languages: tuple[str, ...], default: str) -> str | None:
    """The language a word tells: ``default`` if it is among ``languages``, else the first; None if none."""
    if not languages:
        return None
    return default if default in languages else languages[0]


def languages_of_all(*told: tuple[str, ...]) -> tuple[str, ...]:
    """The languages every one of several words fits (a word for everyone fits all; a word
    that fits none of the others' languages is skipped): РЕГ (tg, ru) + Ж (ru) → (ru,)."""
    langs = set(LANGUAGES)
    for word_langs in told:
        if langs & set(word_langs):
            langs &= set(word_langs)
    return () if len(langs) == len(LANGUAGES) else tuple(x for x in LANGUAGES if x in langs)


def echo(words: str) -> str:
    """The farmer's words as repeated in a reply, cut to :data:`ECHO_MAX` characters."""
    return words if len(words) <= ECHO_MAX else words[:ECHO_MAX - 3] + "..."


def parse_at_date(raw: str) -> dt.datetime | None:
    """AT's ``date`` as an aware UTC datetime (all three formats are UTC); None when unparseable."""
    for fmt in AT_DATE_FORMATS:
        try:
            return dt.datetime.strptime(raw.strip(), fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------- receiving

def _clip(value: str, size: int) -> str | None:
    value = value.replace("\x00", "").strip()
    return value[:size] or None


def receive(session: Session, settings: Settings, msg: Inbound) -> str:
    """Store ``msg`` once and carry out its command, committing the session.

    Returns ``"processed"``, ``"duplicate"`` (this AT id was stored before:
    nothing done), ``"ignored"`` (no id, or no usable sender phone: nothing
    stored) or ``"error"`` (processing raised: stored with ``status="error"``
    and an apology queued). Raises only when even the error record cannot be
    written (the database is unavailable); the session is then rolled back.
    """
    gateway_id = msg.gateway_id.replace("\x00", "").strip()
    try:
        phone = to_e164(msg.sender.replace("\x00", ""))
    except InvalidPhone:
        log.warning("inbound SMS %r ignored: sender %s is not a phone number", gateway_id, mask_phone(msg.sender))
        return "ignored"
    if not gateway_id or len(gateway_id) > 100:
        log.warning("inbound SMS from %s ignored: bad id %r", mask_phone(phone), gateway_id)
        return "ignored"
    sent_at = parse_at_date(msg.date)
    if sent_at is None:
        log.warning("inbound SMS %s: unparseable date %r, using the receive time", gateway_id, msg.date)
        sent_at = utcnow()
    fields = dict(gateway_id=gateway_id, phone=phone, to=_clip(msg.to, 40), text=msg.text.replace("\x00", ""),
                  network_code=_clip(msg.network_code, 12), link_id=_clip(msg.link_id, 100), sent_at=sent_at)

    row = InboundMessage(**fields, status="processed")
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return "duplicate"
    try:
        _carry_out(session, settings, row)
        session.commit()
        return "processed"
    except Exception as exc:  # anything unexpected: keep the message, apologise
        session.rollback()
        log.exception("inbound SMS %s from %s failed", gateway_id, mask_phone(phone))
        return _store_failure(session, settings, fields, exc)


def _store_failure(session: Session, settings: Settings, fields: dict, exc: Exception) -> str:
    row = InboundMessage(**fields, status="error", error=f"{type(exc).__name__}: {exc}"[:2000])
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same id was stored meanwhile by a concurrent delivery
        session.rollback()
        return "duplicate"
    main = farmers.main_profile(session, row.phone)
    lang = main.language if main else settings.default_language
    queue_sms(session, row.phone, templates_sms.text("err.generic", lang), farmer_id=main.id if main else None,
              language=lang, in_reply_to=row.id)
    session.commit()
    return "error"


@dataclass
class Context:
    """One inbound message being carried out: who sent it, for whom it acts, in which language."""

    session: Session
    settings: Settings
    inbound: InboundMessage
    parsed: Parsed
    acting: Farmer | None
    lang: str

    @property
    def phone(self) -> str:
        """The sender's phone (E.164)."""
        return self.inbound.phone

    def reply(self, key: str, *, kind: str = "reply", **params) -> None:
        """Queue the reply ``key`` to the sender, in the reply language."""
        self.reply_text(templates_sms.text(key, self.lang, **params), kind=kind)

    def reply_text(self, text: str, *, kind: str = "reply") -> None:
        """Queue ``text`` to the sender as the reply to this message."""
        queue_sms(self.session, self.phone, text, kind=kind, language=self.lang,
                  farmer_id=self.acting.id if self.acting else None, in_reply_to=self.inbound.id)

    def registered(self) -> Farmer:
        """The acting profile; ``Refusal("err.not_registered")`` when the phone has none."""
        if self.acting is None:
            raise Refusal("err.not_registered")
        return self.acting


def _carry_out(session: Session, settings: Settings, row: InboundMessage) -> None:
    parsed = parse(row.text)
    profiles = farmers.profiles(session, row.phone)
    acting = profiles[0] if profiles else None
    foreign_code = False
    if parsed.code is not None and parsed.command is not None:
        chosen = next((p for p in profiles if p.code == parsed.code), None)
        foreign_code = chosen is None
        acting = chosen or acting
    if acting is not None:
        lang = acting.language
    else:
        lang = language_of(parsed.languages, settings.default_language) or settings.default_language
    ctx = Context(session, settings, row, parsed, acting, lang)
    row.command = parsed.command or ("empty" if not row.text.strip() else "unknown")

    if parsed.command is None:
        _unknown(ctx)
    elif foreign_code and parsed.command not in PHONE_COMMANDS:
        ctx.reply("sms.code_not_here", code=parsed.code)
    else:
        try:
            with session.begin_nested():  # a refusal undoes whatever the command did
                COMMANDS[parsed.command](ctx, parsed.args)
        except Refusal as refusal:
            ctx.reply(refusal.key, **refusal.params)
    row.farmer_id = ctx.acting.id if ctx.acting else None


def _unknown(ctx: Context) -> None:
    """Help for text we do not understand, unless the phone got that help within
    :data:`HELP_QUIET_PERIOD`; nothing for an empty message."""
    if ctx.inbound.command == "empty":
        return
    helped = ctx.session.scalar(
        select(OutboundMessage.id).join(InboundMessage, InboundMessage.id == OutboundMessage.in_reply_to)
        .where(InboundMessage.phone == ctx.phone, InboundMessage.command == "unknown",
               OutboundMessage.created_at >= utcnow() - HELP_QUIET_PERIOD).limit(1))
    if helped is None:
        ctx.reply("sms.help")


# ---------------------------------------------------------------- commands

def _help(ctx: Context, args: list[str]) -> None:
    ctx.reply("sms.help")


def _stop(ctx: Context, args: list[str]) -> None:
    optout.opt_out(ctx.session, ctx.phone, "keyword")
    ctx.reply("sms.stop.done", kind="stop_confirm")


def _start(ctx: Context, args: list[str]) -> None:
    optout.opt_in(ctx.session, ctx.phone)
    ctx.reply("sms.start.done")


def _lang(ctx: Context, args: list[str]) -> None:
    lang = vocabulary().languages.get(word_key(args[0])) if args else None
    if lang is None:
        raise Refusal("sms.lang.usage")
    ctx.lang = lang
    farmers.set_language(ctx.session, ctx.registered(), lang)
    ctx.reply("sms.lang.done")


def _join(ctx: Context, args: list[str]) -> None:
    code = normalise_code("".join(args))
    if not code:
        raise Refusal("sms.join.usage")
    me = ctx.registered()
    pg = by_code(ctx.session, code)
    if pg is None:
        raise Refusal("err.pg_unknown", code=echo(code))
    before = membership.current(ctx.session, me)
    m = membership.join(ctx.session, me, pg)
    if before is not None:
        ctx.reply("sms.join.already", pg=pg.code)
    elif m.status == "active":
        ctx.reply("sms.join.done", pg=pg.code)
    else:
        ctx.reply("sms.join.pending", pg=pg.code)
        _tell_ec(ctx, pg, me)


def _tell_ec(ctx: Context, pg: ProducerGroup, applicant: Farmer) -> None:
    """Notice to each phone of the PG's EC that ``applicant`` waits for approval."""
    told = set()
    for _, ec in membership.ec_members(ctx.session, pg.id):
        if ec.phone in told:
            continue
        told.add(ec.phone)
        text = templates_sms.text("sms.join.ec_notice", ec.language, name=applicant.name,
                                  code=applicant.code, pg=pg.code)
        queue_sms(ctx.session, ec.phone, text, kind="notice", farmer_id=ec.id, language=ec.language)


def _leave(ctx: Context, args: list[str]) -> None:
    m = membership.leave(ctx.session, ctx.registered())
    ctx.reply("sms.leave.done", pg=ctx.session.get(ProducerGroup, m.pg_id).code)


def _approve(ctx: Context, args: list[str]) -> None:
    if not args:
        raise Refusal("sms.approve.usage")
    code = echo(word_key(args[0]))
    approver = ctx.registered()
    applicant = ctx.session.get(Farmer, member_id(code)) if member_id(code) else None
    current = membership.current(ctx.session, applicant) if applicant else None
    was_active = current is not None and current.status == "active"
    m, applicant = membership.approve(ctx.session, approver, code)
    pg = ctx.session.get(ProducerGroup, m.pg_id)
    if was_active:
        ctx.reply("sms.approve.already", name=applicant.name, code=applicant.code)
        return
    ctx.reply("sms.approve.done", name=applicant.name, code=applicant.code, pg=pg.code)
    queue_sms(ctx.session, applicant.phone,
              templates_sms.text("sms.approve.welcome", applicant.language, name=applicant.name, pg=pg.code),
              kind="notice", farmer_id=applicant.id, language=applicant.language)


def _drop_units(words: list[str], unit: str) -> list[str]:
    """Words without the ones that only name ``unit`` (``"0.5 ha"`` → ``"0.5"``)."""
    names = vocabulary().units[unit]
    return [w for w in words if word_key(w) not in names]


def _crop_names(ctx: Context) -> str:
    return ", ".join(c.name(ctx.lang) for c in crops(ctx.session))


def _find_crop(ctx: Context, word: str) -> Crop:
    crop = find_crop(ctx.session, word)
    if crop is None:
        raise Refusal("sms.price.crop_unknown", crop=echo(word), crops=_crop_names(ctx))
    return crop


def _find_market(ctx: Context, words: list[str]) -> Market:
    market = find_market(ctx.session, " ".join(words))
    if market is None:
        codes = ", ".join(ctx.session.scalars(select(Market.code).order_by(Market.id)))
        raise Refusal("sms.price.market_unknown", market=echo(" ".join(words)), markets=codes)
    return market


def _day(day: dt.date, today: dt.date) -> str:
    return day.strftime("%d.%m") if day.year == today.year else day.strftime("%d.%m.%y")


def _today(ctx: Context) -> dt.date:
    return utcnow().astimezone(ctx.settings.timezone).date()


def price_list(session: Session, crop: Crop, market: Market | None, lang: str, today: dt.date,
               near_district: str | None = None) -> str | None:
    """The PRICE reply: a header with the crop and newest date, then one line per market
    ``<market> <TJS> (<change>) [<date if older>]``, the markets of ``near_district`` (the
    farmer's) first, then newest first, cut to at most :data:`MAX_REPLY_SEGMENTS` SMS.
    Markets are named by code in a list of several. None when the crop has no price yet."""
    lines = latest_prices(session, crop.id, market)
    if not lines:
        return None
    lines.sort(key=lambda ln: ln.market.district_id != near_district)  # stable: keeps newest first
    newest = max(ln.observed_on for ln in lines)
    text = templates_sms.text("sms.price.header", lang, crop=crop.name(lang), date=_day(newest, today))
    for ln in lines:
        label = ln.market.name(lang) if market is not None else ln.market.code
        line = f"{label} {money(ln.price_diram, lang)}"
        if ln.change_diram is not None:
            line += f" ({'+' if ln.change_diram > 0 else ''}{money(ln.change_diram, lang)})"
        if ln.observed_on != newest:
            line += f" {_day(ln.observed_on, today)}"
        if measure(f"{text}\n{line}").segments > MAX_REPLY_SEGMENTS:
            break
        text = f"{text}\n{line}"
    return text


def _price(ctx: Context, args: list[str]) -> None:
    if not args:
        raise Refusal("sms.price.usage", crops=_crop_names(ctx))
    crop, rest = find_crop(ctx.session, args[0]), args[1:]
    if crop is None and len(args) > 1:  # "PRICE VOSE onion"
        crop, rest = find_crop(ctx.session, args[-1]), args[:-1]
    if crop is None:
        crop = _find_crop(ctx, args[0])
    market = _find_market(ctx, rest) if rest else None
    village = ctx.session.get(Village, ctx.acting.village_id) if ctx.acting and ctx.acting.village_id else None
    text = price_list(ctx.session, crop, market, ctx.lang, _today(ctx), village.district_id if village else None)
    if text is None:
        ctx.reply("sms.price.none", crop=crop.name(ctx.lang))
    else:
        ctx.reply_text(text)


def _setprice(ctx: Context, args: list[str]) -> None:
    if ctx.phone not in ctx.settings.staff_phones:
        raise Refusal("sms.setprice.not_staff")
    args = _drop_units(args, "tjs")
    if len(args) < 3:
        raise Refusal("sms.setprice.usage")
    crop = _find_crop(ctx, args[0])
    market = _find_market(ctx, args[1:-1])
    diram = parse_tjs(args[-1])
    today = _today(ctx)
    set_price(ctx.session, crop.id, market, diram, today, source=ctx.phone)
    ctx.reply("sms.setprice.done", crop=crop.name(ctx.lang), market=market.code,
              price=money(diram, ctx.lang), date=_day(today, today))


# ---------------------------------------------------------------- REG

@dataclass(frozen=True)
class Registration:
    """A parsed ``REG`` message: ``name``, ``gender`` (female/male), ``village``,
    ``crop_ids`` and ``land_m2`` (None when not given)."""

    name: str
    gender: str
    village: Village
    crop_ids: list[str]
    land_m2: int | None


def _is_quantity(word: str, unit: str) -> bool:
    """True for a number, possibly with its unit attached (``"0,5"``, ``"0.5ha"``, ``"-1"``)."""
    rest = re.sub(r"[-+\d.,]", "", word)
    return any(ch.isdigit() for ch in word) and (not rest or word_key(rest) in vocabulary().units[unit])


def _gender_word(args: list[str]) -> int | None:
    """Index of the gender word: the first known one after the first word (the name comes first)."""
    return next((i for i, w in enumerate(args) if i > 0 and word_key(w) in vocabulary().genders), None)


def parse_registration(session: Session, args: list[str], lang: str) -> Registration:
    """Read ``<name> <gender> <village or district> [crops] [ha]`` (the words after REG).

    The name is every word before the gender word (``F``/``M``, ``З``/``М``,
    ``Ж``/``М``, ``ayol``/``erkak``, ...: never assumed). After it, in any order:
    a number is the land in ha, a crop name is a crop, the other words name the
    place (:func:`find_village`). ``lang``: language of names in refusals.
    Raises ``Refusal``: ``sms.reg.usage`` (nothing given), ``sms.reg.gender``,
    ``err.name``, ``err.land``, or those of :func:`find_village`.
    """
    if not args:
        raise Refusal("sms.reg.usage")
    at = _gender_word(args)
    if at is None:
        raise Refusal("sms.reg.gender")
    name = farmers.clean_name(" ".join(args[:at]))
    gender = vocabulary().genders[word_key(args[at])].value
    land_m2, crop_ids, place = None, [], []
    for word in _drop_units(args[at + 1:], "ha"):
        if _is_quantity(word, "ha"):
            if land_m2 is not None:
                raise Refusal("err.land")
            land_m2 = farmers.parse_land_ha(word)
        elif (crop := find_crop(session, word)) is not None:
            crop_ids.append(crop.id)
        else:
            place.append(word)
    return Registration(name, gender, find_village(session, place, lang), crop_ids, land_m2)


def find_village(session: Session, words: list[str], lang: str) -> Village:
    """The village named by ``words``: a village (or jamoat) name, optionally with its
    district (``Kalinin Balkhi``), or a district that has a single village.

    Raises ``Refusal``: ``sms.reg.place`` (no words), ``sms.reg.place_ambiguous``
    (the name is in several districts), ``sms.reg.which_village`` (a district with
    several villages, named in ``lang``), ``sms.reg.place_unknown``.
    """
    if not words:
        raise Refusal("sms.reg.place")
    villages = list(session.scalars(select(Village).order_by(Village.id)))

    def named(part: list[str], district_ids: set[str] | None = None) -> list[Village]:
        wanted = fold(" ".join(part))
        return [v for v in villages if wanted and any(fold(n) == wanted for n in v.names.values())
                and (district_ids is None or v.district_id in district_ids)]

    hits = named(words)
    if len(hits) == 1:
        return hits[0]
    for k in range(1, len(words)):  # "<village> <district>" or "<district> <village>"
        for place, district in ((words[:k], words[k:]), (words[k:], words[:k])):
            ids = {d.id for d in find_district(session, " ".join(district))}
            found = named(place, ids) if ids else []
            if len(found) == 1:
                return found[0]
    if hits:
        raise Refusal("sms.reg.place_ambiguous", place=echo(" ".join(words)))
    districts = find_district(session, " ".join(words))
    if len(districts) == 1:
        inside = villages_of(session, districts[0].id)
        if len(inside) == 1:
            return inside[0]
        raise Refusal("sms.reg.which_village", district=districts[0].name(lang))
    raise Refusal("sms.reg.place_unknown", place=echo(" ".join(words)))


def _reg(ctx: Context, args: list[str]) -> None:
    """New profile on the phone, in the language its keyword and gender word tell together,
    else the language of the phone's main profile, else DEFAULT_LANGUAGE."""
    default = ctx.settings.default_language
    at = _gender_word(args)
    gender_langs = vocabulary().genders[word_key(args[at])].languages if at is not None else ()
    told = language_of(languages_of_all(ctx.parsed.languages, gender_langs), default)
    if ctx.acting is None and told:
        ctx.lang = told
    reg = parse_registration(ctx.session, args, ctx.lang)
    ctx.acting = farmers.register(ctx.session, phone=ctx.phone, name=reg.name, gender=reg.gender,
                                  village_id=reg.village.id, crop_ids=reg.crop_ids, land_m2=reg.land_m2,
                                  language=told or ctx.lang, via="sms")
    ctx.lang = ctx.acting.language
    ctx.reply("sms.reg.done", name=ctx.acting.name, code=ctx.acting.code)


from service.orders import sms as sms_orders  # noqa: E402  (collective input orders: ORDER, MYORDERS, CANCEL, ...)

COMMANDS: dict[str, Callable[[Context, list[str]], None]] = {
    "reg": _reg, "join": _join, "leave": _leave, "price": _price, "lang": _lang, "stop": _stop,
    "start": _start, "help": _help, "approve": _approve, "setprice": _setprice,
    **sms_orders.COMMANDS,
}
#: commands about the phone, not a profile: a member code of another phone does not matter
PHONE_COMMANDS = ("stop", "start", "help")

# advice, joint sales and yield reports (service/sms_advice.py; it imports this module)
from service.advice import sms as sms_advice  # noqa: E402

COMMANDS.update(sms_advice.COMMANDS)

# Push-side commands (PLANTED, TRANSPLANTED, PRICES ON/OFF, PRICEALERT, ALERT, ALERT OK) live in
# service/sms_push.py, which adds them to COMMANDS; imported last because it uses the helpers above.
from service.reminders import sms as sms_push  # noqa: E402,F401
