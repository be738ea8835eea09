"""The local gateway (``SMS_GATEWAY=local``): nothing leaves the machine.

By default (``LOCAL_DELIVERY=now``) every message counts as delivered at once; the phone
simulator (``/simulator/messages``) shows the outbox rows of a phone. With
``LOCAL_DELIVERY=reports`` every message is ``accepted`` with a message id of its own
(``local-<hex>``) and stays "sent" until a delivery report for that id arrives at the
delivery-report webhook (``POST /sms/delivery``), as Africa's Talking would post it:
:func:`simulated_reports` makes such reports (some delivered, some failed with a reason) and
``flask --app service outbox simulate-reports`` posts them through the webhook.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.messaging.gateways import ACCEPTED, DELIVERED, RecipientResult

#: the message ids the local gateway gives in ``reports`` mode start with this
ID_PREFIX = "local-"
#: AT failure reasons the simulation draws from, in turn (``docs/gateway-africastalking.md`` §5)
FAIL_REASONS = ("AbsentSubscriber", "DeliveryFailure", "UnknownSubscriber")


class LocalGateway:
    """Accepts every phone: reports it delivered (``reports=False``), or accepted with a local
    message id, to be settled by a delivery report (``reports=True``)."""

    name = "local"

    def __init__(self, reports: bool = False):
        self.reports = reports

    def send(self, text: str, phones: list[str]) -> list[RecipientResult]:
        """One result per phone; ``text`` stays in the outbox row."""
        if self.reports:
            return [RecipientResult(phone, ACCEPTED, status_code=101, message_id=f"{ID_PREFIX}{uuid.uuid4().hex[:20]}",
                                    parts=1) for phone in phones]
        return [RecipientResult(phone, DELIVERED) for phone in phones]


@dataclass(frozen=True)
class SimulatedReport:
    """One delivery report as AT posts it: form fields ``id``, ``status``, ``phoneNumber``,
    ``failureReason`` (empty unless failed), ``networkCode``, ``retryCount``."""

    id: str
    status: str
    phoneNumber: str  # noqa: N815 - AT's field name
    failureReason: str = ""  # noqa: N815
    networkCode: str = "43601"  # noqa: N815 - Tcell
    retryCount: str = "0"  # noqa: N815

    def form(self) -> dict:
        """The report as the form AT posts."""
        return {"id": self.id, "status": self.status, "phoneNumber": self.phoneNumber,
                "failureReason": self.failureReason, "networkCode": self.networkCode, "retryCount": self.retryCount}


def simulated_reports(session, fail_every: int = 5, limit: int = 10_000) -> list[SimulatedReport]:
    """Delivery reports for the outbox rows the local gateway accepted and no final report has
    settled yet (``accepted``/``in_transit`` with a ``local-`` id), oldest first, at most
    ``limit``: every ``fail_every``-th (1-based, 0: none) ``Failed`` with a reason of
    :data:`FAIL_REASONS` in turn, the others ``Success``. Reads only; the caller posts them."""
    from sqlalchemy import select

    from service.messaging.message import OutboundMessage

    rows = session.execute(select(OutboundMessage.gateway_message_id, OutboundMessage.phone)
                           .where(OutboundMessage.status.in_(("accepted", "in_transit")),
                                  OutboundMessage.gateway_message_id.like(f"{ID_PREFIX}%"))
                           .order_by(OutboundMessage.id).limit(limit)).all()
    out = []
    for n, (message_id, phone) in enumerate(rows, start=1):
        if fail_every and n % fail_every == 0:
            reason = FAIL_REASONS[(n // fail_every - 1) % len(FAIL_REASONS)]
            out.append(SimulatedReport(message_id, "Failed", phone, reason))
        else:
            out.append(SimulatedReport(message_id, "Success", phone))
    return out
