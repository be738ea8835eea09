"""WSGI app of the USSD benchmark (``gunicorn -c gunicorn.conf.py bench.app:app``): the service's
app, built by ``service.create_app()`` from the environment as in production, plus two floor
routes that exist only here, never in the service's own routes:

* ``POST /bench/bare``: a bare Flask endpoint (reads the form, answers ``CON ok``);
* ``POST /bench/upsert``: the least a stateful hop needs, in one transaction on the app's
  engine: one indexed read (the farmer by ``phoneNumber``, ``ix_farmer_phone``) and one upsert of
  a session row keyed by ``sessionId`` (``INSERT ... ON CONFLICT DO UPDATE`` of
  :data:`FLOOR_SESSION`, made by :func:`create_floor_table` before the server starts);
  answers ``CON <farmer id>``.

Both pass through the same request hooks (body limits, session teardown) as the service's routes.
"""
from __future__ import annotations

from flask import Response, request
from sqlalchemy import Column, Integer, MetaData, String, Text, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from service import create_app
from service.farmers.models import Farmer

#: the floor's session rows (not a table of the service: only in the bench databases)
FLOOR_SESSION = Table("bench_floor_session", MetaData(),
                      Column("session_id", String(100), primary_key=True),
                      Column("phone", String(20), nullable=False),
                      Column("state", Text, nullable=False),
                      Column("hops", Integer, nullable=False))


def create_floor_table(engine) -> None:
    """Create :data:`FLOOR_SESSION` in the bench database (before gunicorn starts)."""
    FLOOR_SESSION.metadata.create_all(engine)


def _plain(body: str) -> Response:
    return Response(body, status=200, content_type="text/plain; charset=utf-8")


def build():
    """The service's app with the two floor routes."""
    app = create_app()
    engine = app.extensions["dehqon.engine"]
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @app.post("/bench/bare")
    def bench_bare():
        request.form.get("sessionId")
        return _plain("CON ok")

    @app.post("/bench/upsert")
    def bench_upsert():
        session_id, phone = request.form.get("sessionId", ""), request.form.get("phoneNumber", "")
        with engine.begin() as conn:
            farmer = conn.execute(select(Farmer.id, Farmer.language).where(Farmer.phone == phone)
                                  .limit(1)).first()
            upsert = dialect_insert(FLOOR_SESSION).values(session_id=session_id, phone=phone, state="main",
                                                          hops=1)
            conn.execute(upsert.on_conflict_do_update(
                index_elements=[FLOOR_SESSION.c.session_id],
                set_={"state": "main", "hops": FLOOR_SESSION.c.hops + 1}))
        return _plain(f"CON {farmer.id if farmer else 0}")

    return app


app = build()
