"""What each staff role covers (``service.staff.scope``), the audit log's records, and the
Executive Committee's seat history (``service.groups.committee``), on the demo region."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from service.audit import log as audit
from service.demo import create_demo
from service.errors import Refusal
from service.farmers.models import Farmer
from service.groups import committee
from service.groups.membership import Membership
from service.groups.producer_group import ProducerGroup, by_code
from service.prices.market import Market
from service.reference.geography import Village
from service.staff import accounts, scope
from staff_pages import make_account

NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def region(session):
    create_demo(session, farmers=300, seed=7, now=NOW, today=NOW.date())
    session.commit()
    return session


def _district_of(session, farmer_id):
    return session.scalar(select(Village.district_id).join(Farmer, Farmer.village_id == Village.id)
                          .where(Farmer.id == farmer_id))


def test_an_extension_officer_covers_their_district_only(region):
    s = region
    officer = make_account(s, "extension_officer", "vose")
    area = scope.of(s, officer)
    ids = s.scalars(select(Farmer.id).where(area.farmers())).all()
    assert ids and {_district_of(s, i) for i in ids} == {"vose"}
    everyone_in_vose = s.scalar(select(func.count()).select_from(Farmer).join(Village, Village.id == Farmer.village_id)
                                .where(Village.district_id == "vose"))
    assert len(ids) == everyone_in_vose
    codes = s.scalars(select(ProducerGroup.code).where(area.pgs())).all()
    assert len(codes) == 20 and all(c.startswith("VOS") for c in codes)
    assert area.covers_district("vose") and not area.covers_district("kulob")
    assert area.covers_pg(by_code(s, "VOS03").id) and not area.covers_pg(by_code(s, "KUL03").id)
    markets = {s.get(Market, m).code for m in area.market_ids}
    assert markets == {"VOSE", "VOSECC"}
    kulob_farmer = s.scalar(select(Farmer.id).join(Village, Village.id == Farmer.village_id)
                            .where(Village.district_id == "kulob").limit(1))
    assert not area.covers_farmer(s, kulob_farmer) and area.covers_farmer(s, ids[0])


def test_a_cluster_coordinator_covers_the_members_of_their_clusters_pgs(region):
    s = region
    area = scope.of(s, make_account(s, "cluster_coordinator", "rice.balkhi"))
    members = set(s.scalars(select(Membership.farmer_id).join(ProducerGroup, ProducerGroup.id == Membership.pg_id)
                            .where(ProducerGroup.cluster_id == "rice.balkhi")))
    assert set(s.scalars(select(Farmer.id).where(area.farmers()))) == members
    assert area.covers_cluster("rice.balkhi") and not area.covers_cluster("onion.vose")


def test_a_pg_leader_covers_their_pg_and_a_market_reporter_no_farmer(region):
    s = region
    pg = by_code(s, "KUL05")
    leader = scope.of(s, make_account(s, "pg_leader", "kul05"))
    members = set(s.scalars(select(Membership.farmer_id).where(Membership.pg_id == pg.id)))
    assert set(s.scalars(select(Farmer.id).where(leader.farmers()))) == members
    assert leader.pg_ids == {pg.id}
    reporter = scope.of(s, make_account(s, "market_reporter", "vose"))
    assert s.scalar(select(func.count()).select_from(Farmer).where(reporter.farmers())) == 0
    assert {s.get(Market, m).code for m in reporter.market_ids} == {"VOSE"}
    assert not reporter.covers_pg(pg.id)


def test_a_vam_agent_covers_their_villages(region):
    s = region
    village = s.scalar(select(ProducerGroup.village_id).where(ProducerGroup.code == "JOM02"))
    area = scope.of(s, make_account(s, "vam_agent", str(village)))
    assert set(s.scalars(select(Farmer.village_id).where(area.farmers()))) == {village}
    assert by_code(s, "JOM02").id in area.pg_ids


def test_an_administrator_covers_everything(region):
    s = region
    area = scope.of(s, make_account(s, "admin"))
    assert s.scalar(select(func.count()).select_from(Farmer).where(area.farmers())) == 300
    assert area.covers_district("kulob") and area.covers_market(12345)


@pytest.mark.parametrize("role, refs, key", [
    ("extension_officer", [], "staff.err.scope_missing"),
    ("admin", ["vose"], "staff.err.scope_not_for_role"),
    ("pg_leader", ["NOPE99"], "staff.err.scope_unknown"),
    ("vam_agent", ["abc"], "staff.err.scope_unknown"),
    ("market_reporter", ["MOON"], "staff.err.scope_unknown"),
])
def test_an_account_needs_the_scope_of_its_role(region, role, refs, key):
    with pytest.raises(Refusal) as refused:
        accounts.create(region, username="someone", name="Some One", role=role, password="long enough pw", scope=refs)
    assert refused.value.key == key


def test_audit_record_snapshot_csv_and_forget(region):
    s = region
    officer = make_account(s, "extension_officer", "vose", username="rustam")
    farmer = s.scalar(select(Farmer).limit(1))
    entry = audit.record(s, audit.Actor.of(officer, "web"), "farmer.correct", "farmer", farmer.id,
                         before={"name": farmer.name, "land_m2": farmer.land_m2, "on": NOW.date()},
                         after={"name": "Corrected Name", "land_m2": 5000}, note=f"asked by {farmer.name}")
    s.commit()
    assert entry.before["on"] == "2026-12-01" and entry.actor == "rustam (extension_officer)"
    text = audit.to_csv(audit.entries(s, action="farmer."))
    assert text.splitlines()[0].startswith("id,at_utc,actor") and "Corrected Name" in text
    assert audit.forget(s, [farmer.name]) == 1
    s.commit()
    s.expire_all()
    again = s.get(audit.AuditEntry, entry.id)
    assert farmer.name not in str((again.before, again.after, again.note)) and "[erased]" in again.note


def _member_of(s, pg, n):
    from service.farmers.models import register
    from service.groups.membership import join

    farmer = register(s, phone=f"+99290000077{n}", name=f"Member {n}", gender="female", village_id=pg.village_id,
                      crop_ids=["onion"], land_m2=5000, language="tg")
    m = join(s, farmer, pg)
    m.status = "active"
    return farmer


def test_committee_fill_replace_end_keeps_the_history(region):
    s = region
    pg = by_code(s, "VOS04")
    chair = next(seat for seat in committee.seats(s, pg.id) if seat.role == "chair")
    assert chair.holder is not None and chair.term is None  # the demo's seats predate terms
    first, second = _member_of(s, pg, 0), _member_of(s, pg, 1)
    s.flush()
    t1 = committee.replace(s, pg, "chair", first, dt.date(2025, 3, 1))
    assert t1.term_ends_on == dt.date(2027, 3, 1)
    with pytest.raises(Refusal) as taken:
        committee.fill(s, pg, "chair", second, dt.date(2025, 4, 1))
    assert taken.value.key == "staff.err.seat_taken"
    with pytest.raises(Refusal) as holds:
        committee.replace(s, pg, "secretary", first, dt.date(2025, 4, 1))
    assert holds.value.key == "staff.err.holds_seat"
    t2 = committee.replace(s, pg, "chair", second, dt.date(2026, 3, 1))
    committee.end(s, pg, "chair", dt.date(2026, 9, 1), reason="resigned")
    s.commit()
    terms = committee.history(s, pg.id)
    chair_terms = [(t.farmer_id, t.elected_on, t.ended_on, t.end_reason) for t in terms if t.role == "chair"]
    assert chair_terms == [(second.id, dt.date(2026, 3, 1), dt.date(2026, 9, 1), "resigned"),
                           (first.id, dt.date(2025, 3, 1), dt.date(2026, 3, 1), "replaced")]
    assert next(seat for seat in committee.seats(s, pg.id) if seat.role == "chair").holder is None
    roles = dict(s.execute(select(Membership.farmer_id, Membership.role)
                           .where(Membership.farmer_id.in_([first.id, second.id]))).all())
    assert roles == {first.id: "member", second.id: "member"}
    with pytest.raises(Refusal) as vacant:
        committee.end(s, pg, "chair", dt.date(2026, 10, 1))
    assert vacant.value.key == "staff.err.seat_vacant"
    assert t2.id != t1.id


def test_the_home_page_shows_the_programmes_shape_in_the_accounts_area(client, session):
    import re

    from staff_pages import login

    create_demo(session, farmers=1496, seed=20190101, now=NOW, today=NOW.date())
    session.commit()
    make_account(session, "admin", username="amina")
    make_account(session, "extension_officer", "vose", username="rustam")
    figure = lambda html, name: re.search(rf'data-figure="{name}">([^<]+)<', html).group(1)  # noqa: E731
    login(client, "amina")
    html = client.get("/staff/").get_data(as_text=True)
    assert figure(html, "farmers") == "1496 · 29% women"
    assert figure(html, "pgs") == "81"
    assert figure(html, "ec") == "398 of 405 filled · 16% women"
    client.post("/staff/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)})
    login(client, "rustam")
    html = client.get("/staff/").get_data(as_text=True)
    assert figure(html, "pgs") == "20"
    cluster_rows = re.search(r"<caption[^>]*>Producer groups by commodity cluster</caption>.*?<tbody>(.*?)</tbody>",
                             html, re.S).group(1)
    assert cluster_rows.count("<tr>") == 1 and "<td>20</td>" in cluster_rows
    vose = session.scalar(select(func.count()).select_from(Farmer).join(Village, Village.id == Farmer.village_id)
                          .where(Village.district_id == "vose"))
    assert figure(html, "farmers").startswith(f"{vose} ·")
