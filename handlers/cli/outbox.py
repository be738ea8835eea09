"""``flask --app service outbox status|release|fail|resume``: what is stuck in the outbox, and settling it.

``status`` counts rows by state, and by reason for what needs a person (queued
past due, sending, held, unconfirmed, failed in the last ``--hours``), with the
gateways' holds as ``GET /readyz`` sees them (``service.health.hold_sentence``). ``resume
[--gateway NAME]`` ends a gateway's account and outage holds once the cause is fixed and makes the
rows they pushed due now (``service.messaging.gateway_state.resume``; audited ``outbox.resume``). ``release`` puts chosen ``held``, ``failed`` or
``unconfirmed`` rows back in the queue; ``fail`` marks chosen ``queued``,
``held`` or ``unconfirmed`` rows failed with a reason. Rows are chosen with
``--id`` (repeatable), ``--state`` and ``--reason`` (part of the failure
reason, any case); both commands list the rows and ask before changing them
(``--dry-run`` only lists, ``--yes`` does not ask). The rules are in
``service.messaging.outbox``. A release or a fail is recorded in the audit log (``outbox.release``,
``outbox.fail``: the rows' ids, the first 1,000; by ``cli:<login>``).
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from handlers.cli import audit, session, settings
from service.health import hold_sentence
from service.messaging import gateway_state, outbox
from service.db import utcnow
from service.logs import mask_phone

outbox_group = AppGroup("outbox", help="Show and settle what is stuck in the SMS outbox.")

SHOWN = 20  # rows listed before "... and N more"


_session = session


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


def _line(row) -> str:
    return (f"{row.id}\t{row.status}\t{row.kind}\t{mask_phone(row.phone)}\tattempts {row.attempts}\t"
            f"{row.failure_reason or ''}")


@outbox_group.command("status")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=24, show_default=True,
              help="Show rows failed within this many hours.")
def status_command(hours: float):
    """Rows by state; by reason for the states that need a person; the gateways' outage state."""
    now = utcnow()
    with _session() as session:
        found = outbox.status(session, now, hours)
    states = ", ".join(f"{n} {state}" for state, n in found.states.items()) or "empty"
    click.echo(f"outbox: {states}")
    for heading, reasons in found.groups.items():
        click.echo(f"{heading}: {sum(n for _, n in reasons)}")
        for reason, n in reasons:
            click.echo(f"  {n:>6}  {reason}")
    held = {(gateway, cause): state for gateway, cause, state in found.holds}
    shown = [g.gateway for g in found.gateways] or [current_app.config['SMS_GATEWAY']]
    if not found.gateways:
        click.echo(f"gateway {shown[0]}: no outage recorded")
    for g in found.gateways:
        if (g.gateway, "outage") in held:
            click.echo(f"gateway {g.gateway}: OUTAGE since "
                       + (f"{g.outage_since:%Y-%m-%d %H:%M} UTC" if g.outage_since else "?")
                       + f", {g.failed_passes} failed passes, next try after "
                       + (f"{g.held_until:%Y-%m-%d %H:%M:%S} UTC" if g.held_until else "?")
                       + f"; last error: {g.last_error}")
        if (g.gateway, "account") in held:
            click.echo(f"gateway {g.gateway}: HELD: {hold_sentence(g.gateway, 'account', g)}")
        if not any(gateway == g.gateway for gateway, _ in held):
            click.echo(f"gateway {g.gateway}: answering")


def choice_options(states: tuple[str, ...]):
    """The row-choosing options, with ``--state`` limited to ``states``."""
    def decorate(f):
        f = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")(f)
        f = click.option("--dry-run", is_flag=True, help="List the rows, change nothing.")(f)
        f = click.option("--reason", default=None, help="Rows whose failure reason contains this text (any case).")(f)
        f = click.option("--state", type=click.Choice(states), default=None, help="Rows in this state.")(f)
        return click.option("--id", "ids", type=int, multiple=True, help="Outbox row id; repeatable.")(f)
    return decorate


def _chosen(session, ids, state, reason):
    try:
        rows = outbox.choose(session, ids=ids, state=state, reason=reason)
    except ValueError:
        raise click.UsageError("choose rows with --id, --state or --reason") from None
    if not rows:
        raise click.ClickException("no outbox row matches")
    return rows


def _review(rows, why_not, verb: str, dry_run: bool, yes: bool) -> list | None:
    """List the chosen rows as they are and the ones that are left alone (with why); the rows to
    change, or None on --dry-run. Raises ClickException when none can change or the person declines."""
    able = [row for row in rows if not why_not(row)]
    for row in able[:SHOWN]:
        click.echo(_line(row))
    if len(able) > SHOWN:
        click.echo(f"... and {len(able) - SHOWN} more")
    left = [row for row in rows if why_not(row)]
    for row in left[:SHOWN]:
        click.echo(f"not {verb}: {row.id} ({why_not(row)})")
    if len(left) > SHOWN:
        click.echo(f"... and {len(left) - SHOWN} more not {verb}")
    if not able:
        raise click.ClickException(f"nothing to be {verb}")
    if dry_run:
        click.echo(f"dry run: {_rows(len(able))} would be {verb}")
        return None
    if not yes and not click.confirm(f"{_rows(len(able))} will be {verb}. Go on?", default=False):
        raise click.ClickException("nothing changed")
    return able


