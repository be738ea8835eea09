"""``flask --app service orders ...``: the input catalogue, order rounds, bulk purchase orders.

``orders agents`` and ``orders agent-set`` list, add and change the VAM agents who supply the
inputs; an agent is the same record as the responder of ``responders add-vam``
(``service.advice.responders``), so one entered here also answers the questions of the
villages it serves.

Periodic jobs for the scheduler: ``orders close-due`` (:func:`service.orders.rounds.close_due_rounds`)
and ``orders totals`` (:func:`service.orders.rounds.send_daily_totals`). Prices are typed in TJS
(``12.50``); dates as ``YYYY-MM-DD`` (local). The changes a person makes (``item-set``,
``agent-set``, ``open``, ``close``, ``status``) are recorded in the audit log as done by
``cli:<login>``; the periodic jobs are the scheduler's and are not.
"""
from __future__ import annotations

import csv
import io

import click
from flask.cli import AppGroup
from sqlalchemy import select

from handlers.cli import audit, session, settings
from service.audit.log import snapshot
from service.orders import catalogue as input_catalogue
from service.orders import rounds as order
from service.db import utcnow
from service.errors import Refusal
from service.advice import responders
from service.advice.responders import VAM_KINDS
from service.orders.catalogue import InputItem
from service.prices.market import parse_tjs
from service.reference.names import LANGUAGES
from service.reference.phone import InvalidPhone, to_e164
from service.groups.producer_group import by_code

orders_group = AppGroup("orders", help="Input catalogue, order rounds, bulk purchase orders and savings.")


_session = session

ITEM_FIELDS = ("retail_diram", "group_diram", "active", "price_source")
AGENT_FIELDS = ("code", "kind", "name", "phone", "language", "active", "village_ids", "district_ids")


def _tjs(value: str) -> int:
    try:
        return parse_tjs(value)
    except Refusal:
        raise click.BadParameter(f"{value!r} is not a price in TJS (e.g. 12.50)") from None


@orders_group.command("items")
def items_command():
    """List the catalogue: code, category, crops, pack, retail and group price (TJS), price source."""
    with _session() as s:
        for i in s.scalars(select(InputItem).order_by(InputItem.code)):
            click.echo(f"{i.code:5} {i.category:14} {','.join(i.crop_ids):18} "
                       f"{input_catalogue.number(i.pack_size)} {i.unit:6} retail {order.money(i.retail_diram, 'en'):>8} "
                       f"group {order.money(i.group_diram, 'en'):>8} [{i.price_source}]"
                       f"{'' if i.active else ' INACTIVE'}  {i.name('en')}")


@orders_group.command("item-set")
@click.argument("code")
@click.option("--retail", help="Retail price per pack, TJS.")
@click.option("--group", "group_price", help="Group price per pack, TJS.")
@click.option("--active/--inactive", default=None, help="Offer the item for ordering or withdraw it.")
def item_set_command(code: str, retail: str | None, group_price: str | None, active: bool | None):
    """Change an item's prices or availability (orders already placed keep their prices)."""
    with _session() as s:
        item = input_catalogue.by_code(s, code)
        if item is None:
            raise click.ClickException(f"no item {code!r}")
        before = snapshot(item, ITEM_FIELDS)
        if retail is not None:
            item.retail_diram = _tjs(retail)
        if group_price is not None:
            item.group_diram = _tjs(group_price)
        if item.group_diram > item.retail_diram:
            raise click.ClickException("the group price is above the retail price")
        if retail is not None or group_price is not None:
            item.price_source = f"staff {settings().today(utcnow()).isoformat()}"
        if active is not None:
            item.active = active
        item.updated_at = utcnow()
        audit(s, "item.update", "input_item", item.code, before=before, after=snapshot(item, ITEM_FIELDS))
        s.commit()
        click.echo(f"{item.code}: retail {order.money(item.retail_diram, 'en')} group "
                   f"{order.money(item.group_diram, 'en')} TJS, {'active' if item.active else 'inactive'}")


