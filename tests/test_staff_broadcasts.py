"""Broadcasts on the staff pages: the audience by stage and price subscription; compose, preview
(per language text, encoding, segments, recipients, cost, quiet hours), the draft awaiting
confirmation, confirmation now or at a Dushanbe time, cancel; the list with SMS ALERT and CLI
broadcasts; per-recipient results after simulated delivery reports, the chart, the CSV, resend to
the failed exactly once; the scope; refusals in the page language; size limits; the local
gateway's simulated reports."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html as html_lib
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from scheduler.tick import tick
from service import session_factory
from service.audit.log import Actor, AuditEntry
from service.db import utcnow
from service.broadcasts import broadcast, staff as bc
from service.broadcasts.broadcast import Audience, Broadcast
from service.errors import Refusal
from service.farmers.models import register
from service.groups import membership, producer_group
from service.messaging.dispatch import dispatch_once
from service.messaging.gateways.local import LocalGateway, simulated_reports
from service.messaging.message import OutboundMessage
from service.prices.alerts import PriceSubscription
from service.reference.geography import Village
from service.staff import scope as scope_mod
from staff_pages import csrf, login, make_account

PAGE = "/staff/broadcasts"
#: 10:00 in Dushanbe on a Tuesday
NOW = dt.datetime(2027, 4, 20, 5, 0, tzinfo=dt.timezone.utc)
TG = "Ҷаласаи занон фардо соати 10"
RU = "Собрание женщин завтра в 10"


def html(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _village(session, district, index=0):
    return session.scalars(select(Village).where(Village.district_id == district).order_by(Village.id)).all()[index]


def world(session) -> dict:
    """KUL01 (tomato Kulob, norming): women Zarina (tg), Olga (ru), Madina (tg, price digest), a
    man Rustam (tg); KUL02 (tomato Kulob, forming): a woman Dilnoza (uz); VOS01 (onion Vose'): a
    woman Nigora (tg). Every member active (no EC yet)."""
    kulob, kulob2, vose = _village(session, "kulob"), _village(session, "kulob", 1), _village(session, "vose")
    on = dt.date(2026, 3, 1)
    kul01 = producer_group.create(session, code="KUL01", name="Dahana tomato", village_id=kulob.id,
                                  cluster_id="tomato.kulob", on=on)
    kul02 = producer_group.create(session, code="KUL02", name="Zarbdor tomato", village_id=kulob2.id,
                                  cluster_id="tomato.kulob", on=on)
    vos01 = producer_group.create(session, code="VOS01", name="Guliston onion", village_id=vose.id,
                                  cluster_id="onion.vose", on=on)
    producer_group.set_stage(session, kul01, "storming", dt.date(2026, 6, 1))
    producer_group.set_stage(session, kul01, "norming", dt.date(2026, 9, 1))
    people = {}
    for n, (key, name, gender, village, lang, pg) in enumerate((
            ("zarina", "Зарина Каримова", "female", kulob, "tg", kul01),
            ("olga", "Ольга Петрова", "female", kulob, "ru", kul01),
            ("madina", "Мадина Юсупова", "female", kulob, "tg", kul01),
            ("rustam", "Рустам Назаров", "male", kulob, "tg", kul01),
            ("dilnoza", "Dilnoza Aliyeva", "female", kulob2, "uz", kul02),
            ("nigora", "Нигора Саидова", "female", vose, "tg", vos01)), start=1):
        f = register(session, phone=f"+99290770{n:04d}", name=name, gender=gender, village_id=village.id,
                     crop_ids=["tomato" if pg is not vos01 else "onion"], land_m2=5000, language=lang, via="ussd")
        membership.join(session, f, pg)
        people[key] = f
    session.add(PriceSubscription(farmer_id=people["madina"].id))
    session.commit()
    return {"kul01": kul01, "kul02": kul02, "vos01": vos01, **people}


@pytest.fixture
def data(session):
    return world(session)


@pytest.fixture
def officer(client, session, data):
    make_account(session, "extension_officer", "kulob", username="ext-kulob")
    login(client, "ext-kulob")


def phones(session, audience: Audience) -> set[str]:
    return {p for _, p, _ in broadcast.recipients(session, audience)}


def tomorrow() -> dt.date:
    """Tomorrow in Dushanbe: a scheduled time must lie ahead of the pages' clock."""
    return (utcnow() + dt.timedelta(hours=5)).date() + dt.timedelta(days=1)


def compose_form(**extra) -> dict:
    form = {"text_tg": TG, "text_ru": RU, "kind": "broadcast", "cluster": "tomato.kulob", "gender": "female",
            "when": "at", "date": tomorrow().isoformat(), "time": "15:30"}
    form.update(extra)
    return form


def post(client, path, form):
    return client.post(path, data={**form, "csrf_token": csrf(client, f"{PAGE}/new")})


def draft_of(session) -> Broadcast:
    session.expire_all()
    return session.scalars(select(Broadcast).order_by(Broadcast.id.desc())).first()


def audits(session, action):
    session.expire_all()
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


# --- the service ------------------------------------------------------------------------------

def test_the_audience_by_stage_and_by_price_subscription(session, data):
    assert phones(session, Audience(stages=("norming",))) == {data[k].phone for k in ("zarina", "olga", "madina", "rustam")}
    assert phones(session, Audience(stages=("forming",))) == {data["dilnoza"].phone, data["nigora"].phone}
    assert phones(session, Audience(stages=("storming",))) == set()  # KUL01's stage before the latest
    assert phones(session, Audience(price_subscribers=True)) == {data["madina"].phone}
    assert phones(session, Audience(price_subscribers=True, stages=("forming",))) == set()
    a = Audience(stages=("norming",), price_subscribers=True)
    assert Audience.from_dict(a.as_dict()) == a and a.as_dict() == {"stages": ["norming"], "price_subscribers": True}
    assert "price_subscribers=yes" in a.describe()
    with pytest.raises(broadcast.AudienceError):
        Audience(stages=("flying",)).check(session)
    assert Audience(pgs=("kul-01",), stages=("norming",)).check(session).pgs == ("KUL01",)


def test_the_scope_of_an_audience(session, data):
    officer = make_account(session, "extension_officer", "kulob", username="ext-k")
    s = scope_mod.of(session, officer)
    assert bc.audience_in_scope(session, s, Audience(districts=("kulob",)))
    assert bc.audience_in_scope(session, s, Audience(clusters=("tomato.kulob",), genders=("female",)))
    assert bc.audience_in_scope(session, s, Audience(pgs=("KUL01", "KUL02")))
    assert not bc.audience_in_scope(session, s, Audience(pgs=("KUL01", "VOS01")))
    assert not bc.audience_in_scope(session, s, Audience(districts=("vose",)))
    assert not bc.audience_in_scope(session, s, Audience(genders=("female",)))  # no area: everybody
    assert not bc.audience_in_scope(session, s, Audience(pgs=("NOSUCH",)))
    actor = Actor.of(officer, "web")
    with pytest.raises(Refusal) as refused:
        bc.compose(session, s, Audience(genders=("female",)), {"tg": TG}, actor=actor, created_by="web:1", now=NOW)
    assert refused.value.key == "bcast.err.area_needed"
    with pytest.raises(Refusal) as refused:
        bc.compose(session, s, Audience(clusters=("onion.vose",)), {"tg": TG}, actor=actor, created_by="web:1", now=NOW)
    assert refused.value.key == "staff.err.out_of_scope"
    assert session.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_texts_versions_and_the_preview_per_language(session, data):
    texts = bc.clean_texts({"tg": f"  {TG}  ", "ru": RU, "en": "", "uz": None})
    assert texts == {"tg": TG, "ru": RU}
    assert bc.sources(texts) == {"tg": "tg", "ru": "ru", "uz": "tg", "en": "tg"}
    assert bc.sources({"ru": RU}) == {"tg": "ru", "ru": "ru", "uz": "ru", "en": "ru"}  # typed in one language
    p = bc.preview(session, Audience(clusters=("tomato.kulob",), genders=("female",)), texts, 0.10)
    lines = {line.lang: line for line in p.lines}
    assert set(lines) == {"tg", "ru", "uz"} and p.recipients == 4
    assert (lines["tg"].recipients, lines["ru"].recipients, lines["uz"].recipients) == (2, 1, 1)
    assert lines["uz"].source == "tg" and lines["uz"].text == TG and lines["ru"].text == RU
    assert lines["tg"].encoding == "UCS-2" and lines["tg"].segments == 1
    assert p.segments == 4 and p.cost_tjs == Decimal("0.40") and lines["tg"].cost_tjs == Decimal("0.20")
    latin = bc.preview(session, Audience(pgs=("KUL02",)), {"uz": "Ertaga soat 10 da yig'ilish"}, 0.10)
    assert latin.lines[0].encoding == "GSM-7"
    with pytest.raises(Refusal):
        bc.clean_texts({"tg": " "})
    with pytest.raises(Refusal) as refused:
        bc.clean_texts({"tg": "a" * (bc.MAX_TEXT + 1)})
    assert refused.value.key == "bcast.err.too_long"


def test_quiet_hours_hold_a_broadcast_not_an_alert():
    zone = dt.timezone(dt.timedelta(hours=5))
    start, end = dt.time(21), dt.time(7)
    late = dt.datetime(2027, 4, 20, 17, 30, tzinfo=dt.timezone.utc)  # 22:30 Dushanbe
    assert bc.quiet_at(late, "broadcast", start, end, zone) and not bc.quiet_at(late, "alert", start, end, zone)
    assert not bc.quiet_at(NOW, "broadcast", start, end, zone)
    assert bc.in_quiet_hours(late, start, end, zone)
    assert not bc.quiet_at(late, "broadcast", start, start, zone)  # no quiet hours


def test_a_draft_awaits_confirmation_then_is_sent_once(session, data):
    officer = make_account(session, "extension_officer", "kulob", username="ext-k")
    other = make_account(session, "extension_officer", "vose", username="ext-v")
    s, actor = scope_mod.of(session, officer), Actor.of(officer, "web")
    row = bc.compose(session, s, Audience(clusters=("tomato.kulob",)), {"tg": TG}, actor=actor,
                     created_by=f"web:{officer.id}", now=NOW)
    session.commit()
    assert row.status == "draft" and bc.sends_now(row)
    assert bc.awaiting_confirmation(session, s) == [row]
    assert bc.awaiting_confirmation(session, scope_mod.of(session, other)) == []
    assert broadcast.queue_due(session, NOW + dt.timedelta(hours=1), dt.timedelta(hours=6)).queued == 0  # a draft waits
    at = NOW + dt.timedelta(hours=2)
    assert bc.confirm(session, s, row, send_at=at, actor=actor, now=NOW, price_tjs=0.1)
    assert not bc.confirm(session, s, row, send_at=at, actor=actor, now=NOW, price_tjs=0.1)  # twice: nothing
    session.commit()
    assert (row.status, row.send_at) == ("scheduled", at) and bc.awaiting_confirmation(session, s) == []
    [entry] = audits(session, "broadcast.send")
    assert entry.after["recipients"] == 5 and entry.channel == "web"
    with pytest.raises(Refusal):
        bc.check_send_at(NOW - dt.timedelta(hours=1), NOW)
    with pytest.raises(Refusal):
        bc.check_send_at(NOW + dt.timedelta(days=61), NOW)


# --- the pages --------------------------------------------------------------------------------

def test_an_officer_composes_previews_confirms_and_reads_the_results(app, client, session, data, officer):
    """The Done-when on the test client: a scheduled broadcast to one cluster's women in Tajik with
    a Russian version; the tick queues it, the local gateway accepts it, the delivery reports come
    through the webhook; the officer reads the results, the chart, the CSV; resends to the failed."""
    page = html(client.get(f"{PAGE}/new"))
    assert 'name="text_tg"' in page and 'value="tomato.kulob"' in page and 'value="onion.vose"' not in page
    answer = post(client, f"{PAGE}/new", compose_form())
    page = html(answer)
    assert answer.status_code == 200, page
    row = draft_of(session)
    assert row.status == "draft" and row.texts == {"tg": TG, "ru": RU}
    assert row.audience == {"clusters": ["tomato.kulob"], "genders": ["female"]}
    assert row.send_at == dt.datetime.combine(tomorrow(), dt.time(10, 30), tzinfo=dt.timezone.utc)  # 15:30 Dushanbe
    assert "Awaiting confirmation" in page and "4 recipients, 4 SMS segments, about 0.40 TJS." in page
    assert TG in page and RU in page and "UCS-2" in page and 'data-lang="uz"' in page and "gets the Тоҷикӣ text" in page
    assert "No quiet hours are set." in page and 'id="confirm-form"' in page
    [entry] = audits(session, "broadcast.draft")
    assert entry.object_id == str(row.id) and entry.after["status"] == "draft"
    listing = html(client.get(PAGE))
    assert "1 broadcast(s) awaiting confirmation." in listing and f'data-id="{row.id}" data-status="draft"' in listing
    assert [b.id for b in bc.awaiting_confirmation(session, scope_mod.Scope("admin", everything=True))] == [row.id]

    confirm = client.post(f"{PAGE}/{row.id}/confirm", data={"when": "at", "date": tomorrow().isoformat(), "time": "15:30",
                                                          "csrf_token": csrf(client, f"{PAGE}/{row.id}")})
    assert confirm.status_code == 302
    session.expire_all()
    assert row.status == "scheduled"

    # the scheduler tick at 15:30 Dushanbe queues it; the dispatcher sends it through the local
    # gateway, which leaves every message sent (accepted) for its delivery report
    factory = session_factory(app)
    settings = app.extensions["dehqon.settings"]
    assert tick(factory, settings, now=row.send_at - dt.timedelta(minutes=1)).broadcasts == 0
    assert tick(factory, settings, now=row.send_at).broadcasts == 1
    sent_at = row.send_at + dt.timedelta(seconds=5)
    assert dispatch_once(factory, LocalGateway(reports=True), settings, now=sent_at).sent == 4
    session.expire_all()
    page = html(client.get(f"{PAGE}/{row.id}"))
    assert page.count('<tr data-result="sent">') == 4 and "Delivery rate: 0% of the recipients." in page

    reports = simulated_reports(session, fail_every=4)
    assert [r.status for r in reports] == ["Success", "Success", "Success", "Failed"]
    for r in reports:
        assert client.post("/sms/delivery", data=r.form()).status_code == 200
    session.expire_all()
    page = html(client.get(f"{PAGE}/{row.id}"))
    assert "Delivery rate: 75% of the recipients." in page
    assert page.count('<tr data-result="delivered">') == 3 and page.count('<tr data-result="failed">') == 1
    assert "Failed: AbsentSubscriber" in page
    assert "Зарина Каримова" in page and "Ольга Петрова" in page and "+992•••••0001" in page
    assert "+992907700001" not in page
    failed_phone = next(r.phoneNumber for r in reports if r.status == "Failed")

    svg = client.get(f"{PAGE}/{row.id}/rate.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert "75% delivered and 25% failed" in svg.get_data(as_text=True)
    assert "75% delivered and 25% failed" in page  # the text alternative on the page

    body = client.get(f"{PAGE}/{row.id}/results.csv")
    assert body.status_code == 200 and body.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(body.get_data().decode("utf-8-sig"))))
    assert table[0][0] == "Phone" and len(table) == 5
    assert sorted(r[4] for r in table[1:]) == ["Delivered", "Delivered", "Delivered", "Failed"]
    assert all("•" in r[0] for r in table[1:])

    # resend to the failed: twice the same form (a double submit) writes one new row
    token = csrf(client, f"{PAGE}/{row.id}")
    assert 'name="round" value="1"' in html(client.get(f"{PAGE}/{row.id}"))
    for _ in range(2):
        assert client.post(f"{PAGE}/{row.id}/resend", data={"round": "1", "csrf_token": token}).status_code == 302
    session.expire_all()
    rows = session.scalars(select(OutboundMessage).where(OutboundMessage.dedupe_key.like(f"bc:{row.id}:%"))).all()
    assert len(rows) == 5
    [again] = [r for r in rows if r.dedupe_key.endswith(":r1")]
    assert again.phone == failed_phone and again.status == "queued" and again.text in (TG, RU)
    [entry] = audits(session, "broadcast.resend")
    assert entry.after == {"round": 1, "rows": 1}
    page = html(client.get(f"{PAGE}/{row.id}"))
    assert 'data-result="queued"' in page and "Delivery rate: 75%" in page and 'id="resend-form"' not in page


