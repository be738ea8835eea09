"""One VAM agent (``docs/programme.md`` §2.2): entered once, by ``responders add-vam`` or by
``orders agent-set``, it is the supplier of its villages' orders and purchase orders and the
first responder to their farmers' questions; on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from cases import orders as cases
from cases.sms import at
from service.advice import responders
from service.advice.questions import Question
from service.advice.responders import Responder
from service.messaging.message import OutboundMessage
from service.orders import catalogue
from service.orders.rounds import InputOrder
from service.reference.geography import Village

AGENT = "+992902100001"


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": cases.TOKEN}


_n = iter(range(1, 10**6))


def send(client, phone: str, text: str) -> None:
    resp = client.post(f"/sms/inbound?key={cases.TOKEN}", data=at(f"v{next(_n)}", phone, text))
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "processed"


def outbox(session, phone: str) -> list[OutboundMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboundMessage).where(OutboundMessage.phone == phone)
                                .order_by(OutboundMessage.id)))


def guliston(session) -> Village:
    return next(v for v in session.scalars(select(Village).where(Village.district_id == "vose"))
                if v.names["en"] == "Guliston")


def supplies_and_answers(client, session, runner, code: str) -> None:
    """A Guliston member orders and asks: the agent ``code`` supplies ONJ1 (its village beats the
    district's CBOVOSE), answers the question, and the cluster's purchase order names it."""
    agent = responders.by_code(session, code)
    assert session.scalar(select(func.count()).select_from(Responder).where(Responder.phone == AGENT)) == 1
    send(client, cases.FARRUKH, "ORDER ONJ1 2")
    send(client, cases.FARRUKH, "ORDER FCM1 1")  # not the agent's item: the district's supplier
    session.expire_all()
    suppliers = [session.get(Responder, o.supplier_id).code
                 for o in session.scalars(select(InputOrder).order_by(InputOrder.id))]
    assert suppliers == [code, "CBOVOSE"]

    send(client, cases.FARRUKH, "ASK my onion leaves turn yellow")
    question = session.scalars(select(Question)).one()
    assert (question.responder_id, question.level) == (agent.id, 0)
    (to_agent,) = outbox(session, AGENT)
    assert f"ANSWER {question.id}" in to_agent.text
    send(client, AGENT, f"ANSWER {question.id} Spray Bordeaux mixture")
    session.expire_all()
    assert (session.get(Question, question.id).status, session.get(Question, question.id).answered_by) == \
        ("answered", agent.id)
    assert outbox(session, cases.FARRUKH)[-1].text.endswith("Spray Bordeaux mixture")

    assert runner.invoke(args=["orders", "close", "--pg", "VOS03"]).exit_code == 0
    result = runner.invoke(args=["orders", "export", "--cluster", "onion.vose", "--out", "-"])
    rows = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["row"] == "item"]
    assert [(r["supplier_code"], r["supplier"], r["supplier_phone"], r["item_code"], r["packs"]) for r in rows] == \
        [("CBOVOSE", "Demo CBO supply Vose", "+992900000103", "FCM1", "1"),
         (code, agent.name, AGENT, "ONJ1", "2")]


def test_an_agent_added_as_a_responder_supplies_and_answers(client, session, runner):
    cases.build_world(session)
    result = runner.invoke(args=["responders", "add-vam", "--name", "Guliston agro", "--kind", "agro_shop",
                                 "--phone", AGENT[1:], "--district", "vose", "--village", "Guliston",
                                 "--lang", "en", "--code", "gulagro", "--items", "ONJ1,ONS1"])
    assert result.exit_code == 0, result.output
    assert "GULAGRO Guliston agro +992902100001" in result.output and "items ONJ1,ONS1" in result.output
    listed = runner.invoke(args=["orders", "agents"]).output
    assert f"GULAGRO    agro_shop  {AGENT} en districts= villages={guliston(session).id} items=ONJ1,ONS1" in listed
    supplies_and_answers(client, session, runner, "GULAGRO")


def test_an_agent_added_as_a_supplier_supplies_and_answers(client, session, runner):
    cases.build_world(session)
    result = runner.invoke(args=["orders", "agent-set", "gulagro", "--name", "Guliston agro", "--kind", "cbo",
                                 "--phone", AGENT, "--language", "en", "--village", str(guliston(session).id),
                                 "--items", "ONJ1"])
    assert result.exit_code == 0, result.output
    agent = responders.by_code(session, "GULAGRO")
    assert (agent.role, agent.kind, agent.district_id, agent.village_ids) == \
        ("vam_agent", "cbo", "vose", [guliston(session).id])
    assert "\tvam_agent\tcbo\tGuliston agro\t+992902100001\ten\tvose\t" in \
        runner.invoke(args=["responders", "list"]).output
    supplies_and_answers(client, session, runner, "GULAGRO")


def test_one_phone_is_one_agent(session, runner):
    ok = runner.invoke(args=["responders", "add-vam", "--name", "A", "--kind", "cbo", "--phone", AGENT,
                             "--district", "vose", "--village", "Guliston"])
    assert ok.exit_code == 0 and "VAM001" in ok.output  # no --code: the first free one
    again = runner.invoke(args=["orders", "agent-set", "OTHER", "--name", "A", "--kind", "cbo", "--phone", AGENT,
                                "--district", "vose"])
    assert again.exit_code != 0 and "already a vam_agent (VAM001)" in again.output
    taken = runner.invoke(args=["responders", "add-vam", "--name", "B", "--kind", "cbo", "--phone", "+992902100002",
                                "--district", "vose", "--village", "Guliston", "--code", "cbovose"])
    assert taken.exit_code != 0 and "code CBOVOSE is already" in taken.output
    nowhere = runner.invoke(args=["orders", "agent-set", "NOWHERE", "--name", "C", "--kind", "cbo",
                                  "--phone", "+992902100003"])
    assert nowhere.exit_code != 0 and "at least one village or district" in nowhere.output
    assert [a.code for a in responders.vam_agents(session)] == ["CBOVOSE", "SHOPBALKH", "SHOPJOMI", "VAM001",
                                                               "VAMKUL"]


def test_agent_set_changes_the_one_record(session, runner):
    agent = responders.by_code(session, "CBOVOSE")
    village = guliston(session)
    result = runner.invoke(args=["orders", "agent-set", "cbovose", "--village", str(village.id), "--district", "vose",
                                 "--district", "kulob", "--items", "ONJ1,FCM1", "--name", "CBO Guliston"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    agent = session.get(Responder, agent.id)
    assert (agent.name, agent.village_ids, agent.district_ids) == ("CBO Guliston", [village.id], ["kulob", "vose"])
    assert [i.code for i in catalogue.items_of(session, agent)] == ["FCM1", "ONJ1"]
    assert [r.id for r in responders.vam_agents_of(session, village.id)] == [agent.id]
    onj1 = catalogue.by_code(session, "ONJ1")
    assert catalogue.supplier_for(session, onj1, village.id) is agent
    agent.active = False  # an agent switched off neither supplies nor answers
    session.flush()
    assert catalogue.supplier_for(session, onj1, village.id) is None
    assert responders.vam_agents_of(session, village.id) == []


def test_the_demo_agents_supply_whole_districts_and_answer_no_question_until_the_demo(session):
    """``init_db`` loads the catalogue's demo agents for every database; they supply their district
    (village first, else district, lowest code) but serve no village, so questions of a region
    without demo data still climb to lead farmers and extension staff."""
    agents = responders.vam_agents(session)
    assert [(a.code, a.district_ids, a.village_ids) for a in agents] == [
        ("CBOVOSE", ["vose"], []), ("SHOPBALKH", ["balkhi"], []), ("SHOPJOMI", ["jomi"], []),
        ("VAMKUL", ["kulob"], [])]
    village = guliston(session)
    assert catalogue.supplier_for(session, catalogue.by_code(session, "ONJ1"), village.id).code == "CBOVOSE"
    assert responders.serving(session, village.id, "vose") == []
