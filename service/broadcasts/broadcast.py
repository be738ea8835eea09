"""Broadcasts: one message from staff to an audience of farmers, each in their own language.

An :class:`Audience` selects farmers by district, commodity cluster, PG,
crop, gender, language, membership role, the PG's development stage (its latest
assessment) and the weekly price digest (opted in to prices) (AND between criteria,
OR within one; cluster, PG, role and stage look at the farmer's active membership). Phones on
the suppression list are left out, and a phone shared by several profiles gets
ONE message, in the language of its first matching profile (the main one
first): the outbox ``dedupe_key`` ``bc:<broadcast>:<phone>`` makes that hold
whatever re-runs or restarts happen.

Texts are given per language (``{"tg": ..., "ru": ...}``); a farmer whose
language has no text gets the Tajik one, else the first given.
:func:`preview` tells the sender the recipients, SMS segments per language and
the estimated cost (``SMS_PRICE_TJS`` per segment, an unverified dated
tariff). A broadcast is sent now or at ``send_at``; the scheduler tick queues
due ones (:func:`queue_due`), skipping those more than the grace late.
:func:`field_alert` checks and costs a staff member's ``ALERT <district|cluster|PG>
[crop] [gender]: <text>``, with versions per language when given (the preview the sender
confirms, ``service.broadcasts.sms``) and
:func:`alert_from_field` stores it due now: the next scheduler tick queues it
(kind ``alert``: first in the queue, exempt from quiet hours). Queueing in the
tick rather than in the SMS request keeps the request one short transaction
whatever the audience size.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Index, String, exists, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.reference import geography
from service.groups.cluster import CommodityCluster
from service.db import Base, utcnow
from service.messaging.encoding import measure
from service.errors import Refusal
from service.farmers.models import GENDERS, Farmer, FarmerCrop
from service.reference.geography import Village
from service.logs import mask_phone
from service.groups.membership import EC_ROLES, ROLES, Membership
from service.messaging.message import OutboundMessage, queue_many
from service.reference.names import LANGUAGES, fold
from service.messaging.optout import Suppression
from service.groups.producer_group import STAGES, ProducerGroup, by_code, normalise_code
from service.prices.alerts import PriceSubscription
from service.audit import log as audit
from service.audit.log import Actor
from service.staff import commands as staff_commands
from service.staff.scope import Scope

log = logging.getLogger(__name__)

#: ``draft``: created on the staff pages, previewed, awaiting its sender's confirmation (never queued)
STATUSES = ("draft", "scheduled", "queuing", "queued", "expired", "cancelled")
KINDS = ("broadcast", "alert")
CHUNK = 5000


class Broadcast(Base):
    """A broadcast: ``audience`` (:meth:`Audience.as_dict`), ``texts`` ``{lang: text}``,
    ``kind`` ``broadcast``/``alert``, ``send_at`` UTC, ``status`` one of :data:`STATUSES`
    (``queuing`` while its outbox rows are being written), ``recipients`` rows queued,
    ``created_by`` the staff phone or ``cli``."""

    __tablename__ = "broadcast"
    __table_args__ = (Index("ix_broadcast_due", "status", "send_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="broadcast")
    audience: Mapped[dict]
    texts: Mapped[dict]
    send_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    recipients: Mapped[int | None]
    created_by: Mapped[str] = mapped_column(String(20), default="cli")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[dt.datetime | None]


class AudienceError(ValueError):
    """An audience criterion names something that does not exist."""


@dataclass(frozen=True)
class Audience:
    """Who gets a broadcast; empty criteria select everybody. ``districts``: district ids;
    ``clusters``: cluster ids (``rice.balkhi``); ``pgs``: PG codes; ``crops``: crop ids;
    ``genders``; ``languages``; ``roles``: membership roles, ``ec`` meaning any EC seat;
    ``stages``: the development stage of the farmer's PG as its latest assessment set it
    (``ProducerGroup.stage``, kept by ``producer_group.set_stage``; ``producer_group.STAGES``);
    ``price_subscribers``: only farmers subscribed to the weekly price digest
    (``service.prices.alerts.PriceSubscription``)."""

    districts: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    pgs: tuple[str, ...] = ()
    crops: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    price_subscribers: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> Audience:
        """From :meth:`as_dict` output (lists, and ``price_subscribers`` a bool)."""
        return cls(**{k: (bool(v) if k == "price_subscribers" else tuple(v)) for k, v in (data or {}).items()})

    def as_dict(self) -> dict:
        """Non-empty criteria as lists (JSON-ready); ``price_subscribers`` only when True."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v}

    def check(self, session: Session) -> Audience:
        """Return the audience with PG codes normalised; :class:`AudienceError` for unknown values."""
        from service.reference.crops import Crop
        from service.reference.geography import District

        def known(values, model, column) -> None:
            found = set(session.scalars(select(column).where(column.in_(values)))) if values else set()
            missing = sorted(set(values) - found)
            if missing:
                raise AudienceError(f"unknown {model}: {', '.join(missing)}")

        pgs = tuple(normalise_code(p) for p in self.pgs)
        known(self.districts, "district", District.id)
        known(self.clusters, "cluster", CommodityCluster.id)
        known(pgs, "PG", ProducerGroup.code)
        known(self.crops, "crop", Crop.id)
        for values, allowed, name in ((self.genders, GENDERS, "gender"), (self.languages, LANGUAGES, "language"),
                                      (self.roles, (*ROLES, "ec"), "role"), (self.stages, STAGES, "stage")):
            if set(values) - set(allowed):
                raise AudienceError(f"{name} must be among {', '.join(allowed)}")
        return replace(self, pgs=pgs)

    def describe(self) -> str:
        """A short label for logs and staff answers (``district=kulob crop=rice``)."""
        return " ".join(f"{k}={','.join(v) if isinstance(v, list) else 'yes'}"
                        for k, v in self.as_dict().items()) or "everybody"


