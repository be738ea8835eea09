"""Broadcasts: audiences, one message per phone in its language, preview and cost, scheduling,
field alerts (ALERT) and the CLI."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import templates_sms
from scheduler.tick import tick
from service import session_factory
from service.broadcasts import broadcast
from service.groups import membership
from service.messaging import optout
from service.broadcasts.broadcast import Audience, alert_from_field
from service.errors import Refusal
from service.farmers.models import register
from service.reference.geography import Village
from service.messaging.message import OutboundMessage
from service.groups.producer_group import ProducerGroup
from service.staff.scope import Scope
from conftest import STAFF_PHONE

NOW = dt.datetime(2027, 4, 20, 6, 0, tzinfo=dt.timezone.utc)  # 11:00 in Dushanbe


@pytest.fixture
def region(session):
    """Six farmers in Balkhi and Kulob; two PGs; one shared phone; one opted-out phone."""
    def village(district):
        return session.scalar(select(Village.id).where(Village.district_id == district).order_by(Village.id))

    balkhi, kulob = village("balkhi"), village("kulob")
    rice_pg = ProducerGroup(code="BAL01", name="Balkh rice", village_id=balkhi, cluster_id="rice.balkhi")
    tomato_pg = ProducerGroup(code="KUL01", name="Kulob tomato", village_id=kulob, cluster_id="tomato.kulob")
    session.add_all([rice_pg, tomato_pg])
    session.flush()

    def farmer(phone, name, gender, village_id, crops, language):
        return register(session, phone=phone, name=name, gender=gender, village_id=village_id, crop_ids=crops,
                        land_m2=None, language=language)

    people = {
        "aziza": farmer("+992901000001", "Aziza", "female", balkhi, ["rice"], "tg"),
        "boris": farmer("+992901000002", "Boris", "male", balkhi, ["rice", "onion"], "ru"),
        "boris_wife": farmer("+992901000002", "Gulnora", "female", balkhi, ["rice"], "uz"),  # shares a phone
        "davron": farmer("+992901000003", "Davron", "male", kulob, ["tomato"], "uz"),
        "emma": farmer("+992901000004", "Emma", "female", kulob, ["tomato"], "en"),
        "farrukh": farmer("+992901000005", "Farrukh", "male", kulob, ["tomato"], "tg"),
    }
    membership.join(session, people["aziza"], rice_pg)
    membership.assign_ec_seat(session, people["aziza"], rice_pg, "chair")
    membership.join(session, people["boris"], rice_pg)
    membership.approve(session, people["aziza"], people["boris"].code)
    membership.join(session, people["davron"], tomato_pg)
    optout.opt_out(session, "+992901000005", "keyword")
    session.commit()
    return people


def phones(session, audience):
    return sorted(p for _, p, _ in broadcast.recipients(session, audience))


@pytest.mark.parametrize("label, audience, expected", [
    ("everybody reachable, one per phone", Audience(), ["+992901000001", "+992901000002", "+992901000003",
                                                         "+992901000004"]),
    ("district", Audience(districts=("kulob",)), ["+992901000003", "+992901000004"]),
    ("crop", Audience(crops=("onion",)), ["+992901000002"]),
    ("gender", Audience(genders=("female",)), ["+992901000001", "+992901000002", "+992901000004"]),
    ("language", Audience(languages=("uz",)), ["+992901000002", "+992901000003"]),
    ("PG", Audience(pgs=("bal-01",)), ["+992901000001", "+992901000002"]),
    ("cluster", Audience(clusters=("tomato.kulob",)), ["+992901000003"]),
    ("EC role", Audience(roles=("ec",)), ["+992901000001"]),
    ("member role", Audience(roles=("member",)), ["+992901000002", "+992901000003"]),
    ("criteria combine with AND", Audience(districts=("balkhi",), genders=("male",)), ["+992901000002"]),
    ("values combine with OR", Audience(crops=("onion", "tomato")), ["+992901000002", "+992901000003",
                                                                      "+992901000004"]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_audiences(session, region, label, audience, expected):
    assert phones(session, audience.check(session)) == expected


def test_unknown_criteria_are_refused(session, region):
    with pytest.raises(broadcast.AudienceError, match="unknown district: mars"):
        Audience(districts=("mars",)).check(session)
    with pytest.raises(broadcast.AudienceError, match="role"):
        Audience(roles=("king",)).check(session)


TEXTS = {"tg": "Пагоҳ борон меборад.", "ru": "Завтра дождь.", "en": "Rain tomorrow."}


def test_preview_counts_segments_per_language_and_cost(session, region):
    p = broadcast.preview(session, Audience(), TEXTS, 0.10)
    # the shared phone gets its main profile's language (Boris, ru); uz falls back to Tajik
    assert p.recipients == 4
    assert p.by_language == {"tg": {"recipients": 1, "segments": 1, "encoding": "UCS-2"},
                             "ru": {"recipients": 1, "segments": 1, "encoding": "UCS-2"},
                             "uz": {"recipients": 1, "segments": 1, "encoding": "UCS-2"},
                             "en": {"recipients": 1, "segments": 1, "encoding": "GSM-7"}}
    assert (p.segments, p.cost_tjs) == (4, Decimal("0.40"))
    long = broadcast.preview(session, Audience(languages=("en",)), {"en": "x" * 200}, 0.10)
    assert (long.segments, long.cost_tjs) == (2, Decimal("0.20"))


def test_send_now_queues_one_row_per_phone_in_its_language_once(session, region):
    row = broadcast.create(session, Audience(), TEXTS, now=NOW)
    assert broadcast.queue(session, row, NOW) == 4
    rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.phone)).all()
    assert [(r.phone, r.language, r.text, r.kind) for r in rows] == [
        ("+992901000001", "tg", TEXTS["tg"], "broadcast"),
        ("+992901000002", "ru", TEXTS["ru"], "broadcast"),
        ("+992901000003", "uz", TEXTS["tg"], "broadcast"),
        ("+992901000004", "en", TEXTS["en"], "broadcast"),
    ]
    assert (row.status, row.recipients) == ("queued", 4)
    # a re-run (after a crash, or by a second process) writes nothing more
    assert broadcast.queue(session, row, NOW) == 0
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 4


def test_scheduled_broadcasts_go_at_their_time_and_expire_past_the_grace(app, session, region):
    later = broadcast.create(session, Audience(districts=("kulob",)), TEXTS, send_at=NOW + dt.timedelta(hours=2),
                             now=NOW)
    stale = broadcast.create(session, Audience(), TEXTS, send_at=NOW - dt.timedelta(hours=7), now=NOW)
    session.commit()
    config = {**app.config, "SCHEDULER_GRACE_HOURS": 6}
    first = tick(session_factory(app), config, NOW)
    assert (first.broadcasts, first.expired) == (0, [stale.id])
    assert "expired" in str(first)
    assert tick(session_factory(app), config, NOW + dt.timedelta(hours=2)).broadcast_rows == 2
    assert tick(session_factory(app), config, NOW + dt.timedelta(hours=2, minutes=1)).broadcast_rows == 0
    session.expire_all()
    assert (session.get(broadcast.Broadcast, later.id).status, session.get(broadcast.Broadcast, stale.id).status) == (
        "queued", "expired")


def test_a_half_queued_broadcast_is_finished_by_the_next_tick_without_duplicates(app, session, region):
    row = broadcast.create(session, Audience(), TEXTS, now=NOW)
    # the process died after writing one row: status queuing, one row in the outbox
    row.status = "queuing"
    from service.messaging.message import queue_many
    queue_many(session, [{"phone": "+992901000001", "text": TEXTS["tg"], "language": "tg",
                          "dedupe_key": broadcast.dedupe_key(row.id, "+992901000001")}], kind="broadcast")
    session.commit()
    result = tick(session_factory(app), {**app.config, "SCHEDULER_GRACE_HOURS": 6}, NOW + dt.timedelta(days=2))
    assert (result.broadcasts, result.broadcast_rows) == (1, 3)
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 4


EVERYTHING = Scope(role="admin", everything=True)
KULOB_OFFICER = Scope(role="extension_officer", district_ids=frozenset({"kulob"}))


@pytest.mark.parametrize("label, scope, target, text, key", [
    ("not staff: no scope", None, "balkhi", "Hail", "push.not_staff"),
    ("no text", EVERYTHING, "balkhi", "  ", "push.alert_usage"),
    ("unknown target", EVERYTHING, "Mars", "Hail", "push.alert_unknown_target"),
    ("nobody reachable", EVERYTHING, "vose", "Hail", "push.alert_nobody"),
    ("a district outside the scope", KULOB_OFFICER, "balkhi", "Hail", "sms.staff.out_of_scope"),
    ("a cluster outside the scope", KULOB_OFFICER, "rice.balkhi", "Hail", "sms.staff.out_of_scope"),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_field_alert_refusals(session, region, label, scope, target, text, key):
    with pytest.raises(Refusal) as err:
        alert_from_field(session, STAFF_PHONE, target, text, scope=scope, price_tjs=0.1, now=NOW)
    assert err.value.key == key and templates_sms.has(key)


KULOB_VILLAGE = {"tg": "Кӯлоб", "ru": "Куляб", "uz": "Kulob", "en": "Kulob"}  # the jamoat centre


@pytest.mark.parametrize("label, target, place, expected", [
    ("district by a local name", "Кӯлоб", {"tg": "Кӯлоб", "ru": "Куляб", "uz": "Ko'lob", "en": "Kulob"},
     ["+992901000003", "+992901000004"]),
    ("cluster id", "rice.balkhi", {"tg": "Шолӣ - Балхӣ", "ru": "Рис - Балхи", "uz": "Sholi - Balxiy",
                                   "en": "Rice - Balkhi"}, ["+992901000001", "+992901000002"]),
    ("PG code in any case: named by its village", "kul01", KULOB_VILLAGE, ["+992901000003"]),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_field_alert_reaches_the_target_in_each_language(session, region, label, target, place, expected):
    row, estimate = alert_from_field(session, STAFF_PHONE, target, "Hail tonight",
                                     scope=EVERYTHING, price_tjs=0.1, now=NOW)
    assert (row.status, row.kind, row.send_at) == ("scheduled", "alert", NOW)
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 0  # the tick queues it
    broadcast.queue(session, row, NOW)
    sent = session.scalars(select(OutboundMessage).order_by(OutboundMessage.phone)).all()
    assert [r.phone for r in sent] == expected == phones(session, Audience.from_dict(row.audience))
    assert {r.kind for r in sent} == {"alert"} and estimate.recipients == len(expected)
    for r in sent:
        assert r.text == templates_sms.text("push.alert", r.language, place=place[r.language], text="Hail tonight")
    assert (estimate.segments, estimate.cost_tjs) == (len(expected), Decimal("0.1") * len(expected))


def test_cli_preview_send_schedule_list_cancel(runner, session, region):
    preview = runner.invoke(args=["broadcast", "preview", "--district", "kulob", "--text", "tg=Салом",
                                  "--text", "en=Hello"])
    assert preview.exit_code == 0, preview.output
    assert "districts=kulob: 2 recipients, 2 segments, about 0.20 TJS" in preview.output
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 0

    sent = runner.invoke(args=["broadcast", "send", "--crop", "rice", "--text", "tg=Салом"])
    assert sent.exit_code == 0 and "queued: 2 recipients" in sent.output, sent.output
    later = runner.invoke(args=["broadcast", "send", "--crop", "tomato", "--text", "tg=Салом",
                                "--at", "2099-01-01T08:00"])
    assert later.exit_code == 0 and "scheduled for 2099-01-01T03:00:00+00:00" in later.output, later.output
    listed = runner.invoke(args=["broadcast", "list"]).output.splitlines()
    assert listed[0].startswith("2\tbroadcast\tscheduled") and listed[1].startswith("1\tbroadcast\tqueued")
    assert runner.invoke(args=["broadcast", "cancel", "2"]).output.strip() == "broadcast 2 cancelled"
    assert runner.invoke(args=["broadcast", "cancel", "1"]).exit_code != 0
    bad = runner.invoke(args=["broadcast", "preview", "--district", "mars", "--text", "tg=x"])
    assert bad.exit_code != 0 and "unknown district: mars" in bad.output
