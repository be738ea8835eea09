"""``flask --app service ...`` commands that change programme or account data leave an audit entry
done by ``cli:<login>`` (channel ``cli``), with the record before and after and never a password."""
from __future__ import annotations

import getpass
import json

import pytest
from sqlalchemy import select

from cases import orders as cases
from service.audit.log import AuditEntry
from service.groups.cluster import CommodityCluster
from staff_pages import PASSWORD

NAMES = ["--name", "tg=Маркази пиёзи Кӯлоб", "--name", "ru=Луковый центр Куляба", "--name", "uz=Ko'lob piyoz markazi",
         "--name", "en=Kulob onion centre"]


def _run(runner, *args, stdin: str | None = None):
    result = runner.invoke(args=list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result


def _last(session, action: str) -> AuditEntry:
    session.expire_all()
    found = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
    assert found, f"no {action} entry"
    entry = found[-1]
    assert entry.channel == "cli" and entry.account_id is None
    assert entry.actor == f"cli:{getpass.getuser()}"[:80]
    return entry


@pytest.fixture
def who(monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "operator")


def test_staff_commands(runner, session, who):
    _run(runner, "staff", "create-admin", "--username", "amina", "--name", "Amina R.", "--language", "en",
         "--password-stdin", stdin=PASSWORD + "\n")
    created = _last(session, "account.create")
    assert created.actor == "cli:operator" and created.after["role"] == "admin"
    _run(runner, "staff", "set-password", "--username", "amina", "--password-stdin", stdin="a new long password\n")
    _run(runner, "staff", "unlock", "--username", "amina")
    assert _last(session, "account.unlock").after == {"locked_until": None, "failed_logins": 0}
    _last(session, "account.password")
    for entry in session.scalars(select(AuditEntry)):
        text = json.dumps([entry.before, entry.after, entry.note])
        assert PASSWORD not in text and "a new long password" not in text and "argon2" not in text


def test_programme_commands(runner, session, who):
    session.add(CommodityCluster(id="onion.kulob", crop_id="onion", district_id="kulob",
                                 names={"tg": "Пиёз - Кӯлоб", "ru": "Лук - Куляб", "uz": "Piyoz - Ko'lob",
                                        "en": "Onion - Kulob"}))
    session.commit()
    _run(runner, "centres", "add", "kulobcc", "--cluster", "onion.kulob", "--capacity", "300t", *NAMES)
    added = _last(session, "centre.add")
    assert added.after["code"] == "KULOBCC" and added.after["capacity_g"] == 300_000_000 and added.before is None
    _run(runner, "centres", "edit", "KULOBCC", "--capacity", "350t")
    edited = _last(session, "centre.edit")
    assert (edited.before["capacity_g"], edited.after["capacity_g"]) == (300_000_000, 350_000_000)
    assert edited.object_id == added.object_id

    _run(runner, "orders", "item-set", "onj1", "--retail", "310", "--group", "250.50")
    item = _last(session, "item.update")
    assert item.object_id == "ONJ1" and (item.after["retail_diram"], item.after["group_diram"]) == (31000, 25050)
    assert item.before["retail_diram"] != 31000

    _run(runner, "responders", "add-extension", "--name", "Rustam", "--phone", "992900100300", "--district", "kulob")
    responder = _last(session, "responder.add")
    assert responder.after["phone"] == "+992900100300" and responder.after["role"] == "extension"


def test_order_round_commands(runner, session, who):
    cases.build_world(session)
    session.commit()
    _run(runner, "orders", "open", "--pg", "VOS03")
    opened = _last(session, "round.open")
    assert opened.after["pg"] == "VOS03" and opened.object_type == "order_round"
    _run(runner, "orders", "close", "--pg", "VOS03")
    closed = _last(session, "round.close")
    assert closed.object_id == opened.object_id and closed.after["status"] != "open"


def test_a_refused_command_leaves_no_entry(runner, session, who):
    # an unknown cluster: refused, nothing written
    result = runner.invoke(args=["centres", "add", "x", "--cluster", "onion.kulob", "--capacity", "300t", *NAMES])
    assert result.exit_code != 0
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "centre.add")) is None
