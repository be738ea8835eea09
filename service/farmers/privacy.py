"""Farmers own their data: what the service holds about a profile, and erasing it (``docs/privacy.md``).

:func:`summary` gathers what is kept about one profile (SMS ``MYDATA``, USSD My account > My
data, ``flask --app service farmers mydata``); :func:`summary_text` says it in one short SMS.
:func:`erase` removes the profile's personal data in the caller's transaction (SMS ``DELETE``
with a confirmation code, USSD My account > Delete my data, ``farmers erase``).
:func:`scrub_sent` (the scheduler tick) blanks the phone of the last confirmation once it was sent.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import phonenumbers
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

import templates_sms
from service.advice.questions import Question
from service.advice.responders import Responder
from service.audit import log as audit
from service.farmers.models import ErasedPhone, Farmer, phone_digest, profiles
from service.groups.membership import Membership, current
from service.groups.membership import leave as leave_group
from service.groups.producer_group import ProducerGroup
from service.messaging.encoding import measure
from service.messaging.language import PhoneLanguage
from service.messaging.message import FINAL_STATES, DeliveryReport, InboundMessage, OutboundMessage, queue_sms
from service.messaging.optout import Suppression
from service.orders.rounds import InputOrder
from service.prices.alerts import PriceSubscription
from service.reference.crops import Crop
from service.reference.geography import Village
from service.reminders.crop_cycle import CropCycle
from service.sales.joint_sale import Pledge
from service.ussd.session import FormDraft, UssdHop, UssdSession

#: what replaces an erased name inside a text that stays (another person's message)
ERASED = "[erased]"
#: ``dedupe_key`` prefix of the last confirmation SMS, whose phone :func:`scrub_sent` blanks once sent
FAREWELL_KEY = "erased:"
#: how long after its deadline a farewell row that never reached a final state keeps its phone
FAREWELL_GRACE = dt.timedelta(days=2)
#: outbox states in which a row still waits to be sent (withdrawn at erasure)
UNSENT = ("queued", "held")


@dataclass(frozen=True)
class Summary:
    """What the service holds about one profile. ``village``: the village's name in the profile's
    language, or the village as typed; ``pg``: the PG code of the open membership (or None) and
    ``seat`` its role (``member``, ``chair``...) and ``status`` (``active``/``pending``); ``crops``:
    crop names; ``land_ha``: hectares (None when not given); counts of input orders, pledges,
    questions and messages (SMS in and out, for this profile)."""

    name: str
    code: str
    village: str | None
    pg: str | None
    seat: str | None
    status: str | None
    crops: list[str]
    land_ha: float | None
    language: str
    orders: int
    pledges: int
    questions: int
    messages: int


def _count(session: Session, model, farmer: Farmer) -> int:
    return session.scalar(select(func.count()).select_from(model).where(model.farmer_id == farmer.id)) or 0


def summary(session: Session, farmer: Farmer) -> Summary:
    """What the service holds about ``farmer`` (one query per part)."""
    lang = farmer.language
    village = session.get(Village, farmer.village_id).name(lang) if farmer.village_id else farmer.unlisted_village
    m = current(session, farmer)
    pg = session.get(ProducerGroup, m.pg_id) if m is not None else None
    crops = [c.name(lang) for c in session.scalars(select(Crop).where(Crop.id.in_(farmer.crop_ids)).order_by(Crop.id))]
    messages = _count(session, InboundMessage, farmer) + _count(session, OutboundMessage, farmer)
    return Summary(farmer.name, farmer.code, village, pg.code if pg else None, m.role if m else None,
                   m.status if m else None, crops, farmer.land_m2 / 10000 if farmer.land_m2 else None, lang,
                   _count(session, InputOrder, farmer), _count(session, Pledge, farmer),
                   _count(session, Question, farmer), messages)


def summary_text(s: Summary, ussd: str) -> str:
    """The SMS of :func:`summary` in the profile's language (``farmers.mydata.sms``, within the
    reply budget of ``docs/message-budgets.md``): name, code, village, PG and seat, crops, land,
    language, the counts, then how to remove it all."""
    lang = s.language
    t = templates_sms.text
    if s.pg is None:
        pg = t("farmers.mydata.no_pg", lang)
    else:
        seat = t("farmers.seat.pending" if s.status == "pending" else
                 "farmers.seat.member" if s.seat == "member" else f"ussd.role.{s.seat}", lang)
        pg = t("farmers.mydata.pg", lang, pg=s.pg, seat=seat)
    land = t("farmers.mydata.land", lang, ha=f"{s.land_ha:g}") if s.land_ha else "-"
    return t("farmers.mydata.sms", lang, ussd=ussd, name=s.name, code=s.code, village=s.village or "-", pg=pg,
             crops=", ".join(s.crops) or "-", land=land, language=t("lang_name", lang), orders=s.orders,
             pledges=s.pledges, questions=s.questions, messages=s.messages)


#: most segments of the MYDATA summary (``docs/message-budgets.md`` §8)
MAX_SUMMARY_SEGMENTS = 3
#: most segments of a registration receipt with the line on what is kept
MAX_RECEIPT_SEGMENTS = 2


def fit_summary(s: Summary, ussd: str) -> str:
    """:func:`summary_text`, shortened until it fits :data:`MAX_SUMMARY_SEGMENTS`: the crops
    become their number, then the village and the name are cut (with ``…``)."""
    text = summary_text(s, ussd)
    for step in range(3):
        if measure(text).segments <= MAX_SUMMARY_SEGMENTS:
            return text
        if step == 0:
            s = replace(s, crops=[str(len(s.crops))] if s.crops else [])
        elif step == 1:
            s = replace(s, village=_cut(s.village, 16))
        else:
            s = replace(s, name=_cut(s.name, 16))
        text = summary_text(s, ussd)
    return text


def _cut(value: str | None, size: int) -> str | None:
    return value if not value or len(value) <= size else value[:size - 1] + "…"


def receipt_texts(receipt: str, lang: str) -> list[str]:
    """A registration receipt with the line on what is kept and how to remove it
    (``farmers.reg.kept``): one SMS when both fit :data:`MAX_RECEIPT_SEGMENTS`, else two."""
    kept = templates_sms.text("farmers.reg.kept", lang)
    both = f"{receipt} {kept}"
    return [both] if measure(both).segments <= MAX_RECEIPT_SEGMENTS else [receipt, kept]


def phone_forms(phone: str) -> list[str]:
    """The forms a phone may be written in: E.164, its digits without ``+``, the national digits."""
    forms = [phone, phone.lstrip("+")]
    try:
        forms.append(str(phonenumbers.parse(phone, None).national_number))
    except phonenumbers.NumberParseException:
        pass
    return [f for f in dict.fromkeys(forms) if f]


def _replace(column, old: str, new: str):
    return func.replace(column, old, new)


def erase(session: Session, farmer: Farmer, *, actor: audit.Actor | None = None, now: dt.datetime,
          farewell: str | None = None, in_reply_to: int | None = None) -> None:
    """Erase ``farmer``'s personal data in the caller's transaction (the caller commits).

    Erased: the profile's name, phone and typed village (the row keeps gender, land, crops,
    language, village, PG membership history, orders, pledges and yields, for anonymous counts;
    ``erased_at`` is set and the code no longer answers; an active membership and its seat stay,
    shown as erased, and the profile can no longer be elected; a pending join request is withdrawn
    with the EC's notices); the texts of the profile's SMS in and
    out (rows kept, text and, when the phone goes, phone blanked, so counts per kind remain);
    unsent messages to the profile (withdrawn); questions' texts (answers: the name replaced);
    the profile's price subscriptions and crop cycles (no more messages); the responder rows of
    a lead farmer (name and phone blanked, inactive); the name and phone in the audit log
    (``audit.forget``) and in every other message or USSD text. When no other profile uses the
    phone, the phone goes everywhere too (USSD sessions and their hops, form drafts,
    ``phone_language``, delivery reports, the suppression list) and only its keyed digest is
    kept (:class:`~service.farmers.models.ErasedPhone`: no more messages but replies to the
    phone's own new requests). Another profile on the phone keeps the phone, its messages and
    sessions (with the name replaced).

    ``farewell``: the last confirmation SMS, queued before the erasure to the phone (kind
    ``stop_confirm``, no profile, ``dedupe_key`` :data:`FAREWELL_KEY` + id): its row keeps the
    phone until it is sent, then :func:`scrub_sent` blanks it; ``in_reply_to``: the inbound SMS
    it answers (DELETE <code>), if any. ``actor``: when staff or the CLI
    erase, an audit entry ``farmer.erase`` naming the profile only by its id. ``ValueError`` for a
    profile already erased.
    """
    if farmer.erased_at is not None:
        raise ValueError(f"farmer {farmer.id} is already erased")
    phone, name = farmer.phone, farmer.name
    others = [p for p in profiles(session, phone) if p.id != farmer.id]
    phone_goes = not others
    secrets = sorted({name, *phone_forms(phone)} - {""}, key=len, reverse=True) if phone_goes else [name]
    fid = farmer.id

    if farewell:
        queue_sms(session, phone, farewell, kind="stop_confirm", language=farmer.language,
                  dedupe_key=f"{FAREWELL_KEY}{fid}", named=False, in_reply_to=in_reply_to)
    session.flush()
    farewell_id = session.scalar(select(OutboundMessage.id).where(OutboundMessage.dedupe_key == f"{FAREWELL_KEY}{fid}"))

    # messages: the profile's own rows lose their text; on a phone that goes, every row its phone
    mine_out = OutboundMessage.farmer_id == fid
    mine_in = InboundMessage.farmer_id == fid
    if phone_goes:
        mine_out, mine_in = or_(mine_out, OutboundMessage.phone == phone), or_(mine_in, InboundMessage.phone == phone)
    keep_farewell = OutboundMessage.id != farewell_id if farewell_id else True
    session.execute(update(OutboundMessage).where(mine_out, keep_farewell, OutboundMessage.status.in_(UNSENT))
                    .values(status="withdrawn", failure_reason="farmer's data erased"))
    out_values = {"text": "", "farmer_id": None}
    in_values = {"text": "", "farmer_id": None, "error": None, "link_id": None}
    if phone_goes:
        out_values["phone"] = in_values["phone"] = ""
    session.execute(update(OutboundMessage).where(mine_out, keep_farewell).values(**out_values)
                    .execution_options(synchronize_session=False))
    session.execute(update(InboundMessage).where(mine_in).values(**in_values)
                    .execution_options(synchronize_session=False))
    if phone_goes:
        session.execute(update(DeliveryReport).where(DeliveryReport.phone == phone).values(phone=None))
        sessions = list(session.scalars(select(UssdSession.session_id).where(UssdSession.phone == phone)))
        if sessions:
            session.execute(delete(UssdHop).where(UssdHop.session_id.in_(sessions)))
        session.execute(update(UssdSession).where(UssdSession.phone == phone).values(
            phone="", farmer_id=None, state={}, last_text="", final_input=None, last_response=None,
            error_message=None).execution_options(synchronize_session=False))
        session.execute(delete(FormDraft).where(FormDraft.phone == phone))
        session.execute(delete(PhoneLanguage).where(PhoneLanguage.phone == phone))
        session.execute(delete(Suppression).where(Suppression.phone == phone))
        if session.get(ErasedPhone, phone_digest(phone)) is None:
            session.add(ErasedPhone(digest=phone_digest(phone), created_at=now))
    else:
        sessions = list(session.scalars(select(UssdSession.session_id).where(UssdSession.farmer_id == fid)))
        if sessions:
            session.execute(delete(UssdHop).where(UssdHop.session_id.in_(sessions)))
        session.execute(update(UssdSession).where(UssdSession.farmer_id == fid).values(
            farmer_id=None, state={}, last_text="", final_input=None, last_response=None, error_message=None)
            .execution_options(synchronize_session=False))
        for draft in session.scalars(select(FormDraft).where(FormDraft.phone == phone)):
            if any(s in str(draft.data) for s in secrets):
                session.delete(draft)

    # questions, answers, responder rows, subscriptions, crop cycles
    session.execute(update(Question).where(Question.farmer_id == fid).values(text="")
                    .execution_options(synchronize_session=False))
    for r in session.scalars(select(Responder).where(Responder.farmer_id == fid)):
        r.name, r.phone, r.active = "", f"erased-{r.id}", False
    if phone_goes:
        session.execute(update(Question).where(Question.answered_phone == phone).values(answered_phone=None))
    session.execute(delete(PriceSubscription).where(PriceSubscription.farmer_id == fid))
    for cycle in session.scalars(select(CropCycle).where(CropCycle.farmer_id == fid)):
        session.delete(cycle)

    # every other copy of the name (and of a phone that goes) in texts that stay
    for secret in secrets:
        if len(secret) < 2:
            continue
        pattern = f"%{secret}%"
        for model, col in ((OutboundMessage, OutboundMessage.text), (InboundMessage, InboundMessage.text),
                           (UssdHop, UssdHop.response), (UssdSession, UssdSession.last_response),
                           (UssdSession, UssdSession.last_text), (Question, Question.answer)):
            where = [col.like(pattern)]
            if model is OutboundMessage and farewell_id:
                where.append(OutboundMessage.id != farewell_id)
            session.execute(update(model).where(*where).values({col.key: _replace(col, secret, ERASED)})
                            .execution_options(synchronize_session=False))
        for hop in session.scalars(select(UssdHop).where(UssdHop.text.like(pattern))):
            session.delete(hop)  # a hop's text is its key (text_hash): the hop goes
        for s in session.scalars(select(UssdSession).where(UssdSession.final_input.like(pattern))):
            s.final_input = None
    audit.forget(session, secrets)

    # a pending join request is withdrawn (with the EC's notices); an active membership and its
    # seat stay, nameless, for the PG's counts (docs/privacy.md §3)
    open_m = current(session, farmer)
    if open_m is not None and open_m.status == "pending":
        leave_group(session, farmer)

    # the profile itself
    if farmer.is_main and others:
        farmer.is_main = False
        session.flush()
        others[0].is_main = True
    farmer.name, farmer.phone, farmer.unlisted_village, farmer.unlisted_district_id = "", "", None, None
    farmer.is_main, farmer.erased_at = False, now
    if actor is not None:
        audit.record(session, actor, "farmer.erase", "farmer", fid, after={"erased": True},
                     note=f"profiles left on the phone: {len(others)}")
    session.flush()
    session.expire_all()


def scrub_sent(session: Session, now: dt.datetime) -> int:
    """Blank the phone of the last confirmations (:data:`FAREWELL_KEY`) that reached a final state
    or are past their deadline by :data:`FAREWELL_GRACE`, and of their delivery reports; returns
    how many rows were blanked (the caller commits)."""
    rows = list(session.scalars(select(OutboundMessage).where(
        OutboundMessage.dedupe_key.like(f"{FAREWELL_KEY}%"), OutboundMessage.phone != "",
        or_(OutboundMessage.status.in_(FINAL_STATES), OutboundMessage.expires_at < now - FAREWELL_GRACE))))
    for row in rows:
        if row.gateway_message_id:
            session.execute(update(DeliveryReport).where(DeliveryReport.gateway_message_id == row.gateway_message_id)
                            .values(phone=None))
        session.execute(update(DeliveryReport).where(DeliveryReport.phone == row.phone).values(phone=None))
        row.phone = ""
    session.flush()
    return len(rows)


def was_erased(session: Session, phone: str) -> bool:
    """True when ``phone`` (E.164) had its last profile erased (and none registered since): for
    whoever adds phones in bulk (an import), which should then leave it out."""
    return session.get(ErasedPhone, phone_digest(phone)) is not None
