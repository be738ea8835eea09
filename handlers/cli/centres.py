"""CLI of collection centres: the ``centres`` group (``service.sales.joint_sale``).

    flask --app service centres list [--season 2026]
    flask --app service centres add JOMICC --cluster tomato.jomi --capacity 600t \
        --name tg="Маркази Ҷомӣ" --name ru="Центр Джами" --name uz="Jomiy markazi" --name en="Jomi centre"
    flask --app service centres edit JOMICC [--capacity 800t] [--name ru="Центр Джами"] [--cluster tomato.jomi]

Every cluster has one centre; a centre takes its cluster's crop. ``add`` needs a name in each of
the four languages (farmers read it); ``edit`` changes the names given. Each command runs in one
transaction and prints the centre; a bad value exits with the reason and changes nothing.
``add`` and ``edit`` are recorded in the audit log (``centre.add``, ``centre.edit``, by ``cli:<login>``).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup

from handlers.cli import audit
from handlers.cli import session as _session
from service.errors import Refusal
from service.reference import quantity
from service.reference.names import LANGUAGES
from service.sales import joint_sale

centres_group = AppGroup("centres", help="Collection centres: list, add, edit (capacity, names, cluster).")


def _grams(text: str | None) -> int | None:
    """A capacity as typed (``600t``, ``800 t``, ``500000`` kg) in grams; None when not given."""
    if text is None:
        return None
    try:
        return quantity.read_mass(text)
    except Refusal:
        raise click.BadParameter(f"{text!r} is not a mass (e.g. 600t)", param_hint="--capacity") from None


def _names(pairs: tuple[str, ...]) -> dict:
    """``("tg=Маркази ҷамъоварии Ҷомӣ", "tg_short=Маркази Ҷомӣ", ...)`` as ``{lang: name}``
    (``<lang>_short``: the short name of tight screens, e.g. the price lists)."""
    out = {}
    for pair in pairs:
        lang, sep, name = pair.partition("=")
        if not sep or lang.strip().removesuffix("_short") not in LANGUAGES:
            raise click.BadParameter(f"{pair!r}: give LANG=NAME or LANG_short=NAME, LANG one of "
                                     f"{', '.join(LANGUAGES)}", param_hint="--name")
        out[lang.strip()] = name
    return out


def _state(session, centre) -> dict:
    """A centre as the audit log keeps it: code, cluster, crop, capacity (grams), names."""
    market = joint_sale.market_of(session, centre)
    return {"code": market.code, "cluster_id": centre.cluster_id, "crop_id": centre.crop_id,
            "capacity_g": centre.capacity_g, "names": dict(market.names or {})}


def _season() -> int:
    today = dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    return joint_sale.monday(today).isocalendar().year


def _line(c: joint_sale.CentreState) -> str:
    names = " / ".join(c.names.get(lang, "") for lang in LANGUAGES)
    return (f"{c.code}\t{c.cluster_id}\t{c.crop_id}\t{c.district_id}\tcapacity {quantity.tonnes(c.capacity_g, 'en')}\t"
            f"pledged {quantity.tonnes(c.pledged_g, 'en')} in {c.season}\t{names}")


def _show(session, code: str) -> str:
    return next(_line(c) for c in joint_sale.centres(session, _season()) if c.code == code)


@centres_group.command("list")
@click.option("--season", type=int, help="The season (ISO year) of the pledged totals (default: this one).")
def list_command(season):
    """Every centre: code, cluster, crop, district, capacity per season, open pledges of the season,
    names (tg / ru / uz / en)."""
    with _session() as session:
        for c in joint_sale.centres(session, season or _season()):
            click.echo(_line(c))


def _commit(session, fn):
    try:
        result = fn()
        session.commit()
        return result
    except ValueError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None


@centres_group.command("add")
@click.argument("code")
@click.option("--cluster", "cluster_id", required=True, help="The cluster it serves (e.g. rice.balkhi).")
@click.option("--capacity", required=True, help="Tonnes or kg per season (e.g. 600t).")
@click.option("--name", "names", multiple=True, required=True, help="LANG=NAME, once per language (tg, ru, uz, en); LANG_short=NAME for a short name.")
def add_command(code, cluster_id, capacity, names):
    """Add the collection centre CODE of a cluster that has none."""
    grams, named = _grams(capacity), _names(names)
    with _session() as session:
        def add():
            centre = joint_sale.add_centre(session, code, cluster_id, grams, named)
            audit(session, "centre.add", "collection_centre", centre.id, after=_state(session, centre))
            return centre

        centre = _commit(session, add)
        click.echo(f"added {_show(session, joint_sale.market_of(session, centre).code)}")


@centres_group.command("edit")
@click.argument("code")
@click.option("--capacity", help="Tonnes or kg per season (e.g. 800t).")
@click.option("--name", "names", multiple=True, help="LANG=NAME: the new name in that language (its short name then is the same unless "
                   "LANG_short=NAME is given too; repeat).")
@click.option("--cluster", "cluster_id", help="Another cluster of the same crop, without a centre.")
def edit_command(code, capacity, names, cluster_id):
    """Change the capacity, names or cluster of the centre CODE."""
    grams, named = _grams(capacity), _names(names)
    if grams is None and not named and cluster_id is None:
        raise click.UsageError("nothing to change: give --capacity, --name or --cluster")
    with _session() as session:
        centre = joint_sale.by_code(session, code)
        if centre is None:
            raise click.BadParameter(f"{code!r} is not a collection centre", param_hint="CODE")
        before = _state(session, centre)

        def edit():
            joint_sale.edit_centre(session, centre, capacity_g=grams, names=named, cluster_id=cluster_id)
            audit(session, "centre.edit", "collection_centre", centre.id, before=before, after=_state(session, centre))

        _commit(session, edit)
        click.echo(f"edited {_show(session, joint_sale.market_of(session, centre).code)}")


COMMANDS = (centres_group,)
