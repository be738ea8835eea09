"""Farmers' questions on the web: the inbox, a question's page (assign, answer), canned answers and
the tips library (``docs/staff.md`` "Questions and tips on the web").

``GET /staff/questions`` lists the questions of the account's scope (``service.advice.inbox``),
filterable by crop, district, responder, age, status and escalation level, open ones oldest
first. ``GET /staff/questions/<id>`` is one question (404 outside the scope): the farmer, the
text, whom it was sent to; ``?canned=<id>`` fills the answer with that canned answer in the
farmer's language. ``POST /staff/questions/<id>/assign`` sends it to a responder serving the
farmer (audited). ``POST /staff/questions/<id>/answer`` with ``action=preview`` shows the SMS as
the farmer gets it (text, encoding, segments, the budget), with ``action=send`` answers through
``questions.answer`` (the outbox); an answer over budget is refused (400) with how much to cut, a
second submit of the same answer queues nothing more.

``/staff/questions/canned`` lists, adds and edits canned answers (four languages, each checked
against the answer budget); ``/staff/questions/tips`` the tips library: each tip in four
languages, "Check" re-renders with the USSD screen and SMS measurements, "Save" stores the
edited texts (served on USSD at once), "Shipped text" goes back to the texts of
``templates_sms/tips.toml``. A small same-origin script (``static/staff-count.js``) counts while
typing; without it the Check button does the same.

Roles: the inbox and answering, those that may send ``ANSWER`` (admin, extension officer, VAM
agent); editing canned answers and tips, extension officers and administrators.
"""
from __future__ import annotations

from flask import g, request

from handlers.common import db, field, settings
from handlers.staff import web
from service.advice import inbox as service
from service.advice import library
from service.advice.questions import STATUSES, TOPICS, MAX_ANSWER_SEGMENTS, tips as tip_keys
from service.advice.responders import ROLES as LEVELS
from service.db import utcnow
from service.errors import Refusal
from service.messaging.encoding import normalise
from service.farmers.records import mask
from service.reference.crops import Crop, crops as all_crops
from service.reference.geography import District
from service.staff.commands import COMMAND_ROLES
from sqlalchemy import select

bp = web.blueprint("staff_questions", __name__, "/staff/questions")
ROLES = COMMAND_ROLES["answer"]
EDITORS = ("admin", "extension_officer")
web.nav_item("staff_questions.index", "questions.title", roles=ROLES, order=35)

#: most characters read from an answer field (the budget check refuses far shorter answers)
MAX_ANSWER_FIELD = 1000


def _zone():
    return settings().timezone


def _question(question_id: int) -> service.Row:
    row = service.find(db(), g.scope, question_id)
    if row is None:
        web.not_found()
    return row


def _refusal(refusal: Refusal) -> str:
    """The refusal in the page language; one about a language's text names that language first."""
    params = dict(refusal.params)
    lang = params.pop("lang", None)
    text = web.refusal_text(Refusal(refusal.key, **params))
    return f"{web.LANGUAGE_NAMES.get(lang, lang)}: {text}" if lang else text


@bp.get("")
def index():
    """The inbox: the scope's questions, filtered (query string), open ones oldest first."""
    web.require_role(*ROLES)
    s = db()
    filters = service.Filters.read(request.args)
    rows = service.inbox(s, g.scope, filters, utcnow())
    districts = [d for d in s.scalars(select(District).order_by(District.id))
                 if g.scope.everything or d.id in g.scope.district_ids
                 or d.id in {r.question.district_id for r in rows}]
    return web.render("staff/questions.html", rows=rows, filters=filters, crops=all_crops(s), districts=districts,
                      responders=service.responders_in(s, g.scope), ages=service.AGES, statuses=STATUSES,
                      levels=LEVELS, mask=mask, zone=_zone(), now=utcnow(), cap=service.MAX_ROWS,
                      unanswered=service.unanswered_count(s, g.scope), editor=g.account.role in EDITORS)


def _question_page(row: service.Row, text: str = "", check=None, error: str | None = None, status: int = 200):
    s = db()
    q = row.question
    canned = library.canned_answers(s, q.crop_id, q.topic)
    crop = s.get(Crop, q.crop_id) if q.crop_id else None
    district = s.get(District, q.district_id) if q.district_id else None
    return web.render("staff/question.html", row=row, q=q, crop=crop, district=district, text=text, check=check,
                      error=error, canned=canned, routes=service.routes(s, q), mask=mask, zone=_zone(),
                      choices=service.responders_for(s, q) if q.status == "open" else [], levels=LEVELS,
                      limit=MAX_ANSWER_SEGMENTS, max_field=MAX_ANSWER_FIELD,
                      frame=library.answer_frame(row.farmer.language, q.id)), status


