"""Which gateway sends to which phone: ``SMS_ROUTES`` (``docs/gateway-kannel.md`` §7).

``SMS_ROUTES`` is a comma-separated list of ``prefix=gateway`` pairs, each prefix ``+`` and
1 to 15 digits (an E.164 prefix), each gateway one of :data:`service.settings.GATEWAYS`,
e.g. ``+992=kannel,+2547=africastalking``. A phone goes through the gateway of the longest
prefix it starts with; a phone no prefix matches goes through ``SMS_GATEWAY``.
:func:`parse` raises :class:`service.settings.ConfigError` with one sentence for a bad list
(``check_startup`` calls it, so a bad value stops the start).

:class:`Routes` is what the dispatcher (``service.messaging.dispatch``) sends through: the
adapters by name, the route of a phone (:meth:`Routes.gateway_of`) and the same choice as an
SQL expression over ``outbound_message.phone`` (:meth:`Routes.sql_gateway`), so a pass claims
only rows whose gateway is not held.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import case, literal

from service.settings import GATEWAYS, ConfigError

_PREFIX = re.compile(r"^\+[0-9]{1,15}$")


def parse(value: str | None, gateways: tuple[str, ...] = GATEWAYS) -> tuple[tuple[str, str], ...]:
    """``SMS_ROUTES`` as ``((prefix, gateway), ...)``, longest prefix first; ``()`` when empty.

    Raises :class:`ConfigError` naming the bad pair: not ``prefix=gateway``, a prefix that is not
    ``+`` and digits, an unknown gateway, or a prefix given twice.
    """
    pairs: dict[str, str] = {}
    for raw in (value or "").split(","):
        item = raw.strip()
        if not item:
            continue
        prefix, eq, gateway = (part.strip() for part in item.partition("="))
        if not eq or not prefix or not gateway:
            raise ConfigError(f"SMS_ROUTES must be comma-separated prefix=gateway pairs such as "
                              f"+992=kannel, and {item[:40]!r} is not one.")
        if not _PREFIX.match(prefix):
            raise ConfigError(f"SMS_ROUTES prefix {prefix[:20]!r} must be a + followed by 1 to 15 digits "
                              f"(an international dialling prefix such as +992).")
        if gateway not in gateways:
            raise ConfigError(f"SMS_ROUTES gateway {gateway[:20]!r} (for {prefix}) must be one of "
                              f"{', '.join(gateways)}.")
        if prefix in pairs:
            raise ConfigError(f"SMS_ROUTES gives the prefix {prefix} twice; give each prefix once.")
        pairs[prefix] = gateway
    return tuple(sorted(pairs.items(), key=lambda pair: (-len(pair[0]), pair[0])))


def gateway_for(phone: str, routes: tuple[tuple[str, str], ...], default: str) -> str:
    """The gateway name of ``phone`` (E.164): the longest matching prefix of ``routes`` (as
    :func:`parse` gives them), else ``default``."""
    return next((gateway for prefix, gateway in routes if phone.startswith(prefix)), default)


def names(routes: tuple[tuple[str, str], ...], default: str) -> tuple[str, ...]:
    """Every gateway name the routes and the default use, the default first."""
    out = [default]
    for _, gateway in routes:
        if gateway not in out:
            out.append(gateway)
    return tuple(out)


@dataclass
class Routes:
    """The adapters of a deployment and how a phone picks one.

    ``gateways`` name → adapter (``service.messaging.gateways.Gateway``), holding every name
    ``routes`` and ``default`` use; ``routes`` longest prefix first (:func:`parse`);
    ``default`` the ``SMS_GATEWAY`` name. Raises ``ValueError`` when a used name has no adapter.
    """

    gateways: Mapping[str, object]
    routes: tuple[tuple[str, str], ...] = ()
    default: str = "local"

    def __post_init__(self):
        missing = [n for n in names(self.routes, self.default) if n not in self.gateways]
        if missing:
            raise ValueError(f"no adapter for the gateway(s) {', '.join(missing)}")

    @classmethod
    def single(cls, gateway) -> Routes:
        """Every phone through one adapter."""
        return cls({gateway.name: gateway}, (), gateway.name)

    @property
    def name(self) -> str:
        """The names of the adapters, ``+``-joined (for log lines)."""
        return "+".join(names(self.routes, self.default))

    def names(self) -> tuple[str, ...]:
        """The gateway names in use, the default first."""
        return names(self.routes, self.default)

    def gateway_of(self, phone: str) -> str:
        """The gateway name of ``phone``."""
        return gateway_for(phone, self.routes, self.default)

    def sql_gateway(self, phone_column):
        """An SQL expression giving the gateway name of ``phone_column`` (longest prefix first).
        Prefixes are ``+`` and digits only, so ``LIKE 'prefix%'`` matches exactly ``startswith``."""
        if not self.routes:
            return literal(self.default)
        return case(*((phone_column.like(prefix + "%"), gateway) for prefix, gateway in self.routes),
                    else_=literal(self.default))
