"""``GET /metrics`` and ``GET /readyz`` on one process (``service.metrics``, ``service.health``).

Counters are process-wide (the default registry): each test compares before and after. The
gauges are read from the database at scrape time. ``tests/test_processes.py`` checks the
multiprocess mode under gunicorn.
"""
from __future__ import annotations

import datetime as dt

import pytest
from flask import Blueprint
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from handlers.common import require_token
from service import health, heartbeat, session_factory
from service.db import utcnow
from service.messaging import dispatch, gateway_state, gateways
from service.messaging.message import OutboundMessage, queue_sms
from service.messaging.rules import Rules

TOKEN = "metrics-token-of-at-least-32-characters"
HOOK = "hook-token-of-at-least-32-characters-x"


@pytest.fixture
def app_settings():
    return {"METRICS_TOKEN": TOKEN, "WEBHOOK_TOKEN": HOOK, "LOCAL_DELIVERY": "reports"}


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client) -> dict:
    """(name, sorted label items) → value of every sample of the metrics page."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


@pytest.mark.parametrize("label, headers, query, status", [
    ("no token", {}, "", 404),
    ("wrong bearer", {"Authorization": "Bearer not-the-token"}, "", 404),
    ("wrong key", {}, "?key=not-the-token", 404),
    ("webhook token is not the metrics token", {}, f"?key={HOOK}", 404),
    ("bearer", {"Authorization": f"Bearer {TOKEN}"}, "", 200),
    ("bearer, any case", {"Authorization": f"bearer {TOKEN}"}, "", 200),
    ("key", {}, f"?key={TOKEN}", 200),
])
def test_the_page_needs_its_token(client, label, headers, query, status):
    response = client.get(f"/metrics{query}", headers=headers)
    assert response.status_code == status, label
    if status == 200:
        assert "dehqon_outbox_messages" in response.text


def test_without_a_metrics_token_there_is_no_page(database_url, tmp_path):
    from service import create_app
    app = create_app({"DATABASE_URL": database_url, "DATABASE_INIT": False, "SCHEDULER_EMBEDDED": False,
                      "METRICS_TOKEN": "", "STAFF_SESSION_DIR": str(tmp_path / "s")})
    try:
        assert app.test_client().get("/metrics").status_code == 404
        assert app.test_client().get("/metrics?key=").status_code == 404
        assert app.test_client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    finally:
        app.extensions["dehqon.engine"].dispose()


USSD = {"sessionId": "m-1", "phoneNumber": "+992901234567", "serviceCode": "*384*7#", "networkCode": "43601"}
# (label, path, form, callback endpoint, answer class)
CALLBACKS = [
    ("USSD first hop", f"/ussd?key={HOOK}", {**USSD, "text": ""}, "ussd.hop", "2xx"),
    ("USSD without the token", "/ussd?key=wrong", {**USSD, "text": ""}, "ussd.hop", "4xx"),
    ("inbound SMS", f"/sms/inbound?key={HOOK}",
     {"from": "+992901234567", "to": "7788", "text": "НАРХ пиёз", "date": "2026-12-04 10:00:00", "id": "mo-1"},
     "sms.inbound", "2xx"),
    ("delivery report of an unknown id", f"/sms/delivery?key={HOOK}",
     {"id": "ATXid_unknown", "status": "Success", "phoneNumber": "+992901234567"}, "delivery.delivery_report", "2xx"),
    ("body over the cap", f"/sms/inbound?key={HOOK}", {"text": "x" * 70000}, "sms.inbound", "4xx"),
    ("Kannel MO", f"/kannel/inbound?key={HOOK}",
     {"from": "992901234567", "to": "7788", "text": "PRICES onion", "id": "k-mo-1", "ts": "1764842400"},
     "kannel.inbound", "2xx"),
    ("Kannel delivery report", f"/kannel/delivery?key={HOOK}", {"id": "k-unknown", "type": "1"},
     "kannel.delivery_report", "2xx"),
]


@pytest.mark.parametrize("label, path, form, callback, status", CALLBACKS, ids=[c[0] for c in CALLBACKS])
def test_every_callback_is_timed(client, label, path, form, callback, status):
    before = sample("dehqon_webhook_seconds_count", callback=callback, status=status)
    response = client.post(path, data=form)
    assert response.status_code // 100 == int(status[0]), label
    assert sample("dehqon_webhook_seconds_count", callback=callback, status=status) == before + 1
    assert sample("dehqon_webhook_seconds_bucket", callback=callback, status=status, le="15.0") >= before + 1


def test_a_new_callback_blueprint_is_timed_without_more_code(database_url, tmp_path):
    """A gateway blueprint added later (e.g. another gateway's MO URL) is timed through require_token."""
    from service import create_app
    app = create_app({"DATABASE_URL": database_url, "DATABASE_INIT": False, "SCHEDULER_EMBEDDED": False,
                      "WEBHOOK_TOKEN": HOOK, "STAFF_SESSION_DIR": str(tmp_path / "s")})
    bp = Blueprint("othergateway", __name__)

    @bp.post("/other/mo")
    @require_token
    def mo():
        return "ok"

    @bp.get("/other/open")
    def open_page():
        return "open"

    app.register_blueprint(bp)
    try:
        before = sample("dehqon_webhook_seconds_count", callback="othergateway.mo", status="2xx")
        assert app.test_client().post(f"/other/mo?key={HOOK}").status_code == 200
        assert app.test_client().get("/other/open").status_code == 200
        assert sample("dehqon_webhook_seconds_count", callback="othergateway.mo", status="2xx") == before + 1
        assert sample("dehqon_webhook_seconds_count", callback="othergateway.open_page", status="2xx") == 0
        # pages that are not callbacks are not timed
        assert sample("dehqon_webhook_seconds_count", callback="health.healthz", status="2xx") == 0
    finally:
        app.extensions["dehqon.engine"].dispose()


def test_ussd_hops_and_sessions(client):
    sessions, cont, repeat = (sample("dehqon_ussd_sessions_total"), sample("dehqon_ussd_hops_total", answer="continue"),
                              sample("dehqon_ussd_hops_total", answer="repeat"))
    for text in ("", "", "1"):  # a first hop, AT's copy of it, a second hop
        assert client.post(f"/ussd?key={HOOK}", data={**USSD, "sessionId": "hops-1", "text": text}).status_code == 200
    assert sample("dehqon_ussd_sessions_total") == sessions + 1
    assert sample("dehqon_ussd_hops_total", answer="repeat") == repeat + 1
    assert sample("dehqon_ussd_hops_total", answer="continue") + sample("dehqon_ussd_hops_total", answer="end") \
        >= cont + 2


def test_sends_deliveries_failures_segments_cost_and_outbox_depth(app, client, session):
    for n in range(3):
        queue_sms(session, f"+99290123450{n}", f"Salom {n}", kind="notice")
    session.commit()
    page = scrape(client)
    assert page[("dehqon_outbox_messages", (("state", "queued"),))] == 3
    assert page[("dehqon_outbox_oldest_queued_seconds", ())] >= 0
    accepted = sample("dehqon_sms_sends_total", gateway="local", outcome="accepted")
    segments = sample("dehqon_sms_segments_total", gateway="local", kind="notice")
    summary = dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config), app.config)
    assert summary.sent == 3
    assert sample("dehqon_sms_sends_total", gateway="local", outcome="accepted") == accepted + 3
    assert sample("dehqon_sms_segments_total", gateway="local", kind="notice") == segments + 3
    assert sample("dehqon_sms_cost_tjs_total", gateway="local") == 0  # the local gateway reports no cost
    rows = session.query(OutboundMessage).order_by(OutboundMessage.id).all()
    delivered = sample("dehqon_sms_deliveries_total", gateway="africastalking", state="delivered")
    failed = sample("dehqon_sms_failures_total", gateway="africastalking", stage="delivery",
                    reason="deliveryfailure")
    for row, status, reason in zip(rows, ("Success", "Failed", "Success"), ("", "DeliveryFailure", "")):
        assert client.post(f"/sms/delivery?key={HOOK}", data={
            "id": row.gateway_message_id, "status": status, "phoneNumber": row.phone,
            "failureReason": reason}).status_code == 200
    assert sample("dehqon_sms_deliveries_total", gateway="africastalking", state="delivered") == delivered + 2
    assert sample("dehqon_sms_failures_total", gateway="africastalking", stage="delivery",
                  reason="deliveryfailure") == failed + 1
    page = scrape(client)
    assert page[("dehqon_outbox_messages", (("state", "queued"),))] == 0
    assert page[("dehqon_outbox_messages", (("state", "delivered"),))] == 2
    assert page[("dehqon_outbox_messages", (("state", "failed"),))] == 1


