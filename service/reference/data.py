"""Reference data of the service area, loaded once into an empty database.

Sources: districts, jamoats, crops and units from ``docs/khatlon.md``
(§2, §3, §5); clusters and collection centres from ``docs/programme.md`` (§5, §6).
Cyrillic spellings of jamoats marked there as gathered lists are unverified.
Each jamoat or town also gets a village of the same name (its centre), so a
farmer can register before staff have entered the smaller villages.
"""
from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from service.reference.crops import Crop
from service.reference.geography import District, Jamoat, Village

DISTRICTS = {
    "kulob": ({"tg": "Кӯлоб", "ru": "Куляб", "uz": "Ko'lob", "en": "Kulob"}, ["Kulyab", "Kŭlob", "Кулоб"]),
    "jomi": ({"tg": "Ҷомӣ", "ru": "Джами", "uz": "Jomiy", "en": "Jomi"},
             ["Abdurahmoni Jomi", "Абдураҳмони Ҷомӣ", "Абдурахмана Джами", "Kuybyshev", "Hojamaston"]),
    "vose": ({"tg": "Восеъ", "ru": "Восе", "uz": "Vose", "en": "Vose'"}, ["Vose", "Vosé", "Aral"]),
    "balkhi": ({"tg": "Балхӣ", "ru": "Балхи", "uz": "Balxiy", "en": "Balkhi"},
               ["Jaloliddini Balkhi", "Ҷалолиддини Балхӣ", "Джалолиддина Балхи", "Kolkhozobod",
                "Kolkhozabad", "Rumi", "Kaganovichabad"]),
}

# (district, slug): (tg, ru, Latin). Cyrillic spellings unverified.
JAMOATS = {
    ("kulob", "kulob"): ("Кӯлоб", "Куляб", "Kulob"),
    ("kulob", "dahana"): ("Даҳана", "Дахана", "Dahana"),
    ("kulob", "zarbdor"): ("Зарбдор", "Зарбдор", "Zarbdor"),
    ("kulob", "ziraki"): ("Зиракӣ", "Зираки", "Ziraki"),
    ("jomi", "jomi"): ("Ҷомӣ", "Джами", "Jomi"),
    ("jomi", "aral"): ("Арал", "Арал", "Aral"),
    ("jomi", "dusti"): ("Дӯстӣ", "Дусти", "Dusti"),
    ("jomi", "iftikhor"): ("Ифтихор", "Ифтихор", "Iftikhor"),
    ("jomi", "ittifoq"): ("Иттифоқ", "Иттифок", "Ittifoq"),
    ("jomi", "kalinin"): ("Калинин", "Калинин", "Kalinin"),
    ("jomi", "tojikiston50"): ("50-солагии Тоҷикистон", "50-летия Таджикистана", "50-solagii Tojikiston"),
    ("jomi", "yakkatut"): ("Яккатут", "Яккатут", "Yakkatut"),
    ("vose", "guliston"): ("Гулистон", "Гулистон", "Guliston"),
    ("balkhi", "balkh"): ("Балх", "Балх", "Balkh"),
    ("balkhi", "frunze"): ("Фрунзе", "Фрунзе", "Frunze"),
    ("balkhi", "kalinin"): ("Калинин", "Калинин", "Kalinin"),
    ("balkhi", "madaniyat"): ("Маданият", "Маданият", "Madaniyat"),
    ("balkhi", "navobod"): ("Навобод", "Навобод", "Navobod"),
    ("balkhi", "tughalon"): ("Тугалон", "Тугалон", "Tughalon"),
    ("balkhi", "uzun"): ("Узун", "Узун", "Uzun"),
    ("balkhi", "orzu"): ("Орзу", "Орзу", "Orzu"),
}

# Villages known besides the jamoat centres: (jamoat id, tg, ru, Latin)
VILLAGES = [("kulob.dahana", "Ёхсучиён", "Яхсучиён", "Yokhsuchiyon")]

CROPS = {
    "tomato": ({"tg": "Помидор", "ru": "Томат", "uz": "Pomidor", "en": "Tomato"},
               ["помидор", "томат", "pomidor", "tomat", "помидорҳо"]),
    "onion": ({"tg": "Пиёз", "ru": "Лук", "uz": "Piyoz", "en": "Onion"},
              ["пиёз", "лук", "piyoz", "luk", "piyaz", "пияз"]),
    "rice": ({"tg": "Шолӣ", "ru": "Рис", "uz": "Sholi", "en": "Rice"},
             ["шолӣ", "шоли", "биринҷ", "биринч", "рис", "sholi", "guruch", "гуруч", "ris"]),
}

# Plausible market prices, diram per kg (low, high), for a crop with no report yet at a market:
# a price outside needs the staff member's confirmation (``service.prices.market.check_price``).
# Wide bands around the dated prices and demo curves of docs/khatlon.md §6 and §13 (Dehqon).
PRICE_RANGES = {"tomato": (100, 1000), "onion": (50, 500), "rice": (300, 1500)}

CLUSTERS = {
    "tomato.kulob": ("tomato", "kulob"),
    "tomato.jomi": ("tomato", "jomi"),
    "onion.vose": ("onion", "vose"),
    "rice.balkhi": ("rice", "balkhi"),
}

