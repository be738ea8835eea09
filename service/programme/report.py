"""The dry-run report: every rejected or doubtful row with its sheet, row, column and reason.

An :class:`Issue` names a reason by key (``village_unknown``, ``phone_bad``, ...) with its values;
:func:`text` words it in the staff member's language (tg, ru, en, uz) from
``service/templates/staff/strings/import.toml`` (keys ``import.reason.<key>``; the staff pages
read the same file). Severity: ``error`` (the row cannot be imported, so nothing is) or
``warning`` (doubtful, imported). :func:`to_csv` and :func:`to_xlsx` give the report as a download.
"""
from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

STRINGS = Path(__file__).resolve().parent.parent / "templates" / "staff" / "strings" / "import.toml"
LANGUAGES = ("tg", "ru", "en", "uz")
SEVERITIES = ("error", "warning")
#: reasons that are warnings (the row is imported); every other reason is an error
WARNINGS = frozenset({"land_large", "crop_not_cluster", "pg_other_district", "seat_replaced", "stage_older",
                      "phone_foreign", "lead_plot_village_far"})


@dataclass(frozen=True)
class Issue:
    """One problem: ``sheet`` key, ``row`` (spreadsheet row number; 1 the header, 0 the whole
    file), ``column`` key (or ""), ``reason`` key, ``params`` (values the wording uses)."""

    sheet: str
    row: int
    column: str
    reason: str
    params: dict = field(default_factory=dict)

    def __init__(self, sheet: str, row: int, column: str, reason: str, **params):
        object.__setattr__(self, "sheet", sheet)
        object.__setattr__(self, "row", row)
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "params", params)

    @property
    def severity(self) -> str:
        """``error`` or ``warning``."""
        return "warning" if self.reason in WARNINGS else "error"


@cache
def strings() -> dict[str, dict[str, str]]:
    """The words of ``import.toml`` per language (English fills the gaps)."""
    with STRINGS.open("rb") as f:
        table = tomllib.load(f)
    en = table.get("en", {})
    return {lang: {**en, **table.get(lang, {})} for lang in LANGUAGES}


def word(key: str, lang: str, **params) -> str:
    """The word ``key`` (``import.…``) in ``lang`` (else English), formatted with ``params``."""
    words = strings().get(lang) or strings()["en"]
    template = words.get(key) or strings()["en"].get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def text(issue: Issue, lang: str) -> str:
    """The reason of ``issue`` in ``lang``."""
    return word(f"import.reason.{issue.reason}", lang, **{k: v for k, v in issue.params.items()})


HEADERS = ("severity", "sheet", "row", "column", "reason", "message")


def _inert(value):
    """A cell a spreadsheet shows as text: one starting with ``=``, ``+``, ``-`` or ``@`` (a formula to
    Excel, LibreOffice and openpyxl) gets a leading apostrophe; the file's own words may carry them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def rows(issues: list[Issue], lang: str) -> list[list]:
    """The report as rows under localised headers: ``[headers, [severity, sheet, row, column, reason key, message], ...]``
    (cells that would read as formulas are made inert)."""
    head = [word(f"import.col.{h}", lang) for h in HEADERS]
    body = [[_inert(v) for v in (word(f"import.severity.{i.severity}", lang), i.sheet, i.row or "", i.column,
                                 i.reason, text(i, lang))]
            for i in sorted(issues, key=lambda i: (i.severity != "error", i.sheet, i.row, i.column))]
    return [head, *body]


def to_csv(issues: list[Issue], lang: str) -> str:
    """The report as CSV text (UTF-8 with a BOM when written, so spreadsheets read Cyrillic)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows(issues, lang))
    return out.getvalue()


def to_xlsx(issues: list[Issue], lang: str) -> bytes:
    """The report as an XLSX workbook (one sheet)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "report"
    for r in rows(issues, lang):
        ws.append(r)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
