"""Inbound SMS webhook cases: AT requests (form fields as AT posts them) and what they must do.

Run by ``tests/test_sms.py`` against the world it builds (see ``WORLD``). In
texts, ``{gulnora}`` etc. stand for the member code (farmer id) of that world
profile. Each case lists the new outbox rows exactly (in order), the inbound
rows stored, and the state it changes; every other farmer, membership,
suppression and price row must stay as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TOKEN = "s3cret"
SHORT_CODE = "12345"

HOUSEHOLD = "+992901000001"  # Gulnora (tg, main) and Dilshod (ru) share this phone
RUSTAM = "+992901000002"     # chair (EC) of VOS03, tg
ZARINA = "+992901000003"     # uz, pending in VOS03
FARRUKH = "+992901000004"    # en, ordinary active member of VOS03
NEW = "+992901000099"        # not registered
STAFF = "+992900000001"      # an administrator's staff account (test_sms.build_world)

WORLD = """
PGs: VOS03 (Guliston, Vose; EC: Rustam chair), KUL01 (Kulob; no EC yet, so joining is immediate).
Profiles: gulnora (HOUSEHOLD, main, female, tg, Dahana), dilshod (HOUSEHOLD, male, ru),
rustam (RUSTAM, tg, chair VOS03), zarina (ZARINA, uz, pending VOS03),
farrukh (FARRUKH, en, member VOS03).
Prices (diram/kg): onion at VOSE 130 yesterday and 140 today, onion at KULOB 135 today; no tomato prices.
"""


def at(msg_id: str, sender: str, text: str | None, **extra) -> dict:
    """An inbound SMS form as AT posts it; ``extra`` overrides or adds fields (None drops one)."""
    form = {"id": msg_id, "from": sender, "to": SHORT_CODE, "text": text, "date": "2024-05-12 10:00:00",
            "networkCode": "99999", "linkId": ""}
    form.update(extra)
    return {k: v for k, v in form.items() if v is not None}


@dataclass
class Post:
    """One request: ``form`` url-encoded as AT does, or ``raw`` body (with ``content_type``)."""

    form: dict | None = None
    raw: str | None = None
    content_type: str = "application/x-www-form-urlencoded"
    key: str | None = TOKEN
    status: int = 200
    answer: str | None = None


@dataclass
class Out:
    """An expected outbox row. Text: ``key`` rendered in ``lang`` with ``params`` (exact; after
    ``named`` and ``: `` when it is for one person of a shared phone), or containing every ``has``
    and none of ``lacks``."""

    to: str
    kind: str = "reply"
    lang: str | None = None
    key: str | None = None
    params: dict = field(default_factory=dict)
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    segments: int | None = None
    status: str = "queued"  # the row's state after the case (``withdrawn``: taken back unsent)
    #: the first name the text starts with: a reply for one profile of a shared phone names it
    named: str = ""
    #: a key whose text follows ``key``'s after a space in the same SMS (a registration receipt
    #: ends with ``farmers.reg.kept``: what is kept and how to remove it)
    then: str | None = None


@dataclass
class Case:
    label: str
    posts: list[Post]
    out: list[Out] = field(default_factory=list)
    inbound: list[dict] = field(default_factory=list)  # expected inbound rows (subset of columns)
    new_farmer: dict | None = None                     # the one profile that must be added
    languages: dict = field(default_factory=dict)      # profile -> language after
    memberships: dict = field(default_factory=dict)    # profile -> (PG code, status) or None
    suppressed: tuple[str, ...] | None = None          # exactly the suppressed phones after
    picked: dict | None = None                         # exactly the phones' remembered languages after
    prices: dict = field(default_factory=dict)         # (crop, market code) -> (diram, source) today
    erased: tuple[str, ...] = ()                       # profiles whose data is erased after


def sms(label: str, sender: str, text: str, out: list[Out] | None = None, **kw) -> Case:
    """A case of one well-formed message ``text`` from ``sender`` (id ``m1``)."""
    return Case(label, [Post(at("m1", sender, text))], out or [], **kw)


def helped(to: str, lang: str = "tg") -> Out:
    """The help of ``to``: how to register for a phone without a profile, else the farmer's."""
    key = "sms.help.new" if to in (NEW, STAFF) else "sms.help.farmer"
    return Out(to, lang=lang, key=key, segments=1, lacks=() if to in (NEW, STAFF) else ("REG",))


def topic(to: str, command: str, lang: str) -> Out:
    """The answer to ``HELP <command>``: that command's form."""
    return Out(to, lang=lang, key=f"sms.help.topic.{command}", segments=1)


def again(to: str, lang: str = "tg") -> Out:
    """The short second answer to unknown text."""
    return Out(to, lang=lang, key="sms.help.again", segments=1)


def stopped(to: str, lang: str = "tg") -> Out:
    """The once-a-day answer to a stopped phone that asks for something."""
    return Out(to, kind="stop_confirm", lang=lang, key="sms.stopped", segments=1)


def posts(sender: str, *texts: str) -> list[Post]:
    """Messages ``texts`` from ``sender`` in order (ids ``m1``, ``m2``...)."""
    return [Post(at(f"m{i}", sender, text)) for i, text in enumerate(texts, 1)]


