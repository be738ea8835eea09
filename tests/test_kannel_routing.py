"""AT and Kannel side by side (``SMS_ROUTES``, ``docs/gateway-kannel.md`` §7): Tajik numbers through
Kannel (``tests/fake_kannel.py``), others through AT (the real SDK against ``tests/fake_at.py``);
an outage or an account problem of one gateway does not hold the other; each message is sent once."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import literal, select

import fake_at
from fake_kannel import PASSWORD, USERNAME, FakeKannel
from service import create_app, session_factory
from service.db import utcnow
from service.messaging import dispatch, gateway_state, gateways
from service.messaging.gateways import routes as routing
from service.messaging.message import OutboundMessage, queue_sms
from service.settings import ConfigError, check_startup

TOKEN = "routing-callback-token-of-32-chars"
TJ = ["+992901234567", "+992911234568", "+992935550001"]
KE = ["+254711000111", "+254722000222"]
UZ = "+998901234567"


@pytest.fixture
def at():
    server = fake_at.FakeAT()
    yield server
    server.close()


@pytest.fixture
def kannel():
    server = FakeKannel()
    yield server
    server.close()


def config(app, kannel_url: str, routes: str = "+992=kannel", default: str = "africastalking") -> dict:
    return {**app.config, "SMS_GATEWAY": default, "SMS_ROUTES": routes, "WEBHOOK_TOKENS": [TOKEN],
            "AT_USERNAME": "dehqon-routing", "AT_API_KEY": "test-key", "AT_SENDER_ID": None,
            "AT_TIMEOUT": (3.05, 9.05), "KANNEL_SENDSMS_URL": kannel_url, "KANNEL_USERNAME": USERNAME,
            "KANNEL_PASSWORD": PASSWORD, "KANNEL_CALLBACK_URL": "http://127.0.0.1:5000", "KANNEL_TIMEOUT": "2"}


@pytest.fixture
def routed(app, at, kannel):
    """``(settings, routes)``: AT by default (pointed at the fake AT), Kannel for +992."""
    settings = config(app, kannel.url)
    routes = gateways.for_routes(settings)
    routes.gateways["africastalking"] = fake_at.gateway(settings, at.url)
    yield settings, routes
    fake_at.restore(routes.gateways["africastalking"])


def queue(session, phones, text="Narxi piyoz: 1.40 TJS/kg", kind="broadcast"):
    rows = [queue_sms(session, phone, text, kind=kind) for phone in phones]
    session.commit()
    return [row.id for row in rows]


def states(session, ids):
    session.expire_all()
    return [(r.phone, r.status, r.attempts) for r in (session.get(OutboundMessage, i) for i in ids)]


def run(app, routed, now=None):
    settings, routes = routed
    return dispatch.dispatch_once(session_factory(app), routes, settings, now=now)


def test_tajik_numbers_go_through_kannel_the_others_through_at(app, session, routed, at, kannel):
    ids = queue(session, [*TJ, *KE, UZ])
    summary = run(app, routed)
    assert (summary.claimed, summary.sent) == (6, 6)
    assert sorted(kannel.phones()) == sorted(TJ)
    assert sorted(phone for _, phone in at.received) == sorted([*KE, UZ])
    assert at.requests == 1  # one AT request for the three others
    assert {status for _, status, _ in states(session, ids)} == {"accepted"}
    rows = {r.phone: r for r in session.scalars(select(OutboundMessage))}
    assert all(rows[p].gateway_message_id.startswith("k") for p in TJ)
    assert all(rows[p].gateway_message_id.startswith("ATXid_") for p in [*KE, UZ])
    assert run(app, routed).claimed == 0
    assert (len(kannel.received), len(at.received)) == (3, 3)  # each once


def test_a_kannel_outage_does_not_hold_at(app, session, routed, at, kannel):
    kannel.mode = "error503"
    tj_ids, ke_ids = queue(session, TJ), queue(session, KE)
    now = utcnow()
    summary = run(app, routed, now)
    assert summary.held == {"kannel": summary.held_until}
    assert [s for _, s, _ in states(session, ke_ids)] == ["accepted"] * 2
    assert states(session, tj_ids) == [(p, "queued", 0) for p in TJ]  # attempts not counted
    assert gateway_state.held_until(session, "kannel") is not None
    assert gateway_state.held_until(session, "africastalking") is None

    # while Kannel is held, new AT messages still go, Kannel's rows are not even claimed
    later_ke = queue(session, [UZ], text="Ogohi: do'l")
    requests = kannel.requests
    second = run(app, routed, now + dt.timedelta(seconds=5))
    assert (second.claimed, second.sent) == (1, 1)
    assert kannel.requests == requests
    assert states(session, later_ke) == [(UZ, "accepted", 1)]

    kannel.mode = "accept"
    third = run(app, routed, summary.held_until + dt.timedelta(seconds=1))
    assert third.sent == 3
    assert states(session, tj_ids) == [(p, "accepted", 1) for p in TJ]
    assert sorted(kannel.phones()) == sorted(TJ)
    assert Counter(p for _, p in at.received) == Counter([*KE, UZ])


def test_an_at_outage_does_not_hold_kannel(app, session, routed, at, kannel):
    at.mode = "error500"
    tj_ids, ke_ids = queue(session, TJ), queue(session, KE)
    now = utcnow()
    summary = run(app, routed, now)
    assert set(summary.held) == {"africastalking"}
    assert [s for _, s, _ in states(session, tj_ids)] == ["accepted"] * 3
    assert states(session, ke_ids) == [(p, "queued", 0) for p in KE]
    at.mode = "accept"
    assert run(app, routed, summary.held_until + dt.timedelta(seconds=1)).sent == 2
    assert sorted(kannel.phones()) == sorted(TJ)
    assert sorted(p for _, p in at.received) == sorted(KE)


def test_a_kannel_account_problem_holds_only_kannels_rows(app, session, routed, at, kannel):
    kannel.password = "rotated-on-the-kannel-side"
    tj_ids = queue(session, TJ)
    ke_ids = queue(session, KE)
    now = utcnow()
    waiting_tj = queue(session, ["+992950000009"], text="Later", kind="tip")  # due after this pass
    run(app, routed, now)
    assert [s for _, s, _ in states(session, ke_ids)] == ["accepted"] * 2
    assert states(session, tj_ids) == [(p, "queued", 0) for p in TJ]
    session.expire_all()
    for row_id in [*tj_ids, *waiting_tj]:
        assert session.get(OutboundMessage, row_id).next_attempt_at >= now + dispatch.ACCOUNT_HOLD
    assert kannel.requests == 1
    # an AT row queued now is due at once: the hold is Kannel's only
    [later] = queue(session, [UZ])
    assert session.get(OutboundMessage, later).next_attempt_at <= utcnow()
    assert run(app, routed, now + dt.timedelta(seconds=5)).sent == 1


def test_longest_prefix_wins(app, session, at, kannel):
    settings = config(app, kannel.url, routes="+992=kannel,+99290=africastalking", default="africastalking")
    routes = gateways.for_routes(settings)
    routes.gateways["africastalking"] = fake_at.gateway(settings, at.url)
    try:
        queue(session, TJ)
        dispatch.dispatch_once(session_factory(app), routes, settings)
    finally:
        fake_at.restore(routes.gateways["africastalking"])
    assert sorted(kannel.phones()) == ["+992911234568", "+992935550001"]
    assert [p for _, p in at.received] == ["+992901234567"]


def test_the_sql_route_agrees_with_the_python_route(session):
    pairs = routing.parse("+992=kannel,+9929=local,+99290=africastalking,+2547=kannel")
    routes = routing.Routes({"africastalking": None, "kannel": None, "local": None}, pairs, "africastalking")
    phones = [*TJ, *KE, UZ, "+992901111111", "+992800000000", "+254711", "+1"]
    for phone in phones:
        got = session.scalar(select(routes.sql_gateway(literal(phone))))
        assert got == routes.gateway_of(phone), phone
    assert routes.gateway_of("+992800000000") == "kannel"
    assert routes.gateway_of("+992911234568") == "local"
    assert routes.gateway_of("+992901234567") == "africastalking"
    assert routes.gateway_of("+998901234567") == "africastalking"


def test_concurrent_dispatchers_send_each_message_once_through_its_gateway(app, session, at, kannel):
    tj = [f"+99290{n:07d}" for n in range(60)]
    ke = [f"+2547{n:08d}" for n in range(60)]
    for n, phone in enumerate([*tj, *ke]):
        queue_sms(session, phone, f"Advice {n % 3}", kind="tip")
    session.commit()
    settings = {**config(app, kannel.url), "DISPATCH_BATCH_SIZE": 15}
    errors: list[BaseException] = []
    start = threading.Barrier(3)
    shared = fake_at.gateway(settings, at.url)  # the SDK's service object is one per process

    def worker():
        try:
            routes = gateways.for_routes(settings)
            routes.gateways["africastalking"] = shared
            start.wait()
            while dispatch.dispatch_once(session_factory(app), routes, settings).claimed:
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        fake_at.restore(shared)
    assert not errors
    assert sorted(kannel.phones()) == sorted(tj)
    assert sorted(p for _, p in at.received) == sorted(ke)
    session.expire_all()
    assert {r.status for r in session.scalars(select(OutboundMessage))} == {"accepted"}


# --- SMS_ROUTES and the Kannel settings at start ---------------------------------------------------

LONG = "x" * 32
KANNEL = {"KANNEL_SENDSMS_URL": "http://127.0.0.1:13013/cgi-bin/sendsms", "KANNEL_USERNAME": "dehqon",
          "KANNEL_PASSWORD": "secret"}

BAD_STARTS = [
    ({"SMS_ROUTES": "+992"}, "SMS_ROUTES must be comma-separated prefix=gateway pairs"),
    ({"SMS_ROUTES": "+992=kannel,=africastalking"}, "is not one"),
    ({"SMS_ROUTES": "992=kannel"}, "prefix '992' must be a + followed by 1 to 15 digits"),
    ({"SMS_ROUTES": "+99 2=kannel"}, "must be a + followed by"),
    ({"SMS_ROUTES": "+992=carrier-pigeon"}, "gateway 'carrier-pigeon' (for +992) must be one of local, africastalking, kannel"),
    ({"SMS_ROUTES": "+992=kannel,+992=africastalking", **KANNEL, "AT_API_KEY": "k", "WEBHOOK_TOKENS": [LONG]},
     "gives the prefix +992 twice"),
    ({"SMS_GATEWAY": "kannel", "WEBHOOK_TOKENS": [LONG]}, "SMS_GATEWAY=kannel needs KANNEL_SENDSMS_URL"),
    ({"SMS_GATEWAY": "kannel", "WEBHOOK_TOKENS": [LONG], **KANNEL, "KANNEL_PASSWORD": ""},
     "needs KANNEL_USERNAME and KANNEL_PASSWORD"),
    ({"SMS_GATEWAY": "kannel", "WEBHOOK_TOKENS": [LONG], **KANNEL, "KANNEL_SENDSMS_URL": "127.0.0.1:13013"},
     "KANNEL_SENDSMS_URL must be an http:// or https:// address"),
    ({"SMS_GATEWAY": "kannel", "WEBHOOK_TOKENS": [LONG], **KANNEL, "KANNEL_TIMEOUT": "soon"},
     "KANNEL_TIMEOUT must be a number of seconds above 0"),
    ({"SMS_GATEWAY": "kannel", "WEBHOOK_TOKENS": [], **KANNEL}, "SMS_GATEWAY=kannel needs WEBHOOK_TOKEN"),
    ({"SMS_GATEWAY": "kannel", "WEBHOOK_TOKENS": ["short"], **KANNEL}, "at least 32 characters"),
    ({"SMS_ROUTES": "+992=kannel", "WEBHOOK_TOKENS": [LONG]},
     "SMS_ROUTES sends through kannel, which needs KANNEL_SENDSMS_URL"),
    ({"SMS_ROUTES": "+992=kannel", **KANNEL}, "SMS_ROUTES sends through kannel, which needs WEBHOOK_TOKEN"),
    ({"SMS_GATEWAY": "kannel", "SMS_ROUTES": "+254=africastalking", "WEBHOOK_TOKENS": [LONG], **KANNEL},
     "SMS_ROUTES sends through africastalking, which needs AT_API_KEY"),
]


@pytest.mark.parametrize("settings,sentence", BAD_STARTS, ids=[s for _, s in BAD_STARTS])
def test_bad_settings_stop_the_start_with_one_sentence(settings, sentence):
    with pytest.raises(ConfigError) as caught:
        check_startup(settings)
    assert sentence in str(caught.value)
    assert str(caught.value).endswith(".")


GOOD_STARTS = [
    {"SMS_GATEWAY": "kannel", "WEBHOOK_TOKENS": [LONG], **KANNEL},
    {"SMS_GATEWAY": "africastalking", "AT_API_KEY": "k", "WEBHOOK_TOKENS": [LONG], "SMS_ROUTES": "+992=kannel",
     **KANNEL},
    {"SMS_GATEWAY": "local", "SMS_ROUTES": " +992 = local , "},
    {"SMS_GATEWAY": "local", "SMS_ROUTES": ""},
]


@pytest.mark.parametrize("settings", GOOD_STARTS)
def test_good_settings_start(settings):
    check_startup(settings)


def test_the_app_refuses_a_bad_route_before_it_starts():
    from service import StartupError
    with pytest.raises(StartupError, match="SMS_ROUTES prefix"):
        create_app({"DATABASE_URL": "sqlite://", "SMS_ROUTES": "tj=kannel", "SCHEDULER_EMBEDDED": False})


def test_the_kannel_password_is_redacted_in_logs(caplog, tmp_path):
    import logging
    password = "kannel-password-never-in-a-log"
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "SMS_GATEWAY": "kannel",
                      "WEBHOOK_TOKEN": LONG, **KANNEL, "KANNEL_PASSWORD": password, "SCHEDULER_EMBEDDED": False})
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("service.test").warning("sendsms said %s", f"bad {password} here")
        assert password not in caplog.text and "[redacted]" in caplog.text
    finally:
        app.extensions["dehqon.engine"].dispose()