@pytest.mark.parametrize("reason, label", [
    ("AT error: <html><body>500</body></html>", "at error"),
    ("connection failed: ConnectionError", "connection failed"),
    ("gave up after 10 attempts: x", "gave up after 10 attempts"),
    ("", "none"),
    (None, "none"),
    ("Ünïcode ☃ (junk)", "ncode"),
    ("x" * 300, "x" * 40),
])
def test_reason_labels_are_bounded(reason, label):
    from service.metrics import reason_label
    assert reason_label(reason) == label


def _beat_both(app, at=None):
    engine = app.extensions["dehqon.engine"]
    heartbeat.beat(engine, heartbeat.SCHEDULER, at)
    heartbeat.beat(engine, heartbeat.DISPATCHER, at)


def test_readyz_is_ready_with_live_processes_and_an_empty_queue(app, client):
    _beat_both(app)
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert lines[0] == "ready"
    assert "database: answers" in lines and "sending: not held" in lines
    assert "outbox: 0 queued, oldest none, longest wait none" in lines
    assert scrape(client)[("dehqon_ready", ())] == 1


def test_readyz_names_each_missing_process(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.text.startswith("not ready\n")
    assert "No scheduler has ever run on this database" in response.text
    assert "No dispatcher has ever run on this database" in response.text
    assert scrape(client)[("dehqon_ready", ())] == 0


def test_readyz_says_a_process_stopped(app, client):
    _beat_both(app, utcnow() - dt.timedelta(minutes=10))
    heartbeat.beat(app.extensions["dehqon.engine"], heartbeat.DISPATCHER)  # this process's dispatcher beats again
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "The scheduler last ran 10 min ago (more than 5 min): it has stopped" in response.text
    assert "dispatcher last ran" not in response.text
    ages = scrape(client)
    assert 590 < ages[("dehqon_heartbeat_age_seconds", (("kind", "scheduler"),))] < 700
    assert ages[("dehqon_heartbeat_age_seconds", (("kind", "dispatcher"),))] < 60


def test_readyz_backlog_thresholds(app, client, session):
    _beat_both(app)
    now = utcnow()
    for n in range(4):
        row = queue_sms(session, f"+99290123460{n}", "Salom", kind="reply")
        row.created_at = row.next_attempt_at = now - dt.timedelta(minutes=20)
    session.commit()
    app.config["READYZ_MAX_QUEUED"] = 3
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "The outbox holds 4 queued messages (more than 3)" in response.text
    assert "A queued message that may be sent now has waited 20 min (more than 15 min)" in response.text
    assert "outbox: 4 queued, oldest 20 min" in response.text


def test_rows_held_by_the_quiet_hours_wait_from_their_end(session):
    """A broadcast queued at 21:30 local time is not late at 07:05: it may be sent only since 07:00."""
    rules = Rules.of({"QUIET_HOURS_START": "21:00", "QUIET_HOURS_END": "07:00", "TIMEZONE": "Asia/Dushanbe"})
    evening = dt.datetime(2026, 12, 3, 16, 30, tzinfo=dt.timezone.utc)  # 21:30 in Dushanbe (UTC+5)
    row = queue_sms(session, "+992901234600", "Salom", kind="broadcast")
    row.created_at = row.next_attempt_at = evening
    session.commit()
    night = health.backlog(session, rules, evening + dt.timedelta(hours=3))
    assert night.queued == 1 and night.longest_wait is None  # quiet: not sendable now
    morning = health.backlog(session, rules, dt.datetime(2026, 12, 4, 2, 5, tzinfo=dt.timezone.utc))  # 07:05
    assert morning.longest_wait == dt.timedelta(minutes=5)
    assert morning.oldest_queued == dt.timedelta(hours=9, minutes=35)


def test_readyz_says_sending_is_held_by_the_account(app, client, session):
    _beat_both(app)
    until = utcnow() + dt.timedelta(minutes=15)
    gateway_state.record_account_hold(session, "local", until, "AT refused the credentials: InvalidApiKey")
    session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert (f"Sending through local is held until {until:%Y-%m-%d %H:%M} UTC by an account problem "
            "(AT refused the credentials: InvalidApiKey): a person must act") in response.text
    page = scrape(client)
    assert page[("dehqon_sending_held", (("cause", "account"), ("gateway", "local")))] == 1
    assert page[("dehqon_sending_held", (("cause", "outage"), ("gateway", "local")))] == 0


def test_readyz_when_the_database_is_away(tmp_path):
    from service import create_app
    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "SCHEDULER_EMBEDDED": False,
                      "METRICS_TOKEN": TOKEN, "STAFF_SESSION_DIR": str(tmp_path / "s")})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.text.startswith("not ready\nThe database does not answer (OperationalError)")
    page = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200 and "dehqon_ready 0.0" in page.text


