"""The programme import (``service.programme``): dry run, report, all or nothing, re-import, CSV and XLSX."""
from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import io

import pytest
from sqlalchemy import func, select, text

from service.advice import responders
from service.advice.demo_plot import DemoPlot
from service.audit.log import Actor, AuditEntry
from service.farmers.models import Farmer
from service.groups import committee
from service.groups.membership import Membership
from service.groups.producer_group import ProducerGroup, StageAssessment
from service.programme import export, importer, reader, report, sheets

TODAY = dt.date(2026, 12, 1)
ACTOR = Actor(None, "test importer", "cli")

#: tables an import writes (the digest of a region; the audit log grows with every import and is left out)
TABLES = ("village", "cbo", "commodity_cluster", "market", "collection_centre", "producer_group",
          "pg_stage_assessment", "farmer", "farmer_crop", "membership", "ec_term", "responder",
          "responder_village", "responder_district", "agent_item", "demo_plot")


def example_rows() -> dict[str, list[dict]]:
    """The templates' example rows, as the importer reads them: a consistent small programme."""
    return {s.key: [{c.key: c.example for c in s.columns if c.example}] for s in sheets.SHEETS}


def workbook(data: dict[str, list[dict]]) -> bytes:
    return export.to_xlsx(data)


def csv_files(data: dict[str, list[dict]]) -> list[tuple[str, bytes]]:
    files = []
    for s in sheets.SHEETS:
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(s.headers)
        for r in data.get(s.key, []):
            w.writerow([r.get(h, "") for h in s.headers])
        files.append((f"{s.key}.csv", out.getvalue().encode("utf-8-sig")))
    return files


def run(session, data=None, *, files=None, dry_run=False, **kw):
    files = files or [("programme.xlsx", workbook(data))]
    result = importer.run(session, files, actor=ACTOR, today=TODAY, dry_run=dry_run, **kw)
    if result.imported:
        session.commit()
    return result


def digest(session) -> str:
    """A fingerprint of every row of :data:`TABLES` (all columns, in primary-key order)."""
    h = hashlib.sha256()
    for table in TABLES:
        rows = session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")).all()
        h.update(repr((table, [tuple(r) for r in rows])).encode())
    return h.hexdigest()


def counts(session) -> dict[str, int]:
    return {t: session.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}


def farmer_row(**changes) -> dict:
    row = dict(example_rows()["farmers"][0])
    row.update(changes)
    return row


# ------------------------------------------------------------------ templates

def test_templates_come_from_the_column_declarations():
    from openpyxl import load_workbook

    for s in sheets.SHEETS:
        assert sheets.template_csv(s.key).strip() == ",".join(s.headers)
        wb = load_workbook(io.BytesIO(sheets.template_xlsx(s.key)))
        assert wb.sheetnames == [s.key]
        values = list(wb[s.key].iter_rows(values_only=True))
        assert list(values[0]) == s.headers
        assert [v or "" for v in values[1]] == [c.example for c in s.columns]
    assert load_workbook(io.BytesIO(sheets.template_xlsx())).sheetnames == [s.key for s in sheets.SHEETS]


def test_the_template_workbook_imports_as_it_is(session):
    result = run(session, files=[("template.xlsx", sheets.template_xlsx())])
    assert result.imported and not result.issues, result.issues
    farmer = session.scalars(select(Farmer)).one()
    assert (farmer.phone, farmer.name, farmer.land_m2, farmer.crop_ids) == (
        "+992901234567", "Рустам Раҳимов", 15000, ["onion", "tomato"])
    pg = session.scalar(select(ProducerGroup).where(ProducerGroup.code == "KUL01"))
    assert [s.holder.id if s.holder else None for s in committee.seats(session, pg.id)][0] == farmer.id
    assert committee.open_term(session, pg.id, "chair").elected_on == dt.date(2025, 3, 1)
    agent = responders.by_code(session, "VAMGUL")
    assert agent.phone == "+992905550101" and len(agent.village_ids) == 2
    lead = session.scalar(select(responders.Responder).where(responders.Responder.role == "lead_farmer"))
    assert lead.farmer_id == farmer.id
    assert session.scalars(select(DemoPlot)).one().area_m2 == 1000


# ------------------------------------------------------------------ bad rows, each with its reason

