"""Names as people write them (``service/reference/words.py``): stemming, fillers, spellings across
scripts, and the thresholds that decide between acting, asking "did you mean" and not found.

The SMS replies these lead to are rows of ``tests/cases/sms.py``, ``advice.py``, ``sms_push.py`` and
``orders.py`` (labels with "as people write them", "did you mean", "inflected", "plural", "filler").
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service import demo
from service.errors import Refusal
from service.farmers.sms import find_village
from service.prices.market import Market, match_market
from service.reference import data, words
from service.reference.crops import Crop, find_crop, match_crop
from service.reference.geography import District, Village, find_district

CROPS = [(crop_id, [crop_id, *names.values(), *aliases]) for crop_id, (names, aliases) in data.CROPS.items()]
DEMO_VILLAGES = [(latin, [tg, ru, latin]) for tg, ru, latin in demo.MADE_UP_VILLAGES]


def decided(text: str, candidates) -> tuple[str | None, bool]:
    best, sure = words.decide(words.rank(text, candidates))
    return (best.value if best else None), sure


@pytest.mark.parametrize("typed, base", [
    ("лука", "лук"), ("луку", "лук"), ("томатов", "томат"), ("помидоры", "помидор"), ("помидоров", "помидор"),
    ("риса", "рис"), ("Гулистане", "Гулистон"),                       # Russian: Snowball's stemmer
    ("пиёзҳо", "пиёз"), ("пиёзро", "пиёз"), ("помидорҳоро", "помидор"), ("шолии", "шолӣ"),  # Tajik endings
    ("piyozlar", "piyoz"), ("pomidorni", "pomidor"),                  # Uzbek endings
    ("tomatoes", "tomato"), ("onions", "onion"),                       # English: Snowball's stemmer
    ("ЛУК!!!", "лук"), ("«Лук»", "Лук"), ("лук,", "лук"),             # punctuation glued to the word
    ("Gulistan", "Guliston"), ("Гулистон", "Guliston"), ("Okteppa", "Oqteppa"), ("Октеппа", "Oqteppa"),
    ("Yoxsuchiyon", "Yokhsuchiyon"), ("pamidor", "pomidor"),           # spellings across scripts
])
def test_a_typed_form_meets_the_name(typed, base):
    assert words.forms(typed) & words.forms(base), (words.forms(typed), words.forms(base))


@pytest.mark.parametrize("typed, other", [("лук", "лак"), ("рис", "рус"), ("Dahana", "Dusti"), ("Balkh", "Uzun")])
def test_different_names_stay_apart(typed, other):
    assert not words.forms(typed) & words.forms(other)


@pytest.mark.parametrize("text", ["на", "the of", "дар", "uchun", "!!!", ""])
def test_filler_words_and_punctuation_name_nothing(text):
    assert words.name_words(text) == [] and words.rank(text, CROPS) == []


def test_fillers_are_dropped_from_phrases():
    assert words.name_words("Цены на лук!") == ["цены", "лук"]
    assert words.name_words("price of onion in Kulob") == ["price", "onion", "kulob"]
    assert words.leading_fillers_dropped(["the", "!", "tomatoes", "of", "2"]) == ["tomatoes", "of", "2"]


@pytest.mark.parametrize("text, crop", [("лука", "onion"), ("на лук", "onion"), ("помидоры", "tomato"),
                                        ("шолиро", "rice"), ("pomidorlar", "tomato"), ("tomatoes", "tomato"),
                                        ("pom", "tomato"), ("pomidr", "tomato")])
def test_sure_crop_matches_are_acted_on(text, crop):
    assert decided(text, CROPS) == (crop, True)


@pytest.mark.parametrize("text, crop", [("oniun", "onion"), ("помадор", "tomato"), ("пиюз", "onion"),
                                        ("piyos", "onion"), ("tomado", "tomato")])
def test_near_crop_matches_are_asked_about(text, crop):
    ranked = words.rank(text, CROPS)
    assert words.ASK <= ranked[0].score < words.SURE
    assert decided(text, CROPS) == (crop, False)


@pytest.mark.parametrize("text", ["mango", "Moscow", "VOSE", "kartoshka", "ло"])
def test_far_words_are_not_found(text):
    assert decided(text, CROPS) == (None, False)


def test_a_short_beginning_of_several_names_is_not_a_match():
    assert decided("pa", [("a", ["Pamir"]), ("b", ["Pakhtakor"])]) == (None, False)
    assert decided("pak", [("a", ["Pamir"]), ("b", ["Pakhtakor"])]) == ("b", True)


def test_thresholds():
    """Sure at SURE or more with a MARGIN lead, asked between ASK and SURE, a tie is nobody's."""
    def m(value, score):
        return words.Match(value, score, value)
    assert words.decide([m("a", 100), m("b", 100 - words.MARGIN)]) == (m("a", 100), True)
    assert words.decide([m("a", 100), m("b", 100 - words.MARGIN + 1)]) == (m("a", 100), False)
    assert words.decide([m("a", words.SURE)]) == (m("a", words.SURE), True)
    assert words.decide([m("a", words.SURE - 1)]) == (m("a", words.SURE - 1), False)
    assert words.decide([m("a", 80), m("b", 80)]) == (None, False)
    assert words.decide([]) == (None, False)
    assert all(m.score >= words.ASK for m in words.rank("Gulstn", DEMO_VILLAGES + [("Guliston", ["Guliston"])]))