def test_send_now_and_cancel_a_scheduled_one(client, session, data, officer):
    assert post(client, f"{PAGE}/new", compose_form(when="now", kind="alert")).status_code == 200
    row = draft_of(session)
    assert row.kind == "alert" and bc.sends_now(row)
    answer = client.post(f"{PAGE}/{row.id}/confirm", data={"when": "now", "csrf_token": csrf(client, f"{PAGE}/{row.id}")})
    assert answer.status_code == 302
    session.expire_all()
    assert row.status == "scheduled"
    cancel = client.post(f"{PAGE}/{row.id}/cancel", data={"csrf_token": csrf(client, f"{PAGE}/{row.id}")})
    assert cancel.status_code == 302
    session.expire_all()
    assert row.status == "cancelled" and "The broadcast is cancelled." in html(client.get(f"{PAGE}/{row.id}"))
    # confirming a cancelled one changes nothing
    client.post(f"{PAGE}/{row.id}/confirm", data={"when": "now", "csrf_token": csrf(client, f"{PAGE}/{row.id}")})
    session.expire_all()
    assert row.status == "cancelled"
    assert [e.after["status"] for e in audits(session, "broadcast.cancel")] == ["cancelled"]


def test_a_draft_is_changed_in_place(client, session, data, officer):
    post(client, f"{PAGE}/new", compose_form())
    row = draft_of(session)
    page = html(client.get(f"{PAGE}/new?draft={row.id}"))
    assert TG in page and f'name="draft" value="{row.id}"' in page
    post(client, f"{PAGE}/new", compose_form(draft=str(row.id), text_ru="", gender=""))
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Broadcast)) == 1
    assert row.texts == {"tg": TG} and row.audience == {"clusters": ["tomato.kulob"]}


