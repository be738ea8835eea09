"""Staff SMS commands: which roles may send each one, and for which account a phone acts.

A staff command (``SETPRICE``, ``ALERT``, ``OFFER``, ``ANSWER``) acts for the **active** staff
account carrying the sending phone (:func:`staff_for`), within that account's scope
(``service.staff.scope``); ``docs/staff.md`` "Staff SMS commands and scope" has the table.

| Command | Roles (:data:`COMMAND_ROLES`) | What the scope decides |
|---|---|---|
| ``SETPRICE`` | admin, extension_officer, cluster_coordinator, market_reporter | the market (``Scope.covers_market``): an extension officer's district markets, a coordinator's cluster-district markets, a reporter's own markets |
| ``ALERT`` | admin, extension_officer, cluster_coordinator, vam_agent | the target: a district (``covers_district``), a cluster (``covers_cluster``) or a PG (``covers_pg``); a VAM agent may alert the PGs of their villages only |
| ``OFFER`` | admin, extension_officer, cluster_coordinator | who is told: the pledging farmers inside the scope (``Scope.farmers()``) |
| ``ANSWER`` | admin, extension_officer, vam_agent (and any advice responder, as before) | the question's farmer (``covers_farmer``); a responder answers the questions sent to them |

PG leaders have no staff SMS command (they act as the EC: ``APPROVE``, ``CLOSE`` ...). A phone with
no active account is refused with the command's "staff only" text, as before accounts existed;
an account whose role may not use the command gets ``sms.staff.not_allowed``; a place outside the
scope gets ``sms.staff.out_of_scope`` naming the place as typed. The checks live in the service
functions (``broadcast.field_alert(scope=...)``, ``market.staff_set_price``, ``joint_sale.make_offer``,
``advice.answer``), which also write the audit entry (``price.set``, ``alert.send``, ``offer.make``,
``question.answer``) in the command's transaction.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit.log import Actor
from service.errors import Refusal
from service.logs import mask_phone
from service.reference.words import echo
from service.staff import accounts
from service.staff import scope as scope_mod
from service.staff.scope import Scope

log = logging.getLogger("dehqon.staff")

#: the roles that may send each staff SMS command (keys: the command names of ``keywords.toml``)
COMMAND_ROLES: dict[str, tuple[str, ...]] = {
    "setprice": ("admin", "extension_officer", "cluster_coordinator", "market_reporter"),
    "alert": ("admin", "extension_officer", "cluster_coordinator", "vam_agent"),
    "offer": ("admin", "extension_officer", "cluster_coordinator"),
    "answer": ("admin", "extension_officer", "vam_agent"),
}
COMMAND_ROLES["setprice_send"] = COMMAND_ROLES["setprice"]
COMMAND_ROLES["alert_send"] = COMMAND_ROLES["alert"]

#: the SMS keys of the refusals (``templates_sms/sms.toml``)
NOT_ALLOWED = "sms.staff.not_allowed"
OUT_OF_SCOPE = "sms.staff.out_of_scope"


@dataclass(frozen=True)
class Sender:
    """The staff member behind a staff SMS: their ``account`` (active) and its resolved ``scope``."""

    account: accounts.StaffAccount
    scope: Scope

    @property
    def actor(self) -> Actor:
        """The audit log's actor: the account, channel ``sms``."""
        return Actor.of(self.account, "sms")


def staff_for(session: Session, phone: str) -> accounts.StaffAccount | None:
    """The active staff account carrying ``phone`` (E.164), or None (no account, or switched off)."""
    return accounts.by_phone(session, phone)


def language_for(session: Session, phone: str) -> str | None:
    """The language of the active staff account of ``phone`` (E.164), or None: the reply language
    of a staff command whose keyword tells none (``SETPRICE``, ``ALERT``)."""
    account = staff_for(session, phone)
    return account.language if account is not None else None


