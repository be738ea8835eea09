"""``POST /ussd`` and ``POST /ussd/events``: the tables of ``tests/cases/ussd.py``,
plus the pager of ``service.ussd.engine`` and the number helpers of ``service.reference.render``."""
from __future__ import annotations

import logging

import pytest

import templates_sms
import farmer_text
from cases import ussd as cases
from service.ussd import engine as ussd
from service.messaging.encoding import fits_ussd, measure, normalise
from service.reference import render
from service.reference.names import LANGUAGES

PLAIN = "text/plain; charset=utf-8"


@pytest.fixture
def app_settings(request):
    case = getattr(request.node, "callspec", None) and request.node.callspec.params.get("case")
    return {"WEBHOOK_TOKEN": case.token} if case and case.token else {}


def _check_hop_answer(resp, case):
    assert resp.status_code == case.status, resp.get_data(as_text=True)
    if resp.status_code == 200:
        body = resp.get_data(as_text=True)
        assert resp.headers["Content-Type"] == PLAIN
        assert body[:4] in ("CON ", "END ") and body[4:].strip(), body
        assert fits_ussd(body), body
        farmer_text.check(body)


def run(client, case) -> list[str]:
    """Send the case's requests in order; return every answer body (each hop answer checked)."""
    key = {"key": case.key} if case.key is not None else {}
    bodies: list[str] = []

    def post_hop(form):
        resp = client.post("/ussd", data=form, query_string=key)
        _check_hop_answer(resp, case)
        bodies.append(resp.get_data(as_text=True))

    for req in case.requests:
        if isinstance(req, cases.Dial):
            typed: list[str] = []
            post_hop(cases.hop("", session=req.session, phone=req.phone))
            for value in req.inputs:
                if isinstance(value, cases.Seek):  # 98 until a page lists it
                    for _ in range(value.pages):
                        if value.shows(bodies[-1]):
                            break
                        typed.append("98")
                        post_hop(cases.hop("*".join(typed), session=req.session, phone=req.phone))
                typed.append(value.resolve(bodies[-1]) if isinstance(value, cases.Pick) else value)
                post_hop(cases.hop("*".join(typed), session=req.session, phone=req.phone))
        elif isinstance(req, cases.Event):
            resp = client.post("/ussd/events", data=req.fields, query_string=key)
            assert resp.status_code == case.status
            assert resp.status_code == 403 or resp.headers["Content-Type"] == PLAIN
            bodies.append(resp.get_data(as_text=True))
        elif isinstance(req, cases.Raw):
            resp = client.open(req.url, method=req.method, data=req.body.encode(), content_type=req.content_type,
                               query_string={**req.query, **key})
            if req.url == "/ussd":
                _check_hop_answer(resp, case)
            assert resp.status_code == case.status
            bodies.append(resp.get_data(as_text=True))
        else:
            post_hop(req)
    return bodies