def test_the_quiet_hours_on_the_preview(app, client, session, data, officer):
    app.extensions["dehqon.settings"] = dataclasses.replace(app.extensions["dehqon.settings"],
                                                            quiet_start=dt.time(21), quiet_end=dt.time(7))
    page = html(post(client, f"{PAGE}/new", compose_form(time="22:30")))
    assert "Quiet hours: 21:00–07:00 Dushanbe time." in page
    assert "The time chosen falls in the quiet hours: the broadcast waits and goes at 07:00." in page
    page = html(post(client, f"{PAGE}/new", compose_form(time="22:30", kind="alert")))
    assert "an alert goes at once" in page


def test_alert_and_cli_broadcasts_are_listed(app, client, session, data, officer, runner):
    from conftest import add_staff

    add_staff(session, "+992900000301", "extension_officer", ["kulob"], username="sms-ext")
    row = broadcast.create(session, Audience(districts=("kulob",)), {"tg": "Жола"}, kind="alert",
                           created_by="+992900000301", now=NOW)
    cli = broadcast.create(session, Audience(pgs=("KUL01",)), {"tg": "Семинар"}, now=NOW)
    vose = broadcast.create(session, Audience(districts=("vose",)), {"tg": "Vose only"}, now=NOW)
    session.commit()
    page = html(client.get(PAGE))
    assert f'data-id="{row.id}"' in page and f'data-id="{cli.id}"' in page and f'data-id="{vose.id}"' not in page
    assert "sms-ext" in page and "cli" in page and "Vose only" not in page


