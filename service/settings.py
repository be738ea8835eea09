"""The service's settings as one frozen object, given to both channels, the scheduler and the CLI.

``config.py`` reads every setting from the environment (its table documents each);
``create_app`` applies the overrides and builds one :class:`Settings` from the result
(:meth:`Settings.from_mapping`), kept as ``app.extensions["dehqon.settings"]``. Nothing is set
at module level at start-up: code that needs a setting is handed this object (or the values it
needs) by its caller.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from service.logs import mask_phone
from service.reference.phone import InvalidPhone, to_e164

log = logging.getLogger(__name__)


def _hhmm(value: str) -> dt.time:
    hours, _, minutes = (value or "00:00").strip().partition(":")
    return dt.time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class Settings:
    """Every setting, typed. Names are those of ``config.py`` in lower case.

    ``timezone``: the IANA zone of everything shown to people (storage is UTC);
    ``staff_phones``: the E.164 phones of the old ``STAFF_PHONES`` list, read only to warn at start
    about those no staff account carries (staff SMS commands act for staff accounts,
    ``service.staff.commands``) and for ``staff import-phones``; ``quiet_start``/``quiet_end``:
    local times of the quiet hours; durations in seconds or hours as their names say;
    ``sms_price_tjs``: TJS per SMS segment (estimate); ``local_delivery``: what the ``local`` gateway
    does with a message (``now``: delivered at once; ``reports``: accepted, delivery reported later);
    ``kannel_*``: the Kannel gateway (``docs/gateway-kannel.md`` §2, ``kannel_timeout`` seconds);
    ``sms_routes``: ``SMS_ROUTES`` parsed, ``((prefix, gateway), ...)`` longest prefix first
    (``service.messaging.gateways.routes``).
    """

    database_url: str = "sqlite:///instance/dehqon.sqlite3"
    sms_gateway: str = "local"
    local_delivery: str = "now"
    webhook_tokens: tuple[str, ...] = ()
    at_username: str = "sandbox"
    at_api_key: str = ""
    at_sender_id: str | None = None
    at_timeout: tuple[float, ...] = (3.05, 9.05)
    kannel_sendsms_url: str = ""
    kannel_username: str = ""
    kannel_password: str = ""
    kannel_from: str | None = None
    kannel_smsc: str | None = None
    kannel_callback_url: str = ""
    kannel_timeout: float = 10.0
    sms_routes: tuple[tuple[str, str], ...] = ()
    ussd_service_code: str = "*384*7#"
    timezone: ZoneInfo = ZoneInfo("Asia/Dushanbe")
    staff_phones: frozenset[str] = frozenset()
    default_language: str = "tg"
    order_round_days: int = 7
    scheduler_embedded: bool = False
    dispatch_interval_seconds: float = 5.0
    dispatch_batch_size: int = 100
    quiet_start: dt.time = dt.time(21, 0)
    quiet_end: dt.time = dt.time(7, 0)
    send_rate_segments_per_second: float = 20.0
    scheduler_tick_seconds: float = 60.0
    scheduler_grace_hours: float = 6.0
    sms_price_tjs: float = 0.10
    advice_escalate_hours: float = 24.0
    max_body_bytes: int = 65536
    proxy_hops: int = 0

    @classmethod
    def from_mapping(cls, config: Mapping) -> Settings:
        """Build from a mapping of ``config.py`` names (``TIMEZONE``, ``STAFF_PHONES`` ...);
        a missing or empty value takes the default above. Staff phones are normalised to E.164;
        one that cannot be is left out (logged, masked). Raises ``ValueError`` (or
        ``ZoneInfoNotFoundError``) for a value of the wrong form (``QUIET_HOURS_START=9pm``)."""
        def get(name, default):
            value = config.get(name)
            return default if value is None or value == "" else value

        staff = set()
        for raw in get("STAFF_PHONES", []) or []:
            try:
                staff.add(to_e164(raw))
            except InvalidPhone:
                log.warning("STAFF_PHONES entry %s is not a phone number; ignored", mask_phone(raw))
        d = cls()
        return cls(
            database_url=str(get("DATABASE_URL", d.database_url)),
            sms_gateway=str(get("SMS_GATEWAY", d.sms_gateway)),
            local_delivery=str(get("LOCAL_DELIVERY", d.local_delivery)),
            webhook_tokens=tuple(get("WEBHOOK_TOKENS", ()) or ()),
            at_username=str(get("AT_USERNAME", d.at_username)),
            at_api_key=str(get("AT_API_KEY", "")),
            at_sender_id=get("AT_SENDER_ID", None) or None,
            at_timeout=tuple(float(x) for x in get("AT_TIMEOUT", d.at_timeout)),
            kannel_sendsms_url=str(get("KANNEL_SENDSMS_URL", "")),
            kannel_username=str(get("KANNEL_USERNAME", "")),
            kannel_password=str(get("KANNEL_PASSWORD", "")),
            kannel_from=get("KANNEL_FROM", None) or None,
            kannel_smsc=get("KANNEL_SMSC", None) or None,
            kannel_callback_url=str(get("KANNEL_CALLBACK_URL", "")),
            kannel_timeout=float(get("KANNEL_TIMEOUT", d.kannel_timeout)),
            sms_routes=_routes(get("SMS_ROUTES", "")),
            ussd_service_code=str(get("USSD_SERVICE_CODE", d.ussd_service_code)),
            timezone=ZoneInfo(str(get("TIMEZONE", "Asia/Dushanbe"))),
            staff_phones=frozenset(staff),
            default_language=str(get("DEFAULT_LANGUAGE", d.default_language)),
            order_round_days=int(get("ORDER_ROUND_DAYS", d.order_round_days)),
            scheduler_embedded=bool(get("SCHEDULER_EMBEDDED", False)),
            dispatch_interval_seconds=float(get("DISPATCH_INTERVAL_SECONDS", d.dispatch_interval_seconds)),
            dispatch_batch_size=int(get("DISPATCH_BATCH_SIZE", d.dispatch_batch_size)),
            quiet_start=_hhmm(str(get("QUIET_HOURS_START", "21:00"))),
            quiet_end=_hhmm(str(get("QUIET_HOURS_END", "07:00"))),
            send_rate_segments_per_second=float(get("SEND_RATE_SEGMENTS_PER_SECOND", 20) or 0),
            scheduler_tick_seconds=float(get("SCHEDULER_TICK_SECONDS", d.scheduler_tick_seconds)),
            scheduler_grace_hours=float(get("SCHEDULER_GRACE_HOURS", d.scheduler_grace_hours)),
            sms_price_tjs=float(get("SMS_PRICE_TJS", d.sms_price_tjs)),
            advice_escalate_hours=float(get("ADVICE_ESCALATE_HOURS", d.advice_escalate_hours)),
            max_body_bytes=int(get("MAX_BODY_BYTES", d.max_body_bytes)),
            proxy_hops=int(get("PROXY_HOPS", 0)),
        )

    def today(self, now: dt.datetime) -> dt.date:
        """The local date (``timezone``) at ``now`` (an aware datetime, UTC or not)."""
        return now.astimezone(self.timezone).date()


def _routes(value) -> tuple[tuple[str, str], ...]:
    """``SMS_ROUTES`` (a string, or pairs already parsed) as parsed pairs; raises :class:`ConfigError`."""
    if isinstance(value, (tuple, list)):
        return tuple(tuple(pair) for pair in value)
    from service.messaging.gateways.routes import parse
    return parse(str(value or ""))


def as_settings(value: Settings | Mapping) -> Settings:
    """``value`` itself when it is a :class:`Settings`, else :meth:`Settings.from_mapping` of it
    (a job's arguments, a test's dict of ``config.py`` names)."""
    return value if isinstance(value, Settings) else Settings.from_mapping(value)


class ConfigError(RuntimeError):
    """A setting that stops the service from starting; the message is one plain sentence naming
    the variable and what to do (it is printed as is, without a traceback)."""


GATEWAYS = ("local", "africastalking", "kannel")
#: ``LOCAL_DELIVERY`` values: delivered at once, or accepted and left for (simulated) delivery reports
LOCAL_DELIVERY = ("now", "reports")
#: shortest ``WEBHOOK_TOKEN`` accepted with a real gateway: 32 characters, e.g. ``secrets.token_hex(16)``;
#: the token is the only thing that tells a gateway's callback from anyone else's request
MIN_TOKEN_LENGTH = 32


def check_startup(config: Mapping) -> None:
    """Refuse settings the service cannot run with, before anything starts.

    ``config``: ``config.py`` names (``SMS_GATEWAY``, ``WEBHOOK_TOKENS`` as a list, ``AT_API_KEY``,
    ``PORT`` ...). Raises :class:`ConfigError` with one sentence when ``SMS_GATEWAY`` is unknown;
    when ``SMS_ROUTES`` is not a list of ``prefix=gateway`` pairs (``service.messaging.gateways.routes``);
    when a real gateway (``africastalking`` or ``kannel``, as ``SMS_GATEWAY`` or in ``SMS_ROUTES``)
    is used without ``WEBHOOK_TOKEN`` or with a token shorter than :data:`MIN_TOKEN_LENGTH`
    characters; when ``africastalking`` is used without ``AT_API_KEY``; when ``kannel`` is used
    without ``KANNEL_SENDSMS_URL``, ``KANNEL_USERNAME`` or ``KANNEL_PASSWORD``, or with a
    ``KANNEL_TIMEOUT`` that is not a positive number; when ``PORT`` is not a port number; or when
    ``USSD_FORMAT`` names no format of ``service.ussd.formats``.
    The ``local`` gateway (phone simulator, tests) accepts any token or none.
    """
    gateway = str(config.get("SMS_GATEWAY") or "local")
    if gateway not in GATEWAYS:
        raise ConfigError(f"SMS_GATEWAY must be one of {', '.join(GATEWAYS)}, not {gateway!r}.")
    from service.ussd import formats as ussd_formats
    ussd_format = str(config.get("USSD_FORMAT") or ussd_formats.DEFAULT).strip().lower()
    if ussd_format not in ussd_formats.FORMATS:
        raise ConfigError(f"USSD_FORMAT must be one of {', '.join(ussd_formats.FORMATS)}, not {ussd_format[:20]!r}.")
    port = str(config.get("PORT") or "5000")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"PORT must be a port number from 1 to 65535, not {port[:20]!r}.")
    from service.messaging.gateways.routes import names
    used = names(_routes(config.get("SMS_ROUTES")), gateway)  # raises for a bad SMS_ROUTES
    if "kannel" in used:
        _check_kannel(config, gateway)
    if gateway == "local":
        local = str(config.get("LOCAL_DELIVERY") or "now")
        if local not in LOCAL_DELIVERY:
            raise ConfigError(f"LOCAL_DELIVERY must be one of {', '.join(LOCAL_DELIVERY)}, not {local[:20]!r}.")
    real = [name for name in used if name != "local"]
    if not real:
        return
    tokens = list(config.get("WEBHOOK_TOKENS") or [])
    if not tokens:
        raise ConfigError(
            f"SMS_GATEWAY={gateway} needs WEBHOOK_TOKEN, the secret the gateway's callbacks carry as ?key= "
            "(Africa's Talking and Kannel sign no callback): set it to at least 32 random characters, "
            "e.g. the output of: python3 -c 'import secrets; print(secrets.token_hex(16))'."
            if gateway != "local" else
            f"SMS_ROUTES sends through {real[0]}, which needs WEBHOOK_TOKEN, the secret the gateway's "
            "callbacks carry as ?key=: set it to at least 32 random characters, "
            "e.g. the output of: python3 -c 'import secrets; print(secrets.token_hex(16))'.")
    short = [t for t in tokens if len(t) < MIN_TOKEN_LENGTH]
    if short:
        raise ConfigError(
            f"WEBHOOK_TOKEN must be at least {MIN_TOKEN_LENGTH} characters long (one of the tokens has "
            f"{len(short[0])}): a short token can be guessed; use e.g. "
            "python3 -c 'import secrets; print(secrets.token_hex(16))'.")
    if "africastalking" in used and not config.get("AT_API_KEY"):
        raise ConfigError(
            "SMS_GATEWAY=africastalking needs AT_API_KEY, the API key of the Africa's Talking application "
            "named by AT_USERNAME (AT's dashboard: Settings, API Key)." if gateway == "africastalking" else
            "SMS_ROUTES sends through africastalking, which needs AT_API_KEY, the API key of the Africa's "
            "Talking application named by AT_USERNAME (AT's dashboard: Settings, API Key).")


def _check_kannel(config: Mapping, gateway: str) -> None:
    """Kannel is used (``SMS_GATEWAY`` or ``SMS_ROUTES``): its sendsms URL and credentials must be set."""
    why = "SMS_GATEWAY=kannel" if gateway == "kannel" else "SMS_ROUTES sends through kannel, which"
    url = str(config.get("KANNEL_SENDSMS_URL") or "")
    if not url:
        raise ConfigError(f"{why} needs KANNEL_SENDSMS_URL, the address of smsbox's sendsms interface, "
                          "e.g. http://127.0.0.1:13013/cgi-bin/sendsms.")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"KANNEL_SENDSMS_URL must be an http:// or https:// address such as "
                          f"http://127.0.0.1:13013/cgi-bin/sendsms, not {url[:60]!r}.")
    if not config.get("KANNEL_USERNAME") or not config.get("KANNEL_PASSWORD"):
        raise ConfigError(f"{why} needs KANNEL_USERNAME and KANNEL_PASSWORD, the username and password "
                          "of a sendsms-user group in Kannel's smsbox configuration.")
    try:
        timeout = float(config.get("KANNEL_TIMEOUT") or 10)
    except (TypeError, ValueError):
        timeout = -1.0
    if not timeout > 0:
        raise ConfigError(f"KANNEL_TIMEOUT must be a number of seconds above 0, "
                          f"not {str(config.get('KANNEL_TIMEOUT'))[:20]!r}.")


#: the defaults of ``config.py`` without any environment: for code and tests that take a
#: ``Settings`` and are given none
DEFAULTS = Settings()
