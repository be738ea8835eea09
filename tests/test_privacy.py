"""Farmers own their data (``docs/privacy.md``): MYDATA, DELETE with its code, ``privacy.erase``
leaving no name or phone in any column of any table, member codes that are not ids, the CLI."""
from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest
from sqlalchemy import JSON, String, Text, func, insert, select

import templates_sms
from service.audit.log import AuditEntry
from service.db import Base, utcnow
from service.farmers import models as farmers
from service.farmers import privacy
from service.farmers.models import ErasedPhone, Farmer, code_of_id
from service.groups import membership
from service.groups.membership import Membership
from service.groups.producer_group import ProducerGroup
from service.messaging.encoding import measure
from service.messaging.message import OutboundMessage
from service.reference.geography import Village

TOKEN = "s3cret"
PHONE = "+992901234567"        # Madina (ru), alone on her phone
HOUSE = "+992901234500"        # Nodira (tg, main) and Bahrom (uz) share it
CHAIR = "+992901234511"        # the PG's chair (en)
SECRETS = (PHONE, PHONE.lstrip("+"), PHONE[-9:])
_seq = iter(range(10_000))


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN}


def sms(client, sender: str, text: str) -> None:
    form = {"id": f"p{next(_seq)}", "from": sender, "to": "1234", "text": text, "date": "2024-05-12 10:00:00"}
    resp = client.post("/sms/inbound?key=" + TOKEN, data=urllib.parse.urlencode(form).encode(),
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200, resp.get_data(as_text=True)


def last_to(session, phone: str) -> OutboundMessage:
    session.expire_all()
    return session.scalars(select(OutboundMessage).where(OutboundMessage.phone == phone)
                           .order_by(OutboundMessage.id.desc())).first()


def world(session) -> dict[str, Farmer]:
    village = session.scalars(select(Village).order_by(Village.id)).first()
    pg = ProducerGroup(code="VOS03", name="Onion growers", village_id=village.id, cluster_id="onion.vose")
    session.add(pg)
    session.flush()

    def reg(phone, name, gender, lang):
        return farmers.register(session, phone=phone, name=name, gender=gender, village_id=village.id,
                                crop_ids=["onion"], land_m2=5000, language=lang)
    people = {"chair": reg(CHAIR, "Rustam Chairov", "male", "en"), "madina": reg(PHONE, "Madina Erasova", "female", "ru"),
              "nodira": reg(HOUSE, "Nodira Qosimova", "female", "tg"), "bahrom": reg(HOUSE, "Bahrom Qosimov", "male", "uz")}
    membership.assign_ec_seat(session, people["chair"], pg, "chair")
    session.commit()
    return people


def by_gender_per_pg(session) -> list[tuple]:
    """The report count: members (active or pending) by gender per PG."""
    return session.execute(select(Membership.pg_id, Farmer.gender, func.count())
                           .join(Farmer, Farmer.id == Membership.farmer_id)
                           .where(Membership.status.in_(("active", "pending")))
                           .group_by(Membership.pg_id, Farmer.gender).order_by(Membership.pg_id, Farmer.gender)).all()


def where_found(session, values) -> list[tuple[str, str]]:
    """(table, column) of every text or JSON value in any table containing any of ``values``."""
    session.expire_all()
    found = []
    for table in Base.metadata.sorted_tables:
        cols = [c for c in table.columns if isinstance(c.type, (String, Text, JSON)) or
                isinstance(getattr(c.type, "impl", None), (String, Text, JSON))]
        if not cols:
            continue
        for row in session.execute(select(*cols)):
            for col, value in zip(cols, row):
                if value is not None and any(v in str(value) for v in values):
                    found.append((table.name, col.name))
    return found


def held_code(session, phone: str) -> str:
    from service.ussd.session import FormDraft
    session.expire_all()
    return session.scalar(select(FormDraft).where(FormDraft.phone == phone, FormDraft.kind == "erase")).data["code"]


def test_delete_leaves_the_name_and_phone_in_no_column_of_any_table(client, session):
    people = world(session)
    madina = people["madina"]
    code, name = madina.code, madina.name
    sms(client, PHONE, "JOIN VOS03")                      # the chair is told her name and code
    sms(client, CHAIR, f"APPROVE {code}")                 # an active member: counted after her erasure
    sms(client, PHONE, f"ASK my onion leaves are yellow, {name}")
    sms(client, PHONE, "MYDATA")
    assert name in last_to(session, PHONE).text
    counts = by_gender_per_pg(session)
    assert any(name in o.text for o in session.scalars(select(OutboundMessage).where(OutboundMessage.phone == CHAIR)))

    sms(client, PHONE, "УДАЛИТЬ")
    ask = last_to(session, PHONE)
    assert ask.text == templates_sms.text("farmers.delete.ask", "ru", name=name, code=held_code(session, PHONE))
    sms(client, PHONE, f"DELETE {held_code(session, PHONE)}")

    session.expire_all()
    erased = session.get(Farmer, madina.id)
    assert erased.erased_at is not None and erased.name == "" and erased.phone == ""
    assert erased.gender == "female" and farmers.by_code(session, code) is None
    assert by_gender_per_pg(session) == counts
    # until it is sent, only the last confirmation keeps the phone (and no name)
    assert where_found(session, (name,)) == []
    assert set(where_found(session, SECRETS)) == {("outbound_message", "phone")}
    farewell = session.scalar(select(OutboundMessage).where(OutboundMessage.phone == PHONE))
    assert farewell.text == templates_sms.text("farmers.delete.done", "ru") and farewell.kind == "stop_confirm"
    assert session.get(ErasedPhone, farmers.phone_digest(PHONE)) is not None

    farewell.status = "delivered"
    session.commit()
    assert privacy.scrub_sent(session, utcnow()) == 1
    session.commit()
    assert where_found(session, (name, *SECRETS)) == []


def test_a_wrong_or_old_code_erases_nothing(client, session):
    people = world(session)
    sms(client, PHONE, "DELETE")
    sms(client, PHONE, "DELETE 0000" if held_code(session, PHONE) != "0000" else "DELETE 0001")
    assert last_to(session, PHONE).text == templates_sms.text("farmers.delete.wrong_code", "ru")
    session.expire_all()
    assert session.get(Farmer, people["madina"].id).erased_at is None


def test_delete_on_a_shared_phone_keeps_the_other_profile_and_the_phone(client, session):
    people = world(session)
    bahrom, nodira = people["bahrom"], people["nodira"]
    bahrom_id, name = bahrom.id, bahrom.name
    sms(client, HOUSE, f"{bahrom.code} MYDATA")
    sms(client, HOUSE, f"{bahrom.code} DELETE")
    sms(client, HOUSE, f"{bahrom.code} DELETE {held_code(session, HOUSE)}")
    session.expire_all()
    assert session.get(Farmer, bahrom_id).erased_at is not None
    assert where_found(session, (name,)) == []
    assert session.get(ErasedPhone, farmers.phone_digest(HOUSE)) is None
    assert [p.name for p in farmers.profiles(session, HOUSE)] == ["Nodira Qosimova"]
    sms(client, HOUSE, "MYDATA")                              # the other profile still works
    reply = last_to(session, HOUSE)
    assert "Nodira Qosimova" in reply.text and reply.language == "tg"
    # the erased code is no profile of the phone any more
    sms(client, HOUSE, f"{session.get(Farmer, bahrom_id).code} DELETE")
    assert last_to(session, HOUSE).text.endswith(templates_sms.text("sms.code_not_here", "tg",
                                                                    code=session.get(Farmer, bahrom_id).code))
    assert nodira.id != bahrom_id


def test_delete_from_a_phone_without_data(client, session):
    world(session)
    sms(client, "+992901239999", "DELETE")
    reply = last_to(session, "+992901239999")
    assert reply.text == templates_sms.text("farmers.delete.nothing", reply.language)


def test_registering_again_after_an_erasure_lifts_the_erased_mark(client, session):
    people = world(session)
    privacy.erase(session, people["madina"], now=utcnow())
    session.commit()
    assert privacy.was_erased(session, PHONE)
    village = session.scalars(select(Village).order_by(Village.id)).first()
    farmers.register(session, phone=PHONE, name="Madina", gender="female", village_id=village.id, crop_ids=[],
                     land_m2=None, language="ru")
    session.commit()
    assert not privacy.was_erased(session, PHONE)


@pytest.mark.parametrize("lang", ["tg", "ru", "uz", "en"])
def test_the_summary_fits_its_budget_with_long_values(lang):
    s = privacy.Summary(name="Гулбаҳор" * 5, code="12345678", village="50-солагии Тоҷикистон " * 2, pg="VOSECC01",
                        seat="treasurer", status="active", crops=["Помидор", "Пиёз", "Шолӣ", "Картошка"],
                        land_ha=12.25, language=lang, orders=999, pledges=999, questions=999, messages=9999)
    text = privacy.fit_summary(s, "*384*7#")
    assert measure(text).segments <= privacy.MAX_SUMMARY_SEGMENTS
    assert text.endswith("DELETE")


@pytest.mark.parametrize("lang", ["tg", "ru", "uz", "en"])
def test_privacy_texts_fit(lang):
    for key in ("farmers.delete.ask", "farmers.delete.wrong_code", "farmers.delete.done", "farmers.delete.nothing",
                "farmers.reg.kept"):
        assert measure(templates_sms.text(key, lang, name="Гулбаҳор" * 5, code="1234")).segments <= 2
    for key in ("farmers.delete.done", "farmers.reg.kept", "farmers.delete.wrong_code"):
        assert measure(templates_sms.text(key, lang)).segments == 1
    for parts in (privacy.receipt_texts(templates_sms.text("sms.reg.done", lang, name="Гулбаҳор" * 5, code="12345678"),
                                        lang),
                  privacy.receipt_texts(templates_sms.text("sms.reg.done", lang, name="Ali", code="12345678"), lang)):
        assert all(measure(p).segments <= 2 for p in parts)
        assert templates_sms.text("farmers.reg.kept", lang) in parts[-1]


def test_member_codes_are_not_ids_and_bulk_inserts_get_them(session):
    ids = range(1, 3001)
    codes = [code_of_id(i) for i in ids]
    assert len(set(codes)) == len(codes) and all(len(c) == 8 and c.isdecimal() for c in codes)
    assert codes != sorted(codes)
    village = session.scalars(select(Village).order_by(Village.id)).first()
    rows = [{"id": 90_000 + i, "phone": f"+99290700{i:04d}", "name": f"Bulk {i}", "gender": "male",
             "language": "tg", "village_id": village.id, "is_main": True} for i in range(50)]
    session.execute(insert(Farmer), rows)
    session.execute(insert(Farmer), [{"phone": f"+99290800{i:04d}", "name": f"Core {i}", "gender": "female",
                                      "language": "tg", "village_id": village.id, "is_main": True} for i in range(20)])
    session.commit()
    got = session.execute(select(Farmer.id, Farmer.code)).all()
    assert len({c for _, c in got}) == len(got) == 70
    assert [(i, c) for i, c in got if 90_000 <= i < 90_050 and c != code_of_id(i)] == []
    one = farmers.register(session, phone="+992901230000", name="Typed", gender="male", village_id=village.id,
                           crop_ids=[], land_m2=None, language="tg")
    assert one.code != str(one.id) and farmers.by_code(session, one.code) is one


def test_cli_mydata_and_erase_with_an_audit_entry(runner, session):
    people = world(session)
    code, fid = people["madina"].code, people["madina"].id
    result = runner.invoke(args=["farmers", "mydata", "--code", code])
    assert result.exit_code == 0 and "Madina Erasova" in result.output and code in result.output
    assert runner.invoke(args=["farmers", "erase", "--code", code]).exit_code != 0
    result = runner.invoke(args=["farmers", "erase", "--code", code, "--yes"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(Farmer, fid).erased_at is not None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "farmer.erase"))
    assert entry.channel == "cli" and entry.object_id == str(fid)
    assert "Madina" not in str((entry.before, entry.after, entry.note))
    assert runner.invoke(args=["farmers", "mydata", "--code", code]).exit_code != 0


def test_an_erased_phone_gets_nothing_it_did_not_ask_for(session):
    from service.messaging.optout import suppressions_among
    from service.messaging.rules import sent_despite_opt_out
    people = world(session)
    privacy.erase(session, people["madina"], now=utcnow())
    session.commit()
    stop = suppressions_among(session, [PHONE, CHAIR])
    assert set(stop) == {PHONE} and stop[PHONE].source == "erased"
    assert not sent_despite_opt_out("broadcast", utcnow(), stop[PHONE].created_at, "erased")
    assert sent_despite_opt_out("reply", utcnow(), stop[PHONE].created_at, "erased")


def ussd(client, session_id: str, phone: str, text: str) -> str:
    form = {"sessionId": session_id, "serviceCode": "*384*7#", "phoneNumber": phone, "networkCode": "43601",
            "text": text}
    resp = client.post("/ussd?key=" + TOKEN, data=urllib.parse.urlencode(form).encode(),
                       content_type="application/x-www-form-urlencoded")
    return resp.get_data(as_text=True)


def pick(client, session_id: str, phone: str, typed: list[str], label: str) -> list[str]:
    """``typed`` plus the number of the option ``label``, paging with 98 until a screen shows it."""
    for _ in range(6):
        body = ussd(client, session_id, phone, "*".join(typed))
        for line in body.split("\n"):
            number, _, text = line.removeprefix("CON ").partition(" ")
            if text == label:
                return [*typed, number]
        typed = [*typed, "98"]
    raise AssertionError(f"no option {label!r}: {body!r}")


def test_delete_by_ussd_leaves_the_name_and_phone_in_no_column_of_any_table(client, session):
    people = world(session)
    name = people["madina"].name
    sms(client, PHONE, "JOIN VOS03")
    typed = pick(client, "U1", PHONE, ["5"], templates_sms.text("farmers.ussd.mydata", "ru"))
    assert ussd(client, "U1", PHONE, "*".join(typed)).startswith("END ")
    typed = pick(client, "U2", PHONE, ["5"], templates_sms.text("farmers.ussd.delete", "ru"))
    assert ussd(client, "U2", PHONE, "*".join(typed)).startswith("CON " + templates_sms.text(
        "farmers.ussd.delete_confirm", "ru"))
    assert ussd(client, "U2", PHONE, "*".join([*typed, "1"])) == "END " + templates_sms.text("farmers.ussd.deleted", "ru")
    # AT's end-of-session notice still names the phone: it is not stored again
    resp = client.post("/ussd/events?key=" + TOKEN, data=urllib.parse.urlencode(
        {"sessionId": "U2", "serviceCode": "*384*7#", "phoneNumber": PHONE, "networkCode": "43601",
         "status": "Success", "input": "*".join([*typed, "1"]), "lastAppResponse": "END", "hopsCount": "4",
         "durationInMillis": "9000", "cost": "KES 0.0"}).encode(), content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200
    session.expire_all()
    assert where_found(session, (name,)) == []
    assert set(where_found(session, SECRETS)) == {("outbound_message", "phone")}
    session.execute(OutboundMessage.__table__.update().where(OutboundMessage.phone == PHONE).values(status="delivered"))
    privacy.scrub_sent(session, utcnow())
    session.commit()
    assert where_found(session, (name, *SECRETS)) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_database_file_keeps_no_copy_of_an_erased_phone(app, client, session):
    """SQLite's free space and the checkpointed log hold no copy of the erased name or phone."""
    from pathlib import Path

    from sqlalchemy import text

    name = world(session)["madina"].name
    sms(client, PHONE, "MYDATA")
    sms(client, PHONE, "DELETE")
    sms(client, PHONE, f"DELETE {held_code(session, PHONE)}")
    session.expire_all()
    farewell = session.scalar(select(OutboundMessage).where(OutboundMessage.phone == PHONE))
    farewell.status = "delivered"
    session.commit()
    privacy.scrub_sent(session, utcnow())
    session.commit()
    session.close()
    engine = app.extensions["dehqon.engine"]
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    data = Path(engine.url.database).read_bytes()
    for secret in (PHONE.lstrip("+").encode(), name.encode()):
        assert secret not in data


def test_an_erased_member_stays_counted_but_cannot_be_elected_and_a_pending_request_goes(session):
    from service.errors import Refusal
    from service.groups import committee

    people = world(session)
    pg = session.scalar(select(ProducerGroup).where(ProducerGroup.code == "VOS03"))
    madina, nodira = people["madina"], people["nodira"]
    membership.join(session, madina, pg)
    membership.approve(session, people["chair"], madina.code)
    membership.join(session, nodira, pg)                       # pending: the chair is asked to approve
    membership.tell_ec(session, pg, nodira)
    session.commit()
    asked = session.scalar(select(OutboundMessage).where(OutboundMessage.phone == CHAIR,
                                                         OutboundMessage.status == "queued")
                           .order_by(OutboundMessage.id.desc()))
    assert asked is not None
    privacy.erase(session, madina, now=utcnow())
    privacy.erase(session, nodira, now=utcnow())
    session.commit()
    assert membership.current(session, session.get(Farmer, madina.id)).status == "active"  # still counted
    assert session.scalar(select(Membership.status).where(Membership.farmer_id == nodira.id)) == "left"
    assert session.get(OutboundMessage, asked.id).status == "withdrawn"
    with pytest.raises(Refusal) as refused:
        committee.fill(session, pg, "secretary", session.get(Farmer, madina.id), dt.date(2026, 1, 5))
    assert refused.value.key == "staff.err.erased_farmer"
    with pytest.raises(Refusal) as refused:
        committee.replace(session, pg, "chair", session.get(Farmer, madina.id), dt.date(2026, 1, 5))
    assert refused.value.key == "staff.err.erased_farmer"
