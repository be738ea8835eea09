"""Limits at the door and hops answered alike (issue 7, items 3, 4 and 8), on SQLite and PostgreSQL.

The labelled cases (over-limit texts and bodies, ``%00`` in every field of every webhook) live in
the tables of ``tests/cases/``; here: a long hop text under PostgreSQL's index row limit, the
migration of the hop key, storage errors told apart, bodies without a length, and concurrent
copies of one hop over real HTTP. Timing lives in ``bench/door.py``, not here.
"""
from __future__ import annotations

import http.client
import logging
import os
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import DataError

import templates_sms
from cases.ussd import REG, hop
from conftest import PG_URL, _pg_driver
from handlers.common import storage_failure
from service import db as dbmod
from service.messaging import delivery
from service.ussd import engine as ussd
from service.messaging.encoding import fits_ussd
from service.farmers.models import Farmer
from service.messaging.message import OutboundMessage
from service.reference.names import LANGUAGES
from service.ussd.session import UssdHop, UssdSession, text_hash

SAVE = "*".join((*REG, "1"))  # the registration's "Save" hop (tests/cases/ussd.py)
COPIES = 60


# -- the hop key: a fixed-size hash of the text ----------------------------------------------

def _cyrillic(n: int, seed: int = 7) -> str:
    """``n`` characters of varied Cyrillic words (they do not compress into an index row)."""
    rng = random.Random(seed)
    letters = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяқғӯҳҷӣ"
    out = []
    while sum(len(w) + 1 for w in out) < n:
        out.append("".join(rng.choice(letters) for _ in range(rng.randint(2, 9))))
    return " ".join(out)[:n]


