"""The producer group and registry pages: the list and its filters, a PG's page, the EC and stage
actions with their audit entries, join requests decided by staff, creating a PG, who may do what,
and the scope (a PG of another district is a 404)."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from service.advice import questions, responders
from service.advice.demo_plot import DemoPlot
from service.audit.log import AuditEntry
from service.farmers.models import Farmer, register
from service.groups import committee, membership, producer_group
from service.groups.committee import EcTerm
from service.groups.membership import Membership
from service.groups.producer_group import CBO, ProducerGroup
from service.messaging.message import OutboundMessage
from service.orders import rounds
from service.orders.catalogue import InputItem
from service.reference.geography import Village
from service.staff.scope import Scope
from staff_pages import csrf, login, make_account

ELECTED = dt.date(2025, 3, 1)
NOW = dt.datetime(2026, 4, 2, 9, 0, tzinfo=dt.timezone.utc)


def _village(session, district: str, index: int = 0) -> Village:
    return session.scalars(select(Village).where(Village.district_id == district).order_by(Village.id)).all()[index]


def _farmer(session, village, name, gender, n) -> Farmer:
    return register(session, phone=f"+9929055{n:05d}", name=name, gender=gender, village_id=village.id,
                    crop_ids=["tomato"], land_m2=5000, language="en", via="ussd")


def world(session) -> dict:
    """A small programme: two PGs in Kulob (KUL01 with a chair, members, a pending applicant, an
    order and a question; KUL02 norming) and one in Vose' (VOS01)."""
    kulob, kulob2, vose = _village(session, "kulob"), _village(session, "kulob", 1), _village(session, "vose")
    cbo = CBO(name="CBO Dahana", village_id=kulob.id)
    session.add(cbo)
    session.flush()
    kul01 = producer_group.create(session, code="kul01", name="Dahana tomato", village_id=kulob.id, cbo_id=cbo.id,
                                  cluster_id="tomato.kulob", on=dt.date(2024, 5, 1))
    kul02 = producer_group.create(session, code="KUL02", name="Zarbdor tomato", village_id=kulob2.id,
                                  cluster_id="tomato.kulob", on=dt.date(2024, 5, 1))
    producer_group.set_stage(session, kul02, "norming", dt.date(2025, 6, 1))
    vos01 = producer_group.create(session, code="VOS01", name="Guliston onion", village_id=vose.id,
                                  cluster_id="onion.vose", on=dt.date(2024, 5, 1))
    people = {}
    for n, (name, gender) in enumerate([("Rustam Karimov", "male"), ("Zarina Saidova", "female"),
                                        ("Firuza Nazarova", "female"), ("Bahrom Aliev", "male")]):
        people[name.split()[0].lower()] = f = _farmer(session, kulob, name, gender, n)
        membership.join(session, f, kul01)
    committee.fill(session, kul01, "chair", people["rustam"], ELECTED)
    people["dilnoza"] = _farmer(session, kulob, "Dilnoza Rahimova", "female", 10)
    membership.join(session, people["dilnoza"], kul01)  # pending: KUL01 has an EC
    people["vosid"] = _farmer(session, vose, "Vosid Umarov", "male", 20)
    membership.join(session, people["vosid"], vos01)
    item = session.scalars(select(InputItem).where(InputItem.active.is_(True)).order_by(InputItem.code)).first()
    rounds.place_order(session, people["zarina"], item, 2, NOW, via="sms")
    questions.ask(session, people["firuza"], "When to transplant tomato seedlings?", channel="sms", now=NOW)
    lead = responders.add_lead_farmer(session, people["firuza"], pg=kul01)
    session.add(DemoPlot(lead_id=lead.id, village_id=kulob.id, crop_id="tomato", area_m2=2500, season=2025,
                         practice="Staking and mulching"))
    session.commit()
    return {"kul01": kul01, "kul02": kul02, "vos01": vos01, "item": item, **people}


@pytest.fixture
def data(session):
    return world(session)


@pytest.fixture
def officer(session, data):
    return make_account(session, "extension_officer", "kulob", username="officer")


def html(response) -> str:
    return unescape(response.get_data(as_text=True))


