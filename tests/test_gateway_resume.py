"""An account hold of Kannel beside AT (``SMS_ROUTES=+992=kannel``): smsbox answers
``400 Sender missing`` (no ``KANNEL_FROM``, no ``global-sender``, ``docs/gateway-kannel.md`` §3, §8);
``/readyz`` and ``flask --app service outbox status`` show the same hold with Kannel's own advice and
the cause whole; once the sender is set, ``flask --app service outbox resume --gateway kannel`` ends
the hold, brings the rows it pushed back to now (a row planned for later keeps its time, AT's rows
are left alone) and is audited (``docs/operations.md`` §4)."""
from __future__ import annotations

import datetime as dt

import pytest

import fake_at
from fake_kannel import PASSWORD, USERNAME, FakeKannel
from service import session_factory
from service.audit.log import entries
from service.db import utcnow
from service.health import CAUSE_SHOWN, hold_sentence
from service.messaging import dispatch, gateway_state, gateways
from service.messaging.gateway_state import GatewayState
from service.messaging.message import OutboundMessage, queue_sms

TJ = ["+992901234567", "+992911234568"]
KE = "+254711000111"
SENDER_MISSING = "Sender missing and no global set, rejected"


@pytest.fixture
def kannel():
    server = FakeKannel()
    yield server
    server.close()


@pytest.fixture
def at():
    server = fake_at.FakeAT()
    yield server
    server.close()


@pytest.fixture
def app_settings(kannel):
    return {"SMS_GATEWAY": "africastalking", "SMS_ROUTES": "+992=kannel",
            "WEBHOOK_TOKEN": "resume-callback-token-of-32-chars!", "AT_USERNAME": "dehqon-resume",
            "AT_API_KEY": "test-key", "AT_SENDER_ID": None, "KANNEL_SENDSMS_URL": kannel.url,
            "KANNEL_USERNAME": USERNAME, "KANNEL_PASSWORD": PASSWORD, "KANNEL_TIMEOUT": "2"}


@pytest.fixture
def routes(app, at):
    found = gateways.for_routes(app.config)
    found.gateways["africastalking"] = fake_at.gateway(app.config, at.url)
    yield found
    fake_at.restore(found.gateways["africastalking"])


def row(session, row_id) -> OutboundMessage:
    session.expire_all()
    return session.get(OutboundMessage, row_id)


def test_a_kannel_account_hold_is_shown_alike_and_resumed_by_hand(app, client, runner, session, kannel, at, routes):
    for phone in TJ:
        kannel.answers[phone] = (400, SENDER_MISSING)
    rows = [queue_sms(session, phone, "Narxi piyoz: 1.40 TJS/kg", kind="broadcast") for phone in TJ]
    now = utcnow()
    later = queue_sms(session, "+992935550001", "Later", kind="tip", not_before=now + dt.timedelta(hours=2))
    session.commit()
    held, planned = [r.id for r in rows], later.id
    dispatch.dispatch_once(session_factory(app), routes, app.config, now=now)
    until = now + dispatch.ACCOUNT_HOLD
    assert [row(session, i).next_attempt_at for i in held] == [until, until]
    # an AT row held at the same moment (its own account problem) is not Kannel's to resume
    at_row = queue_sms(session, KE, "Salom", kind="broadcast")
    at_row.next_attempt_at = until
    session.commit()
    at_id = at_row.id

    ready = client.get("/readyz")
    [sentence] = [line for line in ready.get_data(as_text=True).splitlines() if "account problem" in line]
    assert ready.status_code == 503
    assert ("(Kannel has no sender to use (set KANNEL_FROM or global-sender): " + SENDER_MISSING + ")") in sentence
    assert "KANNEL_FROM or smsbox's global-sender" in sentence and "top up" not in sentence
    assert sentence.endswith("then run flask --app service outbox resume --gateway kannel.")

    status = runner.invoke(args=["outbox", "status"])
    assert status.exit_code == 0, status.output
    assert "gateway kannel: answering" not in status.output
    assert f"gateway kannel: HELD: {sentence.strip()}" in status.output.splitlines(), status.output

    kannel.answers.clear()  # the operator set global-sender and restarted smsbox
    done = runner.invoke(args=["outbox", "resume", "--gateway", "kannel"])
    assert done.exit_code == 0, done.output
    assert done.output == "gateway kannel: account hold ended; 2 rows due now\n"
    after = utcnow()
    assert all(row(session, i).next_attempt_at <= after for i in held)
    assert row(session, planned).next_attempt_at == now + dt.timedelta(hours=2)
    assert row(session, at_id).next_attempt_at == until
    session.expire_all()
    state = session.get(GatewayState, "kannel")
    assert (state.account_held_until, state.account_problem) == (None, None)
    [entry] = entries(session, action="outbox.resume")
    assert entry.actor.startswith("cli:") and entry.object_id == "kannel"
    assert entry.before["account_problem"].endswith(SENDER_MISSING) and entry.after == {"rows": 2}
    assert "account problem" not in client.get("/readyz").get_data(as_text=True)
    assert "gateway kannel: answering" in runner.invoke(args=["outbox", "status"]).output

    dispatch.dispatch_once(session_factory(app), routes, app.config, now=utcnow())
    assert [row(session, i).status for i in held] == ["accepted", "accepted"]
    assert sorted(kannel.phones()) == sorted(TJ)

    again = runner.invoke(args=["outbox", "resume", "--gateway", "kannel"])
    assert again.output == "gateway kannel: no hold in force; nothing changed\n"
    assert len(entries(session, action="outbox.resume")) == 1
    assert runner.invoke(args=["outbox", "resume", "--gateway", "nexmo"]).exit_code == 2


def test_resume_ends_an_outage_hold_too(app, runner, session):
    now = utcnow()
    until = gateway_state.record_failure(session, "kannel", now, "connection refused")
    waiting = queue_sms(session, TJ[0], "Salom", kind="broadcast")
    waiting.next_attempt_at = until
    session.commit()
    done = runner.invoke(args=["outbox", "resume", "--gateway", "kannel"])
    assert done.output == "gateway kannel: outage hold ended; 1 row due now\n", done.output
    assert row(session, waiting.id).next_attempt_at <= utcnow()
    assert gateway_state.holds(session, utcnow()) == []


@pytest.mark.parametrize("gateway, advice, not_said", [
    ("africastalking", "top up the account, get the sender ID approved", "KANNEL"),
    ("kannel", "KANNEL_USERNAME/KANNEL_PASSWORD", "top up"),
])
def test_each_gateway_gets_its_own_advice_and_a_long_cause_is_cut_at_a_word(gateway, advice, not_said):
    cause = "Kannel refused the credentials: " + "Authorization failed for sendsms " * 6
    state = GatewayState(gateway=gateway, account_held_until=dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.timezone.utc),
                         account_problem=cause.strip()[:200])
    sentence = hold_sentence(gateway, "account", state)
    assert advice in sentence and not_said not in sentence
    shown = sentence.split("account problem (", 1)[1].rsplit("): a person must act", 1)[0]
    assert shown.endswith(" …") and len(shown) <= CAUSE_SHOWN
    assert cause.startswith(shown[:-2]) and cause[len(shown) - 2] == " "  # cut before a space, not in a word
