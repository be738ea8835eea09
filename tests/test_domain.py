"""Domain operations below the channels: profiles, membership, prices, opt-out."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.farmers import models as farmers
from service.prices import market
from service.groups import membership
from service.messaging import optout
from service.errors import Refusal
from service.reference.geography import Village
from service.groups.producer_group import ProducerGroup, by_code


@pytest.fixture
def village(session):
    return session.scalars(select(Village).where(Village.district_id == "vose")).first()


@pytest.fixture
def pg(session, village):
    group = ProducerGroup(code="VOS03", name="Guliston onion 3", village_id=village.id, cluster_id="onion.vose")
    session.add(group)
    session.flush()
    return group


def _farmer(session, village, phone="+992900001001", name="Zarina", gender="female", lang="tg"):
    return farmers.register(session, phone=phone, name=name, gender=gender, village_id=village.id,
                            crop_ids=["onion"], land_m2=14300, language=lang)


def test_household_phone_carries_several_profiles(session, village):
    husband = _farmer(session, village, name="Rustam", gender="male")
    wife = _farmer(session, village, name="Zarina")
    assert husband.is_main and not wife.is_main
    assert [p.name for p in farmers.profiles(session, husband.phone)] == ["Rustam", "Zarina"]
    with pytest.raises(Refusal) as err:
        _farmer(session, village, name="  zarina ")
    assert err.value.key == "err.already_registered"


def test_opt_out_is_per_phone_and_visible_on_every_profile(session, village):
    a = _farmer(session, village, name="Rustam", gender="male")
    b = _farmer(session, village, name="Zarina")
    assert optout.opt_out(session, a.phone, "keyword") is True
    assert optout.opt_out(session, a.phone, "keyword") is False
    assert a.opted_out and b.opted_out
    assert session.scalars(select(farmers.Farmer).where(farmers.Farmer.opted_out).order_by(farmers.Farmer.id)).all() == [a, b]
    assert optout.opt_in(session, a.phone) is True
    session.expire_all()
    assert not b.opted_out


def test_join_without_committee_is_immediate_then_approval_needed(session, village, pg):
    chair = _farmer(session, village, phone="+992900001002", name="Nodira")
    first = membership.join(session, chair, pg)
    assert first.status == "active"
    membership.assign_ec_seat(session, chair, pg, "chair")
    applicant = _farmer(session, village, phone="+992900001003", name="Gulnora")
    request = membership.join(session, applicant, pg)
    assert request.status == "pending"
    assert membership.join(session, applicant, pg) is request  # idempotent
    outsider = _farmer(session, village, phone="+992900001004", name="Farrukh", gender="male")
    with pytest.raises(Refusal) as err:
        membership.approve(session, outsider, applicant.code)
    assert err.value.key == "err.not_ec"
    approved, who = membership.approve(session, chair, applicant.code)
    assert (approved.status, who.id, approved.approved_by) == ("active", applicant.id, chair.id)
    assert [f.name for _, f in membership.ec_members(session, pg.id)] == ["Nodira"]


def test_one_open_membership_and_leaving(session, village, pg):
    other = ProducerGroup(code="VOS04", name="Guliston onion 4", village_id=village.id, cluster_id="onion.vose")
    session.add(other)
    f = _farmer(session, village)
    membership.join(session, f, pg)
    with pytest.raises(Refusal) as err:
        membership.join(session, f, other)
    assert err.value.params == {"code": "VOS03"}
    left = membership.leave(session, f)
    assert left.status == "left" and left.left_at is not None
    assert membership.join(session, f, other).pg_id == other.id
    with pytest.raises(Refusal):
        membership.leave(session, _farmer(session, village, phone="+992900001009", name="Alone"))


def test_ec_seat_is_unique_per_group(session, village, pg):
    a = _farmer(session, village, phone="+992900001002", name="Nodira")
    b = _farmer(session, village, phone="+992900001003", name="Gulnora")
    membership.assign_ec_seat(session, a, pg, "chair")
    with pytest.raises(Exception):
        membership.assign_ec_seat(session, b, pg, "chair")
    session.rollback()


@pytest.mark.parametrize("typed, m2", [("1.5", 15000), ("1,5", 15000), ("0.25 ha", 2500), ("2 га", 20000)])
def test_parse_land(typed, m2):
    assert farmers.parse_land_ha(typed) == m2


@pytest.mark.parametrize("typed", ["", "0", "-1", "abc", "1e9", "NaN", "501"])
def test_parse_land_refuses(typed):
    with pytest.raises(Refusal):
        farmers.parse_land_ha(typed)


@pytest.mark.parametrize("typed, diram", [("1.40", 140), ("1,4", 140), ("5", 500), ("2.5 TJS", 250)])
def test_parse_tjs(typed, diram):
    assert market.parse_tjs(typed) == diram


@pytest.mark.parametrize("typed", ["", "0", "-2", "1.405", "abc", "1001", "inf"])
def test_parse_tjs_refuses(typed):
    with pytest.raises(Refusal):
        market.parse_tjs(typed)


def test_latest_prices_with_change(session):
    vose = market.find_market(session, "vose")
    centre = market.find_market(session, "VOSECC")
    d = dt.date(2026, 11, 1)
    market.set_price(session, "onion", vose, 130, d, "test")
    market.set_price(session, "onion", vose, 140, d + dt.timedelta(days=3), "test")
    market.set_price(session, "onion", centre, 125, d + dt.timedelta(days=1), "test")
    market.set_price(session, "onion", vose, 145, d + dt.timedelta(days=3), "test")  # same day replaces
    lines = market.latest_prices(session, "onion")
    assert [(ln.market.code, ln.price_diram, ln.change_diram) for ln in lines] == [
        ("VOSE", 145, 15), ("VOSECC", 125, None)]
    assert market.latest_prices(session, "onion", centre)[0].observed_on == d + dt.timedelta(days=1)
    assert market.latest_prices(session, "rice") == []


def test_find_market_by_any_name(session):
    assert market.find_market(session, "Бозори Восеъ").code == "VOSE"
    assert market.find_market(session, "бозори восе").code == "VOSE"
    assert market.find_market(session, "nowhere") is None
    assert market.find_market(session, "Восеъ").code == "VOSE"  # the district's market
    assert market.find_market(session, "Kulyab").code == "KULOB"


def test_pg_code_lookup_is_forgiving(session, pg):
    assert by_code(session, "vos-03") is pg
    assert by_code(session, " vos 03 ") is pg
    assert by_code(session, "") is None
