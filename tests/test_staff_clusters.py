"""A commodity cluster's page: its committee's seats filled, replaced and ended by the people who
may, with the audit log and the seat history; who sees it; refusals in the page language."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.audit.log import AuditEntry
from service.groups import cluster_committee
from service.groups.cluster import CommodityCluster
from staff_pages import csrf, login, make_account
from test_staff_pgs import html, world

PAGE = "/staff/clusters/tomato.kulob"


@pytest.fixture
def data(session):
    return world(session)


def send(client, path: str, form: dict):
    return client.post(path, data={**form, "csrf_token": csrf(client, PAGE)})


@pytest.mark.parametrize("role, scope, status", [
    ("admin", (), 200),
    ("extension_officer", ("kulob",), 200),
    ("cluster_coordinator", ("tomato.kulob",), 200),
    ("pg_leader", ("KUL01",), 200),          # one of the cluster's PGs
    ("extension_officer", ("vose",), 404),   # another district's cluster
    ("cluster_coordinator", ("onion.vose",), 404),
    ("pg_leader", ("VOS01",), 404),
    ("market_reporter", ("KULOB",), 404),
])
def test_who_sees_the_cluster_page(client, session, data, role, scope, status):
    make_account(session, role, *scope, username="someone")
    login(client, "someone")
    assert client.get(PAGE).status_code == status
    assert client.get("/staff/clusters/no.such").status_code == 404


def test_fill_replace_and_end_a_seat_with_the_audit_log_and_the_history(client, session, data):
    make_account(session, "cluster_coordinator", "tomato.kulob", username="coord")
    login(client, "coord")
    page = html(client.get(PAGE))
    name = session.get(CommodityCluster, "tomato.kulob").name("en")
    assert f"<h1>{name}</h1>" in page
    assert 'id="seat-fill"' in page and 'id="seat-replace"' not in page  # nothing held yet
    answer = send(client, f"{PAGE}/seat/fill", {"role": "chair", "farmer": data["zarina"].id,
                                                "elected_on": "2025-04-01"})
    assert answer.status_code == 302
    page = html(client.get(PAGE))
    assert "The seat is filled." in page and "Zarina Saidova" in page and "KUL01" in page
    send(client, f"{PAGE}/seat/replace", {"role": "chair", "farmer": data["bahrom"].id, "elected_on": "2026-01-10"})
    session.expire_all()
    history = cluster_committee.history(session, "tomato.kulob")
    assert [(t.farmer_id, t.end_reason) for t in history] == [(data["bahrom"].id, None), (data["zarina"].id, "replaced")]
    send(client, f"{PAGE}/seat/end", {"role": "chair", "on": "2026-02-01", "reason": "resigned"})
    session.expire_all()
    assert cluster_committee.open_term(session, "tomato.kulob", "chair") is None
    entries = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "commodity_cluster")
                              .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["cluster.seat.fill", "cluster.seat.replace", "cluster.seat.end"]
    assert entries[1].before["holder"] == data["zarina"].code and entries[1].after["holder"] == data["bahrom"].code
    assert entries[0].actor.startswith("coord") and entries[0].channel == "web"


def test_a_farmer_outside_the_cluster_is_refused_in_the_page_language(client, session, data):
    make_account(session, "admin", username="amina", language="ru")
    login(client, "amina")
    answer = send(client, f"{PAGE}/seat/fill", {"role": "chair", "farmer": data["vosid"].id,
                                                "elected_on": "2025-04-01"})
    assert answer.status_code == 400
    assert "член одной из групп кластера" in html(answer)
    assert cluster_committee.history(session, "tomato.kulob") == []
    assert send(client, f"{PAGE}/seat/fill", {"role": "king", "farmer": data["zarina"].id,
                                              "elected_on": "2025-04-01"}).status_code == 400


def test_readers_may_not_change_seats_and_posts_need_their_token(client, session, data):
    make_account(session, "pg_leader", "KUL01", username="leader")
    login(client, "leader")
    assert 'id="seat-fill"' not in html(client.get(PAGE))
    assert send(client, f"{PAGE}/seat/fill", {"role": "chair", "farmer": data["zarina"].id,
                                              "elected_on": "2025-04-01"}).status_code == 404
    client.post("/staff/logout", data={"csrf_token": csrf(client, PAGE)})
    make_account(session, "admin", username="amina")
    login(client, "amina")
    refused = client.post(f"{PAGE}/seat/fill", data={"role": "chair", "farmer": data["zarina"].id,
                                                     "elected_on": "2025-04-01"})
    assert refused.status_code == 400
    assert cluster_committee.history(session, "tomato.kulob") == []


def test_the_clusters_list_links_each_cluster_page(client, session, data):
    make_account(session, "extension_officer", "kulob", username="officer")
    login(client, "officer")
    page = html(client.get("/staff/registry/clusters"))
    assert 'href="/staff/clusters/tomato.kulob"' in page and "onion.vose" not in page
