"""The staff prices page: the latest prices of the account's markets, several prices entered at
once with the sanity check of SMS SETPRICE (an unusual price saved only once confirmed), all or
nothing, one audit entry per price; each market's history; who sees what; refusals in the page
language."""
from __future__ import annotations

import datetime as dt
import html as html_lib

import pytest
from sqlalchemy import select

from service.audit.log import AuditEntry
from service.db import utcnow
from service.prices.market import Market, MarketPrice, set_price
from staff_pages import csrf, login, make_account

PAGE = "/staff/prices"


def html(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def today(app) -> dt.date:
    return app.extensions["dehqon.settings"].today(utcnow())


def send(client, form: dict):
    return client.post(PAGE, data={**form, "csrf_token": csrf(client, PAGE)})


def prices(session) -> list[tuple[str, str, int]]:
    session.expire_all()
    rows = session.execute(select(Market.code, MarketPrice.crop_id, MarketPrice.price_diram)
                           .join(Market, Market.id == MarketPrice.market_id).order_by(Market.code, MarketPrice.crop_id))
    return [tuple(r) for r in rows]


def audit(session) -> list[AuditEntry]:
    session.expire_all()
    return session.scalars(select(AuditEntry).where(AuditEntry.action == "price.set").order_by(AuditEntry.id)).all()


@pytest.fixture
def reporter(client, session):
    make_account(session, "market_reporter", "KULOB", username="rep")
    login(client, "rep")


def test_a_market_reporter_enters_a_price_for_their_market_with_its_audit_entry(app, client, session, reporter):
    page = html(client.get(PAGE))
    assert 'for="price-KULOB-tomato"' in page and 'id="price-KULOB-tomato"' in page
    assert "price-VOSE-tomato" not in page and "price-DAHANA-onion" not in page
    answer = send(client, {"price-KULOB-tomato": "3,50", "price-KULOB-onion": ""})
    assert answer.status_code == 302
    assert prices(session) == [("KULOB", "tomato", 350)]
    [entry] = audit(session)
    assert entry.channel == "web" and entry.actor.startswith("rep")
    assert entry.object_type == "market_price" and entry.before is None
    assert entry.after["price_diram"] == 350 and entry.after["market"] == "KULOB" and entry.after["crop"] == "tomato"
    page = html(client.get(PAGE))
    assert "The prices are saved." in page
    row = page[page.index('data-market="KULOB" data-crop="tomato"'):]
    row = row[:row.index("</tr>")]
    assert "3.50" in row and today(app).isoformat() in row and "rep" in row
    # a correction of the same day replaces the price; the audit entry keeps the one before
    assert send(client, {"price-KULOB-tomato": "3.60"}).status_code == 302
    assert prices(session) == [("KULOB", "tomato", 360)]
    assert audit(session)[-1].before["price_diram"] == 350


def test_another_market_is_not_found(client, session, reporter):
    assert send(client, {"price-VOSE-tomato": "3.50"}).status_code == 404
    assert send(client, {"price-KULOB-tomato": "3.50", "price-NOSUCH-tomato": "3.50"}).status_code == 404
    assert send(client, {"price-KULOB-mango": "3.50"}).status_code == 404
    assert prices(session) == [] and audit(session) == []
    assert client.get(f"{PAGE}/VOSE").status_code == 404
    assert client.get(f"{PAGE}/NOSUCH").status_code == 404
    assert client.get(f"{PAGE}/KULOB").status_code == 200


def test_an_unusual_price_is_saved_only_once_confirmed(app, client, session, reporter):
    kulob = session.scalar(select(Market).where(Market.code == "KULOB"))
    set_price(session, "onion", kulob, 200, today(app) - dt.timedelta(days=3), source="demo")
    session.commit()
    # tomato 15 TJS is outside its usual range (no report yet); onion 4 TJS is +100% on the last report
    form = {"price-KULOB-tomato": "15", "price-KULOB-onion": "4", "price-KULOB-rice": "8"}
    answer = send(client, form)
    assert answer.status_code == 400
    page = html(answer)
    assert "Nothing was saved" in page
    assert "outside this crop's usual 1.00–10.00 TJS/kg" in page
    assert "more than 50% off the last report (2.00 TJS/kg" in page
    assert 'id="confirm-KULOB-tomato"' in page and 'id="confirm-KULOB-onion"' in page
    assert 'id="confirm-KULOB-rice"' not in page  # rice 8 TJS is usual
    assert 'value="15"' in page  # what was typed comes back
    assert prices(session) == [("KULOB", "onion", 200)] and audit(session) == []
    # confirming one of the two is not enough: still nothing, and the confirmation given is kept
    answer = send(client, {**form, "confirm-KULOB-tomato": "yes"})
    assert answer.status_code == 400
    assert 'name="confirm-KULOB-tomato" value="yes" checked' in html(answer)
    assert 'name="confirm-KULOB-onion" value="yes">' in html(answer)
    assert prices(session) == [("KULOB", "onion", 200)]
    answer = send(client, {**form, "confirm-KULOB-tomato": "yes", "confirm-KULOB-onion": "yes"})
    assert answer.status_code == 302
    assert prices(session) == [("KULOB", "onion", 200), ("KULOB", "onion", 400), ("KULOB", "rice", 800),
                               ("KULOB", "tomato", 1500)]
    assert len(audit(session)) == 3


@pytest.mark.parametrize("typed", ["abc", "0", "1001", "1.234", "-2", "1000.01", "x" * 40])
def test_bad_input_is_refused_and_nothing_is_half_saved(client, session, reporter, typed):
    answer = send(client, {"price-KULOB-tomato": "3.50", "price-KULOB-onion": typed})
    assert answer.status_code == 400
    page = html(answer)
    assert "is not a price: type TJS per kg, more than 0 and at most 1,000" in page
    assert "Nothing was saved" in page
    assert prices(session) == [] and audit(session) == []


def test_an_empty_form_is_refused(client, session, reporter):
    answer = send(client, {"price-KULOB-tomato": "  ", "price-KULOB-onion": ""})
    assert answer.status_code == 400
    assert "type at least one price" in html(answer)
    assert prices(session) == []


def test_refusals_in_the_page_language(client, session):
    make_account(session, "market_reporter", "KULOB", username="rep-ru", language="ru")
    login(client, "rep-ru")
    answer = send(client, {"price-KULOB-tomato": "много"})
    assert answer.status_code == 400
    assert "«много» — не цена" in html(answer) and "Ничего не сохранено" in html(answer)
    answer = send(client, {"price-KULOB-tomato": "50"})
    assert "Необычная цена" in html(answer) and "Подтверждаю необычную цену" in html(answer)


def test_a_post_without_its_csrf_token_is_refused(client, session, reporter):
    assert client.post(PAGE, data={"price-KULOB-tomato": "3.50"}).status_code == 400
    assert prices(session) == []


def test_a_post_of_too_many_fields_is_refused(client, session, reporter):
    junk = {f"x{i}": "1" for i in range(500)}
    assert send(client, {**junk, "price-KULOB-tomato": "3.50"}).status_code in (400, 413)  # the app may cap first
    assert prices(session) == []


@pytest.mark.parametrize("role, scope, markets", [
    ("admin", (), ["BALKH", "BALKHCC", "DAHANA", "JOMI", "JOMICC", "KULOB", "VOSE", "VOSECC"]),
    ("extension_officer", ("kulob",), ["DAHANA", "KULOB"]),
    ("cluster_coordinator", ("onion.vose",), ["VOSE", "VOSECC"]),
    ("market_reporter", ("KULOB", "DAHANA"), ["DAHANA", "KULOB"]),
])
def test_who_sees_which_markets(client, session, role, scope, markets):
    make_account(session, role, *scope, username="someone")
    login(client, "someone")
    page = html(client.get(PAGE))
    all_codes = [m.code for m in session.scalars(select(Market))]
    assert sorted(c for c in all_codes if f'data-market="{c}"' in page) == markets
    for code in all_codes:
        assert client.get(f"{PAGE}/{code}").status_code == (200 if code in markets else 404)


def test_roles_without_prices_do_not_see_the_page(client, session):
    from service.reference.geography import Village

    village = session.scalar(select(Village.id).order_by(Village.id).limit(1))
    make_account(session, "vam_agent", str(village), username="other")
    login(client, "other")
    assert client.get(PAGE).status_code == 404
    assert client.get(f"{PAGE}/KULOB").status_code == 404
    assert "/staff/prices" not in html(client.get("/staff"))


def test_the_market_history_newest_first(app, client, session, reporter):
    kulob = session.scalar(select(Market).where(Market.code == "KULOB"))
    day = today(app)
    for back, diram in ((5, 300), (2, 320), (1, 330)):
        set_price(session, "tomato", kulob, diram, day - dt.timedelta(days=back), source="+992900000206")
    set_price(session, "onion", kulob, 150, day - dt.timedelta(days=4), source="demo")
    session.commit()
    page = html(client.get(f"{PAGE}/KULOB"))
    table = page[page.index('id="history-tomato"'):]
    table = table[:table.index("</table>")]
    assert table.index("3.30") < table.index("3.20") < table.index("3.00")
    assert (day - dt.timedelta(days=1)).isoformat() in table
    assert "+992900000206" not in page  # a phone with no account is masked
    assert 'id="history-onion"' in page and 'id="history-rice"' not in page


def test_the_market_history_chart_svg_with_its_text_alternative(app, client, session, reporter):
    kulob = session.scalar(select(Market).where(Market.code == "KULOB"))
    day = dt.date(2026, 11, 20)
    for back, diram in ((5, 300), (2, 320), (1, 330)):
        set_price(session, "tomato", kulob, diram, day - dt.timedelta(days=back), source="demo")
    set_price(session, "onion", kulob, 150, day - dt.timedelta(days=2), source="demo")
    session.commit()
    page = html(client.get(f"{PAGE}/KULOB"))
    assert f'src="{PAGE}/KULOB/chart.svg"' in page
    figure = page[page.index('id="price-chart"'):page.index("</figure>")]
    assert "Tomato (TJS/kg): 2026-11-15 3.00, 2026-11-18 3.20, 2026-11-19 3.30" in figure
    assert "Onion (TJS/kg): 2026-11-18 1.50" in figure
    answer = client.get(f"{PAGE}/KULOB/chart.svg")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    svg = html(answer)
    assert "<svg " in svg and "<script" not in svg and 'href="http' not in svg
    title = svg[svg.index("<title>"):svg.index("</title>")]
    assert "Prices at Kulob" in title
    assert "Tomato (TJS/kg): 2026-11-15 3.00, 2026-11-18 3.20, 2026-11-19 3.30" in title
    assert "Onion (TJS/kg): 2026-11-18 1.50" in title and "Rice" not in title
    # the legend names each crop drawn, the axis its unit
    assert ">Tomato<" in svg and ">Onion<" in svg and ">TJS/kg<" in svg
    # the same in the page language: Tajik words, decimal comma
    make_account(session, "market_reporter", "KULOB", username="rep-tg", language="tg")
    other = app.test_client()
    login(other, "rep-tg")
    tg = html(other.get(f"{PAGE}/KULOB/chart.svg"))
    assert "сомонӣ/кг" in tg and "3,30" in tg


def test_the_chart_of_another_market_is_not_found(client, session, reporter):
    assert client.get(f"{PAGE}/VOSE/chart.svg").status_code == 404
    assert client.get(f"{PAGE}/NOSUCH/chart.svg").status_code == 404
    page = html(client.get(f"{PAGE}/KULOB"))
    assert 'id="price-chart"' not in page and "No price has been reported" in page
    assert client.get(f"{PAGE}/KULOB/chart.svg").status_code == 200