@bp.get("/<int:question_id>")
def question(question_id: int):
    """One question of the scope (404 otherwise); ``?canned=<id>`` fills the answer."""
    web.require_role(*ROLES)
    row = _question(question_id)
    text, check = "", None
    picked = request.args.get("canned", "")[:9]
    if picked.isdigit():
        canned = db().get(library.CannedAnswer, int(picked))
        if canned is not None:
            text = canned.text(row.farmer.language)
            check = service.preview(db(), row.question, text)
    return _question_page(row, text, check)


@bp.post("/<int:question_id>/assign")
def assign(question_id: int):
    """Send the question to a responder serving its farmer (audited)."""
    web.require_role(*ROLES)
    row = _question(question_id)
    picked = field("responder", limit=9)
    try:
        if not picked.isdigit():
            raise Refusal("questions.err.responder")
        service.assign(db(), web.actor(), row.question, int(picked))
    except Refusal as refusal:
        db().rollback()
        return _question_page(_question(question_id), error=_refusal(refusal), status=400)
    return web.done("questions.assigned", "staff_questions.question", question_id=question_id)


@bp.post("/<int:question_id>/answer")
def answer(question_id: int):
    """``action=preview``: the SMS as the farmer would get it; ``action=send``: answer it (outbox)."""
    web.require_role(*ROLES)
    s = db()
    row = _question(question_id)
    text = field("text", free_text=True, limit=MAX_ANSWER_FIELD).strip()
    check = service.preview(s, row.question, text) if text else None
    if field("action", limit=10) != "send":
        if not text:
            return _question_page(row, text, None, error=web.t("questions.err.empty"), status=400)
        return _question_page(row, text, check, error=None if check.ok else _over(check), status=200)
    try:
        service.answer(s, g.account, g.scope, web.actor(), row.question, text)
    except Refusal as refusal:
        s.rollback()
        again = _question(question_id)
        if refusal.key == "advice.answer.already" and again.question.answer == " ".join(normalise(text).split()):
            # the same answer submitted twice: it was queued once; say it went
            return web.done("questions.answered", "staff_questions.question", question_id=question_id)
        message = _over(check) if refusal.key == "questions.err.over_budget" else _refusal(refusal)
        return _question_page(again, text, check, error=message, status=400)
    return web.done("questions.answered", "staff_questions.question", question_id=question_id)


def _over(check) -> str:
    return web.t("questions.err.over_budget", segments=check.sms.segments, limit=check.limit, cut=check.cut)


# ---------------------------------------------------------------- canned answers

def _canned_form(canned=None, values=None, problems=None, error=None, status=200):
    s = db()
    values = values or ({"title": canned.title, "crop": canned.crop_id or "", "topic": canned.topic or "",
                         **canned.texts()} if canned is not None else {"title": "", "crop": "", "topic": ""})
    checks = {lang: library.answer_check(values.get(lang, ""), lang) for lang in library.LANGS
              if values.get(lang)}
    return web.render("staff/questions_canned.html", canned=canned, rows=library.canned_answers(s),
                      values=values, checks=checks, problems=problems or {}, error=error, crops=all_crops(s),
                      crop_names={c.id: c.name(g.lang) for c in all_crops(s)},
                      topics=TOPICS, langs=library.LANGS, refusal=_refusal, editor=g.account.role in EDITORS,
                      max_chars=library.MAX_CANNED_CHARS, zone=_zone(), limit=MAX_ANSWER_SEGMENTS,
                      frames={lang: library.answer_frame(lang) for lang in library.LANGS}), status


@bp.get("/canned")
def canned_list():
    """Every canned answer, and (for editors) the form for a new one."""
    web.require_role(*ROLES)
    return _canned_form()


@bp.get("/canned/<int:canned_id>")
def canned_edit(canned_id: int):
    """One canned answer's form."""
    web.require_role(*EDITORS)
    canned = db().get(library.CannedAnswer, canned_id)
    if canned is None:
        web.not_found()
    return _canned_form(canned)


def _canned_values() -> dict:
    values = {"title": field("title", limit=library.MAX_TITLE_CHARS + 1), "crop": field("crop", limit=32),
              "topic": field("topic", limit=12)}
    for lang in library.LANGS:
        values[lang] = field(f"text_{lang}", free_text=True, limit=library.MAX_CANNED_CHARS + 1)
    return values


