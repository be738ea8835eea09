"""``flask --app service outbox status|release|fail`` (issue 7, item 2), through the CLI runner."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from service.messaging import gateway_state
from service.db import utcnow
from service.messaging.message import OutboundMessage, queue_sms

PHONE = "+992901234567"


def add(session, status, reason=None, message_id=None, kind="notice", **values):
    row = queue_sms(session, PHONE, f"Salom {status} {reason}", kind=kind)
    row.status, row.failure_reason, row.gateway_message_id = status, reason, message_id
    row.attempts = 1 if status != "queued" else 0
    for name, value in values.items():
        setattr(row, name, value)
    session.commit()
    return row.id


def get(session, row_id):
    session.expire_all()
    return session.get(OutboundMessage, row_id)


@pytest.fixture
def stuck(session):
    now = utcnow()
    ids = {
        "held": add(session, "held", "408 Failed", sent_at=now),
        "held2": add(session, "held", "408 Failed", sent_at=now),
        "timeout": add(session, "unconfirmed", "read timeout: AT may have accepted it; not resent"),
        "late": add(session, "queued", "500 InternalServerError", next_attempt_at=now - dt.timedelta(hours=1)),
        "due": add(session, "queued"),
        "expired": add(session, "failed", "expired: not sent within 24 h"),
        "dlr_failed": add(session, "failed", "Failed: DeliveryFailure", message_id="ATXid_f"),
        "old_failure": add(session, "failed", "403 InvalidPhoneNumber"),
        "delivered": add(session, "delivered", message_id="ATXid_d"),
    }
    session.execute(update(OutboundMessage).where(OutboundMessage.id == ids["old_failure"])
                    .values(updated_at=now - dt.timedelta(hours=30)))
    session.commit()
    return ids


def test_status_counts_by_state_and_reason_and_shows_the_outage(runner, session, stuck):
    gateway_state.record_failure(session, "africastalking", utcnow(), "AT error: <html>500</html>")
    session.commit()
    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "outbox: 2 queued, 1 delivered, 3 failed, 2 held, 1 unconfirmed"
    out = "\n".join(lines)
    assert "queued past due: 1\n       1  500 InternalServerError" in out
    assert "held: 2\n       2  408 Failed" in out
    assert "unconfirmed: 1\n       1  read timeout: AT may have accepted it; not resent" in out
    assert ("failed in the last 24 h: 2\n       1  Failed: DeliveryFailure\n"
            "       1  expired: not sent within 24 h") in out
    assert "403 InvalidPhoneNumber" not in out  # failed 30 h ago
    assert lines[-1].startswith("gateway africastalking: OUTAGE since ")
    assert "1 failed passes" in lines[-1] and "last error: AT error: <html>500</html>" in lines[-1]

    wider = runner.invoke(args=["outbox", "status", "--hours", "48"])
    assert "failed in the last 48 h: 3" in wider.output and "403 InvalidPhoneNumber" in wider.output


def test_status_of_an_empty_outbox(runner):
    result = runner.invoke(args=["outbox", "status"])
    assert result.output == "outbox: empty\ngateway local: no outage recorded\n"


def test_release_by_state_asks_first_and_refreshes_attempts_and_deadline(runner, session, stuck):
    session.execute(update(OutboundMessage).where(OutboundMessage.id == stuck["held"])
                    .values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    session.commit()
    declined = runner.invoke(args=["outbox", "release", "--state", "held"], input="n\n")
    assert declined.exit_code == 1 and "2 rows will be released. Go on?" in declined.output
    assert get(session, stuck["held"]).status == "held"

    dry = runner.invoke(args=["outbox", "release", "--state", "held", "--dry-run"])
    assert dry.exit_code == 0 and "dry run: 2 rows would be released" in dry.output
    assert f"{stuck['held']}\theld\tnotice\t***567\tattempts 1\t408 Failed" in dry.output  # phones masked
    assert get(session, stuck["held"]).status == "held"

    done = runner.invoke(args=["outbox", "release", "--state", "held"], input="y\n")
    assert done.exit_code == 0 and "2 rows released to the queue" in done.output
    row = get(session, stuck["held"])
    assert (row.status, row.attempts, row.failure_reason) == ("queued", 0, None)
    assert row.expires_at > utcnow() + dt.timedelta(hours=23)


def test_release_of_rows_at_may_have_needs_the_duplicate_flag(runner, session, stuck):
    refused = runner.invoke(args=["outbox", "release", "--id", str(stuck["timeout"]), "--id",
                                  str(stuck["dlr_failed"]), "--yes"])
    assert refused.exit_code == 1
    assert f"not released: {stuck['timeout']} (AT may already have it" in refused.output
    assert "nothing to be released" in refused.output
    assert get(session, stuck["timeout"]).status == "unconfirmed"

    done = runner.invoke(args=["outbox", "release", "--state", "unconfirmed", "--duplicate-ok", "--yes"])
    assert done.exit_code == 0, done.output
    assert get(session, stuck["timeout"]).status == "queued"


def test_release_by_reason_and_rows_that_cannot_be_released(runner, session, stuck):
    done = runner.invoke(args=["outbox", "release", "--reason", "EXPIRED", "--yes"])
    assert done.exit_code == 0 and "1 row released" in done.output
    assert get(session, stuck["expired"]).status == "queued"
    delivered = runner.invoke(args=["outbox", "release", "--id", str(stuck["delivered"]), "--yes"])
    assert delivered.exit_code == 1 and "delivered: only held, failed, unconfirmed rows" in delivered.output
    nothing = runner.invoke(args=["outbox", "release", "--yes"])
    assert nothing.exit_code == 2 and "choose rows with --id, --state or --reason" in nothing.output
    unknown = runner.invoke(args=["outbox", "release", "--state", "delivered"])
    assert unknown.exit_code == 2  # not a state that can be released


def test_fail_marks_rows_with_the_reason(runner, session, stuck):
    result = runner.invoke(args=["outbox", "fail", "--state", "held", "--reason", "408",
                                 "--why", "number retired, checked with the PG", "--yes"])
    assert result.exit_code == 0 and "2 rows failed" in result.output
    row = get(session, stuck["held2"])
    assert (row.status, row.failure_reason) == ("failed", "failed by hand: number retired, checked with the PG")
    not_failable = runner.invoke(args=["outbox", "fail", "--id", str(stuck["delivered"]), "--why", "x", "--yes"])
    assert not_failable.exit_code == 1 and "delivered: only queued, held, unconfirmed rows" in not_failable.output
    no_why = runner.invoke(args=["outbox", "fail", "--id", str(stuck["late"]), "--why", "  ", "--yes"])
    assert no_why.exit_code == 2 and get(session, stuck["late"]).status == "queued"
    missing = runner.invoke(args=["outbox", "fail", "--id", "999999", "--why", "x", "--yes"])
    assert missing.exit_code == 1 and "no outbox row matches" in missing.output