def _query(audience: Audience):
    q = select(Farmer.id, Farmer.phone, Farmer.language).where(~exists().where(Suppression.phone == Farmer.phone))
    if audience.districts:
        q = q.where(Farmer.village_id.in_(select(Village.id).where(Village.district_id.in_(audience.districts))))
    if audience.crops:
        q = q.where(exists().where(FarmerCrop.farmer_id == Farmer.id, FarmerCrop.crop_id.in_(audience.crops)))
    if audience.genders:
        q = q.where(Farmer.gender.in_(audience.genders))
    if audience.languages:
        q = q.where(Farmer.language.in_(audience.languages))
    if audience.price_subscribers:
        q = q.where(exists().where(PriceSubscription.farmer_id == Farmer.id))
    if audience.pgs or audience.clusters or audience.roles or audience.stages:
        member = exists().where(Membership.farmer_id == Farmer.id, Membership.status == "active",
                                ProducerGroup.id == Membership.pg_id)
        if audience.stages:  # the PG's stage: its latest assessment (producer_group.set_stage keeps it)
            member = member.where(ProducerGroup.stage.in_(audience.stages))
        if audience.pgs:
            member = member.where(ProducerGroup.code.in_(audience.pgs))
        if audience.clusters:
            member = member.where(ProducerGroup.cluster_id.in_(audience.clusters))
        if audience.roles:
            roles = set(audience.roles) | (set(EC_ROLES) if "ec" in audience.roles else set())
            member = member.where(Membership.role.in_(sorted(roles - {"ec"})))
        q = q.where(member)
    return q.order_by(Farmer.phone, Farmer.is_main.desc(), Farmer.id)


def recipients(session: Session, audience: Audience) -> Iterator[tuple[int, str, str]]:
    """``(farmer id, phone, language)`` per phone of the audience, streamed in phone order."""
    last = None
    for farmer_id, phone, language in session.execute(_query(audience), execution_options={"yield_per": CHUNK}):
        if phone != last:
            last = phone
            yield farmer_id, phone, language


def text_for(texts: dict, lang: str) -> str:
    """The broadcast text for a farmer speaking ``lang`` (Tajik, else the first text, when missing)."""
    return texts.get(lang) or texts.get("tg") or next(iter(texts.values()))