def test_a_long_hop_text_is_stored_and_a_repeat_gets_the_stored_answer(client, session):
    """3,900 characters of Cyrillic (7.8 KB of UTF-8) broke PostgreSQL's unique index on the text."""
    long_text = "6*" + _cyrillic(3898)  # 6 Register, then the name typed
    assert len(long_text) == 3900 <= ussd.MAX_TEXT_CHARS
    bodies = [client.post("/ussd", data=hop(t)).get_data(as_text=True) for t in ("", "6", long_text, long_text)]
    assert bodies[2].startswith("CON ") and bodies[3] == bodies[2]
    stored = session.scalars(select(UssdHop).order_by(UssdHop.id)).all()
    assert [h.text for h in stored] == ["", "6", long_text]
    assert stored[2].text_hash == text_hash(long_text) and len(stored[2].text_hash) == 64
    assert ussd.stored_answer(session, stored[2].session_id, long_text) == bodies[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of a database with no table at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL runs skipped")
    admin = create_engine(_pg_driver(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"dehqon_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(_pg_driver(PG_URL)).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_migration_backfills_the_hash_and_keeps_the_hops(empty_database):
    from alembic import command

    engine = dbmod.make_engine(empty_database)
    with engine.begin() as conn:
        command.upgrade(dbmod.migration_config(conn), "65fa7d0f021b")
        conn.execute(text("INSERT INTO ussd_session (session_id, phone, state, last_text, status, created_at, "
                          "updated_at) VALUES ('s1', '+992901110001', '{}', '1', 'open', :t, :t)"),
                     {"t": "2026-11-30 10:00:00"})
        for hop_text, body in [("", "CON menu"), ("1", "CON name"), ("1*Ali", "CON gender")]:
            conn.execute(text("INSERT INTO ussd_hop (session_id, text, response, created_at) "
                              "VALUES ('s1', :x, :r, :t)"), {"x": hop_text, "r": body, "t": "2026-11-30 10:00:00"})
    for target in ("c3d5f7a90003", "65fa7d0f021b", "c3d5f7a90003"):  # up, down and up again
        with engine.begin() as conn:
            (command.downgrade if target == "65fa7d0f021b" else command.upgrade)(dbmod.migration_config(conn), target)
    with dbmod.make_sessionmaker(engine)() as s:
        rows = s.execute(select(UssdHop.text, UssdHop.text_hash).order_by(UssdHop.id)).all()
        assert rows == [(t, text_hash(t)) for t in ("", "1", "1*Ali")]
        assert ussd.stored_answer(s, "s1", "1*Ali") == "CON gender"
        s.add(UssdHop(session_id="s1", text="1*" + _cyrillic(3800), response="CON x"))
        s.commit()  # a long text now fits the index
    engine.dispose()


# -- storage errors: input the database refuses is a 400, an outage a 503 ------------------

def test_a_data_error_is_a_400_and_an_outage_a_503(app, session, caplog):
    """The real errors of the real drivers: PostgreSQL refuses a NUL byte (DataError) → 400, so AT
    does not retry it for ever; a table that is away (a database outage) → 503."""
    if session.get_bind().dialect.name == "postgresql":
        with pytest.raises(DataError) as refused:
            delivery.record_report(session, message_id="ATXid_1", status="Success", network_code="4\x00")
        session.rollback()
        with app.app_context(), caplog.at_level(logging.WARNING):
            assert storage_failure(refused.value, "delivery report") == (400, "bad request")
        assert any(r.levelno == logging.WARNING and "refused by the database" in r.getMessage() and not r.exc_info
                   for r in caplog.records)
    session.commit()
    with session.get_bind().begin() as conn:
        conn.execute(text("ALTER TABLE delivery_report RENAME TO delivery_report_away"))
    try:
        with pytest.raises(Exception) as away:
            delivery.record_report(session, message_id="ATXid_2", status="Success")
        session.rollback()
    finally:
        with session.get_bind().begin() as conn:
            conn.execute(text("ALTER TABLE delivery_report_away RENAME TO delivery_report"))
    with app.app_context():
        assert storage_failure(away.value, "delivery report") == (503, "unavailable")


# -- bodies without a length (chunked) meet the same cap ------------------------------------

def _chunked(base: str, path: str, body: bytes) -> tuple[int, str]:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for start in range(0, len(body), 8192):
        piece = body[start:start + 8192]
        conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    answer = resp.status, resp.read().decode()
    conn.close()
    return answer


def test_a_chunked_body_over_the_cap_is_refused(live_server, session):
    big = urllib.parse.urlencode({**hop("1" * 70_000)}).encode()
    assert _chunked(live_server, "/ussd", big) == (200, ussd.too_long("tg"))
    report = urllib.parse.urlencode({"id": "ATXid_c", "status": "Success", "failureReason": "x" * 70_000}).encode()
    assert _chunked(live_server, "/sms/delivery", report)[0] == 413
    assert _chunked(live_server, "/ussd", urllib.parse.urlencode(hop("")).encode())[1].startswith("CON ")
    assert session.scalar(select(func.count()).select_from(UssdSession)) == 1


# -- the "too long" answer -------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_too_long_answer_fits_a_screen(lang):
    body = "END " + templates_sms.text("ussd.too_long", lang, ussd="*384*77*1#")
    assert fits_ussd(body) and "*384*77*1#" in body, body


# -- every copy of a hop gets the same answer ------------------------------------------------

def _post(base: str, form: dict) -> str:
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(base + "/ussd", data=data), timeout=120) as resp:
        return resp.read().decode()


def test_concurrent_copies_of_the_save_hop_all_get_the_stored_answer(live_server, session, caplog):
    """60 copies of the registration's Save hop at once, in three sessions: every copy answers
    what the first stored, one farmer per phone is registered with one receipt, and the copies
    that lose the race to the unique index are logged at INFO without a traceback."""
    phones = [f"+99290155000{i}" for i in range(3)]
    sessions = [f"ATUid_race{i}" for i in range(3)]
    for sid, phone in zip(sessions, phones):
        typed = []
        for value in ("", *REG):
            typed += [value] if value else []
            _post(live_server, hop("*".join(typed), session=sid, phone=phone))
    barrier = threading.Barrier(COPIES)
    answers: list[tuple[str, str]] = []
    lock = threading.Lock()

    def copy(i: int) -> None:
        sid, phone = sessions[i % 3], phones[i % 3]
        barrier.wait()
        body = _post(live_server, hop(SAVE, session=sid, phone=phone))
        with lock:
            answers.append((sid, body))

    with caplog.at_level(logging.INFO):
        threads = [threading.Thread(target=copy, args=(i,)) for i in range(COPIES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
    assert len(answers) == COPIES
    session.expire_all()
    for sid, phone in zip(sessions, phones):
        stored = ussd.stored_answer(session, sid, SAVE)
        assert stored is not None and stored.startswith("END ")
        assert [body for s, body in answers if s == sid] == [stored] * (COPIES // 3)
        farmers = session.scalars(select(Farmer).where(Farmer.phone == phone)).all()
        assert len(farmers) == 1
        assert session.scalar(select(func.count()).select_from(OutboundMessage)
                              .where(OutboundMessage.phone == phone)) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], \
        [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    raced = [r for r in caplog.records if "concurrent copy" in r.getMessage()]
    assert all(r.levelno == logging.INFO and not r.exc_info for r in raced)


def _at_once(n: int, send) -> list:
    """Call ``send(i)`` from ``n`` threads released together; the results in order."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        results[i] = send(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _status(base: str, path: str, form: dict) -> int:
    request = urllib.request.Request(base + path, data=urllib.parse.urlencode(form).encode())
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_concurrent_blacklist_reports_and_end_notices_are_all_stored(live_server, session, caplog):
    """Reports that suppress one phone at once, and copies of one end-of-session notice for a
    session not stored yet: each copy answers 200, the loser of the unique-index race stores
    again (INFO, no traceback), nothing at ERROR."""
    phone = "+992901230009"
    with caplog.at_level(logging.INFO):
        reports = _at_once(20, lambda i: _status(live_server, "/sms/delivery", {
            "id": f"ATXid_bl{i}", "status": "Failed", "phoneNumber": phone, "failureReason": "UserInBlackList",
            "retryCount": "0"}))
        notices = _at_once(20, lambda i: _status(live_server, "/ussd/events", {
            "sessionId": "ATUid_notice", "phoneNumber": phone, "status": "Incomplete", "hopsCount": "3"}))
    assert reports == [200] * 20 and notices == [200] * 20
    session.expire_all()
    from service.messaging.message import DeliveryReport
    from service.messaging.optout import Suppression
    assert session.scalar(select(func.count()).select_from(DeliveryReport)) == 20
    assert session.get(Suppression, phone) is not None
    row = session.get(UssdSession, "ATUid_notice")
    assert (row.status, row.end_status, row.hops_count) == ("ended", "Incomplete", 3)
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert all(not r.exc_info for r in caplog.records if r.levelno == logging.INFO)
