"""The farming reports (``/staff/reports/land``, ``/purchasing``, ``/yields``; ``docs/staff.md`` §17):
figures counted by hand on a small fixture, the filters (district, cluster, PG, season), the scope,
the CSV, XLSX and SVG; and the demo region's yields."""
from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from service.farmers.models import register
from service.groups import committee, membership, producer_group
from service.orders.catalogue import InputItem
from service.orders.rounds import InputOrder, OrderRound
from service.reports import land, purchasing, yields
from service.reports.selection import OutOfScope, parse_season, pct
from service.sales.yields import YieldReport
from service.staff.scope import Scope
from staff_pages import csv_rows, html, login, make_account, row_cells, xlsx_rows
from test_staff_pgs import _village

UTC = dt.timezone.utc
JOINED = dt.datetime(2024, 5, 10, 8, 0, tzinfo=UTC)
ALL = Scope(role="admin", everything=True)


def world(session) -> dict:
    """KUL01 (Kulob tomato): 7 active members, 3 small (0.5, 0.8, 1.0 ha), 2 medium (2, 4 ha), 1 large
    (8 ha), 1 of unknown land; EC chair small (0.5), secretary large (8); one more (1.5 ha) left on
    1 June 2025. KUL02 (Kulob tomato, another village): 0.3 and 3.0 ha since 2024, 0.6 ha joined in
    February 2026; EC treasurer 3.0 ha. VOS01 (Vose' onion): 6.0 and 0.9 ha. Three non-members live
    in KUL01's village (two) and VOS01's (one). Everyone joined on 10 May 2024 unless said."""
    kulob, kulob2, vose = _village(session, "kulob"), _village(session, "kulob", 1), _village(session, "vose")
    pgs = {code: producer_group.create(session, code=code, name=name, village_id=v.id, cluster_id=cl,
                                       on=dt.date(2024, 5, 1))
           for code, name, v, cl in (("KUL01", "Dahana tomato", kulob, "tomato.kulob"),
                                     ("KUL02", "Zarbdor tomato", kulob2, "tomato.kulob"),
                                     ("VOS01", "Guliston onion", vose, "onion.vose"))}
    n = 0
    people = {}

    def farmer(key, village, ha, crop="tomato"):
        nonlocal n
        n += 1
        people[key] = register(session, phone=f"+9929066{n:05d}", name=f"Farmer {key}", gender="male",
                               village_id=village.id, crop_ids=[crop],
                               land_m2=None if ha is None else round(ha * 10_000), language="en", via="ussd")
        return people[key]

    def member(key, pg, village, ha, crop="tomato", joined=JOINED):
        m = membership.join(session, farmer(key, village, ha, crop), pgs[pg])
        m.joined_at = joined
        return m

    for key, ha in (("a", 0.5), ("b", 0.8), ("c", 1.0), ("d", 2.0), ("e", 4.0), ("f", 8.0), ("g", None)):
        member(key, "KUL01", kulob, ha)
    left = member("l", "KUL01", kulob, 1.5)
    left.status, left.left_at = "left", dt.datetime(2025, 6, 1, tzinfo=UTC)
    member("p", "KUL02", kulob2, 0.3)
    member("q", "KUL02", kulob2, 3.0)
    member("r", "KUL02", kulob2, 0.6, joined=dt.datetime(2026, 2, 1, tzinfo=UTC))
    member("s", "VOS01", vose, 6.0, "onion")
    member("t", "VOS01", vose, 0.9, "onion")
    session.flush()
    elected = dt.date(2024, 6, 1)
    committee.fill(session, pgs["KUL01"], "chair", people["a"], elected)
    committee.fill(session, pgs["KUL01"], "secretary", people["f"], elected)
    committee.fill(session, pgs["KUL02"], "treasurer", people["q"], elected)
    farmer("n1", kulob, 1.0)
    farmer("n2", kulob, 0.7)
    farmer("n3", vose, 1.2, "onion")
    session.flush()
    _orders(session, pgs, people)
    _yields(session, people)
    session.commit()
    return {"pgs": pgs, "people": people}


