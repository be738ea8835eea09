"""The language of a phone that has no farmer profile: picked and remembered, else guessed.

A registered farmer is always answered in the profile's language (``Farmer.language``). A phone
without a profile gets, in this order (:func:`for_unknown_phone`):

1. the language it **picked** (SMS ``LANG en``, USSD language screen), remembered per phone in
   :class:`PhoneLanguage`; a later registration from the phone takes it as the profile's language;
2. the language its **text tells** (:func:`guess`), by the rule below;
3. the language it was **last answered in** (the latest outbox row to the phone): a phone told in
   Russian "to restart: START" that sends ``START`` keeps Russian;
4. ``DEFAULT_LANGUAGE`` (Tajik), whatever the script: Latin text with no other clue is not taken
   for English, because the posters and HELP texts show the commands in Latin (``REG``, ``HELP``,
   ``START``), so such a text is most often a Tajik farmer's; an English or Uzbek writer is told
   by their words and letters. (With a Latin ``DEFAULT_LANGUAGE``, Cyrillic text with no clue is Tajik.)

A staff command (``ALERT``, ``SETPRICE``, ``OFFER``, ``ANSWER`` from the phone of an active staff
account, ``service.staff.commands``) is answered in the language its keyword tells, else in the
account's language: its text is written for farmers and tells nothing of the officer's language.
Crop names tell nothing either (people copy a command's example, ``SETPRICE onion ...``).

The guess (:func:`guess`), with its data in ``templates_sms/keywords.toml`` (``[guess.*]`` and every
keyword table that lists words per language). Each word of the text scores:

* 2 for a language only it writes letters of (``[guess.letters]``: Tajik ғ ӣ қ ӯ ҳ ҷ; Russian ц щ ы ь,
  which the Tajik alphabet lacks — Tajik does write ё, э and ъ; Uzbek Latin o' and g');
* 1 for each language a keyword table lists it under (``ЦЕНА`` ru, ``СТОП`` ru, ``NARX`` uz; the
  ``any`` words, those on posters and in every HELP text — ``STOP``, ``REG`` — tell nothing);
* 1 for each language ``[guess.words]`` lists it under (frequent words: ``сколько`` ru, ``чанд`` tg,
  ``qancha`` uz, ``how`` en).

Only the languages of the text's script compete (Cyrillic: tg, ru; Latin: uz, en; both or neither:
all four). The language with the highest score wins; a tie or no score at all tells nothing.

No language-identification library fits: ``langdetect`` and ``langid`` know neither Tajik nor
Uzbek, fastText's model is large and unreliable on the one- to five-word texts farmers send.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.db import Base, utcnow
from service.messaging.message import OutboundMessage
from service.reference.names import LANGUAGES
from service.reference.words import word_key

#: the languages each script writes (Uzbek is written in Latin: ``templates_sms`` docstring)
SCRIPTS = {"cyrillic": ("tg", "ru"), "latin": ("uz", "en")}
#: the language of a script's text when nothing else tells, unless DEFAULT_LANGUAGE is of that script.
#: Latin text that tells nothing gets DEFAULT_LANGUAGE, not English: the posters and every HELP
#: text show the commands in Latin (REG, HELP, START, PRICE), so "REG Gulnora F Dahana" or a bare
#: "help" is most often a Tajik farmer following the poster; an English or Uzbek writer is told by
#: their words (``[guess.words]``), and the USSD first screen offers the language in all four.
SCRIPT_DEFAULT = {"cyrillic": "tg"}
LETTER_SCORE = 2
WORD_SCORE = 1
#: most characters of a text looked at (an SMS is at most a few segments)
MAX_TEXT_CHARS = 1000


class PhoneLanguage(Base):
    """The language a phone picked before it has a profile: ``phone`` E.164, ``language``
    tg/ru/uz/en, ``updated_at`` (UTC) when it was last picked."""

    __tablename__ = "phone_language"
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    language: Mapped[str] = mapped_column(String(2))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def remembered(session: Session, phone: str) -> str | None:
    """The language ``phone`` (E.164) picked, or None when it picked none."""
    row = session.get(PhoneLanguage, phone)
    return row.language if row is not None and row.language in LANGUAGES else None


def remember(session: Session, phone: str, language: str) -> None:
    """Remember that ``phone`` (E.164) picked ``language``; ``ValueError`` outside tg/ru/uz/en."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    row = session.get(PhoneLanguage, phone)
    if row is None:
        session.add(PhoneLanguage(phone=phone, language=language, updated_at=utcnow()))
    else:
        row.language, row.updated_at = language, utcnow()
    session.flush()


