"""What staff edit on the web for advice: canned answers per crop and topic, and the tips library.

**Canned answers** (:class:`CannedAnswer`, table ``canned_answer``): a ready answer in the four
languages (``tg``, ``ru``, ``uz``, ``en``) for a crop and topic (either may be None: any crop, any
topic). A responder picks one on a question's page to fill the answer in the farmer's language.
Each text must fit the farmer's answer SMS (``advice.answer.to_farmer``, at most
``questions.MAX_ANSWER_SEGMENTS`` segments with the longest question number, :func:`answer_check`).

**Tips**: the shipped texts live in ``templates_sms/tips.toml`` (keys ``tips.<crop>.<topic>.<n>``,
``questions.tips``). An edited tip is a stored override (:class:`TipText`, table ``tip_text``, one
row per key and language); :func:`tip_text` gives the override, else the shipped text, and is what
the USSD advice screens show (``service.advice.ussd``). Saving the shipped text again, or
:func:`reset_tip`, removes the override. A tip must fit a USSD screen alone with the navigation
line (``CON <tip>\\n0 back 98 more``, ``fits_ussd``) and one SMS (:func:`tip_check`).

Every change is one ``service.audit.log.record`` entry in the caller's transaction (the caller
commits): ``canned.save``, ``canned.delete``, ``tip.edit``, ``tip.reset``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, Text, delete, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.db import Base, utcnow
from service.errors import Refusal
from service.messaging.encoding import SMS_PART, USSD_BUDGET, Measure, fits_ussd, measure, normalise

LANGS = ("tg", "ru", "uz", "en")
#: most characters of one language's canned answer (the SMS budget cuts it shorter in Cyrillic)
MAX_CANNED_CHARS = 450
#: most characters of a canned answer's title
MAX_TITLE_CHARS = 80
#: most characters typed for one tip (the USSD budget cuts it far shorter)
MAX_TIP_CHARS = 200
#: the question number the budget checks assume (six digits: a long-running service)
LONG_ID = 999999
TIP_SMS_SEGMENTS = 1


class CannedAnswer(Base):
    """A ready answer: ``crop_id``/``topic`` (None: any), ``title`` (staff only, up to
    :data:`MAX_TITLE_CHARS`), ``text_tg``/``text_ru``/``text_uz``/``text_en`` (each up to
    :data:`MAX_CANNED_CHARS`), ``updated_at`` UTC, ``updated_by`` the account's username."""

    __tablename__ = "canned_answer"
    id: Mapped[int] = mapped_column(primary_key=True)
    crop_id: Mapped[str | None] = mapped_column(ForeignKey("crop.id"), index=True)
    topic: Mapped[str | None] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(MAX_TITLE_CHARS))
    text_tg: Mapped[str] = mapped_column(Text)
    text_ru: Mapped[str] = mapped_column(Text)
    text_uz: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80))

    def text(self, lang: str) -> str:
        """The answer in ``lang`` (Tajik for an unknown language)."""
        return getattr(self, f"text_{lang if lang in LANGS else 'tg'}")

    def texts(self) -> dict[str, str]:
        """``{lang: text}`` for the four languages."""
        return {lang: self.text(lang) for lang in LANGS}


class TipText(Base):
    """An edited tip: ``key`` (``tips.<crop>.<topic>.<n>``), ``lang``, the ``text`` served instead
    of the shipped one, ``updated_at`` UTC, ``updated_by`` the account's username."""

    __tablename__ = "tip_text"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    lang: Mapped[str] = mapped_column(String(2), primary_key=True)
    text: Mapped[str] = mapped_column(String(MAX_TIP_CHARS))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80))


# ---------------------------------------------------------------- measuring

@dataclass(frozen=True)
class AnswerCheck:
    """The farmer's answer SMS for a text: ``body`` as sent, its :class:`Measure` ``sms``, the
    ``limit`` in segments, ``ok``, and ``cut``: characters to remove when over (else 0)."""

    body: str
    sms: Measure
    limit: int
    ok: bool
    cut: int