# --- scope, refusals, limits ------------------------------------------------------------------

def test_another_district_sees_nothing(client, session, data):
    row = broadcast.create(session, Audience(clusters=("tomato.kulob",)), {"tg": TG}, now=NOW)
    session.commit()
    make_account(session, "extension_officer", "vose", username="ext-vose", language="ru")
    login(client, "ext-vose")
    for path in (f"{PAGE}/{row.id}", f"{PAGE}/{row.id}/rate.svg", f"{PAGE}/{row.id}/results.csv", f"{PAGE}/99999",
                 f"{PAGE}/new?draft={row.id}"):
        assert client.get(path).status_code == 404, path
    token = csrf(client, f"{PAGE}/new")
    for path in ("confirm", "cancel", "resend"):
        assert client.post(f"{PAGE}/{row.id}/{path}", data={"round": "1", "csrf_token": token}).status_code == 404
    assert f'data-id="{row.id}"' not in html(client.get(PAGE))
    answer = post(client, f"{PAGE}/new", compose_form())  # Kulob's cluster from a Vose' officer
    assert answer.status_code == 400 and "Это вне вашей зоны." in html(answer)
    session.expire_all()
    assert row.status == "scheduled" and session.scalar(select(func.count()).select_from(Broadcast)) == 1


def test_roles(app, client, session, data):
    """A market reporter has no broadcasts; a PG leader reads those to their PG, composes none."""
    mine = broadcast.create(session, Audience(pgs=("KUL01",)), {"tg": TG}, now=NOW)
    district = broadcast.create(session, Audience(districts=("kulob",)), {"tg": "Kulob"}, now=NOW)
    session.commit()
    make_account(session, "market_reporter", "KULOB", username="rep")
    login(client, "rep")
    assert client.get(PAGE).status_code == 404 and client.get(f"{PAGE}/new").status_code == 404
    leader = app.test_client()
    make_account(session, "pg_leader", "KUL01", username="leader")
    login(leader, "leader")
    page = html(leader.get(PAGE))
    assert f'data-id="{mine.id}"' in page and f'data-id="{district.id}"' not in page and "New broadcast" not in page
    assert leader.get(f"{PAGE}/{mine.id}").status_code == 200 and leader.get(f"{PAGE}/new").status_code == 404
    assert leader.post(f"{PAGE}/{mine.id}/cancel", data={"csrf_token": csrf(leader, PAGE)}).status_code == 404


