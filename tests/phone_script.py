"""A scripted basic phone that talks to a served Dehqon over real HTTP, exactly as AT would.

USSD hops are form posts to ``/ussd`` carrying the whole ``*``-joined input
history; SMS are form posts to ``/sms/inbound`` with a fresh AT-like id; the
phone's inbox is ``/simulator/messages``. ``pick(label)`` chooses the option
whose label contains ``label``, paging with ``98`` when it is not on the
screen shown, as a farmer reading the screen would.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid

import requests

from service.messaging.encoding import fits_ussd

_OPTION = re.compile(r"^(\d{1,2})\s+(.+)$")


class Phone:
    """One handset: ``number`` E.164, ``base_url`` of the served app, optional webhook ``token``."""

    def __init__(self, base_url: str, number: str, *, token: str | None = None, code: str = "*384*7#"):
        self.base_url, self.number, self.code = base_url, number, code
        self.params = {"key": token} if token else {}
        self.session_id = ""
        self.history: list[str] = []
        self.screen = ""
        self.screens: list[str] = []

    # ---- USSD
    def dial(self) -> str:
        """Start a new USSD session; returns the first body."""
        self.session_id = "ATUid_" + uuid.uuid4().hex
        self.history = []
        return self._hop()

    def send(self, value: str) -> str:
        """Type ``value`` and press Send; returns the body."""
        assert self.screen.startswith("CON "), f"no input box on {self.screen!r}"
        self.history.append(value)
        return self._hop()

    def options(self) -> dict[str, str]:
        """The numbered lines of the current screen: ``{"1": "Гурӯҳи ман", ...}``."""
        found = {}
        for line in self.screen[4:].split("\n"):
            for part in re.split(r"\s{2,}", line):
                m = _OPTION.match(part.strip())
                if m:
                    found[m.group(1)] = m.group(2)
        return found

    def pick(self, label: str, *, exact: bool = False, pages: int = 30) -> str:
        """Choose the option whose label contains (or, ``exact``, is) ``label``, case-insensitive,
        paging with 98."""
        for _ in range(pages):
            for key, text in self.options().items():
                found = label.casefold() == text.casefold() if exact else label.casefold() in text.casefold()
                if key not in ("0", "00", "98", "99") and found:
                    return self.send(key)
            if "98" not in self.options():
                break
            self.send("98")
        raise AssertionError(f"no option {label!r} on {self.screen!r}")

    def _hop(self) -> str:
        resp = requests.post(f"{self.base_url}/ussd", params=self.params, timeout=10, data={
            "sessionId": self.session_id, "serviceCode": self.code, "phoneNumber": self.number,
            "networkCode": "99999", "text": "*".join(self.history)})
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("text/plain"), resp.headers
        body = resp.content.decode("utf-8")
        assert body.startswith(("CON ", "END ")) and body[4:].strip(), body
        assert fits_ussd(body), f"over budget: {body!r}"
        self.screen = body
        self.screens.append(body)
        return body

    # ---- SMS
    def sms(self, text: str) -> requests.Response:
        """Send an MO SMS to the short code; returns the webhook's response."""
        return requests.post(f"{self.base_url}/sms/inbound", params=self.params, timeout=10, data={
            "id": "ATXid_" + uuid.uuid4().hex, "from": self.number, "to": "7777", "text": text,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            "networkCode": "99999", "linkId": ""})

    def inbox(self) -> list[dict]:
        """This phone's MT messages as the simulator shows them (oldest first; the simulator's
        conversation without the phone's own SMS)."""
        return [m for m in self.conversation() if m["direction"] == "out"]

    def conversation(self) -> list[dict]:
        """This phone's conversation as the simulator shows it: its SMS (``direction`` ``in``) and
        the service's messages (``out``), each reply after its cause."""
        resp = requests.get(f"{self.base_url}/simulator/messages", params={"phone": self.number}, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()
