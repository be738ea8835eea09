"""The farmer pages (``handlers/staff/farmers.py``, ``docs/staff.md``, Farmer pages) with the test client:
search by name, phone and member code within the scope, the farmer's page (profile, memberships,
messages with their delivery status, the household's profiles), correcting a record with its
audit entry, 404 outside the scope, merging duplicates and erasing a farmer's data."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from farmer_world import HOUSE, PHONE, build
from service.audit.log import AuditEntry
from service.farmers.models import Farmer
from service.farmers.records import correct, mask
from service.errors import Refusal
from service.groups.membership import Membership
from service.messaging.message import OutboundMessage
from staff_pages import login, make_account, post
from test_privacy import where_found


@pytest.fixture
def world(session):
    return build(session)


def _text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def _officer(client, session, district="vose", language="en"):
    account = make_account(session, "extension_officer", district, language=language,
                           username=f"eo-{district}-{language}")
    assert login(client, account.username).status_code == 302
    return account


def test_search_by_name_any_case_and_cyrillic_by_phone_and_by_code(client, session, world):
    _officer(client, session)
    g = world["gulnora"]
    for query in ("гулнора", "ГУЛНОРА раҳим", "гулнора рахимова", "901110001", "+992 90 111 0001", "0901110001",
                  g.code):
        page = _text(client.get("/staff/farmers", query_string={"q": query}))
        assert "Гулнора Раҳимова" in page, query
        assert f'href="/staff/farmers/{g.code}"' in page
        assert "Woman" in page and "VOS91" in page and g.code in page
        assert PHONE not in page and mask(PHONE) in page
    # the Kulob farmer is not found by a Vose' officer, by any key
    karim = world["kulob"]
    for query in ("Karim", karim.code, karim.phone):
        page = _text(client.get("/staff/farmers", query_string={"q": query}))
        assert "Karim Kulobi" not in page and "No farmer of your area matches." in page
    assert "Farmers found: 0" in _text(client.get("/staff/farmers", query_string={"q": "x" * 500}))


def test_the_limit_note_shows_only_when_the_limit_was_reached(client, session, world, monkeypatch):
    from service.farmers import records
    _officer(client, session)
    one = _text(client.get("/staff/farmers", query_string={"q": "гулнора"}))
    assert "Farmers found: 1" in one and "At most" not in one
    monkeypatch.setattr(records, "MAX_RESULTS", 1)
    full = _text(client.get("/staff/farmers", query_string={"q": "гулнора"}))
    assert "Farmers found: 1" in full and "At most 1 are listed" in full


def test_the_farmer_page_shows_profile_memberships_cycles_orders_questions_pledges_and_messages(client, session, world):
    _officer(client, session)
    g = world["gulnora"]
    resp = client.get(f"/staff/farmers/{g.code}")
    assert resp.status_code == 200
    page = _text(resp)
    assert "<h1>Гулнора Раҳимова" in page
    assert "0.5 ha" in page and "Tajik" in page and "Woman" in page
    assert "VOS91 · Dahana onion growers" in page and "Treasurer" in page and "Active" in page
    assert "2026-03-01" in page                                     # the crop cycle
    assert "Пиёзи ман зард шуд" in page                               # the question
    orders = page.split('id="orders"', 1)[1].split("</table>", 1)[0]
    assert "<td>2</td>" in orders and "TJS" in orders and "Placed" in orders   # two packs of the onion seed
    # messages newest first, each with its delivery status
    rows = page.split('id="messages"', 1)[1].split("</table>", 1)[0]
    assert rows.index("Нархи ҳафта") < rows.index("Пиёз: 1,40") < rows.index("PRICE onion")
    assert 'data-status="failed">Failed' in rows and "403 InvalidPhoneNumber" in rows
    assert 'data-status="delivered">Delivered' in rows and 'data-status="received">Received' in rows
    # times in Dushanbe (UTC+5), UTC on a second line: "PRICE onion" came at 08:00 UTC
    price = rows.split("PRICE onion", 1)[0].rsplit("<tr", 1)[1]
    assert ">2026-05-02 13:00</time> <span class=\"muted\">(Dushanbe)</span>" in price
    assert 'title="2026-05-02 08:00 UTC"' in price and "2026-05-02 08:00 UTC</span>" in price
    # what we hold
    held = page.split('id="what-we-hold"', 1)[1].split("</dl>", 1)[0]
    assert "VOS91" in held and "Treasurer" in held
    # by the database id, no page
    assert client.get(f"/staff/farmers/{g.id}").status_code == 404


def test_messages_page_by_page(client, session, world):
    from service.messaging.message import queue_sms
    g = world["gulnora"]
    for i in range(60):
        queue_sms(session, PHONE, f"note {i:02d}", farmer_id=g.id)
    session.commit()
    _officer(client, session)
    first = _text(client.get(f"/staff/farmers/{g.code}"))
    assert "note 59" in first and "note 05" not in first and "Older messages" in first
    second = _text(client.get(f"/staff/farmers/{g.code}?page=2"))
    assert "note 05" in second and "note 59" not in second and "Newer messages" in second
    assert client.get(f"/staff/farmers/{g.code}?page=abc").status_code == 200


def test_other_profiles_on_the_phone_link_only_when_in_scope(app, client, session, world):
    _officer(client, session)
    nodira, bahrom = world["nodira"], world["bahrom"]
    page = _text(client.get(f"/staff/farmers/{nodira.code}"))
    house = page.split('id="household"', 1)[1].split("</ul>", 1)[0]
    assert "Bahrom Qosimov" in house and "not in your area" in house
    assert f"/staff/farmers/{bahrom.code}" not in house
    assert client.get(f"/staff/farmers/{bahrom.code}").status_code == 404
    # an officer of both districts gets the link
    client = app.test_client()
    admin = make_account(session, "admin", username="amina")
    login(client, admin.username)
    house = _text(client.get(f"/staff/farmers/{nodira.code}")).split('id="household"', 1)[1].split("</ul>", 1)[0]
    assert f'href="/staff/farmers/{bahrom.code}"' in house


def test_out_of_scope_or_unknown_farmers_are_404_in_the_accounts_language(client, session, world):
    account = make_account(session, "vam_agent", str(world["gulnora"].village_id), language="ru", username="vam-ru")
    login(client, account.username)
    karim = world["kulob"]
    for path in (f"/staff/farmers/{karim.code}", f"/staff/farmers/{karim.code}/correct", "/staff/farmers/99999999",
                 f"/staff/farmers/{karim.code}/erase"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert "Такой страницы нет, или она вне вашей зоны." in _text(resp)
    assert client.get(f"/staff/farmers/{world['gulnora'].code}").status_code == 200
    # a VAM agent corrects but neither merges nor erases
    assert client.get(f"/staff/farmers/{world['gulnora'].code}/erase").status_code == 404
    assert post(client, f"/staff/farmers/{karim.code}/correct", {"name": "X Y"},
                form_page=f"/staff/farmers/{world['gulnora'].code}/correct").status_code == 404


def test_a_market_reporter_has_no_farmer_pages(client, session, world):
    account = make_account(session, "market_reporter", "VOSE", username="rep")
    login(client, account.username)
    assert client.get("/staff/farmers").status_code == 404
    assert client.get(f"/staff/farmers/{world['gulnora'].code}").status_code == 404


def _form(farmer, **changes):
    base = {"name": farmer.name, "gender": farmer.gender, "village_id": str(farmer.village_id),
            "land_ha": "0.5", "language": farmer.language, "phone": farmer.phone}
    return {**base, **changes}


def test_correct_a_record_with_an_audit_entry(client, session, world):
    _officer(client, session)
    g = world["gulnora"]
    path = f"/staff/farmers/{g.code}/correct"
    resp = post(client, path, _form(g, name="  Гулнора   Раҳимова-Саидова ", land_ha="1,25", language="ru",
                                    phone="90 111 0009"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/staff/farmers/{g.code}")
    session.expire_all()
    fresh = session.get(Farmer, g.id)
    assert (fresh.name, fresh.land_m2, fresh.language, fresh.phone) == ("Гулнора Раҳимова-Саидова", 12500, "ru",
                                                                         "+992901110009")
    assert fresh.is_main
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "farmer.correct"))
    assert entry.object_id == str(g.id) and entry.channel == "web"
    assert entry.before == {"name": "Гулнора Раҳимова", "land_ha": 0.5, "language": "tg", "phone": PHONE}
    assert entry.after == {"name": "Гулнора Раҳимова-Саидова", "land_ha": 1.25, "language": "ru",
                           "phone": "+992901110009"}
    assert "The record is corrected." in _text(client.get(f"/staff/farmers/{g.code}"))


@pytest.mark.parametrize("field,value,message", [
    ("name", "x", "A name has 2 to 40 characters"),
    ("name", "y" * 41, "A name has 2 to 40 characters"),
    ("gender", "other", "Choose woman or man."),
    ("land_ha", "600", "Land is a number of hectares"),
    ("land_ha", "-1", "Land is a number of hectares"),
    ("land_ha", "abc", "Land is a number of hectares"),
    ("language", "fr", "Choose Tajik, Russian"),
    ("phone", "12345", "This is not a phone number"),
    ("village_id", "999999", "Choose a village of your area."),
])
def test_bad_values_are_refused_and_change_nothing(client, session, world, field, value, message):
    _officer(client, session)
    g = world["gulnora"]
    resp = post(client, f"/staff/farmers/{g.code}/correct", _form(g, **{field: value}))
    assert resp.status_code == 400 and message in _text(resp)
    session.expire_all()
    assert session.get(Farmer, g.id).name == "Гулнора Раҳимова"
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "farmer.correct")) is None


def test_a_village_outside_the_area_and_a_name_taken_on_the_phone_are_refused(client, session, world):
    _officer(client, session)
    nodira, bahrom = world["nodira"], world["bahrom"]
    resp = post(client, f"/staff/farmers/{nodira.code}/correct", _form(nodira, village_id=str(bahrom.village_id)))
    assert resp.status_code == 400 and "Choose a village of your area." in _text(resp)
    resp = post(client, f"/staff/farmers/{nodira.code}/correct", _form(nodira, name="bahrom qosimov"))
    assert resp.status_code == 400 and "merge the two instead" in _text(resp)


def test_moving_a_profile_to_another_phone_keeps_one_main_profile_on_each(session, world):
    nodira, bahrom = world["nodira"], world["bahrom"]
    assert nodira.is_main and not bahrom.is_main
    correct(session, nodira, phone="+992901110077")
    session.flush()
    assert nodira.is_main and session.get(Farmer, bahrom.id).is_main
    from service.farmers import privacy
    from service.farmers.models import ErasedPhone, phone_digest
    privacy.erase(session, world["kulob"], now=world["kulob"].created_at)
    assert session.get(ErasedPhone, phone_digest("+992901110003")) is not None
    correct(session, nodira, phone="+992901110003")
    assert session.get(ErasedPhone, phone_digest("+992901110003")) is None and nodira.is_main
    with pytest.raises(Refusal) as refused:
        correct(session, nodira, land_ha="0")
    assert refused.value.key == "farmers.err.land"
    with pytest.raises(ValueError):
        correct(session, nodira, colour="red")


def test_merge_through_the_pages(app, client, session, world):
    from service.farmers import models as farmers
    g = world["gulnora"]
    dup = farmers.register(session, phone=PHONE, name="Gulnora Rahimova", gender="female", village_id=g.village_id,
                           crop_ids=["rice"], land_m2=None, language="tg", via="sms")
    session.commit()
    dup_id = dup.id
    _officer(client, session)
    page = _text(client.get(f"/staff/farmers/{g.code}/merge", query_string={"other": dup.code}))
    assert "Gulnora Rahimova" in page and "Гулнора Раҳимова" in page and "Merge the two profiles" in page
    resp = post(client, f"/staff/farmers/{g.code}/merge", {"other": dup.code},
                form_page=f"/staff/farmers/{g.code}/merge?other={dup.code}")
    assert resp.status_code == 302
    session.expire_all()
    assert session.scalar(select(Farmer.id).where(Farmer.id == dup_id)) is None
    assert session.get(Farmer, g.id).crop_ids == ["onion", "rice", "tomato"]
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "farmer.merge")).object_id == str(g.id)
    # two PGs: refused on the confirmation page, nothing merged
    nodira, karim = world["nodira"], world["kulob"]
    client = app.test_client()
    login(client, make_account(session, "admin", username="amina").username)
    page = client.get(f"/staff/farmers/{nodira.code}/merge", query_string={"other": karim.code})
    assert page.status_code == 400 and "two producer groups (VOS91 and KUL91)" in _text(page)
    assert "Merge the two profiles" not in _text(page)
    resp = post(client, f"/staff/farmers/{nodira.code}/merge", {"other": karim.code},
                form_page=f"/staff/farmers/{nodira.code}")
    assert resp.status_code == 400 and "two producer groups (VOS91 and KUL91)" in _text(resp)
    assert session.scalar(select(Farmer.id).where(Farmer.id == karim.id)) == karim.id


def test_erase_with_a_confirmation_leaves_the_name_and_phone_nowhere(client, session, world):
    from service.farmers import privacy
    account = _officer(client, session)
    g = world["gulnora"]
    name, code = g.name, g.code
    # the farmer asked a question naming themselves, and the treasurer appears in a PG notice
    page = _text(client.get(f"/staff/farmers/{code}/erase"))
    assert "Type the member code" in page
    resp = post(client, f"/staff/farmers/{code}/erase", {"confirm": "12345678"})
    assert resp.status_code == 400 and "nothing was erased" in _text(resp)
    assert session.get(Farmer, g.id).erased_at is None
    resp = post(client, f"/staff/farmers/{code}/erase", {"confirm": code})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/farmers")
    session.expire_all()
    erased = session.get(Farmer, g.id)
    assert erased.erased_at is not None and erased.gender == "female"
    assert client.get(f"/staff/farmers/{code}").status_code == 404
    secrets = (PHONE, PHONE.lstrip("+"), PHONE[-9:])
    assert where_found(session, (name,)) == []
    # until it is sent, only the farewell keeps the phone
    assert set(where_found(session, secrets)) == {("outbound_message", "phone")}
    farewell = session.scalar(select(OutboundMessage).where(OutboundMessage.phone == PHONE))
    assert farewell.kind == "stop_confirm" and farewell.farmer_id is None
    farewell.status = "delivered"
    privacy.scrub_sent(session, erased.erased_at)
    session.commit()
    assert where_found(session, secrets) == [] and where_found(session, (name,)) == []
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "farmer.erase"))
    assert entry.account_id == account.id and entry.channel == "web" and entry.object_id == str(g.id)
    # the membership stays for the counts
    assert session.scalar(select(Membership.status).where(Membership.farmer_id == g.id)) == "active"


def test_the_farmer_pages_speak_tajik_and_russian(client, session, world):
    _officer(client, session, language="tg")
    g = world["gulnora"]
    page = _text(client.get(f"/staff/farmers/{g.code}"))
    assert "Профилҳои дигари ин телефон" in page and "Хазинадор" in page and "Расонида шуд" in page
    assert "Ҷустуҷӯи деҳқон" in _text(client.get("/staff/farmers"))
    assert "Деҳқонон" in _text(client.get("/staff/"))  # the navigation
