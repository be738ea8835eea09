"""Staff accounts: who may log in to the staff pages and send staff SMS commands, in which role and area.

Roles (:data:`ROLES`, ``docs/staff.md`` §1) and the kind of scope row each one takes
(:data:`SCOPE_KINDS`):

* ``admin``: the whole programme, and the accounts and audit log; no scope rows;
* ``extension_officer``: their districts (``district`` rows: district ids);
* ``cluster_coordinator``: their commodity cluster(s) (``cluster`` rows: cluster ids);
* ``vam_agent``: the villages they serve (``village`` rows: village ids as text);
* ``pg_leader``: their producer group (``pg`` rows: PG codes);
* ``market_reporter``: the markets whose prices they report (``market`` rows: market codes).

Passwords are hashed with Argon2id (``argon2-cffi``); after :data:`LOCK_AFTER` failed logins in a
row an account is locked for :data:`LOCK_MINUTES` minutes. An account may carry the person's phone
(E.164, unique): the staff SMS commands act for the account of the sending phone, within its scope.
"""
from __future__ import annotations

import datetime as dt
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from service.db import Base, utcnow
from service.errors import Refusal

ROLES = ("admin", "extension_officer", "cluster_coordinator", "vam_agent", "pg_leader", "market_reporter")
#: the kind of scope row each role takes (None: no scope rows, the whole programme)
SCOPE_KINDS = {"admin": None, "extension_officer": "district", "cluster_coordinator": "cluster",
               "vam_agent": "village", "pg_leader": "pg", "market_reporter": "market"}
#: languages of the staff pages (the staff member's own choice)
LANGUAGES = ("tg", "ru", "en", "uz")
#: failed logins in a row that lock an account, and for how long
LOCK_AFTER = 5
LOCK_MINUTES = 15
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 128
MAX_USERNAME_CHARS = 40
MAX_NAME_CHARS = 80
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")

_hasher = PasswordHasher()
#: verified against when the username is unknown, so both answers take as long
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class StaffAccount(Base):
    """A staff member's account. ``username``: lower case, 3-40 of ``a-z 0-9 . _ -``; ``role``: one of
    :data:`ROLES`; ``phone``: E.164 or None (unique); ``language``: the staff pages' language;
    ``password_hash``: Argon2id; ``failed_logins``: failures in a row; ``locked_until``: UTC, or None;
    ``active``: False for an account switched off (it can neither log in nor send staff SMS)."""

    __tablename__ = "staff_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(MAX_USERNAME_CHARS), unique=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    role: Mapped[str] = mapped_column(String(24))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    language: Mapped[str] = mapped_column(String(2), default="tg")
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    scope_rows: Mapped[list[StaffScope]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                        order_by="StaffScope.ref")

    @property
    def scope_refs(self) -> list[str]:
        """The ids or codes of the account's scope rows, sorted (empty for an administrator)."""
        return sorted(r.ref for r in self.scope_rows)

    def label(self) -> str:
        """``"<username> (<role>)"``: how the audit log names the account."""
        return f"{self.username} ({self.role})"