def test_heartbeats_are_one_row_per_process_and_kind(app, session):
    engine = app.extensions["dehqon.engine"]
    first = utcnow() - dt.timedelta(minutes=1)
    heartbeat.beat(engine, heartbeat.DISPATCHER, first)
    heartbeat.beat(engine, heartbeat.DISPATCHER)
    heartbeat.beat(engine, heartbeat.SCHEDULER)
    rows = heartbeat.processes(session)
    assert sorted(r.kind for r in rows) == ["dispatcher", "scheduler"]
    dispatcher = next(r for r in rows if r.kind == "dispatcher")
    assert dispatcher.started_at == first and dispatcher.beat_at > first
    assert dispatcher.name == heartbeat.process_name("dispatcher")
    with pytest.raises(ValueError):
        heartbeat.beat(engine, "janitor")


def test_a_dispatcher_pass_and_a_tick_beat(app, session):
    from scheduler.tick import tick
    dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config), app.config)
    assert heartbeat.latest(session, heartbeat.DISPATCHER) is not None
    assert heartbeat.latest(session, heartbeat.SCHEDULER) is None
    tick(session_factory(app), app.config, utcnow())
    assert utcnow() - heartbeat.latest(session, heartbeat.SCHEDULER) < dt.timedelta(minutes=1)


def test_a_pass_on_a_database_without_the_heartbeat_table_still_sends(app, session, caplog):
    from sqlalchemy import text
    with app.extensions["dehqon.engine"].begin() as conn:
        conn.execute(text("DROP TABLE heartbeat"))
    queue_sms(session, "+992901234699", "Salom", kind="reply")
    session.commit()
    summary = dispatch.dispatch_once(session_factory(app), gateways.for_settings(app.config), app.config)
    assert summary.sent == 1
    assert any("dispatcher heartbeat not recorded" in r.getMessage() for r in caplog.records)