@outbox_group.command("release")
@choice_options(outbox.RELEASABLE)
@click.option("--duplicate-ok", is_flag=True,
              help="Also send rows AT may already have (unconfirmed, or with AT's message id): "
                   "the farmer may get the message twice.")
def release_command(ids, state, reason, dry_run, yes, duplicate_ok):
    """Put chosen held, failed or unconfirmed rows back in the queue (fresh attempts and deadline)."""
    with _session() as session:
        rows = _chosen(session, ids, state, reason)
        able = _review(rows, lambda row: outbox.why_not_released(row, duplicate_ok), "released", dry_run, yes)
        if able:
            released, _ = outbox.release(session, able, utcnow(), duplicate_ok=duplicate_ok)
            if released:
                audit(session, "outbox.release", "outbound_message", after={
                    "rows": len(released), "ids": sorted(r.id for r in released)[:1000], "duplicate_ok": duplicate_ok})
            session.commit()
            click.echo(f"{_rows(len(released))} released to the queue")


@outbox_group.command("fail")
@choice_options(outbox.FAILABLE)
@click.option("--why", required=True, help="The reason stored on the rows (\"failed by hand: ...\").")
def fail_command(ids, state, reason, dry_run, yes, why):
    """Mark chosen queued, held or unconfirmed rows failed, with a reason; they are not sent."""
    if not " ".join(why.split()):
        raise click.BadParameter("give the reason", param_hint="--why")
    with _session() as session:
        rows = _chosen(session, ids, state, reason)
        able = _review(rows, outbox.why_not_failed, "failed", dry_run, yes)
        if able:
            failed, _ = outbox.fail(session, able, why)
            if failed:
                audit(session, "outbox.fail", "outbound_message", after={
                    "rows": len(failed), "ids": sorted(r.id for r in failed)[:1000]}, note=why)
            session.commit()
            click.echo(f"{_rows(len(failed))} failed")


@outbox_group.command("resume")
@click.option("--gateway", "name", default=None,
              help="The gateway to resume (SMS_GATEWAY or one SMS_ROUTES names); default SMS_GATEWAY.")
def resume_command(name: str | None):
    """After fixing the cause of a gateway's hold: end its account hold and its outage hold and
    send the rows they held back now (a cause not fixed holds it again at the next pass)."""
    from service.messaging import gateways
    from service.messaging.message import OutboundMessage

    routes = gateways.for_routes(settings())
    name = name or routes.default
    if name not in routes.names():
        raise click.BadParameter(f"use one of {', '.join(routes.names())}", param_hint="--gateway")
    only = routes.sql_gateway(OutboundMessage.phone) == name if len(routes.names()) > 1 else None
    with _session() as session:
        done = gateway_state.resume(session, name, utcnow(), only)
        if not done.account and not done.outage:
            session.rollback()
            click.echo(f"gateway {name}: no hold in force; nothing changed")
            return
        audit(session, "outbox.resume", "gateway_state", name, before={
            "account_held_until": done.account[0].isoformat() if done.account else None,
            "account_problem": done.account[1] if done.account else None, "outage": done.outage},
            after={"rows": done.rows})
        session.commit()
    ended = " and ".join(n for n, on in (("account hold", done.account), ("outage hold", done.outage)) if on)
    click.echo(f"gateway {name}: {ended} ended; {_rows(done.rows)} due now")


@outbox_group.command("simulate-reports")
@click.option("--fail-every", type=click.IntRange(min=0, max=1000), default=5, show_default=True,
              help="Every N-th message fails (with a reason); 0: all delivered.")
@click.option("--limit", type=click.IntRange(min=1, max=100_000), default=10_000, show_default=True,
              help="At most this many reports.")
def simulate_reports_command(fail_every: int, limit: int):
    """Post simulated delivery reports through the delivery webhook (SMS_GATEWAY=local only).

    One report per message the local gateway accepted (``LOCAL_DELIVERY=reports`` in the service
    that sent it) and no report has settled yet, posted to
    ``/sms/delivery`` as Africa's Talking posts it (every ``--fail-every``-th ``Failed``, the
    others ``Success``). Changes the outbox as real reports would; no audit entry (it is the
    gateway's part, not a person's action)."""
    from service.messaging.gateways.local import simulated_reports

    if current_app.config.get("SMS_GATEWAY") != "local":
        raise click.ClickException("simulate-reports is for the local gateway (SMS_GATEWAY=local) only: "
                                   "it makes up delivery reports.")
    with _session() as s:
        reports = simulated_reports(s, fail_every=fail_every, limit=limit)
    tokens = current_app.config.get("WEBHOOK_TOKENS") or []
    query = {"key": tokens[0]} if tokens else None
    client = current_app.test_client()
    counts = {"Success": 0, "Failed": 0}
    for report in reports:
        answer = client.post("/sms/delivery", query_string=query, data=report.form())
        if answer.status_code != 200:
            raise click.ClickException(f"the webhook answered {answer.status_code}: {answer.get_data(as_text=True)[:200]}")
        counts[report.status] += 1
    click.echo(f"{counts['Success']} delivered, {counts['Failed']} failed")