# code: (district, kind, {lang: (full name, short name)}). One pattern per language:
# markets "Бозори <town>" (tg), "Рынок <town, genitive>" (ru), "<town> bozori" (uz), "<town> market" (en);
# collection centres "Маркази ҷамъоварии <town>", "Пункт сбора <town, genitive>", "<town> yig'ish markazi",
# "<town> collection centre". The short name (tight screens: USSD and SMS price lists) is the town
# for a market and "<centre> <town>" for a centre ("Маркази Восеъ", "Пункт Восе", "Vose markazi",
# "Vose centre"), so a district's market and centre stay apart. Every cluster has a collection centre:
# DAHANA and VOSECC are the programme's (docs/programme.md §6); JOMICC and BALKHCC stand for the centres of
# the Jomi tomato and Balkhi rice clusters, which the case study does not describe (Dehqon placeholders,
# docs/khatlon.md §4).
MARKETS = {
    "KULOB": ("kulob", "market", {"tg": ("Бозори Кӯлоб", "Кӯлоб"), "ru": ("Рынок Куляба", "Куляб"),
                                  "uz": ("Ko'lob bozori", "Ko'lob"), "en": ("Kulob market", "Kulob")}),
    "DAHANA": ("kulob", "collection_centre", {
        "tg": ("Маркази ҷамъоварии Даҳана", "Маркази Даҳана"), "ru": ("Пункт сбора Даханы", "Пункт Даханы"),
        "uz": ("Dahana yig'ish markazi", "Dahana markazi"), "en": ("Dahana collection centre", "Dahana centre")}),
    "JOMI": ("jomi", "market", {"tg": ("Бозори Ҷомӣ", "Ҷомӣ"), "ru": ("Рынок Джами", "Джами"),
                                "uz": ("Jomiy bozori", "Jomiy"), "en": ("Jomi market", "Jomi")}),
    "JOMICC": ("jomi", "collection_centre", {
        "tg": ("Маркази ҷамъоварии Ҷомӣ", "Маркази Ҷомӣ"), "ru": ("Пункт сбора Джами", "Пункт Джами"),
        "uz": ("Jomiy yig'ish markazi", "Jomiy markazi"), "en": ("Jomi collection centre", "Jomi centre")}),
    "VOSE": ("vose", "market", {"tg": ("Бозори Восеъ", "Восеъ"), "ru": ("Рынок Восе", "Восе"),
                                "uz": ("Vose bozori", "Vose"), "en": ("Vose market", "Vose")}),
    "VOSECC": ("vose", "collection_centre", {
        "tg": ("Маркази ҷамъоварии Восеъ", "Маркази Восеъ"), "ru": ("Пункт сбора Восе", "Пункт Восе"),
        "uz": ("Vose yig'ish markazi", "Vose markazi"), "en": ("Vose collection centre", "Vose centre")}),
    "BALKH": ("balkhi", "market", {"tg": ("Бозори Балх", "Балх"), "ru": ("Рынок Балха", "Балх"),
                                   "uz": ("Balx bozori", "Balx"), "en": ("Balkh market", "Balkh")}),
    "BALKHCC": ("balkhi", "collection_centre", {
        "tg": ("Маркази ҷамъоварии Балх", "Маркази Балх"), "ru": ("Пункт сбора Балха", "Пункт Балха"),
        "uz": ("Balx yig'ish markazi", "Balx markazi"), "en": ("Balkh collection centre", "Balkh centre")}),
}


def market_names(names: dict) -> dict:
    """A market's ``names`` column from ``{lang: (full, short)}``: ``{lang: full, "<lang>_short": short}``
    (``service.prices.market.Market.name``)."""
    out = {lang: full for lang, (full, _) in names.items()}
    out.update({f"{lang}_short": short for lang, (_, short) in names.items()})
    return out


def cluster_names(crop: str, district: str) -> dict:
    """The four-language name of the commodity cluster of ``crop`` in ``district``."""
    c, d = CROPS[crop][0], DISTRICTS[district][0]
    return {lang: f"{c[lang]} - {d[lang]}" for lang in ("tg", "ru", "uz", "en")}


#: the reference tables the farmer menus cannot answer without (the crops of the price and advice
#: questions, the districts of registration, the markets of the prices), with what a row is
REQUIRED = (("crop", "crops"), ("district", "districts"), ("market", "markets"))


def missing(connection) -> list[str]:
    """What of :data:`REQUIRED` has no row in the database of ``connection`` (a SQLAlchemy
    ``Connection`` or ``Session`` on a schema at the newest revision): e.g. ``["crops", "markets"]``;
    empty when the reference data is there."""
    return [what for table, what in REQUIRED
            if connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is None]


def is_loaded(session: Session) -> bool:
    """True when the districts are there (the reference data was loaded)."""
    return (session.scalar(select(func.count()).select_from(District)) or 0) > 0


def load(session: Session) -> bool:
    """Insert the districts, jamoats, villages and crops into an empty database; returns False when
    already loaded. The commodity clusters (:data:`CLUSTERS`) and markets (:data:`MARKETS`) are
    inserted by their features (``service.groups.cluster.load``, ``service.prices.market.load``)."""
    if is_loaded(session):
        return False
    for did, (names, aliases) in DISTRICTS.items():
        session.add(District(id=did, names=names, aliases=aliases))
    for cid, (names, aliases) in CROPS.items():
        session.add(Crop(id=cid, names=names, aliases=aliases))
    session.flush()
    for (did, slug), (tg, ru, latin) in JAMOATS.items():
        jid = f"{did}.{slug}"
        names = {"tg": tg, "ru": ru, "uz": latin, "en": latin}
        session.add(Jamoat(id=jid, district_id=did, names=names))
        session.add(Village(jamoat_id=jid, district_id=did, names=dict(names)))
    for jid, tg, ru, latin in VILLAGES:
        session.add(Village(jamoat_id=jid, district_id=jid.split(".")[0],
                            names={"tg": tg, "ru": ru, "uz": latin, "en": latin}))
    session.flush()
    return True