CASES: list[Case] = [
    # ---- the AT contract: fields, ids, dates, bodies, token
    Case("help from a farmer", [Post(at("ATXid_1", HOUSEHOLD, "HELP"), answer="processed")],
         [helped(HOUSEHOLD)],
         inbound=[{"gateway_id": "ATXid_1", "phone": HOUSEHOLD, "to": SHORT_CODE, "network_code": "99999",
                   "link_id": None, "status": "processed", "command": "help", "farmer": "gulnora"}]),
    Case("duplicate id gets one reply",
         [Post(at("dup", HOUSEHOLD, "PRICE onion")),
          Post(at("dup", HOUSEHOLD, "PRICE onion"), answer="duplicate")],
         [Out(HOUSEHOLD, has=("Восеъ",))], inbound=[{"gateway_id": "dup", "status": "processed"}]),
    Case("same text under two ids is two messages",
         [Post(at("a1", HOUSEHOLD, "PRICE onion")), Post(at("a2", HOUSEHOLD, "PRICE onion"))],
         [Out(HOUSEHOLD, has=("Восеъ",)), Out(HOUSEHOLD, has=("Восеъ",))],
         inbound=[{"gateway_id": "a1"}, {"gateway_id": "a2"}]),
    Case("duplicate STOP opts out once and confirms once",
         [Post(at("s1", HOUSEHOLD, "STOP")), Post(at("s1", HOUSEHOLD, "STOP"), answer="duplicate")],
         [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg")], suppressed=(HOUSEHOLD,)),
    Case("date with a space is UTC", [Post(at("d1", HOUSEHOLD, "HELP", date="2024-05-12 10:00:00"))],
         [helped(HOUSEHOLD)], inbound=[{"sent_at": "2024-05-12T10:00:00+00:00"}]),
    Case("date in ISO form with Z", [Post(at("d2", HOUSEHOLD, "HELP", date="2024-05-12T10:00:01Z"))],
         [helped(HOUSEHOLD)], inbound=[{"sent_at": "2024-05-12T10:00:01+00:00"}]),
    Case("date with milliseconds and Z", [Post(at("d3", HOUSEHOLD, "HELP", date="2024-05-12T10:00:01.250Z"))],
         [helped(HOUSEHOLD)], inbound=[{"sent_at": "2024-05-12T10:00:01.250000+00:00"}]),
    Case("unparseable date: receive time, still processed", [Post(at("d4", HOUSEHOLD, "HELP", date="12/05/2024"))],
         [helped(HOUSEHOLD)], inbound=[{"sent_at": "now", "status": "processed"}]),
    Case("missing date: receive time", [Post(at("d5", HOUSEHOLD, "HELP", date=None))],
         [helped(HOUSEHOLD)], inbound=[{"sent_at": "now"}]),
    Case("empty text is stored, not answered", [Post(at("e1", HOUSEHOLD, ""))], [],
         inbound=[{"text": "", "command": "empty", "status": "processed"}]),
    Case("missing text is stored, not answered", [Post(at("e2", HOUSEHOLD, None))], [],
         inbound=[{"text": "", "command": "empty"}]),
    Case("linkId field absent", [Post(at("l1", HOUSEHOLD, "HELP", linkId=None))],
         [helped(HOUSEHOLD)], inbound=[{"link_id": None}]),
    Case("linkId given is kept", [Post(at("l2", HOUSEHOLD, "HELP", linkId="SampleLinkId123"))],
         [helped(HOUSEHOLD)], inbound=[{"link_id": "SampleLinkId123"}]),
    Case("networkCode absent", [Post(at("n1", HOUSEHOLD, "HELP", networkCode=None))],
         [helped(HOUSEHOLD)], inbound=[{"network_code": None}]),
    Case("un-encoded + in from decodes to a space",
         [Post(raw="id=p1&from=+992901000001&to=12345&text=HELP&date=2024-05-12+10%3A00%3A00")],
         [helped(HOUSEHOLD)], inbound=[{"phone": HOUSEHOLD, "sent_at": "2024-05-12T10:00:00+00:00"}]),
    Case("integer id", [Post(at("123456", HOUSEHOLD, "HELP"))], [helped(HOUSEHOLD)],
         inbound=[{"gateway_id": "123456"}]),
    Case("JSON body is ignored",
         [Post(raw='{"id": "j1", "from": "+992901000001", "text": "STOP"}', content_type="application/json",
               answer="ignored")]),
    Case("empty body is ignored", [Post(raw="", answer="ignored")]),
    Case("missing id is ignored", [Post(at(None, HOUSEHOLD, "STOP"), answer="ignored")]),
    Case("missing from is ignored", [Post(at("f1", None, "STOP"), answer="ignored")]),
    Case("unparseable from is ignored", [Post(at("f2", "Tcell", "STOP"), answer="ignored")]),
    Case("wrong token: 403, nothing stored", [Post(at("t1", HOUSEHOLD, "STOP"), key="wrong", status=403)]),
    Case("no token: 403, nothing stored", [Post(at("t2", HOUSEHOLD, "STOP"), key=None, status=403)]),

    # ---- STOP / START
    sms("STOP", HOUSEHOLD, "STOP", [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg")],
        suppressed=(HOUSEHOLD,), inbound=[{"command": "stop", "farmer": "gulnora"}]),
    sms("stop! in lower case with punctuation", HOUSEHOLD, "  Stop!  ",
        [Out(HOUSEHOLD, kind="stop_confirm", lang="tg", key="sms.stop.done")], suppressed=(HOUSEHOLD,)),
    sms("СТОП from an unknown phone is Russian", NEW, "СТОП",
        [Out(NEW, kind="stop_confirm", lang="ru", key="sms.stop.done")], suppressed=(NEW,)),
    sms("ҚАТЪ from an unknown phone is Tajik", NEW, "Қатъ",
        [Out(NEW, kind="stop_confirm", lang="tg", key="sms.stop.done")], suppressed=(NEW,)),
    sms("ОТПИСАТЬСЯ tells Russian", NEW, "отписаться.",
        [Out(NEW, kind="stop_confirm", lang="ru", key="sms.stop.done")], suppressed=(NEW,)),
    sms("member code then stop", HOUSEHOLD, "{dilshod} stop",
        [Out(HOUSEHOLD, kind="stop_confirm", lang="ru", key="sms.stop.done")], suppressed=(HOUSEHOLD,),
        inbound=[{"farmer": "dilshod"}]),
    sms("stop after another phone's code still opts out", HOUSEHOLD, "{rustam} STOP",
        [Out(HOUSEHOLD, kind="stop_confirm", lang="tg", key="sms.stop.done")], suppressed=(HOUSEHOLD,)),
    sms("stop inside a sentence is not STOP", HOUSEHOLD, "how do I stop pests?", [helped(HOUSEHOLD)],
        suppressed=(), inbound=[{"command": "unknown"}]),
    sms("STOPPED is not STOP", HOUSEHOLD, "stopped", [helped(HOUSEHOLD)], suppressed=()),
    Case("START after STOP opts back in",
         [Post(at("s1", HOUSEHOLD, "STOP")), Post(at("s2", HOUSEHOLD, "start"))],
         [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg"),
          Out(HOUSEHOLD, key="sms.start.done", lang="tg", segments=1)], suppressed=()),
    Case("an opted-out phone's commands are still carried out",
         [Post(at("s1", HOUSEHOLD, "STOP")), Post(at("s2", HOUSEHOLD, "LANG ru"))],
         [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg"),
          Out(HOUSEHOLD, named="Gulnora", key="sms.lang.done", lang="ru"), stopped(HOUSEHOLD, "ru")],
         suppressed=(HOUSEHOLD,), languages={"gulnora": "ru"}),

    # ---- a stopped phone that asks is told once a day that messages are stopped (issue 9 item 6)
    Case("STOP then цена помидор: one short answer, messages stopped, send START",
         posts(HOUSEHOLD, "STOP", "цена помидор"),
         [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg"),
          Out(HOUSEHOLD, named="Gulnora", key="sms.price.none", lang="tg", params={"crop": "Помидор"}),
          stopped(HOUSEHOLD)],
         suppressed=(HOUSEHOLD,), inbound=[{"command": "stop"}, {"command": "price"}]),
    Case("stopped phone in Russian: the answer in Russian",
         posts(HOUSEHOLD, "{dilshod} стоп", "{dilshod} ЦЕНА лук"),
         [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="ru"),
          Out(HOUSEHOLD, lang="ru", has=("Лук",)), stopped(HOUSEHOLD, "ru")], suppressed=(HOUSEHOLD,)),
    Case("stopped phone in Uzbek: the answer in Uzbek", posts(ZARINA, "to'xta", "narx piyoz"),
         [Out(ZARINA, kind="stop_confirm", key="sms.stop.done", lang="uz"),
          Out(ZARINA, lang="uz", has=("Piyoz",)), stopped(ZARINA, "uz")], suppressed=(ZARINA,)),
    Case("stopped phone in English: the answer in English", posts(FARRUKH, "stop", "price onion"),
         [Out(FARRUKH, kind="stop_confirm", key="sms.stop.done", lang="en"),
          Out(FARRUKH, lang="en", has=("Onion",)), stopped(FARRUKH, "en")], suppressed=(FARRUKH,)),
    Case("stopped phone: told once a day, not for every request",
         posts(HOUSEHOLD, "STOP", "PRICE onion", "PRICE tomato", "HELP"),
         [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg"),
          Out(HOUSEHOLD, lang="tg", has=("Восеъ",)), stopped(HOUSEHOLD),
          Out(HOUSEHOLD, named="Gulnora", key="sms.price.none", lang="tg", params={"crop": "Помидор"}),
          helped(HOUSEHOLD)],
         suppressed=(HOUSEHOLD,)),
    Case("stopped phone: unknown text gets the help and the stopped answer", posts(FARRUKH, "STOP", "hello?"),
         [Out(FARRUKH, kind="stop_confirm", key="sms.stop.done", lang="en"), helped(FARRUKH, "en"),
          stopped(FARRUKH, "en")], suppressed=(FARRUKH,)),
    Case("stopped phone: an empty message gets nothing", posts(FARRUKH, "STOP", ""),
         [Out(FARRUKH, kind="stop_confirm", key="sms.stop.done", lang="en")], suppressed=(FARRUKH,)),
    Case("stopped phone: STOP again is confirmed, no stopped answer", posts(ZARINA, "STOP", "STOP"),
         [Out(ZARINA, kind="stop_confirm", key="sms.stop.done", lang="uz"),
          Out(ZARINA, kind="stop_confirm", key="sms.stop.done", lang="uz")], suppressed=(ZARINA,)),
    Case("after START no stopped answer", posts(HOUSEHOLD, "STOP", "PRICE onion", "START", "PRICE onion"),
         [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg"),
          Out(HOUSEHOLD, lang="tg", has=("Восеъ",)), stopped(HOUSEHOLD),
          Out(HOUSEHOLD, key="sms.start.done", lang="tg"), Out(HOUSEHOLD, lang="tg", has=("Восеъ",))], suppressed=()),
    Case("a new STOP after START: told again", posts(HOUSEHOLD, "STOP", "PRICE onion", "START", "STOP", "PRICE onion"),
         [Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg"),
          Out(HOUSEHOLD, lang="tg", has=("Восеъ",)), stopped(HOUSEHOLD),
          Out(HOUSEHOLD, key="sms.start.done", lang="tg"),
          Out(HOUSEHOLD, kind="stop_confirm", key="sms.stop.done", lang="tg"),
          Out(HOUSEHOLD, lang="tg", has=("Восеъ",)), stopped(HOUSEHOLD)], suppressed=(HOUSEHOLD,)),

    # ---- HELP fits the caller (issue 9 item 4): REG first only for a phone without a profile
    sms("HELP from a registered farmer: the everyday commands, not REG", HOUSEHOLD, "ЁРӢ", [helped(HOUSEHOLD)],
        inbound=[{"command": "help", "farmer": "gulnora"}]),
    sms("HELP for the Russian profile of a household phone", HOUSEHOLD, "{dilshod} помощь", [helped(HOUSEHOLD, "ru")]),
    sms("HELP from an Uzbek farmer", ZARINA, "yordam", [helped(ZARINA, "uz")]),
    sms("HELP from an English farmer", FARRUKH, "help", [helped(FARRUKH, "en")]),
    sms("HELP from an unknown phone starts with REG", NEW, "HELP", [helped(NEW)]),
    sms("ПОМОЩЬ from an unknown phone: REG first, in Russian", NEW, "помощь", [helped(NEW, "ru")]),
    sms("YORDAM from an unknown phone: REG first, in Uzbek", NEW, "yordam", [helped(NEW, "uz")]),
    sms("INFO from an unknown phone: REG first, in English", NEW, "info", [helped(NEW, "en")]),
    sms("HELP ORDER in Tajik words", HOUSEHOLD, "ёрӣ фармоиш", [topic(HOUSEHOLD, "order", "tg")]),
    sms("HELP ORDER in Russian words", HOUSEHOLD, "{dilshod} ПОМОЩЬ ЗАКАЗ", [topic(HOUSEHOLD, "order", "ru")]),
    sms("HELP ORDER in Uzbek words", ZARINA, "Yordam buyurtma", [topic(ZARINA, "order", "uz")]),
    sms("HELP ORDER in English", FARRUKH, "HELP ORDER", [topic(FARRUKH, "order", "en")]),
    sms("HELP ASK for a Tajik farmer", HOUSEHOLD, "HELP ASK", [topic(HOUSEHOLD, "ask", "tg")]),
    sms("HELP PLANTED in Russian words", HOUSEHOLD, "{dilshod} справка посев", [topic(HOUSEHOLD, "planted", "ru")]),
    sms("HELP PLANTED in Uzbek words", ZARINA, "yordam ekdim", [topic(ZARINA, "planted", "uz")]),
    sms("HELP SELL in English", FARRUKH, "help sell", [topic(FARRUKH, "sell", "en")]),
    sms("HELP of a two-word command", FARRUKH, "help prices off", [topic(FARRUKH, "prices_off", "en")]),
    sms("HELP ALERT OK for staff", STAFF, "HELP ALERT OK", [topic(STAFF, "alert_send", "tg")]),
    sms("HELP REG from an unknown phone", NEW, "HELP REG", [topic(NEW, "reg", "tg")]),
    sms("HELP with a Russian command word answers in Russian", NEW, "HELP ЗАКАЗ", [topic(NEW, "order", "ru")]),
    sms("ПОМОЩЬ ЦЕНА from an unknown phone", NEW, "помощь цена", [topic(NEW, "price", "ru")]),
    sms("YORDAM RO'YXAT from an unknown phone", NEW, "yordam ro'yxat", [topic(NEW, "reg", "uz")]),
    sms("HELP REGISTER from an unknown phone", NEW, "help register", [topic(NEW, "reg", "en")]),
    sms("HELP with no command after it: the help", HOUSEHOLD, "HELP mango", [helped(HOUSEHOLD)]),

    # ---- household phone: member code prefix
    sms("member code acts for that profile", HOUSEHOLD, "{dilshod} JOIN KUL01",
        [Out(HOUSEHOLD, named="Dilshod", key="sms.join.done", lang="ru", params={"pg": "KUL01"}, segments=1)],
        memberships={"dilshod": ("KUL01", "active"), "gulnora": None}, inbound=[{"farmer": "dilshod"}]),
    # a receipt for one person of a shared phone names that person (issue 9 item 5), in each language
    sms("shared phone, tg: the main profile's receipt names her", HOUSEHOLD, "PRICE tomato",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.price.none", lang="tg", params={"crop": "Помидор"})]),
    sms("shared phone, ru: the receipt for the code's profile names him", HOUSEHOLD, "{dilshod} LEAVE",
        [Out(HOUSEHOLD, named="Dilshod", key="err.not_member", lang="ru")]),
    sms("shared phone, uz: named in the new language", HOUSEHOLD, "{dilshod} LANG uz",
        [Out(HOUSEHOLD, named="Dilshod", key="sms.lang.done", lang="uz")], languages={"dilshod": "uz"}),
    sms("shared phone, en: named in the new language", HOUSEHOLD, "{dilshod} LANG en",
        [Out(HOUSEHOLD, named="Dilshod", key="sms.lang.done", lang="en")], languages={"dilshod": "en"}),
    sms("shared phone: HELP is for the phone, named for no one", HOUSEHOLD, "HELP",
        [Out(HOUSEHOLD, lang="tg", lacks=("Gulnora:", "Dilshod:"))]),
    sms("without a code the main profile acts", HOUSEHOLD, "JOIN KUL01",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.join.done", lang="tg", params={"pg": "KUL01"})],
        memberships={"gulnora": ("KUL01", "active"), "dilshod": None}, inbound=[{"farmer": "gulnora"}]),
    sms("code of a profile on another phone is refused", HOUSEHOLD, "{rustam} JOIN KUL01",
        [Out(HOUSEHOLD, key="sms.code_not_here", lang="tg", params={"code": "{rustam}"})]),
    sms("code of nobody is refused", HOUSEHOLD, "99999 LEAVE",
        [Out(HOUSEHOLD, key="sms.code_not_here", lang="tg", params={"code": "99999"})]),

    # ---- JOIN / LEAVE
    sms("JOIN a PG with an EC: pending, EC told", HOUSEHOLD, "join vos-03",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.join.pending", lang="tg", params={"pg": "VOS03"}, segments=1),
         Out(RUSTAM, kind="notice", lang="tg", key="sms.join.ec_notice",
             params={"name": "Gulnora", "code": "{gulnora}", "pg": "VOS03"})],
        memberships={"gulnora": ("VOS03", "pending")}),
    sms("JOIN by the Tajik alias with Russian letters", HOUSEHOLD, "азо kul01",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.join.done", lang="tg", params={"pg": "KUL01"})],
        memberships={"gulnora": ("KUL01", "active")}),
    sms("JOIN with punctuation glued to the code", HOUSEHOLD, "JOIN: KUL01!",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.join.done", lang="tg", params={"pg": "KUL01"})],
        memberships={"gulnora": ("KUL01", "active")}),
    sms("JOIN an unknown PG", HOUSEHOLD, "JOIN XYZ99",
        [Out(HOUSEHOLD, named="Gulnora", key="err.pg_unknown", lang="tg", params={"code": "XYZ99"})]),
    sms("JOIN without a code", HOUSEHOLD, "JOIN", [Out(HOUSEHOLD, named="Gulnora", key="sms.join.usage", lang="tg")]),
    sms("JOIN from an unknown phone", NEW, "ВСТУПИТЬ KUL01", [Out(NEW, key="err.not_registered", lang="ru")]),
    sms("JOIN while in another PG", FARRUKH, "JOIN KUL01",
        [Out(FARRUKH, key="err.in_other_pg", lang="en", params={"code": "VOS03"})]),
    sms("JOIN again while pending", ZARINA, "JOIN VOS03",
        [Out(ZARINA, key="sms.join.already", lang="uz", params={"pg": "VOS03"}, segments=1)]),
    sms("LEAVE", FARRUKH, "leave", [Out(FARRUKH, key="sms.leave.done", lang="en", params={"pg": "VOS03"})],
        memberships={"farrukh": None}),
    sms("LEAVE without a group", HOUSEHOLD, "LEAVE", [Out(HOUSEHOLD, named="Gulnora", key="err.not_member", lang="tg")]),

    # ---- APPROVE
    sms("APPROVE by an EC member", RUSTAM, "APPROVE {zarina}",
        [Out(RUSTAM, key="sms.approve.done", lang="tg", params={"name": "Zarina", "code": "{zarina}", "pg": "VOS03"}),
         Out(ZARINA, kind="notice", key="sms.approve.welcome", lang="uz", params={"name": "Zarina", "pg": "VOS03"})],
        memberships={"zarina": ("VOS03", "active")}),
    sms("APPROVE by the Tajik alias typed with Russian letters", RUSTAM, "тасдик {zarina}",
        [Out(RUSTAM, key="sms.approve.done", lang="tg", params={"name": "Zarina", "code": "{zarina}", "pg": "VOS03"}),
         Out(ZARINA, kind="notice", lang="uz", has=("VOS03",))],
        memberships={"zarina": ("VOS03", "active")}),
    sms("APPROVE by an ordinary member is refused", FARRUKH, "APPROVE {zarina}",
        [Out(FARRUKH, key="err.not_ec", lang="en")], memberships={"zarina": ("VOS03", "pending")}),
    sms("APPROVE by a farmer outside the PG is refused", HOUSEHOLD, "APPROVE {zarina}",
        [Out(HOUSEHOLD, named="Gulnora", key="err.not_ec", lang="tg")]),
    sms("APPROVE from an unknown phone", NEW, "APPROVE {zarina}", [Out(NEW, key="err.not_registered", lang="tg")]),
    sms("APPROVE an unknown code", RUSTAM, "APPROVE 99999",
        [Out(RUSTAM, key="err.member_unknown", lang="tg", params={"code": "99999"})]),
    sms("APPROVE a code beyond any id", RUSTAM, "APPROVE 99999999999",
        [Out(RUSTAM, key="err.member_unknown", lang="tg", params={"code": "99999999999"})]),
    sms("APPROVE a member already active", RUSTAM, "APPROVE {farrukh}",
        [Out(RUSTAM, key="sms.approve.already", lang="tg", params={"name": "Farrukh", "code": "{farrukh}"})]),
    sms("APPROVE without a code", RUSTAM, "APPROVE", [Out(RUSTAM, key="sms.approve.usage", lang="tg")]),

    # ---- SETPRICE
    sms("SETPRICE by staff: saved at once, the reply shows the farmers' line", STAFF, "SETPRICE onion VOSE 1.50",
        [Out(STAFF, lang="tg", has=("Пиёз", "VOSE", "1,50", "Деҳқонон мебинанд: Восеъ 1,50 +0,20"))],
        prices={("onion", "VOSE"): (150, STAFF)}),
    sms("SETPRICE with decimal comma and currency word", STAFF, "setprice piyoz vose 1,5 TJS",
        [Out(STAFF, lang="tg", has=("1,50",))], prices={("onion", "VOSE"): (150, STAFF)}),
    sms("SETPRICE new market for the day", STAFF, "SET PRICE tomato KULOB 4",
        [Out(STAFF, lang="tg", has=("Помидор", "4,00"))], prices={("tomato", "KULOB"): (400, STAFF)}),
    sms("SETPRICE by the Russian alias answers in Russian", STAFF, "Новая цена лук VOSE 1,45",
        [Out(STAFF, lang="ru", has=("Лук", "1,45 сомони/кг", "Фермеры увидят: Восе 1,45 +0,15"))],
        prices={("onion", "VOSE"): (145, STAFF)}),
    sms("SETPRICE with a typo in the market gets did you mean, nothing set", STAFF, "SETPRICE onion Kulop 1.5",
        [Out(STAFF, lang="tg", has=("Kulop ёфт нашуд. Шояд", "Кӯлоб"))]),  # the market's name in Tajik
    sms("SETPRICE in Uzbek, first report of the market within the usual range: saved", STAFF,
        "YANGI NARX piyoz KULOB 1.6",
        [Out(STAFF, lang="uz", has=("Piyoz", "1.60 TJS/kg", "Fermerlar ko'radi: Ko'lob 1.60"))],
        prices={("onion", "KULOB"): (160, STAFF)}),
    sms("SETPRICE in English, 50% above the last report exactly: saved", STAFF, "NEW PRICE onion VOSE 1.95",
        [Out(STAFF, lang="en", has=("Saved: Onion", "Farmers will see: Vose 1.95 +0.65"))],
        prices={("onion", "VOSE"): (195, STAFF)}),

    # ---- SETPRICE far from the market (more than 50% off the last report, or outside the crop's usual
    # range when the market has none): a confirmation code first, nothing saved
    sms("SETPRICE 17 typed for 1.70 asks first, naming the last report and the farmers' line", STAFF,
        "SETPRICE onion VOSE 17",
        [Out(STAFF, lang="tg", has=("Пиёз 17,00:", "(1,30,", "50%", "Деҳқонон мебинанд: Восеъ 17,00 +15,70",
                                    "SETPRICE OK {code}"))]),
    sms("SETPRICE just over 50% above the last report asks first", STAFF, "SETPRICE onion VOSE 1.96",
        [Out(STAFF, lang="tg", has=("Восеъ 1,96 +0,66", "SETPRICE OK {code}"))]),
    sms("SETPRICE in Russian far below the last report asks first", STAFF, "Новая цена лук VOSE 0,3",
        [Out(STAFF, lang="ru", has=("Лук 0,30:", "от прошлой (1,30,", "Фермеры увидят: Восе 0,30 -1,00",
                                    "SETPRICE OK {code}"))]),
    sms("SETPRICE in Uzbek with no report, outside the usual range, asks first", STAFF, "YANGI NARX pomidor KULOB 40",
        [Out(STAFF, lang="uz", has=("Pomidor 40.00:", "tashqari (1.00-10.00)", "Fermerlar ko'radi: Ko'lob 40.00",
                                    "SETPRICE OK {code}"))]),
    sms("SETPRICE in English with no report, below the usual range, asks first", STAFF, "NEW PRICE rice BALKH 0.5",
        [Out(STAFF, lang="en", has=("Rice 0.50:", "(3.00-15.00)", "Farmers will see: Balkh 0.50",
                                    "SETPRICE OK {code}"))]),
    Case("SETPRICE OK with the code saves the unusual price",
         [Post(at("p1", STAFF, "SETPRICE onion VOSE 17")), Post(at("p2", STAFF, "SETPRICE OK {code}"))],
         [Out(STAFF, lang="tg", has=("SETPRICE OK {code}",)),
          Out(STAFF, lang="tg", has=("Сабт шуд: Пиёз, VOSE, 17,00 сомонӣ/кг",
                                     "Деҳқонон мебинанд: Восеъ 17,00 +15,70"))],
         prices={("onion", "VOSE"): (1700, STAFF)}),
    Case("НОВАЯ ЦЕНА ДА with the code saves it, in Russian",
         [Post(at("p1", STAFF, "Новая цена лук VOSE 0,3")), Post(at("p2", STAFF, "НОВАЯ ЦЕНА ДА {code}"))],
         [Out(STAFF, lang="ru", has=("SETPRICE OK {code}",)),
          Out(STAFF, lang="ru", has=("Записано: Лук, VOSE, 0,30 сомони/кг", "Фермеры увидят: Восе 0,30 -1,00"))],
         prices={("onion", "VOSE"): (30, STAFF)}),
    Case("YANGI NARX HA with the code saves it, in Uzbek",
         [Post(at("p1", STAFF, "YANGI NARX pomidor KULOB 40")), Post(at("p2", STAFF, "YANGI NARX HA {code}"))],
         [Out(STAFF, lang="uz", has=("SETPRICE OK {code}",)),
          Out(STAFF, lang="uz", has=("Saqlandi: Pomidor, KULOB, 40.00 TJS/kg", "Fermerlar ko'radi: Ko'lob 40.00"))],
         prices={("tomato", "KULOB"): (4000, STAFF)}),
    Case("NEW PRICE OK with the code saves it, in English",
         [Post(at("p1", STAFF, "NEW PRICE rice BALKH 0.5")), Post(at("p2", STAFF, "NEW PRICE OK {code}"))],
         [Out(STAFF, lang="en", has=("SETPRICE OK {code}",)),
          Out(STAFF, lang="en", has=("Saved: Rice, BALKH, 0.50 TJS/kg", "Farmers will see: Balkh 0.50"))],
         prices={("rice", "BALKH"): (50, STAFF)}),
    Case("SETPRICE OK with a wrong code saves nothing",
         [Post(at("p1", STAFF, "SETPRICE onion VOSE 17")), Post(at("p2", STAFF, "SETPRICE OK 1"))],
         [Out(STAFF, lang="tg", has=("SETPRICE OK",)),
          Out(STAFF, lang="tg", key="sms.setprice.code_unknown", params={"code": "1"})]),
    sms("SETPRICE OK without a request", STAFF, "SETPRICE OK 1234",
        [Out(STAFF, lang="tg", key="sms.setprice.code_unknown", params={"code": "1234"})]),
    sms("SETPRICE OK from a farmer's phone", HOUSEHOLD, "SETPRICE OK 1234",
        [Out(HOUSEHOLD, named="Gulnora", lang="tg", key="sms.setprice.not_staff")]),
    sms("SETPRICE by a non-staff phone", HOUSEHOLD, "SETPRICE onion VOSE 1.50",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.setprice.not_staff", lang="tg")]),
    sms("SETPRICE zero", STAFF, "SETPRICE onion VOSE 0", [Out(STAFF, key="err.price", lang="tg")]),
    sms("SETPRICE not a number", STAFF, "SETPRICE onion VOSE cheap", [Out(STAFF, key="err.price", lang="tg")]),
    sms("SETPRICE three decimals", STAFF, "SETPRICE onion VOSE 1.555", [Out(STAFF, key="err.price", lang="tg")]),
    sms("SETPRICE absurd price", STAFF, "SETPRICE onion VOSE 5000", [Out(STAFF, key="err.price", lang="tg")]),
    sms("SETPRICE negative price", STAFF, "SETPRICE onion VOSE -1", [Out(STAFF, key="err.price", lang="tg")]),
    sms("SETPRICE unknown crop", STAFF, "SETPRICE mango VOSE 1.5",
        [Out(STAFF, key="sms.price.crop_unknown", lang="tg",
             params={"crop": "mango", "crops": "Пиёз, Шолӣ, Помидор"})]),
    sms("SETPRICE unknown market", STAFF, "SETPRICE onion MOSCOW 1.5",
        [Out(STAFF, lang="tg", has=("MOSCOW", "KULOB"))]),
    sms("SETPRICE missing the market", STAFF, "SETPRICE onion 1.5", [Out(STAFF, key="sms.setprice.usage", lang="tg")]),
    Case("SETPRICE from a staff phone that picked Tajik (ЗАБОН тоҷикӣ) answers in Tajik",
         [Post(at("m0", STAFF, "забон тоҷикӣ")), Post(at("m1", STAFF, "SETPRICE onion VOSE 1.50"))],
         [Out(STAFF, key="sms.lang.done", lang="tg"), Out(STAFF, lang="tg", has=("Пиёз", "VOSE", "1,50"))],
         prices={("onion", "VOSE"): (150, STAFF)}, picked={STAFF: "tg"}),

    # ---- PRICE
    # a list names each market by its short name in the farmer's language, one money format per language
    sms("PRICE of a crop: every market, one SMS", HOUSEHOLD, "PRICE onion",
        [Out(HOUSEHOLD, lang="tg", has=("Пиёз, сомонӣ/кг", "\nВосеъ 1,40 +0,10", "\nКӯлоб 1,35"),
             lacks=("VOSE", "KULOB", "Бозори", "1.40"), segments=1)]),
    sms("PRICE at one market", HOUSEHOLD, "price onion vose",
        [Out(HOUSEHOLD, lang="tg", has=("Бозори Восеъ 1,40 +0,10",), lacks=("KULOB", "Кӯлоб"), segments=1)]),
    sms("PRICE market first", HOUSEHOLD, "PRICE KULOB onion",
        [Out(HOUSEHOLD, lang="tg", has=("Бозори Кӯлоб 1,35",), lacks=("VOSE", "Восеъ"))]),
    sms("ЦЕНА from an unknown phone answers in Russian", NEW, "ЦЕНА лук",
        [Out(NEW, lang="ru", has=("Лук, сомони/кг", "\nВосе 1,40 +0,10", "\nКуляб 1,35"),
             lacks=("VOSE", "KULOB", "1.40"))]),
    sms("NARX from an unknown phone answers in Uzbek", NEW, "narx piyoz",
        [Out(NEW, lang="uz", has=("Piyoz, TJS/kg", "\nVose 1.40 +0.10", "\nKo'lob 1.35"),
             lacks=("VOSE", "KULOB", "1,40"))]),
    sms("a profile's language wins over the keyword's", FARRUKH, "НАРХ пиёз",
        [Out(FARRUKH, lang="en", has=("Onion, TJS/kg", "\nVose 1.40 +0.10", "\nKulob 1.35"),
             lacks=("VOSE", "KULOB", "1,40"))]),
    sms("PRICE at one market in Russian: its full name", HOUSEHOLD, "{dilshod} ЦЕНА лук Куляб",
        [Out(HOUSEHOLD, lang="ru", has=("Рынок Куляба 1,35",), lacks=("KULOB", "Восе"))]),
    sms("PRICE at one market by its Russian name", NEW, "цена лук Рынок Восе",
        [Out(NEW, lang="ru", has=("Рынок Восе 1,40 +0,10",), lacks=("VOSE", "Куляб"))]),
    sms("PRICE at one market in Uzbek: its full name", ZARINA, "NARX piyoz Vose",
        [Out(ZARINA, lang="uz", has=("Vose bozori 1.40 +0.10",), lacks=("VOSE", "Ko'lob"))]),
    sms("PRICE at one market in English: its full name", FARRUKH, "PRICE onion Kulob market",
        [Out(FARRUKH, lang="en", has=("Kulob market 1.35",), lacks=("KULOB", "Vose"))]),
    sms("PRICE at one market by its Tajik short name", HOUSEHOLD, "НАРХ пиёз Балх",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.price.none", lang="tg", params={"crop": "Пиёз"})]),
    sms("PRICE with no price yet", HOUSEHOLD, "PRICE tomato",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.price.none", lang="tg", params={"crop": "Помидор"})]),
    sms("PRICE of an unknown crop", HOUSEHOLD, "PRICE mango",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.price.crop_unknown", lang="tg",
             params={"crop": "mango", "crops": "Пиёз, Шолӣ, Помидор"})]),
    # an unknown market: the markets listed by the names the farmer can type back, not by code
    sms("PRICE at an unknown market", HOUSEHOLD, "PRICE onion Moscow",
        [Out(HOUSEHOLD, lang="tg", has=("Бозори Moscow нест. Бозорҳо: Кӯлоб, Маркази Даҳана, Ҷомӣ, ", "Восеъ, ",
                                        "Маркази Восеъ, ", "Балх"), lacks=("KULOB", "VOSE"))]),
    sms("PRICE at an unknown market in Russian", NEW, "ЦЕНА лук Москва",
        [Out(NEW, lang="ru", has=("Нет рынка Москва. Рынки: Куляб, Пункт Даханы, Джами, ", "Восе, ", "Пункт Восе, ",
                                  "Балх"), lacks=("KULOB", "VOSE"))]),
    sms("PRICE at an unknown market in Uzbek", ZARINA, "NARX piyoz Moskva",
        [Out(ZARINA, lang="uz", has=("Moskva bozori topilmadi. Bozorlar: Ko'lob, Dahana markazi, Jomiy, ", "Vose, ",
                                     "Vose markazi, ", "Balx"), lacks=("KULOB", "VOSE"))]),
    sms("PRICE at an unknown market in English", FARRUKH, "PRICE onion Moscow",
        [Out(FARRUKH, lang="en", has=("Market Moscow not found. Markets: Kulob, Dahana centre, Jomi, ", "Vose, ",
                                      "Vose centre, ", "Balkh"), lacks=("KULOB", "VOSE"))]),
    sms("PRICE without a crop", HOUSEHOLD, "PRICE",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.price.usage", lang="tg", params={"crops": "Пиёз, Шолӣ, Помидор"})]),

    # ---- words as people write them (issue 9 item 2; service/reference/words.py): inflections and
    # plurals, punctuation glued to words, filler words, other spellings, and "did you mean" when unsure
    sms("ru: inflected crop, цена лука", NEW, "цена лука",
        [Out(NEW, lang="ru", has=("Лук, сомони/кг", "Восе 1,40 +0,10", "Куляб 1,35"))]),
    sms("ru: a filler word is no market, Цены на лук", NEW, "Цены на лук",
        [Out(NEW, lang="ru", has=("Лук, сомони/кг", "Восе 1,40 +0,10"), lacks=("Нет рынка",))]),
    sms("ru: genitive plural, цена томатов", NEW, "цена томатов",
        [Out(NEW, key="sms.price.none", lang="ru", params={"crop": "Томат"})]),
    sms("ru: nominative plural, цена помидоры", NEW, "цена помидоры",
        [Out(NEW, key="sms.price.none", lang="ru", params={"crop": "Томат"})]),
    sms("ru: punctuation glued to the words, ЦЕНА: ЛУК!!!", NEW, "ЦЕНА: ЛУК!!!",
        [Out(NEW, lang="ru", has=("Лук, сомони/кг", "Восе 1,40 +0,10"), lacks=("!",))]),
    sms("ru: inflected market after a filler, на рынке Куляба", HOUSEHOLD, "{dilshod} цена лука на рынке Куляба",
        [Out(HOUSEHOLD, lang="ru", has=("1,35",), lacks=("VOSE",))]),
    sms("ru: a typo gets did you mean", NEW, "цена помадор",
        [Out(NEW, key="sms.did_you_mean", lang="ru", params={"word": "помадор", "guess": "Томат"})]),
    sms("tg: plural -ҳо and the izofat keyword, нархи пиёзҳо", HOUSEHOLD, "нархи пиёзҳо",
        [Out(HOUSEHOLD, lang="tg", has=("Пиёз, сомонӣ/кг", "Восеъ 1,40 +0,10"))]),
    sms("tg: punctuation glued to the words", HOUSEHOLD, "НАРХ: ПИЁЗ!!!",
        [Out(HOUSEHOLD, lang="tg", has=("Пиёз, сомонӣ/кг", "Восеъ 1,40 +0,10"))]),
    sms("tg: a filler word before the market, дар Кӯлоб", HOUSEHOLD, "нарх пиёз дар Кӯлоб",
        [Out(HOUSEHOLD, lang="tg", has=("1,35",), lacks=("VOSE", "нест"))]),
    sms("tg: a typo gets did you mean", HOUSEHOLD, "нарх пиюз",
        [Out(HOUSEHOLD, named="Gulnora", key="sms.did_you_mean", lang="tg", params={"word": "пиюз", "guess": "Пиёз"})]),
    sms("uz: plural -lar", ZARINA, "narx piyozlar", [Out(ZARINA, lang="uz", has=("Piyoz, TJS/kg", "Vose 1.40"))]),
    sms("uz: punctuation glued to the words", ZARINA, "NARX: piyoz!!!",
        [Out(ZARINA, lang="uz", has=("Piyoz, TJS/kg", "Vose 1.40"))]),
    sms("uz: a Russian-style spelling, pamidor", ZARINA, "narx pamidor",
        [Out(ZARINA, key="sms.price.none", lang="uz", params={"crop": "Pomidor"})]),
    sms("uz: a typo gets did you mean", ZARINA, "narx piyos",
        [Out(ZARINA, key="sms.did_you_mean", lang="uz", params={"word": "piyos", "guess": "Piyoz"})]),
    sms("en: plural and fillers, PRICE of onions in Kulob", FARRUKH, "PRICE of onions in Kulob",
        [Out(FARRUKH, lang="en", has=("Onion, TJS/kg", "1.35"), lacks=("VOSE",))]),
    sms("en: punctuation glued to the words", FARRUKH, "price: ONION!!!",
        [Out(FARRUKH, lang="en", has=("Onion, TJS/kg", "Vose 1.40"))]),
    sms("en: a typo in the crop gets did you mean", FARRUKH, "PRICE oniun",
        [Out(FARRUKH, key="sms.did_you_mean", lang="en", params={"word": "oniun", "guess": "Onion"})]),
    sms("en: a typo in the market gets did you mean", FARRUKH, "PRICE onion Kulop",
        [Out(FARRUKH, lang="en", has=("Kulop not found. Did you mean Kulob",))]),
    sms("SETPRICE with an inflected crop and a transliterated market", STAFF, "Новая цена лука Kulyab 1,45",
        [Out(STAFF, lang="ru", has=("Лук", "1,45"))], prices={("onion", "KULOB"): (145, STAFF)}),

    # ---- LANG
    sms("LANG ru", HOUSEHOLD, "LANG ru", [Out(HOUSEHOLD, named="Gulnora", key="sms.lang.done", lang="ru")], languages={"gulnora": "ru"}),
    sms("language by name", HOUSEHOLD, "язык O'zbekcha", [Out(HOUSEHOLD, named="Gulnora", key="sms.lang.done", lang="uz")],
        languages={"gulnora": "uz"}),
    sms("LANG for the second profile", HOUSEHOLD, "{dilshod} LANG English",
        [Out(HOUSEHOLD, named="Dilshod", key="sms.lang.done", lang="en")], languages={"dilshod": "en", "gulnora": "tg"}),
    sms("LANG unknown language", HOUSEHOLD, "LANG klingon", [Out(HOUSEHOLD, named="Gulnora", key="sms.lang.usage", lang="tg")]),
    # ---- the language of a phone not registered yet (issue 9 items 1 and 3)
    *[sms(f"LANG {lang} before registering is remembered and answered in it", NEW, f"LANG {lang}",
          [Out(NEW, key="sms.lang.done", lang=lang)], picked={NEW: lang}) for lang in ("tg", "ru", "uz", "en")],
    *[Case(f"LANG {lang} then REG: the profile speaks {lang}",
           [Post(at("m0", NEW, f"LANG {lang}")), Post(at("m1", NEW, "REG Gulnora Karimova F Dahana"))],
           [Out(NEW, key="sms.lang.done", lang=lang),
            Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang=lang, params={"name": "Gulnora Karimova", "code": "{new}",
                                                             "gender": "female"})],
           new_farmer={"phone": NEW, "language": lang}, picked={NEW: lang}) for lang in ("tg", "ru", "uz", "en")],
    Case("a picked language beats the words of REG (LANG ru, then REG ... erkak)",
         [Post(at("m0", NEW, "язык русский")), Post(at("m1", NEW, "REG Ali erkak Jomi"))],
         [Out(NEW, key="sms.lang.done", lang="ru"), Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="ru",
                                                        params={"name": "Ali", "code": "{new}", "gender": "male"})],
         new_farmer={"language": "ru"}, picked={NEW: "ru"}),
    Case("a picked language beats a guess (LANG uz, then a Russian question)",
         [Post(at("m0", NEW, "til o'zbekcha")), Post(at("m1", NEW, "Сколько стоит лук?"))],
         [Out(NEW, key="sms.lang.done", lang="uz"), helped(NEW, "uz")], picked={NEW: "uz"}),
    Case("LANG on a registered phone changes the profile, not the phone's pick",
         [Post(at("m0", HOUSEHOLD, "LANG en"))], [Out(HOUSEHOLD, named="Gulnora", key="sms.lang.done", lang="en")],
         languages={"gulnora": "en"}, picked={}),
    sms("guess: Стоп. is Russian", NEW, "Стоп.", [Out(NEW, kind="stop_confirm", lang="ru", key="sms.stop.done")],
        suppressed=(NEW,)),
    sms("guess: START in Latin tells nothing (a poster word): DEFAULT_LANGUAGE", NEW, "START",
        [Out(NEW, key="sms.start.done", lang="tg")]),
    sms("guess: help in Latin tells nothing (a poster word): DEFAULT_LANGUAGE", NEW, "help", [helped(NEW, "tg")]),
    sms("guess: an English question is English", NEW, "How can I register please?", [helped(NEW, "en")]),
    sms("guess: a Russian question is Russian", NEW, "Сколько стоит лук?", [helped(NEW, "ru")]),
    sms("guess: Russian letters (ы) tell Russian", NEW, "Хочу узнать цены", [helped(NEW, "ru")]),
    sms("guess: a Tajik question is Tajik", NEW, "Шумо кӣ ҳастед?", [helped(NEW, "tg")]),
    sms("guess: Tajik letters tell Tajik", NEW, "Ассалому алейкум, маслиҳат лозим", [helped(NEW, "tg")]),
    sms("guess: Uzbek words in Latin are Uzbek", NEW, "Piyoz narxi qancha?", [helped(NEW, "uz")]),
    sms("guess: Uzbek o' and g' are Uzbek", NEW, "Men to'g'risida", [helped(NEW, "uz")]),
    sms("guess: an English question is English", NEW, "How much is the onion today?", [helped(NEW, "en")]),
    sms("guess: a registered farmer's profile language beats it (tg)", HOUSEHOLD, "Сколько стоит лук?",
        [helped(HOUSEHOLD, "tg")]),
    sms("guess: a registered farmer's profile language beats it (en)", FARRUKH, "Стоп.",
        [Out(FARRUKH, kind="stop_confirm", lang="en", key="sms.stop.done")], suppressed=(FARRUKH,)),
    Case("guess: START after a Russian stop confirmation stays Russian (the language last answered)",
         [Post(at("m0", NEW, "Стоп")), Post(at("m1", NEW, "START"))],
         [Out(NEW, kind="stop_confirm", lang="ru", key="sms.stop.done"), Out(NEW, key="sms.start.done", lang="ru")],
         suppressed=()),

    # ---- REG
    sms("REG with everything", NEW, "REG Gulnora Karimova F Dahana tomato, onion 0.5",
        [Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="tg", params={"name": "Gulnora Karimova", "code": "{new}"})],
        new_farmer={"phone": NEW, "name": "Gulnora Karimova", "gender": "female", "language": "tg",
                    "village": "Dahana", "crops": ["onion", "tomato"], "land_m2": 5000, "is_main": True,
                    "registered_via": "sms"}),
    sms("РЕГ with Ж registers in Russian", NEW, "рег Мадина Ж Дахана",
        [Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="ru", params={"name": "Мадина", "code": "{new}", "gender": "female"},
             has=("Мадина зарегистрирована.",))],
        new_farmer={"name": "Мадина", "gender": "female", "language": "ru", "village": "Dahana", "crops": [],
                    "land_m2": None}),
    sms("РЕГ with М: the Russian receipt in the masculine", NEW, "рег Фаррух МУЖ Дахана",
        [Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="ru", params={"name": "Фаррух", "code": "{new}", "gender": "male"},
             has=("Фаррух зарегистрирован.",))],
        new_farmer={"name": "Фаррух", "gender": "male", "language": "ru"}),
    sms("САБТ in Tajik typed with Russian letters", NEW, "сабт Хусейн м Кулоб пиёз 1,5 га",
        [Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="tg", params={"name": "Хусейн", "code": "{new}"})],
        new_farmer={"name": "Хусейн", "gender": "male", "language": "tg", "village": "Kulob", "crops": ["onion"],
                    "land_m2": 15000}),
    sms("REG with Uzbek gender word registers in Uzbek", NEW, "REG Ali erkak Jomi sholi 2ha",
        [Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="uz", params={"name": "Ali", "code": "{new}"})],
        new_farmer={"gender": "male", "language": "uz", "village": "Jomi", "crops": ["rice"], "land_m2": 20000}),
    sms("REG naming a district with one village", NEW, "REG Nigora F Vose",
        [Out(NEW, lang="tg", has=("Nigora",))], new_farmer={"village": "Guliston"}),
    sms("REG with a name found in two districts plus the district", NEW, "REG Nigora F Kalinin Balkhi",
        [Out(NEW, lang="tg", has=("Nigora",))], new_farmer={"village": "Kalinin", "district": "balkhi"}),
    sms("REG adds a profile on a household phone", HOUSEHOLD, "REG Nodira F Dahana",
        [Out(HOUSEHOLD, key="sms.reg.done", then="farmers.reg.kept", lang="tg", params={"name": "Nodira", "code": "{new}"})],
        new_farmer={"phone": HOUSEHOLD, "language": "tg", "is_main": False}),
    # village names as people write them (issue 9 item 2)
    sms("REG en: a filler and the Russian-style spelling Gulistan", NEW, "REG Nigora F in Gulistan",
        [Out(NEW, lang="en", has=("Nigora",))], new_farmer={"village": "Guliston", "language": "en"}),
    sms("REG ru: village in the prepositional case, в Гулистане", NEW, "рег Мадина Ж в Гулистане",
        [Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="ru", params={"name": "Мадина", "code": "{new}", "gender": "female"})],
        new_farmer={"village": "Guliston", "language": "ru"}),
    sms("REG tg: village with the izofat and its district, Даҳанаи Кӯлоб", NEW, "сабт Нигина з Даҳанаи Кӯлоб",
        [Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="tg", params={"name": "Нигина", "code": "{new}"})],
        new_farmer={"village": "Dahana", "language": "tg"}),
    sms("REG uz: x for kh, Yoxsuchiyon", NEW, "REG Dilnoza ayol Yoxsuchiyon",
        [Out(NEW, key="sms.reg.done", then="farmers.reg.kept", lang="uz", params={"name": "Dilnoza", "code": "{new}"})],
        new_farmer={"village": "Yokhsuchiyon", "language": "uz"}),
    sms("REG with punctuation glued to the village", NEW, "REG Nigora F Dahana, onion!",
        [Out(NEW, lang="tg", has=("Nigora",))], new_farmer={"village": "Dahana", "crops": ["onion"]}),
    sms("REG tg: a typo in the village gets did you mean", NEW, "сабт Нигина з Гулстн",
        [Out(NEW, key="sms.did_you_mean", lang="tg", params={"word": "Гулстн", "guess": "Гулистон"})]),
    sms("REG en: a typo in the village gets did you mean", NEW, "REGISTER Nigora F Gulstn",
        [Out(NEW, key="sms.did_you_mean", lang="en", params={"word": "Gulstn", "guess": "Guliston"})]),
    sms("REG without gender is refused", NEW, "REG Gulnora Dahana", [Out(NEW, key="sms.reg.gender", lang="tg")]),
    sms("REG alone explains the form", NEW, "REG", [Out(NEW, key="sms.reg.usage", lang="tg")]),
    sms("REG without a place", NEW, "REG Gulnora F", [Out(NEW, key="sms.reg.place", lang="tg")]),
    sms("REG with an unknown place", NEW, "REG Gulnora F Atlantis",
        [Out(NEW, key="sms.reg.place_unknown", lang="tg", params={"place": "Atlantis"})]),
    sms("REG with a place in two districts", NEW, "REG Gulnora F Kalinin",
        [Out(NEW, key="sms.reg.place_ambiguous", lang="tg", params={"place": "Kalinin"})]),
    sms("REG with a district of many villages", NEW, "REG Gulnora Ж Balkhi",
        [Out(NEW, key="sms.reg.which_village", lang="ru", params={"district": "Балхи"})]),
    sms("REG with too much land", NEW, "REG Gulnora F Dahana 900", [Out(NEW, key="err.land", lang="tg")]),
    sms("REG with two land sizes", NEW, "REG Gulnora F Dahana 0.5 2", [Out(NEW, key="err.land", lang="tg")]),
    sms("REG with negative land", NEW, "REG Gulnora F Dahana -1", [Out(NEW, key="err.land", lang="tg")]),
    sms("REG with a one-letter name", NEW, "REG G F Dahana", [Out(NEW, key="err.name", lang="tg")]),
    sms("REG of a name already on the phone", HOUSEHOLD, "REG gulnora F Dahana",
        [Out(HOUSEHOLD, key="err.already_registered", lang="tg", params={"name": "gulnora"})]),
    sms("REG of a name already on the phone, in Russian for a man", HOUSEHOLD, "{dilshod} РЕГ Dilshod М Дахана",
        [Out(HOUSEHOLD, lang="ru", has=("уже зарегистрирован.",), lacks=("(а)",))]),

    # ---- unknown text and the help-loop guard
    sms("unknown text from an unknown phone gets help (Salom in Latin: Uzbek)", NEW, "Salom", [helped(NEW, "uz")],
        inbound=[{"command": "unknown", "farmer": None}]),
    Case("second different unknown text within 10 minutes: once more, briefly, how to get help",
         [Post(at("u1", NEW, "Salom")), Post(at("u2", NEW, "Auto-reply: I am away"))],
         [helped(NEW, "uz"), again(NEW, "en")], inbound=[{"gateway_id": "u1", "command": "unknown"},
                                             {"gateway_id": "u2", "command": "unknown", "status": "processed"}]),
    Case("a third unknown text within 10 minutes gets nothing",
         posts(NEW, "Salom", "Auto-reply: I am away", "Auto-reply: still away", "Auto-reply: I am away"),
         [helped(NEW, "uz"), again(NEW, "en")]),
    Case("the same unknown text again gets nothing", posts(NEW, "Salom", "salom!"), [helped(NEW, "uz")]),
    Case("second unknown text, Tajik", posts(HOUSEHOLD, "салом", "чи хел?"), [helped(HOUSEHOLD), again(HOUSEHOLD)]),
    Case("second unknown text, Russian", posts(HOUSEHOLD, "LANG ru", "Привет", "Как дела?", "алло"),
         [Out(HOUSEHOLD, named="Gulnora", key="sms.lang.done", lang="ru"), helped(HOUSEHOLD, "ru"),
          again(HOUSEHOLD, "ru")],
         languages={"gulnora": "ru"}),
    Case("second unknown text, Uzbek", posts(ZARINA, "Salom", "Qalaysiz?"), [helped(ZARINA, "uz"), again(ZARINA, "uz")]),
    Case("second unknown text, English", posts(FARRUKH, "hello", "anyone there?"),
         [helped(FARRUKH, "en"), again(FARRUKH, "en")]),
    Case("the guard is per phone",
         [Post(at("u1", NEW, "Salom")), Post(at("u2", HOUSEHOLD, "Salom"))], [helped(NEW, "uz"), helped(HOUSEHOLD)]),
    Case("HELP asked for is always answered",
         [Post(at("u1", NEW, "Salom")), Post(at("u2", NEW, "help"))], [helped(NEW, "uz"), helped(NEW, "uz")]),
    Case("a refusal does not count as help",
         [Post(at("u1", NEW, "JOIN KUL01")), Post(at("u2", NEW, "Salom"))],
         [Out(NEW, key="err.not_registered", lang="tg"), helped(NEW, "uz")]),
    sms("a member code alone is unknown", HOUSEHOLD, "{dilshod}", [helped(HOUSEHOLD)]),
]