BAD = [
    # (label, sheet, column, bad value, expected reason, severity[, column reported when not the one changed])
    ("unknown village", "farmers", "village", "Nowhere", "village_unknown", "error"),
    ("phone that does not normalise", "farmers", "phone", "12345", "phone_bad", "error"),
    ("land out of range", "farmers", "land_ha", "900", "land_range", "error"),
    ("land zero", "farmers", "land_ha", "0", "land_range", "error"),
    ("land not a number", "farmers", "land_ha", "lots", "number_bad", "error"),
    ("doubtful land", "farmers", "land_ha", "60", "land_large", "warning"),
    ("unknown crop", "farmers", "crops", "banana", "crop_unknown", "error"),
    ("unknown PG", "farmers", "pg", "ZZZ99", "pg_unknown", "error"),
    ("bad date", "farmers", "elected_on", "31.02.2025", "date_bad", "error"),
    ("date in the future", "farmers", "joined_on", "2099-01-01", "date_future", "error"),
    ("gender not a choice", "farmers", "gender", "x", "choice_bad", "error"),
    ("language not a choice", "farmers", "language", "fr", "choice_bad", "error"),
    ("name missing", "farmers", "name", "", "required", "error"),
    ("name too long", "farmers", "name", "A" * 41, "too_long", "error"),
    ("name without letters", "farmers", "name", "12 34", "name_bad", "error"),
    ("seat without an election date", "farmers", "elected_on", "", "elected_missing", "error"),
    ("seat of a pending member", "farmers", "status", "pending", "ec_not_active", "error", "ec_role"),
    ("unknown cluster", "pgs", "cluster", "mango.kulob", "cluster_unknown", "error"),
    ("unknown stage", "pgs", "stage", "flying", "choice_bad", "error"),
    ("bad stage date", "pgs", "stage_date", "soon", "date_bad", "error"),
    ("PG in an unknown village", "pgs", "village", "Nowhere", "village_unknown", "error"),
    ("unknown CBO", "pgs", "cbo", "No such CBO", "cbo_unknown", "error"),
    ("cluster of another district", "pgs", "cluster", "onion.vose", "pg_other_district", "warning"),
    ("unknown district", "villages", "district", "Mars", "district_unknown", "error"),
    ("unknown jamoat", "villages", "jamoat", "Nojamoat", "jamoat_unknown", "error"),
    ("unknown input item", "vam_agents", "items", "XXX1", "item_unknown", "error"),
    ("unknown agent kind", "vam_agents", "kind", "bank", "choice_bad", "error"),
    ("agent phone bad", "vam_agents", "phone", "+992 90", "phone_bad", "error"),
    ("capacity out of range", "centres", "capacity_t", "-5", "capacity_range", "error"),
    ("centre of an unknown cluster", "centres", "cluster", "tomato.mars", "cluster_unknown", "error"),
    ("market code bad", "markets", "code", "K", "code_bad", "error"),
    ("lead farmer who is no farmer", "lead_farmers", "name", "Someone Else", "farmer_unknown", "error"),
    ("plot without a season", "lead_farmers", "plot_season", "", "plot_incomplete", "error"),
    ("plot crop unknown", "lead_farmers", "plot_crop", "banana", "crop_unknown", "error"),
    ("foreign phone", "vam_agents", "phone", "+44 7700 900123", "phone_foreign", "warning"),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_a_bad_row_is_reported_with_its_reason(session, case):
    label, sheet, column, value, reason, severity, *reported = case
    data = example_rows()
    data[sheet][0][column] = value
    before = counts(session)
    result = run(session, data)
    where = reported[0] if reported else column
    found = [i for i in result.issues if (i.sheet, i.column, i.reason) == (sheet, where, reason)]
    assert found, [(i.sheet, i.column, i.reason) for i in result.issues]
    assert found[0].row == 2 and found[0].severity == severity
    assert report.text(found[0], "en") and report.text(found[0], "ru") != report.text(found[0], "en")
    if severity == "error":
        assert not result.imported
        session.rollback()
        assert counts(session) == before  # nothing written
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    else:
        assert result.imported and not result.errors


def test_duplicate_person_and_second_chair(session):
    data = example_rows()
    data["farmers"].append(farmer_row(ec_role=""))  # the same person again
    data["farmers"].append(farmer_row(name="Ширин Назарова", gender="female", phone="+992905550199"))  # a second chair
    data["farmers"].append(farmer_row(name="Зарина Раҳимова", gender="female", ec_role=""))  # household: fine
    result = run(session, data)
    reasons = {(i.row, i.reason) for i in result.errors}
    assert reasons == {(3, "duplicate_person"), (4, "seat_twice_chair")}
    assert "second chair" in report.text(next(i for i in result.errors if i.row == 4), "en").lower()
    assert not result.imported and session.scalar(select(func.count()).select_from(Farmer)) == 0


def test_dry_run_writes_nothing_and_counts_what_would_happen(session):
    before = digest(session)
    result = run(session, example_rows(), dry_run=True)
    assert not result.imported and not result.issues
    assert result.counts["farmers"] == {"created": 1, "updated": 0, "unchanged": 0}
    session.rollback()
    assert digest(session) == before


def test_all_or_nothing_one_bad_row_at_the_end_stops_everything(session):
    data = example_rows()
    data["lead_farmers"][0]["plot_crop"] = "banana"  # the last sheet
    before = digest(session)
    result = run(session, data)
    assert [i.reason for i in result.errors] == ["crop_unknown"]
    assert not result.imported
    session.rollback()
    assert digest(session) == before
    assert session.scalar(select(ProducerGroup).where(ProducerGroup.code == "KUL01")) is None


# ------------------------------------------------------------------ a second import

def test_the_same_file_twice_changes_nothing(session):
    data = example_rows()
    data["farmers"].append(farmer_row(name="Зарина Раҳимова", gender="female", ec_role="", elected_on=""))
    first = run(session, data)
    assert first.imported
    before, n_before = digest(session), counts(session)
    audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
    second = run(session, data)
    assert second.imported and not second.issues
    assert second.total("created") == second.total("updated") == 0
    assert counts(session) == n_before and digest(session) == before
    # only the summary entry of the second run
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before + 1
    summary = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert summary.action == "import.run" and summary.after["counts"]["farmers"]["unchanged"] == 2


def test_a_corrected_file_updates_by_code_and_phone(session):
    data = example_rows()
    run(session, data)
    chair = session.scalars(select(Farmer)).one()
    fixed = copy.deepcopy(data)
    fixed["pgs"][0].update(name="Гулобод нав", stage="storming", stage_date="2026-06-01")
    fixed["farmers"][0].update(land_ha="2.25", phone="+992 90 123 45 67", ec_role="member" and "", elected_on="")
    fixed["farmers"].append(farmer_row(name="Ширин Назарова", gender="female", phone="+992905550199",
                                       elected_on="2026-05-01"))  # the new chair
    fixed["vam_agents"][0].update(villages="Gulobod", items="TML1")
    fixed["centres"][0]["capacity_t"] = "1200"
    result = run(session, fixed)
    assert result.imported, result.errors
    assert result.counts["farmers"] == {"created": 1, "updated": 1, "unchanged": 0}
    assert result.counts["pgs"]["updated"] == result.counts["vam_agents"]["updated"] == 1
    assert session.scalar(select(func.count()).select_from(Farmer)) == 2  # no duplicate
    session.refresh(chair)
    assert chair.land_m2 == 22500
    pg = session.scalar(select(ProducerGroup).where(ProducerGroup.code == "KUL01"))
    assert (pg.name, pg.stage) == ("Гулобод нав", "storming")
    assert [a.stage for a in session.scalars(select(StageAssessment).where(StageAssessment.pg_id == pg.id)
                                             .order_by(StageAssessment.assessed_on))] == ["forming", "storming"]
    history = committee.history(session, pg.id)
    assert [(t.role, t.ended_on is None) for t in history] == [("chair", True), ("chair", False)]
    new_chair = session.scalar(select(Farmer).where(Farmer.name == "Ширин Назарова"))
    assert history[0].farmer_id == new_chair.id and history[1].farmer_id == chair.id
    agent = responders.by_code(session, "VAMGUL")
    assert len(agent.village_ids) == 1
    updates = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.update")).all()
    by_type = {e.object_type: e for e in updates}
    assert by_type["farmer"].before["land_m2"] == 15000 and by_type["farmer"].after["land_m2"] == 22500
    assert by_type["producer_group"].after["name"] == "Гулобод нав"
    assert by_type["collection_centre"].after["capacity_g"] == 1_200_000_000
    assert all(e.actor == "test importer" and e.channel == "cli" for e in updates)
    # and the corrected file a second time changes nothing more
    before = digest(session)
    again = run(session, fixed)
    assert again.total("updated") == 0 and digest(session) == before


def test_a_household_phone_carries_several_profiles(session):
    data = example_rows()
    data["farmers"] += [farmer_row(name="Зарина Раҳимова", gender="female", ec_role="", elected_on=""),
                        farmer_row(name="Нигина Раҳимова", gender="female", ec_role="", elected_on="", pg="",
                                   status="")]
    assert run(session, data).imported
    profiles = session.scalars(select(Farmer).where(Farmer.phone == "+992901234567").order_by(Farmer.id)).all()
    assert [p.is_main for p in profiles] == [True, False, False]
    assert session.scalar(select(func.count()).select_from(Membership)) == 2


# ------------------------------------------------------------------ CSV and XLSX

def test_csv_files_import_like_the_workbook(session):
    data = example_rows()
    data["farmers"].append(farmer_row(name="Зарина Раҳимова", gender="female", ec_role="", elected_on=""))
    result = run(session, files=csv_files(data))
    assert result.imported and not result.issues
    from_csv = digest(session)
    again = run(session, data)  # the same programme as a workbook: nothing to change
    assert again.total("created") == again.total("updated") == 0
    assert digest(session) == from_csv


def test_csv_with_semicolons_and_a_bad_header(session):
    body = "name;gender;phone;language;district;village;colour\nA B;male;+992901111111;tg;kulob;Dahana;red\n"
    result = run(session, files=[("farmers.csv", body.encode())])
    assert [(i.row, i.column, i.reason) for i in result.errors] == [(1, "colour", "column_unknown")]
    body = "name;gender;phone;language;district;village\nA B;male;+992901111111;tg;kulob;Dahana\n"
    result = run(session, files=[("2026-farmers.csv", body.encode())])
    assert result.imported and result.counts["farmers"]["created"] == 1


def test_size_limits(session, monkeypatch):
    files = [("programme.xlsx", workbook(example_rows()))]
    result = run(session, files=files, max_bytes=100)
    assert [i.reason for i in result.errors] == ["file_too_large"]
    monkeypatch.setattr(reader, "MAX_ROWS", 1)
    data = example_rows()
    data["farmers"].append(farmer_row(name="Зарина Раҳимова", gender="female", ec_role=""))
    result = run(session, data)
    assert ("farmers", 3, "too_many_rows") in {(i.sheet, i.row, i.reason) for i in result.errors}
    result = run(session, files=[("junk.xlsx", b"PK not a zip")])
    assert [i.reason for i in result.errors] == ["not_xlsx"]
    result = run(session, files=[("unknown.csv", b"a,b\n1,2\n")])
    assert [i.reason for i in result.errors] == ["sheet_unknown"]


# ------------------------------------------------------------------ the report

@pytest.mark.parametrize("lang, header, word", [("en", "Severity", "error"), ("ru", "Важность", "ошибка"),
                                                ("tg", "Дараҷа", "хато"), ("uz", "Daraja", "xato")])
def test_the_report_downloads_in_the_staff_language(session, lang, header, word):
    from openpyxl import load_workbook

    data = example_rows()
    data["farmers"][0]["phone"] = "12345"
    result = run(session, data)
    table = list(csv.reader(io.StringIO(report.to_csv(result.issues, lang))))
    assert table[0][0] == header
    assert table[1][:5] == [word, "farmers", "2", "phone", "phone_bad"]
    assert "12345" in table[1][5]
    ws = load_workbook(io.BytesIO(report.to_xlsx(result.issues, lang))).active
    assert [c.value for c in ws[2]][:5] == [word, "farmers", 2, "phone", "phone_bad"]


def test_report_cells_never_read_as_formulas(session):
    from openpyxl import load_workbook

    body = "name,gender,phone,language,district,village,=HYPERLINK(\"x\")\nA B,male,+992901111111,tg,kulob,Dahana,1\n"
    result = run(session, files=[("farmers.csv", body.encode())])
    assert result.errors[0].column.startswith("=")
    ws = load_workbook(io.BytesIO(report.to_xlsx(result.issues, "en"))).active
    assert ws.cell(2, 4).data_type == "s" and ws.cell(2, 4).value.startswith("'=")
    assert "'=hyperlink" in report.to_csv(result.issues, "en")


def test_every_reason_has_words_in_every_language():
    import re
    from pathlib import Path

    source = "".join(p.read_text() for p in Path(importer.__file__).parent.glob("*.py"))
    reasons = set(re.findall(r'"([a-z_]+)"(?=[,)])', source)) & {
        k.removeprefix("import.reason.") for k in report.strings()["en"] if k.startswith("import.reason.")}
    assert len(reasons) > 40
    import tomllib

    table = tomllib.loads(report.STRINGS.read_text(encoding="utf-8"))
    for lang in ("tg", "ru", "uz"):
        assert set(table[lang]) == set(table["en"]), lang


# ------------------------------------------------------------------ the CLI

def test_cli_dry_run_report_and_import(runner, session, tmp_path):
    template = tmp_path / "farmers.csv"
    out = runner.invoke(args=["programme", "template", "farmers", "--format", "csv", "-o", str(template)])
    assert out.exit_code == 0, out.output
    assert template.read_text(encoding="utf-8-sig").strip() == ",".join(sheets.sheet("farmers").headers)
    book = tmp_path / "programme.xlsx"
    data = example_rows()
    data["farmers"][0]["village"] = "Nowhere"
    book.write_bytes(workbook(data))
    report_path = tmp_path / "report.xlsx"
    out = runner.invoke(args=["programme", "import", str(book), "--report", str(report_path), "--language", "ru"])
    assert out.exit_code == 1 and "Неизвестное село «Nowhere»" in out.output
    assert report_path.stat().st_size > 0
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Farmer)) == 0
    book.write_bytes(workbook(example_rows()))
    out = runner.invoke(args=["programme", "import", str(book), "--dry-run"])
    assert out.exit_code == 0 and "Would create" in out.output
    assert session.scalar(select(func.count()).select_from(Farmer)) == 0
    out = runner.invoke(args=["programme", "import", str(book)])
    assert out.exit_code == 0 and "Imported" in out.output, out.output
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Farmer)) == 1
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.run")).one()
    assert entry.channel == "cli" and entry.actor.startswith("cli:")


