"""Advice, joint sales and yields over ``POST /sms/inbound``: the tables of ``tests/cases/advice.py``,
the journeys of issue 3's "Done when", escalation, racing pledges, weekly totals and the CLI."""
from __future__ import annotations

import datetime as dt
import threading
import urllib.parse

import pytest
from sqlalchemy import select, update

import farmer_text
import templates_sms
from cases.advice import AGENT, AZIZ, CASES, EMMA, EXT, GULNORA, OLEG, TOKEN, Case, at, build_world
from service.advice import questions as advice
from service.sales import joint_sale
from service.sms import engine as sms_commands
from service.advice import responders as vam_agent
from service.sales import yields as yield_report
from service.advice.questions import Question, QuestionRoute
from service.db import utcnow
from service.farmers.models import Farmer
from service.sales.joint_sale import BuyerOffer, CollectionCentre, Pledge
from service.prices.market import Market
from service.groups.membership import Membership
from service.messaging.message import OutboundMessage
from service.advice.responders import Responder
from service.sales.yields import YieldReport

TABLES = {"question": Question, "question_route": QuestionRoute, "pledge": Pledge, "buyer_offer": BuyerOffer,
          "yield_report": YieldReport, "responder": Responder, "farmer": Farmer, "membership": Membership,
          "collection_centre": CollectionCentre}


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN, "ADVICE_ESCALATE_HOURS": 24}


_ids = iter(range(1, 10**9))


def send(client, sender: str, text: str) -> str:
    """Post one SMS as AT does; returns the webhook's answer."""
    body = urllib.parse.urlencode(at(f"ATXid_{next(_ids)}", sender, text))
    resp = client.post(f"/sms/inbound?key={TOKEN}", data=body, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def rows(session) -> dict[str, dict[int, dict]]:
    session.expire_all()
    out = {}
    for name, model in TABLES.items():
        cols = [c.key for c in model.__table__.columns]
        pk = model.__table__.primary_key.columns.keys()
        out[name] = {tuple(getattr(r, k) for k in pk): {c: getattr(r, c) for c in cols}
                     for r in session.scalars(select(model))}
    return out


def outbox(session, after: int = 0) -> list[OutboundMessage]:
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.id > after).order_by(OutboundMessage.id)))


def last_id(session) -> int:
    return max((m.id for m in outbox(session)), default=0)


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_inbound(case: Case, client, session):
    build_world(session)
    if case.capacity_kg is not None:
        session.execute(update(CollectionCentre).values(capacity_g=case.capacity_kg * 1000))
        session.commit()
    for sender, text in case.setup:
        assert send(client, sender, text) == "processed"
    before, mark = rows(session), last_id(session)

    assert send(client, case.sender, case.text) == "processed"

    queued = outbox(session, mark)
    assert len(queued) == len(case.out), [(m.phone, m.text) for m in queued]
    for row, want in zip(queued, case.out):
        assert (row.phone, row.kind, row.language) == (want.to, want.kind, want.lang), row.text
        if want.key:
            assert row.text == templates_sms.text(want.key, want.lang, **want.params)
        for part in want.has:
            assert part in row.text, row.text
        assert row.status == "queued"
        farmer_text.check(row.text, row.language)  # centres by name, amounts as the language writes them
    after = rows(session)
    for name in TABLES:
        touched = [row for k, row in sorted(after[name].items()) if before[name].get(k) != row]
        wanted = case.changes.get(name, [])
        assert len(touched) == len(wanted), (name, touched)
        for got, want in zip(touched, wanted):
            assert {k: got[k] for k in want} == want, name
        assert set(before[name]) <= set(after[name]), f"{name}: rows deleted"


# ---------------------------------------------------------------- Done when: advice

def test_question_reaches_the_agent_is_answered_and_the_farmer_gets_it(client, session):
    world = build_world(session)
    send(client, GULNORA, "ASK Барги помидор зард шуда истодааст. Чӣ кунам?")
    to_agent = outbox(session)[0]
    assert to_agent.phone == AGENT and "ANSWER 1" in to_agent.text and "Помидор" in to_agent.text
    answer = ("Ин камбудии нитроген аст. Поруи пӯсида диҳед, ҳар 7 рӯз об диҳед, барги зардро канед "
              "ва баъди 10 рӯз ба ман хабар диҳед.")
    mark = last_id(session)
    send(client, AGENT, f"ANSWER 1 {answer}")
    to_farmer, to_agent_again = outbox(session, mark)
    assert to_farmer.phone == GULNORA and to_farmer.farmer_id == world["gulnora"]
    assert to_farmer.text == f"Ҷавоб ба саволи #1: {answer}"  # in full, as written
    assert 2 <= to_farmer.segments <= 3
    assert to_agent_again.phone == AGENT
    q = session.get(Question, 1)
    assert (q.status, q.answered_phone, q.answered_by) == ("answered", AGENT, vam_agent.by_phone(session, AGENT)[0].id)


