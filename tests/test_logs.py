"""Logs no request can forge, with no full phone number and no token (issue 7, items 6 and 7).

First the rules of ``service.logs`` on records made in this process (tables of
labelled cases); then the real thing: the app under gunicorn with
``--access-logfile -`` and under ``flask --app service serve`` (werkzeug),
driven over HTTP, their stdout and stderr read back.
"""
from __future__ import annotations

import io
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from gunicorn.glogging import SafeAtoms
from sqlalchemy import create_engine, select, text

from service import create_app, logs, new_session
from service.logs import mask_phone, scrub
from service.ussd.session import FormDraft

PROJECT = Path(__file__).resolve().parent.parent
TOKEN = "some-secret"
STAFF = "+992900000001"
FORGED = "inj1\nERROR:service.messaging.dispatch:ALERT FORGED LINE"


# ---------------------------------------------------------------- the rules, in process

@pytest.fixture
def emitted():
    """``emit(msg, *args, exc_info=None)`` → what a plain ``%(levelname)s:%(name)s:%(message)s``
    handler writes for that record, after ``logs.install``."""
    logs.install(secrets=["rotated-webhook-token"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)

    def emit(msg, *args, exc_info=None):
        stream.seek(0)
        stream.truncate()
        logger.warning(msg, *args, exc_info=exc_info)
        return stream.getvalue()

    yield emit
    logger.removeHandler(handler)
    logger.propagate = True


@dataclass(frozen=True)
class Rule:
    label: str
    msg: object
    args: tuple
    written: str  # the whole output (one line plus its newline unless said)


RULES = [
    Rule("a newline in an argument is escaped", "inbound SMS %s: bad date", (FORGED,),
         "WARNING:tests.logs:inbound SMS inj1\\nERROR:service.messaging.dispatch:ALERT FORGED LINE: bad date\n"),
    Rule("CR, TAB, other C0, DEL and C1 are escaped", "v=%s", ("a\r\tb\x00c\x1bd\x7fe\x85f\x9b",),
         "WARNING:tests.logs:v=a\\r\\tb\\x00c\\x1bd\\x7fe\\x85f\\x9b\n"),
    Rule("U+2028 and U+2029 are escaped", "v=%s", ("a\u2028b\u2029c",), "WARNING:tests.logs:v=a\\u2028b\\u2029c\n"),
    Rule("%r keeps showing the value's repr", "id %r", (FORGED,),
         "WARNING:tests.logs:id 'inj1\\nERROR:service.messaging.dispatch:ALERT FORGED LINE'\n"),
    Rule("Cyrillic and other printable text is unchanged", "text %s", ("Салом, ҷаноб!",),
         "WARNING:tests.logs:text Салом, ҷаноб!\n"),
    Rule("numbers keep %d and %.2f working", "%d rows, %.2f TJS, %s", (3, Decimal("1.5"), None),
         "WARNING:tests.logs:3 rows, 1.50 TJS, None\n"),
    Rule("an object is shown through its str, escaped", "counts %s", ({"a\nb": 1},),
         "WARNING:tests.logs:counts {'a\\nb': 1}\n"),
    Rule("an exception argument is escaped", "failed: %s", (ValueError("bad\nCRITICAL:x:forged"),),
         "WARNING:tests.logs:failed: bad\\nCRITICAL:x:forged\n"),
    Rule("an E.164 phone in an argument is masked", "number %s needs correction", ("+992901234567",),
         "WARNING:tests.logs:number ***567 needs correction\n"),
    Rule("a phone inside a longer value, and URL-encoded, is masked", "%s", ("to=+992901234567,%2B992907654321",),
         "WARNING:tests.logs:to=***567,***321\n"),
    Rule("a phone glued to a word, and a bare Tajik MSISDN, are masked", "%s %s",
         ("nc-l+992900001002", "sender 992900001002"), "WARNING:tests.logs:nc-l***002 sender ***002\n"),
    Rule("terminal colour codes are dropped, other escapes escaped", "%s", ("\x1b[31m\x1b[1mPOST\x1b[0m \x1b]0;t",),
         "WARNING:tests.logs:POST \\x1b]0;t\n"),
    Rule("short numbers, times and amounts are not phones", "%s", ("+0000 +12345 1234567890123 TJS 0.1000",),
         "WARNING:tests.logs:+0000 +12345 1234567890123 TJS 0.1000\n"),
    Rule("?key= in a URL is redacted", "%s", ("POST /sms/inbound?key=abc123&x=1 HTTP/1.1",),
         "WARNING:tests.logs:POST /sms/inbound?x=1 HTTP/1.1\n".replace("?x=1", "?key=[redacted]&x=1")),
    Rule("a query string without ? (gunicorn's q atom) is redacted", "%s", ("key=abc123",),
         "WARNING:tests.logs:key=[redacted]\n"),
    Rule("a configured secret is redacted wherever it is", "%s", ("token rotated-webhook-token leaked",),
         "WARNING:tests.logs:token [redacted] leaked\n"),
    Rule("monkey=... is not a token", "%s", ("monkey=1",), "WARNING:tests.logs:monkey=1\n"),
    Rule("a Kannel MO's text in a request line is redacted", "%s",
         ("GET /kannel/inbound?from=x&text=%04%1D%04%30&coding=2 HTTP/1.1",),
         "WARNING:tests.logs:GET /kannel/inbound?from=x&text=[redacted]&coding=2 HTTP/1.1\n"),
    Rule("a delivery report's answer, a USSD hop's INPUT and session_msg are redacted", "%s",
         ("answer=id:1+text:hello&x=1 INPUT=1*2 session_msg=3",),
         "WARNING:tests.logs:answer=[redacted]&x=1 INPUT=[redacted] session_msg=[redacted]\n"),
    Rule("context=... is not a text parameter", "%s", ("context=1",), "WARNING:tests.logs:context=1\n"),
    Rule("a message without arguments keeps its line breaks, phones masked",
         " * Running on http://127.0.0.1?key=abc\n * for +992901234567", (),
         "WARNING:tests.logs: * Running on http://127.0.0.1?key=[redacted]\n * for ***567\n"),
    Rule("a format string with arguments is left alone", "key=%s", ("v",), "WARNING:tests.logs:key=v\n"),
]


@pytest.mark.parametrize("rule", RULES, ids=[r.label for r in RULES])
def test_logged_values(emitted, rule):
    assert emitted(rule.msg, *rule.args) == rule.written


def test_a_mapping_argument_stays_a_mapping(emitted):
    """gunicorn's access atoms: a ``SafeAtoms`` mapping, header atoms looked up case-insensitively and
    missing ones answered ``-``; the old filter turned it into a tuple (TypeError)."""
    atoms = SafeAtoms({"r": "GET /ussd?key=abc123 HTTP/1.1", "q": "key=abc123", "a": 'agent "x"\nFORGED',
                       "{x-phone}i": "+992901234567", "s": "200", "B": 12})
    written = emitted('"%(r)s" %(q)s "%(a)s" %(s)s %(B)d %({X-Phone}i)s %({missing}i)s', atoms)
    assert written == ('WARNING:tests.logs:"GET /ussd?key=[redacted] HTTP/1.1" key=[redacted] '
                       '"agent \\"x\\"\\nFORGED" 200 12 ***567 -\n')


def test_a_traceback_stays_multi_line_with_phones_masked(emitted):
    try:
        raise RuntimeError("insert failed [parameters: ('+992901234567', 'hi')]")
    except RuntimeError:
        written = emitted("inbound SMS %s failed", "id\n1", exc_info=True)
    lines = written.splitlines()
    assert lines[0] == "WARNING:tests.logs:inbound SMS id\\n1 failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: insert failed [parameters: ('***567', 'hi')]"
    assert "+992901234567" not in written


MASKS = [("+992901234567", "***567"), ("992 90 123 4567", "***567"), ("ab", "***ab"), ("", "-"), (None, "-")]


@pytest.mark.parametrize("phone, shown", MASKS, ids=[repr(p) for p, _ in MASKS])
def test_mask_phone_keeps_the_last_three(phone, shown):
    assert mask_phone(phone) == shown


def test_install_is_idempotent():
    logs.install()
    factory = logging.getLogRecordFactory()
    for _ in range(3):
        create_app({"DATABASE_URL": "sqlite://", "SMS_GATEWAY": "local", "SCHEDULER_EMBEDDED": False})
    assert logging.getLogRecordFactory() is factory
    record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "%s", ("a\nb",), None)
    assert record.getMessage() == "a\\nb"  # scrubbed once, not \\\\n
    assert scrub("a\nb") == "a\\nb"