@pytest.mark.parametrize("form, words", [
    ({"text_tg": "", "text_ru": ""}, "Матнро ақаллан бо як забон нависед."),
    ({"text_tg": "ж" * (bc.MAX_TEXT + 1)}, "Матни tg дароз аст"),
    ({"cluster": "", "gender": "female"}, "Ақаллан як ноҳия, кластер ё ГИ-и минтақаи худро интихоб кунед."),
    ({"date": "2027-13-40"}, "Сана (СССС-ММ-РР)"),
    ({"date": "2020-01-01"}, "Вақт гузаштааст"),
    ({"pgs": "KUL01," * 80}, "Рамзҳои ГИ хеле зиёданд"),
    ({"cluster": "rice.nowhere"}, "Чизе нигоҳ дошта нашуд: қимати шакл номаълум аст (rice.nowhere)."),
], ids=["no-text", "too-long", "no-area", "bad-date", "past", "many-pgs", "unknown-cluster"])
def test_bad_input_is_answered_in_the_page_language(client, session, data, form, words):
    make_account(session, "extension_officer", "kulob", username="ext-tg", language="tg")
    login(client, "ext-tg")
    answer = post(client, f"{PAGE}/new", compose_form(**form))
    assert answer.status_code == 400
    assert words in html(answer)
    assert session.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_size_limits(client, session, data, officer):
    many = {"csrf_token": csrf(client, f"{PAGE}/new"), **compose_form()}
    answer = client.post(f"{PAGE}/new", data={**many, "crop": [f"c{i}" for i in range(bc.MAX_VALUES + 1)]})
    assert answer.status_code == 400
    answer = client.post(f"{PAGE}/new", data={**many, "district": "x" * 65})
    assert answer.status_code == 400
    answer = client.post(f"{PAGE}/new", data={**many, "kind": "spam"})
    assert answer.status_code == 400
    post(client, f"{PAGE}/new", compose_form())
    row = draft_of(session)
    token = csrf(client, f"{PAGE}/{row.id}")
    assert client.post(f"{PAGE}/{row.id}/resend", data={"round": "x" * 10, "csrf_token": token}).status_code == 400
    assert session.scalar(select(func.count()).select_from(Broadcast)) == 1