def pg_codes(page: str) -> list[str]:
    return re.findall(r'href="/staff/pgs/([A-Z0-9]+)"', page)


def send(client, path: str, data: dict, page: str = "/staff/pgs/KUL01"):
    return client.post(path, data={**data, "csrf_token": csrf(client, page)})


def test_the_list_shows_the_pgs_in_scope_with_filters_and_counts(client, session, officer):
    login(client, "officer")
    page = html(client.get("/staff/pgs"))
    assert pg_codes(page) == ["KUL01", "KUL02"]  # VOS01 is another district's
    assert "2 producer groups" in page
    row = re.search(r"KUL01</a></td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["4", "2"]  # active members, women among them
    assert '<label for="f-district">' in page and '<label for="f-stage">' in page
    assert pg_codes(html(client.get("/staff/pgs?stage=norming"))) == ["KUL02"]
    assert pg_codes(html(client.get("/staff/pgs?cluster=tomato.kulob&stage=forming"))) == ["KUL01"]
    # a filter outside the scope is ignored rather than telling anything
    assert pg_codes(html(client.get("/staff/pgs?district=vose"))) == ["KUL01", "KUL02"]
    assert pg_codes(html(client.get("/staff/pgs?cluster=onion.vose"))) == ["KUL01", "KUL02"]


def test_paging(client, session, data):
    from service.programme import registry

    make_account(session, "admin", username="amina")
    login(client, "amina")
    everything = Scope(role="admin", everything=True)
    first = registry.pg_list(session, everything, per_page=2)
    assert first.total == 3 and first.pages == 2 and [r.pg.code for r in first.rows] == ["KUL01", "KUL02"]
    second = registry.pg_list(session, everything, page=9, per_page=2)
    assert second.page == 2 and [r.pg.code for r in second.rows] == ["VOS01"]
    assert pg_codes(html(client.get("/staff/pgs?page=abc"))) == ["KUL01", "KUL02", "VOS01"]


def test_the_pg_page_shows_the_group(client, session, officer, data):
    login(client, "officer")
    page = html(client.get("/staff/pgs/kul01"))
    assert "<h1>KUL01 · Dahana tomato</h1>" in page
    for text in ("CBO Dahana", "Tomato", "Forming", "4 · 2 women", "Rustam Karimov", data["rustam"].code,
                 "Zarina Saidova", "Woman", "Dilnoza Rahimova", "Waiting", "2025-03-01", "2027-03-01",
                 "2024-05-01: Forming", "When to transplant tomato seedlings?", data["item"].name("en")):
        assert text in page, text
    seats = re.search(r'<table id="seats".*?</table>', page, re.S).group(0)
    assert re.search(r'data-seat="chair">.*?Rustam Karimov', seats, re.S)
    assert re.search(r'data-seat="deputy">.*?Vacant', seats, re.S)
    assert 'id="seat-replace"' in page and 'id="stage-form"' in page and ">Approve</button>" in page


def test_a_pg_outside_the_scope_is_not_found(client, session, officer, data):
    make_account(session, "extension_officer", "vose", username="other")
    login(client, "other")
    assert client.get("/staff/pgs/KUL01").status_code == 404
    assert client.get("/staff/pgs/NOPE1").status_code == 404
    assert send(client, "/staff/pgs/KUL01/seat/end", {"role": "chair", "on": "2025-11-01", "reason": "ended"},
                page="/staff/pgs").status_code == 404
    session.expire_all()
    assert committee.open_term(session, data["kul01"].id, "chair").farmer_id == data["rustam"].id
    assert client.get("/staff/pgs/VOS01").status_code == 200


def _audit(session, action: str) -> AuditEntry:
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)).one()


