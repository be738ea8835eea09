"""Words as farmers type them: the reduced form used to compare them, what a word means
(``keywords.toml``), and a farmer's words repeated in a reply.

The keyword file is loaded once by ``templates_sms.keywords()``; folding follows
``service.reference.names.fold`` (``docs/khatlon.md`` §10).
"""
from __future__ import annotations

import re
from functools import lru_cache

import templates_sms
from service.reference.names import fold

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
