"""Merging two profiles of one person (a duplicate registered twice, by USSD and by SMS, or by an
import and by the farmer): everything of the dropped profile moves to the kept one, then the
dropped profile is deleted (``docs/staff.md``, Farmer pages).

Every column that refers to ``farmer.id`` is listed in :data:`HANDLED` with how it moves;
:func:`merge` refuses to run (``RuntimeError``) when the schema has one it does not list, so a new
table with a farmer is never lost to the ``ON DELETE CASCADE`` of the dropped profile
(``tests/test_farmer_merge.py`` checks the list against the schema too).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.advice.questions import Question
from service.advice.responders import Responder
from service.audit import log as audit
from service.db import Base
from service.errors import Refusal
from service.farmers.models import Farmer, FarmerCrop, profiles
from service.groups.cluster_committee import ClusterTerm
from service.groups.committee import EcTerm
from service.groups.membership import EC_ROLES, OPEN, Membership
from service.messaging.message import InboundMessage, OutboundMessage
from service.orders.rounds import InputOrder, OrderRound
from service.prices.alerts import PriceAlert, PriceSubscription
from service.reminders.crop_cycle import CropCycle, Reminder
from service.sales.joint_sale import Pledge
from service.sales.yields import YieldReport
from service.ussd.session import UssdSession

#: every (table, column) referring to ``farmer.id`` and how :func:`merge` treats it:
#: ``move`` (the rows get the kept id), ``union`` (rows whose key includes the farmer: the kept
#: profile keeps its own, the dropped profile's missing ones move, the rest go), ``membership``
#: and ``cycle`` (moved with the rules of :func:`merge`)
HANDLED = {
    ("farmer_crop", "farmer_id"): "union",
    ("price_subscription", "farmer_id"): "union",
    ("membership", "farmer_id"): "membership",
    ("membership", "approved_by"): "move",
    ("membership", "rejected_by"): "move",
    ("ec_term", "farmer_id"): "move",
    ("cluster_term", "farmer_id"): "move",
    ("crop_cycle", "farmer_id"): "cycle",
    ("input_order", "farmer_id"): "move",
    ("order_round", "opened_by"): "move",
    ("order_round", "closed_by"): "move",
    ("question", "farmer_id"): "move",
    ("pledge", "farmer_id"): "move",
    ("yield_report", "farmer_id"): "move",
    ("price_alert", "farmer_id"): "move",
    ("responder", "farmer_id"): "move",
    ("inbound_message", "farmer_id"): "move",
    ("outbound_message", "farmer_id"): "move",
    ("ussd_session", "farmer_id"): "move",
}

_MOVED = {  # the "move" columns as mapped attributes
    ("membership", "approved_by"): Membership.approved_by,
    ("membership", "rejected_by"): Membership.rejected_by,
    ("ec_term", "farmer_id"): EcTerm.farmer_id,
    ("cluster_term", "farmer_id"): ClusterTerm.farmer_id,
    ("input_order", "farmer_id"): InputOrder.farmer_id,
    ("order_round", "opened_by"): OrderRound.opened_by,
    ("order_round", "closed_by"): OrderRound.closed_by,
    ("question", "farmer_id"): Question.farmer_id,
    ("pledge", "farmer_id"): Pledge.farmer_id,
    ("yield_report", "farmer_id"): YieldReport.farmer_id,
    ("price_alert", "farmer_id"): PriceAlert.farmer_id,
    ("responder", "farmer_id"): Responder.farmer_id,
    ("inbound_message", "farmer_id"): InboundMessage.farmer_id,
    ("outbound_message", "farmer_id"): OutboundMessage.farmer_id,
    ("ussd_session", "farmer_id"): UssdSession.farmer_id,
}


def farmer_references() -> set[tuple[str, str]]:
    """Every ``(table, column)`` of the schema with a foreign key to ``farmer.id``."""
    found = set()
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.target_fullname == "farmer.id":
                found.add((table.name, fk.parent.name))
    return found


def unhandled() -> set[tuple[str, str]]:
    """The references to ``farmer.id`` that :data:`HANDLED` does not list (empty when all are)."""
    return farmer_references() - set(HANDLED)


def _snapshot(f: Farmer) -> dict:
    return {"id": f.id, "code": f.code, "name": f.name, "phone": f.phone, "gender": f.gender,
            "village_id": f.village_id, "language": f.language, "land_m2": f.land_m2}


def check(session: Session, keep: Farmer, drop: Farmer) -> None:
    """Raise the ``Refusal`` :func:`merge` would raise for this pair, changing nothing:
    ``farmers.err.merge_same`` (one profile), ``farmers.err.erased`` (either erased),
    ``farmers.err.merge_two_pgs`` (``keep``/``drop``: PG codes; open memberships of different
    PGs), ``farmers.err.merge_two_seats`` (both hold an EC seat, or seats of one cluster committee)."""
    from service.groups.producer_group import ProducerGroup

    if keep.id == drop.id:
        raise Refusal("farmers.err.merge_same")
    if keep.erased_at is not None or drop.erased_at is not None:
        raise Refusal("farmers.err.erased")
    mk = session.scalar(select(Membership).where(Membership.farmer_id == keep.id, Membership.status.in_(OPEN)))
    md = session.scalar(select(Membership).where(Membership.farmer_id == drop.id, Membership.status.in_(OPEN)))
    if mk is not None and md is not None:
        if mk.pg_id != md.pg_id:
            raise Refusal("farmers.err.merge_two_pgs", keep=session.get(ProducerGroup, mk.pg_id).code,
                          drop=session.get(ProducerGroup, md.pg_id).code)
        if mk.role in EC_ROLES and md.role in EC_ROLES:
            raise Refusal("farmers.err.merge_two_seats")
    open_seats = select(ClusterTerm.cluster_id).where(ClusterTerm.ended_on.is_(None))
    if set(session.scalars(open_seats.where(ClusterTerm.farmer_id == keep.id))) & \
            set(session.scalars(open_seats.where(ClusterTerm.farmer_id == drop.id))):
        raise Refusal("farmers.err.merge_two_seats")


def merge(session: Session, keep: Farmer, drop: Farmer, actor: audit.Actor, now: dt.datetime) -> dict[str, int]:
    """Move everything of ``drop`` to ``keep`` and delete ``drop``, in the caller's transaction
    (the caller commits), with an audit entry ``farmer.merge`` (both profiles before, the counts
    moved after). ``now``: aware UTC.

    What moves: memberships (both open in one PG: the one holding an EC seat stays open, else
    the kept profile's, and the other is closed as ``left`` at ``now``), EC terms, who approved,
    rejected, opened or closed something, cluster committee terms, crops (union), crop cycles (a crop the kept profile has
    a cycle of too: the dropped profile's pending reminders are ``skipped``, so nobody gets a
    reminder twice), orders, questions, pledges, yields, price alerts, the weekly price
    subscription (kept once), responder rows, SMS in and out and USSD sessions. The kept
    profile's own fields stay as they are (correct them afterwards). When ``drop`` was its
    phone's main profile, the phone's next profile becomes the main one.

    Returns the rows moved per table (``table.column`` for a column other than ``farmer_id``). Raises the refusals of :func:`check`, and ``RuntimeError``
    when the schema has a reference to ``farmer.id`` not in :data:`HANDLED`."""
    missing = unhandled()
    if missing:
        raise RuntimeError(f"merge does not know how to move {sorted(missing)}")
    check(session, keep, drop)
    before = {"keep": _snapshot(keep), "drop": _snapshot(drop)}
    counts: dict[str, int] = {}
    k, d = keep.id, drop.id

    # memberships: at most one open per farmer, and one holder per EC seat
    mk = session.scalar(select(Membership).where(Membership.farmer_id == k, Membership.status.in_(OPEN)))
    md = session.scalar(select(Membership).where(Membership.farmer_id == d, Membership.status.in_(OPEN)))
    if mk is not None and md is not None:  # one PG (check refused two)
        closed = mk if md.role in EC_ROLES and mk.role not in EC_ROLES else md
        closed.status, closed.left_at = "left", now
        session.flush()
    counts["membership"] = session.execute(update(Membership).where(Membership.farmer_id == d)
                                           .values(farmer_id=k)).rowcount

    # crops and the price digest: keyed by the farmer
    have = set(session.scalars(select(FarmerCrop.crop_id).where(FarmerCrop.farmer_id == k)))
    theirs = set(session.scalars(select(FarmerCrop.crop_id).where(FarmerCrop.farmer_id == d)))
    session.execute(delete(FarmerCrop).where(FarmerCrop.farmer_id == d))
    for crop in sorted(theirs - have):
        session.add(FarmerCrop(farmer_id=k, crop_id=crop))
    counts["farmer_crop"] = len(theirs - have)
    if session.get(PriceSubscription, d) is not None:
        sub = session.get(PriceSubscription, d)
        if session.get(PriceSubscription, k) is None:
            session.add(PriceSubscription(farmer_id=k, created_at=sub.created_at))
            counts["price_subscription"] = 1
        session.delete(sub)
    session.flush()

    # crop cycles: moved; a crop both have cycles of keeps only the kept profile's reminders
    kept_crops = set(session.scalars(select(CropCycle.crop_id).where(CropCycle.farmer_id == k)))
    doubled = list(session.scalars(select(CropCycle.id).where(CropCycle.farmer_id == d,
                                                               CropCycle.crop_id.in_(sorted(kept_crops)))))
    if doubled:
        session.execute(update(Reminder).where(Reminder.cycle_id.in_(doubled), Reminder.status == "pending")
                        .values(status="skipped", handled_at=now))
    counts["crop_cycle"] = session.execute(update(CropCycle).where(CropCycle.farmer_id == d)
                                           .values(farmer_id=k)).rowcount

    for (table, name), column in _MOVED.items():
        moved = session.execute(update(column.class_).where(column == d).values({column.key: k})
                                .execution_options(synchronize_session=False)).rowcount
        if moved:
            counts[table if name == "farmer_id" else f"{table}.{name}"] = moved

    # the dropped profile goes; its phone keeps a main profile when others remain
    phone, was_main = drop.phone, drop.is_main
    session.expire(drop)
    session.delete(session.get(Farmer, d))
    session.flush()
    if was_main:
        rest = profiles(session, phone)
        if rest and not any(p.is_main for p in rest):
            rest[0].is_main = True
    session.flush()
    session.expire_all()
    keep = session.get(Farmer, k)
    audit.record(session, actor, "farmer.merge", "farmer", k, before=before,
                 after={"keep": _snapshot(keep), "moved": counts})
    return counts
