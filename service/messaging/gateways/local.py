"""The local gateway (``SMS_GATEWAY=local``): nothing leaves the machine.

Every message counts as delivered at once; the phone simulator
(``/simulator/messages``) shows the outbox rows of a phone.
"""
from __future__ import annotations

from service.messaging.gateways import DELIVERED, RecipientResult


class LocalGateway:
    """Accepts every phone and reports it delivered."""

    name = "local"

    def send(self, text: str, phones: list[str]) -> list[RecipientResult]:
        """One ``delivered`` result per phone; ``text`` stays in the outbox row."""
        return [RecipientResult(phone, DELIVERED) for phone in phones]