def _orders(session, pgs, people):
    """KUL01 2025: a 2 packs at 100.00/90.00 TJS, b 1 pack at 50.00/44.00, a 3 packs cancelled;
    KUL01 2026: c 1 pack at 100.00/90.00; KUL02 2025: p 4 packs at 25.00/22.00."""
    item = session.scalars(select(InputItem).order_by(InputItem.id)).first()

    def rnd(pg, opened):
        r = OrderRound(pg_id=pgs[pg].id, status="closed", opened_at=opened, closes_on=(opened + dt.timedelta(days=7)).date(),
                       closed_at=opened + dt.timedelta(days=7))
        session.add(r)
        session.flush()
        return r

    def line(r, who, packs, retail, group, when, status="placed"):
        session.add(InputOrder(round_id=r.id, farmer_id=people[who].id, item_id=item.id, packs=packs,
                               unit_retail_diram=retail, unit_group_diram=group, total_diram=group * packs,
                               saving_diram=(retail - group) * packs, status=status, created_at=when, updated_at=when))

    r1 = rnd("KUL01", dt.datetime(2025, 4, 10, 6, tzinfo=UTC))
    line(r1, "a", 2, 10_000, 9_000, dt.datetime(2025, 4, 10, 7, tzinfo=UTC))
    line(r1, "b", 1, 5_000, 4_400, dt.datetime(2025, 4, 11, 7, tzinfo=UTC))
    line(r1, "a", 3, 10_000, 9_000, dt.datetime(2025, 4, 12, 7, tzinfo=UTC), status="cancelled")
    r2 = rnd("KUL01", dt.datetime(2026, 3, 10, 6, tzinfo=UTC))
    line(r2, "c", 1, 10_000, 9_000, dt.datetime(2026, 3, 10, 7, tzinfo=UTC))
    r3 = rnd("KUL02", dt.datetime(2025, 4, 1, 6, tzinfo=UTC))
    line(r3, "p", 4, 2_500, 2_200, dt.datetime(2025, 4, 1, 7, tzinfo=UTC))
    session.flush()


def _yields(session, people):
    """2025 tomato: members a 30 t/ha, b 40 t/ha (linked to VAM), l 35 t/ha (reported in May, before
    leaving); non-members n1 20, n2 25 t/ha; r 10 t/ha as a non-member (before joining KUL02).
    2025 onion: member s 28 t/ha, non-member n3 20 t/ha. 2024 tomato: member a 25, n1 20 t/ha."""
    def rep(who, crop, year, kg_ha, member, vam=False, when=None):
        area = 5000
        session.add(YieldReport(farmer_id=people[who].id, crop_id=crop, year=year, grams=kg_ha * area // 10,
                                area_m2=area, entered=f"{kg_ha} kg/ha", is_member=member, linked_to_vam=vam,
                                reported_at=when or dt.datetime(year, 9, 1, tzinfo=UTC)))

    rep("a", "tomato", 2025, 30_000, True)
    rep("b", "tomato", 2025, 40_000, True, vam=True)
    rep("l", "tomato", 2025, 35_000, True, when=dt.datetime(2025, 5, 1, tzinfo=UTC))
    rep("n1", "tomato", 2025, 20_000, False)
    rep("n2", "tomato", 2025, 25_000, False)
    rep("r", "tomato", 2025, 10_000, False)
    rep("s", "onion", 2025, 28_000, True, vam=True)
    rep("n3", "onion", 2025, 20_000, False)
    rep("a", "tomato", 2024, 25_000, True)
    rep("n1", "tomato", 2024, 20_000, False)
    session.flush()


@pytest.fixture
def data(session):
    return world(session)










# ---------------------------------------------------------------- shared

def test_percentages_round_half_up_and_seasons_are_years():
    assert (pct(1, 8), pct(5, 8), pct(1, 3), pct(0, 0), pct(3, 7)) == (13, 63, 33, 0, 43)
    assert parse_season("") is None and parse_season("2025") == 2025
    for bad in ("abc", "1999", "2101", "20x5"):
        with pytest.raises(OutOfScope):
            parse_season(bad)


# ---------------------------------------------------------------- land

def test_land_classes_counted_by_hand(session, data):
    assert [land.land_class(m2) for m2 in (None, 100, 10_000, 10_001, 50_000, 50_001)] == \
        ["unknown", "small", "small", "medium", "medium", "large"]
    rep = land.report(session, ALL)
    kul01 = next(r for r in rep.pgs if r.key == "KUL01")
    assert kul01.members == {"small": 3, "medium": 2, "large": 1, "unknown": 1}
    assert (kul01.member_pct("small"), kul01.member_pct("medium"), kul01.member_pct("large")) == (43, 29, 14)
    assert kul01.seats == {"small": 1, "medium": 0, "large": 1, "unknown": 0} and kul01.seat_pct("large") == 50
    assert str(kul01.avg_land_ha) == "2.72"  # 16.3 ha over the 6 members with a known size
    tomato = next(r for r in rep.clusters if r.key == "tomato.kulob")
    assert (tomato.member_count, tomato.members["small"], tomato.members["medium"], tomato.members["large"]) == (10, 5, 3, 1)
    assert (tomato.member_pct("small"), tomato.seat_count, tomato.seat_pct("small")) == (50, 3, 33)
    t = rep.total
    assert (t.member_count, t.member_pct("small"), t.member_pct("medium"), t.member_pct("large")) == (12, 50, 25, 17)
    assert sorted((r.key, r.member_count) for r in rep.districts) == [("kulob", 10), ("vose", 2)]
    assert rep.seasons == (2026, 2025, 2024)