@orders_group.command("agents")
def agents_command():
    """List VAM agents with the whole districts and the villages they serve and their items."""
    with _session() as s:
        for a in responders.vam_agents(s):
            items = input_catalogue.items_of(s, a)
            click.echo(f"{a.code:10} {a.kind:10} {a.phone} {a.language} districts={','.join(a.district_ids)} "
                       f"villages={','.join(map(str, a.village_ids))} items={','.join(i.code for i in items)}  {a.name}"
                       f"{'' if a.active else '  INACTIVE'}")


@orders_group.command("agent-set")
@click.argument("code")
@click.option("--name")
@click.option("--kind", type=click.Choice(VAM_KINDS))
@click.option("--phone")
@click.option("--language", type=click.Choice(LANGUAGES))
@click.option("--district", "districts", multiple=True, help="Whole district supplied (repeatable; replaces the list).")
@click.option("--village", "villages", multiple=True, type=int,
              help="Village id served: supplied and answered (repeatable; replaces the list).")
@click.option("--items", help="Item codes supplied, comma-separated (replaces the list).")
def agent_set_command(code, name, kind, phone, language, districts, villages, items):
    """Create or change a VAM agent (a new one needs --name, --kind, --phone and a --district or
    --village). It supplies its villages and whole districts and answers its villages' questions."""
    with _session() as s:
        if phone:
            try:
                phone = to_e164(phone)
            except InvalidPhone:
                raise click.BadParameter(f"{phone!r} is not a phone number") from None
        found = []
        if items is not None:
            codes = [c.strip().upper() for c in items.split(",") if c.strip()]
            found = list(s.scalars(select(InputItem).where(InputItem.code.in_(codes))))
            if len(found) != len(set(codes)):
                raise click.ClickException(f"unknown item codes: {sorted(set(codes) - {i.code for i in found})}")
        agent = responders.by_code(s, code)
        before = None if agent is None else {**snapshot(agent, AGENT_FIELDS),
                                             "items": sorted(i.code for i in input_catalogue.items_of(s, agent))}
        try:
            if agent is None:
                if not (name and kind and phone):
                    raise click.ClickException("a new agent needs --name, --kind and --phone")
                agent = responders.add_vam_agent(s, code=code, name=name, kind=kind, phone=phone,
                                                 language=language or "tg", village_ids=list(villages),
                                                 district_ids=list(districts))
            else:
                responders.update_vam_agent(s, agent, name=name, kind=kind, phone=phone, language=language,
                                            village_ids=list(villages) if villages else None,
                                            district_ids=list(districts) if districts else None)
            if items is not None:
                input_catalogue.set_items(s, agent, found)
        except ValueError as exc:
            s.rollback()
            raise click.ClickException(str(exc)) from None
        s.flush()
        after = {**snapshot(agent, AGENT_FIELDS), "items": sorted(i.code for i in input_catalogue.items_of(s, agent))}
        audit(s, "responder.add" if before is None else "responder.update", "responder", agent.id,
              before=before, after=after)
        s.commit()
        click.echo(f"agent {agent.code} saved")


@orders_group.command("open")
@click.option("--pg", "pg_code", required=True, help="PG code.")
@click.option("--days", type=int, help="Days to the closing day (default ORDER_ROUND_DAYS).")
def open_command(pg_code: str, days: int | None):
    """Open an order round for a PG."""
    with _session() as s:
        pg = by_code(s, pg_code)
        if pg is None:
            raise click.ClickException(f"no PG {pg_code!r}")
        try:
            rnd = order.open_round(s, pg, utcnow(), days=days, policy=order.Policy.of(settings()))
        except Refusal as exc:
            raise click.ClickException(f"{exc.key} {exc.params}") from None
        audit(s, "round.open", "order_round", rnd.id, after={"pg": pg.code, "closes_on": rnd.closes_on})
        s.commit()
        click.echo(f"round {rnd.id} of {pg.code} open until {rnd.closes_on.isoformat()}")


@orders_group.command("close")
@click.option("--pg", "pg_code", required=True, help="PG code.")
def close_command(pg_code: str):
    """Close a PG's open round now (its chair gets the totals)."""
    with _session() as s:
        pg = by_code(s, pg_code)
        rnd = order.open_round_of(s, pg.id) if pg else None
        if rnd is None:
            raise click.ClickException(f"no open round for {pg_code!r}")
        order.close_round(s, rnd, utcnow())
        audit(s, "round.close", "order_round", rnd.id, before={"status": "open"}, after={"status": rnd.status})
        s.commit()
        click.echo(f"round {rnd.id} of {pg.code} closed")