def test_unanswered_question_is_escalated_once_then_answered_by_extension(client, session, runner):
    build_world(session)
    send(client, GULNORA, "ASK помидор пажмурда шуд")
    asked = session.get(Question, 1).routed_at
    # not yet overdue: nothing happens
    assert advice.escalate_overdue(session, asked + dt.timedelta(hours=23), dt.timedelta(hours=24)) == []
    session.execute(update(Question).values(routed_at=utcnow() - dt.timedelta(hours=25)))
    session.commit()
    mark = last_id(session)
    result = runner.invoke(args=["advice", "escalate"])  # 25 h after it was sent
    session.expire_all()
    assert result.exit_code == 0 and "escalated or routed 1 question(s): [1]" in result.output
    (to_ext,) = outbox(session, mark)
    assert to_ext.phone == EXT and to_ext.language == "ru" and to_ext.text.startswith("Без ответа. Вопрос #1")
    q = session.get(Question, 1)
    assert (q.level, q.responder_id) == (2, vam_agent.by_phone(session, EXT)[0].id)
    # at the top level nothing more happens
    assert runner.invoke(args=["advice", "escalate"]).output.startswith("escalated or routed 0")
    # both the agent and the extension officer may answer; the first answer wins
    mark = last_id(session)
    send(client, EXT, "ОТВЕТ 1 Поливайте утром")
    send(client, AGENT, "ANSWER 1 Об диҳед")
    texts = [(m.phone, m.text) for m in outbox(session, mark)]
    assert texts == [(GULNORA, "Ҷавоб ба саволи #1: Поливайте утром"),
                     (EXT, templates_sms.text("advice.answer.done", "ru", id=1)),
                     (AGENT, templates_sms.text("advice.answer.already", "tg", id=1))]


def test_waiting_question_is_routed_once_someone_serves_the_area(client, session):
    build_world(session)
    send(client, OLEG, "ВОПРОС когда сеять лук?")
    assert session.get(Question, 1).responder_id is None
    now = utcnow()
    assert advice.escalate_overdue(session, now, dt.timedelta(hours=24)) == []
    vam_agent.add_extension(session, name="Vose office", phone="+992901400009", district_id="vose", language="uz")
    assert [q.id for q in advice.escalate_overdue(session, now, dt.timedelta(hours=24))] == [1]
    session.commit()
    (to_ext,) = [m for m in outbox(session) if m.phone == "+992901400009"]
    assert to_ext.text.startswith("Savol #1 (Piyoz, Guliston, Vose)")


def test_lead_farmer_comes_between_agent_and_extension(session):
    build_world(session)
    emma = session.scalar(select(Farmer).where(Farmer.phone == EMMA))
    lead = vam_agent.add_lead_farmer(session, emma)
    dahana = emma.village_id
    assert [r.role for r in vam_agent.serving(session, dahana, "kulob")] == ["vam_agent", "lead_farmer", "extension"]
    assert lead.village_ids == [dahana]
    with pytest.raises(ValueError):
        vam_agent.add_lead_farmer(session, emma)


def test_a_lead_farmers_own_question_never_goes_back_to_them(session):
    from service.advice import inbox

    build_world(session)
    emma = session.scalar(select(Farmer).where(Farmer.phone == EMMA))
    vam_agent.add_lead_farmer(session, emma)
    question = advice.ask(session, emma, "When to stake tomatoes?", channel="sms")
    session.flush()
    assert [r.role for r in inbox.responders_for(session, question)] == ["vam_agent", "extension"]
    assert session.get(Responder, question.responder_id).role == "vam_agent"
    later = utcnow() + dt.timedelta(hours=25)
    assert [q.id for q in advice.escalate_overdue(session, later, dt.timedelta(hours=24))] == [question.id]
    assert session.get(Responder, question.responder_id).role == "extension"  # past the lead farmer who asked


# ---------------------------------------------------------------- Done when: pledges

def _centre(session, code: str) -> CollectionCentre:
    market = session.scalar(select(Market).where(Market.code == code))
    return session.scalar(select(CollectionCentre).where(CollectionCentre.market_id == market.id))