def answer_check(text: str, lang: str, question_id: int = LONG_ID) -> AnswerCheck:
    """Measure the SMS the farmer gets for answer ``text`` in ``lang`` (``advice.answer.to_farmer``)."""
    from service.advice.questions import MAX_ANSWER_SEGMENTS

    text = " ".join(normalise(text or "").split())
    body = templates_sms.text("advice.answer.to_farmer", lang, id=question_id, text=text)
    m = measure(body)
    over = m.units - MAX_ANSWER_SEGMENTS * SMS_PART[m.encoding]
    ok = m.segments <= MAX_ANSWER_SEGMENTS
    return AnswerCheck(m.text, m, MAX_ANSWER_SEGMENTS, ok, 0 if ok else max(over, 1))


def answer_frame(lang: str, question_id: int = LONG_ID) -> tuple[str, str]:
    """The farmer's answer SMS around the answer text: ``(before, after)`` (for live counting)."""
    marker = "\x00"
    before, _, after = templates_sms.text("advice.answer.to_farmer", lang, id=question_id, text=marker).partition(marker)
    return before, after


def tip_frame(lang: str) -> tuple[str, str]:
    """The USSD tips screen around one tip: ``(before, after)`` (``CON `` and the navigation line)."""
    nav = " ".join(templates_sms.text(f"ussd.nav.{n}", lang) for n in ("back", "more"))
    return "CON ", f"\n{nav}"


@dataclass(frozen=True)
class TipCheck:
    """A tip measured: ``screen`` the USSD body it is shown in (with the navigation line),
    ``ussd`` its :class:`Measure`, ``ussd_limit`` units, ``ussd_ok``; ``sms`` the tip as one SMS,
    ``sms_limit`` segments, ``sms_ok``; ``ok`` both."""

    screen: str
    ussd: Measure
    ussd_limit: int
    ussd_ok: bool
    sms: Measure
    sms_limit: int
    sms_ok: bool

    @property
    def ok(self) -> bool:
        return self.ussd_ok and self.sms_ok


def tip_check(text: str, lang: str) -> TipCheck:
    """Measure tip ``text`` in ``lang`` as the USSD tips screen and an SMS would carry it."""
    text = " ".join(normalise(text or "").split())
    before, after = tip_frame(lang)
    screen = f"{before}{text}{after}"
    u = measure(screen)
    s = measure(text)
    return TipCheck(screen, u, USSD_BUDGET[u.encoding], bool(text) and fits_ussd(screen), s, TIP_SMS_SEGMENTS,
                    s.segments <= TIP_SMS_SEGMENTS)


# ---------------------------------------------------------------- canned answers

def canned_answers(session: Session, crop_id: str | None = None, topic: str | None = None) -> list[CannedAnswer]:
    """Canned answers for a question of ``crop_id`` and ``topic``: those of that crop (or of any
    crop) and that topic (or of any topic); with both None, every one. By crop, topic, title."""
    query = select(CannedAnswer)
    if crop_id is not None:
        query = query.where(or_(CannedAnswer.crop_id == crop_id, CannedAnswer.crop_id.is_(None)))
    if topic is not None:
        query = query.where(or_(CannedAnswer.topic == topic, CannedAnswer.topic.is_(None)))
    rows = session.scalars(query).all()
    return sorted(rows, key=lambda c: (c.crop_id or "", c.topic or "", c.title.lower(), c.id))


def _canned_refusals(texts: dict[str, str]) -> dict[str, Refusal]:
    out = {}
    for lang in LANGS:
        text = texts.get(lang, "")
        if not text:
            out[lang] = Refusal("questions.err.canned_empty")
        elif len(text) > MAX_CANNED_CHARS:
            out[lang] = Refusal("questions.err.too_many_chars", max=MAX_CANNED_CHARS)
        else:
            check = answer_check(text, lang)
            if not check.ok:
                out[lang] = Refusal("questions.err.over_budget", segments=check.sms.segments, limit=check.limit,
                                    cut=check.cut)
    return out


