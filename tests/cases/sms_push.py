"""Push-side SMS keyword cases: AT inbound requests and what they must answer and change.

Run by ``tests/test_sms_push.py`` on the world of ``tests/cases/sms.py`` (``WORLD``:
Gulnora tg and Dilshod ru on HOUSEHOLD, Rustam tg, Zarina uz and Farrukh en in
Guliston, Vose; onion prices at VOSE and KULOB). In texts and expected values:
``{gulnora}`` etc. are member codes; ``{today}``, ``{yesterday}``, ``{d2}``, ``{d3}`` ...
(days ago) and ``{in1}``, ``{in2}`` ... (days ahead) are local days as the
replies show them; ``{d3_full}`` ``{tomorrow_full}`` are ``dd.mm.yyyy``,
``{d5_slash}`` ``d/m``, ``{d5_iso}`` ``yyyy-mm-dd``; ``{code}`` is
the code of the sender's latest ALERT preview.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cases.sms import FARRUKH, HOUSEHOLD, NEW, STAFF, ZARINA, Out


@dataclass
class Case:
    """``posts``: (sender, text) posted in order; ``out``: every new outbox row, in order.
    Effects after: ``cycles`` {(profile, crop): (sown, transplanted, pending reminders)} with
    day placeholders or None; ``subscribed`` the profiles subscribed to the digest;
    ``alerts`` {(profile, crop): (direction, diram, market code or None)};
    ``broadcasts`` [(kind, status, audience, English text)]; every other such row must not exist."""

    label: str
    posts: list[tuple[str, str]]
    out: list[Out] = field(default_factory=list)
    cycles: dict = field(default_factory=dict)
    subscribed: set = field(default_factory=set)
    alerts: dict = field(default_factory=dict)
    broadcasts: list = field(default_factory=list)


def one(label: str, sender: str, text: str, out: list[Out], **effects) -> Case:
    return Case(label, [(sender, text)], out, **effects)


def planted(to: str, lang: str, crop: str, what: str, date: str, next_: str | None) -> Out:
    if next_ is None:
        return Out(to, lang=lang, key="push.planted", params={"crop": crop, "what": what, "date": date})
    return Out(to, lang=lang, key="push.planted_next", params={"crop": crop, "what": what, "date": date, "next": next_})


def tip(to: str, lang: str, key: str) -> Out:
    return Out(to, kind="tip", lang=lang, key=f"campaigns.{key}")


CASES: list[Case] = [
    # ---- PLANTED: sowing dates, defaults, catch-up, corrections
    one("PLANTED without a date is today", FARRUKH, "PLANTED onion",
        [planted(FARRUKH, "en", "Onion", "sown", "{today}", "{in21}")],
        cycles={("farrukh", "onion"): ("{today}", None, 1)}),
    one("Russian words, yesterday: the nursery tip as the one catch-up", HOUSEHOLD, "{dilshod} ПОСЕВ рис вчера",
        [tip(HOUSEHOLD, "ru", "rice_sri.nursery"), planted(HOUSEHOLD, "ru", "Рис", "посев", "{yesterday}", "{in4}")],
        cycles={("dilshod", "rice"): ("{yesterday}", None, 1)}),
    one("Tajik, transplanting with T three days ago: the current step only", HOUSEHOLD, "кишт шолӣ Т {d3}",
        [tip(HOUSEHOLD, "tg", "rice_sri.moist_late"), planted(HOUSEHOLD, "tg", "Шолӣ", "шинондан", "{d3}", "{in4}")],
        cycles={("gulnora", "rice"): (None, "{d3}", 1)}),
    one("Cyrillic Т from a Russian keyboard is the transplant word", HOUSEHOLD, "{dilshod} ПОСЕВ рис т {d3}",
        [tip(HOUSEHOLD, "ru", "rice_sri.moist_late"), planted(HOUSEHOLD, "ru", "Рис", "пересадка", "{d3}", "{in4}")],
        cycles={("dilshod", "rice"): (None, "{d3}", 1)}),
    one("Uzbek transplant keyword with a full date: the transplanting is done, no tip", ZARINA,
        "KO'CHAT pomidor {d3_full}",
        [planted(ZARINA, "uz", "Pomidor", "ko'chirish", "{d3}", "{in11}")],
        cycles={("zarina", "tomato"): (None, "{d3}", 1)}),
    one("date with a slash and no leading zero", FARRUKH, "planted onion {d5_slash}",
        [planted(FARRUKH, "en", "Onion", "sown", "{d5}", "{in16}")],
        cycles={("farrukh", "onion"): ("{d5}", None, 1)}),
    one("ISO date, crop after the date", FARRUKH, "PLANTED {d5_iso} onion",
        [planted(FARRUKH, "en", "Onion", "sown", "{d5}", "{in16}")],
        cycles={("farrukh", "onion"): ("{d5}", None, 1)}),
    Case("a second report corrects the open cycle", [(FARRUKH, "PLANTED onion {d3}"), (FARRUKH, "PLANTED onion")],
         [planted(FARRUKH, "en", "Onion", "sown", "{d3}", "{in18}"),
          planted(FARRUKH, "en", "Onion", "sown", "{today}", "{in21}")],
         cycles={("farrukh", "onion"): ("{today}", None, 1)}),
    Case("sowing then transplanting fills the same cycle",
         [(FARRUKH, "PLANTED rice {d3}"), (FARRUKH, "TRANSPLANTED rice {d2}")],
         [tip(FARRUKH, "en", "rice_sri.nursery"), planted(FARRUKH, "en", "Rice", "sown", "{d3}", "{in2}"),
          tip(FARRUKH, "en", "rice_sri.moist_late"), planted(FARRUKH, "en", "Rice", "transplanted", "{d2}", "{in2}")],
         cycles={("farrukh", "rice"): ("{d3}", "{d2}", 1)}),

    # ---- catch-up reminders: a late report gets at most one tip, the one that fits now
    # (docs/crop-calendars.md §9; the days are chosen so that no row depends on the hour it runs at)
    one("en: sowing reported 12 days late: transplant now, not a post-transplant tip", FARRUKH, "PLANTED rice {d12}",
        [tip(FARRUKH, "en", "rice_sri.transplant_late"), planted(FARRUKH, "en", "Rice", "sown", "{d12}", "{in5}")],
        cycles={("farrukh", "rice"): ("{d12}", None, 1)}),
    one("ru: sowing reported 12 days late: transplant now", HOUSEHOLD, "{dilshod} ПОСЕВ рис {d12}",
        [tip(HOUSEHOLD, "ru", "rice_sri.transplant_late"), planted(HOUSEHOLD, "ru", "Рис", "посев", "{d12}", "{in5}")],
        cycles={("dilshod", "rice"): ("{d12}", None, 1)}),
    one("ru: transplanting reported two days late: keep moist, not 'transplant today'", HOUSEHOLD,
        "{dilshod} ПОСЕВ рис т {d2}",
        [tip(HOUSEHOLD, "ru", "rice_sri.moist_late"), planted(HOUSEHOLD, "ru", "Рис", "пересадка", "{d2}", "{in5}")],
        cycles={("dilshod", "rice"): (None, "{d2}", 1)}),
    one("tg: tomato transplanted yesterday: no 'time to transplant'", HOUSEHOLD, "кишт помидор т дирӯз",
        [planted(HOUSEHOLD, "tg", "Помидор", "шинондан", "{yesterday}", "{in13}")],
        cycles={("gulnora", "tomato"): (None, "{yesterday}", 1)}),
    one("tg: sowing reported 12 days late: transplant now", HOUSEHOLD, "кишт шолӣ {d12}",
        [tip(HOUSEHOLD, "tg", "rice_sri.transplant_late"), planted(HOUSEHOLD, "tg", "Шолӣ", "кишт", "{d12}", "{in5}")],
        cycles={("gulnora", "rice"): ("{d12}", None, 1)}),
    one("uz: nine days after sowing: drain the nursery, transplant in 1-2 days", ZARINA, "EKDIM sholi {d9}",
        [tip(ZARINA, "uz", "rice_sri.drain_nursery_late"), planted(ZARINA, "uz", "Sholi", "ekish", "{d9}", "{in1}")],
        cycles={("zarina", "rice"): ("{d9}", None, 1)}),
    one("uz: tomato transplanted three days ago: nothing to catch up", ZARINA, "EKDIM pomidor T {d3}",
        [planted(ZARINA, "uz", "Pomidor", "ko'chirish", "{d3}", "{in11}")],
        cycles={("zarina", "tomato"): (None, "{d3}", 1)}),
    one("en: sowing reported a month late: nothing stale is sent", FARRUKH, "PLANTED rice {d29}",
        [planted(FARRUKH, "en", "Rice", "sown", "{d29}", "{in1}")],
        cycles={("farrukh", "rice"): ("{d29}", None, 1)}),

    # ---- PLANTED refusals: nothing recorded
    one("a future date is refused", FARRUKH, "PLANTED onion {tomorrow_full}",
        [Out(FARRUKH, lang="en", key="push.planted_future", params={"date": "{tomorrow_full}"})]),
    one("31.02 is no date", FARRUKH, "PLANTED onion 31.02",
        [Out(FARRUKH, lang="en", key="push.planted_date", params={"date": "31.02"})]),
    one("a number that is no date", FARRUKH, "PLANTED onion 5",
        [Out(FARRUKH, lang="en", key="push.planted_date", params={"date": "5"})]),
    one("PLANTED alone: usage", FARRUKH, "PLANTED", [Out(FARRUKH, lang="en", key="push.planted_usage")]),
    one("two dates: usage", FARRUKH, "PLANTED onion today yesterday",
        [Out(FARRUKH, lang="en", key="push.planted_usage")]),
    one("an unknown crop", FARRUKH, "PLANTED cotton", [Out(FARRUKH, lang="en", has=("cotton", "Onion"))]),
    one("an unregistered phone", NEW, "КИШТ шолӣ", [Out(NEW, lang="tg", key="err.not_registered")]),
    Case("transplanting before sowing is refused", [(FARRUKH, "PLANTED rice {d3}"), (FARRUKH, "PLANTED rice T {d5}")],
         [tip(FARRUKH, "en", "rice_sri.nursery"), planted(FARRUKH, "en", "Rice", "sown", "{d3}", "{in2}"),
          Out(FARRUKH, lang="en", key="push.planted_order")],
         cycles={("farrukh", "rice"): ("{d3}", None, 1)}),

    # ---- leaving a crop
    Case("PLANTED onion OFF drops the pending tips", [(FARRUKH, "PLANTED onion"), (FARRUKH, "PLANTED onion OFF")],
         [planted(FARRUKH, "en", "Onion", "sown", "{today}", "{in21}"),
          Out(FARRUKH, lang="en", key="push.planted_off", params={"crop": "Onion"})],
         cycles={("farrukh", "onion"): ("{today}", None, 0)}),
    one("OFF with nothing pending", HOUSEHOLD, "КИШТ пиёз бекор",
        [Out(HOUSEHOLD, lang="tg", key="push.planted_off_none", params={"crop": "Пиёз"})]),

    # ---- PRICES ON / OFF
    one("PRICES ON subscribes", FARRUKH, "PRICES ON", [Out(FARRUKH, lang="en", key="push.prices_on")],
        subscribed={"farrukh"}),
    one("PRICES onion still lists prices", FARRUKH, "PRICES onion", [Out(FARRUKH, has=("VOSE", "KULOB"))]),
    Case("Russian on then off", [(HOUSEHOLD, "{dilshod} ЦЕНЫ ВКЛ"), (HOUSEHOLD, "{dilshod} цены выкл")],
         [Out(HOUSEHOLD, lang="ru", key="push.prices_on"), Out(HOUSEHOLD, lang="ru", key="push.prices_off")]),
    Case("PRICES ON twice is one subscription", [(ZARINA, "narx obuna"), (ZARINA, "PRICES ON")],
         [Out(ZARINA, lang="uz", key="push.prices_on"), Out(ZARINA, lang="uz", key="push.prices_on")],
         subscribed={"zarina"}),
    one("PRICES ON from an unknown phone", NEW, "PRICES ON", [Out(NEW, lang="en", key="err.not_registered")]),

    # ---- PRICEALERT
    one("PRICEALERT above at any market", FARRUKH, "PRICEALERT onion above 2.50",
        [Out(FARRUKH, lang="en", key="push.pricealert_above",
             params={"crop": "Onion", "threshold": "2.50", "market": "any market"})],
        alerts={("farrukh", "onion"): ("above", 250, None)}),
    one("Tajik, below, one market, with the unit", HOUSEHOLD, "НАРХ ОГОҲӢ пиёз поён 1,20 сомонӣ VOSE",
        [Out(HOUSEHOLD, lang="tg", has=("Пиёз", "1,20", "поён"))],
        alerts={("gulnora", "onion"): ("below", 120, "VOSE")}),
    one("direction attached to the price, market first", FARRUKH, "price alert Vose onion <1.1",
        [Out(FARRUKH, lang="en", has=("at or below 1.10",))],
        alerts={("farrukh", "onion"): ("below", 110, "VOSE")}),
    one("without a direction: above", FARRUKH, "PRICEALERT onion 2", [Out(FARRUKH, lang="en", has=("at or above 2.00",))],
        alerts={("farrukh", "onion"): ("above", 200, None)}),
    one("no price: usage", FARRUKH, "PRICEALERT onion above", [Out(FARRUKH, lang="en", key="push.pricealert_usage")]),
    one("a bad price", FARRUKH, "PRICEALERT onion 0", [Out(FARRUKH, lang="en", key="err.price")]),
    one("an unknown market", FARRUKH, "PRICEALERT onion 2 Mars",
        [Out(FARRUKH, lang="en", has=("Mars", "VOSE"))]),

    # ---- ALERT (staff): preview with a code, then ALERT OK <code>; the staff phone has no profile, so
    # it is answered in the language its text tells (English here; Tajik with the Tajik alert)
    one("ALERT previews recipients, SMS per language and cost", STAFF, "ALERT vose Hail tonight, cover seedlings",
        [Out(STAFF, lang="en", has=("VOSE", "3 people", "3 SMS", "(tg 1x1, uz 1x1, en 1x1)", "about 0.30 TJS",
                                    "ALERT OK {code}"))]),
    one("ALERT in Tajik: the preview in Tajik", STAFF, "ALERT vose Шаб жола меборад, ниҳолҳоро пӯшонед",
        [Out(STAFF, lang="tg", has=("VOSE", "3 нафар", "3 SMS", "~0,30", "ALERT OK {code}"))]),
    Case("ALERT OK sends the previewed text, commas kept",
         [(STAFF, "ALERT vose Hail tonight, cover seedlings"), (STAFF, "ALERT OK {code}")],
         [Out(STAFF, lang="en", has=("VOSE",)),
          Out(STAFF, lang="en", key="push.alert_sent", params={"count": 3, "segments": 3, "cost": "0.30"})],
         broadcasts=[("alert", "scheduled", {"districts": ["vose"]}, "ALERT VOSE: Hail tonight, cover seedlings")]),
    Case("a new ALERT replaces the preview; the old code is refused",
         [(STAFF, "ALERT vose Hail"), (STAFF, "ALERT kulob Frost"), (STAFF, "ALERT OK {code}")],
         [Out(STAFF, has=("VOSE",)), Out(STAFF, has=("KULOB", "1 people")), Out(STAFF, key="push.alert_sent", lang="en",
                                                                               params={"count": 1, "segments": 1,
                                                                                       "cost": "0.10"})],
         broadcasts=[("alert", "scheduled", {"districts": ["kulob"]}, "ALERT KULOB: Frost")]),
    Case("a wrong code sends nothing", [(STAFF, "ALERT vose Hail"), (STAFF, "ALERT OK 1")],
         [Out(STAFF, has=("VOSE",)), Out(STAFF, lang="en", key="push.alert_code_unknown", params={"code": "1"})]),
    one("ALERT OK without a preview", STAFF, "ОПОВЕЩЕНИЕ ДА 1234",
        [Out(STAFF, lang="ru", key="push.alert_code_unknown", params={"code": "1234"})]),
    one("ALERT from a farmer's phone", FARRUKH, "ALERT vose Hail", [Out(FARRUKH, lang="en", key="push.not_staff")]),
    one("ALERT OK from a farmer's phone", FARRUKH, "ALERT OK 1234", [Out(FARRUKH, lang="en", key="push.not_staff")]),
    one("ALERT to an unknown place", STAFF, "ALERT Mars Hail",
        [Out(STAFF, lang="en", key="push.alert_unknown_target", params={"target": "Mars"})]),
    one("ALERT without a text", STAFF, "ALERT vose", [Out(STAFF, lang="en", key="push.alert_usage")]),
    one("ALERT to a place with nobody", STAFF, "ALERT jomi Hail",
        [Out(STAFF, lang="en", key="push.alert_nobody", params={"target": "jomi"})]),
]