# --- the local gateway's simulated delivery ----------------------------------------------------

def test_the_local_gateway_delivers_at_once_by_default_and_reports_later_when_asked(app, session, data):
    from service.messaging import gateways

    assert gateways.for_settings({"SMS_GATEWAY": "local"}).send("x", ["+992900000001"])[0].outcome == "delivered"
    later = gateways.for_settings({"SMS_GATEWAY": "local", "LOCAL_DELIVERY": "reports"})
    [result] = later.send("x", ["+992900000001"])
    assert result.outcome == "accepted" and result.message_id.startswith("local-")


def test_simulate_reports_command(app, session, data, runner):
    from service.settings import ConfigError, check_startup

    with pytest.raises(ConfigError, match="LOCAL_DELIVERY"):
        check_startup({"SMS_GATEWAY": "local", "LOCAL_DELIVERY": "later"})
    assert runner.invoke(args=["outbox", "simulate-reports"]).output.strip() == "0 delivered, 0 failed"
    app.config["SMS_GATEWAY"] = "africastalking"
    assert "local gateway" in runner.invoke(args=["outbox", "simulate-reports"]).output
    app.config["SMS_GATEWAY"] = "local"
    row = broadcast.create(session, Audience(clusters=("tomato.kulob",)), {"tg": TG}, now=NOW)
    session.commit()
    factory = session_factory(app)
    broadcast.queue(session, row, NOW)
    dispatch_once(factory, LocalGateway(reports=True), app.extensions["dehqon.settings"], now=NOW)
    result = runner.invoke(args=["outbox", "simulate-reports", "--fail-every", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "4 delivered, 1 failed"
    session.expire_all()
    states = sorted(session.scalars(select(OutboundMessage.status).where(OutboundMessage.dedupe_key.like(f"bc:{row.id}:%"))))
    assert states == ["delivered"] * 4 + ["failed"]
    assert runner.invoke(args=["outbox", "simulate-reports"]).output.strip() == "0 delivered, 0 failed"
