"""``flask --app service farmers ...``: farmer profiles for staff.

    flask --app service farmers unlisted
    flask --app service farmers mydata --code 40731226
    flask --app service farmers erase --code 40731226 --yes

``unlisted``: the profiles registered with a village that was not in the list, oldest first, one
line each: member code, registration date, district, the village as typed, the name and the
phone (for staff to call and place the farmer). Thin: ``service.farmers.models.unlisted``.
``mydata``: the summary the farmer gets by SMS ``MYDATA`` (``service.farmers.privacy``). ``erase``:
erases the profile's personal data (``privacy.erase``, with the farmer's last SMS), recorded in the
audit log as done by ``Actor.cli()``; ``--yes`` is required.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from handlers.cli import session
from service.audit.log import Actor
from service.db import utcnow
from service.farmers import privacy
from service.farmers.models import by_code, unlisted
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


def _farmer(s, code: str):
    farmer = by_code(s, code)
    if farmer is None:
        raise click.BadParameter(f"no farmer with member code {code[:12]}", param_hint="--code")
    return farmer


@farmers_group.command("mydata")
@click.option("--code", required=True, help="The farmer's member code.")
def mydata_command(code: str):
    """Print what the service holds about a farmer (the text of the farmer's MYDATA SMS)."""
    from flask import current_app
    with session() as s:
        farmer = _farmer(s, code)
        click.echo(privacy.fit_summary(privacy.summary(s, farmer), current_app.config["USSD_SERVICE_CODE"]))


@farmers_group.command("erase")
@click.option("--code", required=True, help="The farmer's member code.")
@click.option("--yes", is_flag=True, help="Confirm: the erasure cannot be undone.")
def erase_command(code: str, yes: bool):
    """Erase a farmer's personal data (name, phone, texts), keeping anonymous counts."""
    import templates_sms
    from flask import current_app
    if not yes:
        raise click.UsageError("erasing cannot be undone: add --yes")
    with session() as s:
        farmer = _farmer(s, code)
        fid = farmer.id
        farewell = templates_sms.text("farmers.delete.done", farmer.language,
                                      ussd=current_app.config["USSD_SERVICE_CODE"])
        privacy.erase(s, farmer, actor=Actor.cli(), now=utcnow(), farewell=farewell)
        s.commit()
    click.echo(f"farmer {fid} erased")


COMMANDS = (farmers_group,)
