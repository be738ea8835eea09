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
member code of another profile on the same phone (``40731226 JOIN VOS03``; the code is
compared with the profiles' stored codes, :func:`is_member_code`). Replies are in the acting
profile's language; a phone without a profile gets the one it picked, else the one its text
tells (``service.messaging.language.for_unknown_phone``).

The engine knows no feature: each feature hands the composition root its
:class:`Command` list (``service/<feature>/sms.py``), which builds one
:class:`Keywords` table; the README's keyword table lists them all. ``HELP`` is the
engine's own: a phone without a profile is told how to register (``sms.help.new``), a
registered farmer the everyday commands (``sms.help.farmer``); ``HELP <command>`` (any
command word of any language: ``ПОМОЩЬ ЗАКАЗ``) answers that command's form,
``sms.help.topic.<command>``.

Text that is no command gets the help text (the loop guard, :func:`_unknown`): per phone
in :data:`HELP_QUIET_PERIOD`, the first unknown text gets the help, a second one that
differs from the first a short "send HELP" (``sms.help.again``), and anything more no
reply while one of those answers is younger than the period; nor does a repeat of the
same text or an empty message (an auto-responder answering our answers gets at most two
replies per period and no loop).

A phone on the suppression list (it sent STOP) that writes anything but STOP or START
still has its command carried out (the replies are dropped at send time), and gets
``sms.stopped`` ("messages are stopped, send START") at most once in
:data:`STOPPED_NOTICE_PERIOD` since it stopped, instead of silence.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import templates_sms
from service.db import utcnow
from service.errors import Refusal
from service.logs import mask_phone
from service.messaging import language as phone_language
from service.messaging.encoding import normalise
from service.messaging.message import InboundMessage, OutboundMessage, queue_sms
from service.messaging.optout import Suppression
from service.reference.names import LANGUAGES
from service.reference.phone import InvalidPhone, to_e164
from service.reference.crops import Crop, crops, match_crop
from service.reference.words import echo, word_key
from service.settings import Settings

log = logging.getLogger(__name__)

HELP_QUIET_PERIOD = dt.timedelta(minutes=10)
STOPPED_NOTICE_PERIOD = dt.timedelta(hours=24)
MAX_REPLY_SEGMENTS = 2


@dataclass(frozen=True)
class Inbound:
    """An MO SMS as the handler read it off the gateway's callback (``""`` when a field is missing).

    ``gateway_id`` the gateway's message id; ``sender`` the phone as sent (any form ``to_e164``
    takes); ``sent_at`` when the gateway received it (aware UTC), or None when it did not say.
    """

    gateway_id: str
    sender: str
    to: str = ""
    text: str = ""
    sent_at: dt.datetime | None = None
    network_code: str = ""
    link_id: str = ""


@dataclass(frozen=True)
class Command:
    """A keyword's action, contributed by a feature. ``name``: the command's value in
    ``keywords.toml`` ``[command.<name>]``; ``run(ctx, args)``: carries it out (raises
    ``Refusal`` to answer with a refusal, undoing its effects); ``per_phone``: it acts on the
    phone, not a profile, so a member code of another phone does not matter (STOP, START, HELP);
    ``staff``: a staff command (``SETPRICE``, ``ALERT`` ...), answered in the language its keyword
    tells, else in the sender's staff account's language (:class:`Keywords` ``staff_language``)."""

    name: str
    run: Callable[["Context", list[str]], None]
    per_phone: bool = False
    staff: bool = False


class Keywords:
    """The SMS application: every :class:`Command` the features contribute, and how to find the
    profiles of a phone (``profiles(session, phone)``: main profile first, each with ``id``,
    ``code``, ``language``, ``village_id``) and, for staff commands, the language of the staff
    account of a phone (``staff_language(session, phone)``: a language code, or None when the phone
    has no active staff account). Built once by the composition root.

    Raises ``ValueError`` for a command given twice, or one ``keywords.toml`` has no words for.
    """

    def __init__(self, profiles: Callable[[Session, str], list], commands: Iterable[Command] = (),
                 staff_language: Callable[[Session, str], str | None] | None = None) -> None:
        self.profiles = profiles
        self.staff_language = staff_language
        self.commands: dict[str, Command] = {"help": Command("help", _help, per_phone=True)}
        self.add(commands)

    def add(self, commands: Iterable[Command]) -> None:
        """Add a feature's commands."""
        known = {w.value for w in vocabulary().commands.values()}
        for command in commands:
            if command.name in self.commands:
                raise ValueError(f"SMS command {command.name!r} given twice")
            if command.name not in known:
                raise ValueError(f"SMS command {command.name!r} has no words in keywords.toml")
            self.commands[command.name] = command


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
    data = templates_sms.keywords()
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
    if len(words) > 1 and is_member_code(first := word_key(words[0])):
        code, words = first, words[1:]
    keys = [word_key(w) for w in words]
    for alias, meaning in vocabulary().commands.items():
        if tuple(keys[:len(alias)]) == alias:
            return Parsed(code, meaning.value, meaning.languages, words[len(alias):])
    return Parsed(code, None, (), words)


def is_member_code(word: str) -> bool:
    """True for a word that has the form of a member code (1 to 8 digits), which the profiles of
    the phone are then looked up by (``service.farmers.models.Farmer.code``), never read as an id."""
    return word.isdecimal() and word.isascii() and len(word) <= 8


def member_id(code: str) -> int | None:
    """A typed number (a question number: 1 to 9 digits; ``"0127"`` → 127), else None. Member codes
    are not numbers: see :func:`is_member_code`."""
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


def drop_units(words: list[str], unit: str) -> list[str]:
    """Words without the ones that only name ``unit`` (``"0.5 ha"`` → ``"0.5"``)."""
    names = vocabulary().units[unit]
    return [w for w in words if word_key(w) not in names]



# ---------------------------------------------------------------- receiving

def _clip(value: str, size: int) -> str | None:
    value = value.replace("\x00", "").strip()
    return value[:size] or None


def receive(session: Session, keywords: Keywords, settings: Settings, msg: Inbound) -> str:
    """Store ``msg`` once and carry out its command (from ``keywords``), committing the session.

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
    sent_at = msg.sent_at or utcnow()
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
        _carry_out(session, keywords, settings, row)
        session.commit()
        return "processed"
    except Exception as exc:  # anything unexpected: keep the message, apologise
        session.rollback()
        log.exception("inbound SMS %s from %s failed", gateway_id, mask_phone(phone))
        return _store_failure(session, keywords, settings, fields, exc)


def _store_failure(session: Session, keywords: Keywords, settings: Settings, fields: dict, exc: Exception) -> str:
    row = InboundMessage(**fields, status="error", error=f"{type(exc).__name__}: {exc}"[:2000])
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same id was stored meanwhile by a concurrent delivery
        session.rollback()
        return "duplicate"
    found = keywords.profiles(session, row.phone)
    main = found[0] if found else None
    lang = main.language if main else phone_language.for_unknown_phone(session, row.phone, row.text,
                                                                       settings.default_language)
    queue_sms(session, row.phone, templates_sms.text("err.generic", lang, ussd=settings.ussd_service_code), farmer_id=main.id if main else None,
              language=lang, in_reply_to=row.id, named=False)
    session.commit()
    return "error"


@dataclass
class Context:
    """One inbound message being carried out: who sent it, for whom it acts, in which language."""

    session: Session
    settings: Settings
    inbound: InboundMessage
    parsed: Parsed
    acting: object | None  # the acting profile (a ``service.farmers.models.Farmer``) or None
    lang: str
    #: True while a command for one person runs (not HELP, STOP, START, unknown text): its replies
    #: name the acting profile on a shared phone
    personal: bool = False

    @property
    def phone(self) -> str:
        """The sender's phone (E.164)."""
        return self.inbound.phone

    def reply(self, key: str, *, kind: str = "reply", named: bool | None = None, **params) -> None:
        """Queue the reply ``key`` to the sender, in the reply language (``{ussd}``: the USSD code);
        ``named`` as :meth:`reply_text`."""
        self.reply_text(templates_sms.text(key, self.lang, ussd=self.settings.ussd_service_code, **params), kind=kind,
                        named=named)

    def reply_text(self, text: str, *, kind: str = "reply", named: bool | None = None) -> None:
        """Queue ``text`` to the sender as the reply to this message; on a shared phone the reply to
        a command for one person names the acting profile (:attr:`personal`; ``named`` overrides it:
        False for a reply about the whole phone; see ``queue_sms``)."""
        queue_sms(self.session, self.phone, text, kind=kind, language=self.lang,
                  farmer_id=self.acting.id if self.acting else None, in_reply_to=self.inbound.id,
                  named=self.personal if named is None else named)

    def today(self) -> dt.date:
        """Today's date in the service's ``TIMEZONE``."""
        return self.settings.today(utcnow())

    def rest(self, skip: int = 0) -> str:
        """The message as typed after the keyword and ``skip`` more words, commas and all (a
        question, an answer, an offer, an alert's text); leading punctuation dropped."""
        raw = normalise(self.inbound.text)
        words = tokens(raw)
        pos = 0
        for w in words[:len(words) - len(self.parsed.args) + skip]:
            pos = raw.index(w, pos) + len(w)
        return raw[pos:].lstrip(" \t\r\n,;:.-")

    def crop_names(self) -> str:
        """The crops' names in the reply language, comma-separated (for usage and refusal texts)."""
        return ", ".join(c.name(self.lang) for c in crops(self.session))

    def crop(self, words: str, refusal: str = "sms.price.crop_unknown") -> Crop:
        """The crop ``words`` name as people write them (``match_crop``: any language, inflected,
        punctuation and fillers dropped); ``Refusal("sms.did_you_mean")`` naming the crop when the
        match is near but not sure, ``Refusal(refusal)`` with the farmer's words (cut) and the crop
        names when none is near."""
        found, sure = match_crop(self.session, words)
        if found is None:
            raise Refusal(refusal, crop=echo(words), crops=self.crop_names())
        if not sure:
            raise Refusal("sms.did_you_mean", word=echo(words), guess=found.name(self.lang))
        return found

    def registered(self):
        """The acting profile; ``Refusal("err.not_registered")`` when the phone has none."""
        if self.acting is None:
            raise Refusal("err.not_registered")
        return self.acting


def _carry_out(session: Session, keywords: Keywords, settings: Settings, row: InboundMessage) -> None:
    parsed = parse(row.text)
    profiles = keywords.profiles(session, row.phone)
    acting = profiles[0] if profiles else None
    foreign_code = False
    if parsed.code is not None and parsed.command is not None:
        chosen = next((p for p in profiles if p.code == parsed.code), None)
        foreign_code = chosen is None
        acting = chosen or acting
    command = keywords.commands.get(parsed.command) if parsed.command else None
    # a staff command's text is written for farmers (an alert, an offer, a price): it tells nothing
    # about the officer's language, only its keyword does; else the staff account's language
    staff_lang = keywords.staff_language(session, row.phone) \
        if command is not None and command.staff and keywords.staff_language else None
    if staff_lang is not None:
        lang = language_of(parsed.languages, staff_lang) or staff_lang
    elif acting is not None:
        lang = acting.language
    else:  # picked, else told by the text, else ... (service.messaging.language)
        lang = phone_language.for_unknown_phone(session, row.phone, row.text, settings.default_language,
                                                parsed.languages)
    ctx = Context(session, settings, row, parsed, acting, lang)
    row.command = parsed.command or ("empty" if not row.text.strip() else "unknown")

    if parsed.command is None:
        _unknown(ctx)
    elif parsed.command not in keywords.commands:  # a keyword no feature of this deployment carries out
        _unknown(ctx)
    elif foreign_code and not keywords.commands[parsed.command].per_phone:
        ctx.reply("sms.code_not_here", code=parsed.code)
    else:
        ctx.personal = not keywords.commands[parsed.command].per_phone  # its replies name the person
        try:
            with session.begin_nested():  # a refusal undoes whatever the command did
                keywords.commands[parsed.command].run(ctx, parsed.args)
        except Refusal as refusal:
            ctx.reply(refusal.key, **refusal.params)
    if row.command not in ("stop", "start", "empty"):
        _tell_stopped(ctx)
    row.farmer_id = ctx.acting.id if ctx.acting else None


def _unknown(ctx: Context) -> None:
    """Help for text we do not understand (the loop guard of the module docstring): the help
    when the phone got no answer to an unknown text within :data:`HELP_QUIET_PERIOD`, the
    short ``sms.help.again`` when it got one, to another text; else nothing, nor for an
    empty message."""
    if ctx.inbound.command == "empty":
        return
    answered = ctx.session.execute(
        select(InboundMessage.text, OutboundMessage.text)
        .join(OutboundMessage, InboundMessage.id == OutboundMessage.in_reply_to)
        .where(InboundMessage.phone == ctx.phone, InboundMessage.command == "unknown",
               InboundMessage.id != ctx.inbound.id, OutboundMessage.kind == "reply",
               OutboundMessage.created_at >= utcnow() - HELP_QUIET_PERIOD).limit(2)).all()
    if not answered:
        _general_help(ctx)
        return
    again = {templates_sms.text("sms.help.again", lang, ussd=ctx.settings.ussd_service_code) for lang in LANGUAGES}
    if len(answered) == 1 and answered[0][1] not in again and \
            _same_words(answered[0][0]) != _same_words(ctx.inbound.text):
        ctx.reply("sms.help.again")


def _same_words(text: str) -> tuple[str, ...]:
    """``text``'s words as compared for "the same text again" (case, punctuation, Tajik letters folded)."""
    return tuple(k for k in (word_key(w) for w in tokens(text)) if k)


def _tell_stopped(ctx: Context) -> None:
    """``sms.stopped`` (kind ``stop_confirm``, the one kind a suppressed phone gets) when the
    phone is suppressed and got no such answer since it stopped, within :data:`STOPPED_NOTICE_PERIOD`."""
    stop = ctx.session.get(Suppression, ctx.phone)
    if stop is None:
        return
    since = max(stop.created_at, utcnow() - STOPPED_NOTICE_PERIOD)
    told = ctx.session.scalar(
        select(OutboundMessage.id).join(InboundMessage, InboundMessage.id == OutboundMessage.in_reply_to)
        .where(OutboundMessage.phone == ctx.phone, OutboundMessage.kind == "stop_confirm",
               InboundMessage.command != "stop", OutboundMessage.created_at >= since).limit(1))
    if told is None:
        ctx.reply("sms.stopped", kind="stop_confirm", named=False)  # about the phone, not one person


# ---------------------------------------------------------------- commands

def _general_help(ctx: Context) -> None:
    ctx.reply("sms.help.new" if ctx.acting is None else "sms.help.farmer")


def _help(ctx: Context, args: list[str]) -> None:
    """HELP: the caller's help; HELP <command word>: that command's form (``sms.help.topic.*``),
    in the language the command word tells when the phone has no profile."""
    topic = parse(" ".join(args)) if args else None
    key = f"sms.help.topic.{topic.command}" if topic and topic.command else None
    if key is None or key not in templates_sms.catalogue():
        _general_help(ctx)
        return
    if ctx.acting is None:
        told = languages_of_all(ctx.parsed.languages, topic.languages)
        ctx.lang = language_of(told, ctx.settings.default_language) or ctx.lang
    ctx.reply(key)
