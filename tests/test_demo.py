"""``flask --app service demo-data``: a demo region shaped like the case study (``docs/programme.md`` §11)."""
from __future__ import annotations

import hashlib
import re
import statistics

import pytest
from sqlalchemy import func, select

from service.farmers.models import Farmer, FarmerCrop
from service.reference.geography import Village
from service.prices.market import Market, MarketPrice, latest_prices
from service.groups.membership import EC_ROLES, Membership
from service.reference.phone import to_e164
from service.groups.producer_group import CBO, ProducerGroup, StageAssessment


def demo(runner, *args: str):
    result = runner.invoke(args=["demo-data", *args])
    assert result.exit_code == 0, result.output
    return result


def share(part: int, whole: int) -> float:
    return 100 * part / whole


def active_members(session) -> list[tuple[Membership, Farmer]]:
    return session.execute(select(Membership, Farmer).join(Farmer, Farmer.id == Membership.farmer_id)
                           .where(Membership.status == "active")).all()


def test_default_region_has_the_case_study_shape(runner, session):
    result = demo(runner)
    assert "producer groups: 81" in result.output
    assert "farmers: 1,496" in result.output

    pgs = session.scalars(select(ProducerGroup)).all()
    assert len(pgs) == 81
    per_cluster = {c: sum(pg.cluster_id == c for pg in pgs) for c in {pg.cluster_id for pg in pgs}}
    assert per_cluster == {"tomato.kulob": 21, "tomato.jomi": 20, "onion.vose": 20, "rice.balkhi": 20}
    assert all(re.fullmatch(r"(KUL|JOM|VOS|BAL)\d\d", pg.code) for pg in pgs)
    assert {pg.code for pg in pgs} >= {"KUL01", "KUL21", "JOM20", "VOS03", "BAL20"}
    villages = {v.id: v for v in session.scalars(select(Village))}
    cbos = {c.id: c for c in session.scalars(select(CBO))}
    for pg in pgs:  # in its cluster's district, a sub-committee of its village's CBO
        assert villages[pg.village_id].district_id == pg.cluster_id.split(".")[1]
        assert cbos[pg.cbo_id].village_id == pg.village_id
    assert len(cbos) == len({pg.village_id for pg in pgs})
    assert "Даҳана" in {villages[pg.village_id].names["tg"] for pg in pgs}  # a reference jamoat centre

    # stages: the latest assessment is the PG's stage; at least 40% performing
    latest = {}
    for a in session.scalars(select(StageAssessment).order_by(StageAssessment.assessed_on, StageAssessment.id)):
        latest[a.pg_id] = a.stage
    assert latest == {pg.id: pg.stage for pg in pgs}
    assert sum(pg.stage == "performing" for pg in pgs) >= 0.4 * 81

    farmers = session.scalars(select(Farmer)).all()
    assert len(farmers) == 1496
    assert share(sum(f.gender == "female" for f in farmers), len(farmers)) == pytest.approx(29, abs=1)
    land_ha = [f.land_m2 / 10000 for f in farmers]
    assert statistics.mean(land_ha) == pytest.approx(1.43, abs=0.05)
    assert min(land_ha) > 0 and max(land_ha) <= 15 and statistics.stdev(land_ha) > 0.4  # a spread, not a constant
    languages = {lang: sum(f.language == lang for f in farmers) for lang in ("tg", "ru", "uz", "en")}
    assert languages["tg"] > 0.6 * len(farmers) and languages["ru"] > 0 and languages["uz"] > 0
    assert languages["en"] == 0

    # phones: E.164, +992 90 ..., one main profile per phone; some phones shared by a household
    assert all(re.fullmatch(r"\+99290\d{7}", f.phone) and to_e164(f.phone) == f.phone for f in farmers)
    mains = [f.phone for f in farmers if f.is_main]
    assert len(mains) == len(set(mains)) == len({f.phone for f in farmers})
    assert 0 < len(farmers) - len(mains) < 0.1 * len(farmers)
    assert all(len(f.name) <= 40 and " " in f.name for f in farmers)

    # crops match the cluster of the farmer's PG
    pg_of = dict(session.execute(select(Membership.farmer_id, Membership.pg_id)).all())
    crops = session.execute(select(FarmerCrop.farmer_id, FarmerCrop.crop_id)).all()
    grows = {}
    for farmer_id, crop in crops:
        grows.setdefault(farmer_id, set()).add(crop)
    cluster_crop = {pg.id: pg.cluster_id.split(".")[0] for pg in pgs}
    assert all(cluster_crop[pg_id] in grows[farmer_id] for farmer_id, pg_id in pg_of.items())
    assert len(grows) == len(farmers)

    # memberships: most active; EC seats 398 of 405, one holder per role, 16% women
    members = active_members(session)
    assert len(members) > 0.9 * len(farmers)
    assert share(sum(f.gender == "female" for _, f in members), len(members)) == pytest.approx(29, abs=1)
    seats = [(m, f) for m, f in members if m.role in EC_ROLES]
    assert len(seats) == 398
    assert len({(m.pg_id, m.role) for m, _ in seats}) == len(seats)
    assert share(sum(f.gender == "female" for _, f in seats), len(seats)) == pytest.approx(16, abs=1)
    statuses = set(session.scalars(select(Membership.status).distinct()))
    assert statuses == {"active", "pending", "left"}

    # prices at the reference markets, a few weeks, plausible values
    days = session.execute(select(func.min(MarketPrice.observed_on), func.max(MarketPrice.observed_on))).one()
    assert (days[1] - days[0]).days >= 21
    priced = set(session.execute(select(MarketPrice.crop_id, Market.code).join(Market)).all())
    bazaars = {(crop, code) for crop in ("tomato", "onion", "rice") for code in ("KULOB", "JOMI", "VOSE", "BALKH")}
    # every cluster's collection centre buys its crop
    assert priced == bazaars | {("tomato", "DAHANA"), ("tomato", "JOMICC"), ("onion", "VOSECC"), ("rice", "BALKHCC")}
    ranges = {"tomato": (150, 550), "onion": (100, 250), "rice": (600, 1100)}  # diram per kg
    for crop, (low, high) in ranges.items():
        values = session.scalars(select(MarketPrice.price_diram).where(MarketPrice.crop_id == crop)).all()
        assert low <= min(values) and max(values) <= high, crop
        assert latest_prices(session, crop)


