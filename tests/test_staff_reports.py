"""The gender report (``/staff/reports/gender``): members and EC seats by gender per district,
cluster and PG, counted by hand on a small fixture; the scope; the CSV, XLSX and SVG; the demo region."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from openpyxl import load_workbook

from service.groups import committee, membership, producer_group
from service.reports import gender
from service.staff.scope import Scope
from staff_pages import html, login, make_account, row_cells
from test_staff_pgs import _farmer, _village

PAGE = "/staff/reports/gender"
ELECTED = dt.date(2025, 3, 1)


def world(session) -> dict:
    """KUL01: 10 active members, 3 women, EC chair (a man) and secretary (a woman), and a woman
    pending; KUL02: 4 members, 2 women, EC treasurer a woman; VOS01 (Vose'): 2 men, no EC."""
    kulob, kulob2, vose = _village(session, "kulob"), _village(session, "kulob", 1), _village(session, "vose")
    kul01 = producer_group.create(session, code="KUL01", name="Dahana tomato", village_id=kulob.id,
                                  cluster_id="tomato.kulob", on=dt.date(2024, 5, 1))
    kul02 = producer_group.create(session, code="KUL02", name="Zarbdor tomato", village_id=kulob2.id,
                                  cluster_id="tomato.kulob", on=dt.date(2024, 5, 1))
    vos01 = producer_group.create(session, code="VOS01", name="Guliston onion", village_id=vose.id,
                                  cluster_id="onion.vose", on=dt.date(2024, 5, 1))
    n = 0

    def people(pg, village, genders):
        nonlocal n
        out = []
        for g in genders:
            n += 1
            f = _farmer(session, village, f"Farmer{n} Test", g, n)
            membership.join(session, f, pg)
            out.append(f)
        return out

    k1 = people(kul01, kulob, ["female"] * 3 + ["male"] * 7)
    committee.fill(session, kul01, "chair", k1[5], ELECTED)
    committee.fill(session, kul01, "secretary", k1[0], ELECTED)
    pending = people(kul01, kulob, ["female"])  # KUL01 has an EC now: pending, not counted
    k2 = people(kul02, kulob2, ["female", "female", "male", "male"])
    committee.fill(session, kul02, "treasurer", k2[1], ELECTED)
    people(vos01, vose, ["male", "male"])
    session.commit()
    return {"kul01": kul01, "kul02": kul02, "vos01": vos01, "pending": pending[0]}


@pytest.fixture
def data(session):
    return world(session)






def test_the_figures_counted_by_hand(session, data):
    rep = gender.report(session, Scope(role="admin", everything=True))
    kul01 = next(r for r in rep.pgs if r.key == "KUL01")
    assert (kul01.members, kul01.women, kul01.women_pct, kul01.ec_seats, kul01.ec_women, kul01.ec_women_pct) == \
        (10, 3, 30, 2, 1, 50)
    kul02 = next(r for r in rep.pgs if r.key == "KUL02")
    assert (kul02.members, kul02.women, kul02.women_pct, kul02.ec_seats, kul02.ec_women) == (4, 2, 50, 1, 1)
    tomato = next(r for r in rep.clusters if r.key == "tomato.kulob")
    assert (tomato.members, tomato.women, tomato.women_pct, tomato.ec_seats, tomato.ec_women, tomato.ec_women_pct) == \
        (14, 5, 36, 3, 2, 67)
    assert [(r.key, r.members, r.women, r.ec_seats) for r in rep.districts] == [("kulob", 14, 5, 3), ("vose", 2, 0, 0)] \
        or sorted((r.key, r.members, r.women, r.ec_seats) for r in rep.districts) == [("kulob", 14, 5, 3), ("vose", 2, 0, 0)]
    t = rep.total
    assert (t.members, t.women, t.women_pct, t.ec_seats, t.ec_women, t.ec_women_pct) == (16, 5, 31, 3, 2, 67)
    vose = gender.report(session, Scope(role="admin", everything=True), district="vose")
    assert [r.key for r in vose.pgs] == ["VOS01"] and vose.total.women_pct == 0 and vose.total.ec_women_pct == 0


def test_the_page_shows_a_table_per_level_for_an_officer_of_one_district(client, session, data):
    make_account(session, "extension_officer", "kulob", username="officer")
    login(client, "officer")
    page = html(client.get(PAGE))
    assert "<h1>Gender report</h1>" in page
    assert row_cells(page, "by-pg", "KUL01") == ["10", "3", "30%", "2", "1", "50%"]
    assert row_cells(page, "by-cluster", "tomato.kulob") == ["14", "5", "36%", "3", "2", "67%"]
    assert row_cells(page, "by-district", "kulob") == ["14", "5", "36%", "3", "2", "67%"]
    assert "VOS01" not in page and 'value="vose"' not in page and "onion.vose" not in page
    assert "36% of 14 members are women; women hold 67% of 3 EC seats filled." in page
    assert '<label for="f-district">' in page and '<label for="f-cluster">' in page and 'method="get"' in page
    assert 'href="/staff/reports"' in page  # the nav item: the index of the reports
    assert 'staff-print.css' in page and '<figcaption>' in page
    # another district's filters are outside the scope
    assert client.get(PAGE + "?cluster=onion.vose").status_code == 404
    assert client.get(PAGE + "?district=vose").status_code == 404
    assert client.get(PAGE + ".csv?district=vose").status_code == 404
    assert client.get(PAGE + ".svg?cluster=onion.vose").status_code == 404
    only = html(client.get(PAGE + "?district=kulob&cluster=tomato.kulob"))
    assert row_cells(only, "by-pg", "KUL02") == ["4", "2", "50%", "1", "1", "100%"]


@pytest.mark.parametrize("role, scope, status, pgs", [
    ("admin", (), 200, ["KUL01", "KUL02", "VOS01"]),
    ("cluster_coordinator", ("onion.vose",), 200, ["VOS01"]),
    ("pg_leader", ("KUL02",), 200, ["KUL02"]),
    ("market_reporter", ("KULOB",), 404, None),
])
def test_who_sees_the_report(client, session, data, role, scope, status, pgs):
    make_account(session, role, *scope, username="someone")
    login(client, "someone")
    answer = client.get(PAGE)
    assert answer.status_code == status
    home = unescape(client.get("/staff/").get_data(as_text=True))
    assert ('href="/staff/reports"' in home) == (status == 200)
    assert client.get("/staff/reports").status_code == status
    if status == 200:
        index = html(client.get("/staff/reports"))
        assert re.search(r'<a href="/staff/reports/gender">Gender report<span[^>]*>Active members', index)
    if pgs is not None:
        page = html(answer)
        assert re.findall(r'<tr data-key="([A-Z]{3}\d\d)">', page) == pgs


def test_the_csv_and_xlsx_hold_the_same_numbers(client, session, data):
    make_account(session, "admin", username="amina")
    login(client, "amina")
    answer = client.get(PAGE + ".csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Level", "Id", "Name"]
    by_key = {(r[0], r[1]): r for r in rows[1:]}
    assert by_key[("pg", "KUL01")][5:] == ["10", "3", "30", "2", "1", "50"]
    assert by_key[("cluster", "tomato.kulob")][5:] == ["14", "5", "36", "3", "2", "67"]
    assert by_key[("total", "")][5:] == ["16", "5", "31", "3", "2", "67"]

    answer = client.get(PAGE + ".xlsx?district=kulob")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.get_data())).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    xl = {(r[0], r[1] or ""): r for r in cells[1:]}
    assert list(xl[("pg", "KUL01")][5:]) == [10, 3, 30, 2, 1, 50]
    assert list(xl[("total", "")][5:]) == [14, 5, 36, 3, 2, 67]
    assert ("pg", "VOS01") not in xl
    assert client.get(PAGE + ".pdf").status_code == 404


