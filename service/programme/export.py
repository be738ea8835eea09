"""Write the programme held in a database as rows of :data:`~service.programme.sheets.SHEETS`, and
as a workbook: how the demo workbook is made (``tools/make_demo_workbook.py``) from the demo
generator (``service.demo``), and what a second import of the same data must leave unchanged.

:func:`rows` gives ``{sheet key: [{column: text}]}`` with values as the importer reads them
(dates ``YYYY-MM-DD``, land in ha with two decimals, lists joined by ``"; "``); :func:`to_xlsx`
writes them as one workbook (every sheet, headers first) and :func:`workbook_values` reads a
workbook back as plain values (to compare two workbooks whatever their file dates).
"""
from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.advice import responders
from service.advice.demo_plot import DemoPlot
from service.farmers.models import Farmer
from service.groups.cluster import CommodityCluster
from service.groups.committee import EcTerm
from service.groups.membership import Membership
from service.groups.producer_group import CBO, ProducerGroup, StageAssessment
from service.orders import catalogue
from service.prices.market import Market
from service.programme.sheets import LANGS, SHEETS
from service.reference.crops import Crop
from service.reference.geography import Village
from service.sales.joint_sale import CollectionCentre

#: a fixed timestamp written into the workbook's properties, so the same data gives the same file
FIXED_TIME = dt.datetime(2026, 1, 1)


def _day(value) -> str:
    if value is None:
        return ""
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def _ha(m2: int | None) -> str:
    return "" if m2 is None else f"{m2 / 10000:.2f}"