@dataclass
class Preview:
    """What a broadcast would cost: ``recipients`` phones; ``by_language`` ``{lang: {"recipients",
    "segments" (per message), "encoding"}}``; ``segments`` in total; ``cost_tjs`` estimated."""

    recipients: int = 0
    by_language: dict = field(default_factory=dict)
    segments: int = 0
    cost_tjs: Decimal = Decimal("0.00")

    def __str__(self) -> str:
        langs = ", ".join(f"{lang}: {v['recipients']} × {v['segments']} seg ({v['encoding']})"
                          for lang, v in sorted(self.by_language.items()))
        return (f"{self.recipients} recipients, {self.segments} segments, about {self.cost_tjs} TJS"
                + (f" [{langs}]" if langs else ""))


def preview(session: Session, audience: Audience, texts: dict, price_tjs: float) -> Preview:
    """Count recipients, segments per language and the estimated cost at ``price_tjs`` per segment
    (``SMS_PRICE_TJS``: dated and unverified, ``docs/message-budgets.md`` §5)."""
    _check_texts(texts)
    result = Preview()
    for _, _, lang in recipients(session, audience):
        entry = result.by_language.get(lang)
        if entry is None:
            m = measure(text_for(texts, lang))
            entry = result.by_language[lang] = {"recipients": 0, "segments": m.segments, "encoding": m.encoding}
        entry["recipients"] += 1
        result.recipients += 1
        result.segments += entry["segments"]
    result.cost_tjs = (Decimal(str(price_tjs)) * result.segments).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return result


def _check_texts(texts: dict) -> None:
    if not texts or not any((t or "").strip() for t in texts.values()):
        raise ValueError("a broadcast needs a text")
    unknown = set(texts) - set(LANGUAGES)
    if unknown:
        raise ValueError(f"unknown languages {sorted(unknown)}")


def create(session: Session, audience: Audience, texts: dict, *, kind: str = "broadcast",
           send_at: dt.datetime | None = None, created_by: str = "cli", now: dt.datetime | None = None) -> Broadcast:
    """Store a broadcast to send at ``send_at`` (aware; default now). ``ValueError`` without a text,
    for an unknown language or kind; :class:`AudienceError` via :meth:`Audience.check`."""
    _check_texts(texts)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    audience = audience.check(session)
    row = Broadcast(kind=kind, audience=audience.as_dict(), texts={k: v for k, v in texts.items() if v},
                    send_at=send_at or now or utcnow(), created_by=created_by, created_at=now or utcnow())
    session.add(row)
    session.flush()
    return row


def dedupe_key(broadcast_id: int, phone: str) -> str:
    """The outbox idempotency key of one broadcast's message to one phone."""
    return f"bc:{broadcast_id}:{phone}"


def queue(session: Session, broadcast: Broadcast, now: dt.datetime | None = None) -> int:
    """Write the broadcast's outbox rows, COMMITTING every :data:`CHUNK` rows; returns the rows
    written now. Safe to re-run after a crash: rows already written are skipped."""
    now = now or utcnow()
    broadcast.status = "queuing"
    session.commit()
    audience = Audience.from_dict(broadcast.audience)
    kind = "alert" if broadcast.kind == "alert" else "broadcast"
    written, chunk = 0, []
    for farmer_id, phone, lang in recipients(session, audience):
        chunk.append({"phone": phone, "farmer_id": farmer_id, "language": lang,
                      "text": text_for(broadcast.texts, lang), "dedupe_key": dedupe_key(broadcast.id, phone)})
        if len(chunk) >= CHUNK:
            written += len(queue_many(session, chunk, kind=kind, not_before=now))
            chunk = []
    written += len(queue_many(session, chunk, kind=kind, not_before=now))
    total = session.scalar(select(func.count()).select_from(OutboundMessage)
                           .where(OutboundMessage.dedupe_key.like(f"bc:{broadcast.id}:%")))
    broadcast.status, broadcast.queued_at, broadcast.recipients = "queued", now, total
    session.commit()
    return written