def test_a_small_region_keeps_the_shares(runner, session):
    demo(runner, "--farmers", "300")
    farmers = session.scalars(select(Farmer)).all()
    assert len(farmers) == 300
    assert session.scalar(select(func.count()).select_from(ProducerGroup)) == 81
    assert share(sum(f.gender == "female" for f in farmers), 300) == pytest.approx(29, abs=1)
    assert statistics.mean(f.land_m2 / 10000 for f in farmers) == pytest.approx(1.43, abs=0.05)
    sizes = dict(session.execute(select(Membership.pg_id, func.count()).where(
        Membership.status != "left").group_by(Membership.pg_id)).all())
    seats = dict(session.execute(select(Membership.pg_id, func.count()).where(
        Membership.status == "active", Membership.role.in_(EC_ROLES)).group_by(Membership.pg_id)).all())
    assert all(n <= min(5, sizes[pg_id]) for pg_id, n in seats.items())
    # the demo staff accounts are audited as the pages and the CLI audit a new account (not staff.create)
    from service.audit.log import AuditEntry
    from service.staff.accounts import StaffAccount
    entries = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "staff_account")).all()
    assert entries and {e.action for e in entries} == {"account.create"}
    assert len(entries) == session.scalar(select(func.count()).select_from(StaffAccount))


