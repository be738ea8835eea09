"""The committee of a commodity cluster: fill, replace and end a seat; who may hold one; the history."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.errors import Refusal
from service.farmers import models as farmers
from service.groups import cluster_committee as cc
from service.groups import membership
from service.groups.cluster import CommodityCluster
from service.groups.producer_group import ProducerGroup
from service.reference.geography import Village

ELECTED = dt.date(2026, 3, 14)


@pytest.fixture
def world(session):
    vose = session.scalars(select(Village).where(Village.district_id == "vose")).first()
    kulob = session.scalars(select(Village).where(Village.district_id == "kulob")).first()
    onion = ProducerGroup(code="VOS03", name="Guliston onion 3", village_id=vose.id, cluster_id="onion.vose")
    onion2 = ProducerGroup(code="VOS04", name="Guliston onion 4", village_id=vose.id, cluster_id="onion.vose")
    tomato = ProducerGroup(code="KUL01", name="Dahana tomato 1", village_id=kulob.id, cluster_id="tomato.kulob")
    session.add_all([onion, onion2, tomato])
    session.flush()

    def farmer(phone, name, pg, gender="female"):
        f = farmers.register(session, phone=phone, name=name, gender=gender, village_id=pg.village_id,
                             crop_ids=["onion"], land_m2=10000, language="tg")
        m = membership.join(session, f, pg)
        m.status = "active"
        session.flush()
        return f

    return {
        "cluster": session.get(CommodityCluster, "onion.vose"),
        "pgs": (onion, onion2, tomato),
        "zarina": farmer("+992900001001", "Zarina", onion),
        "karim": farmer("+992900001002", "Karim", onion2, gender="male"),
        "tomato_grower": farmer("+992900001003", "Nodira", tomato),
    }


def test_fill_a_vacant_seat_records_the_term_and_the_pg_represented(session, world):
    term = cc.fill(session, world["cluster"], "chair", world["zarina"], ELECTED)
    assert (term.cluster_id, term.role, term.farmer_id, term.pg_id) == ("onion.vose", "chair", world["zarina"].id,
                                                                       world["pgs"][0].id)
    assert term.term_ends_on == dt.date(2028, 3, 14)
    seats = {s.role: s for s in cc.seats(session, "onion.vose")}
    assert seats["chair"].holder.id == world["zarina"].id and seats["chair"].pg.code == "VOS03"
    assert [s.role for s in cc.seats(session, "onion.vose") if s.term is None] == ["deputy", "secretary",
                                                                                   "treasurer", "ec_member"]


def test_replace_keeps_the_history(session, world):
    cc.fill(session, world["cluster"], "chair", world["zarina"], ELECTED)
    cc.replace(session, world["cluster"], "chair", world["karim"], dt.date(2027, 2, 1))
    history = cc.history(session, "onion.vose")
    assert [(t.farmer_id, t.ended_on, t.end_reason) for t in history] == [
        (world["karim"].id, None, None), (world["zarina"].id, dt.date(2027, 2, 1), "replaced")]
    assert cc.seats(session, "onion.vose")[0].holder.id == world["karim"].id


@pytest.mark.parametrize("case, act, key", [
    ("a seat with a holder is replaced, not filled", lambda s, w: (
        cc.fill(s, w["cluster"], "chair", w["zarina"], ELECTED),
        cc.fill(s, w["cluster"], "chair", w["karim"], ELECTED)), "staff.err.seat_taken"),
    ("one farmer holds one seat of a committee", lambda s, w: (
        cc.fill(s, w["cluster"], "chair", w["zarina"], ELECTED),
        cc.fill(s, w["cluster"], "treasurer", w["zarina"], ELECTED)), "staff.err.holds_seat"),
    ("a member of another cluster's PG", lambda s, w: cc.fill(s, w["cluster"], "chair", w["tomato_grower"], ELECTED),
     "staff.err.not_in_cluster"),
    ("a term ending before it starts", lambda s, w: cc.fill(s, w["cluster"], "chair", w["zarina"], ELECTED,
                                                            term_ends_on=ELECTED), "staff.err.term_dates"),
    ("ending a vacant seat", lambda s, w: cc.end(s, w["cluster"], "deputy", ELECTED), "staff.err.seat_vacant"),
    ("replacing with a farmer outside the cluster", lambda s, w: (
        cc.fill(s, w["cluster"], "chair", w["zarina"], ELECTED),
        cc.replace(s, w["cluster"], "chair", w["tomato_grower"], ELECTED)), "staff.err.not_in_cluster"),
])
def test_refusals(session, world, case, act, key):
    with pytest.raises(Refusal) as refused:
        act(session, world)
    assert refused.value.key == key, case


def test_a_refused_replace_leaves_the_seat_as_it_was(session, world):
    cc.fill(session, world["cluster"], "chair", world["zarina"], ELECTED)
    with pytest.raises(Refusal):
        cc.replace(session, world["cluster"], "chair", world["tomato_grower"], dt.date(2027, 1, 1))
    assert [(t.farmer_id, t.ended_on) for t in cc.history(session, "onion.vose")] == [(world["zarina"].id, None)]


def test_a_member_who_left_is_not_eligible_and_their_term_closes(session, world):
    cc.fill(session, world["cluster"], "secretary", world["karim"], ELECTED)
    membership.leave(session, world["karim"])
    assert world["karim"].id not in {f.id for f, _ in cc.eligible(session, "onion.vose")}
    assert cc.close_for_leaver(session, world["karim"].id, dt.date(2026, 5, 1)) == 1
    assert cc.open_term(session, "onion.vose", "secretary") is None
    assert cc.history(session, "onion.vose")[0].end_reason == "left"


def test_end_and_unknown_role(session, world):
    cc.fill(session, world["cluster"], "deputy", world["zarina"], ELECTED)
    closed = cc.end(session, world["cluster"], "deputy", dt.date(2026, 1, 1), reason="resigned")
    assert closed.ended_on == ELECTED  # never before the election
    with pytest.raises(ValueError):
        cc.fill(session, world["cluster"], "president", world["zarina"], ELECTED)


def test_leaving_the_pg_closes_every_seat_the_farmer_holds(session, world):
    from service.groups import committee

    pg = world["pgs"][0]
    committee.fill(session, pg, "chair", world["zarina"], ELECTED)
    cc.fill(session, world["cluster"], "treasurer", world["zarina"], ELECTED)
    m = committee.leave(session, world["zarina"], dt.date(2026, 6, 1))
    assert (m.status, m.role) == ("left", "member")
    assert committee.open_term(session, pg.id, "chair") is None
    assert committee.history(session, pg.id)[0].end_reason == "left"
    assert cc.open_term(session, "onion.vose", "treasurer") is None
    assert [s.holder for s in committee.seats(session, pg.id)] == [None] * 5
