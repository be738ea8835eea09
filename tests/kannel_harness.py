"""A real Kannel on 127.0.0.1 for the tests: Debian's ``bearerbox`` and ``smsbox`` with ``fakesmsc``
(``kannel-extras``) as the SMS centre (``docs/gateway-kannel-testing.md`` §1, §2).

:class:`Kannel` writes a ``kannel.conf`` into a folder of its own (free ports, a spool store so a
restart keeps the queued messages), starts the three programs each in its own process group and
waits until each is ready (bearerbox's admin status page, smsbox's sendsms port, the fake SMS
centres connected). Two fake SMS centres: ``mt`` takes every message sent through ``sendsms``
(one ``fakesmsc`` stays connected and writes each message it gets to its log, read back by
:meth:`Kannel.received`), ``mo`` only carries the messages a phone sends (:meth:`Kannel.send_mo`
starts a ``fakesmsc`` that sends one message and stops it once bearerbox has it). Delivery
reports come from bearerbox itself: its fake SMS centre reports type 8 (SMSC submit) and 1
(delivered) for every message written to ``fakesmsc``.

:meth:`Kannel.stop` stops bearerbox as ``systemctl stop`` would (SIGTERM: it saves its queue and
tells smsbox to quit; ``fakesmsc`` ends when its connection closes); :meth:`Kannel.start` brings
the three up again. :meth:`Kannel.close` ends every process group it started. :meth:`Kannel.logs`
gives the tails of the logs for a failure message.

:func:`require_kannel` skips the test (with the reason, shown by ``-rs``/``-ra``) when the
programs are not installed.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
USERNAME, PASSWORD = "dehqon", "kannel-test-password"
ADMIN_PASSWORD = "kannel-test-admin"
MT_SMSC, MO_SMSC = "mt", "mo"
#: the ``sms-service`` get-url's query (``docs/gateway-kannel-testing.md`` §2): every field the handler reads
INBOUND_QUERY = "from=%p&to=%P&text=%b&charset=%C&coding=%c&id=%I&smsc=%i&ts=%t"


def missing() -> str | None:
    """Why the real-Kannel tests cannot run here, or None when they can."""
    absent = [p for p in (BEARERBOX, SMSBOX, FAKESMSC) if not os.access(p, os.X_OK)]
    if absent:
        return (f"Kannel is not installed ({', '.join(absent)} missing; "
                "apt-get install kannel kannel-extras): real-Kannel tests skipped")
    return None


def require_kannel() -> None:
    """Skip the calling test, saying why, when Kannel is not installed."""
    reason = missing()
    if reason:
        pytest.skip(reason)


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class MT:
    """One message as the SMS centre got it: ``sender``, ``receiver`` (E.164), ``text`` decoded,
    ``parts`` SMS parts it came in (concatenated by their UDH)."""

    sender: str
    receiver: str
    text: str
    parts: int = 1


_GOT = re.compile(r"Got message \d+: <(.*)>\s*$")
_UCS2_RANGES = ((0x0000, 0x024F), (0x0400, 0x052F), (0x2000, 0x214F))  # Latin, Cyrillic, punctuation/symbols


def _looks_ucs2(raw: bytes) -> bool:
    """Whether ``raw`` (the parts of a concatenated message, whose coding ``fakesmsc`` does not show)
    reads as UTF-16BE text of Latin and Cyrillic letters, punctuation and currency signs."""
    if len(raw) % 2:
        return False
    try:
        text = raw.decode("utf-16-be")
    except UnicodeDecodeError:
        return False
    return all(any(lo <= ord(ch) <= hi for lo, hi in _UCS2_RANGES) for ch in text)


def parse_lines(lines: list[str]) -> list[MT]:
    """The messages in ``fakesmsc``'s ``Got message N: <sender receiver type data>`` lines.

    Types (bearerbox's ``smsc_fake``): ``text`` the text as is (UTF-8), ``ucs-2`` URL-encoded
    UTF-16BE, ``data`` URL-encoded 8-bit data, ``udh <udh> data <data>`` one part of a
    concatenated message (the UDH's information element 0x00 or 0x08 gives reference, count and
    sequence); a complete set of parts becomes one :class:`MT`, UTF-16BE when it reads as such
    (:func:`_looks_ucs2`), else UTF-8."""
    messages: list[MT] = []
    pending: dict[tuple[str, str, int, int], dict[int, bytes]] = {}
    for line in lines:
        found = _GOT.search(line)
        if not found:
            continue
        sender, receiver, kind, rest = (found.group(1).split(" ", 3) + ["", "", "", ""])[:4]
        if kind == "text":
            messages.append(MT(sender, receiver, rest))
        elif kind == "ucs-2":
            messages.append(MT(sender, receiver, urllib.parse.unquote_to_bytes(rest.replace("+", " "))
                               .decode("utf-16-be")))
        elif kind == "data":
            messages.append(MT(sender, receiver, _bytes(rest).decode("utf-8", "replace")))
        elif kind == "udh":
            udh_text, _, data = rest.partition(" data ")
            udh = _bytes(udh_text)
            ref, count, seq = _concat(udh)
            key = (sender, receiver, ref, count)
            pending.setdefault(key, {})[seq] = _bytes(data)
            if len(pending[key]) == count:
                got = pending.pop(key)
                raw = b"".join(got[i] for i in range(1, count + 1))
                text = raw.decode("utf-16-be") if _looks_ucs2(raw) else raw.decode("utf-8", "replace")
                messages.append(MT(sender, receiver, text, count))
    return messages


def _bytes(urlencoded: str) -> bytes:
    return urllib.parse.unquote_to_bytes(urlencoded.replace("+", " "))


def _concat(udh: bytes) -> tuple[int, int, int]:
    """(reference, count, sequence) of a concatenation UDH (length byte, then IEs)."""
    i, end = 1, 1 + udh[0]
    while i < end:
        iei, length = udh[i], udh[i + 1]
        body = udh[i + 2:i + 2 + length]
        if iei == 0x00:
            return body[0], body[1], body[2]
        if iei == 0x08:
            return body[0] << 8 | body[1], body[2], body[3]
        i += 2 + length
    return 0, 1, 1


class Kannel:
    """bearerbox + smsbox + fakesmsc in ``folder``, sending MO messages to ``inbound_url``
    (this service's ``/kannel/inbound`` with ``?key=``; the contract's escapes are added).

    Attributes after construction: ``sendsms_url`` (``http://127.0.0.1:<port>/cgi-bin/sendsms``),
    ``username``/``password`` of its sendsms-user, ``admin_port``, ``folder``. ``mo_recode``:
    smsbox's ``mo-recode`` (False, Kannel's default: a UCS-2 message reaches the service as
    UTF-16BE bytes; True: recoded to UTF-8). ``timeout`` seconds to wait for each program.
    ``log_level``: the ``log-level`` of bearerbox and smsbox (1 info, what the harness's other
    tests read; ``docs/gateway-kannel.md`` §8 uses 2).
    """

    def __init__(self, folder: Path, inbound_url: str, *, mo_recode: bool = False, timeout: float = 30.0,
                 log_level: int = 1):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "store").mkdir(exist_ok=True)
        self.timeout = timeout
        self.admin_port, self.smsbox_port, self.sendsms_port = free_port(), free_port(), free_port()
        self.mt_port, self.mo_port = free_port(), free_port()
        self.username, self.password = USERNAME, PASSWORD
        self.sendsms_url = f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"
        self.inbound_url = inbound_url
        self.config = self.folder / "kannel.conf"
        self.log_level = log_level
        self.config.write_text(self._config(inbound_url, mo_recode))
        self._procs: dict[str, subprocess.Popen] = {}
        self._mt_logs: list[Path] = []

    def _config(self, inbound_url: str, mo_recode: bool) -> str:
        sep = "&" if "?" in inbound_url else "?"
        get_url = f"{inbound_url}{sep}{INBOUND_QUERY}"
        f = self.folder
        return f"""\
group = core
admin-port = {self.admin_port}
admin-password = {ADMIN_PASSWORD}
status-password = {ADMIN_PASSWORD}
admin-interface = 127.0.0.1
admin-allow-ip = 127.0.0.1
smsbox-port = {self.smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{f}/bearerbox.log"
log-level = {self.log_level}
access-log = "{f}/access.log"
store-type = spool
store-location = "{f}/store"
dlr-storage = internal

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{f}/smsbox.log"
log-level = {self.log_level}
access-log = "{f}/smsbox-access.log"
mo-recode = {"true" if mo_recode else "false"}

group = sendsms-user
username = {self.username}
password = {self.password}
user-allow-ip = 127.0.0.1
max-messages = 10
concatenation = true

group = smsc
smsc = fake
smsc-id = {MT_SMSC}
port = {self.mt_port}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsc
smsc = fake
smsc-id = {MO_SMSC}
port = {self.mo_port}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1
allowed-smsc-id = {MO_SMSC}

group = sms-service
keyword = default
catch-all = true
get-url = "{get_url}"
max-messages = 0
"""

    # --- processes -------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str], log: Path) -> subprocess.Popen:
        with open(log, "ab") as out:
            proc = subprocess.Popen(args, cwd=self.folder, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self._procs[name] = proc
        return proc

    def start(self) -> None:
        """Start bearerbox, smsbox and the MT fakesmsc, and wait until each is ready; raises
        ``RuntimeError`` with the logs' tails when one is not ready within ``timeout``."""
        self._spawn("bearerbox", [BEARERBOX, "-v", "1", str(self.config)], self.folder / "bearerbox.out")
        self._wait("bearerbox's admin page", lambda: self.status() is not None)
        self._spawn("smsbox", [SMSBOX, "-v", "1", str(self.config)], self.folder / "smsbox.out")
        self._wait("smsbox's sendsms port", self._sendsms_answers)
        self.connect_smsc()

    def connect_smsc(self) -> None:
        """Connect the MT fake SMS centre (a new ``fakesmsc``) and wait until bearerbox sees it online."""
        mt_log = self.folder / f"fakesmsc-mt-{len(self._mt_logs) + 1}.log"
        self._mt_logs.append(mt_log)
        # -m 0: send nothing, only receive (the message argument is required, never sent)
        self._spawn("fakesmsc-mt", [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.mt_port), "-m", "0", "-v", "0",
                                    "0 0 text unused"], mt_log)
        self._wait("the MT fake SMS centre", lambda: self._smsc_online(MT_SMSC))

    def disconnect_smsc(self) -> None:
        """Take the MT fake SMS centre away (bearerbox keeps what it gets meanwhile queued)."""
        proc = self._procs.pop("fakesmsc-mt", None)
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                self._end(proc)
        self._wait("bearerbox to see the SMS centre gone", lambda: not self._smsc_online(MT_SMSC))

    def stop(self) -> None:
        """Stop bearerbox as an administrator does (SIGTERM: it keeps its queue in the store) and wait
        until smsbox and fakesmsc, which follow it, have ended too."""
        bearerbox = self._procs.pop("bearerbox", None)
        if bearerbox is not None and bearerbox.poll() is None:
            bearerbox.send_signal(signal.SIGTERM)
            try:
                bearerbox.wait(self.timeout)
            except subprocess.TimeoutExpired:
                raise RuntimeError("bearerbox did not stop on SIGTERM\n" + self.logs()) from None
        for name in ("smsbox", "fakesmsc-mt", "fakesmsc-mo"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            try:
                proc.wait(self.timeout)
            except subprocess.TimeoutExpired:
                self._end(proc)

    def restart(self) -> None:
        """:meth:`stop` then :meth:`start`."""
        self.stop()
        self.start()

    def close(self) -> None:
        """End every process group started (SIGTERM, then SIGKILL after 10 s)."""
        for proc in self._procs.values():
            self._end(proc)
        self._procs.clear()

    @staticmethod
    def _end(proc: subprocess.Popen) -> None:
        if proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> "Kannel":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wait(self, what: str, ready) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self._procs.items() if p.poll() is not None and n != "fakesmsc-mo"]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}\n" + self.logs())
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{what} not ready after {self.timeout:.0f} s\n" + self.logs())

    # --- what Kannel says -----------------------------------------------------------------

    def status(self) -> str | None:
        """bearerbox's ``status.txt`` page, or None when it does not answer."""
        url = f"http://127.0.0.1:{self.admin_port}/status.txt?password={ADMIN_PASSWORD}"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode("utf-8", "replace")
        except OSError:
            return None

    def _smsc_online(self, smsc_id: str) -> bool:
        page = self.status() or ""
        return re.search(rf"^\s*{smsc_id}\[{smsc_id}\]\s+FAKE:\d+ \(online", page, re.M) is not None

    def _smsc_received(self, smsc_id: str) -> int:
        line = re.search(rf"^\s*{smsc_id}\[{smsc_id}\].*?rcvd: sms (\d+)", self.status() or "", re.M)
        return int(line.group(1)) if line else -1

    def _sendsms_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.sendsms_url, timeout=2):
                return True
        except urllib.error.HTTPError:  # 4xx for a request without parameters: it answers
            return True
        except OSError:
            return False

    def received(self) -> list[MT]:
        """Every message the MT fake SMS centre got so far, over all runs, in order (:func:`parse_lines`)."""
        lines: list[str] = []
        for log in self._mt_logs:
            if log.exists():
                lines += log.read_text("utf-8", "replace").splitlines()
        return parse_lines(lines)

    def wait_received(self, count: int, timeout: float = 60.0) -> list[MT]:
        """:meth:`received` once it holds at least ``count`` messages; raises ``AssertionError``
        with the count and the logs' tails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if len(got) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(got) >= count, f"the SMS centre got {len(got)} messages, not {count}\n" + self.logs()
        return got

    def send_mo(self, sender: str, receiver: str, text: str, *, coding: str = "auto") -> None:
        """A phone ``sender`` sends ``text`` to the short code ``receiver`` through the MO fake SMS
        centre; returns once bearerbox has taken it. ``coding``: ``text`` (GSM, sent as is),
        ``ucs2`` (UTF-16BE, as an SMS centre hands over a Cyrillic message) or ``auto`` (ucs2 for
        anything beyond ASCII)."""
        if coding == "auto":
            coding = "text" if text.isascii() else "ucs2"
        if coding == "ucs2":
            line = f"{sender} {receiver} ucs2 {urllib.parse.quote_from_bytes(text.encode('utf-16-be'))}"
        else:
            line = f"{sender} {receiver} text {text}"
        before = self._smsc_received(MO_SMSC)
        log = self.folder / "fakesmsc-mo.log"
        proc = self._spawn("fakesmsc-mo", [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.mo_port), "-m", "1",
                                           "-v", "0", line], log)
        try:
            self._wait("bearerbox to take the MO message", lambda: self._smsc_received(MO_SMSC) > before)
        finally:
            self._procs.pop("fakesmsc-mo", None)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # fakesmsc's own way to end
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._end(proc)

    def logs(self, lines: int = 25) -> str:
        """The last ``lines`` lines of each log, for a failure message."""
        parts = []
        for log in sorted(self.folder.glob("*.log")) + sorted(self.folder.glob("*.out")):
            tail = log.read_text("utf-8", "replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)


def kannel_available_or_skip(tmp_path: Path, inbound_url: str, **kwargs) -> Kannel:
    """A started :class:`Kannel` in ``tmp_path / "kannel"``, or the test skipped when Kannel is missing."""
    require_kannel()
    kannel = Kannel(tmp_path / "kannel", inbound_url, **kwargs)
    try:
        kannel.start()
    except Exception:
        kannel.close()
        raise
    return kannel


__all__ = ["Kannel", "MT", "free_port", "kannel_available_or_skip", "missing", "parse_lines",
           "require_kannel"]
