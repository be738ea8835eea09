"""Reading a programme file (XLSX workbook or CSV files) into rows of :data:`~service.programme.sheets.SHEETS`.

:func:`read` returns a :class:`Book`: per sheet key, its rows as ``(row number, {column: cell})``
(row numbers as a spreadsheet shows them: the header is row 1) and the problems found while
reading (unknown sheet or column, too many rows, a file too large or unreadable) as
:class:`~service.programme.report.Issue` rows. Cells are kept as read: ``str`` for CSV and text
cells, ``int``/``float``/``datetime`` for typed XLSX cells; empty cells are left out.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

from service.programme.report import Issue
from service.programme.sheets import BY_KEY, MAX_ROWS

#: the default most bytes of one file (``config.IMPORT_MAX_BYTES`` overrides it)
DEFAULT_MAX_BYTES = 8 * 1024 * 1024


@dataclass
class Book:
    """What was read: ``rows`` {sheet key: [(row number, {column: value})]}, ``issues`` (errors of
    reading) and ``files`` (the names read)."""

    rows: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _sheet_of_name(name: str) -> str | None:
    """The sheet a CSV file's name stands for (``farmers.csv``, ``2026-farmers.csv``), or None."""
    stem = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower()
    stem = stem[:-4] if stem.endswith(".csv") else stem
    if stem in BY_KEY:
        return stem
    found = [k for k in BY_KEY if stem.endswith(k) or stem.startswith(k)]
    return max(found, key=len) if found else None


def _add(book: Book, key: str, where: str, header: list, rows) -> None:
    """Check ``header`` against the sheet and add the data rows (an iterator of lists)."""
    sheet = BY_KEY[key]
    header = [str(h).strip().lower() if h is not None else "" for h in header]
    while header and not header[-1]:
        header.pop()
    bad = False
    for i, h in enumerate(header):
        if h and sheet.column(h) is None:
            book.issues.append(Issue(key, 1, h, "column_unknown"))
            bad = True
        elif h and header.index(h) != i:
            book.issues.append(Issue(key, 1, h, "column_twice"))
            bad = True
    for c in sheet.columns:
        if c.required and c.key not in header:
            book.issues.append(Issue(key, 1, c.key, "column_missing"))
            bad = True
    if key in book.rows:
        book.issues.append(Issue(key, 0, "", "sheet_twice", where=where))
        return
    out = book.rows[key] = []
    if bad:
        return
    for number, values in enumerate(rows, start=2):
        cells = {}
        for h, v in zip(header, values):
            if not h or v is None:
                continue
            if isinstance(v, str):
                v = v.strip()
                if not v:
                    continue
            cells[h] = v
        if not cells:
            continue
        if len(out) >= MAX_ROWS:
            book.issues.append(Issue(key, number, "", "too_many_rows", limit=MAX_ROWS))
            break
        out.append((number, cells))


def read_csv(book: Book, name: str, data: bytes) -> None:
    """Add one CSV file (UTF-8, with or without a BOM; ``,`` or ``;`` separated) to ``book``."""
    key = _sheet_of_name(name)
    if key is None:
        book.issues.append(Issue("", 0, "", "sheet_unknown", where=name))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        book.issues.append(Issue(key, 0, "", "not_utf8", where=name))
        return
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        book.issues.append(Issue(key, 1, "", "empty", where=name))
        return
    _add(book, key, name, header, reader)


def read_xlsx(book: Book, name: str, data: bytes) -> None:
    """Add every sheet of one XLSX workbook to ``book`` (sheet titles are sheet keys)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        book.issues.append(Issue("", 0, "", "not_xlsx", where=name))
        return
    try:
        for ws in wb.worksheets:
            key = ws.title.strip().lower()
            if key not in BY_KEY:
                book.issues.append(Issue(ws.title, 0, "", "sheet_unknown", where=name))
                continue
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                continue
            _add(book, key, name, list(header), (list(r) for r in rows))
    finally:
        wb.close()


def read(files: list[tuple[str, bytes]], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Book:
    """Read ``files`` (``(name, content)``: ``.xlsx`` workbooks and ``.csv`` sheets) into a :class:`Book`.
    A file over ``max_bytes`` bytes (or several adding up to more) is refused as a whole
    (``file_too_large``)."""
    book = Book()
    total = 0
    for name, data in files:
        book.files.append(name)
        total += len(data)
        if total > max_bytes:
            book.issues.append(Issue("", 0, "", "file_too_large", where=name, limit=max_bytes))
            continue
        if name.lower().endswith(".xlsx") or data[:2] == b"PK":
            read_xlsx(book, name, data)
        else:
            read_csv(book, name, data)
    return book