# ---- control characters in every field (stripped at the door), and the size limits
NUL = "\x00"
_HELP = at("nul1", HOUSEHOLD, "HELP", linkId="Link1")
_HELP_STORED = {"gateway_id": "nul1", "phone": HOUSEHOLD, "to": SHORT_CODE, "text": "HELP", "network_code": "99999",
                "link_id": "Link1", "sent_at": "2024-05-12T10:00:00+00:00", "status": "processed", "command": "help"}


def _with_nul(value: str) -> str:
    return value[:1] + NUL + value[1:]


CASES += [
    Case(f"%00 in {name} is stripped: stored and answered", [Post({**_HELP, name: _with_nul(value)}, answer="processed")],
         [helped(HOUSEHOLD)], inbound=[_HELP_STORED])
    for name, value in _HELP.items()
] + [
    Case("%00 in every field at once", [Post({k: _with_nul(v) for k, v in _HELP.items()}, answer="processed")],
         [helped(HOUSEHOLD)], inbound=[_HELP_STORED]),
    Case("ESC, DEL and C1 controls in text are stripped, tab and newline kept",
         [Post(at("c1", HOUSEHOLD, "\x1bHE\x7fLP\x85\tme\nplease"))], [helped(HOUSEHOLD)],
         inbound=[{"text": "HELP\tme\nplease"}]),
    Case("a text over 2,000 characters is cut to 2,000", [Post(at("long1", HOUSEHOLD, "HELP " + "ж" * 2500))],
         [helped(HOUSEHOLD)], inbound=[{"text": "HELP " + "ж" * 1995}]),
    Case("a body over 64 KiB: 413, nothing stored", [Post(at("big1", HOUSEHOLD, "HELP " + "x" * 70_000), status=413)]),
    Case("a form of 150 fields: 413, nothing stored",
         [Post({**at("many1", HOUSEHOLD, "HELP"), **{f"f{i}": "1" for i in range(150)}}, status=413)]),
]


