"""Flask CLI commands of the service: ``init-db``, ``demo-data``, ``serve``, and the
``scheduler``, ``campaign`` and ``broadcast`` groups."""
from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from handlers.cli import session, settings
from service import demo
from service.audit.log import Actor
from service.programme import demo_workbook
from service.db import utcnow


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the tables and load the Khatlon reference data (idempotent)."""
    from service import init_db
    loaded = init_db(current_app._get_current_object())
    click.echo("reference data loaded" if loaded else "database already initialised")


def _texts(pairs: tuple[str, ...]) -> dict:
    """``("tg=Салом", "ru=Привет")`` → ``{"tg": "Салом", "ru": "Привет"}``."""
    texts = {}
    for pair in pairs:
        lang, sep, value = pair.partition("=")
        if not sep or not value.strip():
            raise click.BadParameter(f"give LANG=TEXT, not {pair!r}")
        texts[lang.strip()] = value.strip()
    return texts


_session = session


campaign_group = AppGroup("campaign", help="List and edit reminder campaigns and their events.")


@campaign_group.command("list")
@click.argument("code", required=False)
def campaign_list(code: str | None):
    """List campaigns, or one campaign's events (anchor, offset days, local hour, text)."""
    from service.reminders import campaign as campaigns
    with _session() as session:
        if code is None:
            for c in session.scalars(select(campaigns.Campaign).order_by(campaigns.Campaign.code)):
                n = len(campaigns.events_of(session, c.id))
                click.echo(f"{c.code}\tcrop={c.crop_id}\tseason={c.season}\tT=S+{c.transplant_days}\t"
                           f"{'active' if c.active else 'inactive'}\t{n} events")
            return
        c = _campaign(session, code)
        for e in campaigns.events_of(session, c.id):
            click.echo(f"{e.code}\t{e.anchor}{e.offset_days:+d}\t{e.hour:02d}:00\t{e.render('en')}")


def _campaign(session, code: str):
    from service.reminders import campaign as campaigns
    c = campaigns.by_code(session, code)
    if c is None:
        raise click.ClickException(f"no campaign {code!r}")
    return c


@campaign_group.command("load-seed")
def campaign_load_seed():
    """Add the built-in SRI rice, tomato and onion campaigns that are missing."""
    from service.reminders import campaign as campaigns
    with _session() as session:
        added = campaigns.load_seed(session)
        if added:
            from handlers.cli import audit

            audit(session, "campaign.load_seed", "campaign", after={"added": added})
        session.commit()
    click.echo(f"{added} campaigns added")


@campaign_group.command("add-event")
@click.argument("code")
@click.argument("event")
@click.option("--anchor", type=click.Choice(["S", "T"]), default="S", show_default=True)
@click.option("--offset", "offset_days", type=int, required=True, help="Days after the anchor date.")
@click.option("--hour", type=int, default=8, show_default=True, help="Local delivery hour (7..20).")
@click.option("--text-key", default=None, help="A templates_sms key instead of --text.")
@click.option("--text", "texts", multiple=True, help="LANG=TEXT, repeatable (tg required).")
def campaign_add_event(code, event, anchor, offset_days, hour, text_key, texts):
    """Add EVENT to campaign CODE and re-plan the cycles' next reminders."""
    from service.reminders import campaign as campaigns
    _edit(code, lambda session, c: campaigns.add_event(session, c, code=event, anchor=anchor,
                                                       offset_days=offset_days, hour=hour, text_key=text_key,
                                                       texts=_texts(texts)))


@campaign_group.command("edit-event")
@click.argument("code")
@click.argument("event")
@click.option("--anchor", type=click.Choice(["S", "T"]), default=None)
@click.option("--offset", "offset_days", type=int, default=None)
@click.option("--hour", type=int, default=None)
@click.option("--text-key", default=None)
@click.option("--text", "texts", multiple=True, help="LANG=TEXT, repeatable; replaces the text key.")
def campaign_edit_event(code, event, anchor, offset_days, hour, text_key, texts):
    """Change EVENT of campaign CODE and re-plan the cycles' next reminders."""
    from service.reminders import campaign as campaigns
    changes = {k: v for k, v in (("anchor", anchor), ("offset_days", offset_days), ("hour", hour),
                                 ("text_key", text_key)) if v is not None}
    if texts:
        changes["texts"] = _texts(texts)

    def change(session, c):
        found = next((e for e in campaigns.events_of(session, c.id) if e.code == event), None)
        if found is None:
            raise click.ClickException(f"no event {event!r} in {code}")
        return campaigns.edit_event(session, found, **changes)
    _edit(code, change)


