"""A market's price history as a chart: one line per crop over the days prices were reported
(TJS/kg), drawn on the server by ``service.reports.output.line_chart``, with a text alternative
that states every value the chart draws."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from service.prices.market import MarketPrice
from service.reports.output import line_chart


def series(rows: Sequence[MarketPrice], crop_ids: Sequence[str]) -> tuple[list, list[tuple[str, list[int | None]]]]:
    """``(days, [(crop id, [price in diram/kg or None per day])])`` of ``rows`` (any order):
    ``days`` the distinct report days oldest first, one series per crop of ``crop_ids`` that has
    a report (in that order), ``None`` on a day the crop has none."""
    days = sorted({r.observed_on for r in rows})
    at = {(r.crop_id, r.observed_on): r.price_diram for r in rows}
    found = []
    for cid in crop_ids:
        if any(r.crop_id == cid for r in rows):
            found.append((cid, [at.get((cid, d)) for d in days]))
    return days, found


def description(title: str, days: Sequence, crops: Sequence[tuple[str, Sequence[int | None]]],
                money: Callable[[int], str], unit: str) -> str:
    """The chart's text alternative: ``title``, then per crop ``name (unit): day price, ...``
    (``crops`` as :func:`series` gives them with each crop id replaced by its name; ``money``
    formats diram as TJS in the page language)."""
    parts = []
    for name, values in crops:
        points = ", ".join(f"{d.isoformat()} {money(v)}" for d, v in zip(days, values) if v is not None)
        parts.append(f"{name} ({unit}): {points}")
    return f"{title}. " + "; ".join(parts) + ("." if parts else "")


def history_svg(rows: Sequence[MarketPrice], crop_names: dict[str, str], *, title: str, axis_label: str,
                money: Callable[[int], str]) -> str:
    """The SVG chart of a market's history ``rows`` (:func:`service.prices.entry.history`): one
    line per crop (named by ``crop_names``, crop id → name, which also gives the order) in TJS/kg
    over the report days, ``title`` and every value in its text alternative."""
    days, found = series(rows, list(crop_names))
    named = [(crop_names[cid], values) for cid, values in found]
    text = description(title, days, named, money, axis_label)
    return line_chart([d.strftime("%d.%m.%y") for d in days],
                      [(name, [None if v is None else v / 100 for v in values]) for name, values in named],
                      axis_label=axis_label, description=text)