def test_land_filters_by_pg_and_season(session, data):
    season = land.report(session, ALL, season=2025)
    by = {r.key: r for r in season.pgs}
    assert by["KUL01"].member_count == 8 and by["KUL01"].members["medium"] == 3  # the member who left in 2025
    assert by["KUL02"].member_count == 2  # the one who joined in 2026 is not counted
    assert land.report(session, ALL, season=2023).total.member_count == 0
    one = land.report(session, ALL, pg="kul02")
    assert [r.key for r in one.pgs] == ["KUL02"] and one.total.seats["medium"] == 1
    assert [r.key for r in land.report(session, ALL, district="vose").pgs] == ["VOS01"]
    with pytest.raises(OutOfScope):
        land.report(session, Scope(role="pg_leader", pg_ids=frozenset({data["pgs"]["KUL02"].id})), pg="KUL01")


def test_the_land_page_for_an_officer_of_one_district(client, session, data):
    make_account(session, "extension_officer", "kulob", username="officer")
    login(client, "officer")
    page = html(client.get("/staff/reports/land"))
    assert "<h1>Land report</h1>" in page and "staff-print.css" in page and "<figcaption>" in page
    assert row_cells(page, "by-pg", "KUL01") == ["7", "3 (43%)", "2 (29%)", "1 (14%)", "1", "2.72", "2",
                                                  "1 (50%)", "0 (0%)", "1 (50%)"]
    assert row_cells(page, "by-cluster", "tomato.kulob")[:4] == ["10", "5 (50%)", "3 (30%)", "1 (10%)"]
    assert "50% of 10 members are small farmers and 10% large; small farmers hold 33% of 3 EC seats filled." in page
    assert "VOS01" not in page and 'value="vose"' not in page
    assert 'aria-current="page">Land report' in page and 'href="/staff/reports/yields"' in page
    for url in ("/staff/reports/land?cluster=onion.vose", "/staff/reports/land?district=vose",
                "/staff/reports/land?pg=VOS01", "/staff/reports/land.csv?pg=VOS01", "/staff/reports/land.svg?district=vose",
                "/staff/reports/land?season=later", "/staff/reports/land.pdf"):
        assert client.get(url).status_code == 404, url
    season = html(client.get("/staff/reports/land?season=2025&pg=KUL01"))
    assert row_cells(season, "by-pg", "KUL01")[:3] == ["8", "3 (38%)", "3 (38%)"]
    assert '<option value="2025" selected>' in season


def test_the_land_downloads(client, session, data):
    make_account(session, "admin", username="amina")
    login(client, "amina")
    rows = csv_rows(client.get("/staff/reports/land.csv"))
    assert rows[0][:6] == ["Level", "Id", "Name", "District", "Cluster", "Members"]
    by = {(r[0], r[1]): r for r in rows[1:]}
    assert by[("pg", "KUL01")][5:14] == ["7", "3", "2", "1", "1", "43", "29", "14", "2.72"]
    assert by[("total", "")][5:10] == ["12", "6", "3", "2", "1"]
    cells = xlsx_rows(client.get("/staff/reports/land.xlsx?cluster=onion.vose"))
    xl = {(r[0], r[1] or ""): r for r in cells[1:]}
    assert list(xl[("pg", "VOS01")][5:10]) == [2, 1, 0, 1, 0] and ("pg", "KUL01") not in xl


# ---------------------------------------------------------------- purchasing