def test_a_name_that_reads_as_a_formula_is_inert(session, data):
    data["kul02"].name = "=HYPERLINK(\"http://x\")"
    session.commit()
    rep = gender.report(session, Scope(role="admin", everything=True))
    assert "'=HYPERLINK" in gender.to_csv(rep)
    sheet = load_workbook(io.BytesIO(gender.to_xlsx(rep))).active
    names = [r[2] for r in sheet.iter_rows(values_only=True)]
    assert "'=HYPERLINK(\"http://x\")" in names


def test_the_chart_is_svg_with_its_text_alternative(client, session, data):
    make_account(session, "admin", username="amina", language="ru")
    login(client, "amina")
    answer = client.get(PAGE + ".svg")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    assert "script" not in answer.get_data(as_text=True).lower()
    root = ET.fromstring(answer.get_data())
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("role") == "img"
    label = root.get("aria-label")
    assert "Итого: 31% членов, 67% мест в ИК" in label
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text == label
    texts = " ".join(answer.get_data(as_text=True).split())
    assert "36%" in texts and "67%" in texts
    page = html(client.get(PAGE))
    assert f'alt="{label}"' in page and f"<figcaption>{label}</figcaption>" in page


@pytest.mark.slow
def test_the_demo_region_shows_29_and_16_percent_with_cluster_differences(runner, client, session):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    make_account(session, "admin", username="amina")
    login(client, "amina")
    page = html(client.get(PAGE))
    assert "29% of " in page and "women hold 16% of 398 EC seats filled" in page
    rep = gender.report(session, Scope(role="admin", everything=True))
    assert (rep.total.women_pct, rep.total.ec_seats, rep.total.ec_women_pct) == (29, 398, 16)
    assert len(rep.clusters) == 4 and len({(r.women_pct, r.ec_women_pct) for r in rep.clusters}) > 1