@dataclass
class DueReport:
    """What :func:`queue_due` did: ``queued`` broadcasts, ``rows`` written, ``expired`` broadcast ids."""

    queued: int = 0
    rows: int = 0
    expired: list[int] = field(default_factory=list)


def queue_due(session: Session, now: dt.datetime, grace: dt.timedelta) -> DueReport:
    """Queue scheduled broadcasts due at ``now``; one due more than ``grace`` ago is ``expired``
    (reported, not sent); one left ``queuing`` by a crash is finished whatever its age. Commits."""
    report = DueReport()
    due = session.scalars(select(Broadcast).where(
        ((Broadcast.status == "scheduled") & (Broadcast.send_at <= now)) | (Broadcast.status == "queuing"))
        .order_by(Broadcast.send_at, Broadcast.id)).all()
    for b in due:
        if b.status == "scheduled" and now - b.send_at > grace:
            moved = session.execute(update(Broadcast).where(Broadcast.id == b.id, Broadcast.status == "scheduled")
                                    .values(status="expired").execution_options(synchronize_session=False))
            session.commit()
            if moved.rowcount:
                report.expired.append(b.id)
                log.warning("broadcast %s was due at %s UTC, more than %s ago: not sent (expired)",
                            b.id, b.send_at.strftime("%Y-%m-%d %H:%M"), grace)
            continue
        report.rows += queue(session, b, now)
        report.queued += 1
    return report


def cancel(session: Session, broadcast: Broadcast) -> bool:
    """Cancel a broadcast still ``scheduled``; False when it is already queued or done."""
    if broadcast.status != "scheduled":
        return False
    broadcast.status = "cancelled"
    session.flush()
    return True


def _target(session: Session, target_text: str) -> tuple[Audience, str, dict, tuple[str, object]]:
    """Audience, label and the place's name per language for an ALERT target: a PG code (named by
    its village), a cluster id or name, or one district; and the kind and id the scope is asked
    about (``("pg", id)``, ``("cluster", id)``, ``("district", id)``)."""
    pg = by_code(session, target_text)
    if pg is not None:
        village = session.get(Village, pg.village_id)
        return Audience(pgs=(pg.code,)), pg.code, {lang: village.name(lang) for lang in LANGUAGES}, ("pg", pg.id)
    wanted = fold(target_text).replace(" ", ".")
    for cluster in session.scalars(select(CommodityCluster)):
        if wanted in (fold(cluster.id), *(fold(n).replace(" ", ".") for n in cluster.names.values())):
            return (Audience(clusters=(cluster.id,)), cluster.id, {lang: cluster.name(lang) for lang in LANGUAGES},
                    ("cluster", cluster.id))
    districts = geography.find_district(session, target_text)
    if len(districts) == 1:
        d = districts[0]
        return Audience(districts=(d.id,)), d.id, {lang: d.name(lang) for lang in LANGUAGES}, ("district", d.id)
    raise Refusal("push.alert_unknown_target", target=target_text)


def _covers(scope, kind: str, ref) -> bool:
    return {"pg": scope.covers_pg, "cluster": scope.covers_cluster, "district": scope.covers_district}[kind](ref)


TYPED = ""  # FieldAlert.sources value of a language that gets the text as typed (no version of its own)


@dataclass
class FieldAlert:
    """A staff alert checked and costed, not stored: ``audience``; ``label`` the target as found
    (PG code, cluster id or district id); ``places`` the target's name per language; ``texts``
    per language (the ``push.alert`` wrapper around the version it gets); ``sources`` per language
    the version it gets (a language code, or :data:`TYPED` for the text typed without a marker);
    ``preview`` recipients, segments per language and cost."""

    audience: Audience
    label: str
    places: dict
    texts: dict
    sources: dict
    preview: Preview


def alert_versions(text: str, versions: dict | None) -> dict:
    """Which version each language gets: its own (``versions[lang]``), else the text typed
    without a marker, else the Tajik version, else the first given. ``{lang: source}`` with
    source a language code or :data:`TYPED`; empty when there is no text at all."""
    versions = {k: v for k, v in (versions or {}).items() if v}
    fallback = TYPED if text else ("tg" if "tg" in versions else next(iter(versions), None))
    if fallback is None:
        return {}
    return {lang: lang if lang in versions else fallback for lang in LANGUAGES}


