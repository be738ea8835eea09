"""The Alembic migrations build exactly the schema the models declare (``docs/migrations.md`` §4),
on SQLite and PostgreSQL, and the data migrations keep and backfill rows."""
from __future__ import annotations

import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from service import db as dbmod
from service import features


def test_migrations_match_models(app):
    """Alembic's autogenerate finds nothing to do on the migrated database: tables, columns, types,
    server defaults, nullability, indexes, unique constraints and foreign keys with their
    ON DELETE / ON UPDATE (compared when the backend reflects them, as SQLite and PostgreSQL do)."""
    engine = app.extensions["dehqon.engine"]
    features.import_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True}), dbmod.Base.metadata)
    assert diffs == [], "models changed without a migration: alembic revision --autogenerate"


def _space(sql: str | None) -> str | None:
    return None if sql is None else re.sub(r"\s+", " ", str(sql)).strip()


def reflected_schema(engine) -> dict:
    """Every table's columns (type, nullable, default), primary key, foreign keys (with their
    options), indexes, unique and CHECK constraints, as the database itself reports them."""
    inspector = sa.inspect(engine)
    schema = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        schema[table] = {
            "columns": {c["name"]: (str(c["type"]), c["nullable"], _space(c.get("default")))
                        for c in inspector.get_columns(table)},
            "primary key": tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
            "foreign keys": sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                                    tuple(fk["referred_columns"]),
                                    tuple(sorted((k, str(v).upper()) for k, v in (fk.get("options") or {}).items())))
                                   for fk in inspector.get_foreign_keys(table)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                              for ix in inspector.get_indexes(table)),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
            "checks": sorted((ck["name"], _space(ck["sqltext"])) for ck in inspector.get_check_constraints(table)),
        }
    return schema


def test_migrated_schema_is_the_schema_the_models_create(empty_database):
    """What autogenerate does not compare (CHECK constraints, the exact reflected types and
    defaults, constraint names), compared on the database's own terms: a database migrated from
    nothing to the newest revision against one the models create (``metadata.create_all``), the
    same backend normalising both (PostgreSQL rewrites CHECK and DEFAULT expressions)."""
    features.import_models()
    migrated = dbmod.make_engine(empty_database)
    try:
        dbmod.migrate(migrated, "heads")
        got = reflected_schema(migrated)
        assert len(got) >= 40  # every table, not an empty comparison
        with migrated.begin() as conn:  # the same database, emptied and built from the models
            dbmod.Base.metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE alembic_version"))
        assert sa.inspect(migrated).get_table_names() == []
        dbmod.Base.metadata.create_all(migrated)
        want = reflected_schema(migrated)
    finally:
        migrated.dispose()
    assert got.keys() == want.keys()
    for table in want:
        assert got[table] == want[table], table


def test_the_migrations_have_one_head_and_one_base():
    """Two schema changes made side by side (each on the same parent) leave two heads: the second
    to land must follow the first (``docs/migrations.md`` §1)."""
    script = ScriptDirectory.from_config(dbmod.migration_config())
    assert len(script.get_heads()) == 1, f"several heads {script.get_heads()}: set one's down_revision to the other"
    assert script.get_bases() == ["65fa7d0f021b"]
    assert dbmod.head_revisions() == frozenset(script.get_heads())


def test_every_migration_goes_down_and_up_again(empty_database):
    """From the newest revision down to nothing and up again, one revision at a time both ways."""
    engine = dbmod.make_engine(empty_database)
    try:
        dbmod.upgrade(engine)
        revisions = [r.id for r in dbmod.history()]
        for below in reversed(["base", *revisions[:-1]]):
            dbmod.downgrade(engine, below)
            assert dbmod.current_revisions(engine) == (frozenset() if below == "base" else {below})
        assert sa.inspect(engine).get_table_names() == ["alembic_version"]
        for rev in revisions:
            assert dbmod.upgrade(engine, rev)[1] == {rev}
        assert dbmod.schema_behind(engine) is None
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(app):
    dbmod.create_schema(app.extensions["dehqon.engine"])  # already at head: no error, no change