def test_pledges_add_up_and_never_exceed_capacity(client, session):
    build_world(session)
    dahana = _centre(session, "DAHANA")
    assert dahana.capacity_g == 1_000_000_000 and _centre(session, "VOSECC").capacity_g == 600_000_000
    dahana.capacity_g = 10_000_000  # 10 t
    session.commit()
    for sender, text in [(GULNORA, "SELL помидор 4 т"), (EMMA, "SELL tomato 3500 kg"), (AZIZ, "SOTISH pomidor 2t")]:
        send(client, sender, text)
    season = joint_sale.monday(dt.date.today() + dt.timedelta(weeks=1)).isocalendar().year
    assert joint_sale.pledged_g(session, dahana, season) == 9_500_000
    mark = last_id(session)
    # a pledge of the same crop and week changes Emma's 3.5 t: her own amount counts as free
    send(client, EMMA, "SELL tomato 4001 kg")
    (refused,) = outbox(session, mark)
    assert refused.text == templates_sms.text("sales.sell.full", "en", centre="Dahana centre", free="4000 kg")
    send(client, EMMA, "SELL tomato 4000 kg")
    assert joint_sale.pledged_g(session, dahana, season) == 10_000_000
    send(client, GULNORA, "SELL помидор 4001")
    assert outbox(session)[-1].text == templates_sms.text("sales.sell.full", "tg", centre="Маркази Даҳана", free="4000 кг")
    assert len(session.scalars(select(Pledge)).all()) == 3
    send(client, GULNORA, "SELL БЕКОР")  # cancelled: her 4 t are free again
    assert joint_sale.pledged_g(session, dahana, season) == 6_000_000
    send(client, AZIZ, "SOTISH pomidor 6t")
    assert joint_sale.pledged_g(session, dahana, season) == 10_000_000