def test_markets_lead_farmers_and_memberships_update(session):
    from service.prices.market import Market

    data = example_rows()
    data["markets"].append({"code": "GULBOZOR", "district": "Kulob", "name_tg": "Бозори Гулобод",
                            "name_ru": "Рынок Гулобода", "name_uz": "Gulobod bozori", "name_en": "Gulobod market"})
    data["farmers"] += [
        farmer_row(name="Зарина Раҳимова", gender="female", phone="+992905550111", ec_role="", elected_on="",
                   status="pending"),
        farmer_row(name="Нигина Саидова", gender="female", phone="+992905550112", ec_role="", elected_on="",
                   status="left", joined_on="2025-01-01", left_on="2025-09-01"),
    ]
    assert run(session, data).imported
    statuses = dict(session.execute(select(Farmer.name, Membership.status).join(
        Membership, Membership.farmer_id == Farmer.id)).all())
    assert statuses == {"Рустам Раҳимов": "active", "Зарина Раҳимова": "pending", "Нигина Саидова": "left"}
    fixed = copy.deepcopy(data)
    fixed["markets"][1]["name_en"] = "Gulobod bazaar"
    fixed["farmers"][1]["status"] = "active"  # the request was approved
    fixed["lead_farmers"][0].update(plot_area_ha="0.2", plot_practice="drip irrigation, mulch")
    result = run(session, fixed)
    assert result.imported, result.errors
    assert result.counts["markets"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert result.counts["lead_farmers"]["updated"] == 1
    assert session.scalar(select(Market).where(Market.code == "GULBOZOR")).names["en"] == "Gulobod bazaar"
    assert session.scalars(select(DemoPlot)).one().area_m2 == 2000
    zarina = session.scalar(select(Farmer).where(Farmer.name == "Зарина Раҳимова"))
    assert session.scalar(select(Membership.status).where(Membership.farmer_id == zarina.id)) == "active"
    before = digest(session)
    assert run(session, fixed).total("updated") == 0 and digest(session) == before


def test_refusals_of_the_domain_are_row_errors(session):
    data = example_rows()
    data["vam_agents"].append(dict(data["vam_agents"][0], code="VAMTWO"))  # the same phone as another agent
    data["markets"][0]["code"] = "DAHANA"  # a collection centre is not a market
    result = run(session, data)
    reasons = {(i.sheet, i.reason) for i in result.errors}
    assert reasons == {("vam_agents", "refused"), ("markets", "market_is_centre")}
    assert "already a vam_agent" in report.text(next(i for i in result.errors if i.sheet == "vam_agents"), "en")


def test_a_farmer_who_asked_to_be_erased_is_not_brought_back_by_an_old_list(session):
    from service.farmers import privacy

    data = example_rows()
    assert run(session, data).imported
    from service.reference.phone import to_e164

    farmer = session.scalar(select(Farmer).where(Farmer.phone == to_e164(data["farmers"][0]["phone"])))
    privacy.erase(session, farmer, actor=ACTOR, now=dt.datetime(2026, 12, 1, 8, tzinfo=dt.timezone.utc))
    session.commit()
    again = run(session, data)
    assert not again.imported
    errors = [(i.sheet, i.column, i.reason) for i in again.errors]
    assert ("farmers", "phone", "phone_erased") in errors, errors
    assert all(e[0] != "farmers" or e[2] == "phone_erased" for e in errors), errors
    assert "erased" in report.text(next(i for i in again.errors if i.reason == "phone_erased"), "en")