def test_purchasing_counted_by_hand(session, data):
    rep = purchasing.report(session, ALL, season=2025)
    by = {r.key: r for r in rep.pgs}
    k1 = by["KUL01"]
    assert (k1.members, k1.buyers, k1.buyers_pct, k1.lines) == (8, 2, 25, 2)
    assert (k1.retail_diram, k1.spend_diram, k1.saving_diram, k1.saving_pct) == (25_000, 22_400, 2_600, 10)
    k2 = by["KUL02"]
    assert (k2.members, k2.buyers, k2.buyers_pct, k2.saving_diram, k2.saving_pct) == (2, 1, 50, 1_200, 12)
    tomato = next(r for r in rep.clusters if r.key == "tomato.kulob")
    assert (tomato.members, tomato.buyers, tomato.buyers_pct, tomato.retail_diram, tomato.spend_diram,
            tomato.saving_diram, tomato.saving_pct) == (10, 3, 30, 35_000, 31_200, 3_800, 11)
    assert (rep.total.members, rep.total.buyers, rep.total.buyers_pct, rep.total.saving_pct) == (12, 3, 25, 11)
    every = purchasing.report(session, ALL)
    k1 = next(r for r in every.pgs if r.key == "KUL01")
    assert (k1.members, k1.buyers, k1.retail_diram, k1.saving_diram, k1.saving_pct) == (7, 3, 35_000, 3_600, 10)
    assert every.seasons == (2026, 2025)
    assert purchasing.report(session, ALL, season=2024).total.lines == 0


def test_the_purchasing_page_and_downloads(client, session, data):
    make_account(session, "cluster_coordinator", "tomato.kulob", username="coord", language="ru")
    login(client, "coord")
    page = html(client.get("/staff/reports/purchasing?season=2025"))
    assert row_cells(page, "by-cluster", "tomato.kulob") == ["10", "3", "30%", "3", "350,00", "312,00", "38,00", "11%"]
    assert "VOS01" not in page
    assert client.get("/staff/reports/purchasing?cluster=onion.vose").status_code == 404
    assert client.get("/staff/reports/purchasing.xlsx?pg=VOS01").status_code == 404
    rows = csv_rows(client.get("/staff/reports/purchasing.csv?season=2025"))
    by = {(r[0], r[1]): r for r in rows[1:]}
    assert by[("cluster", "tomato.kulob")][5:] == ["10", "3", "30", "3", "350.0", "312.0", "38.0", "11"]
    cells = xlsx_rows(client.get("/staff/reports/purchasing.xlsx?season=2025&pg=KUL02"))
    xl = {(r[0], r[1] or ""): r for r in cells[1:]}
    assert list(xl[("pg", "KUL02")][5:]) == [2, 1, 50, 1, 100.0, 88.0, 12.0, 12] and ("pg", "KUL01") not in xl
    svg = client.get("/staff/reports/purchasing.svg?season=2025")
    root = ET.fromstring(svg.get_data())
    assert root.get("role") == "img" and "30%" in root.get("aria-label") and "11%" in root.get("aria-label")


# ---------------------------------------------------------------- yields

def test_yields_counted_by_hand(session, data):
    rep = yields.report(session, ALL)
    by = {(r.crop_id, r.season): r for r in rep.rows}
    t25 = by[("tomato", 2025)]
    assert (len(t25.members), len(t25.others), len(t25.vam)) == (3, 3, 1)  # r reported before joining: a non-member
    assert yields.Row.kg_ha(t25.member_kg_ha) == 35_000 and yields.Row.kg_ha(t25.other_kg_ha) == 18_333
    assert t25.difference_pct == 91 and t25.vam_gain_pct == 118
    assert by[("onion", 2025)].difference_pct == 40 and by[("tomato", 2024)].difference_pct == 25
    assert rep.seasons == (2025, 2024)
    # KUL01 and its village only: r lives in KUL02's village
    kul01 = yields.report(session, ALL, pg="KUL01", season=2025)
    assert [(r.crop_id, len(r.members), len(r.others), r.difference_pct) for r in kul01.rows] == [("tomato", 3, 2, 56)]
    kul02 = yields.report(session, ALL, pg="KUL02", season=2025)
    assert [(r.crop_id, len(r.members), len(r.others), r.difference_pct) for r in kul02.rows] == [("tomato", 0, 1, None)]
    assert [r.crop_id for r in yields.report(session, ALL, cluster="onion.vose").rows] == ["onion"]