class StaffScope(Base):
    """One area an account covers: ``kind`` (``district``, ``cluster``, ``village``, ``pg``,
    ``market``) and ``ref`` (the district or cluster id, village id as text, PG or market code)."""

    __tablename__ = "staff_scope"
    __table_args__ = (UniqueConstraint("account_id", "kind", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    ref: Mapped[str] = mapped_column(String(64))


class LoginRefused(Exception):
    """A login that did not succeed; ``reason``: ``"bad"`` (unknown user, wrong password, account
    switched off: one answer, so the page tells no one which) or ``"locked"`` (``until``: UTC)."""

    def __init__(self, reason: str, until: dt.datetime | None = None):
        super().__init__(reason)
        self.reason, self.until = reason, until


def clean_username(text: str) -> str:
    """A username as stored (stripped, lower case); ``Refusal("staff.err.username")`` unless it is
    3-40 of ``a-z 0-9 . _ -`` starting with a letter or digit."""
    name = (text or "").strip().lower()
    if not _USERNAME.match(name):
        raise Refusal("staff.err.username")
    return name


def check_password(password: str) -> str:
    """``password`` if it is :data:`MIN_PASSWORD_CHARS` to :data:`MAX_PASSWORD_CHARS` characters,
    else ``Refusal("staff.err.password")``."""
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise Refusal("staff.err.password")
    return password


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (checked by :func:`check_password` first)."""
    return _hasher.hash(check_password(password))


def by_username(session: Session, username: str) -> StaffAccount | None:
    """The account with this username (any case), or None."""
    return session.scalar(select(StaffAccount).where(StaffAccount.username == (username or "").strip().lower()))


def by_phone(session: Session, phone: str) -> StaffAccount | None:
    """The active account carrying ``phone`` (E.164), or None."""
    if not phone:
        return None
    return session.scalar(select(StaffAccount).where(StaffAccount.phone == phone, StaffAccount.active.is_(True)))


def count(session: Session) -> int:
    """How many accounts exist (0 before the first administrator is created)."""
    return session.scalar(select(func.count()).select_from(StaffAccount)) or 0


def scope_rows(session: Session, role: str, refs: list[str]) -> list[StaffScope]:
    """The scope rows of ``role`` for ``refs`` (ids or codes, checked to exist); ``Refusal``:
    ``staff.err.scope_missing``, ``staff.err.scope_not_for_role``, ``staff.err.scope_unknown``."""
    from service.staff import scope as scope_mod

    kind = SCOPE_KINDS[role]
    refs = sorted({str(r).strip() for r in refs or [] if str(r).strip()})
    if kind is None:
        if refs:
            raise Refusal("staff.err.scope_not_for_role")
        return []
    if not refs:
        raise Refusal("staff.err.scope_missing")
    return [StaffScope(kind=kind, ref=scope_mod.check_ref(session, kind, r)) for r in refs]


def create(session: Session, *, username: str, name: str, role: str, password: str,
           phone: str | None = None, language: str = "tg", scope: list[str] | None = None) -> StaffAccount:
    """Create an account and return it (flushed).

    ``scope``: the ids or codes of the role's scope kind (:data:`SCOPE_KINDS`). ``phone``: E.164 or
    None. Raises ``ValueError`` for a role or language outside the allowed values, and ``Refusal``:
    ``staff.err.username``, ``staff.err.username_taken``, ``staff.err.password``,
    ``staff.err.name``, ``staff.err.phone_taken``, ``staff.err.scope_missing``,
    ``staff.err.scope_not_for_role``, ``staff.err.scope_unknown`` (``ref``).
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    username = clean_username(username)
    if by_username(session, username) is not None:
        raise Refusal("staff.err.username_taken", username=username)
    name = " ".join((name or "").split())
    if not 2 <= len(name) <= MAX_NAME_CHARS:
        raise Refusal("staff.err.name")
    if phone and session.scalar(select(StaffAccount.id).where(StaffAccount.phone == phone)) is not None:
        raise Refusal("staff.err.phone_taken")
    account = StaffAccount(username=username, name=name, role=role, phone=phone or None, language=language,
                           password_hash=hash_password(password),
                           scope_rows=scope_rows(session, role, scope or []))
    session.add(account)
    session.flush()
    return account


def update(session: Session, account: StaffAccount, *, name: str | None = None, role: str | None = None,
           phone: str | None = "", language: str | None = None, scope: list[str] | None = None,
           active: bool | None = None) -> StaffAccount:
    """Change an account's name, role and scope, phone (``None`` removes it; ``""`` leaves it),
    language or ``active``; the same errors as :func:`create`. A new role needs its scope.
    ``Refusal("staff.err.last_admin")`` when the change would leave no active administrator."""
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    if account.role == "admin" and account.active and ((role is not None and role != "admin") or active is False):
        others = session.scalar(select(func.count()).select_from(StaffAccount).where(
            StaffAccount.role == "admin", StaffAccount.active.is_(True), StaffAccount.id != account.id)) or 0
        if not others:
            raise Refusal("staff.err.last_admin")
    if name is not None:
        name = " ".join(name.split())
        if not 2 <= len(name) <= MAX_NAME_CHARS:
            raise Refusal("staff.err.name")
        account.name = name
    if phone != "":
        if phone and session.scalar(select(StaffAccount.id).where(
                StaffAccount.phone == phone, StaffAccount.id != account.id)) is not None:
            raise Refusal("staff.err.phone_taken")
        account.phone = phone or None
    if role is not None or scope is not None:
        new_role = role or account.role
        refs = scope if scope is not None else (account.scope_refs if new_role == account.role else [])
        kept = {(r.kind, r.ref): r for r in account.scope_rows}  # a row kept is not deleted and inserted again
        account.scope_rows = [kept.get((r.kind, r.ref), r) for r in scope_rows(session, new_role, refs)]
        account.role = new_role
    if language is not None:
        account.language = language
    if active is not None:
        account.active = active
    session.flush()
    return account


def change_password(account: StaffAccount, old: str, new: str) -> None:
    """The account's own change of password: ``Refusal("staff.err.old_password")`` unless ``old`` is
    its current password, then as :func:`set_password` (``Refusal("staff.err.password")``)."""
    try:
        _hasher.verify(account.password_hash, (old or "")[:MAX_PASSWORD_CHARS + 1])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise Refusal("staff.err.old_password") from None
    set_password(account, new)


def unlock(account: StaffAccount) -> None:
    """End the lock that repeated failed logins put on ``account`` (and reset the failure count)."""
    account.failed_logins, account.locked_until = 0, None


def set_password(account: StaffAccount, password: str) -> None:
    """Give ``account`` a new password (and unlock it); ``Refusal("staff.err.password")`` as :func:`check_password`."""
    account.password_hash = hash_password(password)
    account.failed_logins, account.locked_until = 0, None


def authenticate(session: Session, username: str, password: str, now: dt.datetime) -> StaffAccount:
    """The account ``username`` logs in to with ``password`` at ``now`` (UTC); the caller commits.

    Counts a failure (locking the account for :data:`LOCK_MINUTES` at the :data:`LOCK_AFTER`-th in a
    row) and raises :class:`LoginRefused` (``"bad"`` or ``"locked"``); a success resets the count
    and records ``last_login_at``. A hash made with older parameters is replaced on success.
    """
    account = by_username(session, username) if len(username or "") <= MAX_USERNAME_CHARS else None
    password = (password or "")[:MAX_PASSWORD_CHARS + 1]
    if account is None:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        raise LoginRefused("bad")
    if account.locked_until is not None and account.locked_until > now:
        raise LoginRefused("locked", account.locked_until)
    try:
        _hasher.verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        account.failed_logins = (account.failed_logins or 0) + 1
        if account.failed_logins >= LOCK_AFTER:
            account.failed_logins, account.locked_until = 0, now + dt.timedelta(minutes=LOCK_MINUTES)
            raise LoginRefused("locked", account.locked_until) from None
        raise LoginRefused("bad") from None
    if not account.active:
        raise LoginRefused("bad")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
    return account
