"""Words as farmers type them: the reduced form used to compare them, what a word means
(``keywords.toml``), names matched as people write them (:func:`rank`, :func:`decide`), and a
farmer's words repeated in a reply.

The keyword file is loaded once by ``templates_sms.keywords()``; folding follows
``service.reference.names.fold`` (``docs/khatlon.md`` §10).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

import snowballstemmer
from anyascii import anyascii
from rapidfuzz import fuzz

import templates_sms
from service.reference.names import fold

T = TypeVar("T")

#: characters of the farmer's own words repeated in a reply
ECHO_MAX = 20


def word_key(token: str) -> str:
    """A typed word reduced for comparison: folded, punctuation dropped (``"Stop!"`` → ``"stop"``)."""
    return re.sub(r"[\W_]+", "", fold(token))


def _key(word: str) -> str:
    return word_key(word) or word.strip()


@lru_cache(maxsize=1)
def push_words() -> dict[str, frozenset[str]]:
    """The ``[push_word.*]`` tables of ``keywords.toml``: ``{meaning: word keys}`` (``>``/``<`` as typed)."""
    tables = templates_sms.keywords()["push_word"]
    return {name: frozenset(_key(w) for words in table.values() for w in words) for name, table in tables.items()}


def means(word: str, meaning: str) -> bool:
    """True when the typed ``word`` is one of the push words for ``meaning`` (``today``, ``off``, ``above`` ...)."""
    return _key(word) in push_words()[meaning]


def echo(words: str) -> str:
    """The farmer's words as repeated in a reply, cut to :data:`ECHO_MAX` characters."""
    return words if len(words) <= ECHO_MAX else words[:ECHO_MAX - 3] + "..."


# ---------------------------------------------------------------- names as people write them
#
# A name a farmer types (a crop, a market, a village) is compared with the names of the reference
# data in every language, and its aliases, after reducing both sides the same way
# (``docs/khatlon.md`` §10.1):
#
# 1. each word folded and stripped of punctuation (:func:`word_key`: ``"ЛУК!!!"`` → ``"лук"``);
# 2. filler words dropped (``keywords.toml`` ``[filler]``: ``на``, ``по``, ``the`` ...);
# 3. each word stemmed: a Cyrillic word loses a Tajik ending (``keywords.toml`` ``[ending].tg``,
#    Snowball has no Tajik stemmer) and then goes through the Snowball Russian stemmer
#    (``лука``, ``томатов``, ``помидоры`` → ``лук``, ``томат``, ``помидор``); a Latin word loses
#    an Uzbek ending (``[ending].uz``) and goes through the Snowball English stemmer
#    (``tomatoes`` → ``tomato``);
# 4. for comparing across scripts, each word (stemmed and not) transliterated to Latin with
#    anyascii and reduced to the letters that Tajik, Russian and Uzbek spellings of one name
#    share (:func:`sound_key`: ``Гулистон``, ``Guliston``, ``Gulistan`` → ``gulistan``;
#    ``Oqteppa``, ``Okteppa``, ``Октеппа`` → ``aktipa``).
#
# A name whose reduced forms meet the typed words' is an exact match (score 100), as is the one
# name the typed words begin (folded, 3 letters or more: ``пом`` for ``Помидор``). Otherwise the
# score is rapidfuzz's ``fuzz.ratio`` (0-100) of the Latin forms. :func:`decide` turns the scores
# into what to do.

#: a match scoring this much or more (and :data:`MARGIN` ahead of any other) is acted on
SURE = 90
#: a match scoring this much or more, but not sure, is asked about ("did you mean X?"); less is not found
ASK = 70
#: how far the best match must lead the next different one to be sure
MARGIN = 8
#: shortest typed beginning of a name that names it (when it begins one name only)
PREFIX_MIN = 3

_SOUNDS = (("dzh", "j"), ("ch", "j"), ("kh", "h"), ("gh", "g"), ("sh", "s"), ("zh", "j"), ("q", "k"),
           ("x", "h"), ("w", "v"), ("o", "a"), ("y", "i"), ("e", "i"))


@lru_cache(maxsize=1)
def fillers() -> frozenset[str]:
    """Word keys of ``keywords.toml`` ``[filler]`` (every language): words that never name anything."""
    return frozenset(word_key(w) for words in templates_sms.keywords()["filler"].values() for w in words)


@lru_cache(maxsize=1)
def _endings() -> dict[str, tuple[str, ...]]:
    """``[ending]`` of ``keywords.toml`` folded, longest first: ``{"tg": (...), "uz": (...)}``."""
    table = templates_sms.keywords()["ending"]
    return {lang: tuple(sorted({word_key(e) for e in ends}, key=len, reverse=True)) for lang, ends in table.items()}


@lru_cache(maxsize=1)
def _stemmers():
    return snowballstemmer.stemmer("russian"), snowballstemmer.stemmer("english")


