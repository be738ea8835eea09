"""A database filled by the release whose only migration was the first (``65fa7d0f021b``,
initial_schema) upgrades to the newest revision with every row kept, on SQLite and PostgreSQL,
and the service answers on it (``docs/migrations.md`` §5).

The rows are ``tests/data/first-revision-demo.json.gz``: that release's demo region (81 PGs,
1,496 farmers, prices) and a farmer's USSD session and SMS, dumped from its SQLite file by
``tools/make_first_revision_fixture.py``. The test creates its own empty database, migrates it
to the first revision, loads the rows as that schema's column types read them, migrates to the
newest revision, and compares every fixture row, by primary key, column by column, with what the
database holds. What the later migrations did on purpose is stated here, each with its revision:
nothing else may differ. The newest revision is read from the migrations folder.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import json
from pathlib import Path

import sqlalchemy as sa
import time_machine

from service import create_app
from service import db as dbmod

FIXTURE = Path(__file__).parent / "data" / "first-revision-demo.json.gz"
FIRST = "65fa7d0f021b"

#: tables the later migrations replaced, with where their rows went (checked below)
GONE = {
    "vam_agent": "d4f6a8c20004: a supplier became the responder of role vam_agent of its phone (its code, name, "
                 "villages and whole districts); see _check_vam_agents",
    "vam_agent_item": "d4f6a8c20004: became agent_item (responder id, item id)",
}
#: columns of the first revision a later migration dropped or renamed: (table, column) -> new name, or None
#: for one whose values a migration changes on purpose (then checked on its own)
MOVED: dict[tuple[str, str], str | None] = {
    # d4f6a8c20004 re-points it from vam_agent ids to responder ids; the first release's demo has no
    # orders (asserted), the migration's own test checks the re-pointing
    ("input_order", "supplier_id"): None,
}
#: tables where a later migration adds rows of its own (the fixture's rows must all be there still)
GROWN = {
    "responder": "d4f6a8c20004: a supplier with no responder of its phone becomes one",
}


def _fixture() -> dict:
    return json.loads(gzip.decompress(FIXTURE.read_bytes()))


def _typed(value, type_):
    """A value as SQLite stored it (the fixture), as the column's type reads it."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"base64"}:
        return base64.b64decode(value["base64"])
    if isinstance(type_, sa.DateTime):
        when = dt.datetime.fromisoformat(value)
        return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    if isinstance(type_, sa.Date):
        return dt.date.fromisoformat(value)
    if isinstance(type_, sa.Boolean):
        return bool(value)
    if isinstance(type_, sa.JSON):
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(type_, sa.Numeric) and not isinstance(type_, sa.Float):
        return decimal.Decimal(str(value))
    return value


def _normal(value):
    """A value read back, comparable across backends: aware UTC datetimes (SQLite's are naive UTC)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc) if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return value


def _load(engine, fixture: dict) -> sa.MetaData:
    """Migrate the empty database to the first revision and insert every fixture row; the first
    revision's tables (reflected) are returned."""
    dbmod.upgrade(engine, FIRST)
    first = sa.MetaData()
    first.reflect(engine)
    first.remove(first.tables["alembic_version"])
    assert set(first.tables) == set(fixture["tables"])  # the fixture holds every table of that schema
    with engine.begin() as conn:
        for table in first.sorted_tables:  # parents first: the foreign keys are checked as rows go in
            data = fixture["tables"][table.name]
            if data["rows"]:
                conn.execute(table.insert(), [{c: _typed(v, table.c[c].type) for c, v in zip(data["columns"], row)}
                                              for row in data["rows"]])
        if conn.dialect.name == "postgresql":  # rows came with their ids: the sequences go past them
            for table in first.sorted_tables:
                for column in table.primary_key.columns:
                    if isinstance(column.type, sa.Integer) and conn.scalar(
                            sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))):
                        conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                                             f"coalesce((SELECT max({column.name}) FROM {table.name}), 0) + 1, false)"))
    return first


def _rows(conn, table: sa.Table, key: list[str]) -> dict:
    return {tuple(r[k] for k in key): r for r in conn.execute(sa.select(table)).mappings()}


def _check_vam_agents(conn, head: sa.MetaData, fixture: dict) -> None:
    """Each supplier of the first release is a responder of role vam_agent with its code, phone and name,
    and its items are that responder's (d4f6a8c20004)."""
    agents = [dict(zip(fixture["tables"]["vam_agent"]["columns"], r)) for r in fixture["tables"]["vam_agent"]["rows"]]
    assert len(agents) == 4
    responder, agent_item = head.tables["responder"], head.tables["agent_item"]
    by_code = {r.code: r for r in conn.execute(sa.select(responder).where(responder.c.role == "vam_agent"))}
    for agent in agents:
        row = by_code[agent["code"]]
        assert (row.phone, row.name, row.language) == (agent["phone"], agent["name"], agent["language"])
    old_ids = {a["id"]: a["code"] for a in agents}
    want = sorted((old_ids[agent_id], item) for agent_id, item in fixture["tables"]["vam_agent_item"]["rows"])
    got = sorted((by_code_id, item) for by_code_id, item in conn.execute(
        sa.select(responder.c.code, agent_item.c.item_id).join(agent_item, agent_item.c.agent_id == responder.c.id)))
    assert got == want


