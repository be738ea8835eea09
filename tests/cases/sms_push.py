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

from dataclasses import dataclass, field, replace

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
    """One message; on the shared HOUSEHOLD phone the replies and tips for the person who wrote
    (Dilshod with his code, else Gulnora, the main profile) name that person."""
    if sender == HOUSEHOLD:
        who = "Dilshod" if "{dilshod}" in text else "Gulnora"
        out = [replace(o, named=who) if o.to == HOUSEHOLD and o.kind in ("reply", "tip", "notice") and not o.named
               else o for o in out]
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
    # crop words as people write them (issue 9 item 2)
    one("ru: an inflected crop, ПОСЕВ риса вчера", HOUSEHOLD, "{dilshod} ПОСЕВ риса вчера",
        [tip(HOUSEHOLD, "ru", "rice_sri.nursery"), planted(HOUSEHOLD, "ru", "Рис", "посев", "{yesterday}", "{in4}")],
        cycles={("dilshod", "rice"): ("{yesterday}", None, 1)}),
    one("tg: the object marker -ро, кишт шолиро", HOUSEHOLD, "кишт шолиро Т {d3}",
        [tip(HOUSEHOLD, "tg", "rice_sri.moist_late"), planted(HOUSEHOLD, "tg", "Шолӣ", "шинондан", "{d3}", "{in4}")],
        cycles={("gulnora", "rice"): (None, "{d3}", 1)}),
    one("uz: a plural crop, KO'CHAT pomidorlar", ZARINA, "KO'CHAT pomidorlar {d3_full}",
        [planted(ZARINA, "uz", "Pomidor", "ko'chirish", "{d3}", "{in11}")],
        cycles={("zarina", "tomato"): (None, "{d3}", 1)}),
    one("en: a plural crop with punctuation, PLANTED onions!", FARRUKH, "PLANTED: onions!",
        [planted(FARRUKH, "en", "Onion", "sown", "{today}", "{in21}")],
        cycles={("farrukh", "onion"): ("{today}", None, 1)}),
    one("en: a typo in the crop gets did you mean, nothing recorded", FARRUKH, "PLANTED oniun",
        [Out(FARRUKH, lang="en", key="sms.did_you_mean", params={"word": "oniun", "guess": "Onion"})]),
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
    one("PRICES onion still lists prices", FARRUKH, "PRICES onion", [Out(FARRUKH, has=("\nVose 1.40 +0.10", "\nKulob 1.35"))]),
    Case("Russian on then off", [(HOUSEHOLD, "{dilshod} ЦЕНЫ ВКЛ"), (HOUSEHOLD, "{dilshod} цены выкл")],
         [Out(HOUSEHOLD, lang="ru", key="push.prices_on", named="Dilshod"),
          Out(HOUSEHOLD, lang="ru", key="push.prices_off", named="Dilshod")]),
    Case("PRICES ON twice is one subscription", [(ZARINA, "narx obuna"), (ZARINA, "PRICES ON")],
         [Out(ZARINA, lang="uz", key="push.prices_on"), Out(ZARINA, lang="uz", key="push.prices_on")],
         subscribed={"zarina"}),
    one("PRICES ON from an unknown phone (ON is an English word)", NEW, "PRICES ON",
        [Out(NEW, lang="en", key="err.not_registered")]),

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
        [Out(FARRUKH, lang="en", has=("Mars", "Vose centre"))]),

    # ---- PRICEALERT OFF [crop]: cancel the alerts (also by USSD)
    Case("PRICEALERT OFF cancels every alert, in English",
         [(FARRUKH, "PRICEALERT onion above 2.50"), (FARRUKH, "PRICEALERT OFF")],
         [Out(FARRUKH, lang="en", has=("at or above 2.50",)),
          Out(FARRUKH, lang="en", key="push.pricealert_off", params={"count": 1, "crop": "all crops"})]),
    Case("PRICEALERT <crop> OFF cancels that crop's alert, in Tajik",
         [(HOUSEHOLD, "НАРХ ОГОҲӢ пиёз поён 1,20"), (HOUSEHOLD, "НАРХ ОГОҲӢ пиёз бекор")],
         [Out(HOUSEHOLD, lang="tg", has=("1,20",)),
          Out(HOUSEHOLD, lang="tg", key="push.pricealert_off", named="Gulnora", params={"count": 1, "crop": "Пиёз"})]),
    Case("PRICEALERT OFF in Russian, for the second profile of a shared phone",
         [(HOUSEHOLD, "{dilshod} ЦЕНА СИГНАЛ лук выше 2"), (HOUSEHOLD, "{dilshod} цена сигнал отмена")],
         [Out(HOUSEHOLD, lang="ru", has=("2,00",)),
          Out(HOUSEHOLD, lang="ru", key="push.pricealert_off", named="Dilshod",
              params={"count": 1, "crop": "все культуры"})]),
    Case("PRICEALERT OFF in Uzbek keeps the other crop's alert",
         [(ZARINA, "NARX XABAR piyoz 2"), (ZARINA, "NARX XABAR pomidor past 1"), (ZARINA, "NARX XABAR piyoz bekor")],
         [Out(ZARINA, lang="uz", has=("2.00",)), Out(ZARINA, lang="uz", has=("1.00",)),
          Out(ZARINA, lang="uz", key="push.pricealert_off", params={"count": 1, "crop": "Piyoz"})],
         alerts={("zarina", "tomato"): ("below", 100, None)}),
    one("PRICEALERT OFF without an alert", FARRUKH, "PRICEALERT OFF",
        [Out(FARRUKH, lang="en", key="push.pricealert_off_none", params={"count": 0, "crop": "all crops"})]),

    # ---- ALERT (staff): preview with a code, then ALERT OK <code>
    one("ALERT previews recipients, cost, the place by name and who gets the text as typed", STAFF,
        "ALERT vose Hail tonight, cover seedlings",
        [Out(STAFF, lang="tg", has=("Огоҳӣ Восеъ: 3 нафар", "3 SMS", "(матни шумо: tg 1, uz 1, en 1)", "~0,30",
                                    "ALERT OK {code}"), lacks=("VOSE",))]),
    Case("ALERT OK sends the previewed text, commas kept, the place in the farmer's language",
         [(STAFF, "ALERT vose Hail tonight, cover seedlings"), (STAFF, "ALERT OK {code}")],
         [Out(STAFF, lang="tg", has=("Восеъ",)),
          Out(STAFF, lang="tg", key="push.alert_sent", params={"count": 3, "segments": 3, "cost": "0,30"})],
         broadcasts=[("alert", "scheduled", {"districts": ["vose"]}, "ALERT Vose': Hail tonight, cover seedlings")]),
    Case("a new ALERT replaces the preview; the old code is refused",
         [(STAFF, "ALERT vose Hail"), (STAFF, "ALERT kulob Frost"), (STAFF, "ALERT OK {code}")],
         [Out(STAFF, has=("Восеъ",)), Out(STAFF, has=("Кӯлоб", "1 нафар")),
          Out(STAFF, key="push.alert_sent", lang="tg", params={"count": 1, "segments": 1, "cost": "0,10"})],
         broadcasts=[("alert", "scheduled", {"districts": ["kulob"]}, "ALERT Kulob: Frost")]),
    # the audience narrowed by crop and gender words closed by a colon
    one("ALERT with a crop: the preview names it", STAFF, "ALERT vose onion: Thrips seen, spray now",
        [Out(STAFF, lang="tg", has=("Огоҳӣ Восеъ, Пиёз: 3 нафар", "(матни шумо: tg 1, uz 1, en 1)"))]),
    Case("ALERT with a crop, confirmed: the audience keeps the crop",
         [(STAFF, "ALERT vose onion: Thrips seen"), (STAFF, "ALERT OK {code}")],
         [Out(STAFF, lang="tg", has=("Пиёз",)), Out(STAFF, lang="tg", key="push.alert_sent",
                                                    params={"count": 3, "segments": 3, "cost": "0,30"})],
         broadcasts=[("alert", "scheduled", {"districts": ["vose"], "crops": ["onion"]}, "ALERT Vose': Thrips seen")]),
    one("ALERT to a crop nobody there grows", STAFF, "ALERT vose tomato: Blight",
        [Out(STAFF, lang="tg", key="push.alert_nobody", params={"target": "vose"})]),
    Case("a text starting with a crop name without a colon goes to the whole target",
         [(STAFF, "ALERT vose Onion thrips seen"), (STAFF, "ALERT OK {code}")],
         [Out(STAFF, lang="tg", has=("Огоҳӣ Восеъ: 3 нафар",)), Out(STAFF, lang="tg", key="push.alert_sent",
                                                                    params={"count": 3, "segments": 3,
                                                                            "cost": "0,30"})],
         broadcasts=[("alert", "scheduled", {"districts": ["vose"]}, "ALERT Vose': Onion thrips seen")]),
    Case("ALERT to women, confirmed: only the women of the target",
         [(STAFF, "ALERT vose women: Training at the PG tomorrow"), (STAFF, "ALERT OK {code}")],
         [Out(STAFF, lang="tg", has=("Огоҳӣ Восеъ, занон: 1 нафар", "(матни шумо: uz 1)")),
          Out(STAFF, lang="tg", key="push.alert_sent", params={"count": 1, "segments": 1, "cost": "0,10"})],
         broadcasts=[("alert", "scheduled", {"districts": ["vose"], "genders": ["female"]},
                      "ALERT Vose': Training at the PG tomorrow")]),
    one("ОПОВЕЩЕНИЕ to men growing onion, in Russian", STAFF, "ОПОВЕЩЕНИЕ восе лук мужчины: Град вечером",
        [Out(STAFF, lang="ru", has=("Оповещение Восе, Лук, мужчины: 2 чел.", "(ваш текст: tg 1, en 1)",
                                    "ALERT OK {code}"))]),
    one("OGOHLANTIRISH to women, in Uzbek", STAFF, "OGOHLANTIRISH vose ayollar: Ertaga trening",
        [Out(STAFF, lang="uz", has=("Ogohlantirish Vose, ayollar: 1 kishi", "(matningiz: uz 1)"))]),
    one("WARNING to men, in English", STAFF, "WARNING vose men: Frost tonight",
        [Out(STAFF, lang="en", has=("Alert Vose', men: 2 people", "(your text: tg 1, en 1)"))]),
    # versions per language: each marked language gets its own, the others the text as typed or Tajik
    one("ALERT with two versions: the preview says which language gets which", STAFF,
        "ALERT vose tg: Имшаб жола меборад ru: Сегодня ночью град",
        [Out(STAFF, lang="tg", has=("Огоҳӣ Восеъ: 3 нафар", "(tg: tg 1, uz 1, en 1)"))]),
    one("ALERT with the typed text and a Tajik version", STAFF, "ALERT vose Hail tonight tg: Имшаб жола меборад",
        [Out(STAFF, lang="tg", has=("(tg: tg 1; матни шумо: uz 1, en 1)",))]),
    one("ОПОВЕЩЕНИЕ with versions but no Tajik one: the preview says Tajik speakers get the first", STAFF,
        "ОПОВЕЩЕНИЕ восе ru: Град uz: Do'l en: Hail",
        [Out(STAFF, lang="ru", has=("Оповещение Восе: 3 чел.", "(ru: tg 1; uz: uz 1; en: en 1)"))]),
    one("WARNING with versions, in English", STAFF, "WARNING vose onion: Hail tonight uz: Bugun kechasi do'l",
        [Out(STAFF, lang="en", has=("Alert Vose', Onion: 3 people", "(your text: tg 1, en 1; uz: uz 1)"))]),
    Case("ALERT OK with versions sends each its own",
         [(STAFF, "ALERT vose Hail tonight tg: Имшаб жола меборад"), (STAFF, "ALERT OK {code}")],
         [Out(STAFF, lang="tg", has=("tg: tg 1",)),
          Out(STAFF, lang="tg", key="push.alert_sent", params={"count": 3, "segments": 3, "cost": "0,30"})],
         broadcasts=[("alert", "scheduled", {"districts": ["vose"]}, "ALERT Vose': Hail tonight")]),
    one("a colon after the place is not part of it", STAFF, "ALERT vose: Hail tonight",
        [Out(STAFF, lang="tg", has=("Огоҳӣ Восеъ: 3 нафар", "(матни шумо: tg 1, uz 1, en 1)"))]),
    one("ALERT with only an empty marker", STAFF, "ALERT vose tg:", [Out(STAFF, lang="tg", key="push.alert_usage")]),
    Case("a wrong code sends nothing", [(STAFF, "ALERT vose Hail"), (STAFF, "ALERT OK 1")],
         [Out(STAFF, has=("Восеъ",)), Out(STAFF, lang="tg", key="push.alert_code_unknown", params={"code": "1"})]),
    one("ALERT OK without a preview", STAFF, "ОПОВЕЩЕНИЕ ДА 1234",
        [Out(STAFF, lang="ru", key="push.alert_code_unknown", params={"code": "1234"})]),
    one("ALERT from a farmer's phone", FARRUKH, "ALERT vose Hail", [Out(FARRUKH, lang="en", key="push.not_staff")]),
    one("ALERT OK from a farmer's phone", FARRUKH, "ALERT OK 1234", [Out(FARRUKH, lang="en", key="push.not_staff")]),
    one("ALERT to an unknown place", STAFF, "ALERT Mars Hail",
        [Out(STAFF, lang="tg", key="push.alert_unknown_target", params={"target": "Mars"})]),
    one("ALERT without a text", STAFF, "ALERT vose", [Out(STAFF, lang="tg", key="push.alert_usage")]),
    one("ALERT to a place with nobody", STAFF, "ALERT jomi Hail",
        [Out(STAFF, lang="tg", key="push.alert_nobody", params={"target": "jomi"})]),
]