# ---------------------------------------------------------------- the real processes

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _world(db_url: str) -> None:
    """The SMS world (staff phone, farmers in Vose) in the database the server will use."""
    from test_sms import build_world
    app = create_app({"DATABASE_URL": db_url, "SMS_GATEWAY": "local", "SCHEDULER_EMBEDDED": False})
    with new_session(app) as session:
        build_world(session)
    app.extensions["dehqon.engine"].dispose()


class Server:
    """The app in a real process (``gunicorn`` or ``serve``), output to files."""

    def __init__(self, kind: str, tmp_path: Path):
        self.db_url = f"sqlite:///{tmp_path / 'logs.sqlite3'}"
        _world(self.db_url)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "PROXY_HOPS")}
        env.update(DATABASE_URL=self.db_url, SMS_GATEWAY="local", WEBHOOK_TOKEN=TOKEN, SCHEDULER_EMBEDDED="0",
                   PYTHONUNBUFFERED="1")
        if kind == "gunicorn":
            import gunicorn
            command = [sys.executable, "-m", "gunicorn", "--access-logfile", "-", "-b", f"127.0.0.1:{self.port}"]
            if gunicorn.version_info >= (24,):  # its control socket would be shared by parallel runs
                command.append("--no-control-socket")
            command.append("service:create_app()")
        else:
            command = [sys.executable, "-m", "flask", "--app", "service", "serve", "--port", str(self.port)]
        self.out_path, self.err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.proc = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=err)
        for _ in range(600):  # up to 60 s: a loaded machine starts Python slowly
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{kind} did not answer:\n{self.err_path.read_text()}")

    def request(self, path: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with urllib.request.urlopen(self.base + path, data=data, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def get(self, path: str) -> tuple[int, str]:
        return self.request(path)

    def stop(self) -> tuple[str, str]:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        return self.out_path.read_text(), self.err_path.read_text()


@pytest.fixture(params=["gunicorn", "serve"])
def server(request, tmp_path):
    srv = Server(request.param, tmp_path)
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def _sms(msg_id: str, sender: str, body: str, **extra) -> dict:
    return {"id": msg_id, "from": sender, "to": "12345", "text": body, "date": "2024-05-12 10:00:00",
            "networkCode": "99999", "linkId": "", **extra}


def _forged(output: str) -> list[str]:
    """Lines that a request value started: a line whose level and logger name are followed by the
    injected FORGED text (a real line that quotes the value in the middle is not one)."""
    return [line for line in output.splitlines()
            if re.match(r"(ERROR|CRITICAL|WARNING|INFO):[\w.]+:(ALERT )?FORGED", line)]


@pytest.mark.slow
def test_the_real_server_logs_every_request_with_no_token_no_phone_and_no_forged_line(server):
    key = f"?key={TOKEN}"
    requests = [
        ("/healthz" + key, None),
        ("/healthz?x=1&key=" + TOKEN, None),
        ("/sms/inbound" + key, _sms(FORGED, "+992901234561", "hello", date="not a date")),
        ("/sms/inbound" + key, _sms("", "+992901234562", "bad id")),
        ("/sms/inbound" + key, _sms("ok1", "+992901234563", "PRICES onion")),
        ("/sms/delivery" + key, {"id": "inj2\nCRITICAL:service.messaging.delivery:FORGED", "status": "Failed",
                                 "phoneNumber": "+992901234564", "failureReason": "UserDoesNotExist",
                                 "networkCode": "99999", "retryCount": "0"}),
        ("/ussd" + key, {"sessionId": "s1\nERROR:service.ussd.engine:FORGED", "serviceCode": "*384*7#",
                         "phoneNumber": "+992901234565", "networkCode": "99999", "text": "1\nERROR:x:FORGED"}),
        ("/ussd/events" + key, {"sessionId": "s2\rWARNING:service.ussd.engine:FORGED", "phoneNumber": "+992901234566",
                                "serviceCode": "*384*7#", "networkCode": "99999", "status": "Failed",
                                "errorMessage": "late\u2028ERROR:x:FORGED", "date": "2024-05-12 10:00:00"}),
        ("/sms/inbound" + key, _sms("a1", STAFF, "ALERT vose Hail tonight, cover seedlings")),
    ]
    for path, form in requests:
        status, _ = server.request(path, form)
        assert status < 500, (path, form, status)
    engine = create_engine(server.db_url)
    with engine.connect() as conn:
        code = conn.execute(select(FormDraft.data).where(FormDraft.phone == STAFF)).scalar_one()["code"]
    engine.dispose()
    assert server.request("/sms/inbound" + key, _sms("a2", STAFF, f"ALERT OK {code}"))[0] == 200
    out, err = server.stop()
    both = out + err

    assert "Logging error" not in err and "TypeError" not in err, err
    assert TOKEN not in both
    access = [line for line in both.splitlines() if "HTTP/1.1\" " in line]
    assert len(access) >= len(requests) + 2, both  # + the readiness probe and the ALERT OK
    assert sum("?key=[redacted]" in line for line in access) == len(requests)
    assert not _forged(both), _forged(both)
    assert not re.search(r"\+992\d{9}", both), re.findall(r".*\+992\d{9}.*", both)
    assert "inbound SMS from ***562 ignored: bad id ''" in err
    assert re.search(r"field alert \d+ from \*\*\*001 to districts=vose", err), err
    # the line break is gone before the value is logged (stripped at the door: handlers.common)
    assert "inbound SMS inj1ERROR:service.messaging.dispatch:ALERT FORGED LINE: unparseable date" in err


@pytest.mark.slow
def test_the_access_log_shows_no_farmer_text(server):
    """A Kannel MO's text (percent-encoded UTF-16BE in smsbox's get-url, docs/gateway-kannel.md §5)
    and a delivery report's SMSC answer are received, and neither reaches the log."""
    words = "Нархи пиёз дар бозор"
    encoded = "".join(f"%{byte:02X}" for byte in words.encode("utf-16-be"))
    mo = f"/kannel/inbound?key={TOKEN}&from=%2B992901234578&to=1234&charset=UTF-16BE&coding=2&id=mo-1&text={encoded}"
    dlr = f"/kannel/delivery?key={TOKEN}&id=dlr-1&type=1&smsc=tcell&ts=1715508000&answer=id%3A7+text%3APRIVATEWORDS"
    assert server.request(mo) == (200, "")
    assert server.request(dlr)[0] < 500
    out, err = server.stop()
    both = out + err
    kannel = [line for line in both.splitlines() if "/kannel/" in line]
    assert len(kannel) >= 2, both
    assert any("/kannel/inbound" in line and "&text=[redacted] HTTP/1.1" in line for line in kannel), kannel
    assert any("answer=[redacted]" in line for line in kannel), kannel
    for shown in (encoded, encoded[:30], "PRIVATEWORDS", words, TOKEN):
        assert shown not in both, shown


@pytest.mark.slow
def test_a_traceback_still_prints_with_phones_masked(server):
    """A real failure (the table the SMS goes to is gone): the exception and its traceback are
    logged, several lines long, and the SQL parameters show no full phone."""
    engine = create_engine(server.db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE inbound_message"))
    engine.dispose()
    status, _ = server.request(f"/sms/inbound?key={TOKEN}", _sms("t1\nERROR:x:FORGED", "+992901234567", "hi"))
    assert status == 503
    _, err = server.stop()
    assert "Traceback (most recent call last):" in err
    tail = err[err.index("Traceback (most recent call last):"):].splitlines()
    assert sum(line.startswith("  File ") for line in tail) >= 2
    assert any("no such table: inbound_message" in line for line in tail)
    assert "+992901234567" not in err and "***567" in err
    assert not _forged(err), _forged(err)