def check_canned(texts: dict[str, str]) -> dict[str, Refusal]:
    """What is wrong with each language's text of a canned answer (``{lang: Refusal}``; empty when
    all four pass): ``questions.err.canned_empty``, ``questions.err.too_many_chars`` (``max``),
    ``questions.err.over_budget`` (``segments``, ``limit``, ``cut``)."""
    return _canned_refusals({lang: " ".join(normalise(texts.get(lang) or "").split()) for lang in LANGS})


def save_canned(session: Session, actor, *, title: str, crop_id: str | None, topic: str | None,
                texts: dict[str, str], canned: CannedAnswer | None = None) -> CannedAnswer:
    """Create (``canned`` None) or change a canned answer, with its ``canned.save`` audit entry.

    ``texts``: ``{lang: text}`` for the four languages, normalised and whitespace collapsed.
    Raises ``Refusal``: ``questions.err.title`` (empty or over :data:`MAX_TITLE_CHARS`),
    ``questions.err.topic`` (not a topic), ``questions.err.crop`` (unknown crop), else the first of
    :func:`check_canned` with ``lang`` added to its params.
    """
    from service.advice.questions import TOPICS
    from service.reference.crops import Crop

    title = " ".join((title or "").split())
    if not title or len(title) > MAX_TITLE_CHARS:
        raise Refusal("questions.err.title", max=MAX_TITLE_CHARS)
    if topic is not None and topic not in TOPICS:
        raise Refusal("questions.err.topic")
    if crop_id is not None and session.get(Crop, crop_id) is None:
        raise Refusal("questions.err.crop")
    clean = {lang: " ".join(normalise(texts.get(lang) or "").split()) for lang in LANGS}
    problems = _canned_refusals(clean)
    if problems:
        lang, refusal = next((lang, problems[lang]) for lang in LANGS if lang in problems)
        raise Refusal(refusal.key, lang=lang, **refusal.params)
    before = None if canned is None else _canned_snapshot(canned)
    if canned is None:
        canned = CannedAnswer(title=title, crop_id=crop_id, topic=topic, updated_by=actor.label[:80],
                              **{f"text_{lang}": clean[lang] for lang in LANGS})
        session.add(canned)
    else:
        canned.title, canned.crop_id, canned.topic = title, crop_id, topic
        for lang in LANGS:
            setattr(canned, f"text_{lang}", clean[lang])
        canned.updated_by, canned.updated_at = actor.label[:80], utcnow()
    session.flush()
    from service.audit import log as audit

    audit.record(session, actor, "canned.save", "canned_answer", canned.id, before=before,
                 after=_canned_snapshot(canned))
    return canned


def delete_canned(session: Session, actor, canned: CannedAnswer) -> None:
    """Delete a canned answer, with its ``canned.delete`` audit entry (what it said)."""
    from service.audit import log as audit

    audit.record(session, actor, "canned.delete", "canned_answer", canned.id, before=_canned_snapshot(canned))
    session.delete(canned)
    session.flush()


def _canned_snapshot(c: CannedAnswer) -> dict:
    return {"title": c.title, "crop": c.crop_id, "topic": c.topic, **{lang: c.text(lang) for lang in LANGS}}


# ---------------------------------------------------------------- tips

def shipped_tip(key: str, lang: str) -> str:
    """The tip as shipped in ``templates_sms/tips.toml``; ``KeyError`` for an unknown key."""
    return templates_sms.text(key, lang)


def tip_texts(session: Session, keys: list[str], lang: str) -> list[str]:
    """The tips ``keys`` in ``lang`` as farmers are served them: the edited text, else the shipped one."""
    if not keys:
        return []
    edited = dict(session.execute(select(TipText.key, TipText.text).where(TipText.key.in_(keys), TipText.lang == lang)).all())
    return [edited.get(k) or shipped_tip(k, lang) for k in keys]


