"""Staff accounts on the staff pages: the administrators' list and forms, and everyone's "My account".

Administrators only (anyone else gets 404):

* ``GET /staff/accounts``: every account (username, name, role, area, phone partly masked,
  language, on/off, locked until) and the form creating one; ``POST /staff/accounts`` creates it;
* ``GET /staff/accounts/<id>``: the account's edit form; ``POST`` saves name, role and area,
  phone, language, on/off; ``POST /staff/accounts/<id>/password`` gives it a new password (which
  ends its sessions and its lock); ``POST /staff/accounts/<id>/unlock`` ends its lock.

Every account: ``GET /staff/account`` ("My account": its details, its language, and
``POST /staff/account/password`` changing its own password with the old one).

Each change goes through ``service.staff.accounts`` with an audit entry in the same transaction
(``account.create``, ``account.update``, ``account.password``, ``account.unlock``; the password and
its hash are never in an entry). A ``Refusal`` re-shows the form (400) with its reason.
"""
from __future__ import annotations

from flask import g, request, session

from handlers.common import db, field, settings
from handlers.staff import web
from service.audit.log import record, snapshot
from service.errors import Refusal
from service.reference.phone import InvalidPhone, to_e164
from service.staff import accounts
from service.staff.scope import area_names

bp = web.blueprint("staff_accounts", __name__, "/staff")
web.nav_item("staff_accounts.index", "admin.accounts", roles=("admin",), order=85)
web.nav_item("staff_accounts.mine", "admin.my_account", order=95)

#: the fields of an account the audit log keeps (never the password or its hash)
AUDITED = ("username", "name", "role", "phone", "language", "active", "scope_refs")
MAX_SCOPE_CHARS = 600
MAX_PHONE_CHARS = 30


def masked(phone: str | None) -> str:
    """A phone as the list shows it: the country code and the last three digits (``+992•••••567``)."""
    if not phone:
        return ""
    return phone[:4] + "•" * max(len(phone) - 7, 3) + phone[-3:]


def _refs(text: str) -> list[str]:
    """Scope refs typed as text: separated by commas, semicolons or spaces."""
    return [r for r in text.replace(";", ",").replace(" ", ",").split(",") if r.strip()]


def _phone(text: str) -> str | None:
    """The phone of the form in E.164, None when empty; ``Refusal("admin.err.phone")`` otherwise."""
    if not text.strip():
        return None
    try:
        return to_e164(text)
    except InvalidPhone:
        raise Refusal("admin.err.phone") from None


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    value = field(name, limit=40)
    if value not in allowed:
        raise Refusal("admin.err.choice")
    return value


def _form() -> dict:
    """The account form's fields as typed (for showing it again)."""
    return {"username": field("username", limit=accounts.MAX_USERNAME_CHARS + 10),
            "name": field("name", limit=accounts.MAX_NAME_CHARS + 10),
            "role": field("role", limit=40), "scope": field("scope", limit=MAX_SCOPE_CHARS),
            "phone": field("phone", limit=MAX_PHONE_CHARS), "language": field("language", limit=4),
            "active": request.form.get("active") == "on"}


def _zone():
    return settings().timezone


def _list_page(form: dict | None = None, error: str | None = None, status: int = 200):
    from sqlalchemy import select

    rows = list(db().scalars(select(accounts.StaffAccount).order_by(accounts.StaffAccount.username)))
    return web.render("staff/accounts.html", rows=rows, form=form or {"language": "tg", "role": "extension_officer"},
                      error=error, masked=masked, zone=_zone(), roles=accounts.ROLES,
                      scope_kinds=accounts.SCOPE_KINDS, languages=accounts.LANGUAGES), status


def _account(account_id: int) -> accounts.StaffAccount:
    account = db().get(accounts.StaffAccount, account_id)
    if account is None:
        web.not_found()
    return account


def _edit_page(account, form: dict | None = None, error: str | None = None, status: int = 200):
    if form is None:
        form = {"name": account.name, "role": account.role, "scope": ", ".join(account.scope_refs),
                "phone": account.phone or "", "language": account.language, "active": account.active}
    return web.render("staff/account_edit.html", account=account, form=form, error=error, masked=masked,
                      zone=_zone(), roles=accounts.ROLES, scope_kinds=accounts.SCOPE_KINDS,
                      languages=accounts.LANGUAGES), status


