"""Broadcasts on the staff pages (``docs/staff.md`` §13): compose within the account's scope,
preview, confirm, cancel; the broadcasts an account sees; per-recipient results; resend to the
failed.

A broadcast composed on the web is first a ``draft`` (:func:`compose`): stored with its
audience, texts and intended time, previewed (:func:`preview`), and queued by nobody until its
sender confirms it (:func:`confirm`, ``draft → scheduled``; the scheduler tick queues it when
due). :func:`awaiting_confirmation` lists the drafts an account sees (the home page counts them).

Which broadcasts an account sees (:func:`in_scope`): an administrator every one; another account
those whose audience is held inside its scope by an area criterion: every district of the
audience covered (``Scope.covers_district``), or every cluster (``covers_cluster``), or every PG
(``covers_pg``). Audience criteria are ANDed, so one covered area criterion is enough. SMS
``ALERT`` broadcasts (``created_by`` the staff phone) and CLI ones (``cli``) follow the same rule.

Results are read from the outbox rows of the broadcast (``dedupe_key`` ``bc:<id>:<phone>``; a
resend to the failed adds ``bc:<id>:<phone>:r<n>``, :func:`resend_failed`), the latest row of each
phone giving its state. No Flask here: callers pass a Session and plain values and commit.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.audit import log as audit
from service.audit.log import Actor
from service.broadcasts.broadcast import KINDS, Audience, Broadcast, dedupe_key, recipients, text_for
from service.errors import Refusal
from service.farmers.models import Farmer
from service.groups.producer_group import ProducerGroup
from service.messaging.encoding import measure
from service.messaging.message import OutboundMessage, queue_many
from service.messaging.rules import EXEMPT_KINDS
from service.reference.names import LANGUAGES
from service.staff.scope import Scope

#: roles that compose and send broadcasts (those of SMS ALERT; a market reporter has no farmers,
#: a PG leader speaks to the members through the EC commands)
SEND_ROLES = ("extension_officer", "cluster_coordinator", "vam_agent")
#: roles that read the broadcasts of their area (a PG leader: those to their PG)
VIEW_ROLES = (*SEND_ROLES, "pg_leader")
#: most characters of one language's text (three GSM-7 segments and a little)
MAX_TEXT = 480
#: most values of one audience criterion
MAX_VALUES = 50
#: how far ahead a broadcast may be scheduled
MAX_AHEAD = dt.timedelta(days=60)
#: the states a recipient's latest row is shown as (outbox states grouped)
RESULT_OF = {"queued": "queued", "sending": "queued", "held": "queued", "accepted": "sent", "in_transit": "sent",
             "unconfirmed": "sent", "delivered": "delivered", "failed": "failed", "suppressed": "suppressed",
             "withdrawn": "suppressed"}
RESULTS = ("queued", "sent", "delivered", "failed", "suppressed")


def _key_prefix(broadcast_id: int) -> str:
    return f"bc:{broadcast_id}:"


def _pg_ids(session: Session, codes) -> list[int | None]:
    found = dict(session.execute(select(ProducerGroup.code, ProducerGroup.id)
                                 .where(ProducerGroup.code.in_(list(codes)))).all()) if codes else {}
    return [found.get(c) for c in codes]


def audience_in_scope(session: Session, scope: Scope, audience: Audience) -> bool:
    """True when ``audience`` stays inside ``scope`` (module docstring): an administrator always;
    otherwise every district, or every cluster, or every PG of the audience is covered (at least one
    of these criteria must be given)."""
    if scope.everything:
        return True
    if audience.districts and all(scope.covers_district(d) for d in audience.districts):
        return True
    if audience.clusters and all(scope.covers_cluster(c) for c in audience.clusters):
        return True
    if audience.pgs:
        ids = _pg_ids(session, audience.pgs)
        return all(i is not None and scope.covers_pg(i) for i in ids)
    return False


def in_scope(session: Session, scope: Scope, broadcast: Broadcast) -> bool:
    """True when the account of ``scope`` sees ``broadcast`` (:func:`audience_in_scope`)."""
    return audience_in_scope(session, scope, Audience.from_dict(broadcast.audience))


def visible(session: Session, scope: Scope, limit: int = 200) -> list[Broadcast]:
    """The broadcasts ``scope`` sees, newest first, at most ``limit``."""
    out = []
    for b in session.scalars(select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())):
        if in_scope(session, scope, b):
            out.append(b)
            if len(out) >= limit:
                break
    return out


def awaiting_confirmation(session: Session, scope: Scope) -> list[Broadcast]:
    """The drafts (composed and previewed on the web, not confirmed) that ``scope`` sees, oldest first."""
    rows = session.scalars(select(Broadcast).where(Broadcast.status == "draft")
                           .order_by(Broadcast.created_at, Broadcast.id))
    return [b for b in rows if in_scope(session, scope, b)]


def clean_texts(texts: dict) -> dict:
    """The non-empty texts per language, whitespace runs made one space; ``Refusal``
    ``bcast.err.no_text`` when none is left, ``bcast.err.too_long`` (``lang``) past :data:`MAX_TEXT`
    characters, ``ValueError`` for a language outside ``LANGUAGES``."""
    out = {}
    for lang, text in (texts or {}).items():
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        text = " ".join((text or "").split())
        if len(text) > MAX_TEXT:
            raise Refusal("bcast.err.too_long", lang=lang, limit=MAX_TEXT)
        if text:
            out[lang] = text
    if not out:
        raise Refusal("bcast.err.no_text")
    return {lang: out[lang] for lang in LANGUAGES if lang in out}


def sources(texts: dict) -> dict:
    """Which language's text each language's farmers get: their own, else Tajik, else the first
    given (``broadcast.text_for``, the rule of ``broadcast.alert_versions``): ``{lang: source}``."""
    if not texts:
        return {}
    fallback = "tg" if "tg" in texts else next(iter(texts))
    return {lang: lang if lang in texts else fallback for lang in LANGUAGES}


@dataclass
class LanguageLine:
    """One language of the recipients: ``lang``; ``source`` the language of the text it gets;
    ``text`` exactly as sent (normalised); ``encoding`` ``GSM-7``/``UCS-2``; ``segments`` per
    message; ``recipients`` phones; ``cost_tjs`` estimated (``Decimal``)."""

    lang: str
    source: str
    text: str
    encoding: str
    segments: int
    recipients: int = 0
    cost_tjs: Decimal = Decimal("0.00")


@dataclass
class WebPreview:
    """What a broadcast would send: ``lines`` per language (:class:`LanguageLine`, in
    ``LANGUAGES`` order, only languages with recipients); ``recipients``, ``segments`` in total;
    ``cost_tjs`` estimated at ``SMS_PRICE_TJS`` per segment; ``unused`` languages given a text that
    no recipient speaks (their text goes to nobody unless a farmer of another language falls back
    on it)."""

    lines: list[LanguageLine] = field(default_factory=list)
    recipients: int = 0
    segments: int = 0
    cost_tjs: Decimal = Decimal("0.00")
    unused: list[str] = field(default_factory=list)


def _money(price_tjs: float, segments: int) -> Decimal:
    return (Decimal(str(price_tjs)) * segments).quantize(Decimal("0.01"), ROUND_HALF_UP)


def preview(session: Session, audience: Audience, texts: dict, price_tjs: float) -> WebPreview:
    """Per language of the audience the text as sent, encoding, segments, recipients and cost
    (``price_tjs`` TJS per segment)."""
    src = sources(texts)
    counts: Counter = Counter(lang for _, _, lang in recipients(session, audience))
    result = WebPreview()
    for lang in LANGUAGES:
        if not counts.get(lang):
            continue
        m = measure(text_for(texts, lang))
        line = LanguageLine(lang, src[lang], m.text, m.encoding, m.segments, counts[lang],
                            _money(price_tjs, m.segments * counts[lang]))
        result.lines.append(line)
        result.recipients += line.recipients
        result.segments += line.segments * line.recipients
    for lang in set(counts) - set(LANGUAGES):  # a farmer language the service does not name (not expected)
        m = measure(text_for(texts, lang))
        result.recipients += counts[lang]
        result.segments += m.segments * counts[lang]
    result.cost_tjs = _money(price_tjs, result.segments)
    used = {line.source for line in result.lines}
    result.unused = [lang for lang in texts if lang not in used]
    return result


def quiet_at(when: dt.datetime, kind: str, quiet_start: dt.time, quiet_end: dt.time, zone) -> bool:
    """True when a broadcast of ``kind`` sent at ``when`` (aware) falls in the quiet hours and so
    waits for their end (an alert, exempt, goes at once: False)."""
    if kind in EXEMPT_KINDS or quiet_start == quiet_end:
        return False
    local = when.astimezone(zone).time()
    if quiet_start < quiet_end:
        return quiet_start <= local < quiet_end
    return local >= quiet_start or local < quiet_end


def in_quiet_hours(when: dt.datetime, quiet_start: dt.time, quiet_end: dt.time, zone) -> bool:
    """True when ``when`` (aware) lies inside the quiet hours, whatever the kind."""
    return quiet_at(when, "broadcast", quiet_start, quiet_end, zone)


def check_send_at(send_at: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    """``send_at`` (aware) checked: not in the past (a minute's slack), at most :data:`MAX_AHEAD`
    ahead; ``Refusal`` ``bcast.err.past`` / ``bcast.err.too_far``. None (send now) stays None."""
    if send_at is None:
        return None
    if send_at < now - dt.timedelta(minutes=1):
        raise Refusal("bcast.err.past")
    if send_at > now + MAX_AHEAD:
        raise Refusal("bcast.err.too_far", days=MAX_AHEAD.days)
    return send_at


def _checked(session: Session, scope: Scope, audience: Audience, texts: dict, kind: str) -> tuple[Audience, dict]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    texts = clean_texts(texts)
    audience = audience.check(session)
    if not scope.everything and not (audience.districts or audience.clusters or audience.pgs):
        raise Refusal("bcast.err.area_needed")
    if not audience_in_scope(session, scope, audience):
        raise Refusal("staff.err.out_of_scope")
    return audience, texts


def compose(session: Session, scope: Scope, audience: Audience, texts: dict, *, kind: str = "broadcast",
            send_at: dt.datetime | None = None, actor: Actor, created_by: str, now: dt.datetime,
            draft: Broadcast | None = None) -> Broadcast:
    """Store (or, given ``draft``, update) a ``draft`` broadcast to ``audience`` with ``texts``
    (``{lang: text}``) of ``kind``, meant for ``send_at`` (aware; None: at confirmation), with a
    ``broadcast.draft`` audit entry; flushed, not committed. Refusals: ``bcast.err.no_text``,
    ``bcast.err.too_long``, ``bcast.err.area_needed`` (a non-administrator must name a district,
    cluster or PG), ``staff.err.out_of_scope``, ``bcast.err.past``, ``bcast.err.too_far``,
    ``bcast.err.not_draft`` (``draft`` already confirmed); ``AudienceError`` for an unknown value.
    A draft to send at confirmation keeps ``send_at == created_at`` (:func:`sends_now`)."""
    audience, texts = _checked(session, scope, audience, texts, kind)
    send_at = check_send_at(send_at, now)
    if draft is not None and draft.status != "draft":
        raise Refusal("bcast.err.not_draft")
    before = _snapshot(draft) if draft is not None else None
    row = draft or Broadcast(created_by=created_by[:20], created_at=now)
    row.kind, row.audience, row.texts, row.status = kind, audience.as_dict(), texts, "draft"
    row.send_at = send_at or row.created_at  # "send now" drafts keep send_at == created_at
    if draft is None:
        session.add(row)
    session.flush()
    audit.record(session, actor, "broadcast.draft", "broadcast", row.id, before=before,
                 after={**_snapshot(row), "send_now": send_at is None})
    return row


def sends_now(row: Broadcast) -> bool:
    """True for a draft meant to go at its confirmation rather than at a time."""
    return row.send_at <= row.created_at


def _snapshot(row: Broadcast) -> dict:
    return {"kind": row.kind, "audience": row.audience, "texts": row.texts, "status": row.status,
            "send_at": row.send_at}


def confirm(session: Session, scope: Scope, broadcast: Broadcast, *, send_at: dt.datetime | None, actor: Actor,
            now: dt.datetime, price_tjs: float) -> bool:
    """Confirm a draft: ``scheduled`` at ``send_at`` (aware; None: now), with a ``broadcast.send``
    audit entry (audience, texts, time, recipients and cost as previewed now). False, and nothing
    written, when it is no longer a draft (confirmed twice, cancelled). The audience's scope is
    checked again (``staff.err.out_of_scope``); ``bcast.err.past``/``too_far`` for the time."""
    audience = Audience.from_dict(broadcast.audience)
    if not audience_in_scope(session, scope, audience):
        raise Refusal("staff.err.out_of_scope")
    when = check_send_at(send_at, now) or now
    moved = session.execute(update(Broadcast).where(Broadcast.id == broadcast.id, Broadcast.status == "draft")
                            .values(status="scheduled", send_at=when).execution_options(synchronize_session=False))
    if not moved.rowcount:
        return False
    session.expire(broadcast)
    p = preview(session, audience, broadcast.texts, price_tjs)
    audit.record(session, actor, "broadcast.send", "broadcast", broadcast.id, before={"status": "draft"},
                 after={"status": "scheduled", "kind": broadcast.kind, "audience": broadcast.audience,
                        "texts": broadcast.texts, "send_at": when, "recipients": p.recipients,
                        "cost_tjs": p.cost_tjs})
    return True


def cancel(session: Session, broadcast: Broadcast, *, actor: Actor) -> bool:
    """Cancel a ``scheduled`` broadcast or discard a ``draft`` (``cancelled``), with a
    ``broadcast.cancel`` audit entry; False (nothing written) once it is queued or done."""
    before = broadcast.status
    moved = session.execute(update(Broadcast).where(Broadcast.id == broadcast.id,
                                                    Broadcast.status.in_(("draft", "scheduled")))
                            .values(status="cancelled").execution_options(synchronize_session=False))
    if not moved.rowcount:
        return False
    session.expire(broadcast)
    audit.record(session, actor, "broadcast.cancel", "broadcast", broadcast.id, before={"status": before},
                 after={"status": "cancelled"})
    return True


@dataclass
class Recipient:
    """One phone of a broadcast: its ``phone`` (E.164; mask it to show it), the farmer's ``name``
    and ``code`` (None when erased), ``language``; the latest outbox row's ``state`` (outbox
    state), ``result`` (one of :data:`RESULTS`), ``reason``, ``sent_at``/``delivered_at`` (UTC);
    ``attempts`` the rows it has had (1 + resends)."""

    phone: str
    name: str | None
    code: str | None
    language: str | None
    state: str
    result: str
    reason: str | None
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    attempts: int = 1


@dataclass
class Results:
    """A broadcast's results: ``recipients`` (:class:`Recipient`, by phone), ``counts`` per
    result, ``rate`` delivered in % of the phones that were to get it (suppressed ones left out;
    None before any), ``resends`` the resend rounds done, ``failed`` phones whose latest row failed."""

    recipients: list[Recipient]
    counts: dict
    rate: int | None
    resends: int
    failed: int


def _rows(session: Session, broadcast_id: int) -> list[OutboundMessage]:
    return list(session.scalars(select(OutboundMessage).where(
        OutboundMessage.dedupe_key.like(f"{_key_prefix(broadcast_id)}%")).order_by(OutboundMessage.id)))


def _phone_of(key: str) -> str:
    return key.split(":")[2]


def _round_of(key: str) -> int:
    parts = key.split(":")
    return int(parts[3][1:]) if len(parts) > 3 and parts[3][1:].isdigit() else 0


def rate(counts: dict) -> int | None:
    """Delivered in whole % of the phones that were to get it (``counts`` per result, suppressed
    left out); None when there is none."""
    base = sum(counts.get(r, 0) for r in RESULTS if r != "suppressed")
    return round(100 * counts.get("delivered", 0) / base) if base else None


def results(session: Session, broadcast: Broadcast) -> Results:
    """The per-recipient results of ``broadcast`` from its outbox rows (module docstring)."""
    rows = _rows(session, broadcast.id)
    by_phone: dict[str, list[OutboundMessage]] = {}
    for row in rows:
        by_phone.setdefault(_phone_of(row.dedupe_key), []).append(row)
    farmer_ids = {r.farmer_id for r in rows if r.farmer_id}
    farmers = {f.id: f for f in session.scalars(select(Farmer).where(Farmer.id.in_(sorted(farmer_ids))))} \
        if farmer_ids else {}
    out = []
    for phone in sorted(by_phone):
        history = by_phone[phone]
        last = max(history, key=lambda r: (_round_of(r.dedupe_key), r.id))
        person = farmers.get(last.farmer_id)
        out.append(Recipient(phone, person.name if person else None, person.code if person else None, last.language,
                             last.status, RESULT_OF.get(last.status, "queued"), last.failure_reason, last.sent_at,
                             last.delivered_at, len(history)))
    counts = Counter(r.result for r in out)
    counts = {r: counts.get(r, 0) for r in RESULTS}
    resends = max((_round_of(r.dedupe_key) for r in rows), default=0)
    return Results(out, counts, rate(counts), resends, counts["failed"])


def timeline(session: Session, broadcast: Broadcast, zone) -> tuple[list[str], list[int], list[int]]:
    """The delivery rate over time: x labels (local times in ``zone``, ``MM-DD HH:MM``), and per
    point the share (whole %) of the broadcast's phones delivered and failed by then. Points are
    spaced so that there are at most 24 (1 minute ... 1 day apart), from the queueing to the
    latest change. Empty before the broadcast is queued."""
    rows = _rows(session, broadcast.id)
    if not rows or broadcast.queued_at is None:
        return [], [], []
    phones = {_phone_of(r.dedupe_key) for r in rows if r.status not in ("suppressed", "withdrawn")}
    total = len(phones) or 1
    start = broadcast.queued_at
    events = []  # (time, phone, result) of final outcomes
    for r in rows:
        if r.status == "delivered":
            events.append((r.delivered_at or r.updated_at, _phone_of(r.dedupe_key), "delivered"))
        elif r.status == "failed":
            events.append((r.updated_at, _phone_of(r.dedupe_key), "failed"))
    end = max([start, *(e[0] for e in events)])
    span = (end - start).total_seconds()
    step = next(s for s in (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400) if span / s <= 23
                or s == 7 * 86400)
    points = [start + dt.timedelta(seconds=step * i) for i in range(int(span // step) + 2)]
    labels, delivered, failed = [], [], []
    for at in points:
        state: dict[str, str] = {}
        for when, phone, result in sorted(events, key=lambda e: e[0]):
            if when <= at:
                state[phone] = result  # a later outcome (a resend delivered) wins
        labels.append(at.astimezone(zone).strftime("%m-%d %H:%M"))
        delivered.append(round(100 * sum(1 for v in state.values() if v == "delivered") / total))
        failed.append(round(100 * sum(1 for v in state.values() if v == "failed") / total))
    return labels, delivered, failed


def resend_failed(session: Session, broadcast: Broadcast, round_no: int, *, actor: Actor, now: dt.datetime) -> int:
    """Queue the broadcast's text again to each phone whose latest row ``failed`` (not the
    suppressed ones), as resend round ``round_no`` (the page's :attr:`Results.resends` + 1):
    dedupe key ``bc:<id>:<phone>:r<round_no>``, so a double submit of one round writes each row
    once. Returns the rows written (0: nothing failed, or this round was already sent); with rows
    written, one ``broadcast.resend`` audit entry (round and count). Flushed, not committed.
    ``ValueError`` for a round below 1; ``Refusal("bcast.err.not_queued")`` before the broadcast is queued."""
    if round_no < 1:
        raise ValueError("resend rounds start at 1")
    if broadcast.status != "queued":
        raise Refusal("bcast.err.not_queued")
    res = results(session, broadcast)
    last_rows = {}
    for row in _rows(session, broadcast.id):
        phone = _phone_of(row.dedupe_key)
        prev = last_rows.get(phone)
        if prev is None or (_round_of(row.dedupe_key), row.id) > (_round_of(prev.dedupe_key), prev.id):
            last_rows[phone] = row
    failed = [r for r in res.recipients if r.result == "failed"]
    kind = "alert" if broadcast.kind == "alert" else "broadcast"
    chunk = [{"phone": r.phone, "farmer_id": last_rows[r.phone].farmer_id, "language": r.language,
              "text": text_for(broadcast.texts, r.language or "tg"),
              "dedupe_key": f"{dedupe_key(broadcast.id, r.phone)}:r{round_no}"} for r in failed]
    written = len(queue_many(session, chunk, kind=kind, not_before=now)) if chunk else 0
    if written:
        audit.record(session, actor, "broadcast.resend", "broadcast", broadcast.id,
                     after={"round": round_no, "rows": written})
    return written


def creators(session: Session, broadcasts: list[Broadcast]) -> dict[str, str]:
    """How each ``created_by`` is named: an account (``web:<id>``, or the staff phone an account
    carries) by its username; ``cli`` as it is; another phone masked."""
    from service.farmers.records import mask
    from service.staff.accounts import StaffAccount

    out = {}
    for value in {b.created_by for b in broadcasts}:
        account = None
        if value.startswith("web:") and value[4:].isdigit():
            account = session.get(StaffAccount, int(value[4:]))
        elif value.startswith("+"):
            account = session.scalar(select(StaffAccount).where(StaffAccount.phone == value))
        out[value] = account.username if account else (mask(value) if value.startswith("+") else value)
    return out


def counts_of(session: Session, broadcast_ids: list[int]) -> dict[int, dict]:
    """Per broadcast id the count of phones per result (latest row per phone): ``{id: {result: n}}``."""
    out = {}
    for bid in broadcast_ids:
        out[bid] = results_counts(session, bid)
    return out


def results_counts(session: Session, broadcast_id: int) -> dict:
    """The count of phones per result of one broadcast (latest row per phone)."""
    last: dict[str, tuple] = {}
    for key, status, rid in session.execute(select(OutboundMessage.dedupe_key, OutboundMessage.status,
                                                   OutboundMessage.id)
                                            .where(OutboundMessage.dedupe_key.like(f"{_key_prefix(broadcast_id)}%"))):
        phone, order = _phone_of(key), (_round_of(key), rid)
        if phone not in last or order > last[phone][0]:
            last[phone] = (order, status)
    counts = Counter(RESULT_OF.get(status, "queued") for _, status in last.values())
    return {r: counts.get(r, 0) for r in RESULTS}


def total_rows(session: Session, broadcast_id: int) -> int:
    """The outbox rows of one broadcast, resends included."""
    return session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.dedupe_key.like(f"{_key_prefix(broadcast_id)}%"))) or 0
