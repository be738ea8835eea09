"""Import a programme (villages, CBOs, clusters, markets, centres, PGs, farmers, VAM agents, lead
farmers and their demo plots) from XLSX or CSV, all or nothing.

:func:`run` reads the files (:mod:`service.programme.reader`), checks every row of every sheet in
the order of :data:`~service.programme.sheets.SHEETS` and applies it in the caller's session, so
later sheets see earlier ones (a farmer's PG may be a new PG of the same file). When any row has an
error, or for a dry run, the whole transaction is rolled back (``session.rollback()``: give the
import a session of its own with nothing else pending) and nothing is written; the
:class:`Result` lists every issue (:class:`~service.programme.report.Issue`: errors and warnings)
and the counts of what was (or, in a dry run, would be) created, updated and left unchanged.
Otherwise the changes are flushed with their audit entries (one ``import.update`` entry with the
record before and after for each updated record, one ``import.run`` summary entry with the counts)
and the caller commits.

Records are found by their identity, so a second import of a corrected file updates them and
creates no duplicates; the same file twice changes nothing: PGs, VAM agents, centres and markets
by code, farmers by phone and name (a household phone may carry several profiles), lead farmers by
the farmer, villages by any of their names in the district, CBOs by village and name, demo plots
by lead farmer, village, crop and season, EC seats by PG and role (a new holder replaces the old one,
keeping the seat history), stage assessments by PG, stage and date. A row never deletes a
record; a farmer row without ``ec_role`` ends a seat the farmer held in that PG.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.advice import responders
from service.advice.demo_plot import MAX_PRACTICE_CHARS, DemoPlot
from service.audit import log
from service.db import utcnow
from service.errors import Refusal
from service.farmers import models as farmers
from service.groups import cluster_committee, committee, membership
from service.groups.cluster import CommodityCluster
from service.groups.producer_group import CBO, ProducerGroup, StageAssessment, normalise_code, set_stage
from service.orders import catalogue
from service.prices.market import Market
from service.programme import reader
from service.programme.report import Issue
from service.programme.sheets import BY_KEY, SHEETS, Sheet
from service.farmers import privacy
from service.reference import phone as phones
from service.reference.crops import Crop, find_crop
from service.reference.geography import District, Jamoat, Village, find_district
from service.reference.names import fold
from service.sales import joint_sale

#: land above this many ha is doubtful (a warning); above ``farmers.MAX_LAND_HA`` an error
LARGE_LAND_HA = Decimal("50")
#: most tonnes per season of a collection centre
MAX_CAPACITY_T = Decimal("100000")
#: most ha of a demonstration plot
MAX_PLOT_HA = Decimal("20")
EARLIEST = dt.date(1990, 1, 1)


@dataclass
class Result:
    """What an import did or would do: ``issues`` (errors first), ``counts`` {sheet: {"created",
    "updated", "unchanged": n}}, ``dry_run``, ``imported`` (True when the changes stand, for the
    caller to commit) and ``files`` read."""

    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dry_run: bool = True
    imported: bool = False
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        """The issues that stop the import."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """The doubtful rows (imported)."""
        return [i for i in self.issues if i.severity == "warning"]

    def total(self, what: str) -> int:
        """Rows ``created``, ``updated`` or ``unchanged`` over every sheet."""
        return sum(c.get(what, 0) for c in self.counts.values())


class _RowError(Exception):
    """A row cannot be imported: the issue to report."""

    def __init__(self, column: str, reason: str, **params):
        super().__init__(reason)
        self.column, self.reason, self.params = column, reason, params


def _dec_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Import:
    """The state of one import: caches of the reference data and what the file has named so far."""

    def __init__(self, session: Session, actor: log.Actor, today: dt.date):
        self.s, self.actor, self.today = session, actor, today
        self.issues: list[Issue] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.seen: dict[str, dict] = {}
        self._villages: dict[str, dict[str, list[int]]] = {}
        self.sheet: Sheet | None = None
        self.row = 0

    # ------------------------------------------------------------- bookkeeping
    def warn(self, column: str, reason: str, **params) -> None:
        self.issues.append(Issue(self.sheet.key, self.row, column, reason, **params))

    def count(self, what: str) -> None:
        c = self.counts.setdefault(self.sheet.key, {"created": 0, "updated": 0, "unchanged": 0})
        c[what] += 1

    def once(self, key, column: str, reason: str) -> None:
        """Refuse a second row of the file naming the same record."""
        first = self.seen.setdefault(self.sheet.key, {}).get(key)
        if first is not None:
            raise _RowError(column, reason, first=first)
        self.seen[self.sheet.key][key] = self.row

    def audit_update(self, object_type: str, object_id, before: dict, after: dict) -> None:
        changed = {k for k in after if before.get(k) != after.get(k)}
        log.record(self.s, self.actor, "import.update", object_type, object_id,
                   before={k: before.get(k) for k in sorted(changed)}, after={k: after[k] for k in sorted(changed)},
                   note=f"{self.sheet.key} row {self.row}")

    # ------------------------------------------------------------- cells
    def cells(self, cells: dict) -> dict:
        """The row's values checked against the column declarations (``_RowError`` on the first bad one)."""
        out = {}
        for col in self.sheet.columns:
            raw = cells.get(col.key)
            if raw is None or (isinstance(raw, str) and not raw):
                if col.required:
                    raise _RowError(col.key, "required")
                out[col.key] = [] if col.kind == "list" else None
                continue
            if not isinstance(raw, (dt.date, dt.datetime)) and len(_dec_text(raw)) > col.max_chars:
                raise _RowError(col.key, "too_long", limit=col.max_chars)
            out[col.key] = self.value(col, raw)
        return out

    def value(self, col, raw):
        text = _dec_text(raw).strip() if not isinstance(raw, (dt.date, dt.datetime)) else ""
        if col.kind == "choice":
            v = text.lower().replace(" ", "_")
            if v not in col.choices:
                raise _RowError(col.key, "choice_bad", value=text, allowed=", ".join(col.choices))
            return v
        if col.kind == "date":
            return self.date(col.key, raw, text)
        if col.kind in ("decimal", "int"):
            try:
                v = Decimal(text.replace(",", ".").replace(" ", ""))
            except InvalidOperation:
                raise _RowError(col.key, "number_bad", value=text) from None
            if not v.is_finite():
                raise _RowError(col.key, "number_bad", value=text)
            if col.kind == "int":
                if v != v.to_integral_value():
                    raise _RowError(col.key, "number_bad", value=text)
                return int(v)
            return v
        if col.kind == "phone":
            try:
                e164 = phones.to_e164(text)
            except phones.InvalidPhone:
                raise _RowError(col.key, "phone_bad", value=text) from None
            if not e164.startswith("+992"):
                self.warn(col.key, "phone_foreign", value=e164)
            return e164
        if col.kind == "list":
            return [p.strip() for p in re.split(r"[;,\n]", text) if p.strip()]
        return " ".join(text.split())

    def date(self, column: str, raw, text: str) -> dt.date:
        if isinstance(raw, dt.datetime):
            day = raw.date()
        elif isinstance(raw, dt.date):
            day = raw
        else:
            day = None
            for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
                try:
                    day = dt.datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
            if day is None:
                raise _RowError(column, "date_bad", value=text)
        if day > self.today:
            raise _RowError(column, "date_future", value=day.isoformat())
        if day < EARLIEST:
            raise _RowError(column, "date_bad", value=day.isoformat())
        return day

    # ------------------------------------------------------------- look-ups
    def district(self, text: str, column: str = "district") -> District:
        d = self.s.get(District, text.strip().lower())
        if d is None:
            found = find_district(self.s, text)
            d = found[0] if len(found) == 1 else None
        if d is None:
            raise _RowError(column, "district_unknown", value=text)
        return d

    def village_index(self, district_id: str) -> dict[str, list[int]]:
        if district_id not in self._villages:
            index: dict[str, list[int]] = {}
            for vid, names in self.s.execute(select(Village.id, Village.names).where(Village.district_id == district_id)):
                for name in {fold(n) for n in (names or {}).values() if n}:
                    index.setdefault(name, []).append(vid)
            self._villages[district_id] = index
        return self._villages[district_id]

    def find_village(self, district: District, names: list[str]) -> int | None:
        """The village of ``district`` any of ``names`` names, or None; ``_RowError`` when they name several."""
        index = self.village_index(district.id)
        ids = {vid for n in names if n for vid in index.get(fold(n), [])}
        if len(ids) > 1:
            raise _RowError("village", "village_ambiguous", value=" / ".join(n for n in names if n))
        return ids.pop() if ids else None

    def village(self, district: District, text: str, column: str = "village") -> int:
        try:
            vid = self.find_village(district, [text])
        except _RowError:
            raise _RowError(column, "village_ambiguous", value=text) from None
        if vid is None:
            raise _RowError(column, "village_unknown", value=text, district=district.name("en"))
        return vid

    def crop(self, text: str, column: str) -> Crop:
        c = self.s.get(Crop, text.strip().lower()) or find_crop(self.s, text)
        if c is None:
            raise _RowError(column, "crop_unknown", value=text)
        return c

    def cluster(self, text: str, column: str = "cluster") -> CommodityCluster:
        c = self.s.get(CommodityCluster, text.strip().lower())
        if c is None:
            raise _RowError(column, "cluster_unknown", value=text)
        return c

    def pg(self, text: str, column: str = "pg") -> ProducerGroup:
        code = normalise_code(text)
        pg = self.s.scalar(select(ProducerGroup).where(ProducerGroup.code == code)) if code else None
        if pg is None:
            raise _RowError(column, "pg_unknown", value=text)
        return pg

    # ------------------------------------------------------------- sheets
    def villages(self, v: dict) -> None:
        district = self.district(v["district"])
        jamoat = self.jamoat(district, v["jamoat"])
        names = {lang: v[f"name_{lang}"] for lang in ("tg", "ru", "uz", "en") if v.get(f"name_{lang}")}
        vid = self.find_village(district, list(names.values()))
        self.once(("village", vid or fold(names["tg"]), district.id), "name_tg", "duplicate_village")
        if vid is None:
            full = {lang: names.get(lang) or names.get("en") or names["tg"] for lang in ("tg", "ru", "uz", "en")}
            village = Village(jamoat_id=jamoat.id, district_id=district.id, names=full)
            self.s.add(village)
            self.s.flush()
            for name in {fold(n) for n in full.values()}:
                self.village_index(district.id).setdefault(name, []).append(village.id)
            self.count("created")
            return
        village = self.s.get(Village, vid)
        after = {**village.names, **names}
        if after != village.names or village.jamoat_id != jamoat.id:
            before = {"names": dict(village.names), "jamoat_id": village.jamoat_id}
            village.names, village.jamoat_id = after, jamoat.id
            self.audit_update("village", vid, before, {"names": after, "jamoat_id": jamoat.id})
            self.count("updated")
        else:
            self.count("unchanged")

    def jamoat(self, district: District, text: str) -> Jamoat:
        wanted = fold(text)
        for j in self.s.scalars(select(Jamoat).where(Jamoat.district_id == district.id)):
            if text.strip().lower() in (j.id, j.id.split(".", 1)[1]) or wanted in {fold(n) for n in j.names.values()}:
                return j
        raise _RowError("jamoat", "jamoat_unknown", value=text, district=district.name("en"))

    def cbos(self, v: dict) -> None:
        district = self.district(v["district"])
        vid = self.village(district, v["village"])
        self.once((vid, fold(v["name"])), "name", "duplicate_record")
        if self.find_cbo(vid, v["name"]) is not None:
            self.count("unchanged")
            return
        self.s.add(CBO(name=v["name"], village_id=vid))
        self.s.flush()
        self.count("created")

    def find_cbo(self, village_id: int, name: str) -> CBO | None:
        return next((c for c in self.s.scalars(select(CBO).where(CBO.village_id == village_id).order_by(CBO.id))
                     if fold(c.name) == fold(name)), None)

    def clusters(self, v: dict) -> None:
        crop = self.crop(v["crop"], "crop")
        district = self.district(v["district"])
        cid = v["id"].strip().lower()
        self.once(cid, "id", "duplicate_code")
        existing = self.s.get(CommodityCluster, cid)
        if existing is not None:
            if (existing.crop_id, existing.district_id) != (crop.id, district.id):
                raise _RowError("id", "cluster_mismatch", value=cid, crop=existing.crop_id,
                                district=existing.district_id)
            self.count("unchanged")
            return
        names = {lang: f"{crop.names.get(lang, crop.id)} - {district.names.get(lang, district.id)}"
                 for lang in ("tg", "ru", "uz", "en")}
        self.s.add(CommodityCluster(id=cid, crop_id=crop.id, district_id=district.id, names=names))
        self.s.flush()
        self.count("created")

    def markets(self, v: dict) -> None:
        district = self.district(v["district"])
        code = v["code"].strip().upper()
        if not (2 <= len(code) <= 24 and code.isascii() and code.isalnum()):
            raise _RowError("code", "code_bad", value=v["code"])
        self.once(code, "code", "duplicate_code")
        names = {lang: v[f"name_{lang}"] for lang in ("tg", "ru", "uz", "en")}
        names.update({f"{lang}_short": v[f"short_{lang}"] for lang in ("tg", "ru", "uz", "en") if v.get(f"short_{lang}")})
        market = self.s.scalar(select(Market).where(func.upper(Market.code) == code))
        if market is None:
            self.s.add(Market(code=code, district_id=district.id, kind="market", names=names))
            self.s.flush()
            self.count("created")
            return
        if market.kind != "market":
            raise _RowError("code", "market_is_centre", value=code)
        after = {**market.names, **names}
        if after != market.names or market.district_id != district.id:
            before = log.snapshot(market, ("names", "district_id"))
            market.names, market.district_id = after, district.id
            self.audit_update("market", code, before, log.snapshot(market, ("names", "district_id")))
            self.count("updated")
        else:
            self.count("unchanged")

    def centres(self, v: dict) -> None:
        cluster = self.cluster(v["cluster"])
        code = v["code"].strip().upper()
        self.once(code, "code", "duplicate_code")
        tonnes = v["capacity_t"]
        if not 0 < tonnes <= MAX_CAPACITY_T:
            raise _RowError("capacity_t", "capacity_range", value=str(tonnes), limit=str(MAX_CAPACITY_T))
        grams = int((tonnes * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        names = {lang: v[f"name_{lang}"] for lang in ("tg", "ru", "uz", "en")}
        centre = joint_sale.by_code(self.s, code)
        try:
            if centre is None:
                joint_sale.add_centre(self.s, code, cluster.id, grams, names)
                self.count("created")
                return
            market = joint_sale.market_of(self.s, centre)
            full = {k: val for k, val in market.names.items() if not k.endswith("_short")}
            if centre.capacity_g == grams and full == names and centre.cluster_id == cluster.id:
                self.count("unchanged")
                return
            before = {"capacity_g": centre.capacity_g, "names": dict(market.names), "cluster_id": centre.cluster_id}
            joint_sale.edit_centre(self.s, centre, capacity_g=grams, names=names if full != names else None,
                                   cluster_id=cluster.id)
            self.audit_update("collection_centre", code, before, {"capacity_g": centre.capacity_g,
                                                                  "names": dict(market.names),
                                                                  "cluster_id": centre.cluster_id})
            self.count("updated")
        except ValueError as e:
            raise _RowError("code", "refused", detail=str(e)) from None

    PG_FIELDS = ("name", "village_id", "cbo_id", "cluster_id")

    def pgs(self, v: dict) -> None:
        code = normalise_code(v["code"])
        if not (2 <= len(code) <= 16 and code.isascii()):
            raise _RowError("code", "code_bad", value=v["code"])
        self.once(code, "code", "duplicate_code")
        district = self.district(v["district"])
        vid = self.village(district, v["village"])
        cbo = None
        if v.get("cbo"):
            cbo = self.find_cbo(vid, v["cbo"])
            if cbo is None:
                raise _RowError("cbo", "cbo_unknown", value=v["cbo"])
        cluster = self.cluster(v["cluster"]) if v.get("cluster") else None
        if cluster is not None and cluster.district_id != district.id:
            self.warn("cluster", "pg_other_district", cluster=cluster.id, district=district.id)
        wanted = {"name": v["name"], "village_id": vid, "cbo_id": cbo.id if cbo else None,
                  "cluster_id": cluster.id if cluster else None}
        pg = self.s.scalar(select(ProducerGroup).where(ProducerGroup.code == code))
        changed = False
        if pg is None:
            pg = ProducerGroup(code=code, stage=v["stage"], created_at=utcnow(), **wanted)
            self.s.add(pg)
            self.s.flush()
            self.count("created")
            created = True
        else:
            created = False
            before = log.snapshot(pg, (*self.PG_FIELDS, "stage"))
            for k, val in wanted.items():
                if getattr(pg, k) != val:
                    setattr(pg, k, val)
                    changed = True
        has = self.s.scalar(select(StageAssessment.id).where(
            StageAssessment.pg_id == pg.id, StageAssessment.stage == v["stage"],
            StageAssessment.assessed_on == v["stage_date"]).limit(1))
        if has is None:
            latest = self.s.scalar(select(func.max(StageAssessment.assessed_on)).where(StageAssessment.pg_id == pg.id))
            if latest is not None and v["stage_date"] < latest:
                self.warn("stage_date", "stage_older", latest=latest.isoformat())
            set_stage(self.s, pg, v["stage"], v["stage_date"])
            self.s.flush()
            changed = True
        if created:
            return
        if changed:
            self.audit_update("producer_group", code, before, log.snapshot(pg, (*self.PG_FIELDS, "stage")))
            self.count("updated")
        else:
            self.count("unchanged")

    FARMER_FIELDS = ("gender", "language", "village_id", "land_m2", "crop_ids")

    def farmers(self, v: dict) -> None:
        name = v["name"]
        try:
            name = farmers.clean_name(name)
        except Refusal:
            raise _RowError("name", "name_bad", value=name) from None
        phone = v["phone"]
        self.once((phone, fold(name)), "name", "duplicate_person")
        if self.find_farmer(phone, name) is None and privacy.was_erased(self.s, phone):
            # the farmer on this phone asked to be erased (docs/privacy.md): an old list brings them back only by
            # their own new registration
            raise _RowError("phone", "phone_erased")
        role = v.get("ec_role")
        if role and v.get("pg"):  # before the look-ups: a second holder is told even when the first row fails
            self.once(("seat", normalise_code(v["pg"]), role), "ec_role",
                      "seat_twice_" + ("chair" if role == "chair" else "other"))
        district = self.district(v["district"])
        vid = self.village(district, v["village"])
        land_m2 = None
        if v.get("land_ha") is not None:
            ha = v["land_ha"]
            if not 0 < ha <= farmers.MAX_LAND_HA:
                raise _RowError("land_ha", "land_range", value=str(ha), limit=str(farmers.MAX_LAND_HA))
            if ha > LARGE_LAND_HA:
                self.warn("land_ha", "land_large", value=str(ha))
            land_m2 = max(1, int((ha * 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
        crop_ids = sorted({self.crop(c, "crops").id for c in v["crops"]})
        pg = self.pg(v["pg"]) if v.get("pg") else None
        status = v.get("status") or ("active" if pg else None)
        if status and pg is None:
            raise _RowError("pg", "pg_missing")
        if role:
            if status != "active":
                raise _RowError("ec_role", "ec_not_active")
            if v.get("elected_on") is None:
                raise _RowError("elected_on", "elected_missing")
        if status == "left" and v.get("left_on") is None:
            raise _RowError("left_on", "left_missing")
        if pg is not None and pg.cluster_id:
            cluster_crop = pg.cluster_id.split(".")[0]
            if crop_ids and cluster_crop not in crop_ids:
                self.warn("crops", "crop_not_cluster", crop=cluster_crop, pg=pg.code)
        if len(self.s.scalars(select(farmers.Farmer.id).where(farmers.Farmer.phone == phone)).all()) \
                >= farmers.MAX_PROFILES_PER_PHONE and self.find_farmer(phone, name) is None:
            raise _RowError("phone", "too_many_profiles", limit=farmers.MAX_PROFILES_PER_PHONE)

        farmer = self.find_farmer(phone, name)
        changed = False
        if farmer is None:
            farmer = farmers.register(self.s, phone=phone, name=name, gender=v["gender"], village_id=vid,
                                      crop_ids=crop_ids, land_m2=land_m2, language=v["language"], via="import")
            created = True
        else:
            created = False
            before = log.snapshot(farmer, self.FARMER_FIELDS)
            wanted = {"gender": v["gender"], "language": v["language"], "village_id": vid, "land_m2": land_m2}
            for k, val in wanted.items():
                if getattr(farmer, k) != val:
                    setattr(farmer, k, val)
                    changed = True
            if farmer.crop_ids != crop_ids:
                keep = [r for r in farmer.crop_rows if r.crop_id in crop_ids]
                farmer.crop_rows = keep + [farmers.FarmerCrop(crop_id=c) for c in crop_ids
                                           if c not in {r.crop_id for r in keep}]
                changed = True
            if farmer.name != name:  # the same name in another case or spelling of ``fold``
                farmer.name = name
                changed = True
            self.s.flush()
        try:
            changed = self.member(farmer, pg, status, role, v) or changed
        except Refusal as e:
            raise _RowError("ec_role" if role else "pg", "refused_" + e.key.replace(".", "_"),
                            **{k: str(val) for k, val in e.params.items()}) from None
        if created:
            self.count("created")
        elif changed:
            self.audit_update("farmer", farmer.id, before, log.snapshot(farmer, self.FARMER_FIELDS))
            self.count("updated")
        else:
            self.count("unchanged")

    def find_farmer(self, phone: str, name: str) -> farmers.Farmer | None:
        return next((p for p in farmers.profiles(self.s, phone) if fold(p.name) == fold(name)), None)

    def member(self, farmer: farmers.Farmer, pg: ProducerGroup | None, status: str | None, role: str | None,
               v: dict) -> bool:
        """Make the farmer's membership and seat what the row says; True when something changed."""
        now = utcnow()
        joined = v.get("joined_on")
        at = (lambda day: dt.datetime.combine(day, dt.time(12), tzinfo=dt.timezone.utc)) if joined else None
        m = membership.current(self.s, farmer)
        changed = False
        if pg is None:
            return False
        if status == "left":
            if m is not None and m.pg_id == pg.id:
                m.status, m.left_at, m.role = "left", at(v["left_on"]) if at else now, "member"
                committee.close_for_leaver(self.s, farmer.id, v["left_on"])
                cluster_committee.close_for_leaver(self.s, farmer.id, v["left_on"])
                self.s.flush()
                return True
            has = self.s.scalar(select(membership.Membership.id).where(
                membership.Membership.farmer_id == farmer.id, membership.Membership.pg_id == pg.id,
                membership.Membership.status == "left").limit(1))
            if has is not None:
                return False
            left_at = dt.datetime.combine(v["left_on"], dt.time(12), tzinfo=dt.timezone.utc)
            joined_at = at(joined) if joined else left_at
            self.s.add(membership.Membership(farmer_id=farmer.id, pg_id=pg.id, role="member", status="left",
                                             requested_at=joined_at, joined_at=joined_at, left_at=left_at))
            self.s.flush()
            return True
        if m is not None and m.pg_id != pg.id:  # moved to another PG: the old membership ends
            if m.role != "member":
                committee.close_for_leaver(self.s, farmer.id, self.today)
            cluster_committee.close_for_leaver(self.s, farmer.id, self.today)
            m.status, m.left_at, m.role = "left", now, "member"
            self.s.flush()
            m, changed = None, True
        if m is None:
            when = at(joined) if joined else now
            m = membership.Membership(farmer_id=farmer.id, pg_id=pg.id, role="member", status=status,
                                      requested_at=when, joined_at=when if status == "active" else None)
            self.s.add(m)
            self.s.flush()
            changed = True
        elif m.status != status:
            if status == "active":
                m.status, m.joined_at = "active", at(joined) if joined else now
            else:  # back to pending: a seat cannot stay
                if m.role != "member":
                    committee.end(self.s, pg, m.role, self.today)
                m.status, m.joined_at = "pending", None
            self.s.flush()
            changed = True
        if m.role != "member" and m.role != role:  # the row gives no seat, or another one
            committee.end(self.s, pg, m.role, v.get("elected_on") or self.today)
            changed = True
        if role and m.role != role:
            seat = next(s for s in committee.seats(self.s, pg.id) if s.role == role)
            if seat.holder is not None or seat.term is not None:
                self.warn("ec_role", "seat_replaced", role=role, pg=pg.code)
                committee.replace(self.s, pg, role, farmer, v["elected_on"])
            else:
                committee.fill(self.s, pg, role, farmer, v["elected_on"])
            changed = True
        elif role:
            term = committee.open_term(self.s, pg.id, role)
            if term is None or term.elected_on != v["elected_on"]:
                if term is not None:
                    term.elected_on = v["elected_on"]
                    term.term_ends_on = committee._years_later(v["elected_on"], committee.DEFAULT_TERM_YEARS)
                else:
                    self.s.add(committee.EcTerm(pg_id=pg.id, role=role, farmer_id=farmer.id,
                                                elected_on=v["elected_on"],
                                                term_ends_on=committee._years_later(v["elected_on"],
                                                                                    committee.DEFAULT_TERM_YEARS)))
                self.s.flush()
                changed = True
        return changed

    def vam_agents(self, v: dict) -> None:
        code = "".join(v["code"].split()).upper()
        self.once(code, "code", "duplicate_code")
        home = self.district(v["district"]) if v.get("district") else None
        whole = sorted({self.district(d, "whole_districts").id for d in v["whole_districts"]})
        if v["villages"] and home is None:
            raise _RowError("district", "required")
        village_ids = sorted({self.village(home, name, "villages") for name in v["villages"]})
        items = []
        for item_code in v["items"]:
            item = catalogue.by_code(self.s, item_code)
            if item is None:
                raise _RowError("items", "item_unknown", value=item_code)
            items.append(item)
        item_ids = sorted({i.id for i in items})
        agent = responders.by_code(self.s, code)
        fields = ("name", "kind", "phone", "language", "village_ids", "district_ids")
        try:
            if agent is None:
                agent = responders.add_vam_agent(self.s, code=code, name=v["name"], kind=v["kind"], phone=v["phone"],
                                                 language=v["language"], district_id=home.id if home else None,
                                                 village_ids=village_ids, district_ids=whole)
                catalogue.set_items(self.s, agent, items)
                self.count("created")
                return
            if agent.role != "vam_agent":
                raise _RowError("code", "code_taken", value=code)
            before = {**log.snapshot(agent, fields), "items": sorted(i.id for i in catalogue.items_of(self.s, agent))}
            wanted = {"name": v["name"], "kind": v["kind"], "phone": v["phone"], "language": v["language"],
                      "village_ids": village_ids, "district_ids": whole, "items": item_ids}
            if before == wanted:
                self.count("unchanged")
                return
            responders.update_vam_agent(self.s, agent, name=v["name"], kind=v["kind"], phone=v["phone"],
                                        language=v["language"], village_ids=village_ids, district_ids=whole)
            catalogue.set_items(self.s, agent, items)
            self.audit_update("responder", code, before, {**log.snapshot(agent, fields), "items": item_ids})
            self.count("updated")
        except ValueError as e:
            raise _RowError("code", "refused", detail=str(e)) from None

    def lead_farmers(self, v: dict) -> None:
        farmer = self.find_farmer(v["phone"], v["name"])
        if farmer is None:
            raise _RowError("name", "farmer_unknown", value=v["name"])
        pg = self.pg(v["pg"]) if v.get("pg") else None
        district = None
        if farmer.village_id is not None:
            district = self.s.get(District, self.s.get(Village, farmer.village_id).district_id)
        village_ids = sorted({self.village(district, n, "villages") for n in v["villages"]}) if district else []
        plot = [v.get(k) for k in ("plot_village", "plot_crop", "plot_season")]
        if any(p is not None for p in plot) and not all(p is not None for p in plot):
            raise _RowError(next(k for k, p in zip(("plot_village", "plot_crop", "plot_season"), plot) if p is None),
                            "plot_incomplete")
        plot_village = self.village(district, v["plot_village"], "plot_village") if plot[0] and district else None
        if plot[0] and district is None:
            raise _RowError("plot_village", "village_unknown", value=plot[0], district="")
        plot_crop = self.crop(v["plot_crop"], "plot_crop") if plot[1] else None
        season = v.get("plot_season")
        if season is not None and not 1990 <= season <= self.today.year + 1:
            raise _RowError("plot_season", "season_range", value=str(season))
        area_m2 = None
        if v.get("plot_area_ha") is not None:
            if not 0 < v["plot_area_ha"] <= MAX_PLOT_HA:
                raise _RowError("plot_area_ha", "land_range", value=str(v["plot_area_ha"]), limit=str(MAX_PLOT_HA))
            area_m2 = int((v["plot_area_ha"] * 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        practice = v.get("plot_practice")
        if practice and len(practice) > MAX_PRACTICE_CHARS:
            raise _RowError("plot_practice", "too_long", limit=MAX_PRACTICE_CHARS)
        self.once((farmer.id, plot_village, plot_crop.id if plot_crop else None, season), "name", "duplicate_record")
        lead = self.s.scalar(select(responders.Responder).where(
            responders.Responder.role == "lead_farmer", responders.Responder.farmer_id == farmer.id))
        changed = created = False
        if lead is None:
            try:
                lead = responders.add_lead_farmer(self.s, farmer, village_ids=village_ids or None, pg=pg)
            except ValueError as e:
                raise _RowError("name", "refused", detail=str(e)) from None
            created = True
            before = {}
        else:
            before = log.snapshot(lead, ("village_ids", "pg_id"))
            if village_ids and lead.village_ids != village_ids:
                responders._sync(lead.village_rows, village_ids, "village_id",
                                 lambda vid: responders.ResponderVillage(village_id=vid))
                changed = True
            if pg is not None and lead.pg_id != pg.id:
                lead.pg_id, changed = pg.id, True
            self.s.flush()
        if plot_village is not None:
            row = self.s.scalar(select(DemoPlot).where(DemoPlot.lead_id == lead.id, DemoPlot.village_id == plot_village,
                                                       DemoPlot.crop_id == plot_crop.id, DemoPlot.season == season))
            if row is None:
                self.s.add(DemoPlot(lead_id=lead.id, village_id=plot_village, crop_id=plot_crop.id, season=season,
                                    area_m2=area_m2, practice=practice))
                changed = True
            elif (row.area_m2, row.practice) != (area_m2, practice):
                before.update({"plot_area_m2": row.area_m2, "plot_practice": row.practice})
                row.area_m2, row.practice, changed = area_m2, practice, True
            self.s.flush()
        if created:
            self.count("created")
        elif changed:
            self.audit_update("responder", lead.id, before, {**log.snapshot(lead, ("village_ids", "pg_id")),
                                                            "plot_area_m2": area_m2, "plot_practice": practice})
            self.count("updated")
        else:
            self.count("unchanged")


def run(session: Session, files: list[tuple[str, bytes]], *, actor: log.Actor, today: dt.date,
        dry_run: bool = True, max_bytes: int = reader.DEFAULT_MAX_BYTES) -> Result:
    """Check (``dry_run``) or import the programme in ``files`` (``(name, bytes)``: XLSX workbooks,
    CSV sheets) in ``session``, acting as ``actor``; ``today``: the local date (later dates are
    errors). ``max_bytes``: most bytes of the files together (``IMPORT_MAX_BYTES``).

    Returns a :class:`Result`. With errors, or for a dry run, ``session`` is rolled back (nothing is
    written; the counts say what would have happened). Otherwise ``imported`` is True, the changes
    and audit entries are flushed and the caller commits. Database errors other than those of a row
    propagate (after a rollback)."""
    book = reader.read(files, max_bytes=max_bytes)
    job = _Import(session, actor, today)
    job.issues.extend(book.issues)
    result = Result(dry_run=dry_run, files=book.files)
    try:
        for sheet in SHEETS:
            job.sheet = sheet
            handler = getattr(job, sheet.key)
            for number, cells in book.rows.get(sheet.key, []):
                job.row = number
                try:
                    handler(job.cells(cells))
                except _RowError as e:
                    job.issues.append(Issue(sheet.key, number, e.column, e.reason, **e.params))
                except Refusal as e:
                    job.issues.append(Issue(sheet.key, number, "", "refused_" + e.key.replace(".", "_"),
                                            **{k: str(val) for k, val in e.params.items()}))
        result.issues = sorted(job.issues, key=lambda i: (i.severity != "error", _order(i.sheet), i.row))
        result.counts = job.counts
        if dry_run or result.errors:
            session.rollback()
            return result
        log.record(session, actor, "import.run", "programme", None, after={
            "files": book.files, "counts": job.counts, "warnings": len(result.warnings)},
            note=", ".join(book.files))
        session.flush()
        result.imported = True
        return result
    except SQLAlchemyError:
        session.rollback()
        raise


def _order(sheet_key: str) -> int:
    keys = list(BY_KEY)
    return keys.index(sheet_key) if sheet_key in keys else -1