def phones(session: Session) -> list[str]:
    """The phones (E.164) of the active staff accounts that carry one, sorted: the staff phones
    the simulator offers and the SMS engine knows."""
    return sorted(session.scalars(select(accounts.StaffAccount.phone).where(
        accounts.StaffAccount.active.is_(True), accounts.StaffAccount.phone.is_not(None))))


def may_use(account: accounts.StaffAccount, command: str) -> bool:
    """True when ``account``'s role may send ``command`` (:data:`COMMAND_ROLES`)."""
    return account.role in COMMAND_ROLES.get(command, ())


def sender(session: Session, phone: str, command: str, *, not_staff: str) -> Sender:
    """The :class:`Sender` of a staff ``command`` from ``phone`` (E.164). Raises ``Refusal``:
    ``not_staff`` (the command's "staff only" key) when no active account carries the phone,
    :data:`NOT_ALLOWED` when its role may not send the command."""
    account = staff_for(session, phone)
    if account is None:
        raise Refusal(not_staff)
    if not may_use(account, command):
        raise Refusal(NOT_ALLOWED)
    return Sender(account, scope_mod.of(session, account))


def responder_sender(session: Session, phone: str) -> Sender | None:
    """The :class:`Sender` for ``ANSWER`` from ``phone`` when its active account's role may answer,
    else None (the phone may still be an advice responder)."""
    account = staff_for(session, phone)
    if account is None or not may_use(account, "answer"):
        return None
    return Sender(account, scope_mod.of(session, account))


def require(covered: bool, place: str) -> None:
    """Raise ``Refusal(OUT_OF_SCOPE, place=...)`` (the place as typed, cut) unless ``covered``."""
    if not covered:
        raise Refusal(OUT_OF_SCOPE, place=echo(place or "-"))


def warn_unlisted(session: Session, staff_phones: Iterable[str]) -> list[str]:
    """Log a warning (logger ``dehqon.staff``, phones masked) for every ``STAFF_PHONES`` phone
    (E.164) that no active staff account carries: since staff SMS commands act for accounts, such a
    phone is refused them. Returns those phones."""
    known = set(phones(session))
    missing = sorted(set(staff_phones) - known)
    for phone in missing:
        log.warning("STAFF_PHONES lists %s but no active staff account has that phone: its staff SMS "
                    "commands are refused (flask --app service staff import-phones)", mask_phone(phone))
    return missing


@dataclass(frozen=True)
class PhonePlan:
    """What one ``STAFF_PHONES`` phone needs (``flask --app service staff import-phones``):
    ``state`` ``"ok"`` (an active account carries it: ``username``), ``"off"`` (a switched-off
    account carries it: ``username``) or ``"missing"`` (no account); for a missing phone, the
    suggested ``role``, ``scope`` refs, ``name`` and ``language`` (from the advice responder of the
    phone: an extension responder's district, a VAM agent's villages; else ``role`` None)."""

    phone: str
    state: str
    username: str | None = None
    role: str | None = None
    scope: tuple[str, ...] = ()
    name: str | None = None
    language: str = "tg"


def migration_plan(session: Session, staff_phones: Iterable[str]) -> list[PhonePlan]:
    """One :class:`PhonePlan` per phone of ``staff_phones`` (E.164), sorted by phone. Reads only."""
    from service.advice import responders

    plans = []
    for phone in sorted(set(staff_phones)):
        account = session.scalar(select(accounts.StaffAccount).where(accounts.StaffAccount.phone == phone))
        if account is not None:
            plans.append(PhonePlan(phone, "ok" if account.active else "off", account.username))
            continue
        role, refs, name, language = None, (), None, "tg"
        for r in sorted(responders.by_phone(session, phone), key=lambda r: -r.level):  # extension first
            name, language = r.name, r.language
            if r.role == "extension" and r.district_id:
                role, refs = "extension_officer", (r.district_id,)
                break
            if r.role == "vam_agent" and r.village_ids:
                role, refs = "vam_agent", tuple(str(v) for v in sorted(r.village_ids))
                break
        plans.append(PhonePlan(phone, "missing", role=role, scope=refs, name=name, language=language))
    return plans
