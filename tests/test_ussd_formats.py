"""``/ussd`` in each gateway format (``USSD_FORMAT``): the table of ``tests/cases/ussd_formats.py``,
the same registered farmer's walk in every format, and the formats as data
(``service.ussd.formats``, ``docs/gateway-ussd-formats.md`` §1–§3)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from cases import ussd as ussd_cases
from cases import ussd_formats as cases
from service import StartupError, create_app, new_session
from service.ussd import formats


@pytest.fixture
def app_settings(request):
    params = getattr(request.node, "callspec", None) and request.node.callspec.params
    fmt = (params or {}).get("case")
    fmt = fmt.fmt if isinstance(fmt, cases.Case) else (params or {}).get("fmt")
    return {"USSD_FORMAT": fmt} if fmt else {}


def send(client, fmt: str, req: cases.Req) -> cases.Answer:
    """Send ``req`` to ``/ussd``; the answer as gateway ``fmt`` reads it (its form checked)."""
    if req.method == "GET":
        resp = client.get("/ussd", query_string=req.params)
    else:
        resp = client.post("/ussd", data=req.params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    session_id = req.params.get(formats.get(fmt).fields.session_id, "")
    return cases.read_answer(fmt, resp.status_code, resp.headers["Content-Type"], resp.get_data(as_text=True),
                             session_id)


@pytest.mark.parametrize("case", cases.CASES, ids=[c.label for c in cases.CASES])
def test_format_case(client, session, case):
    world = ussd_cases.build_world(session) if case.world else {}
    answers = [send(client, case.fmt, req) for req in case.requests]
    assert case.answer(answers[-1]), f"{case.answer.__doc__ or 'predicate'} failed on {answers[-1].raw!r}"
    session.expire_all()
    if case.effect:
        case.effect(session, world, answers)


@pytest.fixture
def second_database_url(request, database_url):
    """A second database like ``database_url`` (the schema and reference data only): the walk's
    reference run through AT needs a world of its own."""
    if database_url.startswith("sqlite"):
        path = request.getfixturevalue("sqlite_dir") / "formats-second.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    pg = request.getfixturevalue("pg_database")
    name = f"{pg.name}_formats"
    with pg.admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg.template}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with pg.admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _walk(app, fmt: str) -> list[tuple[bool, str]]:
    """:data:`cases.WALK` sent to ``app`` in ``fmt`` on a new world; its effect and stored history
    checked; the screens as ``(going_on, text)``."""
    session = new_session(app)
    try:
        world = ussd_cases.build_world(session)
        client = app.test_client()
        answers = [send(client, fmt, req) for req in cases.walk_requests(fmt, cases.WALK)]
        session.expire_all()
        cases.WALK_EFFECT(session, world, answers)
        history = ("*".join(cases.WALK[:n]) for n in range(len(cases.WALK) + 1))
        cases.hop_texts(cases.SESSION_OF[fmt], *history)(session, world, answers)
    finally:
        session.close()
    return [(a.going_on, a.text) for a in answers]


@pytest.mark.parametrize("fmt", ["advanta", "hollatags"])
def test_the_registered_farmer_walk_is_the_same_in_every_format(app, fmt, second_database_url):
    """The walk of ``cases.WALK`` in ``fmt`` shows exactly the screens it shows through AT, with
    the same effect (the join request, the committee's notices) and the same stored history."""
    screens = _walk(app, fmt)
    assert len(screens) == len(cases.WALK) + 1
    assert all(going_on for going_on, _ in screens[:-1]) and screens[-1][0] is False
    assert cases._t("ussd.join.sent") in screens[-1][1]
    at_app = create_app({**app.config, "USSD_FORMAT": "africastalking", "DATABASE_URL": second_database_url})
    try:
        assert _walk(at_app, "africastalking") == screens
    finally:
        at_app.extensions["dehqon.engine"].dispose()


def test_an_unknown_format_stops_the_service():
    with pytest.raises(StartupError, match="USSD_FORMAT must be one of africastalking, advanta, hollatags"):
        create_app({"USSD_FORMAT": "kannel-ussd", "DATABASE_INIT": False, "DATABASE_URL": "sqlite://"})


def test_every_format_is_documented_and_maps_every_field():
    assert formats.get("") is formats.AFRICASTALKING and formats.get("HollaTags") is formats.HOLLATAGS
    with pytest.raises(KeyError):
        formats.get("nope")
    for fmt in formats.FORMATS.values():
        assert fmt.doc.startswith("docs/gateway-ussd-formats.md §")
        assert fmt.fields.session_id and fmt.fields.phone and fmt.fields.text and fmt.fields.service_code
        assert fmt.input in ("history", "latest") and fmt.reply.kind in ("prefix", "json")
        assert not (fmt.end & fmt.start)


@pytest.mark.parametrize("fmt, body, expected", [
    ("africastalking", "CON Меню\n1 Нарх", ("CON Меню\n1 Нарх", "text/plain; charset=utf-8")),
    ("advanta", "END Раҳмат", ("END Раҳмат", "text/plain; charset=utf-8")),
    ("hollatags", "CON Меню", ('{"session_operation": "continue", "session_type": 1, "session_id": "42", '
                               '"session_msg": "Меню"}', "application/json")),
    ("hollatags", "END Раҳмат", ('{"session_operation": "end", "session_type": 4, "session_id": "42", '
                                 '"session_msg": "Раҳмат"}', "application/json")),
])
def test_answers_are_written_in_the_gateways_markers(fmt, body, expected):
    assert formats.get(fmt).answer(body, "42") == expected
