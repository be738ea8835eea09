"""``flask --app service programme ...``: import a programme from XLSX/CSV files, and its templates.

    flask --app service programme import FILE... [--dry-run] [--report OUT.csv|OUT.xlsx] [--language tg|ru|en|uz]
    flask --app service programme template SHEET|all --format xlsx|csv -o OUT

``import`` checks every row of the files and, unless ``--dry-run`` or an error is found, imports
them all in one transaction (nothing is written when any row has an error); the issues are
printed (and written to ``--report``) in ``--language``; the exit status is 1 when there are
errors. The audit log names the operating-system user (``cli:<login>``). ``template`` writes a
sheet's template (XLSX: headers and an example row; CSV: the header line); ``all`` (XLSX only)
gives one workbook with every sheet. Thin: ``service.programme``.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from handlers.cli import session, settings
from service.audit.log import Actor
from service.db import utcnow
from service.programme import importer, report, sheets

programme_group = AppGroup("programme", help="Import a programme (PGs, farmers, agents, centres) from XLSX/CSV.")


@programme_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check only: report every problem, write nothing.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report of problems to this .csv or .xlsx file.")
@click.option("--language", type=click.Choice(report.LANGUAGES), default="en", show_default=True,
              help="Language of the report.")
def import_command(files: tuple[Path, ...], dry_run: bool, report_path: Path | None, language: str):
    """Check and import programme FILES (one .xlsx workbook, or .csv files named after their sheets)."""
    limit = int(current_app.config.get("IMPORT_MAX_BYTES") or 8 * 1024 * 1024)
    for path in files:
        if path.stat().st_size > limit:
            raise click.ClickException(f"{path}: larger than IMPORT_MAX_BYTES ({limit:,} bytes)")
    data = [(p.name, p.read_bytes()) for p in files]
    with session() as s:
        result = importer.run(s, data, actor=Actor.cli(), today=settings().today(utcnow()), dry_run=dry_run,
                              max_bytes=limit)
        if result.imported:
            s.commit()
    for issue in result.issues:
        click.echo(f"{report.word('import.severity.' + issue.severity, language)}\t{issue.sheet}\t{issue.row or ''}\t"
                   f"{issue.column}\t{report.text(issue, language)}")
    if report_path is not None:
        if report_path.suffix.lower() == ".xlsx":
            report_path.write_bytes(report.to_xlsx(result.issues, language))
        else:
            report_path.write_text("\ufeff" + report.to_csv(result.issues, language), encoding="utf-8")
    counts = {k: result.total(k) for k in ("created", "updated", "unchanged")}
    if result.errors:
        click.echo(report.word("import.has_errors", language, n=len(result.errors)))
        raise SystemExit(1)
    if result.imported:
        click.echo(report.word("import.done", language, **counts))
    else:
        click.echo(report.word("import.ready", language, w=len(result.warnings)))
        click.echo(report.word("import.counts", language, **counts))


@programme_group.command("template")
@click.argument("sheet", type=click.Choice(["all", *sheets.BY_KEY]))
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def template_command(sheet: str, fmt: str, output: Path):
    """Write the template of SHEET (or ``all`` sheets in one workbook) to OUTPUT."""
    if fmt == "csv":
        if sheet == "all":
            raise click.BadParameter("a CSV template is one sheet: name it", param_hint="SHEET")
        output.write_text("\ufeff" + sheets.template_csv(sheet), encoding="utf-8")
    else:
        output.write_bytes(sheets.template_xlsx(None if sheet == "all" else sheet))
    click.echo(f"{output}: template of {sheet}")


COMMANDS = (programme_group,)
