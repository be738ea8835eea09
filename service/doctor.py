"""``flask --app service doctor``: check a deployment's configuration and say what to fix.

:func:`run` takes the settings (``config.py`` names, as ``service.configuration`` gives them)
and returns one :class:`Finding` per check, in order: the webhook token, the gateway's
credentials (and Kannel's sender), the privacy key, the secret key, the metrics token (when that setting exists and is
set), the timezone, the quiet hours, the database (reachable, then migrated to the newest
revision, then holding the reference data the farmer menus need). Each finding is one plain sentence saying what is right or what to do. No finding ever
shows a secret (tokens, keys, passwords are described by their length, never their value), and a
database error is reported by its class and first line with the URL's password taken out.

Nothing here changes anything: the database is only read (a missing SQLite file is not created).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.settings import GATEWAYS, MIN_TOKEN_LENGTH

TOKEN_HINT = "python3 -c 'import secrets; print(secrets.token_hex(16))'"
UPGRADE = "run flask --app service db upgrade"
#: the most hours a day quiet hours may last before no scheduled SMS has time to go (*(Dehqon)*)
MAX_QUIET_HOURS = 14
#: credentials each gateway needs: (setting, what it is); a gateway's settings that exist in
#: ``config.py`` only are checked (another gateway's may not be configured here)
CREDENTIALS: dict[str, tuple[tuple[str, str], ...]] = {
    "africastalking": (("AT_USERNAME", "the Africa's Talking application's username"),
                       ("AT_API_KEY", "its API key, from AT's dashboard, Settings, API Key")),
    "kannel": (("KANNEL_SENDSMS_URL", "the URL of Kannel's sendsms interface"),
               ("KANNEL_USERNAME", "the sendsms user's username"),
               ("KANNEL_PASSWORD", "the sendsms user's password")),
}
#: values of a secret that are placeholders, not secrets
PLACEHOLDERS = {"dev", "development", "secret", "changeme", "change-me", "change_me", "default", "test", "key"}


@dataclass(frozen=True)
class Finding:
    """One check: ``ok`` and the sentence to show (``what`` names the check); ``warn``: ok for the
    exit status, but something this service cannot see may be missing (the sentence says what to
    look at)."""

    what: str
    ok: bool
    sentence: str
    warn: bool = False

    def line(self) -> str:
        """``OK      <sentence>``, ``WARNING <sentence>`` or ``PROBLEM <sentence>``."""
        return f"{'PROBLEM' if not self.ok else 'WARNING' if self.warn else 'OK':<8}{self.sentence}"


def _gateways(config: Mapping) -> list[str]:
    """The gateways this deployment sends through: ``SMS_GATEWAY`` and any named by routes."""
    names = [str(config.get("SMS_GATEWAY") or "local")]
    routes = config.get("SMS_ROUTES") or ""
    for part in (routes if isinstance(routes, (list, tuple)) else str(routes).split(",")):
        if "=" in str(part):
            name = str(part).split("=", 1)[1].strip()
            if name and name not in names:
                names.append(name)
    return names


def check_token(config: Mapping) -> Finding:
    """``WEBHOOK_TOKEN``: required with a real gateway, each token at least 32 characters."""
    tokens = [t for t in (config.get("WEBHOOK_TOKENS") or []) if t]
    required = any(g != "local" for g in _gateways(config))
    short = [t for t in tokens if len(t) < MIN_TOKEN_LENGTH]
    if not tokens:
        if required:
            return Finding("token", False, "WEBHOOK_TOKEN is not set, so anyone can post to the gateway callbacks: "
                                           f"set it to at least {MIN_TOKEN_LENGTH} random characters, e.g. the "
                                           f"output of {TOKEN_HINT}, and add ?key=<token> to every callback URL.")
        return Finding("token", True, "WEBHOOK_TOKEN is not set; the local gateway does not need one.")
    if short:
        return Finding("token", not required,
                       f"WEBHOOK_TOKEN: {len(short)} of {len(tokens)} token(s) shorter than {MIN_TOKEN_LENGTH} "
                       f"characters (the shortest has {min(map(len, short))}): "
                       + (f"replace it with the output of {TOKEN_HINT}." if required
                          else "fine for the local gateway, too short for a real one."))
    return Finding("token", True, f"WEBHOOK_TOKEN: {len(tokens)} token(s), each at least {MIN_TOKEN_LENGTH} characters.")


def check_gateways(config: Mapping) -> list[Finding]:
    """Each configured gateway is known and has its credentials."""
    found = []
    for gateway in _gateways(config):
        if gateway == "local":
            found.append(Finding("gateway", True, "SMS_GATEWAY=local: messages stay in the outbox for the phone "
                                                  "simulator; no farmer receives any."))
            continue
        known = set(GATEWAYS) | {g for g, needs in CREDENTIALS.items() if any(name in config for name, _ in needs)}
        if gateway not in known:
            found.append(Finding("gateway", False, f"The gateway {gateway[:30]!r} is unknown: use one of "
                                                   f"{', '.join(sorted(known))}."))
            continue
        needs = [(name, what) for name, what in CREDENTIALS.get(gateway, ()) if name in config]
        missing = [(name, what) for name, what in needs if not str(config.get(name) or "").strip()]
        if missing:
            found.append(Finding("gateway", False, f"The {gateway} gateway needs "
                                 + "; ".join(f"{name} ({what})" for name, what in missing) + ": set it."))
        elif gateway == "africastalking" and str(config.get("AT_USERNAME")) == "sandbox":
            found.append(Finding("gateway", False, "AT_USERNAME is sandbox: messages go to AT's simulator, not to "
                                                   "phones; set it to the live application's username."))
        else:
            found.append(Finding("gateway", True, f"The {gateway} gateway has its credentials ("
                                 + ", ".join(name for name, _ in needs) + ")."))
            if gateway == "kannel" and "KANNEL_FROM" in config and not str(config.get("KANNEL_FROM") or "").strip():
                found.append(Finding("gateway", True, "KANNEL_FROM (the sender id or short code sent as from) is "
                                                      "empty: smsbox then needs global-sender in its smsbox group, "
                                                      "else it refuses every message with 400 Sender missing "
                                                      "(docs/gateway-kannel.md §8); set one of them.", warn=True))
    return found


def check_privacy_key(config: Mapping) -> Finding | None:
    """``PRIVACY_KEY`` is set on a deployment that reaches phones (``docs/privacy.md`` §3, §4)."""
    if all(g == "local" for g in _gateways(config)):
        return None
    key = str(config.get("PRIVACY_KEY") or "")
    if not key:
        return Finding("privacy", False, "PRIVACY_KEY is not set, so member codes and erased phones' digests use "
                                         "the development key: set it, the same in every process, e.g. to the "
                                         "output of python3 -c 'import secrets; print(secrets.token_hex(32))'.")
    return Finding("privacy", True, f"PRIVACY_KEY is set ({len(key)} characters).")


def check_secret_key(config: Mapping) -> Finding:
    """``SECRET_KEY`` is set (not made afresh by each process) and is not a placeholder."""
    key = str(config.get("SECRET_KEY") or "")
    if not config.get("SECRET_KEY_SET"):
        return Finding("secret", False, "SECRET_KEY is not set, so each process makes its own and the staff pages "
                                        "refuse each other's logins (and all of them after a restart): set it to "
                                        "the output of python3 -c 'import secrets; print(secrets.token_hex(32))'.")
    if key.lower() in PLACEHOLDERS or len(key) < MIN_TOKEN_LENGTH:
        return Finding("secret", False, f"SECRET_KEY is a placeholder or shorter than {MIN_TOKEN_LENGTH} characters "
                                        f"({len(key)}): set it to the output of "
                                        "python3 -c 'import secrets; print(secrets.token_hex(32))'.")
    return Finding("secret", True, f"SECRET_KEY is set ({len(key)} characters).")


def check_metrics_token(config: Mapping) -> Finding | None:
    """``METRICS_TOKEN``, when the setting exists and is set: at least 32 characters."""
    token = str(config.get("METRICS_TOKEN") or "")
    if not token:
        return None
    if len(token) < MIN_TOKEN_LENGTH or token.lower() in PLACEHOLDERS:
        return Finding("metrics", False, f"METRICS_TOKEN has {len(token)} characters: use at least "
                                         f"{MIN_TOKEN_LENGTH}, e.g. the output of {TOKEN_HINT}.")
    return Finding("metrics", True, f"METRICS_TOKEN is set ({len(token)} characters).")


def check_timezone(config: Mapping) -> Finding:
    """``TIMEZONE`` names an IANA zone."""
    name = str(config.get("TIMEZONE") or "Asia/Dushanbe")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return Finding("timezone", False, f"TIMEZONE={name[:40]!r} is not an IANA time zone: use e.g. Asia/Dushanbe.")
    offset = dt.datetime(2026, 1, 1, 12, tzinfo=zone).strftime("%z")
    return Finding("timezone", True, f"TIMEZONE is {name} (UTC{offset[:3]}:{offset[3:]}).")


_HHMM = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")


def _hhmm(value: str) -> dt.time | None:
    m = _HHMM.match(value.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2) or 0) > 59:
        return None
    return dt.time(int(m.group(1)), int(m.group(2) or 0))


def check_quiet_hours(config: Mapping) -> Finding:
    """``QUIET_HOURS_START``/``QUIET_HOURS_END`` are local times (``HH:MM``) and leave the day
    room: at most :data:`MAX_QUIET_HOURS` hours quiet."""
    raw = {name: str(config.get(name) or default) for name, default in
           (("QUIET_HOURS_START", "21:00"), ("QUIET_HOURS_END", "07:00"))}
    times = {name: _hhmm(value) for name, value in raw.items()}
    bad = [name for name, value in times.items() if value is None]
    if bad:
        return Finding("quiet", False, " and ".join(f"{name}={raw[name][:10]!r}" for name in bad)
                       + " is not a time of day: write it as HH:MM, e.g. 21:00.")
    start, end = times["QUIET_HOURS_START"], times["QUIET_HOURS_END"]
    if start == end:
        return Finding("quiet", True, "Quiet hours are off (start equals end): SMS may go at any hour.")
    minutes = ((end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)) % (24 * 60)
    if minutes > MAX_QUIET_HOURS * 60:
        return Finding("quiet", False, f"Quiet hours from {start:%H:%M} to {end:%H:%M} last {minutes / 60:g} hours: "
                                       "scheduled SMS would have little of the day to go; did you swap "
                                       "QUIET_HOURS_START and QUIET_HOURS_END?")
    return Finding("quiet", True, f"Quiet hours from {start:%H:%M} to {end:%H:%M} local time ({minutes / 60:g} hours).")


def _safe_url(url: str) -> str:
    from sqlalchemy import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "DATABASE_URL (unreadable)"


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def check_database(config: Mapping) -> list[Finding]:
    """The database answers, and its schema is at the newest revision of ``service/migrations``."""
    from sqlalchemy import make_url, text

    from service import db as dbmod

    url = str(config.get("DATABASE_URL") or "")
    shown = _safe_url(url)
    try:
        parsed = make_url(url)
    except Exception:
        return [Finding("database", False, "DATABASE_URL is not a database URL: write it as "
                                           "sqlite:///path/to/file.sqlite3 or postgresql+psycopg://user@host/name.")]
    secrets = [parsed.password or "", *(config.get("WEBHOOK_TOKENS") or []),
               *(str(value) for name, value in config.items()
                 if name.endswith(("_KEY", "_PASSWORD", "_TOKEN")) and value and len(str(value)) >= 4)]
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        return [Finding("database", False, f"The database file {parsed.database} does not exist: {UPGRADE} "
                                           "(the service also creates it when it starts with DATABASE_INIT=1).")]
    engine = dbmod.make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = dbmod.current_revisions(engine)
    except Exception as exc:
        first = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0][:200]
        return [Finding("database", False, f"The database {shown} cannot be reached "
                                           f"({type(getattr(exc, 'orig', None) or exc).__name__}: "
                                           f"{_scrub(first, secrets)}): check DATABASE_URL and that the server runs.")]
    finally:
        engine.dispose()
    found = [Finding("database", True, f"The database {shown} answers.")]
    heads = dbmod.head_revisions()
    if current == heads:
        found.append(Finding("migrations", True, f"The schema is at the newest revision ({', '.join(sorted(heads))})."))
        found.append(check_reference(url, secrets))
    elif not current:
        found.append(Finding("migrations", False, f"The database has no schema yet: {UPGRADE}."))
    else:
        known = {revision.id for revision in dbmod.history()}
        if current - known:
            found.append(Finding("migrations", False, f"The database is at revision {', '.join(sorted(current))}, "
                                                      "which this release does not know: it was upgraded by a newer "
                                                      "release; run that release, or restore a backup made for this one."))
        else:
            found.append(Finding("migrations", False, f"The schema is at revision {', '.join(sorted(current))}, "
                                                      f"behind the newest ({', '.join(sorted(heads))}): {UPGRADE}."))
    return found


def check_reference(url: str, secrets: list[str]) -> Finding:
    """The reference data the farmer menus need is present (``service.reference.data.REQUIRED``:
    crops, districts, markets) in the database of ``url``, whose schema is at the newest revision."""
    from service import db as dbmod
    from service.reference import data

    engine = dbmod.make_engine(url)
    try:
        with engine.connect() as connection:
            absent = data.missing(connection)
    except Exception as exc:
        first = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0][:200]
        return Finding("reference", False, f"The reference data cannot be read ({_scrub(first, secrets)}).")
    finally:
        engine.dispose()
    if absent:
        return Finding("reference", False, f"The database holds no {' and no '.join(absent)}: farmers' price and "
                                           "advice questions find nothing; run flask --app service db upgrade "
                                           "(or flask --app service init-db) to load the reference data.")
    return Finding("reference", True, "The reference data is present (" + ", ".join(what for _, what in data.REQUIRED)
                   + ").")


def run(config: Mapping) -> list[Finding]:
    """Every check on ``config`` (``config.py`` names; ``WEBHOOK_TOKENS`` a list, ``SECRET_KEY_SET``
    whether ``SECRET_KEY`` was given rather than made for this process), in order."""
    found = [check_token(config), *check_gateways(config), check_privacy_key(config), check_secret_key(config),
             check_metrics_token(config), check_timezone(config), check_quiet_hours(config), *check_database(config)]
    return [f for f in found if f is not None]
