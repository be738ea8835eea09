"""CLI of advice, joint sales and yields: the ``responders``, ``advice``, ``sales`` and ``yields`` groups.

    flask --app service responders add-vam --name "Agro Dahana" --kind agro_shop --phone 992900100200 \
        --district kulob --village Dahana --lang tg [--code AGRODAH] [--items TML1,TMH1,PBD1]
    flask --app service responders add-lead --farmer 1207 [--village ...] [--pg DAH01]
    flask --app service responders add-extension --name "Rustam" --phone 992900100300 --district kulob
    flask --app service responders list
    flask --app service advice escalate           # ADVICE_ESCALATE_HOURS
    flask --app service sales set-capacity VOSECC 800t
    flask --app service sales weekly-totals
    flask --app service sales offer onion 1.40 "Buyer from Dushanbe, 20 t, pickup Friday"
    flask --app service yields report [--year 2025]

Each command runs in one transaction and prints what it did; a bad value exits
with an error and changes nothing. What a person changes here (``responders add-*``, ``sales
set-capacity``, ``sales offer``) is recorded in the audit log as done by ``cli:<login>``; the
periodic jobs (``advice escalate``, ``sales weekly-totals``) are the scheduler's and are not. A VAM agent added here is also the supplier of the
``--items`` to the PGs of its villages (``orders agent-set CODE`` changes it, and adds the
whole districts it supplies).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

import templates_sms

from handlers.cli import audit
from handlers.cli import session as _session
from service.audit.log import snapshot
from service.advice import questions as advice
from service.orders import catalogue
from service.sales import joint_sale
from service.reference import quantity
from service.advice import responders as vam_agent
from service.sales import yields as yield_report
from service.reference.crops import find_crop
from service.errors import Refusal
from service.farmers.models import Farmer
from service.farmers.models import by_code as farmer_by_code
from service.reference.geography import Village
from service.prices.market import find_market, parse_tjs
from service.reference.names import fold
from service.reference.phone import InvalidPhone, to_e164
from service.groups.producer_group import by_code

responders_group = AppGroup("responders", help="VAM agents, lead farmers and extension staff who answer questions.")
advice_group = AppGroup("advice", help="Farmers' questions.")
sales_group = AppGroup("sales", help="Joint sales: collection centres, weekly totals, buyers' offers.")
yields_group = AppGroup("yields", help="Yield reports.")

LANG = click.Choice(["tg", "ru", "uz", "en"])


def _phone(raw: str) -> str:
    try:
        return to_e164(raw)
    except InvalidPhone:
        raise click.BadParameter(f"{raw!r} is not a phone number") from None


def _village_ids(session, district: str, names: tuple[str, ...]) -> list[int]:
    ids = []
    for name in names:
        if name.isdecimal():
            ids.append(int(name))
            continue
        hits = [v.id for v in session.scalars(select(Village).where(Village.district_id == district))
                if any(fold(n) == fold(name) for n in v.names.values())]
        if len(hits) != 1:
            raise click.BadParameter(f"village {name!r}: {len(hits)} matches in {district}")
        ids.append(hits[0])
    return ids


#: the fields of a responder the audit log keeps
RESPONDER_FIELDS = ("role", "code", "kind", "name", "phone", "language", "district_id", "farmer_id", "pg_id",
                    "active", "village_ids")


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def _commit(session, fn):
    """Run ``fn()`` and commit; a ValueError or Refusal rolls back and exits with the reason."""
    try:
        result = fn()
        session.commit()
        return result
    except (ValueError, Refusal) as exc:
        session.rollback()
        reason = templates_sms.text(exc.key, "en", **exc.params) if isinstance(exc, Refusal) else str(exc)
        raise click.ClickException(reason) from None


@responders_group.command("add-vam")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(vam_agent.VAM_KINDS))
@click.option("--phone", required=True)
@click.option("--district", required=True, help="District id (kulob, jomi, vose, balkhi).")
@click.option("--village", "villages", multiple=True, required=True, help="Village served: id or name (repeat).")
@click.option("--lang", default="tg", show_default=True, type=LANG)
@click.option("--code", help="The supplier code purchase orders name (default: the first free VAM001, VAM002...).")
@click.option("--items", help="Input item codes it supplies, comma-separated (see `orders items`).")
def add_vam_command(name, kind, phone, district, villages, lang, code, items):
    """Add a VAM agent serving villages of one district: it answers their farmers' questions and
    supplies their PGs' orders of --items."""
    with _session() as session:
        def add():
            agent = vam_agent.add_vam_agent(session, name=name, kind=kind, phone=_phone(phone), district_id=district,
                                            village_ids=_village_ids(session, district, villages), language=lang,
                                            code=code)
            catalogue.set_items(session, agent, _items(session, items))
            audit(session, "responder.add", "responder", agent.id, after={
                **snapshot(agent, RESPONDER_FIELDS), "items": sorted(i.code for i in catalogue.items_of(session, agent))})
            return agent

        agent = _commit(session, add)
        supplied = ",".join(i.code for i in catalogue.items_of(session, agent)) or "-"
        click.echo(f"VAM agent {agent.id} {agent.code} {agent.name} {agent.phone}: villages {agent.village_ids}, "
                   f"items {supplied}")


