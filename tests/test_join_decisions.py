"""Join requests decided or withdrawn (issue 9 item 10): the Executive Committee's queued
"please approve" notices are withdrawn from the outbox and never go; an applicant who left
is not told "accepted"; the outbox's withdrawal leaves every row that may have gone alone.

The clock is set (time-machine) to the night of the report: a farmer asks to join at 23:50,
the chair approves at 00:04 (quiet hours 21:00-07:00 hold the notices), the window opens at 07:00.
"""
from __future__ import annotations

import datetime as dt
import urllib.parse
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from cases import ussd as cases
from cases.sms import at
from service import session_factory
from service.farmers.models import Farmer
from service.groups import membership
from service.messaging import dispatch, gateways, outbox
from service.messaging.message import OutboundMessage, queue_sms

TZ = ZoneInfo("Asia/Dushanbe")
CHAIR, DEPUTY = cases.EC_PHONES[0], cases.EC_PHONES[1]


@pytest.fixture
def app_settings():
    return {"QUIET_HOURS_START": "21:00", "QUIET_HOURS_END": "07:00", "SEND_RATE_SEGMENTS_PER_SECOND": 0}


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ).astimezone(dt.timezone.utc)


EVENING, NIGHT, MORNING = local(2027, 5, 1, 23, 50), local(2027, 5, 2, 0, 4), local(2027, 5, 2, 7, 0)


def sms(client, msg_id: str, phone: str, text: str) -> None:
    resp = client.post("/sms/inbound", data=urllib.parse.urlencode(at(msg_id, phone, text)),
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200


def ussd(client, session_id: str, phone: str, text: str) -> str:
    resp = client.post("/ussd", data=urllib.parse.urlencode(cases.hop(text, session=session_id, phone=phone)),
                       content_type=cases.FORM)
    return resp.get_data(as_text=True)


def run(app, now):
    return dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config), app.config, now=now)


def rows(session, phone: str | None = None) -> list[OutboundMessage]:
    session.expire_all()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    return list(session.scalars(query.where(OutboundMessage.phone == phone) if phone else query))


def ask_to_join_at_night(app, client, session) -> Farmer:
    """Zarina (``SOLO_PHONE``) asks to join DAH01 by USSD at 23:50: her reply goes, the five EC
    members' notices are held by the quiet hours."""
    cases.build_world(session)
    with time_machine.travel(EVENING, tick=False):
        assert ussd(client, "J1", cases.SOLO_PHONE, "1*1*1").startswith("END ")
        run(app, EVENING)
    notices = [r for r in rows(session) if r.phone in cases.EC_PHONES]
    assert len(notices) == 5 and {r.status for r in notices} == {"queued"}
    return session.scalar(select(Farmer).where(Farmer.phone == cases.SOLO_PHONE))


@pytest.mark.parametrize("channel", ["sms", "ussd"])
def test_a_request_approved_at_0004_withdraws_the_other_ec_notices_that_never_go(app, client, session, channel):
    zarina = ask_to_join_at_night(app, client, session)
    with time_machine.travel(NIGHT, tick=False):
        if channel == "sms":  # the chair, in Tajik
            sms(client, "a1", CHAIR, f"APPROVE {zarina.code}")
        else:  # the deputy, in Russian: Committee (7) -> Join requests (1) -> next page (98: one request a
            # page with 8-digit member codes, Said's older one first) -> Zarina (1) -> Approve (1)
            assert ussd(client, "E1", DEPUTY, "7*1*98*1*1").startswith("END ")
        run(app, NIGHT)
    assert membership.current(session, zarina).status == "active"
    notices = [r for r in rows(session) if r.phone in cases.EC_PHONES and r.kind == "notice"]
    assert len(notices) == 5
    assert {r.status for r in notices} == {"withdrawn"}
    assert all(r.failure_reason.startswith("withdrawn: request approved by ") for r in notices)
    with time_machine.travel(MORNING, tick=False):
        summary = run(app, MORNING)
    assert summary.claimed == 1  # only Zarina's welcome went at 07:00
    welcome = [r for r in rows(session, cases.SOLO_PHONE) if r.kind == "notice"]
    assert [(r.status, r.language) for r in welcome] == [("delivered", "tg")]
    assert welcome[0].text.endswith("қабул шудед!")
    assert not [r for r in rows(session) if r.phone in cases.EC_PHONES and r.kind == "notice"
                and r.status != "withdrawn"]


