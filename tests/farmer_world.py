"""A small world for the farmer pages' tests: two districts' farmers with memberships, crops, a
crop cycle, an order, a question, a pledge and messages with their delivery status, and a shared
household phone.

``build(session)`` returns a dict of the farmers (``gulnora`` in Vose' with everything, ``bahrom``
and ``nodira`` sharing ``HOUSE`` with Nodira in Vose' and Bahrom in Kulob, ``kulob`` a Kulob
farmer) and the PGs (``vos``, ``kul``). It commits.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.advice.questions import Question
from service.farmers import models as farmers
from service.groups import membership
from service.groups.producer_group import ProducerGroup
from service.messaging.message import InboundMessage, queue_sms
from service.orders.catalogue import InputItem
from service.orders.rounds import InputOrder, OrderRound
from service.prices.alerts import PriceAlert, PriceSubscription
from service.reference.geography import Village
from service.reminders.crop_cycle import CropCycle
from service.sales.joint_sale import CollectionCentre, Pledge

PHONE = "+992901110001"   # Gulnora, alone
HOUSE = "+992901110002"   # Nodira (Vose', main) and Bahrom (Kulob)
KULOB = "+992901110003"   # Karim in Kulob
T0 = dt.datetime(2026, 5, 2, 8, 0, tzinfo=dt.timezone.utc)


def village(session, district: str) -> Village:
    return session.scalars(select(Village).where(Village.district_id == district).order_by(Village.id)).first()


def build(session) -> dict:
    vose, kulob = village(session, "vose"), village(session, "kulob")
    vos = ProducerGroup(code="VOS91", name="Dahana onion growers", village_id=vose.id, cluster_id="onion.vose")
    kul = ProducerGroup(code="KUL91", name="Kulob tomato growers", village_id=kulob.id)
    session.add_all([vos, kul])
    session.flush()

    def reg(phone, name, gender, lang, where, crops=("onion",)):
        return farmers.register(session, phone=phone, name=name, gender=gender, village_id=where.id,
                                crop_ids=list(crops), land_m2=5000, language=lang)

    people = {
        "gulnora": reg(PHONE, "Гулнора Раҳимова", "female", "tg", vose, ("onion", "tomato")),
        "nodira": reg(HOUSE, "Nodira Qosimova", "female", "ru", vose),
        "bahrom": reg(HOUSE, "Bahrom Qosimov", "male", "uz", kulob),
        "kulob": reg(KULOB, "Karim Kulobi", "male", "tg", kulob),
    }
    g = people["gulnora"]
    membership.assign_ec_seat(session, g, vos, "treasurer")
    membership.join(session, people["nodira"], vos)
    membership.join(session, people["kulob"], kul)
    session.add(CropCycle(farmer_id=g.id, crop_id="onion", sown_on=dt.date(2026, 3, 1)))
    item = session.scalars(select(InputItem).where(InputItem.code == "ONJ1")).one()
    rnd = OrderRound(pg_id=vos.id, status="open", closes_on=dt.date(2026, 5, 20), opened_by=g.id)
    session.add(rnd)
    session.flush()
    session.add(InputOrder(round_id=rnd.id, farmer_id=g.id, item_id=item.id, packs=2,
                           unit_retail_diram=item.retail_diram, unit_group_diram=item.group_diram,
                           total_diram=2 * item.group_diram, saving_diram=2 * (item.retail_diram - item.group_diram)))
    session.add(Question(farmer_id=g.id, crop_id="onion", text="Пиёзи ман зард шуд, чӣ кунам?", channel="sms",
                         village_id=vose.id, district_id="vose"))
    centre = session.scalars(select(CollectionCentre).where(CollectionCentre.cluster_id == "onion.vose")).first()
    if centre is not None:
        session.add(Pledge(farmer_id=g.id, centre_id=centre.id, crop_id="onion", grams=2_000_000,
                           week=dt.date(2026, 6, 1), season=2026, channel="sms"))
    session.add(PriceSubscription(farmer_id=g.id))
    session.add(PriceAlert(farmer_id=g.id, crop_id="onion", direction="above", threshold_diram=200))
    session.add(InboundMessage(gateway_id="w-1", phone=PHONE, text="PRICE onion", sent_at=T0, received_at=T0,
                               farmer_id=g.id, command="PRICE"))
    delivered = queue_sms(session, PHONE, "Пиёз: 1,40 TJS/кг VOSE", farmer_id=g.id, language="tg")
    delivered.status, delivered.created_at = "delivered", T0 + dt.timedelta(minutes=1)
    failed = queue_sms(session, PHONE, "Нархи ҳафта: пиёз 1,45", farmer_id=g.id, language="tg", kind="broadcast")
    failed.status, failed.failure_reason, failed.created_at = "failed", "403 InvalidPhoneNumber", T0 + dt.timedelta(hours=1)
    session.commit()
    return {**people, "vos": vos, "kul": kul}
