"""The shipped demo workbook: what ``tools/make_demo_workbook.py`` writes today, and imported like any file."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from service.audit.log import Actor, AuditEntry
from service.groups.committee import EcTerm
from service.programme import demo_workbook, export, importer
from test_programme import counts, digest


def test_the_shipped_workbook_is_what_the_script_writes_today():
    shipped = export.workbook_values(demo_workbook.PATH.read_bytes())
    assert shipped == export.workbook_values(demo_workbook.build()), \
        "run .venv/bin/python tools/make_demo_workbook.py and commit service/programme/demo-region.xlsx"
    assert len(shipped["pgs"]) == 1 + 81 and len(shipped["farmers"]) == 1 + 1496
    header = shipped["farmers"][0]
    farmers = [dict(zip(header, r)) for r in shipped["farmers"][1:]]
    women = sum(f["gender"] == "female" for f in farmers)
    seats = [f for f in farmers if f["ec_role"]]
    assert round(100 * women / len(farmers)) == 29
    assert len(seats) == 398 and round(100 * sum(f["gender"] == "female" for f in seats) / len(seats)) == 16


def test_the_demo_workbook_imports_and_a_second_import_changes_nothing(session):
    data = [(demo_workbook.PATH.name, demo_workbook.PATH.read_bytes())]
    today = dt.date(2026, 12, 1)
    first = demo_workbook.load(session, actor=Actor(None, "test", "cli"), today=today)
    session.commit()
    assert first.counts["farmers"]["created"] == 1496 and first.counts["pgs"]["created"] == 81
    assert not first.issues
    assert session.scalar(select(func.count()).select_from(EcTerm)) == 398
    before, n_before = digest(session), counts(session)
    second = importer.run(session, data, actor=Actor(None, "test", "cli"), today=today, dry_run=False,
                          max_bytes=64 * 1024 * 1024)
    assert second.imported and second.total("created") == second.total("updated") == 0
    session.commit()
    assert counts(session) == n_before and digest(session) == before
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import.update")) \
        == first.counts["vam_agents"]["updated"]