def test_outbox_lifetime_migration_keeps_and_backfills_existing_rows(app):
    """b2c4e6a80002 on an outbox written before it: every row keeps its data and gets a deadline
    (created + 24 h, tips + 48 h) and an updated_at; downgrade and upgrade again work."""
    import datetime as dt

    import sqlalchemy as sa

    engine = app.extensions["dehqon.engine"]
    created = dt.datetime(2026, 11, 30, 8, 15, 30, 123456, tzinfo=dt.timezone.utc)
    delivered = created + dt.timedelta(minutes=3)
    old = sa.table("outbound_message", *(sa.column(c) for c in (
        "phone", "text", "kind", "priority", "encoding", "segments", "status", "attempts")),
        sa.column("next_attempt_at", dbmod.UTCDateTime()), sa.column("created_at", dbmod.UTCDateTime()),
        sa.column("delivered_at", dbmod.UTCDateTime()))
    try:
        dbmod.migrate(engine, "65fa7d0f021b", down=True)
        with engine.begin() as conn:
            conn.execute(old.insert(), [
                {"phone": "+992900000011", "text": "reply", "kind": "reply", "priority": 1, "encoding": "GSM-7",
                 "segments": 1, "status": "queued", "attempts": 0, "next_attempt_at": created,
                 "created_at": created, "delivered_at": None},
                {"phone": "+992900000012", "text": "tip", "kind": "tip", "priority": 6, "encoding": "GSM-7",
                 "segments": 1, "status": "delivered", "attempts": 1, "next_attempt_at": created,
                 "created_at": created, "delivered_at": delivered}])
    finally:
        dbmod.create_schema(engine)
    from service.messaging.message import OutboundMessage
    with app.extensions["dehqon.sessionmaker"]() as session:
        rows = {r.kind: r for r in session.scalars(sa.select(OutboundMessage))}
    assert rows["reply"].expires_at == created + dt.timedelta(hours=24)
    assert rows["tip"].expires_at == created + dt.timedelta(hours=48)
    assert (rows["reply"].updated_at, rows["tip"].updated_at) == (created, delivered)
    assert (rows["tip"].status, rows["tip"].text, rows["tip"].delivered_at) == ("delivered", "tip", delivered)