def test_an_applicant_who_withdrew_is_never_told_accepted(app, client, session):
    zarina = ask_to_join_at_night(app, client, session)
    with time_machine.travel(EVENING + dt.timedelta(minutes=5), tick=False):
        sms(client, "l1", cases.SOLO_PHONE, "LEAVE")  # she changed her mind: the request is withdrawn
    assert {r.status for r in rows(session) if r.phone in cases.EC_PHONES} == {"withdrawn"}
    with time_machine.travel(NIGHT, tick=False):
        sms(client, "a1", CHAIR, f"APPROVE {zarina.code}")
        run(app, NIGHT)
    reply = rows(session, CHAIR)[-1]
    assert reply.kind == "reply" and reply.status == "delivered"
    assert reply.text == f"Дархости {zarina.name} ({zarina.code}) бозпас гирифта шудааст."
    assert membership.current(session, zarina) is None
    with time_machine.travel(MORNING, tick=False):
        assert run(app, MORNING).claimed == 0
    assert [r.kind for r in rows(session, cases.SOLO_PHONE)] == ["reply", "reply"]  # her own replies only


def test_an_applicant_who_left_after_the_approval_is_not_told_accepted(app, client, session):
    zarina = ask_to_join_at_night(app, client, session)
    with time_machine.travel(NIGHT, tick=False):
        sms(client, "a1", CHAIR, f"APPROVE {zarina.code}")
        sms(client, "l1", cases.SOLO_PHONE, "LEAVE")
        run(app, NIGHT)
    welcome = [r for r in rows(session, cases.SOLO_PHONE) if r.kind == "notice"]
    assert [r.status for r in welcome] == ["withdrawn"]
    with time_machine.travel(MORNING, tick=False):
        assert run(app, MORNING).claimed == 0


def test_withdraw_takes_only_queued_rows_never_accepted(app, session):
    """Rows that may have gone (claimed, accepted, unconfirmed, held, delivered) are left; a queued
    row waiting for a retry after a refusal is withdrawn; a key that merely starts alike is not."""
    made = {}
    for state in ("queued", "sending", "accepted", "unconfirmed", "held", "delivered", "retry"):
        row = queue_sms(session, "+992901230001", state, kind="notice", dedupe_key=f"join-ec:7:{state}")
        row.status = "queued" if state == "retry" else state
        if state == "retry":
            row.attempts = 1
        if state == "accepted":
            row.gateway_message_id = "ATXid_x"
        made[state] = row
    other = queue_sms(session, "+992901230001", "other", kind="notice", dedupe_key="join-ec:70:1")
    session.commit()
    assert outbox.withdraw(session, key_prefix="join-ec:7:", why="decided") == 2
    session.commit()
    session.expire_all()
    assert {s: r.status for s, r in made.items()} == {
        "queued": "withdrawn", "retry": "withdrawn", "sending": "sending", "accepted": "accepted",
        "unconfirmed": "unconfirmed", "held": "held", "delivered": "delivered"}
    assert other.status == "queued"
    assert made["queued"].failure_reason == "withdrawn: decided"
    # a withdrawn row is final: released by hand it is not
    assert outbox.why_not_released(made["queued"], True)
    with pytest.raises(ValueError):
        outbox.withdraw(session, why="nothing chosen")


def test_a_row_claimed_by_a_dispatcher_first_is_sent_once_not_withdrawn(app, session):
    """The dispatcher's claim and the withdrawal both re-check ``queued``: whichever commits first wins."""
    now = local(2027, 5, 2, 10)
    queue_sms(session, "+992901230002", "approve me", kind="notice", dedupe_key="join-ec:8:1", not_before=now)
    session.commit()
    claimed = dispatch._claim(session, 10, now, dispatch.Rules.of(app.extensions["dehqon.settings"]),
                              dispatch.Summary())
    assert [r.status for r in claimed] == ["sending"]
    assert outbox.withdraw(session, key_prefix="join-ec:8:", why="decided") == 0
    session.commit()
    session.expire_all()
    assert session.scalar(select(OutboundMessage.status)) == "sending"