def _items(session, codes: str | None) -> list:
    """The input items of comma-separated ``codes``; ``ValueError`` naming the unknown ones."""
    wanted = {c.strip().upper() for c in (codes or "").split(",") if c.strip()}
    found = [i for c in sorted(wanted) if (i := catalogue.by_code(session, c)) is not None]
    if len(found) != len(wanted):
        raise ValueError(f"unknown item codes: {sorted(wanted - {i.code for i in found})}")
    return found


@responders_group.command("add-lead")
@click.option("--farmer", "code", required=True, help="The farmer's member code.")
@click.option("--village", "villages", multiple=True, help="Village served: id or name (default: the PG's or own).")
@click.option("--pg", "pg_code", help="PG code the lead farmer serves.")
def add_lead_command(code, villages, pg_code):
    """Make a registered farmer a lead farmer."""
    with _session() as session:
        farmer = farmer_by_code(session, code)
        if farmer is None:
            raise click.BadParameter(f"no farmer with member code {code}")
        pg = by_code(session, pg_code) if pg_code else None
        if pg_code and pg is None:
            raise click.BadParameter(f"no PG {pg_code}")
        district = session.get(Village, farmer.village_id).district_id if farmer.village_id else ""
        def add():
            lead = vam_agent.add_lead_farmer(session, farmer, village_ids=_village_ids(session, district, villages),
                                             pg=pg)
            audit(session, "responder.add", "responder", lead.id, after=snapshot(lead, RESPONDER_FIELDS))
            return lead

        lead = _commit(session, add)
        click.echo(f"lead farmer {lead.id} {lead.name} {lead.phone}: villages {lead.village_ids}")


@responders_group.command("add-extension")
@click.option("--name", required=True)
@click.option("--phone", required=True)
@click.option("--district", required=True)
@click.option("--lang", default="tg", show_default=True, type=LANG)
def add_extension_command(name, phone, district, lang):
    """Add extension staff serving a district."""
    with _session() as session:
        def add():
            officer = vam_agent.add_extension(session, name=name, phone=_phone(phone), district_id=district,
                                              language=lang)
            audit(session, "responder.add", "responder", officer.id, after=snapshot(officer, RESPONDER_FIELDS))
            return officer

        officer = _commit(session, add)
        click.echo(f"extension {officer.id} {officer.name} {officer.phone}: district {officer.district_id}")


