"""A farmer's record as staff see and correct it (the staff farmer pages, ``docs/staff.md``, Farmer pages).

:func:`search` finds profiles within a scope by name (folded: case, Cyrillic and Tajik letters,
``service.reference.names.fold``), phone (any form :func:`~service.reference.phone.to_e164` reads)
or member code; :func:`card` gathers one profile's page (profile, memberships, crops and cycles,
orders, questions, pledges, messages with their delivery status, the other profiles of its phone);
:func:`correct` changes the fields staff may correct, with validation. No Flask here: the scope
is a :class:`~service.staff.scope.Scope` and every function works in the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, union_all, literal
from sqlalchemy.orm import Session

from service.advice.questions import Question
from service.errors import Refusal
from service.farmers.models import (CODE_DIGITS, GENDERS, MAX_LAND_HA, MAX_NAME_CHARS, Farmer, by_code,
                                    clean_name, profiles)
from service.groups.membership import EC_ROLES, Membership
from service.groups.producer_group import ProducerGroup
from service.messaging.message import InboundMessage, OutboundMessage
from service.orders.catalogue import InputItem
from service.orders.rounds import InputOrder
from service.reference.crops import Crop
from service.reference.geography import Village
from service.reference.names import LANGUAGES, fold
from service.reference.phone import InvalidPhone, to_e164
from service.reminders.crop_cycle import CropCycle
from service.sales.joint_sale import Pledge

#: most characters of a search as typed
MAX_QUERY_CHARS = 80
#: most profiles a search lists
MAX_RESULTS = 50
#: messages shown per page of a farmer's page
MESSAGES_PER_PAGE = 50
#: most rows of each other part (orders, questions, pledges, cycles) shown
MAX_ROWS = 100
#: the fields :func:`correct` changes
CORRECTABLE = ("name", "gender", "village_id", "land_ha", "language", "phone")


def mask(phone: str | None) -> str:
    """A phone as a result list shows it: its first four and last four characters, dots between
    (``+992901234567`` → ``+992•••••4567``); ``-`` when empty."""
    if not phone:
        return "-"
    if len(phone) <= 6:
        return "•" * len(phone)
    return phone[:4] + "•" * (len(phone) - 8) + phone[-4:]


@dataclass(frozen=True)
class Found:
    """One search result: the profile and what the list shows of it (``village``, ``pg``: names
    in the page language, or None)."""

    farmer: Farmer
    village: str | None
    pg: str | None
    phone_masked: str


def _phone_of(query: str) -> str | None:
    digits = sum(ch.isdigit() for ch in query)
    if digits < 9:
        return None
    try:
        return to_e164(query)
    except InvalidPhone:
        return None


def search(session: Session, scope, query: str, lang: str, limit: int = MAX_RESULTS) -> list[Found]:
    """The profiles of ``scope`` matching ``query`` (cut to :data:`MAX_QUERY_CHARS`), at most
    ``limit``, by name: a member code (up to :data:`CODE_DIGITS` digits) finds that profile; a
    phone in any form :func:`to_e164` normalises finds its profiles; other text finds the
    profiles whose folded name contains every folded word of it (in Python: the scope's names
    are read as ``(id, name)`` rows, so case and Cyrillic fold the same on every database).
    Erased profiles are never found; an empty query finds nothing."""
    query = " ".join((query or "")[:MAX_QUERY_CHARS].split())
    if not query:
        return []
    base = select(Farmer.id).where(scope.farmers(), Farmer.erased_at.is_(None))
    ids: list[int] = []
    compact = query.replace(" ", "")
    if compact.isdecimal() and len(compact) <= CODE_DIGITS:
        ids = list(session.scalars(base.where(Farmer.code == compact)))
    if not ids:
        phone = _phone_of(query)
        if phone is not None:
            ids = list(session.scalars(base.where(Farmer.phone == phone).order_by(Farmer.is_main.desc(), Farmer.id)))
    if not ids and not compact.isdecimal():
        words = fold(query).split()
        if words:
            rows = session.execute(select(Farmer.id, Farmer.name).where(scope.farmers(), Farmer.erased_at.is_(None))
                                   .order_by(Farmer.name, Farmer.id).execution_options(yield_per=5000))
            for fid, name in rows:
                folded = fold(name)
                if all(w in folded for w in words):
                    ids.append(fid)
                    if len(ids) >= limit:
                        break
    ids = ids[:limit]
    if not ids:
        return []
    farmers = {f.id: f for f in session.scalars(select(Farmer).where(Farmer.id.in_(ids)))}
    villages = {v.id: v.name(lang) for v in session.scalars(select(Village).where(
        Village.id.in_({f.village_id for f in farmers.values() if f.village_id})))}
    pgs = dict(session.execute(select(Membership.farmer_id, ProducerGroup.code).join(
        ProducerGroup, ProducerGroup.id == Membership.pg_id).where(
        Membership.farmer_id.in_(ids), Membership.status.in_(("pending", "active")))).all())
    return [Found(f, villages.get(f.village_id) or f.unlisted_village, pgs.get(f.id), mask(f.phone))
            for f in (farmers[i] for i in ids)]


def in_scope(session: Session, scope, code: str) -> Farmer | None:
    """The profile of member code ``code`` when it exists, is not erased and is in ``scope``; else None."""
    farmer = by_code(session, code)
    if farmer is None or not scope.covers_farmer(session, farmer.id):
        return None
    return farmer


@dataclass(frozen=True)
class Message:
    """One SMS to or from the farmer: ``direction`` ``in``/``out``, ``at`` (UTC), ``text``,
    ``status`` (outbox state for ``out``, ``received``/``error`` for ``in``), ``kind`` and
    ``reason`` (failure reason) for ``out``, ``delivered_at``."""

    direction: str
    id: int
    at: dt.datetime
    text: str
    status: str
    kind: str | None = None
    reason: str | None = None
    delivered_at: dt.datetime | None = None


@dataclass(frozen=True)
class Card:
    """Everything the farmer page shows. Lists are newest first; ``messages`` one page of
    :data:`MESSAGES_PER_PAGE` (``more``: an older page exists); ``household``: ``(profile,
    linked)`` for every other profile of the phone, ``linked`` True when it is in scope."""

    farmer: Farmer
    village: str | None
    district_id: str | None
    crops: list[str]
    memberships: list[tuple[Membership, ProducerGroup]]
    cycles: list[tuple[CropCycle, str]]
    orders: list[tuple[InputOrder, str]]
    questions: list[Question]
    pledges: list[tuple[Pledge, str]]
    messages: list[Message]
    page: int
    more: bool
    household: list[tuple[Farmer, bool]] = field(default_factory=list)


def messages(session: Session, farmer: Farmer, page: int = 1, per_page: int = MESSAGES_PER_PAGE) -> tuple[list[Message], bool]:
    """One page (from 1) of the SMS to and from ``farmer`` (rows naming the profile), newest
    first, and whether an older page exists."""
    page = max(1, min(page, 10_000))
    out = select(literal("out").label("d"), OutboundMessage.id, OutboundMessage.created_at.label("at")).where(
        OutboundMessage.farmer_id == farmer.id)
    inn = select(literal("in").label("d"), InboundMessage.id, InboundMessage.received_at.label("at")).where(
        InboundMessage.farmer_id == farmer.id)
    both = union_all(out, inn).subquery()
    keys = session.execute(select(both.c.d, both.c.id).order_by(both.c.at.desc(), both.c.id.desc())
                           .offset((page - 1) * per_page).limit(per_page + 1)).all()
    more = len(keys) > per_page
    keys = keys[:per_page]
    outs = {m.id: m for m in session.scalars(select(OutboundMessage).where(
        OutboundMessage.id.in_([i for d, i in keys if d == "out"])))}
    ins = {m.id: m for m in session.scalars(select(InboundMessage).where(
        InboundMessage.id.in_([i for d, i in keys if d == "in"])))}
    result = []
    for d, i in keys:
        if d == "out":
            m = outs[i]
            result.append(Message("out", m.id, m.created_at, m.text, m.status, m.kind, m.failure_reason, m.delivered_at))
        else:
            m = ins[i]
            result.append(Message("in", m.id, m.received_at, m.text, "error" if m.status == "error" else "received",
                                  m.command))
    return result, more


def card(session: Session, scope, farmer: Farmer, lang: str, page: int = 1) -> Card:
    """The farmer page of ``farmer`` in ``lang`` (``scope`` decides which household profiles link)."""
    village = session.get(Village, farmer.village_id) if farmer.village_id else None
    crop_names = {c.id: c.name(lang) for c in session.scalars(select(Crop))}
    memberships = list(session.execute(select(Membership, ProducerGroup).join(
        ProducerGroup, ProducerGroup.id == Membership.pg_id).where(Membership.farmer_id == farmer.id)
        .order_by(Membership.requested_at.desc(), Membership.id.desc())).all())
    cycles = [(c, crop_names.get(c.crop_id, c.crop_id)) for c in session.scalars(
        select(CropCycle).where(CropCycle.farmer_id == farmer.id).order_by(CropCycle.created_at.desc(),
                                                                         CropCycle.id.desc()).limit(MAX_ROWS))]
    orders = [(o, item.name(lang)) for o, item in session.execute(
        select(InputOrder, InputItem).join(InputItem, InputItem.id == InputOrder.item_id)
        .where(InputOrder.farmer_id == farmer.id).order_by(InputOrder.created_at.desc(), InputOrder.id.desc())
        .limit(MAX_ROWS)).all()]
    questions = list(session.scalars(select(Question).where(Question.farmer_id == farmer.id)
                                     .order_by(Question.asked_at.desc(), Question.id.desc()).limit(MAX_ROWS)))
    pledges = [(p, crop_names.get(p.crop_id, p.crop_id)) for p in session.scalars(
        select(Pledge).where(Pledge.farmer_id == farmer.id).order_by(Pledge.week.desc(), Pledge.id.desc())
        .limit(MAX_ROWS))]
    msgs, more = messages(session, farmer, page)
    others = [p for p in profiles(session, farmer.phone) if p.id != farmer.id and p.erased_at is None] \
        if farmer.phone else []
    covered = set(session.scalars(select(Farmer.id).where(Farmer.id.in_([p.id for p in others]), scope.farmers()))) \
        if others else set()
    return Card(farmer, village.name(lang) if village else farmer.unlisted_village,
                village.district_id if village else farmer.unlisted_district_id,
                [crop_names.get(c, c) for c in farmer.crop_ids], memberships, cycles, orders, questions, pledges,
                msgs, max(1, page), more, [(p, p.id in covered) for p in others])


def seat_of(m: Membership) -> str | None:
    """The EC seat of a membership (``chair``...), or None for a plain member."""
    return m.role if m.role in EC_ROLES else None


def _land_m2(value) -> int | None:
    text = str(value).strip().replace(",", ".")
    if text == "":
        return None
    if len(text) > 12:
        raise Refusal("farmers.err.land")
    try:
        ha = Decimal(text)
    except InvalidOperation:
        raise Refusal("farmers.err.land") from None
    if not ha.is_finite() or ha <= 0 or ha > MAX_LAND_HA:
        raise Refusal("farmers.err.land")
    return int((ha * 10000).to_integral_value())


def correct(session: Session, farmer: Farmer, *, villages: set[int] | None = None, **fields) -> tuple[dict, dict]:
    """Correct ``farmer``'s record with ``fields`` (any of :data:`CORRECTABLE`: ``name`` (2 to
    :data:`~service.farmers.models.MAX_NAME_CHARS` characters with a letter), ``gender``
    (:data:`~service.farmers.models.GENDERS`), ``village_id`` (an existing village id, int or
    digits; when ``villages`` is given, one of those ids: the villages of the staff member's area), ``land_ha`` (hectares as text or number, in (0, 500], empty: unknown), ``language``
    (tg/ru/uz/en), ``phone`` (any form :func:`to_e164` reads; moving to another phone makes the
    profile that phone's main one when it has none, and the old phone's next profile its main one;
    a phone whose profiles were erased loses its erased mark, as at registration)).

    Returns ``(before, after)``: the changed fields only, with their old and new values (empty
    when nothing changed; land as ``land_ha`` in hectares). Raises ``Refusal`` with keys ``farmers.err.name`` (``reason``
    ``long``/``short``), ``farmers.err.gender``, ``farmers.err.village``, ``farmers.err.land``,
    ``farmers.err.language``, ``farmers.err.phone``, ``farmers.err.phone_full`` (the new phone
    holds :data:`~service.farmers.models.MAX_PROFILES_PER_PHONE` profiles),
    ``farmers.err.same_name`` (a profile of that name is on the phone) and
    ``farmers.err.erased``; ``ValueError`` for an unknown field name. Nothing is changed on a
    refusal. The caller writes the audit entry and commits."""
    from service.farmers.models import MAX_PROFILES_PER_PHONE

    unknown = set(fields) - set(CORRECTABLE)
    if unknown:
        raise ValueError(f"fields that cannot be corrected: {sorted(unknown)}")
    if farmer.erased_at is not None:
        raise Refusal("farmers.err.erased")
    new: dict = {}
    if "name" in fields:
        raw = str(fields["name"] or "")
        if len(raw) > 4 * MAX_NAME_CHARS:
            raise Refusal("farmers.err.name", reason="long")
        try:
            new["name"] = clean_name(raw)
        except Refusal as refusal:
            raise Refusal("farmers.err.name", **refusal.params) from None
    if "gender" in fields:
        if fields["gender"] not in GENDERS:
            raise Refusal("farmers.err.gender")
        new["gender"] = fields["gender"]
    if "language" in fields:
        if fields["language"] not in LANGUAGES:
            raise Refusal("farmers.err.language")
        new["language"] = fields["language"]
    if "village_id" in fields:
        raw = str(fields["village_id"] or "").strip()
        village = session.get(Village, int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if village is None or (villages is not None and village.id not in villages):
            raise Refusal("farmers.err.village")
        new["village_id"] = village.id
    if "land_ha" in fields:
        new["land_m2"] = _land_m2(fields["land_ha"] if fields["land_ha"] is not None else "")
    if "phone" in fields:
        raw = str(fields["phone"] or "")
        if len(raw) > 40:
            raise Refusal("farmers.err.phone")
        try:
            new["phone"] = to_e164(raw)
        except InvalidPhone:
            raise Refusal("farmers.err.phone") from None

    changed = {k: v for k, v in new.items() if getattr(farmer, k) != v}
    phone = changed.get("phone", farmer.phone)
    name = changed.get("name", farmer.name)
    if "phone" in changed or "name" in changed:
        others = [p for p in profiles(session, phone) if p.id != farmer.id]
        if any(fold(p.name) == fold(name) for p in others if p.erased_at is None):
            raise Refusal("farmers.err.same_name")
        if "phone" in changed and len(others) >= MAX_PROFILES_PER_PHONE:
            raise Refusal("farmers.err.phone_full")
    before = dict(_shown(k, getattr(farmer, k)) for k in changed)
    if "phone" in changed:
        old_others = [p for p in profiles(session, farmer.phone) if p.id != farmer.id]
        was_main = farmer.is_main
        if was_main:
            farmer.is_main = False
            session.flush()
            if old_others:
                old_others[0].is_main = True
                session.flush()
        farmer.phone = changed["phone"]
        from service.farmers.models import ErasedPhone, phone_digest

        erased = session.get(ErasedPhone, phone_digest(farmer.phone))
        if erased is not None:  # as at registration: a profile on the phone again lifts the erased mark
            session.delete(erased)
        new_others = [p for p in profiles(session, farmer.phone) if p.id != farmer.id]
        farmer.is_main = not any(p.is_main for p in new_others)
    for key, value in changed.items():
        if key == "village_id":
            farmer.unlisted_village = None
            farmer.unlisted_district_id = None
        setattr(farmer, key, value)
    session.flush()
    after = dict(_shown(k, getattr(farmer, k)) for k in changed)
    return before, after


def _shown(key: str, value) -> tuple[str, object]:
    """A changed field as the audit entry records it (land in hectares, as ``land_ha``)."""
    if key == "land_m2":
        return "land_ha", None if value is None else value / 10000
    return key, value
