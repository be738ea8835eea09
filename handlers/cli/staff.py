"""CLI of staff accounts: the ``staff`` group (``service.staff.accounts``).

    flask --app service staff create-admin --username amina --name "Amina Rahimova" [--phone +992...]
    flask --app service staff add --username rustam --name "Rustam N." --role extension_officer \
        --scope vose [--scope kulob] [--phone +992...] [--language ru]
    flask --app service staff list
    flask --app service staff set-password --username rustam
    flask --app service staff unlock --username rustam
    flask --app service staff enable --username rustam [--off]
    flask --app service staff import-phones

The password is asked twice at the prompt (never on the command line), or read from standard
input with ``--password-stdin`` (scripts). Every command runs in one transaction with an audit
entry (``cli:<login>``: ``account.create``, ``account.password``, ``account.unlock``, the actions
of the staff pages too); a bad value exits with the reason and changes nothing.
"""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from handlers.cli import session as _session
from service.audit.log import Actor, record, snapshot
from service.errors import Refusal
from service.reference.phone import InvalidPhone, to_e164
from service.staff import accounts

staff_group = AppGroup("staff", help="Staff accounts: create the first administrator, add, list, passwords, unlock.")

AUDITED = ("username", "name", "role", "phone", "language", "active", "scope_refs")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _phone(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return to_e164(value)
    except InvalidPhone:
        raise click.BadParameter(f"{value!r} is not a phone number", param_hint="--phone") from None


def _english(refusal: Refusal) -> str:
    from handlers.staff.web import strings

    text = strings()["en"].get(refusal.key, refusal.key)
    try:
        return text.format(**refusal.params)
    except (KeyError, IndexError):
        return text


def _create(username, name, role, phone, language, scope, from_stdin) -> None:
    password = _password(from_stdin)
    with _session() as s:
        try:
            account = accounts.create(s, username=username, name=name, role=role, password=password,
                                      phone=_phone(phone), language=language, scope=list(scope))
        except Refusal as refusal:
            raise click.ClickException(_english(refusal)) from None
        record(s, Actor.cli(), "account.create", "staff_account", account.id, after=snapshot(account, AUDITED))
        s.commit()
        click.echo(f"created {account.username} ({account.role}{': ' + ', '.join(account.scope_refs) if account.scope_refs else ''})")


@staff_group.command("create-admin")
@click.option("--username", required=True, help="3-40 of a-z 0-9 . _ -")
@click.option("--name", required=True, help="The person's name")
@click.option("--phone", default=None, help="Their phone (staff SMS commands act for this account)")
@click.option("--language", type=click.Choice(accounts.LANGUAGES), default="tg", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def create_admin(username, name, phone, language, password_stdin):
    """Create an administrator (the first account of a deployment, or another one)."""
    _create(username, name, "admin", phone, language, (), password_stdin)


@staff_group.command("add")
@click.option("--username", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--scope", multiple=True, help="District or cluster id, village id, PG or market code (repeat)")
@click.option("--phone", default=None)
@click.option("--language", type=click.Choice(accounts.LANGUAGES), default="tg", show_default=True)
@click.option("--password-stdin", is_flag=True)
def add(username, name, role, scope, phone, language, password_stdin):
    """Create an account with a role and its area."""
    _create(username, name, role, phone, language, scope, password_stdin)


@staff_group.command("list")
def list_accounts():
    """Print every account: username, role, area, phone (masked), state."""
    from service.logs import mask_phone

    with _session() as s:
        from sqlalchemy import select

        for a in s.scalars(select(accounts.StaffAccount).order_by(accounts.StaffAccount.username)):
            state = "active" if a.active else "off"
            if a.locked_until is not None:
                state += f", locked until {a.locked_until:%Y-%m-%d %H:%M} UTC"
            click.echo(f"{a.username}\t{a.role}\t{','.join(a.scope_refs) or '-'}\t"
                       f"{mask_phone(a.phone) if a.phone else '-'}\t{state}")


def _account(s, username: str) -> accounts.StaffAccount:
    account = accounts.by_username(s, username)
    if account is None:
        raise click.ClickException(f"no account {username!r}")
    return account


@staff_group.command("set-password")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True)
def set_password(username, password_stdin):
    """Give an account a new password (it is also unlocked)."""
    password = _password(password_stdin)
    with _session() as s:
        account = _account(s, username)
        try:
            accounts.set_password(account, password)
        except Refusal as refusal:
            raise click.ClickException(_english(refusal)) from None
        record(s, Actor.cli(), "account.password", "staff_account", account.id, note="set on the command line")
        s.commit()
        click.echo(f"password set for {account.username}")


@staff_group.command("unlock")
@click.option("--username", required=True)
def unlock(username):
    """End the lock that repeated failed logins put on an account."""
    with _session() as s:
        account = _account(s, username)
        before = {"locked_until": account.locked_until, "failed_logins": account.failed_logins}
        accounts.unlock(account)
        record(s, Actor.cli(), "account.unlock", "staff_account", account.id, before=before,
               after={"locked_until": None, "failed_logins": 0})
        s.commit()
        click.echo(f"{account.username} unlocked")


@staff_group.command("enable")
@click.option("--username", required=True)
@click.option("--off", is_flag=True, help="Switch the account off instead (no login, no staff SMS)")
def enable(username, off):
    """Switch an account on (or off with --off)."""
    with _session() as s:
        account = _account(s, username)
        before = snapshot(account, AUDITED)
        accounts.update(s, account, active=not off)
        record(s, Actor.cli(), "staff.update", "staff_account", account.id, before=before,
               after=snapshot(account, AUDITED))
        s.commit()
        click.echo(f"{account.username} {'off' if off else 'on'}")


@staff_group.command("import-phones")
def import_phones():
    """For each STAFF_PHONES phone, say whether a staff account carries it and, if not, the
    `staff add` command that makes one (role and area guessed from the phone's advice responder).
    Changes nothing: a staff account needs a person's name, role, area and password."""
    from flask import current_app

    from service.staff import commands as staff_commands

    wanted = current_app.extensions["dehqon.settings"].staff_phones
    if not wanted:
        click.echo("STAFF_PHONES is empty: nothing to move")
        return
    with _session() as s:
        plans = staff_commands.migration_plan(s, wanted)
    missing = 0
    for plan in plans:
        if plan.state == "ok":
            click.echo(f"{plan.phone}\tok: account {plan.username}")
        elif plan.state == "off":
            click.echo(f"{plan.phone}\tswitched off: account {plan.username} "
                       f"(flask --app service staff enable --username {plan.username})")
        else:
            missing += 1
            role = plan.role or "ROLE"
            scope = " ".join(f"--scope {r}" for r in plan.scope) if plan.scope else "--scope AREA"
            if role == "admin":
                scope = ""
            name = plan.name or "NAME"
            click.echo(f"{plan.phone}\tno account; create one:\n  flask --app service staff add --username USERNAME "
                       f"--name \"{name}\" --role {role} {scope} --phone {plan.phone} --language {plan.language}")
    if missing:
        click.echo(f"{missing} of {len(plans)} phones have no staff account: their staff SMS commands are refused "
                   "until one is made (roles and areas: docs/staff.md)")
    else:
        click.echo(f"every STAFF_PHONES phone has an account ({len(plans)}); STAFF_PHONES can be removed")


COMMANDS = (staff_group,)