def test_two_pledges_racing_for_the_last_tonnes(app, session):
    """Two farmers pledge 6 t each at the same moment with 10 t free: exactly one gets in."""
    build_world(session)
    _centre(session, "DAHANA").capacity_g = 10_000_000
    session.commit()
    settings, keywords = app.extensions["dehqon.settings"], app.extensions["dehqon.sms"]
    barrier = threading.Barrier(2)
    outcomes = []

    def pledge(sender, n):
        with app.extensions["dehqon.sessionmaker"]() as s:
            barrier.wait()
            outcomes.append(sms_commands.receive(s, keywords, settings, sms_commands.Inbound(
                f"race{n}", sender, text="SELL tomato 6t",
                sent_at=dt.datetime(2025, 6, 3, 10, tzinfo=dt.timezone.utc))))

    threads = [threading.Thread(target=pledge, args=(p, n)) for n, p in enumerate((GULNORA, EMMA))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.expire_all()
    assert sorted(outcomes) == ["processed", "processed"]
    assert [p.grams for p in session.scalars(select(Pledge))] == [6_000_000]
    replies = sorted(m.text for m in outbox(session))
    assert sum("4 t" in t or "4 т" in t for t in replies) == 1  # the refusal names the 4 t left


def test_weekly_totals_reach_cluster_leaders_once_a_week(session):
    world = build_world(session)
    oleg, monday = session.get(Farmer, world["oleg"]), dt.date(2025, 6, 2)  # ISO week 23
    joint_sale.pledge(session, oleg, "onion", 3_000_000, dt.date(2025, 6, 11), channel="sms")
    joint_sale.pledge(session, oleg, "onion", 12_000_000, dt.date(2025, 7, 25), channel="sms")
    assert joint_sale.send_weekly_totals(session, monday + dt.timedelta(days=2)) == 1  # DAHANA has no pledges
    (totals,) = outbox(session)
    # the centre by its Russian name ("Пункт Восе", not VOSECC) makes this one-week example 72 units: two SMS
    assert (totals.phone, totals.kind, totals.segments) == (OLEG, "notice", 2)
    assert totals.text == "Пункт Восе, Лук, заявки:\nнеделя 24: 3000 кг, 1 чел.\nсезон: 15 т из 600 т"
    assert joint_sale.send_weekly_totals(session, monday + dt.timedelta(days=6)) == 0  # same week: sent already
    assert joint_sale.send_weekly_totals(session, monday + dt.timedelta(days=7)) == 1


def test_weekly_totals_command(client, session, runner):
    build_world(session)
    send(client, OLEG, "SELL лук 3 т")
    result = runner.invoke(args=["sales", "weekly-totals"])
    assert result.exit_code == 0 and "queued 1 weekly totals SMS" in result.output
    assert runner.invoke(args=["sales", "weekly-totals"]).output.startswith("queued 0")


def test_offer_by_cli_and_capacity_by_cli(client, session, runner):
    build_world(session)
    send(client, GULNORA, "SELL помидор 500")
    send(client, EMMA, "SELL tomato 500")
    send(client, OLEG, "SELL лук 1 т")
    mark = last_id(session)
    result = runner.invoke(args=["sales", "offer", "tomato", "2.10", "Cannery in Kulob, 50 t, cash"])
    assert result.exit_code == 0 and "sent to 2 farmer(s)" in result.output
    sent = {m.phone: m.text for m in outbox(session, mark)}
    assert sent == {GULNORA: "Харидор: Помидор 2,10 сомонӣ/кг. Cannery in Kulob, 50 t, cash",
                    EMMA: "Buyer offer: Tomato 2.10 TJS/kg. Cannery in Kulob, 50 t, cash"}
    assert runner.invoke(args=["sales", "offer", "tomato", "free", "x"]).exit_code != 0
    result = runner.invoke(args=["sales", "set-capacity", "VOSECC", "800t"])
    assert result.exit_code == 0 and "VOSECC: capacity 800 t per season" in result.output
    session.expire_all()
    assert _centre(session, "VOSECC").capacity_g == 800_000_000
    assert runner.invoke(args=["sales", "set-capacity", "KULOB", "800t"]).exit_code != 0
    assert runner.invoke(args=["sales", "set-capacity", "VOSECC", "lots"]).exit_code != 0


def test_an_offer_reaches_a_shared_phone_once_naming_who_pledged(session):
    """Gulnora and Rustam (one phone) both pledged tomatoes: one SMS, naming both, in Gulnora's
    (the main profile's) language; Emma on her own phone gets hers."""
    from service.farmers import models as farmers
    world = build_world(session)
    gulnora, emma = session.get(Farmer, world["gulnora"]), session.get(Farmer, world["emma"])
    rustam = farmers.register(session, phone=GULNORA, name="Rustam", gender="male", village_id=gulnora.village_id,
                              crop_ids=["tomato"], land_m2=5000, language="ru")
    today = dt.date(2025, 6, 3)
    for f in (rustam, gulnora, emma):
        joint_sale.pledge(session, f, "tomato", 500_000, today + dt.timedelta(weeks=1), channel="sms")
    offer = joint_sale.make_offer(session, "tomato", 210, "Cannery in Kulob", "cli", today)
    session.commit()
    assert offer.farmers_told == 3
    sent = {(m.phone, m.farmer_id): m.text for m in outbox(session)}
    tg = "Харидор: Помидор 2,10 сомонӣ/кг. Cannery in Kulob"
    assert sent == {(GULNORA, gulnora.id): templates_sms.text("push.for_names", "tg", names="Gulnora, Rustam", text=tg),
                    (EMMA, emma.id): "Buyer offer: Tomato 2.10 TJS/kg. Cannery in Kulob"}


# ---------------------------------------------------------------- yields

def test_yield_gain_per_crop_and_year_as_in_the_case_study(session, runner):
    """R5: onion members with VAM 14.8 t/ha and non-members 10 t/ha on average: +48%."""
    world = build_world(session)
    gulnora, aziz = session.get(Farmer, world["gulnora"]), session.get(Farmer, world["aziz"])
    emma = session.get(Farmer, world["emma"])  # no PG: a non-member, though a VAM agent serves her village
    for farmer, kg, m2 in [(gulnora, 14_000, 10_000), (gulnora, 7_800, 5_000)]:  # 14 and 15.6 t/ha
        yield_report.record(session, farmer, "onion", kg * 1000, m2, year=2017, entered="test")
    for farmer, kg, m2 in [(aziz, 900, 1_000), (emma, 5_500, 5_000)]:  # 9 and 11 t/ha
        yield_report.record(session, farmer, "onion", kg * 1000, m2, year=2017, entered="test")
    session.commit()
    (gain,) = yield_report.gains(session, 2017)
    assert (gain.vam_reports, gain.other_reports, gain.gain_percent) == (2, 2, 48)
    assert (str(gain.vam_kg_per_ha), str(gain.other_kg_per_ha)) == ("14800.0", "10000.0")
    result = runner.invoke(args=["yields", "report", "--year", "2017"])
    assert "onion\t2017\t2\t14800.0\t2\t10000.0\t+48" in result.output
