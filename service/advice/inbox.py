"""The questions inbox of the staff pages: farmers' questions within an account's scope, filtered
and sorted, assigning a question to a responder, and answering it (``docs/staff.md`` §14).

A question is in a scope when its farmer is (``Scope.farmers()``: a VAM agent's villages, an
extension officer's districts, a coordinator's PGs, an administrator everything), the same rule
``questions.answer`` applies to a staff answer. Answers go through ``questions.answer`` (the
outbox, the farmer's language, at most ``MAX_ANSWER_SEGMENTS`` segments, first answer wins).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

import templates_sms
from service.advice import library
from service.advice import responders as responders_mod
from service.advice.questions import STATUSES, TOPICS, Question, QuestionRoute, _about, answer as answer_question
from service.advice.responders import ROLES, Responder
from service.db import utcnow
from service.errors import Refusal
from service.farmers.models import Farmer
from service.messaging.message import queue_sms
from service.reference.geography import Village

#: the ages the inbox filters by: days a question has waited at least
AGES = (1, 3, 7)
#: most questions one inbox page lists
MAX_ROWS = 200


def in_scope(scope):
    """A WHERE clause on ``Question``: the questions of the farmers ``scope`` covers."""
    if scope.everything:
        from sqlalchemy import true

        return true()
    return Question.farmer_id.in_(select(Farmer.id).where(scope.farmers()))


def unanswered_count(session: Session, scope) -> int:
    """How many open (unanswered) questions the ``scope`` (``service.staff.scope.Scope``) covers."""
    return session.scalar(select(func.count(Question.id)).where(Question.status == "open", in_scope(scope))) or 0


@dataclass(frozen=True)
class Filters:
    """What the inbox is narrowed to (None: any): ``crop`` id, ``district`` id, ``responder`` id
    (the question was routed to them at some point), ``older`` days (one of :data:`AGES`, asked at
    least that long ago), ``status`` (one of ``STATUSES``), ``level`` (0–2, the escalation level)."""

    crop: str | None = None
    district: str | None = None
    responder: int | None = None
    older: int | None = None
    status: str | None = None
    level: int | None = None

    @classmethod
    def read(cls, args) -> Filters:
        """Filters from a query string (a mapping of str); values that are not allowed are ignored."""
        def num(name, allowed):
            value = (args.get(name) or "")[:6]
            return int(value) if value.isdigit() and (allowed is None or int(value) in allowed) else None

        status = args.get("status") or None
        return cls(crop=(args.get("crop") or "")[:32] or None, district=(args.get("district") or "")[:32] or None,
                   responder=num("responder", None), older=num("older", AGES),
                   status=status if status in STATUSES else None, level=num("level", range(len(ROLES))))


@dataclass(frozen=True)
class Row:
    """One question as the inbox lists it, with its ``farmer``, ``village`` (or None) and current
    ``responder`` (or None)."""

    question: Question
    farmer: Farmer
    village: Village | None
    responder: Responder | None


def inbox(session: Session, scope, filters: Filters, now: dt.datetime, limit: int = MAX_ROWS) -> list[Row]:
    """The questions of ``scope`` matching ``filters``, open ones first, oldest first (answered
    ones after, newest answer first); ``now`` (UTC) dates the age filter; at most ``limit``."""
    query = select(Question).where(in_scope(scope))
    f = filters
    if f.crop:
        query = query.where(Question.crop_id == f.crop)
    if f.district:
        query = query.where(Question.district_id == f.district)
    if f.responder is not None:
        query = query.where(Question.id.in_(select(QuestionRoute.question_id)
                                            .where(QuestionRoute.responder_id == f.responder)))
    if f.older:
        query = query.where(Question.asked_at <= now - dt.timedelta(days=f.older))
    if f.status:
        query = query.where(Question.status == f.status)
    if f.level is not None:
        query = query.where(Question.level == f.level)
    query = query.order_by(case((Question.status == "open", 0), else_=1), Question.asked_at, Question.id).limit(limit)
    questions = session.scalars(query).all()
    # answered ones: newest answer first
    opened = [q for q in questions if q.status == "open"]
    answered = sorted((q for q in questions if q.status != "open"), key=lambda q: q.answered_at or q.asked_at,
                      reverse=True)
    return [_row(session, q) for q in opened + answered]


def _row(session: Session, q: Question) -> Row:
    farmer = session.get(Farmer, q.farmer_id)
    return Row(q, farmer, session.get(Village, q.village_id) if q.village_id else None,
               session.get(Responder, q.responder_id) if q.responder_id else None)


def find(session: Session, scope, question_id: int) -> Row | None:
    """The question ``question_id`` when ``scope`` covers it, else None (a page answers 404)."""
    q = session.scalar(select(Question).where(Question.id == question_id, in_scope(scope)))
    return _row(session, q) if q is not None else None


def routes(session: Session, question: Question) -> list[tuple[QuestionRoute, Responder]]:
    """Every sending of ``question`` to a responder, oldest first."""
    rows = session.execute(select(QuestionRoute, Responder).join(Responder, Responder.id == QuestionRoute.responder_id)
                           .where(QuestionRoute.question_id == question.id).order_by(QuestionRoute.id)).all()
    return [tuple(r) for r in rows]


def responders_for(session: Session, question: Question) -> list[Responder]:
    """Whom ``question`` may be assigned to: the active responders serving its farmer's village and
    district (``responders.serving``), lowest level first, but not the lead farmer who asked it."""
    return [r for r in responders_mod.serving(session, question.village_id, question.district_id)
            if r.farmer_id is None or r.farmer_id != question.farmer_id]


def responders_in(session: Session, scope) -> list[Responder]:
    """The responders that questions of ``scope`` were routed to (for the inbox's filter), by name."""
    ids = select(QuestionRoute.responder_id).join(Question, Question.id == QuestionRoute.question_id).where(in_scope(scope))
    return list(session.scalars(select(Responder).where(Responder.id.in_(ids)).order_by(Responder.name, Responder.id)))


def assign(session: Session, actor, question: Question, responder_id: int, now: dt.datetime | None = None) -> Responder:
    """Send open ``question`` to the responder ``responder_id`` (one of :func:`responders_for`): it
    becomes the question's responder at that responder's level, a :class:`QuestionRoute` row is
    added, the responder gets the question by SMS (``advice.sms.question``), and a
    ``question.assign`` audit entry is written. Raises ``Refusal``: ``questions.err.answered``
    (answered already), ``questions.err.responder`` (not one who may take it)."""
    if question.status != "open":
        raise Refusal("questions.err.answered")
    chosen = next((r for r in responders_for(session, question) if r.id == responder_id), None)
    if chosen is None:
        raise Refusal("questions.err.responder")
    now = now or utcnow()
    before = {"responder": question.responder_id, "level": question.level}
    question.responder_id, question.level, question.routed_at = chosen.id, chosen.level, now
    session.add(QuestionRoute(question_id=question.id, responder_id=chosen.id, level=chosen.level, sent_at=now))
    queue_sms(session, chosen.phone,
              templates_sms.text("advice.sms.question", chosen.language, **_about(session, question, chosen.language)),
              kind="notice", language=chosen.language)
    from service.audit import log as audit

    audit.record(session, actor, "question.assign", "question", question.id, before=before,
                 after={"responder": chosen.id, "level": chosen.level})
    session.flush()
    return chosen


def preview(session: Session, question: Question, text: str) -> library.AnswerCheck:
    """The SMS the farmer of ``question`` would get for ``text``, measured (the farmer's language)."""
    farmer = session.get(Farmer, question.farmer_id)
    return library.answer_check(text, farmer.language, question.id)


def answer(session: Session, account, scope, actor, question: Question, text: str,
           now: dt.datetime | None = None) -> Question:
    """Answer ``question`` from the web as ``account`` (``questions.answer`` with the account's
    scope and audit ``actor``; its phone, else ``web:<account id>``, is recorded as the sender).
    Raises ``Refusal``: ``questions.err.empty``, ``questions.err.over_budget`` (``segments``,
    ``limit``, ``cut``), and those of ``questions.answer`` (``advice.answer.already``...)."""
    text = (text or "").strip()
    if not text:
        raise Refusal("questions.err.empty")
    check = preview(session, question, text)
    if not check.ok:
        raise Refusal("questions.err.over_budget", segments=check.sms.segments, limit=check.limit, cut=check.cut)
    phone = account.phone or f"web:{account.id}"[:20]
    return answer_question(session, phone, question.id, text, scope=scope, actor=actor, now=now)


def topic_ok(topic: str | None) -> bool:
    """True for one of ``TOPICS`` (or None)."""
    return topic is None or topic in TOPICS
