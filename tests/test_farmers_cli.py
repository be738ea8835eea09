"""``flask --app service farmers unlisted`` (issue 9, item 8): the villages farmers typed because
theirs was not in the list, for staff to review, through the CLI runner."""
from __future__ import annotations

from service.farmers import models as farmermod
from service.reference.geography import villages_of


def test_unlisted_lists_the_typed_villages_oldest_first_with_district_and_phone(runner, session):
    listed = villages_of(session, "kulob")[0]
    farmermod.register(session, phone="+992901110101", name="Мадина", gender="female", village_id=listed.id,
                       crop_ids=["onion"], land_m2=5000, language="tg")
    first = farmermod.register(session, phone="+992901110102", name="Гулнора", gender="female", village_id=None,
                               crop_ids=["onion"], land_m2=5000, language="tg", unlisted_village="Қишлоқи Нав",
                               district_id="kulob")
    second = farmermod.register(session, phone="+992901110103", name="Rustam", gender="male", village_id=None,
                                crop_ids=["rice"], land_m2=10000, language="en", unlisted_village="Yangi Hayot",
                                district_id="kulob")
    session.commit()
    result = runner.invoke(args=["farmers", "unlisted"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().split("\n")
    assert [line.split("\t")[0] for line in lines] == [first.code, second.code]
    assert lines[0].split("\t")[2:] == ["Kulob", "Қишлоқи Нав", "Гулнора", "+992901110102"]
    assert "Мадина" not in result.output


def test_unlisted_says_when_there_is_none(runner):
    result = runner.invoke(args=["farmers", "unlisted"])
    assert result.exit_code == 0 and "no farmer" in result.output


def test_a_listed_village_clears_the_typed_one(session):
    listed = villages_of(session, "kulob")[0]
    person = farmermod.register(session, phone="+992901110104", name="Зарина", gender="female", village_id=listed.id,
                                crop_ids=["onion"], land_m2=5000, language="tg", unlisted_village="Нав",
                                district_id="kulob")
    assert (person.unlisted_village, person.unlisted_district_id) == (None, None)
