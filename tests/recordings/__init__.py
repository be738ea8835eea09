"""Recorded Africa's Talking answers (``*.json`` here) replayed with ``responses``.

A recording is ``{"about", "status", "content_type", "body"}`` (``body`` a
JSON object or text) or ``{"about", "raise": "ConnectionError" | "ReadTimeout"}``.
Only the HTTP layer is replaced: the real ``africastalking`` SDK builds and
sends the request and reads the answer.
"""
from __future__ import annotations

import json
import urllib.parse
import uuid
from pathlib import Path

import requests
import responses

HERE = Path(__file__).parent
SEND_URL = "https://api.sandbox.africastalking.com/version1/messaging"  # username "sandbox"


def load(name: str) -> dict:
    """The recording ``name`` (file stem)."""
    return json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))


def play(rsps: responses.RequestsMock, name: str) -> None:
    """Answer the next SMS send request with recording ``name``."""
    rec = load(name)
    if "raise" in rec:
        error = getattr(requests.exceptions, rec["raise"])
        rsps.add(responses.POST, SEND_URL, body=error(rec["about"]))
        return
    body = rec["body"] if isinstance(rec["body"], str) else json.dumps(rec["body"])
    rsps.add(responses.POST, SEND_URL, body=body, status=rec["status"], content_type=rec["content_type"])


def fields(request) -> dict[str, str]:
    """The form fields of a request the SDK sent (one value per field)."""
    return {k: v[0] for k, v in urllib.parse.parse_qs(request.body).items()}


def form(call) -> dict[str, str]:
    """The form fields of a recorded call (``rsps.calls[i]``)."""
    return fields(call.request)


def accept_all(request) -> tuple[int, dict, str]:
    """A ``responses`` callback answering any send like ``success.json``: every recipient
    of the request accepted with its own message id."""
    template = load("success")
    entry = template["body"]["SMSMessageData"]["Recipients"][0]
    phones = fields(request)["to"].split(",")
    recipients = [dict(entry, number=p, messageId=f"ATXid_{uuid.uuid4().hex}") for p in phones]
    body = {"SMSMessageData": {"Message": f"Sent to {len(phones)}/{len(phones)}", "Recipients": recipients}}
    return template["status"], {}, json.dumps(body)