@pytest.mark.parametrize("typed, village", [("Okteppa", "Oqteppa"), ("Октеппа", "Oqteppa"), ("Oqtepa", "Oqteppa"),
                                            ("Гулобод", "Gulobod"), ("Gulabad", "Gulobod"), ("Chorbog", "Chorbogh"),
                                            ("Kukhdoman", "Kuhdoman")])
def test_demo_village_spellings(typed, village):
    assert decided(typed, DEMO_VILLAGES) == (village, True)


def test_no_reference_name_holds_a_filler_word():
    """A filler that is a word of a name would make that name unreachable."""
    names = [n for _, ns in CROPS for n in ns]
    names += [n for names_, aliases in data.DISTRICTS.values() for n in [*names_.values(), *aliases]]
    names += [n for jamoat in data.JAMOATS.values() for n in jamoat]
    names += [n for village in data.VILLAGES for n in village[1:]]
    names += [n for market in data.MARKETS.values() for n in data.market_names(market[2]).values()]
    names += [n for village in demo.MADE_UP_VILLAGES for n in village]
    for name in names:
        for w in name.replace("-", " ").split():
            assert words.word_key(w) not in words.fillers(), (name, w)


def test_no_two_names_of_one_kind_reduce_alike():
    """Two crops (markets, districts, villages) never share a reduced form (which would make each
    unreachable by it); only the two Kalinin jamoats share their name, and REG asks for the district."""
    groups: dict[tuple[str, object], list[str]] = {}
    for crop_id, names in CROPS:
        groups["crop", crop_id] = names
    for district_id, (names, aliases) in data.DISTRICTS.items():
        groups["district", district_id] = [district_id, *names.values(), *aliases]
    for code, market in data.MARKETS.items():
        groups["market", code] = [code, *data.market_names(market[2]).values()]
    for jamoat, names in data.JAMOATS.items():
        groups["village", jamoat] = list(names)
    for village in [*(v[1:] for v in data.VILLAGES), *demo.MADE_UP_VILLAGES]:
        groups["village", village[-1]] = list(village)
    owners: dict[tuple[str, str], set] = {}
    for (kind, value), names in groups.items():
        for form in (f for name in names for f in words.forms(name)):
            owners.setdefault((kind, form), set()).add(value)
    shared = {form: values for (kind, form), values in owners.items() if len(values) > 1}
    assert shared == {"kalinin": {("jomi", "kalinin"), ("balkhi", "kalinin")},
                      "калинин": {("jomi", "kalinin"), ("balkhi", "kalinin")}}


# ---- on the reference data in the database

def test_crops_markets_and_districts_in_the_database(session):
    assert find_crop(session, "цена") is None  # a command word is no crop
    assert match_crop(session, "томатов") == (session.get(Crop, "tomato"), True)
    assert match_crop(session, "oniun") == (session.get(Crop, "onion"), False)
    kulob = session.scalar(select(Market).where(Market.code == "KULOB"))
    assert match_market(session, "рынке Куляба") == (kulob, True)
    assert match_market(session, "Kulop") == (kulob, False)
    assert match_market(session, "на") == (None, False)
    assert find_district(session, "Куляба") == [session.get(District, "kulob")]


@pytest.mark.parametrize("typed", ["Okteppa", "Октеппа", "Оқтеппа", "Oqteppa"])
def test_a_village_added_by_staff_is_found_as_people_write_it(session, typed):
    village = Village(jamoat_id="vose.guliston", district_id="vose",
                      names={"tg": "Оқтеппа", "ru": "Октеппа", "uz": "Oqteppa", "en": "Oqteppa"})
    session.add(village)
    session.flush()
    assert find_village(session, [typed], "tg") == village


def test_a_near_village_is_asked_about_in_the_farmers_language(session):
    with pytest.raises(Refusal) as raised:
        find_village(session, ["Gulstn"], "ru")
    assert raised.value.key == "sms.did_you_mean" and raised.value.params == {"word": "Gulstn", "guess": "Гулистон"}
    with pytest.raises(Refusal) as raised:
        find_village(session, ["на"], "ru")
    assert raised.value.key == "sms.reg.place"
