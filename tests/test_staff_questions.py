"""The staff questions pages: the inbox within the account's scope (filters, sorting, 404 outside
it), assigning, answering by SMS within the budget (preview, refusal over budget, one SMS on a
double submit), canned answers and the tips library in four languages, and the edited tip served
on USSD."""
from __future__ import annotations

import datetime as dt
import html as html_lib

import pytest
from sqlalchemy import select

import templates_sms
from cases.advice import AGENT, AZIZ, EXT, GULNORA, OLEG, build_world
from service.advice import inbox, library
from service.advice import questions as advice
from service.advice.questions import Question, QuestionRoute
from service.audit.log import AuditEntry
from service.farmers.models import Farmer
from service.messaging.encoding import measure
from service.messaging.message import OutboundMessage
from service.reference.crops import crops as all_crops
from service.reference.geography import Village
from service.staff import scope as scope_mod
from staff_pages import csrf, login, make_account

PAGE = "/staff/questions"
NOW = dt.datetime(2026, 6, 10, 8, 0, tzinfo=dt.timezone.utc)


def html(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def village_id(session, en: str) -> int:
    return next(v.id for v in session.scalars(select(Village)) if v.names["en"] == en)


def farmer(session, phone: str) -> Farmer:
    return session.scalar(select(Farmer).where(Farmer.phone == phone))


@pytest.fixture
def world(session):
    """Three questions: Gulnora's (Dahana, Kulob, tg; 5 days old), Aziz's (Yokhsuchiyon, Kulob, uz;
    2 days) and Oleg's (Guliston, Vose', ru; 4 hours)."""
    build_world(session)
    asked = {}
    for phone, text, age in ((GULNORA, "барги помидор зард шуд", dt.timedelta(days=5)),
                             (AZIZ, "pomidor barglari sarg'aydi", dt.timedelta(days=2)),
                             (OLEG, "лук гниёт, что делать?", dt.timedelta(hours=4))):
        asked[phone] = advice.ask(session, farmer(session, phone), text, channel="sms", now=NOW - age).id
    session.commit()
    return asked


def listed(page: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'data-question="(\d+)"', page)]


def outbox(session, to: str) -> list[OutboundMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.phone == to).order_by(OutboundMessage.id)))


