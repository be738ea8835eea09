"""SMS webhook cases of advice, joint sales and yields: AT requests as AT posts them, the outbox
rows they must queue (exactly, in order) and their effect on the database.

Run by ``tests/test_advice.py`` on :func:`build_world`. ``setup`` lines are messages
posted first (their outbox rows are not checked); ``capacity`` sets DAHANA's
capacity in kg first. ``changes`` lists, per table, the rows the message adds or
changes (in id order); every other row must stay as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from service.farmers import models as farmers
from service.groups import membership
from service.advice import responders as vam_agent
from service.reference.geography import Village
from service.groups.producer_group import ProducerGroup

TOKEN = "s3cret"
GULNORA = "+992901300001"   # tg, Dahana (kulob), tomato, active member of DAH01
OLEG = "+992901300002"      # ru, Guliston (vose), onion, chair of VOS03
AZIZ = "+992901300003"      # uz, Yokhsuchiyon (kulob), tomato, no group
EMMA = "+992901300004"      # en, Dahana, tomato and onion, no group
NARGIZA = "+992901300005"   # ru, Jomi (jomi), tomato, no group: the Jomi tomato cluster's centre JOMICC
BAHROM = "+992901300006"    # uz, Balkh (balkhi), rice, no group: the Balkhi rice cluster's centre BALKHCC
STRANGER = "+992901300099"  # not registered
AGENT = "+992901400001"     # VAM agent (agro-shop) serving Dahana, tg
EXT = "+992901400002"       # extension officer of Kulob district, ru
STAFF = "+992900000001"     # an administrator's staff account (conftest.add_staff)


def build_world(session) -> dict:
    """Villages, PGs, farmers and responders above; returns ``{label: farmer id}``."""
    def village(en: str) -> Village:
        return next(v for v in session.scalars(select(Village)) if v.names["en"] == en)

    dahana, guliston, yokh = village("Dahana"), village("Guliston"), village("Yokhsuchiyon")
    jomi, balkh = village("Jomi"), village("Balkh")
    dah01 = ProducerGroup(code="DAH01", name="Dahana tomato", village_id=dahana.id, cluster_id="tomato.kulob")
    vos03 = ProducerGroup(code="VOS03", name="Guliston onion", village_id=guliston.id, cluster_id="onion.vose")
    session.add_all([dah01, vos03])
    session.flush()

    def reg(phone, name, gender, lang, place, crops):
        return farmers.register(session, phone=phone, name=name, gender=gender, village_id=place.id,
                                crop_ids=crops, land_m2=5000, language=lang)

    gulnora = reg(GULNORA, "Gulnora", "female", "tg", dahana, ["tomato"])
    oleg = reg(OLEG, "Oleg", "male", "ru", guliston, ["onion"])
    aziz = reg(AZIZ, "Aziz", "male", "uz", yokh, ["tomato"])
    emma = reg(EMMA, "Emma", "female", "en", dahana, ["onion", "tomato"])
    reg(NARGIZA, "Nargiza", "female", "ru", jomi, ["tomato"])
    reg(BAHROM, "Bahrom", "male", "uz", balkh, ["rice"])
    membership.join(session, gulnora, dah01)  # no EC: active at once
    membership.assign_ec_seat(session, oleg, vos03, "chair")
    vam_agent.add_vam_agent(session, name="Agro Dahana", kind="agro_shop", phone=AGENT, district_id="kulob",
                            village_ids=[dahana.id], language="tg")
    vam_agent.add_extension(session, name="Rustam Karimov", phone=EXT, district_id="kulob", language="ru")
    from conftest import add_staff
    add_staff(session, STAFF, commit=False)  # an administrator's staff account
    session.commit()
    return {"gulnora": gulnora.id, "oleg": oleg.id, "aziz": aziz.id, "emma": emma.id}


def at(msg_id: str, sender: str, text: str) -> dict:
    """An inbound SMS form as AT posts it."""
    return {"id": msg_id, "from": sender, "to": "12345", "text": text, "date": "2025-06-03 10:00:00",
            "networkCode": "43601", "linkId": ""}


@dataclass
class Out:
    """An expected outbox row: ``key`` rendered exactly with ``params``, or containing every ``has``."""

    to: str
    lang: str
    key: str | None = None
    params: dict = field(default_factory=dict)
    has: tuple[str, ...] = ()
    kind: str = "reply"


@dataclass
class Case:
    label: str
    sender: str
    text: str
    out: list[Out]
    setup: list[tuple[str, str]] = field(default_factory=list)  # (sender, text) posted first
    capacity_kg: int | None = None
    changes: dict = field(default_factory=dict)  # table -> rows added or changed (subset of columns each)


def done(to, lang, key, **params) -> Out:
    return Out(to, lang, key, params)


ASKED = [(GULNORA, "ASK барги помидор зард шуд")]  # question 1, sent to AGENT
PLEDGED = [(GULNORA, "SELL помидор 500 next week")]
TWO_PLEDGES = [(EMMA, "SELL tomato 600 next"), (EMMA, "SELL tomato 200 this week")]

CASES = [
    # ---- ASK: routed to the responder serving the farmer's village
    Case("ask reaches the VAM agent of the village", GULNORA, "ASK барги помидор зард шуд, чӣ кунам?",
         [Out(AGENT, "tg", "advice.sms.question", {"id": 1, "crop": "Помидор", "place": "Даҳана, Кӯлоб",
                                                   "text": "барги помидор зард шуд, чӣ кунам?"}, kind="notice"),
          done(GULNORA, "tg", "advice.ask.done", id=1)],
         changes={"question": [{"crop_id": "tomato", "district_id": "kulob", "status": "open", "level": 0,
                                "channel": "sms", "text": "барги помидор зард шуд, чӣ кунам?"}],
                  "question_route": [{"question_id": 1, "level": 0}]}),
    Case("no VAM agent in the village: the district's extension staff", AZIZ, "SAVOL pomidor gullari to'kilyapti",
         [Out(EXT, "ru", has=("Вопрос #1 (Томат, Яхсучиён, Куляб): pomidor gullari to'kilyapti",
                              "ANSWER 1"), kind="notice"),
          done(AZIZ, "uz", "advice.ask.done", id=1)],
         changes={"question": [{"level": 2, "crop_id": "tomato"}], "question_route": [{"level": 2}]}),
    Case("nobody serves the area: queued, farmer told", OLEG, "ВОПРОС лук гниёт на складе",
         [done(OLEG, "ru", "advice.ask.waiting", id=1)],
         changes={"question": [{"responder_id": None, "crop_id": "onion", "district_id": "vose"}]}),
    Case("the crop named in the question of a farmer with two crops", EMMA, "ask: onion leaves are yellow",
         [Out(AGENT, "tg", has=("(Пиёз, Даҳана, Кӯлоб): onion leaves are yellow",), kind="notice"),
          done(EMMA, "en", "advice.ask.done", id=1)],
         changes={"question": [{"crop_id": "onion", "text": "onion leaves are yellow"}], "question_route": [{}]}),
    Case("ask without a question", GULNORA, "ASK", [done(GULNORA, "tg", "advice.ask.usage")]),
    Case("ask about a crop named in the plural: its crop is known (issue 9 item 2)", EMMA, "ASK why do my onions rot?",
         [Out(AGENT, "tg", "advice.sms.question", {"id": 1, "crop": "Пиёз", "place": "Даҳана, Кӯлоб",
                                                   "text": "why do my onions rot?"}, kind="notice"),
          done(EMMA, "en", "advice.ask.done", id=1)],
         changes={"question": [{"crop_id": "onion", "text": "why do my onions rot?"}],
                  "question_route": [{"question_id": 1, "level": 0}]}),
    Case("ask with punctuation only", EMMA, "ASK ?!", [done(EMMA, "en", "advice.ask.usage")]),
    Case("question too long", EMMA, "ASK " + "why " * 60, [done(EMMA, "en", "advice.ask.too_long", max=160)]),
    Case("ask from an unregistered phone, in English words", STRANGER, "ASK how to sow onion",
         [done(STRANGER, "en", "err.not_registered")]),
    # ---- ANSWER: the farmer gets the answer in full
    Case("the VAM agent answers: the farmer gets it as written", AGENT, "ANSWER 1 Бордо пошед, баъди 7 рӯз боз.",
         [done(GULNORA, "tg", "advice.answer.to_farmer", id=1, text="Бордо пошед, баъди 7 рӯз боз."),
          done(AGENT, "tg", "advice.answer.done", id=1)], setup=ASKED,
         changes={"question": [{"status": "answered", "answer": "Бордо пошед, баъди 7 рӯз боз.",
                                "answered_phone": AGENT}]}),
    Case("answer with # before the number, in Tajik", AGENT, "ҶАВОБ #1 Об кам диҳед",
         [done(GULNORA, "tg", "advice.answer.to_farmer", id=1, text="Об кам диҳед"),
          done(AGENT, "tg", "advice.answer.done", id=1)], setup=ASKED,
         changes={"question": [{"status": "answered"}]}),
    Case("second answer refused", AGENT, "ANSWER 1 боз як ҷавоб", [done(AGENT, "tg", "advice.answer.already", id=1)],
         setup=[*ASKED, (AGENT, "ANSWER 1 Бордо пошед")]),
    Case("a responder the question was not sent to", EXT, "ANSWER 1 Полейте",
         [done(EXT, "ru", "advice.answer.unknown", id=1)], setup=ASKED),
    Case("unknown question number", AGENT, "ANSWER 99 Об диҳед", [done(AGENT, "tg", "advice.answer.unknown", id=99)],
         setup=ASKED),
    Case("staff may answer any question", STAFF, "ANSWER 1 Call the agronomist on Monday",
         [done(GULNORA, "tg", "advice.answer.to_farmer", id=1, text="Call the agronomist on Monday"),
          done(STAFF, "tg", "advice.answer.done", id=1)], setup=ASKED,
         changes={"question": [{"status": "answered", "answered_by": None, "answered_phone": STAFF}],
                  }),
    Case("answer from a farmer's phone", EMMA, "ANSWER 1 water it", [done(EMMA, "en", "advice.answer.not_responder")],
         setup=ASKED),
    Case("answer without a number", AGENT, "ANSWER Об диҳед", [done(AGENT, "tg", "advice.answer.usage")],
         setup=ASKED),
    Case("answer without text", AGENT, "ANSWER 1", [done(AGENT, "tg", "advice.answer.usage")],
         setup=ASKED),
    Case("answer longer than three SMS", AGENT, "ANSWER 1 " + "Об диҳед. " * 30,
         [done(AGENT, "tg", "advice.answer.too_long", max=181)], setup=ASKED),
    # ---- SELL: pledges to the cluster's collection centre
    Case("pledge in tonnes with a week number", GULNORA, "SELL помидор 2т 52",
         [Out(GULNORA, "tg", has=("Помидор 2000 кг, ҳафтаи 52", "Маркази Даҳана", "Холӣ 998 т"))],
         changes={"pledge": [{"grams": 2_000_000, "crop_id": "tomato", "channel": "sms", "status": "pledged"}]}),
    Case("pledge in kg next week, Russian keyword", EMMA, "ПРОДАТЬ tomato 750 kg next week",
         [Out(EMMA, "en", has=("Tomato 750 kg, week", "Dahana centre", "Still free: 999.25 t"))],
         changes={"pledge": [{"grams": 750_000}]}),
    Case("non-member pledges to the centre of the district's cluster", AZIZ, "SOTISH pomidor 1,5 t",
         [Out(AZIZ, "uz", has=("Pomidor 1500 kg", "Dahana markazi"))], changes={"pledge": [{"grams": 1_500_000}]}),
    Case("onion pledge goes to VOSECC", OLEG, "SELL лук 3 т", [Out(OLEG, "ru", has=("Лук 3000 кг", "Пункт Восе",
                                                                                    "Свободно 597 т"))],
         changes={"pledge": [{"grams": 3_000_000}]}),
    Case("pledge beyond capacity refused with the free amount", GULNORA, "SELL помидор 2т",
         [done(GULNORA, "tg", "sales.sell.full", centre="Маркази Даҳана", free="1000 кг")], capacity_kg=1500,
         setup=[(EMMA, "SELL tomato 500")]),
    # crop words as people write them (issue 9 item 2)
    Case("ru: an inflected crop, ПРОДАТЬ лука", OLEG, "ПРОДАТЬ лука 3 т", [Out(OLEG, "ru", has=("Лук 3000 кг",))],
         changes={"pledge": [{"grams": 3_000_000, "crop_id": "onion"}]}),
    Case("tg: a plural crop with punctuation glued", GULNORA, "ФУРӮШ: помидорҳо, 500",
         [Out(GULNORA, "tg", has=("Помидор 500 кг",))], changes={"pledge": [{"grams": 500_000, "crop_id": "tomato"}]}),
    Case("uz: a plural crop, pomidorlar", AZIZ, "SOTISH pomidorlar 1,5 t", [Out(AZIZ, "uz", has=("Pomidor 1500 kg",))],
         changes={"pledge": [{"grams": 1_500_000, "crop_id": "tomato"}]}),
    Case("en: a filler and a plural, SELL the tomatoes", EMMA, "SELL the tomatoes 750 kg",
         [Out(EMMA, "en", has=("Tomato 750 kg",))], changes={"pledge": [{"grams": 750_000, "crop_id": "tomato"}]}),
    Case("en: a typo in the crop gets did you mean, nothing pledged", EMMA, "SELL tomado 100",
         [done(EMMA, "en", "sms.did_you_mean", word="tomado", guess="Tomato")]),
    Case("ru: a typo in the crop gets did you mean", OLEG, "ПРОДАТЬ лоук 3 т",
         [done(OLEG, "ru", "sms.did_you_mean", word="лоук", guess="Лук")]),
    Case("bad quantity", GULNORA, "SELL помидор бисёр", [done(GULNORA, "tg", "quantity.bad", given="бисёр")]),
    Case("negative quantity", EMMA, "SELL tomato -5", [done(EMMA, "en", "quantity.bad", given="-5")]),
    Case("zero quantity", EMMA, "SELL tomato 0 kg", [done(EMMA, "en", "quantity.bad", given="0")]),
    Case("an area is not a quantity", EMMA, "SELL tomato 5 ha", [done(EMMA, "en", "quantity.bad", given="5 ha")]),
    Case("unknown crop", AZIZ, "SOTISH kartoshka 100",
         [done(AZIZ, "uz", "sales.crop_unknown", crop="kartoshka", crops="Piyoz, Sholi, Pomidor")]),
    # every cluster has its centre: Jomi tomato and Balkhi rice too
    Case("a Jomi tomato farmer pledges to the Jomi centre", NARGIZA, "ПРОДАТЬ томат 1 т",
         [Out(NARGIZA, "ru", has=("Томат 1000 кг", "Пункт Джами"))],
         changes={"pledge": [{"grams": 1_000_000, "crop_id": "tomato", "status": "pledged"}]}),
    Case("a Balkhi rice farmer pledges to the Balkh centre", BAHROM, "SOTISH sholi 2 t",
         [Out(BAHROM, "uz", has=("Sholi 2000 kg", "Balx markazi"))],
         changes={"pledge": [{"grams": 2_000_000, "crop_id": "rice", "status": "pledged"}]}),
    # a SELL of the same crop and week changes the open pledge; SELL CANCEL cancels one
    Case("SELL again for the same week changes the pledge, in Tajik", GULNORA, "SELL помидор 800 next week",
         [Out(GULNORA, "tg", has=("#1 иваз шуд", "800 кг", "пеш 500 кг"))], setup=PLEDGED,
         changes={"pledge": [{"grams": 800_000, "status": "pledged"}]}),
    Case("SELL again for the same week changes the pledge, in Russian", NARGIZA, "ПРОДАТЬ томат 2 т",
         [Out(NARGIZA, "ru", has=("Заявка #1 изменена", "2000 кг", "было 1000 кг"))],
         setup=[(NARGIZA, "ПРОДАТЬ томат 1 т")], changes={"pledge": [{"grams": 2_000_000}]}),
    Case("SELL again for the same week changes the pledge, in Uzbek", BAHROM, "SOTISH sholi 3 t",
         [Out(BAHROM, "uz", has=("#1 va'da o'zgartirildi", "3000 kg", "2000 kg edi"))],
         setup=[(BAHROM, "SOTISH sholi 2 t")], changes={"pledge": [{"grams": 3_000_000}]}),
    Case("a change counts the pledge's own amount as free", EMMA, "SELL tomato 1000 next",
         [Out(EMMA, "en", has=("Pledge #1 changed", "1000 kg", "was 600 kg"))], capacity_kg=1000,
         setup=[(EMMA, "SELL tomato 600 next")], changes={"pledge": [{"grams": 1_000_000}]}),
    Case("a change beyond the capacity is refused with the free amount", EMMA, "SELL tomato 1200 next",
         [done(EMMA, "en", "sales.sell.full", centre="Dahana centre", free="1000 kg")], capacity_kg=1000,
         setup=[(EMMA, "SELL tomato 600 next")]),
    Case("another week is a second pledge", EMMA, "SELL tomato 300 this week",
         [Out(EMMA, "en", has=("Pledge recorded", "300 kg"))], setup=[(EMMA, "SELL tomato 600 next")],
         changes={"pledge": [{"grams": 300_000}]}),
    Case("cancel the one open pledge, in Tajik", GULNORA, "ФУРӮШ БЕКОР",
         [Out(GULNORA, "tg", has=("Ваъдаи #1 бекор шуд", "Помидор 500 кг"))], setup=PLEDGED,
         changes={"pledge": [{"status": "cancelled", "grams": 500_000}]}),
    Case("cancel the one open pledge, in Russian", NARGIZA, "продать отмена",
         [Out(NARGIZA, "ru", has=("Заявка #1 отменена", "Томат 1000 кг"))], setup=[(NARGIZA, "ПРОДАТЬ томат 1 т")],
         changes={"pledge": [{"status": "cancelled"}]}),
    Case("cancel the one open pledge, in Uzbek", BAHROM, "SOTISH BEKOR sholi",
         [Out(BAHROM, "uz", has=("#1 va'da bekor qilindi", "Sholi 2000 kg"))], setup=[(BAHROM, "SOTISH sholi 2 t")],
         changes={"pledge": [{"status": "cancelled"}]}),
    Case("cancel with two open pledges lists them, this week's first", EMMA, "SELL cancel",
         [Out(EMMA, "en", has=("Which pledge? Send: SELL CANCEL number.", "#2 Tomato 200 kg week",
                               "; #1 Tomato 600 kg"))],
         setup=TWO_PLEDGES),
    Case("cancel by number", EMMA, "SELL cancel #2", [Out(EMMA, "en", has=("Pledge #2 cancelled: Tomato 200 kg",))],
         setup=TWO_PLEDGES, changes={"pledge": [{"status": "cancelled", "grams": 200_000}]}),
    Case("cancel by a crop with two pledges lists them", EMMA, "SELL cancel tomato",
         [Out(EMMA, "en", has=("Which pledge?", "#2 Tomato", "#1 Tomato"))], setup=TWO_PLEDGES),
    Case("cancel someone else's pledge: not found", EMMA, "SELL cancel 1",
         [done(EMMA, "en", "sales.cancel.unknown", id=1)],
         setup=PLEDGED),
    Case("cancel without an open pledge", GULNORA, "SELL БЕКОР", [done(GULNORA, "tg", "sales.cancel.none")]),
    Case("cancelled capacity is free again", EMMA, "SELL tomato 1000 this week",
         [Out(EMMA, "en", has=("Pledge recorded", "1000 kg"))], capacity_kg=1000,
         setup=[(EMMA, "SELL tomato 1000 next"), (EMMA, "SELL cancel")], changes={"pledge": [{"grams": 1_000_000}]}),
    Case("no centre for the crop in the area", GULNORA, "SELL шолӣ 100",
         [done(GULNORA, "tg", "sales.sell.no_centre")]),
    Case("bad week", EMMA, "SELL tomato 100 week 60", [done(EMMA, "en", "sales.sell.week")]),
    Case("sell without a quantity", EMMA, "SELL tomato", [done(EMMA, "en", "sales.sell.usage")]),
    Case("sell from an unregistered phone", STRANGER, "SELL tomato 100", [done(STRANGER, "tg", "err.not_registered")]),
    # ---- OFFER: staff send buyers' offers to pledging farmers
    Case("staff offer reaches the pledging farmers in their language", STAFF,
         "OFFER помидор 1,80 Харидор аз Душанбе, 20 т, ҷумъа",
         [Out(GULNORA, "tg", "sales.offer.sms", {"crop": "Помидор", "price": "1,80",
                                                 "text": "Харидор аз Душанбе, 20 т, ҷумъа"}, kind="broadcast"),
          done(STAFF, "tg", "sales.offer.done", crop="Помидор", farmers=1)], setup=PLEDGED,
         changes={"buyer_offer": [{"price_diram": 180, "farmers_told": 1}]}),
    Case("offer from a farmer's phone is refused", GULNORA, "OFFER помидор 1,80 харидор",
         [done(GULNORA, "tg", "sms.setprice.not_staff")]),
    Case("offer with a bad price", STAFF, "OFFER tomato cheap buyer", [done(STAFF, "tg", "err.price")]),
    Case("offer without terms", STAFF, "OFFER tomato 1.80", [done(STAFF, "tg", "sales.offer.usage")]),
    # ---- YIELD: harvests with member and VAM flags
    Case("member linked to VAM reports a harvest", GULNORA, "YIELD помидор 2т 0,5 га",
         [done(GULNORA, "tg", "yields.done", crop="Помидор", qty="2000 кг", area="0,5 га", per_ha="4 т/га")],
         changes={"yield_report": [{"grams": 2_000_000, "area_m2": 5000, "is_member": True, "linked_to_vam": True}]}),
    Case("non-member in sotka and centners", AZIZ, "HOSIL pomidor 12 c 10 sotka",
         [done(AZIZ, "uz", "yields.done", crop="Pomidor", qty="1200 kg", area="0.1 ga", per_ha="12 t/ga")],
         changes={"yield_report": [{"grams": 1_200_000, "area_m2": 1000, "is_member": False,
                                    "linked_to_vam": False}]}),
    Case("yield without area", EMMA, "YIELD onion 3000", [done(EMMA, "en", "yields.usage")]),
    Case("zero area", EMMA, "YIELD onion 3000 0", [done(EMMA, "en", "quantity.bad", given="0")]),
    Case("area in kg", EMMA, "YIELD onion 3000 5 kg", [done(EMMA, "en", "quantity.area")]),
    Case("impossible yield", EMMA, "YIELD onion 900 t 1 sotka", [done(EMMA, "en", "yields.too_high")]),
]