def test_fill_replace_and_end_seats_keep_the_history_and_the_audit(client, session, officer, data):
    login(client, "officer")
    kul01 = data["kul01"].id
    done = send(client, "/staff/pgs/KUL01/seat/fill",
                {"role": "deputy", "farmer": data["zarina"].id, "elected_on": "2025-03-01"})
    assert done.status_code == 302 and done.location.endswith("/staff/pgs/KUL01")
    assert "The seat is filled." in html(client.get("/staff/pgs/KUL01"))
    entry = _audit(session, "pg.seat.fill")
    assert entry.before["holder"] is None and entry.after["holder"] == data["zarina"].code
    assert entry.channel == "web" and entry.account_id == officer.id

    done = send(client, "/staff/pgs/KUL01/seat/replace",
                {"role": "chair", "farmer": data["bahrom"].id, "elected_on": "2025-09-10"})
    assert done.status_code == 302
    session.expire_all()
    terms = committee.history(session, kul01)
    chair_terms = [(t.farmer_id, t.elected_on, t.ended_on, t.end_reason) for t in terms if t.role == "chair"]
    assert chair_terms == [(data["bahrom"].id, dt.date(2025, 9, 10), None, None),
                           (data["rustam"].id, ELECTED, dt.date(2025, 9, 10), "replaced")]
    entry = _audit(session, "pg.seat.replace")
    assert (entry.before["holder"], entry.after["holder"]) == (data["rustam"].code, data["bahrom"].code)
    page = html(client.get("/staff/pgs/KUL01"))
    history = re.search(r'<table id="terms".*?</table>', page, re.S).group(0)
    assert "Bahrom Aliev" in history and "Rustam Karimov" in history and "Replaced" in history

    done = send(client, "/staff/pgs/KUL01/seat/end", {"role": "deputy", "on": "2025-10-01", "reason": "resigned"})
    assert done.status_code == 302
    session.expire_all()
    term = session.scalars(select(EcTerm).where(EcTerm.pg_id == kul01, EcTerm.role == "deputy")).one()
    assert (term.ended_on, term.end_reason) == (dt.date(2025, 10, 1), "resigned")
    assert session.scalar(select(Membership.role).where(Membership.farmer_id == data["zarina"].id)) == "member"
    entry = _audit(session, "pg.seat.end")
    assert entry.before["holder"] == data["zarina"].code and entry.after["holder"] is None
    assert entry.after["ended"]["end_reason"] == "resigned"


def test_refusals_are_shown_in_the_page_language(client, session, data):
    make_account(session, "extension_officer", "kulob", username="rustam-ru", language="ru")
    login(client, "rustam-ru")
    # the chair's seat has a holder: filling it is refused
    page = send(client, "/staff/pgs/KUL01/seat/fill",
                {"role": "chair", "farmer": data["zarina"].id, "elected_on": "2025-03-01"})
    assert page.status_code == 400 and web_word("staff.err.seat_taken", "ru") in html(page)
    # the chair cannot take a second seat
    page = send(client, "/staff/pgs/KUL01/seat/replace",
                {"role": "treasurer", "farmer": data["rustam"].id, "elected_on": "2025-03-01"})
    assert page.status_code == 400
    assert web_word("staff.err.holds_seat", "ru").format(role="Председатель") in html(page)
    page = send(client, "/staff/pgs/KUL01/seat/end", {"role": "deputy", "on": "2025-11-01", "reason": "ended"})
    assert page.status_code == 400 and web_word("staff.err.seat_vacant", "ru") in html(page)
    page = send(client, "/staff/pgs/KUL01/seat/fill", {"role": "deputy", "farmer": data["vosid"].id,
                                                       "elected_on": "2025-03-01"})
    assert page.status_code == 400 and "Выберите активного члена этой группы." in html(page)
    page = send(client, "/staff/pgs/KUL01/stage", {"stage": "norming", "on": "2999-01-01"})
    assert page.status_code == 400 and "Дата не может быть в будущем." in html(page)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("pg.%"))) == 0
    assert len(committee.history(session, data["kul01"].id)) == 1


def web_word(key: str, lang: str) -> str:
    from handlers.staff import web

    return web.strings()[lang][key]


def test_a_stage_is_recorded_with_its_history(client, session, officer, data):
    login(client, "officer")
    assert send(client, "/staff/pgs/KUL01/stage", {"stage": "storming", "on": "2025-09-01"}).status_code == 302
    page = html(client.get("/staff/pgs/KUL01"))
    assert "2025-09-01: Storming" in page and "2024-05-01: Forming" in page
    assert re.search(r'data-figure="stage">Storming<', page)
    entry = _audit(session, "pg.stage")
    assert entry.before["stage"] == "forming" and entry.after == {"code": "KUL01", "stage": "storming",
                                                                   "assessed": "storming", "assessed_on": "2025-09-01"}
    assert send(client, "/staff/pgs/KUL01/stage", {"stage": "famous", "on": "2025-09-01"}).status_code == 400


