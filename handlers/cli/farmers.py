"""``flask --app service farmers ...``: farmer profiles for staff.

    flask --app service farmers unlisted

``unlisted``: the profiles registered with a village that was not in the list, oldest first, one
line each: member code, registration date, district, the village as typed, the name and the
phone (for staff to call and place the farmer). Thin: ``service.farmers.models.unlisted``.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from handlers.cli import session
from service.farmers.models import unlisted
from service.reference.geography import District

farmers_group = AppGroup("farmers", help="Farmer profiles: villages typed at registration, for review.")


@farmers_group.command("unlisted")
def unlisted_command():
    """The farmers whose village was not in the list: code, date, district, village as typed, name, phone."""
    with session() as s:
        rows = unlisted(s)
        if not rows:
            click.echo("no farmer with a village that is not in the list")
        for farmer in rows:
            district = s.get(District, farmer.unlisted_district_id) if farmer.unlisted_district_id else None
            click.echo(f"{farmer.code}\t{farmer.created_at:%Y-%m-%d}\t{district.name('en') if district else '-'}\t"
                       f"{farmer.unlisted_village}\t{farmer.name}\t{farmer.phone}")


COMMANDS = (farmers_group,)
