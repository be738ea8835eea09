"""The crop calendar pages: each campaign's events in order with how many farmers of the account's
area each will still reach; editing an event's day and texts with the one-SMS budget check (a
"Check" without saving, refusals in the page language), re-planning and audit on save; who may
edit; and that an edit never makes a farmer get the same event twice.

Time is fixed: the pages are read at :data:`NOW` (time_machine), the plantings and scheduler
ticks before and after it are given their ``now``."""
from __future__ import annotations

import datetime as dt
import html as html_lib
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from service.audit.log import Actor, AuditEntry
from service.errors import Refusal
from service.farmers.models import register
from service.messaging.message import OutboundMessage
from service.reference.geography import Village
from service.reminders import calendars, campaign as campaigns
from service.reminders.crop_cycle import CropCycle, Reminder, dedupe_key, queue_due, record_planting
from service.staff.scope import Scope
from staff_pages import csrf, login, make_account

TZ = ZoneInfo("Asia/Dushanbe")
PAGE = "/staff/campaigns"


def local(*args) -> dt.datetime:
    """An aware UTC datetime from Dushanbe wall-clock values."""
    return dt.datetime(*args, tzinfo=TZ).astimezone(dt.timezone.utc)


#: when the pages are read: 1 May 2027, 07:30 in Dushanbe
NOW = local(2027, 5, 1, 7, 30)


