"""One SMS per shared phone: when one push concerns several profiles of a household phone.

A phone can carry several farmer profiles (``service.farmers.models``). When the same
push falls due for more than one of them at the same moment (husband and wife
both reported planting rice on the same day; both set the same price alert),
the phone gets ONE message, which names the people it concerns:

* the people are ordered as the phone's profiles are: the main profile first,
  then by registration (farmer id); each person counts once;
* the message is in the language of the first of them (so the main
  profile's whenever it is concerned), and is sent for that profile
  (``farmer_id`` of the outbox row);
* with two people or more, the text is ``push.for_names``
  (``"{names}: {text}"``): their first names (first word of the name) joined
  by ", ", at most :data:`NAMES_MAX_CHARS` characters, those that do not fit
  counted as ``+N`` (``"Gulnora, Rustam +1"``). The message may take at most
  one SMS segment more than the text alone (:data:`EXTRA_SEGMENTS`; one
  segment is 70 UCS-2 / 160 GSM-7 characters, 67 / 153 in a multi-part
  message) — never more than the separate messages it replaces — else fewer
  names are shown, at worst none.

A message for ONE profile of a phone that carries several (a receipt, a notice, a tip) names
that person too (:func:`named`: ``"Gulnora: Фармоиш 2 ..."``), so that whoever reads the shared
phone knows whose it is; the outbox does this for every row of a personal kind
(:data:`NAMED_KINDS`) sent for a profile (``service.messaging.message.queue_sms``). Broadcasts
to a place (staff alerts) go to a phone once and name no one. The engine finds the profiles
through a lookup the farmers feature registers (:func:`set_directory`), as it imports no feature.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

import templates_sms
from service.messaging.encoding import measure

NAMES_MAX_CHARS = 30
EXTRA_SEGMENTS = 1
#: the outbox kinds that are for one person (named on a shared phone); ``stop_confirm`` is for
#: the phone, ``alert`` and ``broadcast`` for everyone of a place
NAMED_KINDS = ("reply", "notice", "tip")

#: ``lookup(session, farmer_ids) -> {farmer_id: name}`` for those of ``farmer_ids`` whose phone
#: carries several profiles; registered by the farmers feature (:func:`set_directory`)
_shared: Callable[[Session, set[int]], dict[int, str]] | None = None


def set_directory(lookup: Callable[[Session, set[int]], dict[int, str]]) -> None:
    """Register how to find the names of profiles on shared phones: ``lookup(session, farmer_ids)``
    returns ``{farmer_id: registered name}`` for those of the ids whose phone carries more than
    one profile (the others are left out)."""
    global _shared
    _shared = lookup


def shared_names(session: Session, farmer_ids: Iterable[int | None]) -> dict[int, str]:
    """``{farmer_id: first name}`` for those of ``farmer_ids`` (None ignored) whose phone carries
    several profiles; ``{}`` when no lookup is registered."""
    ids = {i for i in farmer_ids if i is not None}
    if not ids or _shared is None:
        return {}
    return {i: first_name(name) for i, name in _shared(session, ids).items()}


def named(text: str, name: str | None, lang: str | None) -> str:
    """``text`` for one person of a shared phone: ``push.for_names`` with their first ``name``
    (``"Gulnora: text"``) in ``lang`` (tg when None). Unchanged when ``name`` is None or the text
    already names them (a word of it is the first name: a receipt with the name, or a text for
    several people that lists it)."""
    if not name:
        return text
    words = {w.strip(".,:;!?()").casefold() for w in text.split()}
    if name.casefold() in words:
        return text
    return templates_sms.text("push.for_names", lang or "tg", names=name[:NAMES_MAX_CHARS], text=text)


@dataclass(frozen=True)
class Person:
    """A profile a push concerns: ``farmer_id``, ``name`` as registered, ``language``
    (tg/ru/uz/en), ``is_main`` True for the phone's main profile."""

    farmer_id: int
    name: str
    language: str
    is_main: bool = False

    @property
    def rank(self) -> tuple[bool, int]:
        """Sort key: the main profile first, then by registration."""
        return (not self.is_main, self.farmer_id)


def ordered(people: Iterable[Person]) -> list[Person]:
    """``people`` once each (by farmer id), main profile first, then by registration."""
    return sorted({p.farmer_id: p for p in people}.values(), key=lambda p: p.rank)


def first_name(name: str) -> str:
    """The first word of a registered name (``"Gulnora Karimova"`` → ``"Gulnora"``)."""
    words = (name or "").split()
    return words[0] if words else "?"


def addressed(render: Callable[[str], str], people: Iterable[Person]) -> tuple[Person, str]:
    """The one SMS for ``people`` (non-empty) of one phone: ``(the person it is sent for, text)``.

    ``render(lang)`` gives the push's own text in a language. One person: that text
    unchanged. Several: ``push.for_names`` by the rule of the module docstring.
    """
    people = ordered(people)
    first = people[0]
    text = render(first.language)
    if len(people) == 1:
        return first, text
    budget = measure(text).segments + EXTRA_SEGMENTS
    names = [first_name(p.name) for p in people]
    for shown in range(len(names), 0, -1):
        label = ", ".join(names[:shown]) + (f" +{len(names) - shown}" if shown < len(names) else "")
        if len(label) > NAMES_MAX_CHARS:
            continue
        combined = templates_sms.text("push.for_names", first.language, names=label, text=text)
        if measure(combined).segments <= budget:
            return first, combined
    return first, text