# ---- issue 9 item 10: a decided or withdrawn join request withdraws the EC's queued notices; an
# applicant who left before the decision is not told "accepted" (the chair's replies in tg, ru, uz, en:
# Rustam switches language first)
def _notice_to_rustam(lang: str, name: str, code: str, status: str) -> Out:
    return Out(RUSTAM, kind="notice", key="sms.join.ec_notice", lang=lang, status=status,
               params={"name": name, "code": code, "pg": "VOS03"})


def _lang(lang: str) -> Out:
    return Out(RUSTAM, key="sms.lang.done", lang=lang)


CASES += [
    Case("APPROVE after the applicant withdrew: the chair is told, she hears nothing (tg)",
         [Post(at("w1", HOUSEHOLD, "JOIN VOS03")), Post(at("w2", HOUSEHOLD, "LEAVE")),
          Post(at("w3", RUSTAM, "APPROVE {gulnora}"))],
         [Out(HOUSEHOLD, named="Gulnora", key="sms.join.pending", lang="tg", params={"pg": "VOS03"}),
          _notice_to_rustam("tg", "Gulnora", "{gulnora}", "withdrawn"),
          Out(HOUSEHOLD, named="Gulnora", key="sms.leave.done", lang="tg", params={"pg": "VOS03"}),
          Out(RUSTAM, key="err.request_withdrawn", lang="tg", params={"name": "Gulnora", "code": "{gulnora}"})],
         memberships={"gulnora": None}),
    Case("APPROVE after the applicant withdrew (ru)",
         [Post(at("w1", RUSTAM, "LANG ru")), Post(at("w2", HOUSEHOLD, "{dilshod} JOIN VOS03")),
          Post(at("w3", HOUSEHOLD, "{dilshod} LEAVE")), Post(at("w4", RUSTAM, "APPROVE {dilshod}"))],
         [_lang("ru"), Out(HOUSEHOLD, named="Dilshod", key="sms.join.pending", lang="ru", params={"pg": "VOS03"}),
          _notice_to_rustam("ru", "Dilshod", "{dilshod}", "withdrawn"),
          Out(HOUSEHOLD, named="Dilshod", key="sms.leave.done", lang="ru", params={"pg": "VOS03"}),
          Out(RUSTAM, key="err.request_withdrawn", lang="ru", params={"name": "Dilshod", "code": "{dilshod}"})],
         languages={"rustam": "ru"}, memberships={"dilshod": None}),
    Case("APPROVE after the applicant left (uz)",
         [Post(at("w1", RUSTAM, "LANG uz")), Post(at("w2", ZARINA, "LEAVE")), Post(at("w3", RUSTAM, "APPROVE {zarina}"))],
         [_lang("uz"), Out(ZARINA, key="sms.leave.done", lang="uz", params={"pg": "VOS03"}),
          Out(RUSTAM, key="err.request_withdrawn", lang="uz", params={"name": "Zarina", "code": "{zarina}"})],
         languages={"rustam": "uz"}, memberships={"zarina": None}),
    Case("APPROVE withdraws the queued notice of the request; the applicant is welcomed (en)",
         [Post(at("w1", RUSTAM, "LANG en")), Post(at("w2", FARRUKH, "LEAVE")), Post(at("w3", FARRUKH, "JOIN VOS03")),
          Post(at("w4", RUSTAM, "APPROVE {farrukh}"))],
         [_lang("en"), Out(FARRUKH, key="sms.leave.done", lang="en", params={"pg": "VOS03"}),
          Out(FARRUKH, key="sms.join.pending", lang="en", params={"pg": "VOS03"}),
          _notice_to_rustam("en", "Farrukh", "{farrukh}", "withdrawn"),
          Out(RUSTAM, key="sms.approve.done", lang="en", params={"name": "Farrukh", "code": "{farrukh}", "pg": "VOS03"}),
          Out(FARRUKH, kind="notice", key="sms.approve.welcome", lang="en", params={"name": "Farrukh", "pg": "VOS03"})],
         languages={"rustam": "en"}, memberships={"farrukh": ("VOS03", "active")}),
    Case("an applicant who leaves after the approval is not told \"accepted\": the welcome is withdrawn",
         [Post(at("w1", RUSTAM, "APPROVE {zarina}")), Post(at("w2", ZARINA, "LEAVE"))],
         [Out(RUSTAM, key="sms.approve.done", lang="tg", params={"name": "Zarina", "code": "{zarina}", "pg": "VOS03"}),
          Out(ZARINA, kind="notice", key="sms.approve.welcome", lang="uz", params={"name": "Zarina", "pg": "VOS03"},
              status="withdrawn"),
          Out(ZARINA, key="sms.leave.done", lang="uz", params={"pg": "VOS03"})],
         memberships={"zarina": None}),
]

