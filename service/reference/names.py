"""Multilingual names and free-text name matching.

Folding follows ``docs/khatlon.md`` §10: NFC, casefold,
Tajik/Uzbek letter folds (ғ→г, қ→к, ҳ→х, ҷ→ч, ӣ→и, ӯ→у, ё→е, ў→у), no hard
or soft signs or apostrophes, generic words (district, jamoat, city) dropped.
"""
from __future__ import annotations

import re
import unicodedata

LANGUAGES = ("tg", "ru", "uz", "en")

_FOLDS = str.maketrans({"ғ": "г", "қ": "к", "ҳ": "х", "ҷ": "ч", "ӣ": "и", "ӯ": "у", "ё": "е", "ў": "у"})
_DROP = re.compile(r"[ъь'ʼʻ‘’`\"]")
_GENERIC = {"ноҳия", "нохия", "район", "district", "ҷамоат", "чамоат", "джамоат", "jamoat",
            "шаҳр", "шахр", "город", "city", "tuman", "туман"}


def fold(text: str) -> str:
    """Fold a name for comparison: ``fold("Кӯлоб") == fold("кулоб")``."""
    text = unicodedata.normalize("NFC", text or "").casefold().translate(_FOLDS)
    text = _DROP.sub("", text)
    text = re.sub(r"[-_.,]+", " ", text)
    words = [w for w in text.split() if w not in _GENERIC]
    return " ".join(words)


def pick(names: dict | None, lang: str, fallback: str = "") -> str:
    """The name in ``lang`` from a ``{"tg": ..., "ru": ..., "uz": ..., "en": ...}`` dict.

    Falls back to English, then Tajik, then any value, then ``fallback``.
    """
    names = names or {}
    for key in (lang, "en", "tg"):
        if names.get(key):
            return names[key]
    return next((v for v in names.values() if v), fallback)