def test_one_vam_agent_migration_merges_the_supplier_into_the_responder_of_its_phone(app, caplog):
    """d4f6a8c20004 on a database of the revision before, holding a VAM agent entered twice (a
    responder and two supplier rows of one phone), a supplier of its own and orders of each:
    one record per phone, with the first code, every item, village and district, every order
    line and question keeping its agent; down and up again keeps all of it."""
    import datetime as dt
    import logging

    import sqlalchemy as sa

    from service.advice import responders
    from service.advice.questions import Question, QuestionRoute
    from service.advice.responders import Responder
    from service.farmers.models import register
    from service.groups.producer_group import ProducerGroup
    from service.orders import catalogue
    from service.orders.rounds import InputOrder, OrderRound
    from service.reference.geography import Village

    engine = app.extensions["dehqon.engine"]
    Session = app.extensions["dehqon.sessionmaker"]
    phone, other = "+992901500001", "+992901500002"
    now = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
    with Session() as s:  # what the merge does not touch: a farmer, a PG, a round with five lines
        village = {v.names["en"]: v.id for v in s.scalars(sa.select(Village))}
        pg = ProducerGroup(code="DAH01", name="Dahana", village_id=village["Dahana"], cluster_id="tomato.kulob")
        s.add(pg)
        s.flush()
        farmer = register(s, phone="+992901500009", name="Gulnora", gender="female", village_id=village["Dahana"],
                          crop_ids=["tomato"], land_m2=5000, language="tg")
        rnd = OrderRound(pg_id=pg.id, status="closed", opened_at=now, closes_on=now.date())
        s.add(rnd)
        s.flush()
        item = catalogue.by_code(s, "TML1")
        s.add_all(InputOrder(round_id=rnd.id, farmer_id=farmer.id, item_id=item.id, packs=n, unit_retail_diram=1500,
                             unit_group_diram=1200, total_diram=1200 * n, saving_diram=300 * n, created_at=now,
                             updated_at=now) for n in range(1, 6))
        s.commit()
        farmer_id = farmer.id
    meta = sa.MetaData()
    old = {name: sa.Table(name, meta, *cols) for name, cols in {
        "vam_agent": [sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.String),
                      sa.Column("name", sa.String), sa.Column("kind", sa.String), sa.Column("phone", sa.String),
                      sa.Column("language", sa.String), sa.Column("district_ids", sa.JSON),
                      sa.Column("village_ids", sa.JSON)],
        "vam_agent_item": [sa.Column("agent_id", sa.Integer), sa.Column("item_id", sa.String)],
        "responder": [sa.Column("id", sa.Integer, primary_key=True), sa.Column("role", sa.String),
                      sa.Column("kind", sa.String), sa.Column("name", sa.String), sa.Column("phone", sa.String),
                      sa.Column("language", sa.String), sa.Column("district_id", sa.String),
                      sa.Column("active", sa.Boolean), sa.Column("created_at", dbmod.UTCDateTime())],
        "responder_village": [sa.Column("responder_id", sa.Integer), sa.Column("village_id", sa.Integer)],
        "question": [sa.Column("id", sa.Integer, primary_key=True), sa.Column("farmer_id", sa.Integer),
                     sa.Column("text", sa.Text), sa.Column("channel", sa.String), sa.Column("status", sa.String),
                     sa.Column("responder_id", sa.Integer), sa.Column("level", sa.Integer),
                     sa.Column("routed_at", dbmod.UTCDateTime()), sa.Column("asked_at", dbmod.UTCDateTime())],
        "question_route": [sa.Column("question_id", sa.Integer), sa.Column("responder_id", sa.Integer),
                           sa.Column("level", sa.Integer), sa.Column("sent_at", dbmod.UTCDateTime())],
        "input_order": [sa.Column("id", sa.Integer, primary_key=True), sa.Column("supplier_id", sa.Integer)],
    }.items()}

    def supplier_codes(conn, table: str) -> list:
        agent = old[table]
        return conn.execute(sa.select(agent.c.code).select_from(old["input_order"].outerjoin(
            agent, agent.c.id == old["input_order"].c.supplier_id)).order_by(old["input_order"].c.id)).scalars().all()

    try:
        dbmod.migrate(engine, "c3d5f7a90003", down=True)
        with engine.begin() as conn:
            demo = dict(conn.execute(sa.select(old["vam_agent"].c.code, old["vam_agent"].c.id)).all())
            assert sorted(demo) == ["CBOVOSE", "SHOPBALKH", "SHOPJOMI", "VAMKUL"]
            assert conn.scalar(sa.select(sa.func.count()).select_from(old["responder"])) == 0  # supplier-only
            rid = conn.execute(old["responder"].insert().values(
                role="vam_agent", kind="agro_shop", name="Agro Dahana", phone=phone, language="tg",
                district_id="kulob", active=True, created_at=now).returning(old["responder"].c.id)).scalar_one()
            conn.execute(old["responder_village"].insert().values(responder_id=rid, village_id=village["Dahana"]))
            qid = conn.execute(old["question"].insert().values(
                farmer_id=farmer_id, text="leaves curl", channel="sms", status="open", responder_id=rid, level=0,
                routed_at=now, asked_at=now).returning(old["question"].c.id)).scalar_one()
            conn.execute(old["question_route"].insert().values(question_id=qid, responder_id=rid, level=0, sent_at=now))
            # the demo suppliers' ids collide with the responder ids the merge hands out
            base = max([rid, *demo.values()]) + 10
            conn.execute(old["vam_agent"].insert(), [
                {"id": base + 1, "code": "DAHSHOP", "name": "Dahana agro-shop, the supplier side", "kind": "cbo",
                 "phone": phone, "language": "ru", "district_ids": [],
                 "village_ids": [village["Yokhsuchiyon"], village["Dahana"], 999999]},
                {"id": base + 2, "code": "ZDUP", "name": "Dahana agro-shop again", "kind": "agro_shop",
                 "phone": phone, "language": "tg", "district_ids": ["jomi", "atlantis"], "village_ids": []},
                {"id": base + 3, "code": "GULSUP", "name": "Guliston supplier " + "x" * 90, "kind": "individual",
                 "phone": other, "language": "uz", "district_ids": [], "village_ids": [village["Guliston"]]}])
            conn.execute(old["vam_agent_item"].insert(), [
                {"agent_id": base + 1, "item_id": "seed.tomato.local"}, {"agent_id": base + 1, "item_id": "pest.bordeaux"},
                {"agent_id": base + 2, "item_id": "fert.compost"}, {"agent_id": base + 2, "item_id": "pest.bordeaux"},
                {"agent_id": base + 3, "item_id": "seed.onion.jayhun"}])
            orders = old["input_order"]
            ids = conn.scalars(sa.select(orders.c.id).order_by(orders.c.id)).all()
            for order_id, supplier in zip(ids, [base + 1, base + 2, demo["SHOPJOMI"], base + 3, None]):
                conn.execute(orders.update().where(orders.c.id == order_id).values(supplier_id=supplier))
        with caplog.at_level(logging.WARNING):
            dbmod.migrate(engine, "head")
        logged = caplog.text
        assert "ZDUP has the phone of vam_agent DAHSHOP: merged into it, code ZDUP dropped" in logged
        assert "DAHSHOP: no village [999999]" in logged and "ZDUP: no district ['atlantis']" in logged
        assert "keeps its name 'Agro Dahana' (supplier: 'Dahana agro-shop, the supplier side')" in logged

        def check(s):
            assert not {"vam_agent", "vam_agent_item"} & set(sa.inspect(s.get_bind()).get_table_names())
            agent = s.scalars(sa.select(Responder).where(Responder.phone == phone)).one()
            assert (agent.id, agent.code, agent.role, agent.name, agent.kind, agent.language, agent.district_id) == \
                (rid, "DAHSHOP", "vam_agent", "Agro Dahana", "agro_shop", "tg", "kulob")
            assert agent.village_ids == sorted([village["Dahana"], village["Yokhsuchiyon"]])
            assert agent.district_ids == ["jomi"]
            assert [i.code for i in catalogue.items_of(s, agent)] == ["FCM1", "PBD1", "TML1"]
            assert responders.by_code(s, "ZDUP") is None
            gulsup = responders.by_code(s, "GULSUP")
            assert (gulsup.phone, gulsup.name, gulsup.district_id, gulsup.village_ids, gulsup.active) == \
                (other, "Guliston supplier " + "x" * 90, "vose", [village["Guliston"]], True)
            assert [a.code for a in responders.vam_agents(s)] == ["CBOVOSE", "DAHSHOP", "GULSUP", "SHOPBALKH",
                                                                  "SHOPJOMI", "VAMKUL"]
            assert [a.district_ids for a in responders.vam_agents(s) if a.code in catalogue.AGENTS] == \
                [["vose"], ["balkhi"], ["jomi"], ["kulob"]]
            lines = s.scalars(sa.select(InputOrder).order_by(InputOrder.id)).all()
            assert [s.get(Responder, o.supplier_id).code if o.supplier_id else None for o in lines] == \
                ["DAHSHOP", "DAHSHOP", "SHOPJOMI", "GULSUP", None]
            question = s.get(Question, qid)
            assert question.responder_id == rid
            assert s.scalars(sa.select(QuestionRoute.responder_id)).all() == [rid]
            # the one record routes both ways
            assert catalogue.supplier_for(s, catalogue.by_code(s, "TML1"), village["Yokhsuchiyon"]) is agent
            assert catalogue.supplier_for(s, catalogue.by_code(s, "FCM1"), village["Dahana"]) is agent
            assert [r.id for r in responders.serving(s, village["Yokhsuchiyon"], "kulob")] == [rid]

        with Session() as s:
            check(s)
        dbmod.migrate(engine, "c3d5f7a90003", down=True)
        with engine.connect() as conn:
            assert supplier_codes(conn, "vam_agent") == ["DAHSHOP", "DAHSHOP", "SHOPJOMI", "GULSUP", None]
            shop = conn.execute(sa.select(old["vam_agent"]).where(old["vam_agent"].c.code == "DAHSHOP")).one()
            assert (shop.phone, shop.district_ids, sorted(shop.village_ids)) == \
                (phone, ["jomi"], sorted([village["Dahana"], village["Yokhsuchiyon"]]))
            assert conn.scalars(sa.select(old["responder"].c.phone).order_by(old["responder"].c.phone)).all() == \
                [phone, other]  # the agents that serve villages answer there; supplier-only ones are not kept
        dbmod.migrate(engine, "head")
        with Session() as s:
            check(s)
    finally:
        dbmod.create_schema(engine)