# Farmers own their data (docs/privacy.md): MYDATA, and DELETE with its confirmation code
# ("{code}": the code the phone's latest DELETE holds), in every language
CASES += [
    sms("MYDATA (tg): the main profile's summary, ending with how to remove it", HOUSEHOLD, "МАЪЛУМОТ",
        [Out(HOUSEHOLD, lang="tg", has=("Gulnora", "({gulnora})", "DELETE"), segments=2)]),
    sms("MYDATA (ru) for the other profile of a shared phone", HOUSEHOLD, "{dilshod} мои данные",
        [Out(HOUSEHOLD, lang="ru", has=("Dilshod", "({dilshod})", "Удалить: DELETE"), lacks=("Gulnora",))],
        inbound=[{"farmer": "dilshod", "command": "mydata"}]),
    sms("MYDATA (uz): a pending request shows with its PG", ZARINA, "MA'LUMOT",
        [Out(ZARINA, lang="uz", has=("Zarina", "({zarina})", "VOS03 (ariza)", "O'chirish: DELETE"))]),
    sms("MY DATA (en): an active member", FARRUKH, "my data",
        [Out(FARRUKH, lang="en", has=("Farrukh", "({farrukh})", "VOS03 member", "To remove: DELETE"))]),
    sms("MYDATA from a phone without a profile", NEW, "MYDATA", [Out(NEW, key="err.not_registered", lang="tg")]),
    sms("НЕСТ (tg) asks for the code", RUSTAM, "НЕСТ",
        [Out(RUSTAM, lang="tg", key="farmers.delete.ask", params={"name": "Rustam", "code": "{code}"})]),
    Case("DELETE with a wrong code (ru, shared phone) erases nothing",
         [Post(at("d1", HOUSEHOLD, "{dilshod} УДАЛИТЬ")), Post(at("d2", HOUSEHOLD, "{dilshod} УДАЛИТЬ 0000"))],
         [Out(HOUSEHOLD, lang="ru", key="farmers.delete.ask", params={"name": "Dilshod", "code": "{code}"}),
          Out(HOUSEHOLD, lang="ru", key="farmers.delete.wrong_code", named="Dilshod")]),
    Case("DELETE <code> (uz) erases, the last SMS keeps the phone until sent; her pending join request goes",
         [Post(at("d1", ZARINA, "O'CHIRISH")), Post(at("d2", ZARINA, "O'CHIRISH {code}"))],
         [Out("", status="withdrawn"),  # the ask: unsent, taken back, phone and text blanked
          Out(ZARINA, kind="stop_confirm", lang="uz", key="farmers.delete.done")],
         erased=("zarina",), memberships={"zarina": None}),
    Case("ERASE <code> (en) erases; the membership history stays",
         [Post(at("d1", FARRUKH, "ERASE")), Post(at("d2", FARRUKH, "erase {code}"))],
         [Out("", status="withdrawn"), Out(FARRUKH, kind="stop_confirm", lang="en", key="farmers.delete.done")],
         erased=("farrukh",), memberships={"farrukh": ("VOS03", "active")}),
    Case("DELETE <code> for one profile of a shared phone: the phone stays, not suppressed (ru)",
         [Post(at("d1", HOUSEHOLD, "{dilshod} DELETE")), Post(at("d2", HOUSEHOLD, "{dilshod} DELETE {code}"))],
         [Out(HOUSEHOLD, status="withdrawn"),
          Out(HOUSEHOLD, kind="stop_confirm", lang="ru", key="farmers.delete.done")],
         erased=("dilshod",), suppressed=()),
    Case("already deleted: the erased code is no profile of the shared phone (tg)",
         [Post(at("d1", HOUSEHOLD, "{dilshod} DELETE")), Post(at("d2", HOUSEHOLD, "{dilshod} DELETE {code}")),
          Post(at("d3", HOUSEHOLD, "{dilshod} DELETE"))],
         [Out(HOUSEHOLD, status="withdrawn"),
          Out(HOUSEHOLD, kind="stop_confirm", lang="ru", key="farmers.delete.done"),
          Out(HOUSEHOLD, lang="tg", key="sms.code_not_here", params={"code": "{dilshod}"})],
         erased=("dilshod",)),
    Case("already deleted: DELETE again from the erased phone (ru)",
         [Post(at("d1", ZARINA, "DELETE")), Post(at("d2", ZARINA, "DELETE {code}")),
          Post(at("d3", ZARINA, "УДАЛИТЬ"))],
         [Out("", status="withdrawn"), Out(ZARINA, kind="stop_confirm", lang="uz", key="farmers.delete.done"),
          Out(ZARINA, lang="ru", key="farmers.delete.nothing")],
         erased=("zarina",), memberships={"zarina": None}),
]