def field_alert(session: Session, staff_phone: str, target_text: str, text: str, *,
                scope: Scope | None, price_tjs: float, crops: tuple[str, ...] = (),
                genders: tuple[str, ...] = (), versions: dict | None = None) -> FieldAlert:
    """Check and cost ``ALERT <district|cluster|PG> [crop] [gender]: <text>`` from ``staff_phone`` (E.164).

    Every farmer of the target (growing one of ``crops`` and of one of ``genders``, when given)
    would get, inside the ``push.alert`` wrapper of their language naming the place in that
    language, the version of their language in ``versions`` (``{lang: text}``), else ``text``
    as typed (in whatever language it was written), else the Tajik or first version
    (:func:`alert_versions`). ``scope``: the sender's staff scope (``service.staff.scope``; None:
    not staff); the target must be in it (a district: ``covers_district``, a cluster:
    ``covers_cluster``, a PG: ``covers_pg``). Raises ``Refusal``: ``push.not_staff`` (no scope),
    ``push.alert_usage`` (no target or text), ``push.alert_unknown_target``,
    ``sms.staff.out_of_scope`` (the target outside ``scope``, checked before anyone is counted),
    ``push.alert_nobody`` (the target has no reachable farmer); :class:`AudienceError` for an
    unknown crop or gender.
    """
    if scope is None:
        raise Refusal("push.not_staff")
    text = " ".join((text or "").split())
    versions = {k: " ".join(v.split()) for k, v in (versions or {}).items() if v and v.strip()}
    sources = alert_versions(text, versions)
    if not (target_text or "").strip() or not sources:
        raise Refusal("push.alert_usage")
    audience, label, places, (kind, ref) = _target(session, target_text.strip())
    staff_commands.require(_covers(scope, kind, ref), target_text.strip())
    audience = Audience(**{**asdict(audience), "crops": tuple(crops), "genders": tuple(genders)}).check(session)
    texts = {lang: templates_sms.text("push.alert", lang, place=places[lang],
                                      text=text if src == TYPED else versions[src])
             for lang, src in sources.items()}
    estimate = preview(session, audience, texts, price_tjs)
    if not estimate.recipients:
        raise Refusal("push.alert_nobody", target=label)
    return FieldAlert(audience, label, places, texts, sources, estimate)


def alert_from_field(session: Session, staff_phone: str, target_text: str, text: str, *,
                     scope: Scope | None, price_tjs: float, crops: tuple[str, ...] = (),
                     genders: tuple[str, ...] = (), versions: dict | None = None,
                     now: dt.datetime | None = None, actor: Actor | None = None) -> tuple[Broadcast, Preview]:
    """Store the staff alert of :func:`field_alert` (same arguments and refusals) due ``now``,
    in the caller's transaction (flushed, not committed); the scheduler tick queues it.
    With ``actor`` (the staff account, ``service.audit.log.Actor``) an ``alert.send`` audit entry
    is written in the same transaction. Returns the broadcast (``scheduled``, kind ``alert``) and
    its :class:`Preview`."""
    alert = field_alert(session, staff_phone, target_text, text, scope=scope, price_tjs=price_tjs,
                        crops=crops, genders=genders, versions=versions)
    now = now or utcnow()
    row = create(session, alert.audience, alert.texts, kind="alert", send_at=now, created_by=staff_phone, now=now)
    if actor is not None:
        audit.record(session, actor, "alert.send", "broadcast", row.id,
                     after={"target": alert.label, "audience": alert.audience.as_dict(), "texts": alert.texts,
                            "recipients": alert.preview.recipients, "cost_tjs": alert.preview.cost_tjs})
    log.info("field alert %s from %s to %s: %s", row.id, mask_phone(staff_phone), alert.audience.describe(),
             alert.preview)
    return row, alert.preview
