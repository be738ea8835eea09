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
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import templates_sms
from service.messaging.encoding import measure

NAMES_MAX_CHARS = 30
EXTRA_SEGMENTS = 1


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