def _run_case(client, session, case, caplog):
    world = cases.build_world(session) if case.world else {}
    if case.setup:
        case.setup(session, world)
    with caplog.at_level(logging.WARNING):
        bodies = run(client, case)
    last = bodies[-1]
    if callable(case.body):
        assert case.body(last), f"{case.body.__doc__ or 'predicate'} failed on {last!r}"
    else:
        assert last == case.body
    session.expire_all()
    if case.effect:
        case.effect(session, world, bodies)
    if case.log:
        assert any(case.log in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.parametrize("case", cases.CASES, ids=[c.label for c in cases.CASES])
def test_ussd_hop(client, session, case, caplog):
    _run_case(client, session, case, caplog)


@pytest.mark.parametrize("case", cases.EVENT_CASES, ids=[c.label for c in cases.EVENT_CASES])
def test_ussd_events(client, session, case, caplog):
    _run_case(client, session, case, caplog)


# -- pure helpers -------------------------------------------------------------------

@pytest.mark.parametrize("text, code, expected", [
    ("", "*384*7#", ""),
    ("*384*7#", "*384*7#", ""),
    ("*384*7", "*384*7#", ""),
    ("*384*7*1*2#", "*384*7#", "1*2"),
    ("1*2", "*384*7#", "1*2"),
    ("1*A*B", "*384*7#", "1*A*B"),
])
def test_input_path(text, code, expected):
    assert ussd.input_path(text, code) == expected


@pytest.mark.parametrize("last, text, expected", [
    ("", "1", ["1"]),
    ("1", "1*Ali*Vali", ["Ali*Vali"]),
    ("1*Ali*Vali", "1*Ali*Vali*2", ["2"]),
    ("1", "1*", [""]),
    ("", "*384*7#", []),
    ("*384*7#", "*384*7*1#", ["1"]),
    ("1*2", "1*3", None),
])
def test_new_input(last, text, expected):
    assert ussd.new_input(last, text, "*384*7#") == expected


@pytest.mark.parametrize("diram, lang, expected", [
    (140, "tg", "1,40"), (140, "en", "1.40"), (-10, "uz", "-0.10"), (123456, "en", "1234.56"), (5, "ru", "0,05"),
])
def test_tjs(diram, lang, expected):
    assert render.tjs(diram, lang) == expected


@pytest.mark.parametrize("diram, lang, expected", [
    (5, "ru", "+0,05"), (-10, "uz", "-0.10"), (0, "tg", "+0,00"), (0, "en", "+0.00"), (-105, "tg", "-1,05"),
])
def test_change_is_always_signed(diram, lang, expected):
    assert render.change(diram, lang) == expected


@pytest.mark.parametrize("lang, mark", [("tg", ","), ("ru", ","), ("uz", "."), ("en", ".")])
def test_amounts_render_one_way_per_language(lang, mark):
    """An amount, a change and a price with its change: the language's decimal mark, never the other."""
    other = "." if mark == "," else ","
    written = [render.tjs(390, lang), render.change(-5, lang), render.price(140, 10, lang), render.price(140, None, lang)]
    assert written == [f"3{mark}90", f"-0{mark}05", f"1{mark}40 +0{mark}10", f"1{mark}40"]
    assert not any(other in w for w in written)


@pytest.mark.parametrize("m2, lang, expected", [(5000, "tg", "0,5"), (15000, "en", "1.5"), (10000, "ru", "1"),
                                                 (2500, "uz", "0.25")])
def test_hectares(m2, lang, expected):
    assert render.hectares(m2, lang) == expected


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pager_pages_long_lists_by_measuring(lang):
    items = [ussd.Option(ussd.Part(f"Деҳаи рақами {n}"), n) for n in range(20)]
    view = ussd.View(head=["Деҳа:"], items=items)
    start, seen = 0, []
    while True:
        page = ussd.layout(view, lang=lang, start=start, root=False)
        assert fits_ussd(page.body) and 1 <= page.count <= ussd.MAX_OPTIONS[lang]
        assert page.shown == list(range(start, start + page.count))
        seen += page.shown
        if start + page.count >= len(items):
            assert templates_sms.text("ussd.nav.more", lang) not in page.body
            break
        assert templates_sms.text("ussd.nav.more", lang) in page.body
        start += page.count
    assert seen == list(range(20))


def test_pager_shortens_a_name_that_cannot_fit():
    name = "Гулрухсори Абдураҳмонова-Сафарова " * 3
    page = ussd.layout(ussd.View(head=["Кӣ занг мезанад?"], items=[ussd.Option(ussd.Part(name), 1)],
                                 extras=[ussd.Option("Шахси нав", "new")]), lang="tg", root=False)
    assert fits_ussd(page.body) and "Гулрухсори" in page.body and ".." in page.body
    assert page.shown == [1, "new"]


def test_notice_never_renumbers_a_page():
    view = ussd.View(head=["Зироатҳо:"], items=[ussd.Option(x, x) for x in ("Пиёз", "Шолӣ", "Помидор")],
                     extras=[ussd.Option("Тамом", "done")])
    plain = ussd.layout(view, lang="tg", root=False)
    noticed = ussd.layout(view, lang="tg", root=False, notice="Ақаллан як зироат.")
    assert noticed.shown == plain.shown and noticed.body.startswith("CON Ақаллан як зироат.")
    assert fits_ussd(noticed.body)


# -- texts ----------------------------------------------------------------------------

USSD_KEYS = sorted(k for k in templates_sms.catalogue() if k.startswith("ussd."))


@pytest.mark.parametrize("key", USSD_KEYS)
def test_every_ussd_text_in_four_languages_with_the_same_placeholders(key):
    entry = templates_sms.catalogue()[key]
    assert set(entry) == set(LANGUAGES)
    assert len({frozenset(templates_sms.placeholders(v)) for v in entry.values()}) == 1, entry
    for lang, value in entry.items():
        assert value.strip() and normalise(value) == value, (lang, value)
        if lang in ("uz", "en"):
            assert measure(value).encoding == "GSM-7", (lang, value)


@pytest.mark.parametrize("key", [k for k in USSD_KEYS if k.startswith("ussd.sms.")])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_sms_texts_fit_one_message_even_with_a_cyrillic_name(key, lang):
    text = templates_sms.text(key, lang, name="Зарина Каримова", code="12070", pg="DAH01")
    assert measure(text).segments == 1, text
