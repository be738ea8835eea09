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


@pytest.mark.parametrize("settings, message", [
    ({"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "", "AT_API_KEY": "k"}, "WEBHOOK_TOKEN"),
    ({"SMS_GATEWAY": "africastalking", "WEBHOOK_TOKEN": "t", "AT_API_KEY": ""}, "AT_API_KEY"),
    ({"SMS_GATEWAY": "carrier-pigeon"}, "SMS_GATEWAY"),
])
def test_refuses_to_start_misconfigured(tmp_path, settings, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", **settings})
