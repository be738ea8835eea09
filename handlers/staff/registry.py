"""The programme registry lists, read-only, in the account's area (``docs/staff.md`` §6).

``GET /staff/registry/clusters``: the commodity clusters with their PGs and the PGs' chairs, each
linked to its page with the cluster committee (``handlers.staff.clusters``);
``/staff/registry/centres``: the collection centres (crop, capacity in tonnes per season, district);
``/staff/registry/vam-agents``: the VAM agents (villages served, inputs supplied);
``/staff/registry/lead-farmers``: the lead farmers and their demonstration plots.
Every role but the market reporter reads them, each within its scope (``service.programme.registry``).
"""
from __future__ import annotations

from flask import g

from handlers.common import db
from handlers.staff import web
from handlers.staff.pgs import READERS
from service.programme import registry
from service.reference.crops import Crop
from service.reference.geography import District

bp = web.blueprint("staff_registry", __name__, "/staff/registry")
web.nav_item("staff_registry.clusters", "registry.title", roles=READERS, order=25)

TABS = (("staff_registry.clusters", "registry.clusters"), ("staff_registry.centres", "registry.centres"),
        ("staff_registry.vam_agents", "registry.vam"), ("staff_registry.lead_farmers", "registry.leads"))


def _render(kind: str, **context):
    districts = {d.id: d.name(g.lang) for d in db().query(District)}
    crops = {c.id: c.name(g.lang) for c in db().query(Crop)}
    return web.render("staff/registry.html", kind=kind, tabs=TABS, districts=districts, crops=crops, **context)


@bp.get("/clusters")
def clusters():
    web.require_role(*READERS)
    return _render("clusters", clusters=registry.clusters(db(), g.scope))


@bp.get("/centres")
def centres():
    web.require_role(*READERS)
    return _render("centres", centres=registry.centres(db(), g.scope))


@bp.get("/vam-agents")
def vam_agents():
    web.require_role(*READERS)
    agents = registry.vam_agents(db(), g.scope)
    places = registry.village_names(db(), [v for a, _ in agents for v in a.village_ids], g.lang)
    return _render("vam", agents=agents, places=places)


@bp.get("/lead-farmers")
def lead_farmers():
    web.require_role(*READERS)
    leads = registry.lead_farmers(db(), g.scope)
    ids = [v for lead, plots in leads for v in (*lead.village_ids, *(p.village_id for p in plots))]
    pgs = registry.pg_codes(db(), [lead.pg_id for lead, _ in leads])
    return _render("leads", leads=leads, places=registry.village_names(db(), ids, g.lang), pgs=pgs)