@bp.get("/accounts")
def index():
    web.require_role()
    return _list_page()


@bp.post("/accounts")
def create():
    web.require_role()
    form = _form()
    password = request.form.get("password", "")[:accounts.MAX_PASSWORD_CHARS + 1]
    try:
        account = accounts.create(db(), username=form["username"], name=form["name"],
                                  role=_choice("role", accounts.ROLES), password=password,
                                  phone=_phone(form["phone"]), language=_choice("language", accounts.LANGUAGES),
                                  scope=_refs(form["scope"]))
    except Refusal as refusal:
        db().rollback()
        return _list_page(form, web.refusal_text(refusal), 400)
    record(db(), web.actor(), "account.create", "staff_account", account.id, after=snapshot(account, AUDITED))
    return web.done("admin.created", "staff_accounts.edit", account_id=account.id)


@bp.get("/accounts/<int:account_id>")
def edit(account_id: int):
    web.require_role()
    return _edit_page(_account(account_id))


@bp.post("/accounts/<int:account_id>")
def update(account_id: int):
    web.require_role()
    account = _account(account_id)
    form = _form()
    before = snapshot(account, AUDITED)
    try:
        accounts.update(db(), account, name=form["name"], role=_choice("role", accounts.ROLES),
                        scope=_refs(form["scope"]), phone=_phone(form["phone"]),
                        language=_choice("language", accounts.LANGUAGES), active=form["active"])
    except Refusal as refusal:
        db().rollback()
        return _edit_page(_account(account_id), form, web.refusal_text(refusal), 400)
    after = snapshot(account, AUDITED)
    if after != before:
        record(db(), web.actor(), "account.update", "staff_account", account.id, before=before, after=after)
    return web.done("staff.saved", "staff_accounts.edit", account_id=account.id)


@bp.post("/accounts/<int:account_id>/password")
def reset_password(account_id: int):
    web.require_role()
    account = _account(account_id)
    try:
        accounts.set_password(account, request.form.get("password", "")[:accounts.MAX_PASSWORD_CHARS + 1])
    except Refusal as refusal:
        db().rollback()
        return _edit_page(_account(account_id), error=web.refusal_text(refusal), status=400)
    record(db(), web.actor(), "account.password", "staff_account", account.id, note="reset by an administrator")
    if account.id == g.account.id:  # one's own session goes on
        session["pw"] = account.password_hash[-16:]
    return web.done("admin.password_set", "staff_accounts.edit", account_id=account.id)


@bp.post("/accounts/<int:account_id>/unlock")
def unlock(account_id: int):
    web.require_role()
    account = _account(account_id)
    before = {"locked_until": account.locked_until, "failed_logins": account.failed_logins}
    accounts.unlock(account)
    record(db(), web.actor(), "account.unlock", "staff_account", account.id, before=before,
           after={"locked_until": None, "failed_logins": 0})
    return web.done("admin.unlocked", "staff_accounts.edit", account_id=account.id)


def _mine_page(error: str | None = None, status: int = 200):
    return web.render("staff/my_account.html", account=g.account, error=error, masked=masked,
                      areas=area_names(db(), g.account.scope_rows, g.lang)), status


@bp.get("/account")
def mine():
    return _mine_page()


@bp.post("/account/password")
def change_password():
    account = g.account
    old = request.form.get("old_password", "")[:accounts.MAX_PASSWORD_CHARS + 1]
    new = request.form.get("new_password", "")[:accounts.MAX_PASSWORD_CHARS + 1]
    try:
        if new != request.form.get("new_password2", "")[:accounts.MAX_PASSWORD_CHARS + 1]:
            raise Refusal("admin.err.password_twice")
        accounts.change_password(account, old, new)
    except Refusal as refusal:
        db().rollback()
        return _mine_page(web.refusal_text(refusal), 400)
    record(db(), web.actor(), "account.password", "staff_account", account.id, note="changed by the account")
    session["pw"] = account.password_hash[-16:]  # this session goes on; the account's others end
    return web.done("admin.password_changed", "staff_accounts.mine")
