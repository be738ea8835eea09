"""Phone numbers: everything stored and compared as E.164.

Tajik input forms follow ``docs/khatlon.md`` §7 (``+992`` + 9
digits, ``992…``, ``00992…``, ``810992…``, 9 national digits, legacy ``8``
or ``0`` + 9 digits). Parsing and the E.164 form come from ``phonenumbers``;
for +992 only the shape is enforced (stale metadata must not block real
numbers); other countries (e.g. AT's sandbox phones) must be possible numbers.
"""
from __future__ import annotations

import re

import phonenumbers


class InvalidPhone(ValueError):
    """The text is not a phone number we can normalise to E.164."""


def to_e164(raw: str | None) -> str:
    """Normalise a phone as typed or posted by AT to E.164 (``+992901234567``).

    A leading space stands for an un-encoded ``+``. Raises :class:`InvalidPhone`.
    """
    text = (raw or "").strip()
    if raw and raw.startswith(" ") and text[:1].isdigit():
        text = "+" + text
    digits = re.sub(r"[\s\-.()/]", "", text)
    if digits.startswith("+"):
        body = digits[1:]
    elif digits.startswith("810992"):
        body = digits[3:]
    elif digits.startswith("00"):
        body = digits[2:]
    elif digits.startswith("992") and len(digits) == 12:
        body = digits
    elif len(digits) == 9:
        body = "992" + digits
    elif len(digits) == 10 and digits[0] in "08":
        body = "992" + digits[1:]
    else:
        raise InvalidPhone(raw)
    if not body.isdigit():
        raise InvalidPhone(raw)
    try:
        number = phonenumbers.parse("+" + body, None)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(raw) from None
    if number.country_code == 992:
        # shape only: +992 and 9 national digits
        if len(str(number.national_number)) != 9 or len(body) != 12:
            raise InvalidPhone(raw)
    elif not phonenumbers.is_possible_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

