"""Every setting of the Dehqon service, read from the environment.

Each attribute of :class:`Config` names the environment variable it reads and
its default. ``service.create_app(overrides)`` starts from these values and
applies ``overrides`` (a dict) on top, which is how tests configure the app.

| Variable | Default | Meaning |
|---|---|---|
| ``DATABASE_URL`` | ``sqlite:///instance/dehqon.sqlite3`` | SQLAlchemy URL. SQLite is the embedded default; PostgreSQL (``postgresql+psycopg://...``) for more than one machine. |
| ``DATABASE_INIT`` | ``1`` | On SQLite, bring the schema to the newest migration and load the reference data at start (``init_db``, about 20 ms on a ready database). ``0`` skips that for a database known to be ready: the tests' copies of one prepared per test session. PostgreSQL is never set up at start (``flask init-db``, ``flask db upgrade``): a web process on it (gunicorn, ``serve``) refuses a schema behind the newest migration, unless ``0`` (docs/migrations.md §2). |
| ``SMS_GATEWAY`` | ``local`` | ``local`` keeps MT messages in the outbox for the phone simulator; ``africastalking`` sends them through AT; ``kannel`` through a Kannel SMS gateway (``docs/gateway-kannel.md``). |
| ``SMS_ROUTES`` | empty | Gateway per phone prefix: comma-separated ``prefix=gateway`` pairs, e.g. ``+992=kannel,+2547=africastalking``; the longest matching prefix wins, other phones go through ``SMS_GATEWAY`` (``docs/gateway-kannel.md`` §7). Each gateway named needs its own settings. |
| ``LOCAL_DELIVERY`` | ``now`` | With the ``local`` gateway: ``now`` counts every message delivered at once; ``reports`` leaves it ``accepted`` (sent) with a ``local-...`` message id until a delivery report arrives at ``/sms/delivery``, as AT would post it (``flask --app service outbox simulate-reports`` posts them: some delivered, some failed with a reason). For training and demos of the delivery results. |
| ``WEBHOOK_TOKEN`` | empty | Secret expected as ``?key=`` on every gateway callback. Several tokens separated by commas are all accepted (rotation). Required when ``SMS_GATEWAY`` (or ``SMS_ROUTES``) names ``africastalking`` or ``kannel``, each at least 32 characters (``python3 -c 'import secrets; print(secrets.token_hex(16))'``); the ``local`` gateway accepts any token or none. |
| ``AT_USERNAME`` | ``sandbox`` | Africa's Talking application username. |
| ``AT_API_KEY`` | empty | Africa's Talking API key. |
| ``AT_SENDER_ID`` | empty | Registered short code or alphanumeric sender ID; empty = AT's default sender. |
| ``AT_TIMEOUT`` | ``3.05,9.05`` | (connect, read) HTTP timeout of an AT API call, seconds. |
| ``KANNEL_SENDSMS_URL`` | empty | Kannel smsbox's sendsms address, e.g. ``http://127.0.0.1:13013/cgi-bin/sendsms``. Required when Kannel is ``SMS_GATEWAY`` or in ``SMS_ROUTES``. |
| ``KANNEL_USERNAME`` | empty | ``username`` of a ``sendsms-user`` group of smsbox. Required with Kannel. |
| ``KANNEL_PASSWORD`` | empty | That group's ``password`` (a secret: never logged). Required with Kannel. |
| ``KANNEL_FROM`` | empty | The sender id or short code sent as ``from``; empty = smsbox's ``global-sender``, which must then be set (else smsbox refuses every message: ``400 Sender missing``). |
| ``KANNEL_SMSC`` | empty | ``smsc-id`` of the SMSC connection Kannel should send through; empty = Kannel's own routing. |
| ``KANNEL_CALLBACK_URL`` | empty | Base address at which Kannel reaches this service (e.g. ``http://127.0.0.1:5000``): delivery reports come to ``<it>/kannel/delivery`` (the ``dlr-url``, with the first ``WEBHOOK_TOKEN``); empty = no delivery reports asked for. |
| ``KANNEL_TIMEOUT`` | ``10`` | Seconds to connect to sendsms and to wait for its answer (a timeout after sending leaves the message unconfirmed, never resent). |
| ``USSD_SERVICE_CODE`` | ``*384*7#`` | The USSD code farmers dial. |
| ``USSD_FORMAT`` | ``africastalking`` | The USSD gateway's callback shape (field names, input history or latest input, answer markers): ``africastalking``, ``advanta`` or ``hollatags`` (``docs/gateway-ussd-formats.md``). The phone simulator speaks ``africastalking`` only. |
| ``TIMEZONE`` | ``Asia/Dushanbe`` | IANA zone for everything shown to people; storage is UTC. |
| ``STAFF_PHONES`` | empty | Deprecated: grants nothing. Staff SMS commands (``SETPRICE``, ``ALERT``, ``OFFER``, ``ANSWER``) act for the staff account carrying the sending phone, within its role and scope (``docs/staff.md``). The list is read only to warn at start (logger ``dehqon.staff``) about each phone no active account carries; ``flask --app service staff import-phones`` lists or creates what is missing. |
| ``DEFAULT_LANGUAGE`` | ``tg`` | Language of a phone the service does not know yet (``tg``, ``ru``, ``uz``, ``en``). |
| ``ORDER_ROUND_DAYS`` | ``7`` | Days from opening a PG's input order round to its closing day (orders are taken until the end of that local day). |
| ``SCHEDULER_EMBEDDED`` | ``1`` with SQLite, else ``0`` | Run the APScheduler jobs (outbox dispatcher) inside the web process. |
| ``DISPATCH_INTERVAL_SECONDS`` | ``5`` | How often the dispatcher sends queued MT messages. |
| ``DISPATCH_BATCH_SIZE`` | ``100`` | Outbox rows claimed per dispatcher pass (AT takes at most 100 recipients a call). |
| ``QUIET_HOURS_START`` | ``21:00`` | Local time (``TIMEZONE``) from which no SMS goes to farmers but replies to their own requests and alerts (``service.messaging.rules``). |
| ``QUIET_HOURS_END`` | ``07:00`` | Local time at which held SMS may go again. Equal start and end: no quiet hours. |
| ``SEND_RATE_SEGMENTS_PER_SECOND`` | ``20`` | Sending cap in SMS segments per second over all dispatchers; ``0`` = no cap. AT publishes no rate limit. |
| ``SCHEDULER_TICK_SECONDS`` | ``60`` | How often the scheduler tick queues due reminders, broadcasts and price messages. |
| ``SCHEDULER_GRACE_HOURS`` | ``6`` | After downtime, reminders and broadcasts due at most this long ago are still sent; older ones are skipped and reported. |
| ``SMS_PRICE_TJS`` | ``0.10`` | Estimated price of one SMS segment in TJS, for broadcast previews. Dated and unverified: 0.05 TJS (2016) and 0.10 TJS (2019) retail per part for one operator (``docs/message-budgets.md`` §5). |
| ``ADVICE_ESCALATE_HOURS`` | ``24`` | Hours a farmer's question may wait for an answer before it goes to the next responder level (VAM agent → lead farmer → extension). |
| ``MAX_BODY_BYTES`` | ``65536`` | Largest request body accepted, bytes (64 KiB; an AT callback is at most a few KiB). A larger body gets 413, except on ``/ussd``: an immediate 200 ``END`` (a 4xx would show the caller a network error). Also the form parser's memory cap; a form holds at most 100 fields (``handlers.common.MAX_FORM_FIELDS``). |
| ``IMPORT_MAX_BYTES`` | ``8388608`` | Largest programme file (or files together) the import reads, bytes (8 MiB: the 1,496-farmer demo workbook is about 110 KB). The staff import page accepts an upload body of this size plus 64 KiB for the form (its own limit, above ``MAX_BODY_BYTES``); each sheet holds at most 20,000 rows and a cell at most 400 characters (``service.programme.sheets``). |
| ``AUDIT_EXPORT_MAX_ROWS`` | ``10000`` | Most audit entries one download of the staff audit log page (CSV or XLSX) holds: the newest of the filter (``docs/staff.md`` §7). |
| ``IMPORT_DIR`` | ``instance/staff-imports`` | Folder where the staff import page keeps a checked upload (mode 600) until it is imported or a newer one replaces it; files older than a day are removed. |
| ``PROXY_HOPS`` | ``0`` | Number of trusted reverse proxies in front of the app (``X-Forwarded-*`` is read only from them). |
| ``HOST`` | ``127.0.0.1`` | Interface ``flask --app service serve`` (and so ``make run``) listens on; ``0.0.0.0`` to reach the simulator from another machine. ``make run HOST=0.0.0.0`` sets it. |
| ``PORT`` | ``5000`` | Port of ``flask --app service serve`` and ``make run`` (``make run PORT=5001``). A port number from 1 to 65535, else the service does not start. |
| ``SECRET_KEY`` | random per process | Flask secret key (signed cookies, the staff session id's signature). Set it when more than one web process serves the staff pages, else each process refuses the others' sessions. |
| ``STAFF_SESSION_DIR`` | ``instance/staff-sessions`` | Folder of the staff pages' server-side sessions (one file each, mode 600). Every web process of a host must share it. |
| ``STAFF_SESSION_MINUTES`` | ``60`` | A staff session unused this long ends (the staff member logs in again). |
| ``STAFF_SESSION_MAX_HOURS`` | ``12`` | A staff session ends this long after its login, used or not. |
| ``STAFF_COOKIE_SECURE`` | ``0`` | ``1`` behind TLS: the staff session cookie is sent over HTTPS only. |
| ``PRIVACY_KEY`` | empty (a development key) | Secret that keys the member codes of bulk-inserted farmers and the digests kept of erased phones (``docs/privacy.md``). Set it (e.g. ``python3 -c 'import secrets; print(secrets.token_hex(32))'``) on every real deployment, the same in every process, and keep it out of the database and its backups; changing it forgets which phones were erased. |
| ``LOG_LEVEL`` | ``INFO`` | Python logging level. |
| ``METRICS_TOKEN`` | empty | Secret that opens ``GET /metrics`` (``Authorization: Bearer <token>`` or ``?key=<token>``); empty: the page answers 404 to everyone (``docs/operations.md`` §5). |
| ``SCHEDULER_METRICS_BIND`` | empty (off) | ``host:port`` (e.g. ``127.0.0.1:9101``) where ``flask --app service scheduler run`` / ``scheduler dispatchers`` serve their own ``GET /metrics`` (the sending counters they count), behind ``METRICS_TOKEN`` like the web's (``docs/operations.md`` §5). |
| ``READYZ_SCHEDULER_MAX_AGE_SECONDS`` | ``300`` | ``GET /readyz`` answers 503 when the newest scheduler heartbeat (one per tick, every ``SCHEDULER_TICK_SECONDS``) is older (five missed ticks). |
| ``READYZ_DISPATCHER_MAX_AGE_SECONDS`` | ``60`` | ... when the newest dispatcher heartbeat (one per pass, every ``DISPATCH_INTERVAL_SECONDS``) is older (twelve missed passes). |
| ``READYZ_MAX_QUEUED`` | ``5000`` | ... when more outbox rows than this are ``queued``. |
| ``READYZ_MAX_WAIT_MINUTES`` | ``15`` | ... when a queued row that may be sent now (quiet hours and retry times allowing) has waited longer. |
"""
from __future__ import annotations

