"""Logging that no request can forge and that shows no full phone number and no secret.

:func:`install` (called by ``create_app``, so by every entry point: gunicorn
workers, ``flask --app service ...``, the scheduler) wraps the process's
LogRecord factory once. Every record of every logger, whatever handler and
formatter later write it (gunicorn's access and error logs included), is
scrubbed when it is created:

Arguments (``log.info("... %s", value)``, tuples and gunicorn's mapping alike)
    * control characters are escaped: C0 (``\\x00``-``\\x1f``, so CR, LF and
      TAB), DEL, C1 (``\\x80``-``\\x9f``, NEL included) and U+2028/U+2029 are
      written as ``\\n``, ``\\r``, ``\\t``, ``\\xNN`` or ``\\uNNNN``: a value
      from a request can never start a new log line, and nothing is dropped
      (a ``%r`` placeholder shows the value's ``repr`` as before);
    * E.164-looking numbers (``+`` or ``%2B`` and 8 to 15 digits) are masked
      to :func:`mask_phone`'s form ``***567``, a safety net behind the explicit
      masking at each log call that prints a phone;
    * tokens are redacted: ``key=``, ``token=``, ``api_key=``, ``apikey=``,
      ``password=`` and ``secret=`` values at the start of a string or after
      ``?``, ``&``, ``;``, a space or a quote (so a URL's ``?key=...`` as well
      as gunicorn's ``q`` atom ``key=...``) become ``key=[redacted]``, and so do the
      free-text parameters a callback's URL may carry (``text=``, ``answer=``, ``input=``,
      ``session_msg=``: a farmer's message in a Kannel ``get-url``), and the
      configured secrets themselves (``WEBHOOK_TOKEN`` values, ``AT_API_KEY``, ``KANNEL_PASSWORD``,
      8 characters or more) are replaced by ``[redacted]`` wherever they appear.

    Numbers (``int``, ``float``, ``Decimal``, ...) are left as they are, so
    ``%d``/``%.2f`` keep working; other objects are shown through their own
    ``str``/``repr``, scrubbed. A mapping argument (gunicorn's access atoms)
    stays a mapping of the same behaviour (missing atoms still give ``-``), its
    values scrubbed as they are read.

The message itself
    A format string with arguments is code, left alone. A message without
    arguments has its tokens and phones scrubbed but keeps its line breaks
    (e.g. werkzeug's multi-line start-up banner).

Tracebacks
    ``exc_info`` stays a multi-line traceback; its text is rendered once, with
    phones masked and tokens redacted (an SQL error lists its parameters).
"""
from __future__ import annotations

import logging
import numbers
import re
import threading
from collections.abc import Iterable, Iterator, Mapping

MASK = "***"
REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# a + (or %2B) and 8-15 digits, also glued to a word (``s-+992901234567``); or a bare Tajik
# MSISDN (992 and 9 digits) not inside a longer number
_PHONE = re.compile(r"(?<![\d+])(?:(?:\+|%2[Bb])\d{5,12}|992\d{6})(\d{3})(?!\d)")
# terminal colour codes (werkzeug colours its request lines): dropped, not escaped
_SGR = re.compile("\x1b\\[[0-9;]*m")
#: query parameters whose value is a secret, or a farmer's free text (a Kannel MO's ``text``, a
#: delivery report's ``answer``, a USSD hop's ``text``/``INPUT``/``session_msg``)
SECRET_PARAMETERS = ("key", "token", "api_?key", "password", "secret")
TEXT_PARAMETERS = ("text", "answer", "input", "session_msg")
_TOKEN = re.compile(r"(?i)(?<![^?&;\s\"'])((?:%s)=)[^&#\s\"']+" % "|".join(SECRET_PARAMETERS + TEXT_PARAMETERS))

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_pattern: re.Pattern | None = None
_installed = False


def mask_phone(phone: object) -> str:
    """A phone as logs may show it: ``***`` and its last three characters
    (``+992901234567`` → ``***567``); ``-`` for None or an empty value. Works on any
    value (a sender that is not a phone number is masked the same way)."""
    text = "" if phone is None else str(phone).strip()
    if not text:
        return "-"
    return MASK + text[-3:]