def _cut(key: str, ends: tuple[str, ...]) -> str:
    for end in ends:
        if key.endswith(end) and len(key) - len(end) >= PREFIX_MIN:
            return key[: -len(end)]
    return key


@lru_cache(maxsize=4096)
def stem(key: str) -> str:
    """A word key (:func:`word_key`) without its inflection (step 3 above); numbers and words of
    mixed or other scripts as they are. ``stem("томатов") == stem("томат") == "томат"``."""
    russian, english = _stemmers()
    if re.fullmatch(r"[а-яё]+", key):
        return russian.stemWord(_cut(key, _endings().get("tg", ())))
    if re.fullmatch(r"[a-z]+", key):
        return english.stemWord(_cut(key, _endings().get("uz", ())))
    return key


@lru_cache(maxsize=4096)
def sound_key(key: str) -> str:
    """A word key in Latin letters, reduced to what different spellings of one name share (step 4)."""
    latin = re.sub(r"[^a-z0-9]+", "", anyascii(key).lower())
    for a, b in _SOUNDS:
        latin = latin.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", latin)


def name_words(text: str) -> list[str]:
    """The word keys of ``text`` that may name something: punctuation, empty words and fillers
    dropped (``"на лук!!!"`` → ``["лук"]``)."""
    keys = [word_key(w) for w in re.split(r"[\s,;:.!?()\"«»/-]+", text or "")]
    return [k for k in keys if k and k not in fillers()]


def leading_fillers_dropped(words: list[str]) -> list[str]:
    """``words`` (as typed) without the filler words and stray punctuation before the first word
    that may name something (``["the", "onions", "2"]`` → ``["onions", "2"]``)."""
    at = next((i for i, w in enumerate(words) if name_words(w)), len(words))
    return words[at:]


@lru_cache(maxsize=8192)
def forms(text: str) -> frozenset[str]:
    """The reduced forms of a name or typed phrase that count as the same name when equal: the
    stemmed words, and their Latin sound keys with and without stemming (each joined by spaces)."""
    keys = name_words(text)
    if not keys:
        return frozenset()
    stems = [stem(k) for k in keys]
    return frozenset({" ".join(stems), " ".join(sound_key(k) for k in keys), " ".join(sound_key(s) for s in stems)})


def _latin_forms(found: frozenset[str]) -> list[str]:
    return [f for f in found if re.fullmatch(r"[a-z0-9 ]+", f)]


@dataclass(frozen=True)
class Match(Generic[T]):
    """A candidate for the typed words: its ``value`` (a crop, market, village ...), ``score``
    (0-100, see above) and the ``name`` that scored it (as written in the reference data)."""

    value: T
    score: float
    name: str


def rank(text: str, candidates: Iterable[tuple[T, Iterable[str]]]) -> list[Match[T]]:
    """Every candidate ``(value, names)`` scoring :data:`ASK` or more for ``text``, best first (one
    :class:`Match` per value, its best name; ties keep the candidates' order). [] for no words."""
    typed = forms(text)
    if not typed:
        return []
    typed_latin = _latin_forms(typed)
    plain = " ".join(name_words(text))
    out: list[Match] = []
    prefixed: list[Match] = []
    for value, names in candidates:
        best: Match | None = None
        for name in names:
            theirs = forms(name)
            if not theirs:
                continue
            if typed & theirs:
                score = 100.0
            else:
                score = max((fuzz.ratio(a, b) for a in typed_latin for b in _latin_forms(theirs)), default=0.0)
                if len(plain) >= PREFIX_MIN and " ".join(name_words(name)).startswith(plain):
                    prefixed.append(Match(value, 100.0, name))
            if best is None or score > best.score:
                best = Match(value, score, name)
        if best is not None and best.score >= ASK:
            out.append(best)
    exact = {id(m.value) for m in out if m.score == 100}
    if not exact and len({id(m.value) for m in prefixed}) == 1:  # the one name the words begin
        out = [prefixed[0], *(m for m in out if m.value is not prefixed[0].value)]
    return sorted(out, key=lambda m: -m.score)


def decide(ranked: list[Match[T]]) -> tuple[Match[T] | None, bool]:
    """What to do with :func:`rank`'s answer: ``(best, sure)``. ``sure`` when the best scores
    :data:`SURE` or more and leads every other value by :data:`MARGIN` (act on it); ``(best, False)``
    when it is only near (ask "did you mean ...?"); ``(None, False)`` when nothing is near, or
    when two values are equally near (no one of them to suggest)."""
    if not ranked:
        return None, False
    best = ranked[0]
    runner = next((m.score for m in ranked[1:] if m.value is not best.value), 0.0)
    if runner >= best.score:
        return None, False
    return best, best.score >= SURE and best.score - runner >= MARGIN