def audit(session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def post(client, path: str, data: dict, form_page: str):
    return client.post(path, data={**data, "csrf_token": csrf(client, form_page)})


# ---------------------------------------------------------------- scope

def test_a_vam_agent_sees_only_the_questions_of_their_villages(client, session, world):
    make_account(session, "vam_agent", str(village_id(session, "Dahana")), username="agent")
    login(client, "agent")
    page = html(client.get(PAGE))
    assert listed(page) == [world[GULNORA]]
    assert "Gulnora" in page and "Aziz" not in page and "Oleg" not in page
    assert "+992•••••0001" in page and GULNORA not in page  # the phone masked
    assert "Unanswered questions in your area: 1" in page
    for other in (world[AZIZ], world[OLEG]):
        assert client.get(f"{PAGE}/{other}").status_code == 404
        answer = post(client, f"{PAGE}/{other}/answer", {"text": "x", "action": "send"}, PAGE)
        assert answer.status_code == 404
        assert post(client, f"{PAGE}/{other}/assign", {"responder": "1"}, PAGE).status_code == 404
    assert client.get(f"{PAGE}/{world[GULNORA]}").status_code == 200
    assert client.get(f"{PAGE}/999999").status_code == 404
    session.expire_all()
    assert session.get(Question, world[AZIZ]).status == "open"
    assert outbox(session, AZIZ) == []


@pytest.mark.parametrize("role, scope, phones", [
    ("admin", (), (GULNORA, AZIZ, OLEG)),
    ("extension_officer", ("kulob",), (GULNORA, AZIZ)),
    ("extension_officer", ("vose",), (OLEG,)),
])
def test_who_sees_which_questions(client, session, world, role, scope, phones):
    make_account(session, role, *scope, username="someone")
    login(client, "someone")
    # open ones, oldest first: Gulnora (5 d), Aziz (2 d), Oleg (4 h)
    assert listed(html(client.get(PAGE))) == [world[p] for p in phones]
    for phone, qid in world.items():
        assert client.get(f"{PAGE}/{qid}").status_code == (200 if phone in phones else 404)


def test_roles_without_answer_do_not_see_the_inbox(client, session, world):
    make_account(session, "market_reporter", "KULOB", username="rep")
    login(client, "rep")
    assert client.get(PAGE).status_code == 404
    assert client.get(f"{PAGE}/{world[GULNORA]}").status_code == 404
    assert f'href="{PAGE}"' not in html(client.get("/staff"))


def test_unanswered_count_in_a_scope(session, world):
    class Account:
        def __init__(self, role, refs):
            self.role, self.scope_refs = role, refs

    kulob = scope_mod.of(session, Account("extension_officer", ["kulob"]))
    dahana = scope_mod.of(session, Account("vam_agent", [str(village_id(session, "Dahana"))]))
    everything = scope_mod.of(session, Account("admin", []))
    assert (inbox.unanswered_count(session, kulob), inbox.unanswered_count(session, dahana),
            inbox.unanswered_count(session, everything)) == (2, 1, 3)
    advice.answer(session, AGENT, world[GULNORA], "Бордо пошед", now=NOW)
    session.commit()
    assert (inbox.unanswered_count(session, kulob), inbox.unanswered_count(session, dahana)) == (1, 0)


# ---------------------------------------------------------------- filters

def test_the_inbox_filters(app, client, session, world):
    make_account(session, "admin", username="boss")
    login(client, "boss")
    agent = session.scalar(select(advice.Responder).where(advice.Responder.phone == AGENT))

    def shown(**query):
        return listed(html(client.get(PAGE, query_string=query)))

    assert shown(crop="onion") == [world[OLEG]]
    assert shown(crop="tomato") == [world[GULNORA], world[AZIZ]]
    assert shown(district="vose") == [world[OLEG]]
    assert shown(responder=agent.id) == [world[GULNORA]]
    assert shown(level=0) == [world[GULNORA]]  # the Dahana VAM agent's level
    assert shown(level=2) == [world[AZIZ]]  # Yokhsuchiyon: only the Kulob extension officer
    assert shown(status="answered") == []
    assert shown(older="junk", level="9", status="x") == [world[GULNORA], world[AZIZ], world[OLEG]]
    # ages with an explicit now (the page counts from the clock)
    everything = scope_mod.Scope(role="admin", everything=True)
    ids = lambda f: [r.question.id for r in inbox.inbox(session, everything, f, NOW)]  # noqa: E731
    assert ids(inbox.Filters(older=3)) == [world[GULNORA]]
    assert ids(inbox.Filters(older=1)) == [world[GULNORA], world[AZIZ]]
    assert ids(inbox.Filters(older=7)) == []
    advice.answer(session, AGENT, world[GULNORA], "Бордо пошед", now=NOW)
    session.commit()
    assert ids(inbox.Filters()) == [world[AZIZ], world[OLEG], world[GULNORA]]  # open ones first
    assert ids(inbox.Filters(status="open")) == [world[AZIZ], world[OLEG]]
    assert shown(status="answered") == [world[GULNORA]]


def test_the_inbox_shows_farmer_village_language_when_and_level(client, session, world):
    make_account(session, "extension_officer", "kulob", username="ext")
    login(client, "ext")
    page = html(client.get(PAGE))
    row = page[page.index(f'data-question="{world[AZIZ]}"'):]
    row = row[:row.index("</tr>")]
    assert "Aziz" in row and "Yokhsuchiyon" in row and "O'zbekcha" in row
    assert "pomidor barglari sarg'aydi" in row
    assert "2 · Extension" in row and "Rustam Karimov" in row
    assert (NOW - dt.timedelta(days=2)).isoformat() in row


# ---------------------------------------------------------------- answering

@pytest.fixture
def ext(client, session, world):
    make_account(session, "extension_officer", "kulob", username="ext")
    login(client, "ext")
    return world


def test_the_answer_is_previewed_then_sent_in_the_farmers_language(client, session, ext):
    qid = ext[AZIZ]
    page_url = f"{PAGE}/{qid}"
    preview = post(client, f"{page_url}/answer", {"text": "Bordo suyuqligini seping", "action": "preview"}, page_url)
    assert preview.status_code == 200
    page = html(preview)
    expected = templates_sms.text("advice.answer.to_farmer", "uz", id=qid, text="Bordo suyuqligini seping")
    assert f'<blockquote id="preview-body">{expected}</blockquote>' in page
    assert f"GSM-7, {measure(expected).units} characters, 1 SMS (at most 3)" in page
    assert outbox(session, AZIZ) == []  # a preview sends nothing
    sent = post(client, f"{page_url}/answer", {"text": "Bordo suyuqligini seping", "action": "send"}, page_url)
    assert sent.status_code == 302
    [sms] = outbox(session, AZIZ)
    assert sms.text == expected and sms.language == "uz" and sms.kind == "reply"
    q = session.get(Question, qid)
    assert q.status == "answered" and q.answer == "Bordo suyuqligini seping"
    [entry] = audit(session, "question.answer")
    assert entry.object_id == str(qid) and entry.channel == "web" and entry.actor.startswith("ext")
    page = html(client.get(page_url))
    assert "The answer is queued to the farmer by SMS." in page
    assert '<blockquote id="answer-text">Bordo suyuqligini seping</blockquote>' in page
    assert 'name="action" value="send"' not in page  # no answer form any more


def test_an_answer_submitted_twice_is_queued_once(client, session, ext):
    qid = ext[GULNORA]
    url = f"{PAGE}/{qid}"
    token = csrf(client, url)
    form = {"text": "Бордо пошед", "action": "send", "csrf_token": token}
    first = client.post(f"{url}/answer", data=form)
    second = client.post(f"{url}/answer", data=form)
    assert first.status_code == 302 and second.status_code == 302
    assert len(outbox(session, GULNORA)) == 1
    assert len(audit(session, "question.answer")) == 1
    # a different answer after the first is refused and sends nothing
    third = client.post(f"{url}/answer", data={**form, "text": "Дигар ҷавоб"})
    assert third.status_code == 400 and "has already been answered" in html(third)
    assert len(outbox(session, GULNORA)) == 1


def test_an_answer_over_budget_is_refused(client, session, ext):
    qid = ext[GULNORA]  # Tajik: UCS-2, 3 SMS are 201 units
    url = f"{PAGE}/{qid}"
    long = "ҷ" * 200
    for action in ("preview", "send"):
        answer = post(client, f"{url}/answer", {"text": long, "action": action}, url)
        page = html(answer)
        assert "Too long: the farmer's SMS would be 4 SMS, at most 3. Cut about" in page
        assert answer.status_code == (200 if action == "preview" else 400)
    assert 'maxlength="1000"' in page and long in page  # what was typed comes back
    assert outbox(session, GULNORA) == []
    session.expire_all()
    assert session.get(Question, qid).status == "open"
    # as long an answer to an Uzbek farmer fits (GSM-7: 3 SMS are 459 septets)
    url = f"{PAGE}/{ext[AZIZ]}"
    assert post(client, f"{url}/answer", {"text": "j" * 200, "action": "send"}, url).status_code == 302
    assert len(outbox(session, AZIZ)) == 1


def test_an_empty_answer_is_refused(client, session, ext):
    url = f"{PAGE}/{ext[GULNORA]}"
    for action in ("preview", "send"):
        answer = post(client, f"{url}/answer", {"text": "   ", "action": action}, url)
        assert answer.status_code == 400 and "Type the answer first." in html(answer)
    assert outbox(session, GULNORA) == []


def test_a_question_is_assigned_to_a_responder_serving_the_farmer(client, session, ext):
    qid = ext[GULNORA]  # sent to the Dahana VAM agent
    url = f"{PAGE}/{qid}"
    page = html(client.get(url))
    before = len(outbox(session, EXT))  # Aziz's question went to the officer already
    officer = session.scalar(select(advice.Responder).where(advice.Responder.phone == EXT))
    assert f'<option value="{officer.id}">Rustam Karimov (2 · Extension)</option>' in page
    assert post(client, f"{url}/assign", {"responder": str(officer.id)}, url).status_code == 302
    session.expire_all()
    q = session.get(Question, qid)
    assert (q.responder_id, q.level) == (officer.id, 2)
    assert [r.responder_id for r in session.scalars(select(QuestionRoute).where(QuestionRoute.question_id == qid)
                                                   .order_by(QuestionRoute.id))][-1] == officer.id
    [sms] = outbox(session, EXT)[before:]
    assert f"#{qid}" in sms.text and sms.language == "ru"
    [entry] = audit(session, "question.assign")
    assert entry.after == {"responder": officer.id, "level": 2}
    assert "Sent to" in html(client.get(url))
    # a responder not serving the farmer (none with that id) is refused
    answer = post(client, f"{url}/assign", {"responder": "999999"}, url)
    assert answer.status_code == 400 and "Pick a responder who serves this farmer." in html(answer)
    assert len(audit(session, "question.assign")) == 1


def test_the_responder_who_got_it_may_answer_from_the_web_with_their_account(client, session, world):
    # a VAM agent account with the agent's phone answers the question sent to it
    make_account(session, "vam_agent", str(village_id(session, "Dahana")), username="agent", phone=AGENT)
    login(client, "agent")
    url = f"{PAGE}/{world[GULNORA]}"
    assert post(client, f"{url}/answer", {"text": "Бордо пошед", "action": "send"}, url).status_code == 302
    session.expire_all()
    q = session.get(Question, world[GULNORA])
    agent = session.scalar(select(advice.Responder).where(advice.Responder.phone == AGENT))
    assert q.answered_by == agent.id and q.answered_phone == AGENT


# ---------------------------------------------------------------- canned answers

TEXTS = {"tg": "Бо моеъи Бордо 1% пошед.", "ru": "Опрыскайте бордоской жидкостью 1%.",
         "uz": "Bordo suyuqligi 1% seping.", "en": "Spray 1% Bordeaux mixture."}


def canned_form(**changes):
    form = {"title": "Leaf spots", "crop": "tomato", "topic": "protection", "action": "save",
            **{f"text_{lang}": TEXTS[lang] for lang in library.LANGS}}
    form.update(changes)
    return form


def test_canned_answers_in_four_languages_fill_the_answer(client, session, ext):
    made = post(client, f"{PAGE}/canned", canned_form(), f"{PAGE}/canned")
    assert made.status_code == 302
    [canned] = session.scalars(select(library.CannedAnswer)).all()
    assert canned.texts() == TEXTS and (canned.crop_id, canned.topic) == ("tomato", "protection")
    [entry] = audit(session, "canned.save")
    assert entry.before is None and entry.after["uz"] == TEXTS["uz"]
    # picking it on a question fills the answer in the farmer's language, with its measurement
    for phone, lang in ((GULNORA, "tg"), (AZIZ, "uz")):
        url = f"{PAGE}/{ext[phone]}"
        assert '<option value="%d">Leaf spots</option>' % canned.id in html(client.get(url))
        page = html(client.get(url, query_string={"canned": canned.id}))
        assert f">{TEXTS[lang]}</textarea>" in page and 'id="preview-body"' in page
    # editing one language keeps the others; the audit entry has both
    edit = post(client, f"{PAGE}/canned/{canned.id}", canned_form(text_ru="Опрыскайте бордоской смесью."),
                f"{PAGE}/canned/{canned.id}")
    assert edit.status_code == 302
    session.expire_all()
    assert session.get(library.CannedAnswer, canned.id).text_ru == "Опрыскайте бордоской смесью."
    assert audit(session, "canned.save")[-1].before["ru"] == TEXTS["ru"]
    # delete
    assert post(client, f"{PAGE}/canned/{canned.id}", {"action": "delete"}, f"{PAGE}/canned/{canned.id}").status_code == 302
    assert session.scalars(select(library.CannedAnswer)).all() == []
    assert len(audit(session, "canned.delete")) == 1


def test_a_canned_answer_over_budget_or_empty_is_refused_naming_the_language(client, session, ext):
    url = f"{PAGE}/canned"
    answer = post(client, url, canned_form(text_ru="ж" * 199), url)
    assert answer.status_code == 400
    assert "Русский: Too long: the farmer's SMS would be 4 SMS, at most 3." in html(answer)
    answer = post(client, url, canned_form(text_en=""), url)
    assert answer.status_code == 400 and "English: Type the text." in html(answer)
    answer = post(client, url, canned_form(title=""), url)
    assert answer.status_code == 400 and "Give a title of 1 to 80 characters." in html(answer)
    assert post(client, url, canned_form(crop="mango"), url).status_code == 400
    assert post(client, url, canned_form(topic="dancing"), url).status_code == 400
    assert session.scalars(select(library.CannedAnswer)).all() == [] and audit(session, "canned.save") == []
    # Check measures without saving
    checked = post(client, url, canned_form(action="check"), url)
    assert checked.status_code == 200
    assert "UCS-2" in html(checked) and session.scalars(select(library.CannedAnswer)).all() == []


def test_a_vam_agent_uses_canned_answers_but_does_not_edit_them(client, session, world):
    make_account(session, "admin", username="boss")
    login(client, "boss")
    assert post(client, f"{PAGE}/canned", canned_form(), f"{PAGE}/canned").status_code == 302
    client.post("/staff/logout", data={"csrf_token": csrf(client, PAGE)})
    make_account(session, "vam_agent", str(village_id(session, "Dahana")), username="agent")
    login(client, "agent")
    page = html(client.get(f"{PAGE}/canned"))
    assert "Leaf spots" in page and 'name="text_tg"' not in page
    canned = session.scalar(select(library.CannedAnswer))
    assert client.get(f"{PAGE}/canned/{canned.id}").status_code == 404
    assert post(client, f"{PAGE}/canned", canned_form(title="Mine"), f"{PAGE}/canned").status_code == 404
    assert client.get(f"{PAGE}/tips/tomato/care/1").status_code == 404


def test_canned_answers_match_crop_and_topic(session, world):
    from service.audit.log import Actor

    actor = Actor(None, "test", "cli")
    for title, crop, topic in (("any", None, None), ("tomato", "tomato", None), ("onion care", "onion", "care")):
        library.save_canned(session, actor, title=title, crop_id=crop, topic=topic, texts=TEXTS)
    titles = lambda crop, topic: [c.title for c in library.canned_answers(session, crop, topic)]  # noqa: E731
    assert titles("tomato", "care") == ["any", "tomato"]
    assert titles("onion", "care") == ["any", "onion care"]
    assert titles("onion", "harvest") == ["any"]
    assert len(library.canned_answers(session)) == 3


# ---------------------------------------------------------------- tips

TIP = "tips.tomato.care.1"
EDITED = {"tg": "Дар май буттаҳоро бандед ва об диҳед.", "ru": "В мае подвяжите и полейте кусты.",
          "uz": "Mayda tuplarni bog'lang va sug'oring.", "en": "In May stake and water the plants."}


def tip_form(**changes):
    form = {"action": "save", **{f"text_{lang}": EDITED[lang] for lang in library.LANGS}}
    form.update(changes)
    return form


def dial(client, phone: str, text: str) -> str:
    form = {"sessionId": f"ATUid_{abs(hash((phone, text)))}", "serviceCode": "*384*7#", "phoneNumber": phone,
            "networkCode": "99999", "text": text}
    answer = client.post("/ussd", data=form)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def tomato_care(session) -> str:
    """The USSD path of Advice → Farming tips → Tomato → Care."""
    crop = [c.id for c in all_crops(session)].index("tomato") + 1
    return f"4*1*{crop}*{advice.TOPICS.index('care') + 1}"


def test_a_tip_edited_in_four_languages_is_served_on_ussd_and_can_go_back(client, session, ext):
    url = f"{PAGE}/tips/tomato/care/1"
    shipped = {lang: templates_sms.text(TIP, lang) for lang in library.LANGS}
    assert shipped["tg"] in dial(client, "+992901399001", tomato_care(session))
    page = html(client.get(url))
    assert f">{shipped['ru']}</textarea>" in page and "USSD screen" in page
    # Check re-renders with the measures and saves nothing
    checked = post(client, url, tip_form(action="check"), url)
    assert checked.status_code == 200
    tg = library.tip_check(EDITED["tg"], "tg")
    assert f"USSD screen {tg.ussd.units} of 70 (UCS-2); SMS: 1 of 1" in html(checked)
    assert session.scalars(select(library.TipText)).all() == []
    # Save: stored for the four languages, audited, served on USSD in the caller's language
    assert post(client, url, tip_form(), url).status_code == 302
    stored = {r.lang: r.text for r in session.scalars(select(library.TipText).where(library.TipText.key == TIP))}
    assert stored == EDITED
    [entry] = audit(session, "tip.edit")
    assert entry.object_id == TIP and entry.before == shipped and entry.after == EDITED
    screen = dial(client, "+992901399002", tomato_care(session))
    assert EDITED["tg"] in screen and shipped["tg"] not in screen
    # a registered Russian farmer reads the Russian edit
    screen = dial(client, OLEG, tomato_care(session))
    assert EDITED["ru"] in screen
    assert "(edited)" in html(client.get(f"{PAGE}/tips"))
    # back to the shipped text
    assert post(client, url, {"action": "reset"}, url).status_code == 302
    assert session.scalars(select(library.TipText)).all() == []
    assert len(audit(session, "tip.reset")) == 1
    assert shipped["tg"] in dial(client, "+992901399003", tomato_care(session))


def test_saving_the_shipped_text_of_one_language_keeps_only_the_others(client, session, ext):
    url = f"{PAGE}/tips/tomato/care/1"
    shipped_en = templates_sms.text(TIP, "en")
    assert post(client, url, tip_form(text_en=shipped_en), url).status_code == 302
    langs = sorted(r.lang for r in session.scalars(select(library.TipText)))
    assert langs == ["ru", "tg", "uz"]
    assert audit(session, "tip.edit")[0].after.keys() == {"tg", "ru", "uz"}


def test_a_tip_over_the_ussd_budget_or_empty_is_refused(client, session, ext):
    url = f"{PAGE}/tips/tomato/care/1"
    long = "Дар май буттаҳоро бандед, алаф канед, хок кашед ва об диҳед."
    answer = post(client, url, tip_form(text_tg=long), url)
    assert answer.status_code == 400
    assert "Тоҷикӣ: Too long for the USSD screen:" in html(answer)
    answer = post(client, url, tip_form(text_uz=" "), url)
    assert answer.status_code == 400 and "O'zbekcha: A tip cannot be empty." in html(answer)
    assert session.scalars(select(library.TipText)).all() == [] and audit(session, "tip.edit") == []
    assert client.get(f"{PAGE}/tips/tomato/care/99").status_code == 404
    assert client.get(f"{PAGE}/tips/tomato/dancing/1").status_code == 404
    assert client.get(f"{PAGE}/tips/mango/care/1").status_code == 404


def test_the_tips_library_lists_every_crop_and_topic(client, session, ext):
    page = html(client.get(f"{PAGE}/tips"))
    for crop in ("tomato", "onion", "rice"):
        for topic in advice.TOPICS:
            assert f'id="tips-{crop}-{topic}"' in page
            for key in advice.tips(crop, topic):
                assert f'data-tip="{key}"' in page


def test_every_shipped_tip_passes_the_check():
    for key in (k for k in templates_sms.catalogue() if k.startswith("tips.")):
        assert library.check_tip({lang: templates_sms.text(key, lang) for lang in library.LANGS}) == {}, key


def test_the_pages_speak_russian(client, session, world):
    make_account(session, "extension_officer", "kulob", username="ext-ru", language="ru")
    login(client, "ext-ru")
    assert "Вопросов без ответа в вашем районе: 2" in html(client.get(PAGE))
    url = f"{PAGE}/{world[GULNORA]}"
    answer = post(client, f"{url}/answer", {"text": "ж" * 200, "action": "send"}, url)
    assert "Слишком длинно: SMS фермеру займёт 4 SMS" in html(answer)


def test_the_pages_carry_no_inline_script_and_the_counter_is_served(client, session, ext):
    import re

    for url in (f"{PAGE}/{ext[GULNORA]}", f"{PAGE}/canned", f"{PAGE}/tips/tomato/care/1"):
        page = html(client.get(url))
        scripts = re.findall(r"<script([^>]*)>", page)
        assert scripts and all('src="/static/staff-count.js"' in s for s in scripts), (url, scripts)
        assert 'data-live="' in page
    served = client.get("/static/staff-count.js")
    assert served.status_code == 200 and "javascript" in served.mimetype
    served.close()


def test_a_vam_agent_reads_the_tips_library_without_edit_links(client, session, world):
    make_account(session, "vam_agent", str(village_id(session, "Dahana")), username="agent")
    login(client, "agent")
    page = html(client.get(f"{PAGE}/tips"))
    assert templates_sms.text(TIP, "en") in page  # the account's language
    assert f"{PAGE}/tips/tomato/care/1" not in page
