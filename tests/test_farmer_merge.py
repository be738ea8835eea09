"""Merging two profiles (``service.farmers.merge``), on SQLite and PostgreSQL: every table with a
foreign key to ``farmer.id`` is found from the schema, the dropped profile is given a row in each,
and after the merge every one of those rows belongs to the kept profile (the tables keyed by the
farmer deduplicated). A new table referring to a farmer fails here until merge handles it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from farmer_world import PHONE, T0, build
from service.advice.questions import Question
from service.advice.responders import Responder
from service.audit.log import Actor, AuditEntry
from service.db import Base
from service.errors import Refusal
from service.farmers import merge as merging
from service.farmers import models as farmers
from service.farmers.models import Farmer, FarmerCrop
from service.groups import membership
from service.groups.cluster_committee import ClusterTerm
from service.groups.committee import EcTerm
from service.groups.membership import Membership
from service.messaging.message import InboundMessage, queue_sms
from service.orders.catalogue import InputItem
from service.orders.rounds import InputOrder, OrderRound
from service.prices.alerts import PriceAlert, PriceSubscription
from service.reminders.crop_cycle import CropCycle
from service.sales.joint_sale import CollectionCentre, Pledge
from service.sales.yields import YieldReport
from service.ussd.session import UssdSession

ACTOR = Actor(None, "test", "cli")
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.timezone.utc)


def _table(name):
    return Base.metadata.tables[name]


def _count(session, table: str, column: str, farmer_id: int) -> int:
    t = _table(table)
    return session.scalar(select(func.count()).select_from(t).where(t.c[column] == farmer_id))


def test_every_reference_to_a_farmer_is_handled(app):
    refs = merging.farmer_references()
    assert ("membership", "farmer_id") in refs and ("farmer_crop", "farmer_id") in refs and len(refs) >= 18
    assert merging.unhandled() == set(), "service/farmers/merge.py must say how to move these"
    assert set(merging.HANDLED) == refs, "HANDLED lists a column that no longer refers to a farmer"


def _give_drop_everything(session, world, drop: Farmer) -> None:
    """A row naming ``drop`` in every table that refers to a farmer (asserted by the caller)."""
    vos, g = world["vos"], world["gulnora"]
    session.add(FarmerCrop(farmer_id=drop.id, crop_id="rice"))  # onion is kept's too (deduped)
    session.add(PriceSubscription(farmer_id=drop.id))             # both subscribed: kept once
    session.add(PriceAlert(farmer_id=drop.id, crop_id="onion", direction="below", threshold_diram=100))
    session.add(CropCycle(farmer_id=drop.id, crop_id="onion", sown_on=dt.date(2026, 3, 5)))
    session.add(CropCycle(farmer_id=drop.id, crop_id="rice", sown_on=dt.date(2026, 4, 5)))
    other = world["kulob"]
    m = session.scalar(select(Membership).where(Membership.farmer_id == other.id))
    m.approved_by = drop.id
    old = Membership(farmer_id=world["bahrom"].id, pg_id=world["kul"].id, status="rejected", rejected_by=drop.id,
                     requested_at=T0, left_at=T0)
    session.add(old)
    session.add(Membership(farmer_id=drop.id, pg_id=vos.id, status="left", requested_at=T0, joined_at=T0, left_at=T0))
    session.add(EcTerm(pg_id=vos.id, role="secretary", farmer_id=drop.id, elected_on=dt.date(2024, 1, 1),
                       ended_on=dt.date(2025, 1, 1), end_reason="ended"))
    session.add(ClusterTerm(cluster_id="onion.vose", role="deputy", farmer_id=drop.id, pg_id=vos.id,
                            elected_on=dt.date(2024, 1, 1), ended_on=dt.date(2025, 1, 1), end_reason="ended"))
    item = session.scalars(select(InputItem).where(InputItem.code == "ONJ1")).one()
    rnd = OrderRound(pg_id=vos.id, status="closed", closes_on=dt.date(2026, 4, 1), opened_by=drop.id,
                     closed_by=drop.id, closed_at=T0)
    session.add(rnd)
    session.flush()
    session.add(InputOrder(round_id=rnd.id, farmer_id=drop.id, item_id=item.id, packs=1, unit_retail_diram=1,
                           unit_group_diram=1, total_diram=1, saving_diram=0))
    session.add(Question(farmer_id=drop.id, text="rice?", channel="ussd"))
    centre = session.scalars(select(CollectionCentre)).first()
    session.add(Pledge(farmer_id=drop.id, centre_id=centre.id, crop_id=centre.crop_id, grams=1000,
                       week=dt.date(2026, 6, 8), season=2026, channel="ussd"))
    session.add(YieldReport(farmer_id=drop.id, crop_id="onion", year=2025, grams=1000, area_m2=100, entered="1 kg",
                            is_member=True, linked_to_vam=False))
    session.add(Responder(role="lead_farmer", name=drop.name, phone=drop.phone, farmer_id=drop.id))
    session.add(InboundMessage(gateway_id="m-drop", phone=drop.phone, text="hi", sent_at=T0, farmer_id=drop.id))
    queue_sms(session, drop.phone, "hello", farmer_id=drop.id)
    session.add(UssdSession(session_id="u-drop", phone=drop.phone, farmer_id=drop.id))
    session.flush()


def test_merge_moves_every_row_of_every_table_that_refers_to_a_farmer(session):
    world = build(session)
    keep = world["gulnora"]
    drop = farmers.register(session, phone=PHONE, name="Gulnora Rahimova", gender="female",
                            village_id=keep.village_id, crop_ids=["onion"], land_m2=None, language="tg", via="sms")
    session.flush()
    _give_drop_everything(session, world, drop)
    session.commit()
    k, d = keep.id, drop.id
    before = {ref: (_count(session, *ref, k), _count(session, *ref, d)) for ref in merging.farmer_references()}
    empty = sorted(ref for ref, (_, dropped) in before.items() if dropped == 0)
    assert empty == [], f"give the dropped profile a row in {empty} (a new table referring to a farmer?)"

    counts = merging.merge(session, keep, drop, ACTOR, NOW)
    session.commit()
    assert session.scalar(select(Farmer.id).where(Farmer.id == d)) is None
    for ref, (kept, dropped) in before.items():
        assert _count(session, *ref, d) == 0, ref
        expected = 1 if ref == ("price_subscription", "farmer_id") else \
            len({"onion", "tomato", "rice"}) if ref == ("farmer_crop", "farmer_id") else kept + dropped
        assert _count(session, *ref, k) == expected, ref
    assert (counts["farmer_crop"], counts["question"], counts["outbound_message"]) == (1, 1, 1), counts
    keep = session.get(Farmer, k)
    assert keep.crop_ids == ["onion", "rice", "tomato"] and keep.name == "Гулнора Раҳимова" and keep.is_main
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "farmer.merge"))
    assert entry.object_id == str(k) and entry.before["drop"]["code"] == drop.code
    assert entry.after["moved"]["membership"] == 1


def test_both_open_in_one_pg_the_seat_holder_stays_open(session):
    world = build(session)
    holder, other = world["gulnora"], world["nodira"]   # treasurer (active) and a pending member of VOS91
    merging.merge(session, other, holder, ACTOR, NOW)    # keep the plain one, drop the seat holder
    session.commit()
    rows = session.execute(select(Membership.role, Membership.status).where(Membership.farmer_id == other.id)
                           .order_by(Membership.id)).all()
    assert sorted(rows) == [("member", "left"), ("treasurer", "active")]
    assert membership.ec_seat(session, session.get(Farmer, other.id)).role == "treasurer"


def test_merge_refuses_two_pgs_two_seats_itself_and_erased(session):
    world = build(session)
    g, nodira, karim = world["gulnora"], world["nodira"], world["kulob"]
    with pytest.raises(Refusal) as refused:
        merging.merge(session, nodira, karim, ACTOR, NOW)
    assert refused.value.key == "farmers.err.merge_two_pgs" and refused.value.params == {"keep": "VOS91",
                                                                                         "drop": "KUL91"}
    with pytest.raises(Refusal) as refused:
        merging.merge(session, g, g, ACTOR, NOW)
    assert refused.value.key == "farmers.err.merge_same"
    second = farmers.register(session, phone="+992901110055", name="Other Chair", gender="male",
                              village_id=g.village_id, crop_ids=[], land_m2=None, language="tg")
    membership.assign_ec_seat(session, second, world["vos"], "chair")
    with pytest.raises(Refusal) as refused:
        merging.merge(session, g, second, ACTOR, NOW)
    assert refused.value.key == "farmers.err.merge_two_seats"
    session.rollback()
    world = {k: session.get(type(v), v.id) for k, v in world.items()}
    twin = farmers.register(session, phone="+992901110056", name="Gulnora Twin", gender="female",
                            village_id=world["gulnora"].village_id, crop_ids=[], land_m2=None, language="tg")
    for role, who in (("chair", world["gulnora"]), ("deputy", twin)):  # two seats of one cluster committee
        session.add(ClusterTerm(cluster_id="onion.vose", role=role, farmer_id=who.id, pg_id=world["vos"].id,
                                elected_on=dt.date(2025, 1, 1)))
    session.flush()
    with pytest.raises(Refusal) as refused:
        merging.merge(session, world["gulnora"], twin, ACTOR, NOW)
    assert refused.value.key == "farmers.err.merge_two_seats"
    session.rollback()
    from service.farmers import privacy
    world = {k: session.get(type(v), v.id) for k, v in world.items()}
    privacy.erase(session, world["bahrom"], now=NOW)
    with pytest.raises(Refusal) as refused:
        merging.merge(session, world["gulnora"], world["bahrom"], ACTOR, NOW)
    assert refused.value.key == "farmers.err.erased"
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "farmer.merge")) == 0


def test_dropping_a_phones_main_profile_makes_the_next_one_main(session):
    world = build(session)
    nodira, bahrom, g = world["nodira"], world["bahrom"], world["gulnora"]
    assert nodira.is_main
    session.execute(Membership.__table__.delete().where(Membership.farmer_id == nodira.id))
    merging.merge(session, g, nodira, ACTOR, NOW)
    session.commit()
    assert session.get(Farmer, bahrom.id).is_main
    assert farmers.main_profile(session, bahrom.phone).id == bahrom.id


def test_a_reference_merge_does_not_know_stops_it(session, monkeypatch):
    world = build(session)
    handled = dict(merging.HANDLED)
    del handled[("pledge", "farmer_id")]
    monkeypatch.setattr(merging, "HANDLED", handled)
    with pytest.raises(RuntimeError, match="pledge"):
        merging.merge(session, world["gulnora"], world["nodira"], ACTOR, NOW)