def test_staff_approve_and_refuse_join_requests_and_the_farmer_is_told(client, session, officer, data):
    login(client, "officer")
    request = session.scalar(select(Membership).where(Membership.farmer_id == data["dilnoza"].id))
    done = send(client, f"/staff/pgs/KUL01/requests/{request.id}", {"decision": "approve"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Membership, request.id).status == "active"
    told = session.scalars(select(OutboundMessage).where(OutboundMessage.farmer_id == data["dilnoza"].id)).all()
    assert len(told) == 1 and "KUL01" in told[0].text
    entry = _audit(session, "pg.request.approve")
    assert (entry.before["status"], entry.after["status"]) == ("pending", "active")
    # deciding it again changes nothing and tells nobody
    again = send(client, f"/staff/pgs/KUL01/requests/{request.id}", {"decision": "refuse"})
    assert again.status_code == 302 and "already decided" in html(client.get("/staff/pgs/KUL01"))
    session.expire_all()
    assert session.get(Membership, request.id).status == "active"
    # a refused request
    late = _farmer(session, _village(session, "kulob"), "Gulnora Safarova", "female", 30)
    pending = membership.join(session, late, data["kul01"])
    session.commit()
    assert send(client, f"/staff/pgs/KUL01/requests/{pending.id}", {"decision": "refuse"}).status_code == 302
    session.expire_all()
    assert session.get(Membership, pending.id).status == "rejected"
    assert _audit(session, "pg.request.refuse").after["status"] == "rejected"
    # a request of another PG is not found through this one
    other = membership.join(session, _farmer(session, _village(session, "vose"), "Olim Sharipov", "male", 40),
                            data["vos01"])
    session.commit()
    assert send(client, f"/staff/pgs/KUL01/requests/{other.id}", {"decision": "approve"}).status_code == 404


def test_staff_decide_service(session, data):
    request = session.scalar(select(Membership).where(Membership.farmer_id == data["dilnoza"].id))
    assert membership.staff_decide(session, request, False, NOW) is True
    assert (request.status, request.left_at, request.rejected_by) == ("rejected", NOW, None)
    assert membership.staff_decide(session, request, True, NOW) is False and request.status == "rejected"
    notices = session.scalars(select(OutboundMessage).where(OutboundMessage.farmer_id == data["dilnoza"].id)).all()
    assert len(notices) == 1
    membership.leave(session, data["vosid"])
    left = session.scalar(select(Membership).where(Membership.farmer_id == data["vosid"].id))
    left.joined_at = None  # a request withdrawn before it was decided
    from service.errors import Refusal
    with pytest.raises(Refusal) as refused:
        membership.staff_decide(session, left, True, NOW)
    assert refused.value.key == "err.request_withdrawn"


def test_a_pg_leader_reads_their_pg_and_decides_its_requests_only(client, session, data):
    make_account(session, "pg_leader", "KUL01", username="leader")
    login(client, "leader")
    page = html(client.get("/staff/pgs/KUL01"))
    assert "Rustam Karimov" in page and ">Approve</button>" in page
    assert 'id="seat-replace"' not in page and 'id="stage-form"' not in page
    assert pg_codes(html(client.get("/staff/pgs"))) == ["KUL01"]
    assert client.get("/staff/pgs/KUL02").status_code == 404
    assert send(client, "/staff/pgs/KUL01/stage", {"stage": "norming", "on": "2025-01-01"}).status_code == 404
    assert send(client, "/staff/pgs/KUL01/seat/end", {"role": "chair", "on": "2025-01-01",
                                                      "reason": "ended"}).status_code == 404
    request = session.scalar(select(Membership).where(Membership.farmer_id == data["dilnoza"].id))
    assert send(client, f"/staff/pgs/KUL01/requests/{request.id}", {"decision": "approve"}).status_code == 302
    assert client.get("/staff/pgs/new").status_code == 404


def test_a_vam_agent_reads_only_and_a_market_reporter_sees_nothing(client, session, data):
    make_account(session, "vam_agent", str(data["kul01"].village_id), username="agent")
    login(client, "agent")
    page = html(client.get("/staff/pgs/KUL01"))
    assert "Rustam Karimov" in page and ">Approve</button>" not in page and 'id="seat-fill"' not in page
    request = session.scalar(select(Membership).where(Membership.farmer_id == data["dilnoza"].id))
    assert send(client, f"/staff/pgs/KUL01/requests/{request.id}", {"decision": "approve"}).status_code == 404
    client.post("/staff/logout", data={"csrf_token": csrf(client, "/staff/")})
    make_account(session, "market_reporter", "KULOB", username="reporter")
    login(client, "reporter")
    assert client.get("/staff/pgs").status_code == 404 and client.get("/staff/registry/clusters").status_code == 404
    assert "/staff/pgs" not in html(client.get("/staff/"))


def test_a_cluster_coordinator_acts_within_the_cluster(client, session, data):
    make_account(session, "cluster_coordinator", "onion.vose", username="coord")
    login(client, "coord")
    assert pg_codes(html(client.get("/staff/pgs"))) == ["VOS01"]
    assert client.get("/staff/pgs/KUL01").status_code == 404
    done = send(client, "/staff/pgs/VOS01/seat/fill", {"role": "chair", "farmer": data["vosid"].id,
                                                       "elected_on": "2025-08-15"}, page="/staff/pgs/VOS01")
    assert done.status_code == 302
    session.expire_all()
    assert committee.open_term(session, data["vos01"].id, "chair").farmer_id == data["vosid"].id
    assert client.get("/staff/pgs/new").status_code == 404


def test_a_post_without_csrf_is_refused(client, session, officer, data):
    login(client, "officer")
    refused = client.post("/staff/pgs/KUL01/seat/replace",
                          data={"role": "chair", "farmer": data["bahrom"].id, "elected_on": "2025-09-10"})
    assert refused.status_code == 400
    refused = client.post("/staff/pgs/KUL01/stage", data={"stage": "norming", "on": "2025-11-01", "csrf_token": "x"})
    assert refused.status_code == 400
    session.expire_all()
    assert committee.open_term(session, data["kul01"].id, "chair").farmer_id == data["rustam"].id
    assert session.get(ProducerGroup, data["kul01"].id).stage == "forming"


def test_an_officer_creates_a_pg_in_their_district(client, session, officer, data):
    login(client, "officer")
    form = html(client.get("/staff/pgs/new"))
    assert '<label for="pg-code">' in form and "CBO Dahana" in form
    village = _village(session, "kulob", 2)
    done = send(client, "/staff/pgs/new", {"code": "kul-03", "name": "Ziraki tomato", "village": village.id,
                                            "cluster": "tomato.kulob"}, page="/staff/pgs/new")
    assert done.status_code == 302 and done.location.endswith("/staff/pgs/KUL03")
    page = html(client.get("/staff/pgs/KUL03"))
    assert "Ziraki tomato" in page and "Forming" in page
    assert _audit(session, "pg.create").after["code"] == "KUL03"
    taken = send(client, "/staff/pgs/new", {"code": "KUL01", "name": "Again", "village": village.id},
                 page="/staff/pgs/new")
    assert taken.status_code == 400 and "The code KUL01 is taken." in html(taken)
    other = send(client, "/staff/pgs/new", {"code": "VOS09", "name": "Elsewhere",
                                            "village": _village(session, "vose").id}, page="/staff/pgs/new")
    assert other.status_code == 400
    wrong = send(client, "/staff/pgs/new", {"code": "KUL09", "name": "Wrong cluster", "village": village.id,
                                            "cluster": "onion.vose"}, page="/staff/pgs/new")
    assert wrong.status_code == 400 and "This cluster is not of the village's district." in html(wrong)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ProducerGroup)) == 4


