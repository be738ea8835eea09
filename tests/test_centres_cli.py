"""Collection centres: every cluster has one, and staff list, add and edit them by CLI
(``flask --app service centres ...``, ``handlers/cli/centres.py``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from service.farmers import models as farmers
from service.groups.cluster import CommodityCluster
from service.prices.market import Market
from service.reference.geography import Village
from service.sales import joint_sale
from service.sales.joint_sale import CollectionCentre

NAMES = ["--name", "tg=Маркази пиёзи Кӯлоб", "--name", "ru=Луковый центр Куляба", "--name", "uz=Ko'lob piyoz markazi",
         "--name", "en=Kulob onion centre"]


def _centre(session, code):
    session.expire_all()
    return joint_sale.by_code(session, code)


def test_every_cluster_has_its_collection_centre(session):
    clusters = {c.id: c for c in session.scalars(select(CommodityCluster))}
    centres = {c.cluster_id: c for c in session.scalars(select(CollectionCentre))}
    assert set(centres) == set(clusters) == {"tomato.kulob", "tomato.jomi", "onion.vose", "rice.balkhi"}
    for cluster_id, centre in centres.items():
        market = joint_sale.market_of(session, centre)
        assert (centre.crop_id, market.district_id, market.kind) == (
            clusters[cluster_id].crop_id, clusters[cluster_id].district_id, "collection_centre")
    codes = {joint_sale.market_of(session, c).code: c.capacity_g for c in centres.values()}
    assert codes == {"DAHANA": 1_000_000_000, "JOMICC": 600_000_000, "VOSECC": 600_000_000,
                     "BALKHCC": 600_000_000}


def test_a_database_loaded_before_the_new_centres_gets_them(session):
    market = session.scalar(select(Market).where(Market.code == "BALKHCC"))
    session.execute(delete(CollectionCentre).where(CollectionCentre.market_id == market.id))
    session.execute(delete(Market).where(Market.id == market.id))
    session.flush()
    assert joint_sale.load(session) == 1
    centre = joint_sale.by_code(session, "BALKHCC")
    assert (centre.cluster_id, centre.crop_id, centre.capacity_g) == ("rice.balkhi", "rice", 600_000_000)
    assert joint_sale.load(session) == 0


def test_list_names_every_centre_with_its_pledges(session, runner):
    balkh = next(v for v in session.scalars(select(Village)) if v.names["en"] == "Balkh")
    bahrom = farmers.register(session, phone="+992901300006", name="Bahrom", gender="male", village_id=balkh.id,
                              crop_ids=["rice"], land_m2=5000, language="uz")
    week = dt.date(2030, 6, 3)
    joint_sale.pledge(session, bahrom, "rice", 2_500_000, week, channel="sms")
    session.commit()
    result = runner.invoke(args=["centres", "list", "--season", "2030"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["BALKHCC", "DAHANA", "JOMICC", "VOSECC"]
    assert lines[0].split("\t")[1:6] == ["rice.balkhi", "rice", "balkhi", "capacity 600 t", "pledged 2.5 t in 2030"]
    assert "Маркази ҷамъоварии Балх / Пункт сбора Балха / Balx yig'ish markazi / Balkh collection centre" in lines[0]


def test_add_a_centre_to_a_new_cluster_and_pledge_to_it(session, runner):
    session.add(CommodityCluster(id="onion.kulob", crop_id="onion", district_id="kulob",
                                 names={"tg": "Пиёз - Кӯлоб", "ru": "Лук - Куляб", "uz": "Piyoz - Ko'lob",
                                        "en": "Onion - Kulob"}))
    dahana = next(v for v in session.scalars(select(Village)) if v.names["en"] == "Dahana")
    farmer = farmers.register(session, phone="+992901300007", name="Emma", gender="female", village_id=dahana.id,
                              crop_ids=["onion"], land_m2=5000, language="en")
    session.commit()
    result = runner.invoke(args=["centres", "add", "kulobcc", "--cluster", "onion.kulob", "--capacity", "300t", *NAMES])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("added KULOBCC\tonion.kulob\tonion\tkulob\tcapacity 300 t")
    centre = _centre(session, "KULOBCC")
    market = joint_sale.market_of(session, centre)
    assert (centre.crop_id, centre.capacity_g, market.kind, market.district_id) == (
        "onion", 300_000_000, "collection_centre", "kulob")
    assert market.names["ru"] == "Луковый центр Куляба"
    # the farmer's onion now has a centre in her district
    assert joint_sale.pledge(session, farmer, "onion", 1_000_000, dt.date(2030, 6, 3), channel="sms").centre_id \
        == centre.id


def test_add_refuses_what_it_cannot_do_and_changes_nothing(session, runner):
    def add(*args):
        return runner.invoke(args=["centres", "add", *args])

    taken = add("JOMI2", "--cluster", "tomato.jomi", "--capacity", "300t", *NAMES)
    assert taken.exit_code != 0 and "tomato.jomi has the centre JOMICC already" in taken.output
    assert add("X1", "--cluster", "wheat.kulob", "--capacity", "300t", *NAMES).exit_code != 0
    session.add(CommodityCluster(id="onion.kulob", crop_id="onion", district_id="kulob", names={"en": "Onion - Kulob"}))
    session.commit()
    no_en = add("KULOBCC", "--cluster", "onion.kulob", "--capacity", "300t", *NAMES[:6])
    assert no_en.exit_code != 0 and "missing: en" in no_en.output
    assert add("KULOBCC", "--cluster", "onion.kulob", "--capacity", "lots", *NAMES).exit_code != 0
    assert add("KULOB", "--cluster", "onion.kulob", "--capacity", "300t", *NAMES).exit_code != 0  # a market's code
    french = add("KULOBCC", "--cluster", "onion.kulob", "--capacity", "300t", "--name", "fr=Centre", *NAMES)
    assert french.exit_code != 0
    assert _centre(session, "KULOBCC") is None
    assert session.scalar(select(Market).where(Market.code == "KULOBCC")) is None


def test_edit_capacity_and_names(session, runner):
    result = runner.invoke(args=["centres", "edit", "jomicc", "--capacity", "800 t", "--name", "ru=Центр сбора Джами"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("edited JOMICC\ttomato.jomi\ttomato\tjomi\tcapacity 800 t")
    centre = _centre(session, "JOMICC")
    names = joint_sale.market_of(session, centre).names
    assert centre.capacity_g == 800_000_000
    assert names == {"tg": "Маркази ҷамъоварии Ҷомӣ", "ru": "Центр сбора Джами", "uz": "Jomiy yig'ish markazi",
                     "en": "Jomi collection centre", "tg_short": "Маркази Ҷомӣ", "uz_short": "Jomiy markazi",
                     "en_short": "Jomi centre"}  # the Russian short name goes with the old full name
    assert joint_sale.market_of(session, centre).name("ru", short=True) == "Центр сбора Джами"
    result = runner.invoke(args=["centres", "edit", "JOMICC", "--name", "ru_short=Центр Джами"])
    assert result.exit_code == 0, result.output
    assert joint_sale.market_of(session, _centre(session, "JOMICC")).name("ru", short=True) == "Центр Джами"


def test_edit_refuses_what_it_cannot_do(session, runner):
    def edit(*args):
        return runner.invoke(args=["centres", "edit", *args])

    assert edit("KULOB", "--capacity", "800t").exit_code != 0  # a bazaar, not a centre
    assert edit("JOMICC").exit_code != 0  # nothing to change
    assert edit("JOMICC", "--capacity", "0").exit_code != 0
    assert edit("JOMICC", "--name", "ru=" + "Ц" * 41).exit_code != 0
    other_crop = edit("JOMICC", "--cluster", "rice.balkhi")
    assert other_crop.exit_code != 0 and "grows rice" in other_crop.output
    assert edit("JOMICC", "--cluster", "tomato.kulob").exit_code != 0  # DAHANA serves it
    centre = _centre(session, "JOMICC")
    assert (centre.cluster_id, centre.capacity_g) == ("tomato.jomi", 600_000_000)
    assert joint_sale.market_of(session, centre).names["ru"] == "Пункт сбора Джами"
