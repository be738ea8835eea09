"""The sheets and columns of a programme file, declared once as data.

The importer (:mod:`service.programme.importer`), the reader (:mod:`service.programme.reader`), the
templates (:func:`template_xlsx`, :func:`template_csv`) and the demo workbook
(:mod:`service.programme.export`) all read :data:`SHEETS`. A workbook has one sheet per kind
(its title is the sheet's ``key``); CSV files are one per kind, named ``<key>.csv`` (or carrying the
key in their name, e.g. ``2026-farmers.csv``). The first row holds the column keys; the order of
columns does not matter and unknown columns are refused.

Lists in one cell (crops, villages, districts, items) are separated by ``;`` (or ``,``).
Dates are ``YYYY-MM-DD`` (or ``DD.MM.YYYY``, or an XLSX date cell); land and areas in ha; a
centre's capacity in tonnes per season.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

#: most characters of one cell (a longer cell is an error of its row)
MAX_CELL_CHARS = 400
#: most data rows in one sheet
MAX_ROWS = 20_000
#: the kinds of a column's value (checked by the importer)
KINDS = ("text", "int", "decimal", "date", "phone", "list", "choice")


@dataclass(frozen=True)
class Column:
    """A column: ``key`` (its header), ``kind`` (:data:`KINDS`), ``required``, ``max_chars`` (at most
    :data:`MAX_CELL_CHARS`), ``choices`` for a ``choice`` column, ``example`` (the template's row)
    and ``help`` (English, for the documentation)."""

    key: str
    kind: str = "text"
    required: bool = False
    max_chars: int = 120
    choices: tuple[str, ...] = ()
    example: str = ""
    help: str = ""


@dataclass(frozen=True)
class Sheet:
    """A sheet: ``key`` (title or CSV name), ``columns``, ``identity`` (the columns that name a row's
    record: a second import updates the record they name) and ``help``."""

    key: str
    columns: tuple[Column, ...]
    identity: tuple[str, ...]
    help: str = ""

    def column(self, key: str) -> Column | None:
        """The column ``key`` or None."""
        return next((c for c in self.columns if c.key == key), None)

    @property
    def headers(self) -> list[str]:
        """The column keys in template order."""
        return [c.key for c in self.columns]


LANGS = ("tg", "ru", "uz", "en")
GENDERS = ("female", "male")
STAGES = ("forming", "storming", "norming", "performing")
EC_ROLES = ("chair", "deputy", "secretary", "treasurer", "ec_member")
MEMBER_STATUSES = ("active", "pending", "left")
VAM_KINDS = ("individual", "agro_shop", "cbo")


def _names(required: bool, examples: dict[str, str], prefix: str = "name_", max_chars: int = 60) -> tuple:
    return tuple(Column(f"{prefix}{lang}", required=required, max_chars=max_chars, example=examples.get(lang, ""),
                        help=f"name in {lang}") for lang in LANGS)


SHEETS: tuple[Sheet, ...] = (
    Sheet("villages", (
        Column("district", required=True, max_chars=60, example="kulob", help="district id or name (any language)"),
        Column("jamoat", required=True, max_chars=60, example="Dahana", help="jamoat id or name in the district"),
        *_names(True, {"tg": "Гулобод", "ru": "Гулабад", "uz": "Gulobod", "en": "Gulobod"}),
    ), identity=("district", "name_tg"),
        help="Villages: a known one (by any of its names in the district) is kept, a new one is added."),
    Sheet("cbos", (
        Column("name", required=True, example="CBO Gulobod"),
        Column("district", required=True, max_chars=60, example="kulob"),
        Column("village", required=True, max_chars=60, example="Gulobod"),
    ), identity=("name", "village"), help="Community Based Organisations, one per village or more."),
    Sheet("clusters", (
        Column("id", required=True, max_chars=64, example="tomato.kulob", help="<crop>.<district>"),
        Column("crop", required=True, max_chars=40, example="tomato"),
        Column("district", required=True, max_chars=60, example="kulob"),
    ), identity=("id",), help="Commodity clusters (a crop in a district)."),
    Sheet("markets", (
        Column("code", required=True, max_chars=24, example="KULOB"),
        Column("district", required=True, max_chars=60, example="kulob"),
        *_names(True, {"tg": "Бозори Кӯлоб", "ru": "Рынок Куляба", "uz": "Ko'lob bozori", "en": "Kulob market"}),
        *_names(False, {"tg": "Кӯлоб", "ru": "Куляб", "uz": "Ko'lob", "en": "Kulob"}, prefix="short_", max_chars=40),
    ), identity=("code",), help="Markets where prices are reported (collection centres: sheet centres)."),
    Sheet("centres", (
        Column("code", required=True, max_chars=24, example="DAHANA"),
        Column("cluster", required=True, max_chars=64, example="tomato.kulob"),
        Column("capacity_t", "decimal", required=True, max_chars=12, example="1000", help="tonnes per season"),
        *_names(True, {"tg": "Маркази ҷамъоварии Даҳана", "ru": "Пункт сбора Даханы",
                       "uz": "Dahana yig'ish markazi", "en": "Dahana collection centre"}, max_chars=40),
    ), identity=("code",), help="Collection centres of the clusters."),
    Sheet("pgs", (
        Column("code", required=True, max_chars=16, example="KUL01"),
        Column("name", required=True, example="Гулобод"),
        Column("district", required=True, max_chars=60, example="kulob"),
        Column("village", required=True, max_chars=60, example="Gulobod"),
        Column("cbo", example="CBO Gulobod", help="name of a CBO of the village"),
        Column("cluster", max_chars=64, example="tomato.kulob"),
        Column("stage", "choice", required=True, choices=STAGES, example="forming"),
        Column("stage_date", "date", required=True, example="2025-03-01", help="date of that stage's assessment"),
    ), identity=("code",), help="Producer groups."),
    Sheet("farmers", (
        Column("name", required=True, max_chars=40, example="Рустам Раҳимов"),
        Column("gender", "choice", required=True, choices=GENDERS, example="male"),
        Column("phone", "phone", required=True, max_chars=24, example="+992 90 123 4567"),
        Column("language", "choice", required=True, choices=LANGS, example="tg"),
        Column("district", required=True, max_chars=60, example="kulob"),
        Column("village", required=True, max_chars=60, example="Gulobod"),
        Column("land_ha", "decimal", max_chars=12, example="1.5"),
        Column("crops", "list", max_chars=120, example="tomato; onion"),
        Column("pg", max_chars=16, example="KUL01", help="code of the farmer's PG"),
        Column("status", "choice", choices=MEMBER_STATUSES, example="active", help="membership (default active)"),
        Column("joined_on", "date", example="2025-03-01"),
        Column("left_on", "date", example="", help="for status left"),
        Column("ec_role", "choice", choices=EC_ROLES, example="chair", help="EC seat held"),
        Column("elected_on", "date", example="2025-03-01", help="date of the seat's election"),
    ), identity=("phone", "name"), help="Farmers (a household phone may carry several profiles)."),
    Sheet("vam_agents", (
        Column("code", required=True, max_chars=16, example="VAMGUL"),
        Column("name", required=True, example="Gulobod agro-service"),
        Column("kind", "choice", required=True, choices=VAM_KINDS, example="individual"),
        Column("phone", "phone", required=True, max_chars=24, example="+992 90 555 0101"),
        Column("language", "choice", required=True, choices=LANGS, example="tg"),
        Column("district", max_chars=60, example="kulob", help="home district; the villages are in it"),
        Column("whole_districts", "list", max_chars=200, example="kulob", help="districts supplied whole"),
        Column("villages", "list", max_chars=MAX_CELL_CHARS, example="Gulobod; Dahana", help="villages served"),
        Column("items", "list", max_chars=MAX_CELL_CHARS, example="TML1; FCM1", help="input item codes supplied"),
    ), identity=("code",), help="VAM agents (village agents, agro-shops, CBO supply)."),
    Sheet("lead_farmers", (
        Column("phone", "phone", required=True, max_chars=24, example="+992 90 123 4567"),
        Column("name", required=True, max_chars=40, example="Рустам Раҳимов", help="a farmer profile on the phone"),
        Column("pg", max_chars=16, example="KUL01"),
        Column("villages", "list", max_chars=MAX_CELL_CHARS, example="Gulobod", help="villages served (farmer's district)"),
        Column("plot_village", max_chars=60, example="Gulobod"),
        Column("plot_crop", max_chars=40, example="tomato"),
        Column("plot_area_ha", "decimal", max_chars=12, example="0.1"),
        Column("plot_season", "int", max_chars=4, example="2026"),
        Column("plot_practice", max_chars=120, example="drip irrigation"),
    ), identity=("phone", "name"), help="Lead farmers, one row per demonstration plot (or one without a plot)."),
)

BY_KEY: dict[str, Sheet] = {s.key: s for s in SHEETS}


def sheet(key: str) -> Sheet:
    """The sheet ``key``; ``KeyError`` for an unknown one."""
    return BY_KEY[key]


def template_csv(key: str) -> str:
    """The CSV template of sheet ``key``: its header line (UTF-8 text, ``\\r\\n`` line end)."""
    out = io.StringIO()
    csv.writer(out).writerow(sheet(key).headers)
    return out.getvalue()


def template_xlsx(key: str | None = None) -> bytes:
    """An XLSX template: the sheet ``key`` (every sheet when None) with its header row and one
    example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for s in ([sheet(key)] if key else SHEETS):
        ws = wb.create_sheet(s.key)
        ws.append(s.headers)
        ws.append([c.example for c in s.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