def test_the_yields_page_chart_and_downloads(client, session, data):
    make_account(session, "extension_officer", "kulob", username="officer")
    login(client, "officer")
    page = html(client.get("/staff/reports/yields?season=2025&pg=KUL01"))
    assert row_cells(page, "by-crop", "tomato-2025") == ["2025", "3", "35.0", "2", "22.5", "+56%", "40.0", "+78%"]
    assert 'data-key="onion-' not in page
    assert client.get("/staff/reports/yields?cluster=onion.vose").status_code == 404
    assert client.get("/staff/reports/yields.csv?season=1999").status_code == 404
    svg = client.get("/staff/reports/yields.svg?season=2025&pg=KUL01")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and "script" not in svg.get_data(as_text=True)
    label = ET.fromstring(svg.get_data()).get("aria-label")
    assert "2025: members 35.0 t/ha, non-members 22.5 t/ha (+56%)" in label
    assert f'alt="{label}"' in page
    rows = csv_rows(client.get("/staff/reports/yields.csv"))
    assert rows[0][:3] == ["Crop id", "Crop", "Season"]
    assert [r[0] for r in rows[1:]] == ["tomato", "tomato"]  # Kulob only: no onion
    by = {(r[0], r[2]): r for r in rows[1:]}
    assert by[("tomato", "2025")][3:] == ["3", "35000", "1", "40000", "3", "18333", "91", "118"]
    cells = xlsx_rows(client.get("/staff/reports/yields.xlsx?season=2024"))
    assert [c[2:] for c in cells[1:]] == [[2024, 1, 25000, 0, None, 1, 20000, 25, None]]


@pytest.mark.parametrize("role, scope, status", [
    ("admin", (), 200), ("cluster_coordinator", ("onion.vose",), 200), ("pg_leader", ("KUL02",), 200), ("market_reporter", ("KULOB",), 404),
])
def test_who_sees_the_farming_reports(client, session, data, role, scope, status):
    make_account(session, role, *scope, username="someone")
    login(client, "someone")
    for url in ("/staff/reports/land", "/staff/reports/purchasing", "/staff/reports/yields",
                "/staff/reports/land.csv", "/staff/reports/purchasing.xlsx", "/staff/reports/yields.svg"):
        assert client.get(url).status_code == status, url
    home = unescape(client.get("/staff/").get_data(as_text=True))
    assert ('href="/staff/reports"' in home) == (status == 200)  # the nav's Reports: the index
    if status == 200:
        index = unescape(client.get("/staff/reports").get_data(as_text=True))
        assert all(f'href="/staff/reports/{name}"' in index for name in ("land", "purchasing", "yields"))
    if role == "pg_leader":
        page = html(client.get("/staff/reports/land"))
        assert re.findall(r'<tr data-key="([A-Z]{3}\d\d)">', page) == ["KUL02"]
        assert client.get("/staff/reports/land?pg=KUL01").status_code == 404


def test_a_name_that_reads_as_a_formula_is_inert_in_the_downloads(session, data):
    data["pgs"]["KUL02"].name = "=HYPERLINK(\"http://x\")"
    session.commit()
    rep = land.report(session, ALL)
    assert b"'=HYPERLINK" in land.to_csv(rep, land.COLUMNS)
    names = [r[2] for r in load_workbook(io.BytesIO(purchasing.to_xlsx(purchasing.report(session, ALL),
                                                                           purchasing.COLUMNS))).active.iter_rows(values_only=True)]
    assert "'=HYPERLINK(\"http://x\")" in names


# ---------------------------------------------------------------- demo region

@pytest.mark.slow
def test_the_demo_region_shows_members_against_non_members_and_collective_buying(runner, client, session):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    rep = yields.report(session, ALL)
    gains = {(r.crop_id, r.season): r.vam_gain_pct for r in rep.compared}
    crops = {c for c, _ in gains}
    assert crops == {"onion", "tomato"} and len(rep.seasons) == 2
    first, last = sorted(rep.seasons)
    assert (gains[("onion", first)], gains[("onion", last)], gains[("tomato", first)], gains[("tomato", last)]) == \
        (48, 40, 64, 83)
    assert all(r.difference_pct > 0 for r in rep.compared)
    make_account(session, "admin", username="amina")
    login(client, "amina")
    page = html(client.get("/staff/reports/yields"))
    for crop in ("onion", "tomato"):
        for season in rep.seasons:
            cells = row_cells(page, "by-crop", f"{crop}-{season}")
            assert cells[1] != "0" and cells[3] != "0" and cells[5].startswith("+"), (crop, season, cells)
    # the demo's past order round: over 80% of the season's members bought together, 11% saved
    buying = purchasing.report(session, ALL, season=max(rep.seasons))
    assert buying.total.buyers_pct >= 80 and buying.total.saving_pct == 11
    assert len(buying.clusters) == 4 and all(r.buyers_pct >= 75 for r in buying.clusters)
