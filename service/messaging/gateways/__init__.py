"""SMS gateway adapters: one interface, chosen by ``SMS_GATEWAY``.

An adapter has ``name`` and ``send(text, phones) -> list[RecipientResult]``:
one result per phone (every phone of ``phones``, which holds no duplicates),
classified into an outcome the dispatcher (``service.messaging.dispatch``) acts on.
Adapters never raise for gateway trouble: timeouts, refusals and errors
become outcomes. A failure of the whole request (HTTP 5xx or another non-2xx
that is not the auth refusal, connection refused, connect timeout: nothing in
it concerns one recipient) is :data:`OUTAGE` for every phone of the request,
and the dispatcher holds the queue instead of using up the messages'
attempts; :data:`RETRY` is only for a problem AT names for that recipient.
``local`` keeps messages for the phone simulator (delivered at once, or, with
``LOCAL_DELIVERY=reports``, accepted and left for simulated delivery reports);
``africastalking`` sends through AT (``docs/gateway-africastalking.md`` §7, §8);
``kannel`` through a Kannel SMS gateway (``docs/gateway-kannel.md`` §2, §3). With
``SMS_ROUTES`` several adapters serve one deployment, chosen per phone prefix
(:func:`for_routes`, ``service.messaging.gateways.routes``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from service.settings import Settings, as_settings

# outcomes of one recipient
ACCEPTED = "accepted"        # the gateway took it; delivery is reported later
DELIVERED = "delivered"      # delivered at once (local gateway: the simulator reads it)
PERMANENT = "permanent"      # never deliverable as is: fail the row, no retry
ACCOUNT = "account"          # account problem (balance, sender ID, risk hold, API key): hold the queue
RETRY = "retry"              # transient for this recipient (AT's statusCode): try again later with backoff
OUTAGE = "outage"            # the whole request failed (gateway down): hold the queue, attempt not counted
UNCONFIRMED = "unconfirmed"  # the gateway may have accepted it: do not resend automatically
REVIEW = "review"            # unexpected answer: hold for a person
OUTCOMES = (ACCEPTED, DELIVERED, PERMANENT, ACCOUNT, RETRY, OUTAGE, UNCONFIRMED, REVIEW)


@dataclass(frozen=True)
class RecipientResult:
    """What the gateway said about one phone.

    ``outcome`` one of :data:`OUTCOMES`; ``status_code`` the gateway's
    per-recipient code (AT ``statusCode``) or None; ``message_id`` the
    gateway's id (None unless accepted); ``cost`` as reported (``"TJS 0.1000"``)
    or None; ``parts`` billed SMS parts or None; ``reason`` short text for
    anything but success; ``suppress`` True when the phone must be opted out.
    """

    phone: str
    outcome: str
    status_code: int | None = None
    message_id: str | None = None
    cost: str | None = None
    parts: int | None = None
    reason: str | None = None
    suppress: bool = False


class Gateway(Protocol):
    """The adapter interface."""

    name: str

    def send(self, text: str, phones: list[str]) -> list[RecipientResult]:
        """Send ``text`` to every phone of ``phones`` (E.164, no duplicates) in one request;
        one :class:`RecipientResult` per phone."""


def for_settings(settings: Settings | Mapping, name: str | None = None) -> Gateway:
    """The adapter named ``name`` (default ``settings.sms_gateway``: ``local``, ``africastalking``
    or ``kannel``), built from the ``at_*`` or ``kannel_*`` settings; ``settings`` is a
    :class:`service.settings.Settings` or a mapping of ``config.py`` names. Raises ``ValueError``
    for another name or missing Kannel settings and ``RuntimeError`` when AT credentials are
    missing (the SDK's check)."""
    settings = as_settings(settings)
    name = name or settings.sms_gateway
    if name == "local":
        from service.messaging.gateways.local import LocalGateway
        return LocalGateway(reports=settings.local_delivery == "reports")
    if name == "africastalking":
        from service.messaging.gateways.africastalking import AfricasTalkingGateway
        return AfricasTalkingGateway(settings.at_username, settings.at_api_key, sender_id=settings.at_sender_id,
                                     timeout=settings.at_timeout)
    if name == "kannel":
        from service.messaging.gateways.kannel import KannelGateway
        return KannelGateway(settings.kannel_sendsms_url, settings.kannel_username, settings.kannel_password,
                             sender=settings.kannel_from, smsc=settings.kannel_smsc,
                             callback_url=settings.kannel_callback_url,
                             token=settings.webhook_tokens[0] if settings.webhook_tokens else "",
                             timeout=settings.kannel_timeout)
    raise ValueError(f"unknown SMS gateway {name!r}")


def for_routes(settings: Settings | Mapping):
    """Every adapter the deployment sends through (``SMS_GATEWAY`` and those ``SMS_ROUTES`` names)
    as a :class:`service.messaging.gateways.routes.Routes`, what the dispatcher takes. Raises as
    :func:`for_settings`."""
    from service.messaging.gateways.routes import Routes, names

    settings = as_settings(settings)
    used = names(settings.sms_routes, settings.sms_gateway)
    return Routes({name: for_settings(settings, name) for name in used}, settings.sms_routes, settings.sms_gateway)
