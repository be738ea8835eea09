"""Input order SMS cases: AT inbound SMS (form fields as AT posts them) with the exact replies
and the order lines they must leave, run by ``tests/test_orders.py`` on :func:`build_world`.

Prices of the demo catalogue (diram per pack): ONJ1 onion seed Jayhun 0.5 kg, retail 30000,
group 26000 (saving 4000 a pack); FCM1 compost 50 kg, retail 3000, group 2500.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.farmers import models as farmermod
from service.groups import membership
from service.reference.geography import Village
from service.groups.producer_group import ProducerGroup

TOKEN = "s3cret"
CHAIR = "+992902000001"      # Rustam, tg, EC chair of VOS03
SECRETARY = "+992902000002"  # Nodira, uz, EC secretary of VOS03
FARRUKH = "+992902000003"    # en, member of VOS03
OLGA = "+992902000004"       # ru, member of VOS03
ZARINA = "+992902000005"     # uz, member of VOS03
PENDING = "+992902000006"    # tg, asked to join VOS03, not approved
LONER = "+992902000007"      # tg, registered, no group
NEW = "+992902000099"        # not registered
OTHER_PG = "+992902000008"   # tg, member of VOS04 (same cluster)


def build_world(session: Session) -> dict:
    """PGs VOS03 and VOS04 (Guliston, cluster onion.vose) with their members; returns
    ``{label: farmer id}`` plus ``"pg"``/``"pg2"`` ids."""
    guliston = next(v for v in session.scalars(select(Village).where(Village.district_id == "vose"))
                    if v.names["en"] == "Guliston")
    vos03 = ProducerGroup(code="VOS03", name="Guliston onion growers", village_id=guliston.id, cluster_id="onion.vose")
    vos04 = ProducerGroup(code="VOS04", name="Guliston women growers", village_id=guliston.id, cluster_id="onion.vose")
    session.add_all([vos03, vos04])
    session.flush()

    def person(phone, name, gender, lang):
        return farmermod.register(session, phone=phone, name=name, gender=gender, village_id=guliston.id,
                                  crop_ids=["onion"], land_m2=5000, language=lang)

    ids = {}
    for label, phone, name, gender, lang in [
            ("farrukh", FARRUKH, "Farrukh", "male", "en"), ("olga", OLGA, "Ольга", "female", "ru"),
            ("zarina", ZARINA, "Zarina", "female", "uz"), ("other", OTHER_PG, "Мадина", "female", "tg")]:
        f = person(phone, name, gender, lang)
        membership.join(session, f, vos04 if label == "other" else vos03)  # no EC yet: active at once
        ids[label] = f.id
    chair = person(CHAIR, "Рустам", "male", "tg")
    membership.assign_ec_seat(session, chair, vos03, "chair")
    secretary = person(SECRETARY, "Nodira", "female", "uz")
    membership.assign_ec_seat(session, secretary, vos03, "secretary")
    pending = person(PENDING, "Саид", "male", "tg")
    assert membership.join(session, pending, vos03).status == "pending"
    loner = person(LONER, "Азиз", "male", "tg")
    ids.update(chair=chair.id, secretary=secretary.id, pending=pending.id, loner=loner.id, pg=vos03.id, pg2=vos04.id)
    session.commit()
    return ids


@dataclass
class Reply:
    """An expected outbox row to ``to``: the text ``key`` in ``lang`` with ``params`` (exact),
    or containing every ``has``."""

    to: str
    lang: str
    key: str | None = None
    params: dict = field(default_factory=dict)
    has: tuple[str, ...] = ()
    kind: str = "reply"


@dataclass
class Case:
    """Messages ``(phone, text)`` sent in order; the replies expected (exactly, in order) and the
    order lines left: ``(farmer label, item code, packs, status)``; ``rounds``: open rounds left."""

    label: str
    messages: list[tuple[str, str]]
    replies: list[Reply]
    orders: list[tuple] = field(default_factory=list)
    rounds: int | None = None


ONJ1_X2_EN = ("Order 1: ONJ1 x2 = 520.00 TJS, you save 80.00.", "CANCEL 1")
CODES_ONION = "ONJ1, ONM1, ONS1, FCM1, FVC1, FYM1, PBD1, PLS1, PTR1, ECR1, EPF1"
CODES_TOMATO = "TMC1, TMH1, TML1, FCM1, FVC1, FYM1, PBD1, PLS1, PTR1, ECR1, EPF1"
QTY = {"max": 999}


def refused(label, phone, text, lang, key, **params) -> Case:
    """A message refused with ``key``: nothing ordered, no round opened."""
    return Case(label, [(phone, text)], [Reply(phone, lang, key, params)], [], rounds=0)


CASES = [
    Case("ORDER by a member: receipt with total and saving, round opened",
         [(FARRUKH, "ORDER ONJ1 2")], [Reply(FARRUKH, "en", has=ONJ1_X2_EN)],
         [("farrukh", "ONJ1", 2, "placed")], rounds=1),
    Case("lower case and packs first", [(FARRUKH, "order 2 onj1")], [Reply(FARRUKH, "en", has=ONJ1_X2_EN)],
         [("farrukh", "ONJ1", 2, "placed")], rounds=1),
    Case("Russian keyword, reply in Russian with decimal comma", [(OLGA, "ЗАКАЗ onj1 3")],
         [Reply(OLGA, "ru", has=("Заказ 1: ONJ1 x3 = 780,00 сомони, экономия 120,00.",))],
         [("olga", "ONJ1", 3, "placed")], rounds=1),
    Case("Uzbek keyword", [(ZARINA, "BUYURTMA FCM1 10")],
         [Reply(ZARINA, "uz", has=("Buyurtma 1: FCM1 x10 = 250.00 TJS, tejaldi 50.00.",))],
         [("zarina", "FCM1", 10, "placed")], rounds=1),
    Case("two members share one round", [(FARRUKH, "ORDER ONJ1 2"), (OLGA, "ORDER FCM1 1")],
         [Reply(FARRUKH, "en", has=ONJ1_X2_EN), Reply(OLGA, "ru", has=("Заказ 2: FCM1 x1",))],
         [("farrukh", "ONJ1", 2, "placed"), ("olga", "FCM1", 1, "placed")], rounds=1),
    # words as people write them (issue 9 item 2): punctuation glued to the code and packs; a crop
    # (inflected, any language) where the item code goes answers with that crop's codes
    Case("punctuation glued to the code and packs", [(FARRUKH, "ORDER: ONJ1, 2!")],
         [Reply(FARRUKH, "en", has=ONJ1_X2_EN)], [("farrukh", "ONJ1", 2, "placed")], rounds=1),
    refused("ru: an inflected crop for the code names its codes", OLGA, "ЗАКАЗ лука 2", "ru", "orders.err.crop_codes",
            crop="Лук", code="ONJ1", codes=CODES_ONION),
    refused("tg: a crop with the plural -ҳо for the code names its codes", OTHER_PG, "ФАРМОИШ помидорҳо 2", "tg",
            "orders.err.crop_codes", crop="Помидор", code="TMC1", codes=CODES_TOMATO),
    refused("uz: a crop with the plural -lar for the code names its codes", ZARINA, "BUYURTMA piyozlar 1", "uz",
            "orders.err.crop_codes", crop="Piyoz", code="ONJ1", codes=CODES_ONION),
    refused("en: a plural crop for the code names its codes", FARRUKH, "ORDER 2 tomatoes", "en",
            "orders.err.crop_codes", crop="Tomato", code="TMC1", codes=CODES_TOMATO),
    refused("zero packs", FARRUKH, "ORDER ONJ1 0", "en", "orders.err.qty", **QTY),
    refused("negative packs", OLGA, "ORDER ONJ1 -2", "ru", "orders.err.qty", **QTY),
    refused("a fraction of a pack", ZARINA, "ORDER ONJ1 1,5", "uz", "orders.err.qty", **QTY),
    refused("too many packs", FARRUKH, "ORDER ONJ1 1000", "en", "orders.err.qty", **QTY),
    refused("packs not a number", FARRUKH, "ORDER ONJ1 two", "en", "orders.err.qty", **QTY),
    refused("unknown item code", OLGA, "ORDER XYZ9 2", "ru", "orders.err.item_unknown", code="XYZ9",
            codes=CODES_ONION),
    refused("no arguments: how to order, with my crops' codes", FARRUKH, "ORDER", "en", "orders.usage",
            code="ONJ1", codes=CODES_ONION),
    refused("three arguments: how to order", FARRUKH, "ORDER ONJ1 2 5", "en", "orders.usage",
            code="ONJ1", codes=CODES_ONION),
    refused("registered but in no group: how to join", LONER, "ORDER ONJ1 2", "tg", "orders.err.not_member"),
    refused("pending member: not yet", PENDING, "ORDER ONJ1 2", "tg", "orders.err.pending", pg="VOS03"),
    refused("unregistered phone: register first", NEW, "ORDER ONJ1 2", "tg", "err.not_registered"),
    refused("non-member with a bad quantity still hears how to join", LONER, "ORDER ONJ1 0", "tg",
            "orders.err.not_member"),
    refused("MYORDERS without orders", OLGA, "MYORDERS", "ru", "orders.mine.none"),
    Case("MYORDERS lists the open orders, newest first",
         [(FARRUKH, "ORDER ONJ1 2"), (FARRUKH, "ORDER FCM1 4"), (FARRUKH, "MY ORDERS")],
         [Reply(FARRUKH, "en", has=("Order 1",)), Reply(FARRUKH, "en", has=("Order 2",)),
          Reply(FARRUKH, "en", has=("Your orders: 2 FCM1 x4 100.00 placed; 1 ONJ1 x2 520.00 placed",))],
         [("farrukh", "ONJ1", 2, "placed"), ("farrukh", "FCM1", 4, "placed")]),
    Case("CANCEL my order while the round is open", [(FARRUKH, "ORDER ONJ1 2"), (FARRUKH, "CANCEL 1")],
         [Reply(FARRUKH, "en", has=("Order 1",)), Reply(FARRUKH, "en", "orders.cancel.done", {"order": 1})],
         [("farrukh", "ONJ1", 2, "cancelled")]),
    Case("CANCEL twice", [(FARRUKH, "ORDER ONJ1 2"), (FARRUKH, "CANCEL 1"), (FARRUKH, "CANCEL 1")],
         [Reply(FARRUKH, "en", has=("Order 1",)), Reply(FARRUKH, "en", "orders.cancel.done", {"order": 1}),
          Reply(FARRUKH, "en", "orders.err.cancelled", {"order": 1})],
         [("farrukh", "ONJ1", 2, "cancelled")]),
    Case("CANCEL someone else's order: not found, unchanged",
         [(FARRUKH, "ORDER ONJ1 2"), (OLGA, "ОТМЕНА 1")],
         [Reply(FARRUKH, "en", has=("Order 1",)), Reply(OLGA, "ru", "orders.err.unknown_order", {"order": "1"})],
         [("farrukh", "ONJ1", 2, "placed")]),
    refused("CANCEL without a number", FARRUKH, "CANCEL", "en", "orders.cancel.usage"),
    refused("CANCEL of a number that is no order", FARRUKH, "CANCEL 77", "en", "orders.err.unknown_order",
            order="77"),
    Case("CANCEL after the chair closed the round: too late",
         [(FARRUKH, "ORDER ONJ1 2"), (CHAIR, "CLOSE"), (FARRUKH, "CANCEL 1")],
         [Reply(FARRUKH, "en", has=("Order 1",)),
          Reply(FARRUKH, "en", has=("Order round 1 of VOS03 is closed. Your order, 520.00 TJS: ONJ1 x2 520.00",),
                kind="notice"),
          Reply(CHAIR, "tg", has=("VOS03 давраи 1 баста шуд: 1 нафар, 1 фармоиш, 520,00 сомонӣ. ONJ1 x2",)),
          Reply(FARRUKH, "en", "orders.err.too_late", {"order": 1})],
         [("farrukh", "ONJ1", 2, "placed")], rounds=0),
    Case("TOTALS: the chair gets the running totals per item",
         [(FARRUKH, "ORDER ONJ1 2"), (OLGA, "ORDER ONJ1 1"), (ZARINA, "ORDER FCM1 10"), (CHAIR, "ҶАМЪ")],
         [Reply(FARRUKH, "en", has=("Order 1",)), Reply(OLGA, "ru", has=("Заказ 2",)),
          Reply(ZARINA, "uz", has=("Buyurtma 3",)),
          Reply(CHAIR, "tg", has=("VOS03 давра 1, то ", ": 3 нафар, 3 фармоиш, 1030,00 сомонӣ. FCM1 x10, ONJ1 x3"))],
         [("farrukh", "ONJ1", 2, "placed"), ("olga", "ONJ1", 1, "placed"), ("zarina", "FCM1", 10, "placed")],
         rounds=1),
    Case("TOTALS from another EC member (secretary, uz)", [(FARRUKH, "ORDER ONJ1 2"), (SECRETARY, "TOTALS")],
         [Reply(FARRUKH, "en", has=("Order 1",)),
          Reply(SECRETARY, "uz", has=("VOS03 bosqich 1", "1 kishi, 1 buyurtma, 520.00 TJS. ONJ1 x2"))],
         [("farrukh", "ONJ1", 2, "placed")]),
    Case("ORDERS from an ordinary member lists their own orders", [(FARRUKH, "ORDER ONJ1 2"), (FARRUKH, "ORDERS")],
         [Reply(FARRUKH, "en", has=("Order 1",)), Reply(FARRUKH, "en", has=("Your orders: 1 ONJ1 x2",))],
         [("farrukh", "ONJ1", 2, "placed")]),
    refused("TOTALS by the chair without an open round", CHAIR, "TOTALS", "tg", "orders.err.no_round"),
    refused("CLOSE by a member who is not the chair", FARRUKH, "CLOSE", "en", "orders.err.not_chair"),
    refused("CLOSE by the secretary", SECRETARY, "CLOSE", "uz", "orders.err.not_chair"),
    refused("CLOSE without an open round", CHAIR, "CLOSE", "tg", "orders.err.no_round"),
    Case("OPEN by the chair with a length", [(CHAIR, "OPEN 10")],
         [Reply(CHAIR, "tg", has=("Давраи 1-и VOS03 кушода шуд, то ",))], rounds=1),
    Case("OPEN while a round is open", [(CHAIR, "OPEN"), (CHAIR, "OPEN 3")],
         [Reply(CHAIR, "tg", has=("Давраи 1-и VOS03",)), Reply(CHAIR, "tg", has=("Давраи 1 то ", "кушода аст."))],
         rounds=1),
    refused("OPEN with too many days", CHAIR, "OPEN 99", "tg", "orders.err.days", max=60),
    refused("OPEN with a word for days", CHAIR, "OPEN soon", "tg", "orders.err.days", max=60),
    refused("OPEN by a member", OLGA, "OPEN", "ru", "orders.err.not_chair"),
]

# ---- issue 9 item 10: when a round closes, every farmer who ordered gets one SMS in their language
# (their total, then their lines); a farmer whose lines were all cancelled gets none
CASES += [
    Case("CLOSE tells every farmer who ordered, in en, ru, uz and tg",
         [(FARRUKH, "ORDER ONJ1 2"), (OLGA, "ORDER ONJ1 1"), (ZARINA, "ORDER FCM1 10"), (CHAIR, "ORDER ONJ1 1"),
          (CHAIR, "CLOSE")],
         [Reply(FARRUKH, "en", has=("Order 1",)), Reply(OLGA, "ru", has=("Заказ 2",)),
          Reply(ZARINA, "uz", has=("Buyurtma 3",)), Reply(CHAIR, "tg", has=("Фармоиш 4",)),
          Reply(FARRUKH, "en", kind="notice",
                has=("Order round 1 of VOS03 is closed. Your order, 520.00 TJS: ONJ1 x2 520.00",)),
          Reply(OLGA, "ru", kind="notice", has=("Сбор 1 группы VOS03 закрыт. Ваш заказ на 260,00 сомони: ONJ1 x1 260,00",)),
          Reply(ZARINA, "uz", kind="notice",
                has=("VOS03 guruhining 1-bosqichi yopildi. Buyurtmangiz 250.00 TJS: FCM1 x10 250.00",)),
          Reply(CHAIR, "tg", kind="notice", has=("Давраи 1-и VOS03 баста шуд. Фармоиши шумо 260,00 сомонӣ: ONJ1 x1 260,00",)),
          Reply(CHAIR, "tg", has=("VOS03 давраи 1 баста шуд: 4 нафар, 4 фармоиш, 1290,00 сомонӣ.",))],
         [("farrukh", "ONJ1", 2, "placed"), ("olga", "ONJ1", 1, "placed"), ("zarina", "FCM1", 10, "placed"),
          ("chair", "ONJ1", 1, "placed")], rounds=0),
    Case("CLOSE: a farmer who cancelled every line is not told (ru)",
         [(OLGA, "ORDER ONJ1 1"), (OLGA, "CANCEL 1"), (CHAIR, "CLOSE")],
         [Reply(OLGA, "ru", has=("Заказ 1",)), Reply(OLGA, "ru", "orders.cancel.done", {"order": 1}),
          Reply(CHAIR, "tg", has=("VOS03 давраи 1 баста шуд: 0 нафар, 0 фармоиш, 0,00 сомонӣ.",))],
         [("olga", "ONJ1", 1, "cancelled")], rounds=0),
]
