"""``flask --app service reminders ...``: what a farmer's crop calendar will send next.

    flask --app service reminders next --phone 992901110001 [--crop rice] [--count 5]
    flask --app service reminders next --farmer 12

One block per profile (every profile of a shared phone) and crop cycle: the reported dates (an
unreported transplanting date is shown as estimated), then one line per reminder: local day and
hour (``TIMEZONE``), campaign event, ``planned`` for the one already planned, ``then`` for those
after it, and the text in the farmer's language. Thin: ``service.reminders.crop_cycle.next_for_farmer``.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from handlers.cli import session, settings
from service.db import utcnow
from service.farmers.models import Farmer, profiles
from service.reference.phone import InvalidPhone, to_e164
from service.reminders import crop_cycle
from service.reminders.campaign import Campaign

reminders_group = AppGroup("reminders", help="Show the crop-calendar reminders farmers will get next.")


@reminders_group.command("next")
@click.option("--phone", help="the farmer's phone (any form that normalises to E.164); every profile on it")
@click.option("--farmer", "farmer_id", type=int, help="a farmer's id")
@click.option("--crop", "crop_id", help="only this crop (its id: rice, tomato, onion ...)")
@click.option("--count", type=click.IntRange(1, 50), default=5, show_default=True, help="reminders per crop")
def next_command(phone: str | None, farmer_id: int | None, crop_id: str | None, count: int):
    """The next reminders of each crop cycle of a farmer (by --phone or --farmer)."""
    if (phone is None) == (farmer_id is None):
        raise click.UsageError("give --phone or --farmer")
    zone = settings().timezone
    now = utcnow()
    with session() as s:
        if phone is not None:
            try:
                people = profiles(s, to_e164(phone))
            except InvalidPhone:
                raise click.BadParameter(f"{phone!r} is not a phone number", param_hint="--phone") from None
        else:
            people = [f] if (f := s.get(Farmer, farmer_id)) else []
        if not people:
            raise click.ClickException("no farmer with that " + ("phone" if phone else "id"))
        for farmer in people:
            plans = crop_cycle.next_for_farmer(s, farmer, now, zone=zone, crop_id=crop_id, limit=count)
            if not plans:
                click.echo(f"farmer {farmer.id} {farmer.name}: no crop cycle" + (f" of {crop_id}" if crop_id else ""))
            for cycle, coming in plans:
                campaign = s.get(Campaign, cycle.campaign_id) if cycle.campaign_id else None
                sown, transplanted = cycle.dates(campaign.transplant_days if campaign else 0)
                dates = f"sown {sown:%d.%m.%Y}{'' if cycle.sown_on else ' (estimated)'}"
                if campaign is None or campaign.transplant_days or cycle.transplanted_on:
                    dates += f", transplanted {transplanted:%d.%m.%Y}{'' if cycle.transplanted_on else ' (estimated)'}"
                click.echo(f"farmer {farmer.id} {farmer.name}, {cycle.crop_id} (cycle {cycle.id}, "
                           f"{campaign.code if campaign else 'no campaign'}): {dates}")
                if not coming:
                    click.echo("  no more reminders")
                for u in coming:
                    click.echo(f"  {u.due_at.astimezone(zone):%d.%m.%Y %H:%M}  {u.event.code}  "
                               f"{'planned' if u.pending else 'then'}  {u.event.render(farmer.language)}")


COMMANDS = (reminders_group,)