def _edit(code, change):
    from flask import current_app

    from service.reminders import campaign as campaigns
    from service.reminders import crop_cycle
    from service.db import utcnow
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    with _session() as session:
        from handlers.cli import audit
        from service.audit.log import snapshot

        c = _campaign(session, code)
        fields = ("code", "anchor", "offset_days", "hour", "text_key", "texts")
        olds = {e.id: snapshot(e, fields) for e in campaigns.events_of(session, c.id)}
        try:
            event = change(session, c)
        except campaigns.CampaignError as exc:
            raise click.ClickException(str(exc)) from None
        session.flush()
        before = olds.get(event.id)
        audit(session, "campaign.event.add" if before is None else "campaign.event.edit", "campaign_event",
              event.id, before=before, after=snapshot(event, fields), note=f"campaign {code}"[:200])
        replanned = crop_cycle.replan_campaign(session, c.id, utcnow(), zone)
        session.commit()
    click.echo(f"{code}.{event.code}: {event.anchor}{event.offset_days:+d} at {event.hour:02d}:00; "
               f"{replanned} crop cycles re-planned")


broadcast_group = AppGroup("broadcast", help="Preview, send, schedule, list and cancel broadcasts.")


def audience_options(f):
    """The audience criteria as repeatable options."""
    for name, help_text in reversed((("district", "district id (kulob)"), ("cluster", "cluster id (rice.balkhi)"),
                                     ("pg", "PG code"), ("crop", "crop id"), ("gender", "female/male"),
                                     ("language", "tg/ru/uz/en"), ("role", "membership role, or ec"))):
        f = click.option(f"--{name}", f"{name}s", multiple=True, help=f"{help_text}; repeatable")(f)
    return click.option("--text", "texts", multiple=True, required=True, help="LANG=TEXT, repeatable")(f)


def _audience(session, districts, clusters, pgs, crops, genders, languages, roles):
    from service.broadcasts import broadcast
    try:
        return broadcast.Audience(tuple(districts), tuple(clusters), tuple(pgs), tuple(crops), tuple(genders),
                                  tuple(languages), tuple(roles)).check(session)
    except broadcast.AudienceError as exc:
        raise click.ClickException(str(exc)) from None


@broadcast_group.command("preview")
@audience_options
def broadcast_preview(texts, districts, clusters, pgs, crops, genders, languages, roles):
    """Print recipients, segments per language and the estimated cost; sends nothing."""
    from flask import current_app

    from service.broadcasts import broadcast
    with _session() as session:
        audience = _audience(session, districts, clusters, pgs, crops, genders, languages, roles)
        click.echo(f"{audience.describe()}: {broadcast.preview(session, audience, _texts(texts), current_app.config['SMS_PRICE_TJS'])}")


@broadcast_group.command("send")
@audience_options
@click.option("--at", "at", default=None, help="Send at this ISO time (local TIMEZONE unless an offset is "
                                              "given); default now.")
@click.option("--kind", type=click.Choice(["broadcast", "alert"]), default="broadcast", show_default=True,
              help="alert: first in the queue and sent during quiet hours too.")