def test_a_first_release_database_upgrades_with_every_row_kept_and_answers(empty_database):
    fixture = _fixture()
    assert fixture["revision"] == FIRST
    assert fixture["tables"]["input_order"]["rows"] == []  # see MOVED
    engine = dbmod.make_engine(empty_database)
    try:
        first = _load(engine, fixture)
        assert dbmod.current_revisions(engine) == {FIRST}
        assert sum(len(t["rows"]) for t in fixture["tables"].values()) > 5000
        dbmod.upgrade(engine)
        assert dbmod.schema_behind(engine) is None
        head = sa.MetaData()
        head.reflect(engine)
        compared = 0
        with engine.connect() as conn:
            for name, data in fixture["tables"].items():
                if name in GONE:
                    continue
                old, new = first.tables[name], head.tables[name]
                key = [c.name for c in old.primary_key.columns]
                assert [c.name for c in new.primary_key.columns] == key, name
                got = _rows(conn, new, key)
                want = [dict(zip(data["columns"], row)) for row in data["rows"]]
                if name in GROWN:
                    assert len(got) >= len(want), name
                else:
                    assert len(got) == len(want), name
                for row in want:
                    typed = {c: _typed(v, old.c[c].type) for c, v in row.items()}
                    found = got[tuple(typed[k] for k in key)]
                    for column, value in typed.items():
                        target = MOVED.get((name, column), column)
                        if target is None:
                            continue
                        assert _normal(found[target]) == _normal(value), (name, tuple(typed[k] for k in key), column)
                        compared += 1
            _check_vam_agents(conn, head, fixture)
        assert compared > 30000
    finally:
        engine.dispose()
    prices = [dict(zip(fixture["tables"]["market_price"]["columns"], r)) for r in fixture["tables"]["market_price"]["rows"]]
    vosecc, names = next(r[:3:2] for r in fixture["tables"]["market"]["rows"] if r[1] == "VOSECC")
    latest = max((p for p in prices if p["crop_id"] == "onion" and p["market_id"] == vosecc),
                 key=lambda p: p["observed_on"])
    _answers(empty_database, dt.datetime.fromisoformat(fixture["built_at"]), json.loads(names)["tg"],
             latest["price_diram"])


def _answers(database_url: str, built_at: dt.datetime, centre: str, onion_vosecc: int) -> None:
    """The upgraded database serves: a demo farmer's USSD first hop gets the main menu, SMS PRICE asks
    which crop and PRICE пиёз answers with the fixture's latest onion price at the Vose' centre
    (``centre``, its Tajik name; ``onion_vosecc``, diram)."""
    with time_machine.travel(built_at + dt.timedelta(hours=1), tick=False):
        app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SMS_GATEWAY": "local", "WEBHOOK_TOKEN": "",
                          "SCHEDULER_EMBEDDED": False, "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00"})
        try:
            engine = app.extensions["dehqon.engine"]
            with engine.connect() as conn:
                phone = conn.scalar(sa.text("SELECT phone FROM farmer ORDER BY id LIMIT 1"))
            client = app.test_client()
            hop = client.post("/ussd", data={"sessionId": "ATUid_after_upgrade", "serviceCode": "*384*7#",
                                             "phoneNumber": phone, "networkCode": "43404", "text": ""})
            body = hop.get_data(as_text=True)
            assert hop.status_code == 200 and body.startswith("CON "), body
            assert "1 Гурӯҳи ман" in body, body

            def sms(n: int, words: str) -> str:
                answer = client.post("/sms/inbound", data={"id": f"ATXid_after_upgrade_{n}", "from": phone,
                                                           "to": "7070", "text": words, "date": "2026-12-05 09:00:00"})
                assert answer.status_code == 200, answer.get_data(as_text=True)
                with engine.connect() as conn:
                    reply = conn.execute(sa.text("SELECT text, status FROM outbound_message WHERE phone = :p "
                                                 "ORDER BY id DESC LIMIT 1"), {"p": phone}).one()
                assert reply.status == "queued"
                return reply.text

            assert "НАРХ пиёз" in sms(1, "PRICE")  # which crop? (in the farmer's Tajik)
            prices = sms(2, "PRICE пиёз")
            assert prices.startswith("Пиёз, сомонӣ/кг"), prices
            assert f"\n{centre} {onion_vosecc / 100:.2f}".replace(".", ",") in prices, prices
        finally:
            app.extensions["dehqon.engine"].dispose()
