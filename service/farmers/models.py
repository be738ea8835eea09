"""Farmers: the people behind a phone number.

A phone (E.164) can carry several farmer profiles (a household shares one
phone; a woman may reach the service only through it). Each profile has its
own name, gender, language and memberships; the first registered profile of
a phone is its *main* profile, which SMS commands act for unless they start
with another profile's member code (the farmer's id, e.g. ``1207 JOIN VOS03``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ForeignKey, Index, String, exists, func, select, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from service.db import Base, utcnow
from service.errors import Refusal
from service.reference import quantity
from service.reference.names import LANGUAGES, fold
from service.messaging import household
from service.messaging import optout
from service.messaging.optout import Suppression

GENDERS = ("female", "male")
MAX_PROFILES_PER_PHONE = 8
MAX_LAND_HA = Decimal("500")
#: most characters of a person's name
MAX_NAME_CHARS = 40
#: most characters of a village name typed by a farmer (not in the list)
MAX_VILLAGE_CHARS = 60
#: digits of a member code
CODE_DIGITS = 8
_ID_CODES = (10_000_000, 50_000_000)  # codes of rows inserted with their id (code_of_id)
_DRAWN_CODES = (50_000_000, 100_000_000)  # codes drawn at random for rows inserted without one
_DEV_KEY = "dehqon-development-key"
_key = {"secret": _DEV_KEY.encode()}


def configure_key(secret: str | None) -> None:
    """Set the service's ``PRIVACY_KEY`` (``config.py``), which keys :func:`code_of_id` and
    :func:`phone_digest`; empty: the development key (``docs/privacy.md``)."""
    _key["secret"] = (secret or _DEV_KEY).encode()


def subkey(label: str) -> bytes:
    """A key for one use (``"member-code"``, ``"erased-phone"``) derived from ``PRIVACY_KEY``."""
    return hmac.new(_key["secret"], label.encode(), hashlib.sha256).digest()


def code_of_id(farmer_id: int) -> str:
    """The member code of the row with id ``farmer_id`` (1 to 39,999,999) inserted with its id: a
    4-round Feistel permutation of 0–99,999,999 keyed by :func:`subkey`, walked until it lands
    in the first 40 million, shifted to 8 digits not starting with 0 (``10000000``–``49999999``).
    A bijection, so two ids never share a code. ``ValueError`` outside the range."""
    size = _ID_CODES[1] - _ID_CODES[0]
    if not 0 < farmer_id < size:
        raise ValueError(f"a farmer id for a member code is 1 to {size - 1}")
    key = subkey("member-code")
    value = farmer_id
    while True:
        left, right = divmod(value, 10_000)
        for rnd in range(4):
            f = int.from_bytes(hmac.new(key, f"{rnd}:{right}".encode(), hashlib.sha256).digest()[:8], "big")
            left, right = right, (left + f) % 10_000
        value = left * 10_000 + right
        if value < size:
            return str(_ID_CODES[0] + value)


def _code_default(context) -> str:
    """The ``farmer.code`` default, per row (Core executemany included): :func:`code_of_id` when
    the row carries its id, else a random code of the upper range not in the table nor drawn
    earlier for the same statement."""
    params = context.get_current_parameters()
    if params.get("id") is not None:
        return code_of_id(int(params["id"]))
    drawn = context.__dict__.setdefault("_drawn_codes", set())
    table = Farmer.__table__
    while True:
        code = str(_DRAWN_CODES[0] + secrets.randbelow(_DRAWN_CODES[1] - _DRAWN_CODES[0]))
        if code in drawn:
            continue
        taken = context.connection.execute(select(table.c.id).where(table.c.code == code).limit(1)).first()
        if taken is None:
            drawn.add(code)
            return code


def phone_digest(phone: str) -> str:
    """HMAC-SHA256 (hex) of an E.164 phone under :func:`subkey` ``"erased-phone"``: what the
    service keeps of an erased phone (``docs/privacy.md`` §3)."""
    return hmac.new(subkey("erased-phone"), phone.encode(), hashlib.sha256).hexdigest()


def erased_among(session: Session, phones: list[str]) -> dict[str, dt.datetime]:
    """``{phone: when it was erased}`` for those of ``phones`` (E.164) kept as an :class:`ErasedPhone`
    (one query; registered as the suppression list's lookup, ``optout.set_erased_lookup``)."""
    digests = {phone_digest(p): p for p in phones if p}
    if not digests:
        return {}
    rows = session.execute(select(ErasedPhone.digest, ErasedPhone.created_at)
                           .where(ErasedPhone.digest.in_(sorted(digests)))).all()
    return {digests[d]: at for d, at in rows}


class ErasedPhone(Base):
    """A phone whose last profile was erased, kept only as :func:`phone_digest` (``digest``) with
    when (UTC). Such a phone gets no message the farmer did not ask for by writing again
    (``service.messaging.optout.suppressions_among``); registering a profile on it again removes
    the row."""

    __tablename__ = "erased_phone"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FarmerCrop(Base):
    """A crop a farmer grows."""

    __tablename__ = "farmer_crop"
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmer.id", ondelete="CASCADE"), primary_key=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"), primary_key=True)