def broadcast_send(texts, districts, clusters, pgs, crops, genders, languages, roles, at, kind):
    """Send a broadcast now (queued at once) or schedule it (--at); prints its preview."""
    from flask import current_app

    from handlers.cli.scheduler import parse_at
    from service.broadcasts import broadcast
    from service.db import utcnow
    now = utcnow()
    send_at = parse_at(at, current_app.config["TIMEZONE"]) if at else now
    with _session() as session:
        audience = _audience(session, districts, clusters, pgs, crops, genders, languages, roles)
        estimate = broadcast.preview(session, audience, _texts(texts), current_app.config["SMS_PRICE_TJS"])
        row = broadcast.create(session, audience, _texts(texts), kind=kind, send_at=send_at, now=now)
        from handlers.cli import audit

        audit(session, "broadcast.send", "broadcast", row.id, after={
            "kind": kind, "send_at": send_at, "audience": audience.as_dict(), "texts": _texts(texts)})
        session.commit()
        if send_at <= now:
            broadcast.queue(session, row, now)
            click.echo(f"broadcast {row.id} queued: {estimate}")
        else:
            click.echo(f"broadcast {row.id} scheduled for {send_at.isoformat()}: {estimate}")


@broadcast_group.command("list")
def broadcast_list():
    """List broadcasts, newest first."""
    from service.broadcasts import broadcast
    with _session() as session:
        for b in session.scalars(select(broadcast.Broadcast).order_by(broadcast.Broadcast.id.desc())):
            click.echo(f"{b.id}\t{b.kind}\t{b.status}\t{b.send_at.isoformat()}\t{b.recipients or 0} recipients\t"
                       f"{broadcast.Audience.from_dict(b.audience).describe()}")


@broadcast_group.command("cancel")
@click.argument("broadcast_id", type=int)
def broadcast_cancel(broadcast_id: int):
    """Cancel a scheduled broadcast that has not been queued yet."""
    from service.broadcasts import broadcast
    with _session() as session:
        row = session.get(broadcast.Broadcast, broadcast_id)
        if row is None or not broadcast.cancel(session, row):
            raise click.ClickException(f"broadcast {broadcast_id} is not scheduled")
        from handlers.cli import audit

        audit(session, "broadcast.cancel", "broadcast", row.id, before={"status": "scheduled"},
              after={"status": row.status})
        session.commit()
    click.echo(f"broadcast {broadcast_id} cancelled")


@click.command("demo-data")
@click.option("--farmers", type=click.IntRange(0, demo.MAX_FARMERS), default=1496, show_default=True,
              help="Number of farmer profiles to create.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed, same region).")
@click.option("--reset", is_flag=True, help="First wipe ALL data (farmers, PGs, messages, sessions) of the database.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database already has data.")
@with_appcontext
def demo_data_command(farmers: int, seed: int, reset: bool, if_empty: bool):
    """Create a demo region shaped like the case study (81 PGs, 4 clusters, prices).

    With the default size and seed the programme comes from the shipped demo workbook through the
    programme import (service/programme/demo-region.xlsx); other sizes or seeds use the bulk generator."""
    from service import init_db

    app = current_app._get_current_object()
    init_db(app)
    started = time.perf_counter()
    with session() as db:
        if reset:
            demo.wipe(db)
        elif not demo.is_empty(db) and if_empty:
            click.echo("the database already has data: demo region not created")
            return
        elif not demo.is_empty(db):
            n_farmers = db.scalar(select(func.count()).select_from(demo.Farmer))
            n_pgs = db.scalar(select(func.count()).select_from(demo.ProducerGroup))
            raise click.ClickException(
                f"this database already has {n_farmers:,} farmers and {n_pgs} producer groups; demo-data only "
                "fills an empty one. Run it with --reset to wipe ALL data and create the demo region afresh.")
        now = utcnow()
        today = settings().today(now)
        if (farmers, seed) == (demo_workbook.FARMERS, demo_workbook.SEED):
            # the case study's region goes through the programme import, as a staff member's file does
            # one transaction with the wipe: a workbook that fails to import leaves the database as it was
            result = demo_workbook.load(db, actor=Actor.cli(), today=today)
            demo.add_non_programme(db, seed=seed, now=now, today=today)
            db.commit()
            click.echo(f"demo workbook {demo_workbook.PATH.name} imported: {result.total('created')} records created")
        else:
            demo.create_demo(db, farmers=farmers, seed=seed, now=now, today=today)
            db.commit()
        click.echo(f"demo region created in {time.perf_counter() - started:.1f} s (seed {seed})")
        click.echo(demo.format_summary(demo.summary(db)))


COMMANDS = (init_db_command, demo_data_command, campaign_group, broadcast_group)