def escape_controls(text: str) -> str:
    """``text`` with every control character (C0, DEL, C1, U+2028, U+2029) written as an
    escape (``\\n``, ``\\r``, ``\\t``, ``\\xNN``, ``\\uNNNN``); other characters unchanged."""
    return _CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def redact(text: str) -> str:
    """``text`` with tokens redacted and E.164-looking phones masked (line breaks kept)."""
    if "=" in text:
        text = _TOKEN.sub(r"\1" + REDACTED, text)
    if _secret_pattern is not None:
        text = _secret_pattern.sub(REDACTED, text)
    if "+" in text or "%" in text or "992" in text:
        text = _PHONE.sub(lambda m: MASK + m.group(1), text)
    return text


def scrub(text: str) -> str:
    """What a logged string argument becomes: :func:`redact`, terminal colour codes dropped,
    then :func:`escape_controls`."""
    text = redact(text)
    if "\x1b" in text:
        text = _SGR.sub("", text)
    return escape_controls(text)


def add_secrets(values: Iterable[str | None]) -> None:
    """Redact these values wherever they appear in a log record (those shorter than
    :data:`MIN_SECRET_LENGTH` characters are ignored: they would redact ordinary words)."""
    global _secret_pattern
    fresh = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH} - _secrets
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
        _secret_pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))


class _Text(str):
    """A scrubbed string argument: ``%s`` shows the scrubbed text, ``%r`` the scrubbed repr
    of the original (``repr`` already escapes control characters its own way)."""

    def __new__(cls, original: str, shown: str):
        self = super().__new__(cls, shown)
        self._repr = redact(repr(original))
        return self

    def __repr__(self) -> str:
        return self._repr


class _Shown:
    """An object argument shown through its own ``str``/``repr``, scrubbed."""

    __slots__ = ("_obj",)

    def __init__(self, obj: object):
        self._obj = obj

    def __str__(self) -> str:
        return scrub(str(self._obj))

    def __repr__(self) -> str:
        return scrub(repr(self._obj))


class _ScrubbedMapping(Mapping):
    """A mapping argument (``"%(a)s" % mapping``) whose values are scrubbed as they are read;
    lookups go to the original, so e.g. gunicorn's ``SafeAtoms`` still answers ``-`` for an
    atom it does not have."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: Mapping):
        self._mapping = mapping

    def __getitem__(self, key):
        return _argument(self._mapping[key])

    def __iter__(self) -> Iterator:
        return iter(self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)

    def __repr__(self) -> str:
        return scrub(repr(self._mapping))

    __str__ = __repr__


def _argument(value: object) -> object:
    if isinstance(value, str):
        shown = scrub(value)
        return value if shown == value else _Text(value, shown)
    if value is None or isinstance(value, (numbers.Number, _Text, _Shown)):
        return value
    return _Shown(value)


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Scrub ``record`` in place as the module docstring says; returns it."""
    args = record.args
    if args:
        if isinstance(args, tuple):
            record.args = tuple(_argument(a) for a in args)
        elif isinstance(args, Mapping):
            record.args = _ScrubbedMapping(args)
        else:
            record.args = _argument(args)
    elif isinstance(record.msg, str):
        record.msg = redact(record.msg)
    elif record.msg is not None:
        record.msg = _Shown(record.msg)
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
    return record


_FORMATTER = logging.Formatter()


def install(level: str | int | None = None, secrets: Iterable[str | None] = ()) -> None:
    """Set up this process's logging; idempotent (the app factory calls it for every app).

    Wraps the LogRecord factory once (:func:`scrub_record` on every record), adds
    ``secrets`` (:func:`add_secrets`), and gives the root logger a stderr handler at
    ``level`` (``LOG_LEVEL``, default INFO) unless it already has one (``logging.basicConfig``).
    """
    global _installed
    add_secrets(secrets)
    with _lock:
        if not _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args, **kwargs) -> logging.LogRecord:
                return scrub_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _installed = True
    logging.basicConfig(level=level or "INFO")