def rows(session: Session) -> dict[str, list[dict]]:
    """Every record of the programme in ``session``'s database as sheet rows (see the module docstring)."""
    villages = {v.id: v for v in session.scalars(select(Village).order_by(Village.id))}
    vname = lambda vid: villages[vid].names.get("en") or villages[vid].names["tg"]  # noqa: E731
    crop_en = {c.id: c.id for c in session.scalars(select(Crop))}
    out: dict[str, list[dict]] = {s.key: [] for s in SHEETS}
    for v in villages.values():
        out["villages"].append({"district": v.district_id, "jamoat": v.jamoat_id,
                                **{f"name_{lang}": v.names.get(lang, "") for lang in LANGS}})
    cbo_names = {}
    for c in session.scalars(select(CBO).order_by(CBO.id)):
        cbo_names[c.id] = c.name
        out["cbos"].append({"name": c.name, "district": villages[c.village_id].district_id,
                            "village": vname(c.village_id)})
    for c in session.scalars(select(CommodityCluster).order_by(CommodityCluster.id)):
        out["clusters"].append({"id": c.id, "crop": c.crop_id, "district": c.district_id})
    for m in session.scalars(select(Market).where(Market.kind == "market").order_by(Market.code)):
        out["markets"].append({"code": m.code, "district": m.district_id,
                               **{f"name_{lang}": m.names.get(lang, "") for lang in LANGS},
                               **{f"short_{lang}": m.names.get(f"{lang}_short", "") for lang in LANGS}})
    for c, m in session.execute(select(CollectionCentre, Market).join(Market, Market.id == CollectionCentre.market_id)
                                .order_by(Market.code)):
        out["centres"].append({"code": m.code, "cluster": c.cluster_id, "capacity_t": f"{c.capacity_g / 1e6:g}",
                               **{f"name_{lang}": m.names.get(lang, "") for lang in LANGS}})
    pg_code = {}
    for pg in session.scalars(select(ProducerGroup).order_by(ProducerGroup.code)):
        pg_code[pg.id] = pg.code
        latest = session.scalar(select(StageAssessment).where(StageAssessment.pg_id == pg.id).order_by(
            StageAssessment.assessed_on.desc(), StageAssessment.id.desc()).limit(1))
        out["pgs"].append({"code": pg.code, "name": pg.name, "district": villages[pg.village_id].district_id,
                           "village": vname(pg.village_id), "cbo": cbo_names.get(pg.cbo_id, ""),
                           "cluster": pg.cluster_id or "", "stage": latest.stage if latest else pg.stage,
                           "stage_date": _day(latest.assessed_on if latest else pg.created_at)})
    memberships = {}
    for m in session.scalars(select(Membership).order_by(Membership.id)):
        prev = memberships.get(m.farmer_id)
        if prev is None or prev.status not in ("active", "pending"):
            memberships[m.farmer_id] = m
    elected = {(t.pg_id, t.role): t.elected_on for t in session.scalars(select(EcTerm).where(EcTerm.ended_on.is_(None)))}
    crops: dict[int, list[str]] = {}
    for fid, cid in session.execute(select(Farmer.id, Crop.id).join(Farmer.crop_rows).join(Crop)).all():
        crops.setdefault(fid, []).append(crop_en[cid])
    for f in session.scalars(select(Farmer).order_by(Farmer.id).execution_options(yield_per=2000)):
        m = memberships.get(f.id)
        row = {"name": f.name, "gender": f.gender, "phone": f.phone, "language": f.language,
               "district": villages[f.village_id].district_id if f.village_id else "",
               "village": vname(f.village_id) if f.village_id else "", "land_ha": _ha(f.land_m2),
               "crops": "; ".join(sorted(crops.get(f.id, []))), "pg": "", "status": "", "joined_on": "",
               "left_on": "", "ec_role": "", "elected_on": ""}
        if m is not None:
            row.update(pg=pg_code[m.pg_id], status=m.status, joined_on=_day(m.joined_at or m.requested_at),
                       left_on=_day(m.left_at))
            if m.role != "member" and m.status == "active":
                row.update(ec_role=m.role, elected_on=_day(elected.get((m.pg_id, m.role)) or m.joined_at))
        out["farmers"].append(row)
    for agent in responders.vam_agents(session):
        home = agent.district_id or ""
        out["vam_agents"].append({
            "code": agent.code, "name": agent.name, "kind": agent.kind, "phone": agent.phone,
            "language": agent.language, "district": home if agent.village_ids else home,
            "whole_districts": "; ".join(agent.district_ids),
            "villages": "; ".join(vname(v) for v in agent.village_ids),
            "items": "; ".join(i.code for i in catalogue.items_of(session, agent))})
    leads = session.scalars(select(responders.Responder).where(responders.Responder.role == "lead_farmer")
                            .order_by(responders.Responder.id))
    for lead in leads:
        farmer = session.get(Farmer, lead.farmer_id) if lead.farmer_id else None
        if farmer is None:
            continue
        base = {"phone": farmer.phone, "name": farmer.name, "pg": pg_code.get(lead.pg_id, ""),
                "villages": "; ".join(vname(v) for v in lead.village_ids)}
        plots = list(session.scalars(select(DemoPlot).where(DemoPlot.lead_id == lead.id).order_by(DemoPlot.id)))
        for p in plots or [None]:
            row = dict(base)
            if p is not None:
                row.update(plot_village=vname(p.village_id), plot_crop=p.crop_id, plot_area_ha=_ha(p.area_m2),
                           plot_season=str(p.season), plot_practice=p.practice or "")
            out["lead_farmers"].append(row)
    return out


def to_xlsx(data: dict[str, list[dict]]) -> bytes:
    """The rows of :func:`rows` as one XLSX workbook (every sheet of :data:`SHEETS`, text cells)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.created = wb.properties.modified = FIXED_TIME
    for s in SHEETS:
        ws = wb.create_sheet(s.key)
        ws.append(s.headers)
        for r in data.get(s.key, []):
            ws.append([r.get(h, "") or None for h in s.headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def workbook_values(data: bytes) -> dict[str, list[tuple]]:
    """``{sheet title: [row values]}`` of an XLSX workbook (for comparing two workbooks' contents)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()
