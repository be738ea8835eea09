"""The programme import page: upload → dry-run report on the page (downloadable) → confirm → import.

``GET /staff/import`` shows the upload form and the templates; ``POST /staff/import/check`` reads
the uploaded XLSX workbook or CSV files and runs the dry run (``service.programme.importer.run``),
showing every issue with its sheet, row, column and reason in the staff member's language;
``GET /staff/import/report.csv`` and ``.xlsx`` download that report; ``POST /staff/import/confirm``
imports the checked files (all or nothing, with the audit log); ``GET /staff/import/template/<sheet>.<xlsx|csv>``
(``all.xlsx``: every sheet) gives the templates. Administrators only (the import is not scoped to an
area). The checked upload waits in ``IMPORT_DIR`` (one folder per check, named by a random token
kept in the staff session) until it is imported or replaced; folders older than a day are removed.

The upload route has its own body cap, ``IMPORT_MAX_BYTES`` plus 64 KiB for the form
(``handlers.common.BODY_LIMITS``), above the service's ``MAX_BODY_BYTES``.
"""
from __future__ import annotations

import json
import secrets
import shutil
import time
from pathlib import Path

from flask import Response, current_app, flash, g, redirect, request, session, url_for

from handlers.common import BODY_LIMITS, db
from handlers.staff import web
from service.db import utcnow
from service.programme import importer, report, sheets
from service.programme.report import Issue

bp = web.blueprint("staff_imports", __name__, "/staff/import")
web.nav_item("staff_imports.page", "import.title", roles=("admin",), order=80)

FORM_SLACK = 64 * 1024  # bytes of the form around the files (fields, multipart boundaries)
MAX_FILES = 12  # files in one upload (one workbook, or a CSV per sheet)
KEEP_SECONDS = 24 * 3600


def max_bytes() -> int:
    """The most bytes of the files of one import (``IMPORT_MAX_BYTES``)."""
    return int(current_app.config.get("IMPORT_MAX_BYTES") or 8 * 1024 * 1024)


def _folder() -> Path:
    folder = Path(current_app.config.get("IMPORT_DIR") or "instance/staff-imports")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _checked() -> Path | None:
    """The folder of this session's checked upload, or None."""
    token = session.get("import_token")
    if not isinstance(token, str) or not token.isalnum():
        return None
    path = _folder() / token
    return path if path.is_dir() else None


def _clean_old() -> None:
    limit = time.time() - KEEP_SECONDS
    for path in _folder().iterdir():
        if path.is_dir() and path.stat().st_mtime < limit:
            shutil.rmtree(path, ignore_errors=True)


def _files(path: Path) -> list[tuple[str, bytes]]:
    names = json.loads((path / "names.json").read_text())
    return [(name, (path / f"{i}.bin").read_bytes()) for i, name in enumerate(names)]


def _issues(path: Path) -> list[Issue]:
    return [Issue(d["sheet"], d["row"], d["column"], d["reason"], **d["params"])
            for d in json.loads((path / "issues.json").read_text())]


def _page(result=None, status: int = 200):
    return web.render("staff/import.html", result=result, sheets=sheets.SHEETS, limit=max_bytes(),
                      issue_text=lambda i: report.text(i, g.lang)), status


@bp.get("")
def page():
    web.require_role()
    return _page()


@bp.post("/check")
def check():
    web.require_role()
    uploads = [f for f in request.files.getlist("files") if f and f.filename][:MAX_FILES]
    if not uploads:
        flash(web.t("import.no_file"), "error")
        return _page(status=400)
    files = [(Path(f.filename).name[:100], f.read(max_bytes() + 1)) for f in uploads]
    if sum(len(data) for _, data in files) > max_bytes():
        flash(web.t("import.too_large", limit=f"{max_bytes():,}"), "error")
        return _page(status=413)
    result = importer.run(db(), files, actor=web.actor(), today=current_app.extensions["dehqon.settings"].today(
        utcnow()), dry_run=True, max_bytes=max_bytes())
    _clean_old()
    old = _checked()
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    token = secrets.token_hex(16)
    path = _folder() / token
    path.mkdir(mode=0o700)
    for i, (_, data) in enumerate(files):
        (path / f"{i}.bin").write_bytes(data)
    (path / "names.json").write_text(json.dumps([name for name, _ in files]))
    (path / "issues.json").write_text(json.dumps([{"sheet": i.sheet, "row": i.row, "column": i.column,
                                                   "reason": i.reason, "params": i.params} for i in result.issues],
                                                 default=str))
    session["import_token"] = token
    return _page(result)


BODY_LIMITS["staff_imports.check"] = lambda: max_bytes() + FORM_SLACK


@bp.post("/confirm")
def confirm():
    web.require_role()
    path = _checked()
    if path is None:
        flash(web.t("import.expired"), "error")
        return redirect(url_for("staff_imports.page"))
    result = importer.run(db(), _files(path), actor=web.actor(),
                          today=current_app.extensions["dehqon.settings"].today(utcnow()), dry_run=False,
                          max_bytes=max_bytes())
    if not result.imported:  # the data changed since the check: show the new report
        return _page(result, status=409)
    db().commit()
    shutil.rmtree(path, ignore_errors=True)
    session.pop("import_token", None)
    flash(web.t("import.done", **{k: result.total(k) for k in ("created", "updated", "unchanged")}), "notice")
    return redirect(url_for("staff_imports.page"))


@bp.get("/report.<fmt>")
def download_report(fmt: str):
    web.require_role()
    path = _checked()
    if path is None or fmt not in ("csv", "xlsx"):
        web.not_found()
    issues = _issues(path)
    if fmt == "csv":
        body = ("\ufeff" + report.to_csv(issues, g.lang)).encode("utf-8")
    else:
        body = report.to_xlsx(issues, g.lang)
    return web.download(body, fmt, "import-report")


@bp.get("/template/<name>.<fmt>")
def template(name: str, fmt: str):
    web.require_role()
    if (name not in sheets.BY_KEY and name != "all") or fmt not in ("csv", "xlsx") or (name == "all" and fmt == "csv"):
        web.not_found()
    if fmt == "csv":
        body = ("\ufeff" + sheets.template_csv(name)).encode("utf-8")
    else:
        body = sheets.template_xlsx(None if name == "all" else name)
    return web.download(body, fmt, name)


@bp.get("/sample.xlsx")
def sample():
    """The shipped demo workbook (``service/programme/demo-region.xlsx``): a programme shaped like the
    case study, to try the import with or to start a real workbook from."""
    web.require_role()
    from service.programme import demo_workbook

    return Response(demo_workbook.PATH.read_bytes(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="demo-region.xlsx"'})
