"""What every report shares: its downloads (CSV, XLSX) and its charts (SVG drawn on the server by
matplotlib, no script, no font or file fetched from anywhere, with its own text alternative).

A report module builds its rows, then calls :func:`to_csv` / :func:`to_xlsx` with a header and a
list of cell lists, and draws with :func:`bar_chart` or :func:`line_chart` (or its own matplotlib
``Figure`` finished by :func:`figure_svg`). Text cells a spreadsheet would read as a formula are made
inert (``service.audit.log._inert``).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from service.audit.log import _inert as inert

#: the colours of a chart's series, in order (green, ochre, blue, red, grey, purple)
COLOURS = ("#1b6e3a", "#c9862b", "#2c5d8f", "#a23b3b", "#6b6b6b", "#6a4c93")
#: the response header an SVG chart is served with: matplotlib writes style attributes, nothing else may run
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_csv(header: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    """CSV bytes (UTF-8 with a byte-order mark, so that a spreadsheet reads Cyrillic): ``header``
    then ``rows``, every text cell made inert."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([inert(h) for h in header])
    for row in rows:
        writer.writerow([inert(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence], sheet_title: str = "report") -> bytes:
    """An XLSX workbook (bytes) of one sheet ``sheet_title`` (cut to Excel's 31 characters):
    ``header`` then ``rows``, numbers as numbers, text made inert."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    sheet.append([inert(h) for h in header])
    for row in rows:
        sheet.append([inert(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def figure_svg(fig, description: str) -> str:
    """The SVG text of a matplotlib ``fig``, text kept as text, no date, the same bytes each time,
    with ``description`` as its ``<title>`` and ``aria-label`` (``role="img"``)."""
    import matplotlib

    fig.tight_layout()
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dehqon"}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    start = text.index("<svg ")
    end = text.index(">", start)
    return (text[:start + 4] + f' role="img" aria-label={quoteattr(description)}' + text[start + 4:end + 1]
            + f"\n <title>{escape(description)}</title>" + text[end + 1:])


def bar_chart(names: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, axis_label: str,
              description: str, unit: str = "", xmax: float | None = None) -> str:
    """An SVG of horizontal grouped bars: one group per name (top to bottom in the order given),
    one bar per ``(label, values)`` series, each bar labelled with its value and ``unit``.
    ``xmax``: the axis end (e.g. 100 for percentages; default: fitted)."""
    n, k = len(names), max(1, len(series))
    fig = _figure(7, 0.3 * n * k + 0.25 * n + 1.4)
    ax = fig.add_subplot()
    height = 0.8 / k
    for i, (label, values) in enumerate(series):
        ys = [n - 1 - y + 0.4 - height * (i + 0.5) for y in range(n)]
        bars = ax.barh(ys, list(values), height, label=label, color=COLOURS[i % len(COLOURS)])
        ax.bar_label(bars, labels=[f"{_num(v)}{unit}" for v in values], padding=3, fontsize=9)
    ax.set_yticks([n - 1 - y for y in range(n)], list(names))
    top = xmax if xmax is not None else max([0.0, *(v for _, vs in series for v in vs)]) * 1.15 or 1
    ax.set_xlim(0, top)
    ax.set_xlabel(axis_label)
    if len(series) > 1:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=min(k, 3), fontsize=9, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig, description)


def line_chart(points: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, axis_label: str,
               description: str, stacked: bool = False, integer: bool = False) -> str:
    """An SVG of one line per ``(label, values)`` series over the x labels ``points`` (months,
    dates; ``None`` is a gap), or of stacked areas with ``stacked``; ``integer``: whole-number
    ticks on the y axis (for counts)."""
    fig = _figure(7, 3.6)
    ax = fig.add_subplot()
    xs = list(range(len(points)))
    if stacked and series:
        ax.stackplot(xs, *[[v or 0 for v in values] for _, values in series], labels=[s[0] for s in series],
                     colors=COLOURS[:len(series)])
    else:
        for i, (label, values) in enumerate(series):
            ax.plot(xs, [float("nan") if v is None else v for v in values], marker="o", label=label,
                    color=COLOURS[i % len(COLOURS)])
    step = max(1, len(points) // 12)
    ax.set_xticks(xs[::step], list(points)[::step], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(axis_label)
    ax.set_ylim(bottom=0)
    if integer:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if series:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=min(len(series), 4), fontsize=9, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return figure_svg(fig, description)


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.1f}"
