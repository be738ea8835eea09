"""The scheduler tick closes input-order rounds at their deadline and sends the chair's daily totals."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cases import orders as cases
from cases.sms import at
from service.orders import rounds as order
from service.messaging.message import OutboundMessage
from service.orders.rounds import OrderRound


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": cases.TOKEN}


def test_tick_closes_due_rounds_once_and_tells_the_chair(client, session, runner):
    cases.build_world(session)
    resp = client.post(f"/sms/inbound?key={cases.TOKEN}", data=at("t1", cases.ZARINA, "ORDER ONJ1 2"))
    assert resp.status_code == 200
    rnd = session.scalars(select(OrderRound)).one()
    tz = order.DEFAULT_POLICY.timezone
    after = dt.datetime.combine(rnd.closes_on + dt.timedelta(days=1), dt.time(9, 0), tz)

    def chair_notices():
        session.expire_all()
        return session.scalars(select(OutboundMessage).where(
            OutboundMessage.phone == cases.CHAIR, OutboundMessage.kind == "notice")).all()

    before_deadline = dt.datetime.combine(rnd.closes_on, dt.time(12, 0), tz)
    out = runner.invoke(args=["scheduler", "tick", "--at", before_deadline.isoformat()])
    assert out.exit_code == 0, out.output
    session.expire_all()
    assert session.get(OrderRound, rnd.id).status == "open"
    daily = len(chair_notices())
    assert daily == 1  # the day's running totals

    for _ in range(2):  # a second pass closes nothing more and sends nothing more
        out = runner.invoke(args=["scheduler", "tick", "--at", after.isoformat()])
        assert out.exit_code == 0, out.output
    session.expire_all()
    assert session.get(OrderRound, rnd.id).status == "closed"
    assert len(chair_notices()) == daily + 1