@bp.post("/canned")
@bp.post("/canned/<int:canned_id>")
def canned_save(canned_id: int | None = None):
    """``action=check`` measures the four texts; ``save`` stores them; ``delete`` removes it."""
    web.require_role(*EDITORS)
    s = db()
    canned = None
    if canned_id is not None:
        canned = s.get(library.CannedAnswer, canned_id)
        if canned is None:
            web.not_found()
    action = field("action", limit=10)
    if action == "delete" and canned is not None:
        library.delete_canned(s, web.actor(), canned)
        return web.done("questions.canned_deleted", "staff_questions.canned_list")
    values = _canned_values()
    problems = library.check_canned(values)
    if action != "save":
        return _canned_form(canned, values, problems)
    try:
        saved = library.save_canned(s, web.actor(), title=values["title"], crop_id=values["crop"] or None,
                                    topic=values["topic"] or None, texts=values, canned=canned)
    except Refusal as refusal:
        s.rollback()
        if canned_id is not None:
            canned = s.get(library.CannedAnswer, canned_id)
        return _canned_form(canned, values, problems, error=_refusal(refusal), status=400)
    return web.done("questions.canned_saved", "staff_questions.canned_edit", canned_id=saved.id)


# ---------------------------------------------------------------- tips

def _tip_key(crop: str, topic: str, n: str) -> str:
    key = f"tips.{crop[:32]}.{topic[:12]}.{n[:3]}"
    import templates_sms

    if topic not in TOPICS or not templates_sms.has(key):
        web.not_found()
    return key


@bp.get("/tips")
def tips():
    """The tips library: every crop and topic, each tip in the page language, edited ones marked."""
    web.require_role(*ROLES)
    s = db()
    table = []
    for crop in all_crops(s):
        for topic in TOPICS:
            keys = tip_keys(crop.id, topic)
            if keys:
                table.append((crop, topic, keys, library.tip_texts(s, keys, g.lang)))
    edited = {k for k, _ in library.edits(s, [k for _, _, keys, _ in table for k in keys])}
    return web.render("staff/questions_tips.html", table=table, edited=edited, editor=g.account.role in EDITORS)


def _tip_form(key: str, values: dict | None = None, problems=None, error=None, status=200):
    s = db()
    shipped = {lang: library.shipped_tip(key, lang) for lang in library.LANGS}
    values = values or {lang: library.tip_text(s, key, lang) for lang in library.LANGS}
    checks = {lang: library.tip_check(values.get(lang, ""), lang) for lang in library.LANGS}
    _, crop_id, topic, n = key.split(".")
    return web.render("staff/questions_tip.html", key=key, crop=s.get(Crop, crop_id), topic=topic, n=n,
                      values=values, shipped=shipped, checks=checks, problems=problems or {}, error=error,
                      edited=library.edits(s, [key]), langs=library.LANGS, refusal=_refusal,
                      max_chars=library.MAX_TIP_CHARS, zone=_zone(),
                      frames={lang: library.tip_frame(lang) for lang in library.LANGS}), status


@bp.get("/tips/<crop>/<topic>/<n>")
def tip(crop: str, topic: str, n: str):
    """One tip's form in the four languages, with its measurements."""
    web.require_role(*EDITORS)
    return _tip_form(_tip_key(crop, topic, n))


@bp.post("/tips/<crop>/<topic>/<n>")
def tip_save(crop: str, topic: str, n: str):
    """``action=check`` re-renders with the measurements; ``save`` stores; ``reset`` serves the shipped text."""
    web.require_role(*EDITORS)
    key = _tip_key(crop, topic, n)
    s = db()
    action = field("action", limit=10)
    if action == "reset":
        library.reset_tip(s, web.actor(), key)
        return web.done("questions.tip_reset", "staff_questions.tip", crop=crop, topic=topic, n=n)
    values = {lang: field(f"text_{lang}", limit=library.MAX_TIP_CHARS + 1) for lang in library.LANGS}
    problems = library.check_tip(values)
    if action != "save":
        return _tip_form(key, values, problems)
    try:
        library.save_tip(s, web.actor(), key, values)
    except Refusal as refusal:
        s.rollback()
        return _tip_form(key, values, problems, error=_refusal(refusal), status=400)
    return web.done("questions.tip_saved", "staff_questions.tip", crop=crop, topic=topic, n=n)
