"""Menus as data: the main menu and My account are the entries features contribute, and a number
means the same before and after registering (a trainer teaches one layout)."""
from __future__ import annotations

import re
import urllib.parse

import pytest

from cases.sms import TOKEN
from service import features
from service.farmers.models import register
from service.ussd.engine import MenuEntry, Screen, Screens, View, push

PHONE = "+992901000091"


@pytest.fixture
def app_settings():
    return {"WEBHOOK_TOKEN": TOKEN}


def _hop(client, session_id: str, text: str) -> str:
    form = {"sessionId": session_id, "serviceCode": "*384*7#", "phoneNumber": PHONE, "networkCode": "99999",
            "text": text}
    body = client.post(f"/ussd?key={TOKEN}", data=urllib.parse.urlencode(form),
                       content_type="application/x-www-form-urlencoded").get_data(as_text=True)
    assert body.startswith("CON "), body
    return body


def _main_menu(client, session_id: str) -> dict[str, str]:
    """Every numbered line of the main menu, over its pages (98 next)."""
    lines: dict[str, str] = {}
    for text in ("", "98", "98*98"):
        body = _hop(client, session_id, text)
        lines |= {n: t for n, t in re.findall(r"^(\d+) (.+)$", body[4:], re.M) if n not in ("98", "99")}
        if "98" not in body:
            break
    return lines


def test_main_menu_numbers_are_the_same_before_and_after_registering(client, session):
    before = _main_menu(client, "M1")
    first = _hop(client, "M0", "")
    register(session, phone=PHONE, name="Gulnora", gender="female", village_id=None, crop_ids=["onion"],
             land_m2=1000, language="tg")
    session.commit()
    after = _main_menu(client, "M2")
    assert set(after) == {"1", "2", "3", "4", "5", "6"}
    assert set(before) == set(after) | {"7"}  # 7 Language, for a caller without a profile only
    assert {n: t for n, t in before.items() if n not in "67"} == {n: t for n, t in after.items() if n != "6"}
    assert before["6"] != after["6"]  # "Register" before, "Add a person" after: the same slot
    # without a profile, Register and Language come first (keeping their numbers)
    assert re.match(r"CON 6 .+\n7 .+\n1 ", first)
    assert _hop(client, "M6", "").startswith("CON 1 ")
    # a number picks its item from the first page too: 5 is My account
    assert _hop(client, "M3", "5") == _hop(client, "M4", "98*5")


def test_entries_come_from_the_features_in_their_order():
    app = features.build_ussd()
    assert [e.key for e in app.menus["main"]] == ["group", "prices", "orders", "advice", "account", "register",
                                                  "language", "committee"]
    assert [e.key for e in app.menus["account"]] == ["language", "stop", "crops", "price_sms", "mydata", "delete"]
    assert [e.key for e in app.menus["committee"]] == ["requests", "current", "last", "round"]
    assert [e.key for e in app.menus["advice"]] == ["tips", "ask", "sell", "yield"]


def test_a_feature_adds_a_menu_item_without_touching_the_engine():
    """What a new main-menu item takes: a screen and an entry in the feature's ussd.py, and its texts."""
    screen = Screens()

    @screen
    class Weather(Screen):
        name = "weather"

        def view(self, d, data):
            return View(head=["Sunny"])

    app = features.build_ussd()
    app.add(screen, (MenuEntry("main", "weather", 45, lambda d: "Weather", lambda d: push("weather")),))
    assert [e.key for e in app.menus["main"]][3:5] == ["advice", "weather"]
    assert "weather" in app.screens


def test_a_screen_or_menu_key_given_twice_is_refused():
    app = features.build_ussd()
    with pytest.raises(ValueError):
        app.add(entries=(MenuEntry("main", "prices", 99, "ussd.main.prices", lambda d: push("prices_crop")),))
    with pytest.raises(ValueError):
        app.add(entries=(MenuEntry("nowhere", "x", 1, "ussd.main.prices", lambda d: push("x")),))
    screen = Screens()

    @screen
    class Again(Screen):
        name = "prices"

    with pytest.raises(ValueError):
        app.add(screen)


def test_sms_commands_come_from_the_features():
    keywords = features.build_sms()
    assert {"reg", "join", "price", "order", "ask", "sell", "planted", "alert", "help"} <= set(keywords.commands)
    with pytest.raises(ValueError):
        keywords.add(features.farmers_sms.COMMANDS)


def test_the_readme_keyword_table_names_every_command_and_no_other():
    """The README's keyword table is the one list of keywords people read: each of its first-column
    keywords is a command some feature carries out, and every command is in it."""
    from pathlib import Path

    from service.sms.engine import parse

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| Keyword | Example | Who |"):].split("\n\n", 1)[0]
    named = set()
    for row in table.splitlines()[2:]:
        for keyword in re.findall(r"`([^`]+)`", row.split("|")[1]):
            command = parse(keyword.split("<")[0].replace("[", " ")).command
            assert command is not None, keyword
            named.add(command)
    assert named == set(features.build_sms().commands)