class Farmer(Base):
    """A farmer profile.

    ``phone``: E.164; ``gender``: ``female``/``male``; ``language``: tg/ru/uz/en;
    ``land_m2``: land farmed in square metres (rendered in ha); ``is_main``:
    the phone's main profile; ``unlisted_village``: the village as the farmer typed it when it
    was not in the list (``village_id`` then empty, for staff to review: :func:`unlisted`) and
    ``unlisted_district_id`` the district it was typed under.
    ``code``: the member code people type and read (module docstring; never the id).
    ``erased_at``: when the farmer's personal data was erased (``service.farmers.privacy``): the
    row then keeps only what anonymous counts need.
    """

    __tablename__ = "farmer"
    __table_args__ = (
        # at most one main profile per phone
        Index("uq_farmer_main_phone", "phone", unique=True,
              sqlite_where=text("is_main"), postgresql_where=text("is_main")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_DIGITS), unique=True, default=_code_default)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(80))
    gender: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(2), default="tg")
    land_m2: Mapped[int | None]
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    unlisted_village: Mapped[str | None] = mapped_column(String(MAX_VILLAGE_CHARS))
    unlisted_district_id: Mapped[str | None] = mapped_column(String(32))
    is_main: Mapped[bool] = mapped_column(default=False)
    registered_via: Mapped[str] = mapped_column(String(8), default="ussd")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[dt.datetime | None]

    crop_rows: Mapped[list[FarmerCrop]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def crop_ids(self) -> list[str]:
        """Ids of the crops this farmer grows, sorted."""
        return sorted(c.crop_id for c in self.crop_rows)

    @hybrid_property
    def opted_out(self) -> bool:
        """True when the farmer's phone is on the suppression list (see ``service.messaging.optout``)."""
        session = Session.object_session(self)
        return session is not None and session.get(Suppression, self.phone) is not None

    @opted_out.expression
    def opted_out(cls):
        return exists().where(Suppression.phone == cls.phone)


def by_code(session: Session, code: str | None) -> Farmer | None:
    """The profile whose member code is ``code`` as typed (spaces around dropped; at most
    :data:`CODE_DIGITS` digits), or None (also for an erased profile)."""
    code = (code or "").strip()
    if not code.isdecimal() or len(code) > CODE_DIGITS:
        return None
    return session.scalar(select(Farmer).where(Farmer.code == code, Farmer.erased_at.is_(None)))


def profiles(session: Session, phone: str) -> list[Farmer]:
    """Profiles on ``phone``: the main one first, then by registration order."""
    return list(session.scalars(
        select(Farmer).where(Farmer.phone == phone).order_by(Farmer.is_main.desc(), Farmer.id)))


def shared_profile_names(session: Session, farmer_ids: set[int]) -> dict[int, str]:
    """``{farmer_id: name}`` for those of ``farmer_ids`` whose phone carries several profiles
    (registered as the outbox's lookup: ``service.messaging.household.set_directory``)."""
    rows = session.execute(select(Farmer.id, Farmer.name, Farmer.phone).where(Farmer.id.in_(sorted(farmer_ids)))).all()
    if not rows:
        return {}
    phones = {r.phone for r in rows}
    counts = dict(session.execute(select(Farmer.phone, func.count()).where(Farmer.phone.in_(sorted(phones)))
                                  .group_by(Farmer.phone)).all())
    return {r.id: r.name for r in rows if counts.get(r.phone, 0) > 1}


household.set_directory(shared_profile_names)
optout.set_erased_lookup(erased_among)


def main_profile(session: Session, phone: str) -> Farmer | None:
    """The phone's main profile, or None when the phone is not registered."""
    found = profiles(session, phone)
    return found[0] if found else None


def parse_land_ha(text: str) -> int:
    """Parse a land size typed by a farmer into m²: hectares by default (``"1.5"``, ``"1,5"``),
    with a unit word of any language attached or after it (``"0.25 ha"``, ``"1.5 ga"``,
    ``"1,5 га"``, ``"2 гектара"``, ``"1.5gektar"``, ``"50 sotka"``; ``keywords.toml`` ``[measure]``).

    Raises ``Refusal("err.land")`` for anything that is not an area in (0, 500] ha.
    """
    words = (text or "").replace("*", " ").split()
    try:
        value, unit, rest = quantity.read_amount(words)
        if rest or unit not in (None, *quantity.SQUARE_METRES):
            raise Refusal("err.land")
    except Refusal:
        raise Refusal("err.land") from None
    hectares = value * quantity.SQUARE_METRES[unit or "ha"] / quantity.SQUARE_METRES["ha"]
    if not hectares.is_finite() or hectares <= 0 or hectares > MAX_LAND_HA:
        raise Refusal("err.land")
    return int((hectares * 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def clean_name(text: str) -> str:
    """A person's name as typed (``*`` read as a space, whitespace collapsed): 2 to
    :data:`MAX_NAME_CHARS` characters with a letter. ``Refusal("err.name")`` otherwise, with
    ``reason`` ``"long"`` (over the limit) or ``"short"`` (too short, or no letter)."""
    name = " ".join((text or "").replace("*", " ").split())
    if len(name) > MAX_NAME_CHARS:
        raise Refusal("err.name", reason="long")
    if len(name) < 2 or not any(ch.isalpha() for ch in name):
        raise Refusal("err.name", reason="short")
    return name


def clean_village(text: str) -> str:
    """A village name typed by a farmer (not in the list): ``*`` read as a space, whitespace
    collapsed, 2 to :data:`MAX_VILLAGE_CHARS` characters with a letter. ``Refusal("err.village")``
    otherwise, with ``reason`` ``"long"`` or ``"short"``."""
    name = " ".join((text or "").replace("*", " ").split())
    if len(name) > MAX_VILLAGE_CHARS:
        raise Refusal("err.village", reason="long")
    if len(name) < 2 or not any(ch.isalpha() for ch in name):
        raise Refusal("err.village", reason="short")
    return name


def unlisted(session: Session) -> list[Farmer]:
    """The profiles registered with a village that was not in the list (``unlisted_village``
    set, ``village_id`` empty), oldest first: for staff to review."""
    return list(session.scalars(select(Farmer).where(Farmer.unlisted_village.is_not(None), Farmer.village_id.is_(None))
                                .order_by(Farmer.created_at, Farmer.id)))


def register(session: Session, *, phone: str, name: str, gender: str, village_id: int | None,
             crop_ids: list[str], land_m2: int | None, language: str, via: str = "ussd",
             unlisted_village: str | None = None, district_id: str | None = None) -> Farmer:
    """Create a farmer profile on ``phone`` and return it (flushed, with its id).
    ``unlisted_village``: the village as typed when it is not in the list (``village_id`` None),
    in the district ``district_id``.

    The first profile of a phone becomes its main profile. Raises
    ``Refusal("err.already_registered")`` when a profile of the same name
    exists on the phone (the existing one is kept) and ``Refusal("err.too_many_profiles")``
    past :data:`MAX_PROFILES_PER_PHONE`. ``ValueError`` for a gender or
    language outside the allowed values (a programming error, not farmer input).
    """
    if gender not in GENDERS:
        raise ValueError(f"gender must be one of {GENDERS}")
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    existing = profiles(session, phone)
    same = next((p for p in existing if fold(p.name) == fold(name)), None)
    if same is not None:
        raise Refusal("err.already_registered", name=name, gender=same.gender)
    if len(existing) >= MAX_PROFILES_PER_PHONE:
        raise Refusal("err.too_many_profiles")
    farmer = Farmer(phone=phone, name=name, gender=gender, village_id=village_id, land_m2=land_m2,
                    language=language, is_main=not existing, registered_via=via,
                    unlisted_village=unlisted_village if village_id is None else None,
                    unlisted_district_id=district_id if village_id is None and unlisted_village else None)
    farmer.crop_rows = [FarmerCrop(crop_id=c) for c in sorted(set(crop_ids))]
    session.add(farmer)
    erased = session.get(ErasedPhone, phone_digest(phone))
    if erased is not None:  # the phone comes back after an erasure: it may get messages again
        session.delete(erased)
    session.flush()
    return farmer


def set_language(session: Session, farmer: Farmer, language: str) -> None:
    """Change a profile's language; ``ValueError`` outside tg/ru/uz/en."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    farmer.language = language