def test_refuses_a_second_run_unless_reset(runner, session):
    demo(runner, "--farmers", "100")
    again = runner.invoke(args=["demo-data", "--farmers", "100"])
    assert again.exit_code != 0
    assert "already has 100 farmers and 81 producer groups" in again.output
    assert "--reset" in again.output
    quiet = runner.invoke(args=["demo-data", "--farmers", "100", "--if-empty"])
    assert quiet.exit_code == 0 and "already has data" in quiet.output
    assert session.scalar(select(func.count()).select_from(Farmer)) == 100
    session.rollback()  # end the read: PostgreSQL's TRUNCATE waits for open transactions

    demo(runner, "--farmers", "40", "--reset")
    assert session.scalar(select(func.count()).select_from(Farmer)) == 40
    assert session.scalar(select(func.count()).select_from(ProducerGroup)) == 81


def digest(session) -> str:
    """Fingerprint of the region without database ids (ids keep counting after a reset on PostgreSQL)."""
    rows = session.execute(select(Farmer.phone, Farmer.name, Farmer.gender, Farmer.language, Farmer.land_m2,
                                  Farmer.is_main).order_by(Farmer.phone, Farmer.name)).all()
    prices = session.execute(select(MarketPrice.crop_id, MarketPrice.price_diram).order_by(
        MarketPrice.crop_id, MarketPrice.market_id, MarketPrice.observed_on)).all()
    stages = session.execute(select(ProducerGroup.code, ProducerGroup.stage).order_by(ProducerGroup.code)).all()
    session.rollback()  # end the read: PostgreSQL's TRUNCATE (--reset) waits for open transactions
    return hashlib.sha256(repr((rows, prices, stages)).encode()).hexdigest()


def test_the_seed_decides_the_region(runner, session):
    demo(runner, "--farmers", "250", "--seed", "7")
    first = digest(session)
    demo(runner, "--farmers", "250", "--seed", "7", "--reset")
    assert digest(session) == first
    demo(runner, "--farmers", "250", "--seed", "8", "--reset")
    assert digest(session) != first


def test_new_farmers_get_ids_after_the_demo_ones(runner, session):
    """Demo farmers carry explicit ids; the id sequence must move past them (PostgreSQL)."""
    from service.farmers.models import register

    demo(runner, "--farmers", "20")
    farmer = register(session, phone="+992900000500", name="Test Farmer", gender="male", village_id=None,
                      crop_ids=["onion"], land_m2=10000, language="tg")
    session.commit()
    assert farmer.id == 21


def test_demo_region_has_responders_so_a_question_reaches_someone(runner, session, client):
    from service.advice import responders as vam_agent
    from service.advice.questions import Question
    from service.messaging.message import OutboundMessage

    demo(runner, "--farmers", "120")
    farmer = session.scalars(select(Farmer).where(Farmer.village_id.is_not(None)).order_by(Farmer.id)).first()
    village = session.get(Village, farmer.village_id)
    assert [r.role for r in vam_agent.serving(session, village.id, village.district_id)][:1] == ["vam_agent"]
    resp = client.post("/sms/inbound", data={"id": "demo-ask-1", "from": farmer.phone, "to": "7777",
                                             "text": "ASK why do my leaves curl", "date": "2026-11-29 09:00:00"})
    assert resp.status_code == 200
    session.expire_all()
    question = session.scalars(select(Question)).one()
    assert question.responder_id is not None
    responder = session.get(vam_agent.Responder, question.responder_id)
    assert session.scalars(select(OutboundMessage).where(OutboundMessage.phone == responder.phone)).all()


def test_reset_keeps_what_init_db_loads(runner, session):
    from service.reminders.campaign import Campaign
    from service.orders.catalogue import InputItem

    demo(runner, "--farmers", "30")
    session.rollback()
    demo(runner, "--farmers", "30", "--reset")
    assert session.scalar(select(func.count()).select_from(Campaign)) > 0
    assert session.scalar(select(func.count()).select_from(InputItem)) > 0