def tip_text(session: Session, key: str, lang: str) -> str:
    """One tip as served (:func:`tip_texts`)."""
    return tip_texts(session, [key], lang)[0]


def edits(session: Session, keys: list[str]) -> dict[tuple[str, str], TipText]:
    """The stored overrides of ``keys``: ``{(key, lang): TipText}``."""
    if not keys:
        return {}
    return {(r.key, r.lang): r for r in session.scalars(select(TipText).where(TipText.key.in_(keys)))}


def check_tip(texts: dict[str, str]) -> dict[str, Refusal]:
    """What is wrong with each language's text of a tip (``{lang: Refusal}``, empty when all pass):
    ``questions.err.tip_empty``, ``questions.err.too_many_chars`` (``max``),
    ``questions.err.tip_ussd`` (``units``, ``limit``), ``questions.err.tip_sms`` (``segments``, ``limit``)."""
    out = {}
    for lang in LANGS:
        text = " ".join(normalise(texts.get(lang) or "").split())
        if not text:
            out[lang] = Refusal("questions.err.tip_empty")
        elif len(text) > MAX_TIP_CHARS:
            out[lang] = Refusal("questions.err.too_many_chars", max=MAX_TIP_CHARS)
        else:
            check = tip_check(text, lang)
            if not check.ussd_ok:
                out[lang] = Refusal("questions.err.tip_ussd", units=check.ussd.units, limit=check.ussd_limit)
            elif not check.sms_ok:
                out[lang] = Refusal("questions.err.tip_sms", segments=check.sms.segments, limit=check.sms_limit)
    return out


def save_tip(session: Session, actor, key: str, texts: dict[str, str]) -> list[str]:
    """Store the tip ``key``'s texts in the four languages; a text equal to the shipped one drops
    its override. One ``tip.edit`` audit entry with the texts before and after (only when
    something changed). Returns the languages changed.

    Raises ``KeyError`` for an unknown tip key; ``Refusal`` as :func:`check_tip` (the first,
    ``lang`` added to its params).
    """
    if not key.startswith("tips.") or not templates_sms.has(key):
        raise KeyError(key)
    clean = {lang: " ".join(normalise(texts.get(lang) or "").split()) for lang in LANGS}
    problems = check_tip(clean)
    if problems:
        lang, refusal = next((lang, problems[lang]) for lang in LANGS if lang in problems)
        raise Refusal(refusal.key, lang=lang, **refusal.params)
    stored = edits(session, [key])
    before = {lang: tip_text(session, key, lang) for lang in LANGS}
    changed = []
    for lang in LANGS:
        row = stored.get((key, lang))
        if clean[lang] == shipped_tip(key, lang):
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(TipText(key=key, lang=lang, text=clean[lang], updated_by=actor.label[:80]))
        elif row.text != clean[lang]:
            row.text, row.updated_at, row.updated_by = clean[lang], utcnow(), actor.label[:80]
        if clean[lang] != before[lang]:
            changed.append(lang)
    session.flush()
    if changed:
        from service.audit import log as audit

        audit.record(session, actor, "tip.edit", "tip", key, before={k: before[k] for k in changed},
                     after={k: clean[k] for k in changed})
    return changed


def reset_tip(session: Session, actor, key: str) -> bool:
    """Serve the shipped texts of tip ``key`` again (drop its overrides), with a ``tip.reset`` audit
    entry; False (and no entry) when it had none."""
    stored = edits(session, [key])
    if not stored:
        return False
    before = {lang: row.text for (_, lang), row in stored.items()}
    session.execute(delete(TipText).where(TipText.key == key))
    from service.audit import log as audit

    audit.record(session, actor, "tip.reset", "tip", key, before=before,
                 after={lang: shipped_tip(key, lang) for lang in before})
    session.flush()
    return True