def test_create_service_refusals(session, data):
    from service.errors import Refusal

    village = _village(session, "kulob")
    for kwargs, key in ((dict(code="X"), "staff.err.pg_code"), (dict(code="KUL01"), "staff.err.pg_code_taken"),
                        (dict(name="x"), "staff.err.pg_name"), (dict(village_id=10 ** 9), "staff.err.village_unknown"),
                        (dict(cbo_id=10 ** 9), "staff.err.cbo_other_village")):
        values = {**dict(code="NEW01", name="New group", village_id=village.id, on=dt.date(2025, 1, 1)), **kwargs}
        with pytest.raises(Refusal) as refused:
            producer_group.create(session, **values)
        assert refused.value.key == key


def test_the_registry_lists(client, session, officer, data):
    login(client, "officer")
    page = html(client.get("/staff/registry/clusters"))
    assert "Tomato" in page and "KUL01" in page and "Rustam Karimov" in page and "VOS01" not in page
    assert "the chairs of its producer groups" in page and "/staff/clusters/tomato.kulob" in page
    centres = html(client.get("/staff/registry/centres"))
    assert "DAHANA" in centres and "1,000" in centres and "VOSECC" not in centres
    agents = html(client.get("/staff/registry/vam-agents"))
    row = re.search(r"<td>VAMKUL</td>.*?</tr>", agents, re.S).group(0)
    assert "Person" in row and "whole districts: Kulob" in row and "TML1" in row
    assert "CBOVOSE" not in agents
    leads = html(client.get("/staff/registry/lead-farmers"))
    row = re.search(r'<table id="lead-farmers">.*?</table>', leads, re.S).group(0)
    assert "Firuza Nazarova" in row and "KUL01" in row and "2025 · Tomato" in row and "0.25 ha" in row
    assert "Staking and mulching" in row
    client.post("/staff/logout", data={"csrf_token": csrf(client, "/staff/")})
    make_account(session, "extension_officer", "vose", username="vose-officer")
    login(client, "vose-officer")
    assert "VAMKUL" not in html(client.get("/staff/registry/vam-agents"))
    assert "Firuza Nazarova" not in html(client.get("/staff/registry/lead-farmers"))
    assert "VOSECC" in html(client.get("/staff/registry/centres"))
    nav = html(client.get("/staff/"))
    assert 'href="/staff/pgs"' in nav and 'href="/staff/registry/clusters"' in nav


