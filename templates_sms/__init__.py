"""Every farmer-facing text of Dehqon, in Tajik (default), Russian, Uzbek and English.

Texts live in the ``*.toml`` files of this folder, one table per message key
with one string per language::

    [ussd.main_menu]
    tg = "..."
    ru = "..."
    uz = "..."
    en = "..."

Keys are ``<file stem>.<table path>`` (``ussd.main_menu``), except in
``common.toml`` whose keys carry no prefix (``err.land``). Placeholders use
``str.format`` syntax (``{name}``) and must be the same in all four languages.
A text about a person whose gender is known may have a gendered variant: the key with
``_female`` or ``_male`` appended (``[reg.done_female]`` next to ``[reg.done]``), a complete
four-language table like any other (languages without grammatical gender repeat the text).
:func:`text` picks it when the caller passes ``gender="female"``/``"male"`` (the person's
``Farmer.gender``); without a gender, or without a variant, the plain key is used, which
therefore reads for both (Russian ``зарегистрирован(а)``).
Uzbek is written in Latin script with the ASCII apostrophe (``o'``, ``g'``),
which keeps it in GSM-7 (``docs/message-budgets.md`` §6).
No HTML escaping is ever applied.
"""
from __future__ import annotations

import string
import tomllib
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("tg", "ru", "uz", "en")
#: the genders a text may have a variant for (``<key>_female``, ``<key>_male``), as ``Farmer.gender``
GENDERS = ("female", "male")
DEFAULT_LANGUAGE = "tg"
_HERE = Path(__file__).parent


def _flatten(prefix: str, table: dict, out: dict) -> None:
    if set(table) & set(LANGUAGES) and all(isinstance(v, str) for v in table.values()):
        out[prefix] = table
        return
    for key, value in table.items():
        if isinstance(value, dict):
            _flatten(f"{prefix}.{key}", value, out)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All texts as ``{key: {lang: text}}``, loaded once from the TOML files."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(_HERE.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        if path.stem == "common":
            for key, value in data.items():
                _flatten(key, value, out)
        else:
            _flatten(path.stem, data, out)
    return out


def placeholders(text: str) -> set[str]:
    """Names of the ``{placeholders}`` in a template text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


#: the value of ``{ussd}`` (the USSD code farmers dial) when the caller passes none: ``config.py``'s
#: default ``USSD_SERVICE_CODE``. Never changed at run time: the channels pass the configured code.
DEFAULT_USSD_CODE = "*384*7#"


@lru_cache(maxsize=1)
def keywords() -> dict:
    """``keywords.toml`` as a dict (loaded once): the words farmers type for commands, genders,
    languages, units, quantities, weeks and push words, per language. The one loader of it."""
    with (_HERE / "keywords.toml").open("rb") as fh:
        return tomllib.load(fh)


def text(key: str, lang: str, **params) -> str:
    """The text ``key`` in ``lang`` (Tajik when ``lang`` is unknown) with ``params`` filled in.

    A text naming the USSD code farmers dial takes it as ``ussd=`` (the channels pass
    ``USSD_SERVICE_CODE``; without it, :data:`DEFAULT_USSD_CODE`). ``gender=`` (``female``/``male``,
    the person the text is about) picks the key's gendered variant ``<key>_<gender>`` when there
    is one (module docstring). Raises ``KeyError`` for an unknown key or a missing
    placeholder value.
    """
    gender = params.get("gender")
    if gender in GENDERS and f"{key}_{gender}" in catalogue():
        key = f"{key}_{gender}"
    entry = catalogue()[key]
    template = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return template.format(**{"ussd": DEFAULT_USSD_CODE, **params}) if "{" in template else template


def has(key: str) -> bool:
    """True when ``key`` exists in the catalogue."""
    return key in catalogue()