def last_answered(session: Session, phone: str) -> str | None:
    """The language of the latest message queued to ``phone`` (E.164), or None."""
    lang = session.scalar(select(OutboundMessage.language).where(OutboundMessage.phone == phone,
                                                                OutboundMessage.language.is_not(None))
                          .order_by(OutboundMessage.id.desc()).limit(1))
    return lang if lang in LANGUAGES else None


# ---------------------------------------------------------------- the guess

@dataclass(frozen=True)
class Clues:
    """``[guess]`` of ``keywords.toml`` read for matching: ``letters`` {lang: the letters or letter
    pairs only it writes}; ``words`` {word key: the languages that list it}."""

    letters: dict[str, tuple[str, ...]]
    words: dict[str, frozenset[str]]


def _per_language(table: dict, words: dict[str, set[str]]) -> None:
    """Collect ``{lang: [words]}`` lists found anywhere in ``table`` (``any`` lists left out)."""
    for key, value in table.items():
        if key in LANGUAGES and isinstance(value, list):
            for w in value:
                if len(w.split()) == 1 and word_key(w):
                    words.setdefault(word_key(w), set()).add(key)
        elif isinstance(value, dict):
            _per_language(value, words)


@lru_cache(maxsize=1)
def clues() -> Clues:
    """The clues of ``templates_sms/keywords.toml`` (loaded once)."""
    data = templates_sms.keywords()
    words: dict[str, set[str]] = {}
    _per_language({k: v for k, v in data.items() if k != "guess"}, words)
    _per_language(data["guess"]["words"], words)
    letters = {lang: tuple(unicodedata.normalize("NFC", x).casefold() for x in found)
               for lang, found in data["guess"]["letters"].items()}
    return Clues(letters, {k: frozenset(v) for k, v in words.items()})


def script(text: str) -> str | None:
    """``"cyrillic"`` or ``"latin"``: the script most letters of ``text`` are in; None for a tie
    or no letters."""
    cyr = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    lat = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if cyr == lat:
        return None
    return "cyrillic" if cyr > lat else "latin"


def scores(text: str, told: tuple[str, ...] = ()) -> dict[str, int]:
    """Each language's score for ``text`` (module docstring): ``{lang: points}`` for tg, ru, uz, en.
    ``told``: the languages the message's leading keyword tells (one more point each; it may be
    of several words, ``НОВАЯ ЦЕНА``). Looks at the first :data:`MAX_TEXT_CHARS` characters."""
    found = clues()
    text = unicodedata.normalize("NFC", text[:MAX_TEXT_CHARS]).casefold().replace("ʻ", "'").replace("‘", "'") \
        .replace("’", "'").replace("`", "'")
    points = dict.fromkeys(LANGUAGES, 0)
    for lang in told:
        points[lang] += WORD_SCORE
    for word in re.split(r"[\s,;:.!?()\"«»]+", text):
        for lang, letters in found.letters.items():
            if any(x in word for x in letters):
                points[lang] += LETTER_SCORE
        for lang in found.words.get(word_key(word), ()):
            points[lang] += WORD_SCORE
    return points


def guess(text: str, told: tuple[str, ...] = ()) -> str | None:
    """The language ``text`` tells by its letters and words, among those of its script, or None
    when nothing tells (no score, or a tie): ``"Сколько стоит лук?"`` → ``"ru"``, ``"help"`` → None."""
    points = scores(text, told)
    candidates = SCRIPTS.get(script(text) or "", LANGUAGES)
    best = max(points[x] for x in candidates)
    top = [x for x in candidates if points[x] == best]
    return top[0] if best > 0 and len(top) == 1 else None


def by_script(text: str, default: str) -> str | None:
    """The language of ``text``'s script when nothing else tells (``default`` when it is one of
    that script's languages), or None when the text has no clear script."""
    found = script(text)
    if found is None:
        return None
    return default if default in SCRIPTS[found] else SCRIPT_DEFAULT.get(found)


def for_unknown_phone(session: Session, phone: str, text: str, default: str, told: tuple[str, ...] = ()) -> str:
    """The language to answer ``phone`` (E.164, no profile) in after it wrote ``text``: picked,
    else guessed, else last answered, else by script, else ``default`` (module docstring)."""
    return (remembered(session, phone) or guess(text, told) or last_answered(session, phone)
            or by_script(text, default) or (default if default in LANGUAGES else "tg"))