@responders_group.command("list")
def list_command():
    """Every responder: id, role, kind, name, phone, language, district, villages, state, and a
    VAM agent's code (``orders agents`` shows what it supplies)."""
    with _session() as session:
        for r in session.scalars(select(vam_agent.Responder).order_by(vam_agent.Responder.id)):
            click.echo(f"{r.id}\t{r.role}\t{r.kind or '-'}\t{r.name}\t{r.phone}\t{r.language}\t{r.district_id or '-'}\t"
                       f"{','.join(map(str, r.village_ids)) or '-'}\t{'active' if r.active else 'inactive'}\t"
                       f"{r.code or '-'}")


@advice_group.command("escalate")
def escalate_command():
    """Send questions unanswered for ADVICE_ESCALATE_HOURS to the next responder level."""
    hours = float(current_app.config["ADVICE_ESCALATE_HOURS"])
    with _session() as session:
        sent = advice.escalate_overdue(session, dt.datetime.now(dt.timezone.utc), dt.timedelta(hours=hours))
        session.commit()
        click.echo(f"escalated or routed {len(sent)} question(s): {[q.id for q in sent]}")


@sales_group.command("set-capacity")
@click.argument("centre")
@click.argument("capacity")
def set_capacity_command(centre, capacity):
    """Set a collection centre's capacity per season (e.g. ``800t`` or ``800000`` kg)."""
    with _session() as session:
        market = find_market(session, centre)
        row = market and session.scalar(select(joint_sale.CollectionCentre).where(
            joint_sale.CollectionCentre.market_id == market.id))
        if row is None:
            raise click.BadParameter(f"{centre!r} is not a collection centre")
        before = row.capacity_g
        try:
            row.capacity_g = quantity.read_mass(capacity)
        except Refusal:
            raise click.BadParameter(f"{capacity!r} is not a mass (e.g. 800t)") from None
        audit(session, "centre.edit", "collection_centre", row.id, before={"capacity_g": before},
              after={"capacity_g": row.capacity_g})
        session.commit()
        click.echo(f"{market.code}: capacity {quantity.tonnes(row.capacity_g, 'en')} per season")


@sales_group.command("weekly-totals")
def weekly_totals_command():
    """Send each collection centre's pledge totals to its cluster leaders (once per week)."""
    with _session() as session:
        n = joint_sale.send_weekly_totals(session, _today())
        session.commit()
        click.echo(f"queued {n} weekly totals SMS")


@sales_group.command("offer")
@click.argument("crop")
@click.argument("price")
@click.argument("text")
def offer_command(crop, price, text):
    """Send a buyer's offer (TJS per kg and terms) to every farmer with an open pledge of the crop."""
    with _session() as session:
        found = find_crop(session, crop)
        if found is None:
            raise click.BadParameter(f"unknown crop {crop!r}")
        def offer_and_audit():
            offer = joint_sale.make_offer(session, found.id, parse_tjs(price), text, "cli", _today())
            audit(session, "sale.offer", "buyer_offer", offer.id, after={
                "crop_id": found.id, "price_diram": offer.price_diram, "text": offer.text,
                "farmers_told": offer.farmers_told})
            return offer

        offer = _commit(session, offer_and_audit)
        click.echo(f"offer {offer.id} sent to {offer.farmers_told} farmer(s)")


@yields_group.command("report")
@click.option("--year", type=int, help="Only this year.")
def report_command(year):
    """R5: mean yield (kg/ha) of members linked to VAM vs non-members, gain % per crop and year."""
    with _session() as session:
        click.echo("crop\tyear\tvam_reports\tvam_kg_ha\tnon_member_reports\tnon_member_kg_ha\tgain_%")
        for g in yield_report.gains(session, year):
            click.echo(f"{g.crop_id}\t{g.year}\t{g.vam_reports}\t{g.vam_kg_per_ha or '-'}\t{g.other_reports}\t"
                       f"{g.other_kg_per_ha or '-'}\t{'-' if g.gain_percent is None else f'{g.gain_percent:+d}'}")


COMMANDS = (responders_group, advice_group, sales_group, yields_group)
