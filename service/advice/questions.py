"""Expert advice: farmers' questions routed to responders, answers, escalation, and the tips library.

A farmer asks by SMS (``ASK <question>``) or USSD (crop → topic → question).
:func:`ask` stores the :class:`Question` with the farmer's crop, village and
district and routes it to the lowest escalation level that has someone serving
the farmer's village (``service.advice.responders.serving``: VAM agent, then lead farmer,
then the district's extension staff). The responder gets the question by SMS
with its number and the farmer's crop and place, and answers from their phone
(``ANSWER <number> <text>``, :func:`answer`); the farmer gets the answer in full,
as the responder wrote it. :func:`escalate_overdue` (run periodically) sends a
question nobody answered within ``ADVICE_ESCALATE_HOURS`` to the next level, and
routes questions that found nobody when asked once someone serves them.
Every sending is a :class:`QuestionRoute` row (the audit trail); anyone the
question was sent to, and staff phones, may answer; the first answer wins.

Tips (``templates_sms/tips.toml``, keys ``tips.<crop>.<topic>.<n>``, from
``docs/crop-calendars.md`` §7) are browsed by USSD without asking; staff edit them on the web
(``service.advice.library``: stored overrides of the shipped texts, ``docs/staff.md`` §14).
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.advice import responders as vam_agent
from service.reference.crops import Crop, find_crop
from service.db import Base, utcnow
from service.messaging.encoding import SMS_PART, measure, normalise
from service.errors import Refusal
from service.farmers.models import Farmer
from service.reference.geography import District, Village
from service.messaging.message import queue_sms
from service.advice.responders import Responder

TOPICS = ("sowing", "care", "protection", "harvest")
STATUSES = ("open", "answered")
MAX_QUESTION_CHARS = 160  # the responder's SMS then takes at most 4 parts in Cyrillic
MAX_ANSWER_SEGMENTS = 3


class Question(Base):
    """A farmer's question. ``crop_id``/``topic`` (one of :data:`TOPICS`) may be None;
    ``village_id``/``district_id`` are the farmer's when asked; ``channel`` ``sms``/``ussd``;
    ``status`` one of :data:`STATUSES`; ``responder_id``/``level``/``routed_at``: whom it was
    last sent to (None: nobody serves the farmer yet); ``answered_by``: the responder, or None
    for a staff phone (``answered_phone`` always); times UTC."""

    __tablename__ = "question"
    id: Mapped[int] = mapped_column(primary_key=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"), index=True)
    crop_id: Mapped[str | None] = mapped_column(ForeignKey("crop.id"))
    topic: Mapped[str | None] = mapped_column(String(12))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"))
    district_id: Mapped[str | None] = mapped_column(ForeignKey("district.id"))
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    responder_id: Mapped[int | None] = mapped_column(ForeignKey("responder.id"), index=True)
    level: Mapped[int | None]
    routed_at: Mapped[dt.datetime | None]
    asked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("responder.id"))
    answered_phone: Mapped[str | None] = mapped_column(String(20))
    answered_at: Mapped[dt.datetime | None]


class QuestionRoute(Base):
    """One sending of a question to a responder (``level`` as in ``vam_agent.ROLES``), UTC."""

    __tablename__ = "question_route"
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    responder_id: Mapped[int] = mapped_column(ForeignKey("responder.id"), index=True)
    level: Mapped[int]
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- tips

def tips(crop_id: str, topic: str) -> list[str]:
    """Template keys of the tips for a crop and topic, in order (``tips.tomato.care.1``, ...)."""
    prefix = f"tips.{crop_id}.{topic}."
    keys = [k for k in templates_sms.catalogue() if k.startswith(prefix)]
    return sorted(keys, key=lambda k: int(k.rsplit(".", 1)[1]))


# ---------------------------------------------------------------- asking

def clean_question(text: str) -> str:
    """The question as stored: normalised, whitespace collapsed. ``Refusal``: ``advice.ask.usage``
    (no words), ``advice.ask.too_long`` (over :data:`MAX_QUESTION_CHARS`)."""
    text = " ".join(normalise(text or "").split())
    if not any(ch.isalnum() for ch in text):
        raise Refusal("advice.ask.usage")
    if len(text) > MAX_QUESTION_CHARS:
        raise Refusal("advice.ask.too_long", max=MAX_QUESTION_CHARS)
    return text


def ask(session: Session, farmer: Farmer, text: str, *, channel: str, crop_id: str | None = None,
        topic: str | None = None, now: dt.datetime | None = None) -> Question:
    """Store a question of ``farmer`` and send it to the first responder serving them.

    ``crop_id`` None: the crop named in the text, else the farmer's only crop,
    else None. Raises ``Refusal`` as :func:`clean_question`. The farmer's
    confirmation is the caller's to send.
    """
    text = clean_question(text)
    if crop_id is None:
        crop_id = _crop_in(session, text) or (farmer.crop_ids[0] if len(farmer.crop_ids) == 1 else None)
    village = session.get(Village, farmer.village_id) if farmer.village_id else None
    question = Question(farmer_id=farmer.id, crop_id=crop_id, topic=topic, village_id=village.id if village else None,
                        district_id=village.district_id if village else None, text=text, channel=channel,
                        asked_at=now or utcnow())
    session.add(question)
    session.flush()
    _route(session, question, -1, now or utcnow())
    return question


def _crop_in(session: Session, text: str) -> str | None:
    found = {c.id for w in re.findall(r"\w{3,}", text) if (c := find_crop(session, w)) is not None}
    return found.pop() if len(found) == 1 else None


def _route(session: Session, question: Question, above: int, now: dt.datetime) -> Responder | None:
    """Send ``question`` to the first responder of the lowest level above ``above`` (never the lead
    farmer who asked it); None if nobody."""
    nxt = next((r for r in vam_agent.serving(session, question.village_id, question.district_id)
                if r.level > above and (r.farmer_id is None or r.farmer_id != question.farmer_id)), None)
    if nxt is None:
        return None
    question.responder_id, question.level, question.routed_at = nxt.id, nxt.level, now
    session.add(QuestionRoute(question_id=question.id, responder_id=nxt.id, level=nxt.level, sent_at=now))
    key = "advice.sms.question" if above < 0 else "advice.sms.escalated"
    queue_sms(session, nxt.phone, templates_sms.text(key, nxt.language, **_about(session, question, nxt.language)),
              kind="notice", language=nxt.language)
    return nxt


def _about(session: Session, question: Question, lang: str) -> dict:
    """The placeholders describing a question to a responder: id, crop, place, text."""
    farmer = session.get(Farmer, question.farmer_id)
    crop_ids = [question.crop_id] if question.crop_id else farmer.crop_ids
    crop = "/".join(session.get(Crop, c).name(lang) for c in crop_ids) or "-"
    village = session.get(Village, question.village_id) if question.village_id else None
    district = session.get(District, question.district_id) if question.district_id else None
    place = ", ".join(x.name(lang) for x in (village, district) if x is not None) or "-"
    return {"id": question.id, "crop": crop, "place": place, "text": question.text}


# ---------------------------------------------------------------- answering

def answer(session: Session, phone: str, question_id: int, text: str, *, scope=None, actor=None,
           now: dt.datetime | None = None) -> Question:
    """Record the answer sent from ``phone`` and queue it to the farmer in full.

    ``phone`` must be a responder the question was sent to, or a staff member whose ``scope``
    (``service.staff.scope.Scope``; None: not staff) covers the question's farmer; a question
    outside both is treated as absent. With ``actor`` (``service.audit.log.Actor``, the staff
    account) a ``question.answer`` audit entry is written in the same transaction.
    Raises ``Refusal``: ``advice.answer.usage`` (no text), ``advice.answer.unknown``
    (no such question for this phone), ``advice.answer.already`` (answered
    before, also by a concurrent answer), ``advice.answer.too_long`` (the
    farmer's SMS would exceed :data:`MAX_ANSWER_SEGMENTS`).
    """
    text = " ".join(normalise(text or "").split())
    if not text:
        raise Refusal("advice.answer.usage")
    question = session.get(Question, question_id)
    mine = [] if question is None else session.scalars(
        select(QuestionRoute.responder_id).join(Responder, Responder.id == QuestionRoute.responder_id)
        .where(QuestionRoute.question_id == question.id, Responder.phone == phone)).all()
    if question is None or not (mine or (scope is not None and scope.covers_farmer(session, question.farmer_id))):
        raise Refusal("advice.answer.unknown", id=question_id)
    farmer = session.get(Farmer, question.farmer_id)
    body = templates_sms.text("advice.answer.to_farmer", farmer.language, id=question.id, text=text)
    m = measure(body)
    if m.segments > MAX_ANSWER_SEGMENTS:
        raise Refusal("advice.answer.too_long", max=len(text) - (m.units - MAX_ANSWER_SEGMENTS * SMS_PART[m.encoding]))
    now = now or utcnow()
    done = session.execute(update(Question).where(Question.id == question.id, Question.status == "open").values(
        status="answered", answer=text, answered_by=mine[0] if mine else None, answered_phone=phone,
        answered_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Refusal("advice.answer.already", id=question.id)
    session.refresh(question)
    queue_sms(session, farmer.phone, body, kind="reply", farmer_id=farmer.id, language=farmer.language)
    if actor is not None:
        from service.audit import log as audit

        audit.record(session, actor, "question.answer", "question", question.id,
                     before={"status": "open"}, after={"status": "answered", "answer": text})
    return question


# ---------------------------------------------------------------- escalation

def escalate_overdue(session: Session, now: dt.datetime, after: dt.timedelta) -> list[Question]:
    """Send every open question unanswered for ``after`` (``ADVICE_ESCALATE_HOURS``) since it was
    last sent to the next level's first responder; route questions that found nobody when asked
    to whoever serves them now. Returns the questions sent; the caller commits. A question at
    the top level (extension) stays with its responder."""
    sent = []
    overdue = session.scalars(select(Question).where(
        Question.status == "open", Question.responder_id.is_not(None), Question.routed_at <= now - after)
        .order_by(Question.id).with_for_update(skip_locked=True))
    for question in overdue:
        if _route(session, question, question.level, now) is not None:
            sent.append(question)
    waiting = session.scalars(select(Question).where(Question.status == "open", Question.responder_id.is_(None))
                              .order_by(Question.id).with_for_update(skip_locked=True))
    for question in waiting:
        if _route(session, question, -1, now) is not None:
            sent.append(question)
    session.flush()
    return sent
