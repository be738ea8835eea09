"""The app factory, configuration guards and the health check."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service import create_app
from service.groups.cluster import CommodityCluster
from service.reference.geography import District


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.data == b"ok"


def test_reference_data_loaded(session):
    assert {d.id for d in session.scalars(select(District))} == {"kulob", "jomi", "vose", "balkhi"}
    assert session.scalar(select(func.count()).select_from(CommodityCluster)) == 4


LONG = "x" * 32


@pytest.mark.parametrize("settings, message", [
    ({"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "", "AT_API_KEY": "k"}, "needs WEBHOOK_TOKEN"),
    ({"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": LONG, "AT_API_KEY": ""}, "needs AT_API_KEY"),
    ({"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "x" * 31, "AT_API_KEY": "k"},
     "at least 32 characters long .one of the tokens has 31"),
    ({"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": f"{LONG},short", "AT_API_KEY": "k"}, "has 5"),
    ({"SMS_GATEWAY": "carrier-pigeon"}, "SMS_GATEWAY must be one of local, africastalking"),
    ({"PORT": "80a"}, "PORT must be a port number"),
    ({"PORT": "70000"}, "PORT must be a port number"),
])
def test_refuses_to_start_misconfigured(tmp_path, settings, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", **settings})


@pytest.mark.parametrize("settings", [
    {"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": LONG, "AT_API_KEY": "k"},
    {"SMS_GATEWAY": "local", "WEBHOOK_TOKEN": "short"},  # the simulator and tests: any token or none
    {"PORT": "5001"},
])
def test_starts_with_settings_it_can_run_with(tmp_path, settings):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", **settings})
    assert app.config["SMS_GATEWAY"] == settings.get("SMS_GATEWAY", "local")