def html(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def village_of(session, district: str) -> int:
    return session.scalar(select(Village.id).where(Village.district_id == district).order_by(Village.id).limit(1))


def grower(session, phone: str, district: str, name: str, language: str = "ru"):
    f = register(session, phone=phone, name=name, gender="female", village_id=village_of(session, district),
                 crop_ids=["rice"], land_m2=5000, language=language)
    session.commit()
    return f


@pytest.fixture
def world(session, clock):
    """Three rice growers: A (Kulob) and C (Balkhi) sowed on 1 May; B (Kulob) on 25 April and
    has had the nursery and field preparation reminders (its next one, the nursery water, is due
    on 1 May at 08:00)."""
    a = grower(session, "+992901110001", "kulob", "Aziza")
    b = grower(session, "+992901110002", "kulob", "Bakhtiyor")
    c = grower(session, "+992901110003", "balkhi", "Chehra", language="tg")
    record_planting(session, b, "rice", "S", dt.date(2027, 4, 25), now=local(2027, 4, 25, 7, 0), zone=TZ)
    session.commit()
    assert queue_due(session, local(2027, 4, 25, 8, 0), zone=TZ).sent == 1
    assert queue_due(session, local(2027, 4, 30, 8, 0), zone=TZ).sent == 1
    for f in (a, c):
        record_planting(session, f, "rice", "S", dt.date(2027, 5, 1), now=NOW, zone=TZ)
    session.commit()
    cycles = {f.name[0]: session.scalar(select(CropCycle.id).where(CropCycle.farmer_id == f.id)) for f in (a, b, c)}
    return cycles


def rice(session):
    c = campaigns.by_code(session, "rice_sri")
    return c, {e.code: e for e in campaigns.events_of(session, c.id)}


def sent(session, cycle_id: int, event_id: int) -> int:
    """How many SMS the outbox holds for this reminder."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(OutboundMessage)
                          .where(OutboundMessage.dedupe_key == dedupe_key(cycle_id, event_id)))


def run_ticks(session, until: dt.datetime, start: dt.datetime = NOW) -> None:
    """The scheduler every hour from ``start`` to ``until``."""
    at = start
    while at <= until:
        queue_due(session, at, zone=TZ)
        at += dt.timedelta(hours=1)


def admin_actor(session) -> Actor:
    return Actor.of(make_account(session, "admin", username="boss"), "web")


# --- reach -------------------------------------------------------------------------------------

def test_reach_counts_the_cycles_for_which_each_event_is_still_ahead(session, world):
    campaign, ev = rice(session)
    everything = calendars.reach(session, campaign, Scope("admin", everything=True), NOW, TZ)
    assert everything[ev["nursery"].id] == calendars.Reach(2, 2, 2, dt.date(2027, 5, 1), dt.date(2027, 5, 1))
    assert everything[ev["field_prep"].id] == calendars.Reach(2, 2, 0, dt.date(2027, 5, 6), dt.date(2027, 5, 6))
    # B's nursery water is its pending reminder (1 May); A's and C's fall on 7 May
    assert everything[ev["nursery_water"].id] == calendars.Reach(3, 3, 1, dt.date(2027, 5, 1), dt.date(2027, 5, 7))
    # T = S + 10: B transplants on 5 May, A and C on 11 May
    assert everything[ev["transplant"].id] == calendars.Reach(3, 3, 0, dt.date(2027, 5, 5), dt.date(2027, 5, 11))
    kulob = Scope("extension_officer", district_ids=frozenset({"kulob"}),
                  village_ids=frozenset(session.scalars(select(Village.id).where(Village.district_id == "kulob"))))
    in_kulob = calendars.reach(session, campaign, kulob, NOW, TZ)
    assert in_kulob[ev["nursery"].id].farmers == 1 and in_kulob[ev["nursery_water"].id].farmers == 2
    # a stopped cycle (nothing pending) is reached by nothing
    session.execute(Reminder.__table__.delete().where(Reminder.status == "pending"))
    session.commit()
    assert all(r.farmers == 0 and r.first is None for r in
               calendars.reach(session, campaign, Scope("admin", everything=True), NOW, TZ).values())


# --- the budget check ----------------------------------------------------------------------------

@pytest.mark.parametrize("lang, text, encoding, left, problem", [
    ("en", "x" * 160, "GSM-7", 0, None),
    ("en", "x" * 161, "GSM-7", -1, "campaigns.err.long"),
    ("en", "Rice: weed {now} ~ 2 times", "GSM-7", 160 - 29, None),  # 26 characters; ~ { } cost 2 septets each
    ("ru", "ж" * 70, "UCS-2", 0, None),
    ("ru", "ж" * 71, "UCS-2", -1, "campaigns.err.long"),
    ("uz", "Sholi: o\u02bbtlang", "GSM-7", 160 - 14, None),  # the okina is sent as '
    ("en", "Rice: weed now ё", "UCS-2", 70 - 16, "campaigns.err.not_gsm"),
    ("tg", "   ", "GSM-7", 160, "campaigns.err.empty"),
])
def test_check_text(lang, text, encoding, left, problem):
    check = calendars.check_text(lang, text)
    assert (check.encoding, check.left, check.problem) == (encoding, left, problem)
    assert check.ok == (problem is None)
    if problem == "campaigns.err.not_gsm":
        assert check.params == {"chars": "ё"}
    if problem == "campaigns.err.long":
        assert check.params == {"over": 1} and check.segments == 2


@pytest.mark.parametrize("typed, value", [("12", 12), ("-2", -2), ("+5", 5), (" 0 ", 0), ("365", 365)])
def test_parse_offset(typed, value):
    assert calendars.parse_offset(typed) == value


@pytest.mark.parametrize("typed", ["", "abc", "1.5", "366", "-61", "9" * 40])
def test_parse_offset_refuses(typed):
    with pytest.raises(Refusal) as err:
        calendars.parse_offset(typed)
    assert err.value.key == "campaigns.err.offset"


# --- editing and the dedupe guarantee ------------------------------------------------------------

def texts_of(event) -> dict[str, str]:
    return {lang: event.render(lang) for lang in calendars.TEXT_LANGUAGES}


def test_an_event_already_sent_and_moved_later_is_not_sent_again(session, world):
    campaign, ev = rice(session)
    nursery = ev["nursery"]
    assert sent(session, world["B"], nursery.id) == 1
    new = {**texts_of(nursery), "ru": "Рис: питомник держите влажным."}
    done = calendars.edit(session, campaign, nursery, offset_days=10, texts=new, actor=admin_actor(session),
                          now=NOW, zone=TZ)
    session.commit()
    assert done.changed and done.replanned == 3
    # B's nursery (sent 25 April) would now fall on 5 May; A's and C's on 11 May
    run_ticks(session, local(2027, 5, 20, 9, 0))
    assert sent(session, world["B"], nursery.id) == 1
    assert sent(session, world["A"], nursery.id) == 1 and sent(session, world["C"], nursery.id) == 1
    session.expire_all()
    a_text = session.scalar(select(OutboundMessage.text)
                            .where(OutboundMessage.dedupe_key == dedupe_key(world["A"], nursery.id)))
    assert a_text == "Рис: питомник держите влажным."
    assert session.scalar(select(func.count()).select_from(Reminder).where(Reminder.event_id == nursery.id)) == 3


def test_a_pending_event_moved_into_the_past_is_not_sent_as_a_backlog(session, world):
    campaign, ev = rice(session)
    water = ev["nursery_water"]
    # B's pending reminder is the nursery water at 08:00 today; moved to S+3 it fell on 28 April for B
    calendars.edit(session, campaign, water, offset_days=3, texts=texts_of(water), actor=admin_actor(session),
                   now=NOW, zone=TZ)
    session.commit()
    session.expire_all()
    pending = session.scalar(select(Reminder).where(Reminder.cycle_id == world["B"], Reminder.status == "pending"))
    assert pending.event_id == ev["drain_nursery"].id and pending.due_at == local(2027, 5, 3, 8, 0)
    run_ticks(session, local(2027, 5, 12, 9, 0))
    assert sent(session, world["B"], water.id) == 0
    assert sent(session, world["B"], ev["drain_nursery"].id) == 1 and sent(session, world["B"], ev["transplant"].id) == 1
    # A and C get it once, on its new day (4 May)
    assert sent(session, world["A"], water.id) == 1 and sent(session, world["C"], water.id) == 1
    session.expire_all()
    a_water = session.scalar(select(Reminder).where(Reminder.cycle_id == world["A"], Reminder.event_id == water.id))
    assert a_water.due_at == local(2027, 5, 4, 8, 0) and a_water.status == "sent"


def test_editing_twice_and_back_never_sends_twice(session, world):
    campaign, ev = rice(session)
    prep = ev["field_prep"]
    actor = admin_actor(session)
    run_ticks(session, local(2027, 5, 6, 9, 0))  # A and C get the field preparation on 6 May
    assert sent(session, world["A"], prep.id) == 1
    for offset in (8, 5, 9):
        calendars.edit(session, campaign, prep, offset_days=offset, texts=texts_of(prep), actor=actor,
                       now=local(2027, 5, 6, 10, 0), zone=TZ)
        session.commit()
        run_ticks(session, local(2027, 5, 11, 9, 0), start=local(2027, 5, 6, 10, 0))
    assert [sent(session, world[k], prep.id) for k in "ABC"] == [1, 1, 1]


def test_an_unchanged_form_changes_nothing_and_writes_no_audit(session, world):
    campaign, ev = rice(session)
    event = ev["weed1"]
    done = calendars.edit(session, campaign, event, offset_days=event.offset_days, texts=texts_of(event),
                          actor=admin_actor(session), now=NOW, zone=TZ)
    assert done == calendars.Edited(False, 0)
    assert event.text_key == "campaigns.rice_sri.weed1"  # the key (and its catch-up wording) is kept
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.event.edit")).all() == []


def test_a_refused_edit_changes_nothing(session, world):
    campaign, ev = rice(session)
    event = ev["weed1"]
    with pytest.raises(Refusal) as err:
        calendars.edit(session, campaign, event, offset_days=12, texts={**texts_of(event), "en": "x" * 161},
                       actor=admin_actor(session), now=NOW, zone=TZ)
    assert err.value.key == "campaigns.err.texts"
    with pytest.raises(Refusal):
        calendars.edit(session, campaign, event, offset_days=400, texts=texts_of(event),
                       actor=admin_actor(session), now=NOW, zone=TZ)
    session.rollback()
    session.expire_all()
    assert (event.offset_days, event.text_key) == (10, "campaigns.rice_sri.weed1")


# --- the pages -----------------------------------------------------------------------------------

def test_the_calendars_with_their_events_in_order_and_their_reach(client, session, world):
    make_account(session, "admin", username="boss")
    login(client, "boss")
    page = html(client.get(PAGE))
    assert [c for c in ("campaign-rice_sri", "campaign-tomato", "campaign-onion") if f'id="{c}"' in page] == [
        "campaign-rice_sri", "campaign-tomato", "campaign-onion"]
    rice_table = page[page.index('id="events-rice_sri"'):]
    rice_table = rice_table[:rice_table.index("</table>")]
    order = [code for code, *_ in campaigns.SEED["rice_sri"][3]]
    positions = [rice_table.index(f'data-event="{code}"') for code in order]
    assert positions == sorted(positions)
    row = rice_table[rice_table.index('data-event="nursery_water"'):]
    row = row[:row.index("</tr>")]
    assert "sowing +6 d" in row and "08:00" in row and "Rice: keep a thin film of water on the nursery." in row
    assert "<td data-farmers>3</td>" in row and "2027-05-01 to 2027-05-07" in row
    assert "counted now (2027-05-01, Asia/Dushanbe time)" in page
    assert "may change an event's day and texts" in page
    assert f'href="{PAGE}/rice_sri/nursery_water"' in page


def test_an_officer_counts_the_farmers_of_their_district_and_may_edit(client, session, world):
    make_account(session, "extension_officer", "kulob", username="ext", language="ru")
    login(client, "ext")
    page = html(client.get(PAGE))
    row = page[page.index('data-event="nursery_water"'):]
    row = row[:row.index("</tr>")]
    assert "<td data-farmers>2</td>" in row and "Рис: держите тонкий слой воды в питомнике." in row
    event = html(client.get(f"{PAGE}/rice_sri/nursery_water"))
    assert 'id="edit-event"' in event and 'name="text-uz"' in event
    assert "Ещё впереди для 2 фермеров вашей зоны (2 циклов, из них у 1 это следующее напоминание)" in event


@pytest.mark.parametrize("role, scope", [("cluster_coordinator", ("rice.balkhi",)), ("vam_agent", ())])
def test_other_roles_read_the_calendar_and_may_not_edit_it(client, session, world, role, scope):
    if role == "vam_agent":
        scope = (str(village_of(session, "kulob")),)
    make_account(session, role, *scope, username="reader")
    login(client, "reader")
    assert "an administrator or an extension officer edits it" in html(client.get(PAGE))
    page = html(client.get(f"{PAGE}/rice_sri/weed1"))
    assert 'id="edit-event"' not in page and "Rice: 1st weeding" in page
    token = csrf(client, PAGE)
    answer = client.post(f"{PAGE}/rice_sri/weed1", data={"csrf_token": token, "action": "save", "offset_days": "11",
                                                       "text-tg": "a", "text-ru": "b", "text-uz": "c", "text-en": "d"})
    assert answer.status_code == 404
    session.expire_all()
    assert rice(session)[1]["weed1"].offset_days == 10


def test_a_market_reporter_does_not_see_the_calendar(client, session):
    make_account(session, "market_reporter", "KULOB", username="rep")
    login(client, "rep")
    assert client.get(PAGE).status_code == 404
    assert client.get(f"{PAGE}/rice_sri/weed1").status_code == 404
    assert f'href="{PAGE}"' not in html(client.get("/staff"))


def test_unknown_campaign_or_event_is_not_found(client, session):
    make_account(session, "admin", username="boss")
    login(client, "boss")
    assert client.get(f"{PAGE}/nosuch/weed1").status_code == 404
    assert client.get(f"{PAGE}/rice_sri/nosuch").status_code == 404
    assert client.get(f"{PAGE}/{'x' * 500}/{'y' * 500}").status_code == 404


def form(event_page: str, **changes) -> dict:
    """The edit form's values as the page shows them, with ``changes``."""
    import re

    values = {"offset_days": re.search(r'name="offset_days"[^>]*value="([^"]*)"', event_page).group(1)}
    for lang in calendars.TEXT_LANGUAGES:
        values[f"text-{lang}"] = re.search(rf'name="text-{lang}"[^>]*>([^<]*)</textarea>', event_page).group(1)
    return {**values, **changes}


def test_check_measures_without_saving_then_save_replans_and_audits(client, session, world):
    make_account(session, "extension_officer", "kulob", username="ext")
    login(client, "ext")
    url = f"{PAGE}/rice_sri/nursery_water"
    page = html(client.get(url))
    assert 'id="measure-ru" class="muted" data-encoding="UCS-2"' in page
    assert 'id="measure-en" class="muted" data-encoding="GSM-7"' in page
    values = form(page, **{"offset_days": "7", "text-en": "Rice: keep a thin film of water on the nursery bed."})
    checked = client.post(url, data={**values, "action": "check", "csrf_token": csrf(client, url)})
    assert checked.status_code == 200
    body = html(checked)
    assert "Checked; nothing is saved yet." in body
    en = body[body.index('id="measure-en"'):]
    en = " ".join(en[:en.index("</p>")].split())
    assert "GSM-7: 51 of 160, 1 SMS, 109 characters left. Fits one SMS." in en
    assert 'value="7"' in body and "nursery bed.</textarea>" in body
    session.expire_all()
    assert rice(session)[1]["nursery_water"].offset_days == 6
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.event.edit")).all() == []

    saved = client.post(url, data={**values, "action": "save", "csrf_token": csrf(client, url)})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#event-rice_sri-nursery_water")
    session.expire_all()
    event = rice(session)[1]["nursery_water"]
    assert event.offset_days == 7 and event.text_key is None
    assert event.render("en") == "Rice: keep a thin film of water on the nursery bed."
    assert event.render("ru") == "Рис: держите тонкий слой воды в питомнике."
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.event.edit")).all()
    assert entry.channel == "web" and entry.actor.startswith("ext") and entry.object_id == str(event.id)
    assert entry.before["offset_days"] == 6 and entry.before["text_key"] == "campaigns.rice_sri.nursery_water"
    assert entry.after["offset_days"] == 7 and entry.after["texts"]["en"].endswith("nursery bed.")
    assert "3 crop cycles re-planned" in entry.note
    # B's pending nursery water moved from 1 May to 2 May
    b_pending = session.scalar(select(Reminder).where(Reminder.cycle_id == world["B"], Reminder.status == "pending"))
    assert (b_pending.event_id, b_pending.due_at) == (event.id, local(2027, 5, 2, 8, 0))
    assert "Saved: 3 crop cycles re-planned." in html(client.get(PAGE))


@pytest.mark.parametrize("changes, message, field_id", [
    ({"text-ru": "ж" * 71}, "Too long for one SMS: 1 characters over.", "measure-ru"),
    ({"text-en": "Rice: weed now ё"}, "Not in GSM-7 letters: ё.", "measure-en"),
    ({"text-tg": ""}, "The text is empty.", "measure-tg"),
    ({"offset_days": "abc"}, "The day must be a whole number from -60 to 365.", None),
    ({"offset_days": "400"}, "The day must be a whole number from -60 to 365.", None),
])
def test_a_refused_save_keeps_the_form_and_saves_nothing(client, session, world, changes, message, field_id):
    make_account(session, "admin", username="boss")
    login(client, "boss")
    url = f"{PAGE}/rice_sri/weed1"
    values = form(html(client.get(url)), **changes)
    answer = client.post(url, data={**values, "action": "save", "csrf_token": csrf(client, url)})
    assert answer.status_code == 400
    body = html(answer)
    assert message in body and 'role="alert"' in body
    if field_id:
        assert f'id="{field_id}" class="field-error"' in body
        assert 'aria-invalid="true"' in body
    for value in changes.values():
        assert value in body
    session.expire_all()
    event = rice(session)[1]["weed1"]
    assert (event.offset_days, event.text_key) == (10, "campaigns.rice_sri.weed1")
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.event.edit")).all() == []


def test_refusals_and_measures_in_the_page_language(client, session, world):
    make_account(session, "admin", username="boss-tg", language="tg")
    login(client, "boss-tg")
    url = f"{PAGE}/rice_sri/weed1"
    page = html(client.get(url))
    assert "Шолӣ:" in form(page)["text-tg"] and "Ба як SMS мегунҷад." in page
    answer = client.post(url, data={**form(page, **{"text-ru": "ж" * 71}), "action": "save",
                                    "csrf_token": csrf(client, url)})
    assert answer.status_code == 400
    body = html(answer)
    assert "Ҳеҷ чиз сабт нашуд: матнҳои қайдшударо ислоҳ кунед." in body
    assert "Барои як SMS дароз аст: 1 аломат зиёд." in body


def test_saving_nothing_new_says_so(client, session, world):
    make_account(session, "admin", username="boss")
    login(client, "boss")
    url = f"{PAGE}/rice_sri/weed1"
    answer = client.post(url, data={**form(html(client.get(url))), "action": "save", "csrf_token": csrf(client, url)})
    assert answer.status_code == 302
    assert "Nothing was changed." in html(client.get(url))
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.event.edit")).all() == []


def test_a_post_without_its_csrf_token_is_refused(client, session):
    make_account(session, "admin", username="boss")
    login(client, "boss")
    answer = client.post(f"{PAGE}/rice_sri/weed1", data={"action": "save", "offset_days": "12"})
    assert answer.status_code == 400
    session.expire_all()
    assert rice(session)[1]["weed1"].offset_days == 10