import os
import secrets


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Config:
    """Settings as class attributes; see the module docstring for the table."""

    DATABASE_URL = _env("DATABASE_URL", "sqlite:///instance/dehqon.sqlite3")
    DATABASE_INIT = _env("DATABASE_INIT", "1") in ("1", "true", "yes", "on")
    SMS_GATEWAY = _env("SMS_GATEWAY", "local")
    LOCAL_DELIVERY = _env("LOCAL_DELIVERY", "now")
    WEBHOOK_TOKENS = _split(_env("WEBHOOK_TOKEN", ""))
    AT_USERNAME = _env("AT_USERNAME", "sandbox")
    AT_API_KEY = _env("AT_API_KEY", "")
    AT_SENDER_ID = _env("AT_SENDER_ID", "") or None
    AT_TIMEOUT = tuple(float(x) for x in _split(_env("AT_TIMEOUT", "3.05,9.05")))
    SMS_ROUTES = _env("SMS_ROUTES", "")  # parsed and checked by service.settings (check_startup)
    KANNEL_SENDSMS_URL = _env("KANNEL_SENDSMS_URL", "")
    KANNEL_USERNAME = _env("KANNEL_USERNAME", "")
    KANNEL_PASSWORD = _env("KANNEL_PASSWORD", "")
    KANNEL_FROM = _env("KANNEL_FROM", "") or None
    KANNEL_SMSC = _env("KANNEL_SMSC", "") or None
    KANNEL_CALLBACK_URL = _env("KANNEL_CALLBACK_URL", "")
    KANNEL_TIMEOUT = _env("KANNEL_TIMEOUT", "10")  # checked by service.settings.check_startup
    USSD_SERVICE_CODE = _env("USSD_SERVICE_CODE", "*384*7#")
    USSD_FORMAT = _env("USSD_FORMAT", "africastalking").lower()
    TIMEZONE = _env("TIMEZONE", "Asia/Dushanbe")
    STAFF_PHONES = _split(_env("STAFF_PHONES", ""))
    DEFAULT_LANGUAGE = _env("DEFAULT_LANGUAGE", "tg")
    ORDER_ROUND_DAYS = int(_env("ORDER_ROUND_DAYS", "7"))
    SCHEDULER_EMBEDDED = _env(
        "SCHEDULER_EMBEDDED",
        "1" if _env("DATABASE_URL", "sqlite:").startswith("sqlite") else "0",
    ) in ("1", "true", "yes", "on")
    DISPATCH_INTERVAL_SECONDS = float(_env("DISPATCH_INTERVAL_SECONDS", "5"))
    DISPATCH_BATCH_SIZE = int(_env("DISPATCH_BATCH_SIZE", "100"))
    QUIET_HOURS_START = _env("QUIET_HOURS_START", "21:00")
    QUIET_HOURS_END = _env("QUIET_HOURS_END", "07:00")
    SEND_RATE_SEGMENTS_PER_SECOND = float(_env("SEND_RATE_SEGMENTS_PER_SECOND", "20"))
    SCHEDULER_TICK_SECONDS = float(_env("SCHEDULER_TICK_SECONDS", "60"))
    SCHEDULER_GRACE_HOURS = float(_env("SCHEDULER_GRACE_HOURS", "6"))
    # per SMS segment, TJS; dated and unverified (docs/message-budgets.md §5: 0.05 in 2016, 0.10 in 2019)
    SMS_PRICE_TJS = float(_env("SMS_PRICE_TJS", "0.10"))
    ADVICE_ESCALATE_HOURS = float(_env("ADVICE_ESCALATE_HOURS", "24"))
    # an AT callback body is at most a few KiB (a USSD hop's accumulated text is capped at 4,000 characters,
    # an MO SMS at 2,000): 64 KiB leaves room and refuses the megabyte bodies a worker would choke on
    MAX_BODY_BYTES = int(_env("MAX_BODY_BYTES", "65536"))
    # a programme workbook (service.programme): 8 MiB holds tens of thousands of farmer rows
    IMPORT_MAX_BYTES = int(_env("IMPORT_MAX_BYTES", str(8 * 1024 * 1024)))
    IMPORT_DIR = _env("IMPORT_DIR", "instance/staff-imports")
    AUDIT_EXPORT_MAX_ROWS = int(_env("AUDIT_EXPORT_MAX_ROWS", "10000"))
    PROXY_HOPS = int(_env("PROXY_HOPS", "0"))
    HOST = _env("HOST", "127.0.0.1")
    PORT = _env("PORT", "5000")  # checked by service.settings.check_startup, so a bad value is one sentence
    SECRET_KEY = _env("SECRET_KEY", "") or secrets.token_hex(32)
    STAFF_SESSION_DIR = _env("STAFF_SESSION_DIR", "instance/staff-sessions")
    STAFF_SESSION_MINUTES = float(_env("STAFF_SESSION_MINUTES", "60"))
    STAFF_SESSION_MAX_HOURS = float(_env("STAFF_SESSION_MAX_HOURS", "12"))
    STAFF_COOKIE_SECURE = _env("STAFF_COOKIE_SECURE", "0") in ("1", "true", "yes", "on")
    PRIVACY_KEY = _env("PRIVACY_KEY", "")
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    METRICS_TOKEN = _env("METRICS_TOKEN", "")
    SCHEDULER_METRICS_BIND = _env("SCHEDULER_METRICS_BIND", "")
    # GET /readyz thresholds (service.health.Thresholds, docs/operations.md §4)
    READYZ_SCHEDULER_MAX_AGE_SECONDS = float(_env("READYZ_SCHEDULER_MAX_AGE_SECONDS", "300"))
    READYZ_DISPATCHER_MAX_AGE_SECONDS = float(_env("READYZ_DISPATCHER_MAX_AGE_SECONDS", "60"))
    READYZ_MAX_QUEUED = int(_env("READYZ_MAX_QUEUED", "5000"))
    READYZ_MAX_WAIT_MINUTES = float(_env("READYZ_MAX_WAIT_MINUTES", "15"))


def as_dict() -> dict:
    """Return the settings as a plain dict (upper-case keys), read afresh from the environment."""
    return {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