@orders_group.command("close-due")
def close_due_command():
    """Close every round whose closing day is over (periodic job)."""
    with _session() as s:
        closed = order.close_due_rounds(s, utcnow(), order.Policy.of(settings()))
        s.commit()
        click.echo(f"{len(closed)} round(s) closed: {', '.join(str(r.id) for r in closed) or '-'}")


@orders_group.command("totals")
def totals_command():
    """Send the chairs their running totals (at most once a day, only after changes; periodic job)."""
    with _session() as s:
        sent = order.send_daily_totals(s, utcnow(), order.Policy.of(settings()))
        s.commit()
        click.echo(f"{sent} totals SMS queued")


@orders_group.command("status")
@click.argument("status", type=click.Choice(order.STATUSES[1:]))
@click.option("--round", "round_ids", type=int, multiple=True, help="Round id (repeatable).")
@click.option("--cluster", "cluster_id", help="Every closed round of this cluster.")
@click.option("--supplier", help="Only lines of this supplier code.")
@click.option("--item", help="Only lines of this item code.")
@click.option("--place", help="Pickup place (ready).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Pickup day YYYY-MM-DD (ready).")
def status_command(status, round_ids, cluster_id, supplier, item, place, day):
    """Move the live lines of closed rounds to STATUS; every farmer concerned gets one SMS."""
    if not round_ids and not cluster_id:
        raise click.UsageError("give --round or --cluster")
    with _session() as s:
        try:
            lines = order.select_orders(s, round_ids=round_ids, cluster_id=cluster_id, supplier_code=supplier,
                                        item_code=item)
            changed, told = order.set_status(s, lines, status, utcnow(), place=place,
                                             on=day.date() if day else None)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if changed:
            audit(s, "order.status", "order_round", ",".join(str(r) for r in sorted({o.round_id for o in changed}))[:64],
                  after={"status": status, "lines": len(changed), "farmers_told": told,
                         "order_ids": sorted(o.id for o in changed)[:1000], "place": place, "on": day.date() if day else None})
        s.commit()
        click.echo(f"{len(changed)} of {len(lines)} order line(s) now {status}; {told} farmer(s) told")


@orders_group.command("export")
@click.option("--cluster", "cluster_id", required=True, help="Cluster id, e.g. onion.vose.")
@click.option("--round", "round_ids", type=int, multiple=True, help="Closed round id (repeatable).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Rounds closed on or after this day.")
@click.option("--out", "out", type=click.File("w", encoding="utf-8", lazy=True), required=True,
              help="CSV file to write ('-' for standard output).")
def export_command(cluster_id, round_ids, since, out):
    """Write the cluster's bulk purchase order as CSV: per supplier × item the quantity to buy,
    then its per-PG lines. Without --round/--since: closed rounds not yet sent to suppliers."""
    with _session() as s:
        try:
            rounds = order.export_rounds(s, cluster_id, round_ids=round_ids, since=since.date() if since else None,
                                         policy=order.Policy.of(settings()))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        lines = order.bulk_order(s, rounds)
        order.write_csv(lines, cluster_id, out)
        click.echo(f"{len(lines)} supplier x item line(s) from round(s) {', '.join(str(r.id) for r in rounds) or '-'}",
                   err=True)


@orders_group.command("savings")
@click.option("--by", type=click.Choice(["farmer", "pg", "cluster"]), default="pg", show_default=True)
@click.option("--cluster", "cluster_id", help="Only this cluster.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Lines placed on or after this day.")
def savings_command(by, cluster_id, since):
    """Savings of group buying against retail, per farmer, PG or cluster (CSV on standard output)."""
    with _session() as s:
        rows = order.savings(s, by, cluster_id=cluster_id, since=since.date() if since else None,
                             policy=order.Policy.of(settings()))
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\n")
        out.writerow([by, "name", "orders", "retail_tjs", "group_tjs", "saving_tjs"])
        for r in rows:
            out.writerow([r.key, r.label, r.orders, order.money(r.retail_diram, "en"),
                          order.money(r.group_diram, "en"), order.money(r.saving_diram, "en")])
        click.echo(buffer.getvalue(), nl=False)