def test_the_words_are_complete_in_tajik_and_russian():
    import tomllib
    from pathlib import Path

    words = tomllib.loads((Path(__file__).resolve().parent.parent / "service" / "templates" / "staff" / "strings"
                           / "pgs.toml").read_text())
    for lang in ("tg", "ru"):
        assert set(words[lang]) == set(words["en"]), lang
    assert set(words["uz"]) <= set(words["en"])


def test_an_erased_member_shows_as_erased_and_cannot_be_chosen(client, session, officer, data):
    from service.farmers import privacy

    code, name = data["zarina"].code, data["zarina"].name
    privacy.erase(session, data["zarina"], now=NOW)
    session.commit()
    login(client, "officer")
    page = html(client.get("/staff/pgs/KUL01"))
    assert "(data erased)" in page and code not in page and name not in page
    options = re.findall(r'<select id="replace-farmer".*?</select>', page, re.S)[0]
    assert f'value="{data["zarina"].id}"' not in options and f'value="{data["bahrom"].id}"' in options
    refused = send(client, "/staff/pgs/KUL01/seat/fill", {"role": "secretary", "farmer": data["zarina"].id,
                                                          "elected_on": "2026-01-05"})
    assert refused.status_code == 400


def test_a_seat_whose_term_ran_out_says_so(client, session, officer, data):
    committee.fill(session, data["kul01"], "treasurer", data["bahrom"], dt.date(2019, 2, 1))  # ended 2021
    committee.fill(session, data["kul01"], "deputy", data["zarina"], dt.date(2025, 2, 1), term_ends_on=dt.date(2099, 1, 1))
    session.commit()
    login(client, "officer")
    page = html(client.get("/staff/pgs/KUL01"))
    row = re.search(r'<tr data-seat="treasurer">(.*?)</tr>', page, re.S).group(1)
    assert "Term over: time for an election" in row
    deputy = re.search(r'<tr data-seat="deputy">(.*?)</tr>', page, re.S).group(1)
    assert "Term over" not in deputy and "2099-01-01" in deputy
