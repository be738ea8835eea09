"""The reference data is part of a release: ``flask --app service db upgrade`` on a fresh database
loads it (crops, districts, markets ...) as ``init-db`` does, says in one line what it added, and
never changes a row already there; a database whose schema is there without it (upgraded by a
release before this) is named by ``doctor`` and by ``/readyz`` (503), and the next ``db upgrade``
cures it (``docs/migrations.md`` §3). Each test on its own empty database, SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import time_machine

from service import create_app
from service import db as dbmod
from service import doctor, health
from service.messaging.rules import Rules
from service.reference import data
from service.reference.crops import Crop

AT = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.timezone.utc)
NO_CROPS = "The database holds no crops and no districts and no markets"


def _app(url: str):
    return create_app({"DATABASE_URL": url, "DATABASE_INIT": False, "TESTING": True, "SMS_GATEWAY": "local",
                       "WEBHOOK_TOKEN": "", "SCHEDULER_EMBEDDED": False,
                       "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00"})


def _head() -> str:
    (head,) = dbmod.head_revisions()
    return head


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))


def _price_answer(app, n: int) -> str:
    """What a farmer's SMS ``НАРХ пиёз`` (PRICE onion) is answered."""
    phone = "+992900000123"
    client = app.test_client()
    with time_machine.travel(AT, tick=False):
        answer = client.post("/sms/inbound", data={"id": f"ATXid_reference_{n}", "from": phone, "to": "7070",
                                                   "text": "НАРХ пиёз", "date": "2026-12-05 09:00:00"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    with app.extensions["dehqon.engine"].connect() as conn:
        return conn.scalar(sa.text("SELECT text FROM outbound_message WHERE phone = :p ORDER BY id DESC LIMIT 1"),
                           {"p": phone})


def _findings(url: str) -> dict[str, doctor.Finding]:
    return {f.what: f for f in doctor.check_database({"DATABASE_URL": url})}


def test_db_upgrade_of_a_fresh_database_loads_the_reference_data_once(empty_database):
    app = _app(empty_database)
    engine = app.extensions["dehqon.engine"]
    try:
        runner = app.test_cli_runner()
        done = runner.invoke(args=["db", "upgrade"])
        assert done.exit_code == 0, done.output
        *revisions, first, second = done.output.splitlines()
        assert len(revisions) == len(dbmod.history()) and all(r.startswith("applied ") for r in revisions)
        assert first == f"database upgraded from no revision (empty database) to {_head()}"
        assert second.startswith("reference data added: ")
        added = dict(reversed(part.split(" ")) for part in second[len("reference data added: "):].split(", "))
        assert added["crop"] == str(len(data.CROPS)) == str(_count(engine, "crop"))
        assert added["district"] == str(len(data.DISTRICTS)) == str(_count(engine, "district"))
        assert int(added["market"]) == _count(engine, "market") > 0
        assert _findings(empty_database)["reference"].ok

        with app.extensions["dehqon.sessionmaker"]() as session:  # staff rename a crop
            session.get(Crop, "onion").aliases = ["пиёзи сурх"]
            session.commit()
        before = {t: _count(engine, t) for t, _ in data.REQUIRED}
        done = runner.invoke(args=["db", "upgrade"])
        assert (done.exit_code, done.output) == (0, f"database already at {_head()}\nreference data already present\n")
        assert {t: _count(engine, t) for t, _ in data.REQUIRED} == before
        with app.extensions["dehqon.sessionmaker"]() as session:
            assert session.get(Crop, "onion").aliases == ["пиёзи сурх"]
    finally:
        engine.dispose()


def test_a_schema_without_reference_data_is_named_by_doctor_and_readyz_and_upgrade_cures_it(empty_database):
    app = _app(empty_database)
    engine = app.extensions["dehqon.engine"]
    try:
        dbmod.upgrade(engine, "heads")  # the schema alone, as a release before this one left it
        assert _count(engine, "crop") == _count(engine, "district") == 0

        found = _findings(empty_database)
        assert found["migrations"].ok and not found["reference"].ok
        assert found["reference"].sentence.startswith("The database holds no crops and no districts and no markets")
        assert "flask --app service db upgrade" in found["reference"].sentence
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 503 and NO_CROPS in ready.get_data(as_text=True)
        with app.extensions["dehqon.sessionmaker"]() as session:
            assert any(p.startswith(NO_CROPS) for p in health.check(session, Rules.of({}), now=AT).problems)
        assert _price_answer(app, 1).endswith("ёфт нашуд. Зироатҳо: ")  # "not found. Crops: " and none

        done = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert done.exit_code == 0, done.output
        assert done.output.startswith(f"database already at {_head()}\nreference data added: ")
        assert f" {len(data.CROPS)} crop, " in done.output

        assert _findings(empty_database)["reference"].ok
        body = app.test_client().get("/readyz").get_data(as_text=True)
        assert NO_CROPS not in body and "reference data: present" in body
        with app.extensions["dehqon.sessionmaker"]() as session:
            assert not any("reference" in p or "no crops" in p for p in health.check(session, Rules.of({}), now=AT).problems)
        after = _price_answer(app, 2)
        assert "ёфт нашуд" not in after and "Пиёз" in after, after  # the crop is known now (no price yet)
    finally:
        engine.dispose()
