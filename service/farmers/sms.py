"""SMS keywords of the farmers feature: registration, language, and messages on or off.

| Command | Arguments | Effect |
|---|---|---|
| ``REG`` | ``<name> <F/M> <village> [crops] [ha]`` | new farmer profile on the phone (see :func:`parse_registration`) |
| ``LANG`` | ``<tg/ru/uz/en or a language name>`` | the profile's language (before registering: the phone's, which REG takes) |
| ``STOP`` / ``START`` | | phone on / off the suppression list (``service.messaging.optout``) |
| ``MYDATA`` | | a short summary of what the service holds about the profile (``service.farmers.privacy``) |
| ``DELETE`` | ``[<code>]`` | without a code: asks for confirmation with a 4-digit code (``service.sms.confirm``); with the code of the latest ask (30 min): erases the profile's data |

Like every command for one person, MYDATA and DELETE act for the phone's main profile unless the
message starts with another profile's member code (``40731226 DELETE``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import templates_sms
from service.db import utcnow
from service.errors import Refusal
from service.farmers import models as farmers
from service.farmers import privacy
from service.sms import confirm
from service.messaging import language as phone_language
from service.messaging import optout
from service.reference.crops import find_crop
from service.reference.geography import Village, find_district, villages_of
from service.reference.words import Match, decide, echo, name_words, rank, word_key
from service.sms.engine import Command, Context, drop_units, language_of, languages_of_all, vocabulary


def _stop(ctx: Context, args: list[str]) -> None:
    optout.opt_out(ctx.session, ctx.phone, "keyword")
    ctx.reply("sms.stop.done", kind="stop_confirm")


def _start(ctx: Context, args: list[str]) -> None:
    optout.opt_in(ctx.session, ctx.phone)
    ctx.reply("sms.start.done", named=False)  # the whole phone's messages


def _lang(ctx: Context, args: list[str]) -> None:
    lang = vocabulary().languages.get(word_key(args[0])) if args else None
    if lang is None:
        raise Refusal("sms.lang.usage")
    ctx.lang = lang
    if ctx.acting is None:  # not registered yet: the phone's language, which a registration takes
        phone_language.remember(ctx.session, ctx.phone, lang)
    else:
        farmers.set_language(ctx.session, ctx.acting, lang)
    ctx.reply("sms.lang.done")


@dataclass(frozen=True)
class Registration:
    """A parsed ``REG`` message: ``name``, ``gender`` (female/male), ``village``,
    ``crop_ids`` and ``land_m2`` (None when not given)."""

    name: str
    gender: str
    village: Village
    crop_ids: list[str]
    land_m2: int | None


def _is_quantity(word: str, unit: str) -> bool:
    """True for a number, possibly with its unit attached (``"0,5"``, ``"0.5ha"``, ``"-1"``)."""
    rest = re.sub(r"[-+\d.,]", "", word)
    return any(ch.isdigit() for ch in word) and (not rest or word_key(rest) in vocabulary().units[unit])


def _gender_word(args: list[str]) -> int | None:
    """Index of the gender word: the first known one after the first word (the name comes first)."""
    return next((i for i, w in enumerate(args) if i > 0 and word_key(w) in vocabulary().genders), None)


def parse_registration(session: Session, args: list[str], lang: str) -> Registration:
    """Read ``<name> <gender> <village or district> [crops] [ha]`` (the words after REG).

    The name is every word before the gender word (``F``/``M``, ``З``/``М``,
    ``Ж``/``М``, ``ayol``/``erkak``, ...: never assumed). After it, in any order:
    a number is the land in ha, a crop name is a crop, the other words name the
    place (:func:`find_village`). ``lang``: language of names in refusals.
    Raises ``Refusal``: ``sms.reg.usage`` (nothing given), ``sms.reg.gender``,
    ``err.name``, ``err.land``, or those of :func:`find_village`.
    """
    if not args:
        raise Refusal("sms.reg.usage")
    at = _gender_word(args)
    if at is None:
        raise Refusal("sms.reg.gender")
    name = farmers.clean_name(" ".join(args[:at]))
    gender = vocabulary().genders[word_key(args[at])].value
    land_m2, crop_ids, place = None, [], []
    for word in drop_units(args[at + 1:], "ha"):
        if _is_quantity(word, "ha"):
            if land_m2 is not None:
                raise Refusal("err.land")
            land_m2 = farmers.parse_land_ha(word)
        elif (crop := find_crop(session, word)) is not None:
            crop_ids.append(crop.id)
        else:
            place.append(word)
    return Registration(name, gender, find_village(session, place, lang), crop_ids, land_m2)


def find_village(session: Session, words: list[str], lang: str) -> Village:
    """The village named by ``words`` as people write it (``service.reference.words``: any
    language or script, inflected, other spellings, fillers dropped): a village (or jamoat) name,
    optionally with its district (``Kalinin Balkhi``), or a district that has a single village;
    failing these, a village name that is near enough to be sure (``Gulistan``, ``Okteppa``).

    Raises ``Refusal``: ``sms.reg.place`` (no words), ``sms.reg.place_ambiguous``
    (the name is in several districts), ``sms.reg.which_village`` (a district with
    several villages, named in ``lang``), ``sms.did_you_mean`` (a near village, named in
    ``lang``), ``sms.reg.place_unknown``.
    """
    words = [w for w in words if name_words(w)]
    if not words:
        raise Refusal("sms.reg.place")
    villages = list(session.scalars(select(Village).order_by(Village.id)))

    def ranked(part: list[str], district_ids: set[str] | None = None) -> list[Match[Village]]:
        return rank(" ".join(part), [(v, list(v.names.values())) for v in villages
                                     if district_ids is None or v.district_id in district_ids])

    def named(part: list[str], district_ids: set[str] | None = None) -> list[Village]:
        return [m.value for m in ranked(part, district_ids) if m.score >= 100]

    near = ranked(words)
    hits = [m.value for m in near if m.score >= 100]
    if len(hits) == 1:
        return hits[0]
    for k in range(1, len(words)):  # "<village> <district>" or "<district> <village>"
        for place, district in ((words[:k], words[k:]), (words[k:], words[:k])):
            ids = {d.id for d in find_district(session, " ".join(district))}
            found = named(place, ids) if ids else []
            if len(found) == 1:
                return found[0]
    if hits:
        raise Refusal("sms.reg.place_ambiguous", place=echo(" ".join(words)))
    districts = find_district(session, " ".join(words))
    if len(districts) == 1:
        inside = villages_of(session, districts[0].id)
        if len(inside) == 1:
            return inside[0]
        raise Refusal("sms.reg.which_village", district=districts[0].name(lang))
    best, sure = decide(near)
    if best is not None and sure:
        return best.value
    if best is not None:
        raise Refusal("sms.did_you_mean", word=echo(" ".join(words)), guess=best.value.name(lang))
    raise Refusal("sms.reg.place_unknown", place=echo(" ".join(words)))


def _reg(ctx: Context, args: list[str]) -> None:
    """New profile on the phone, in the language the phone picked before registering (``LANG``,
    USSD), else the one its keyword and gender word tell together, else the language of the
    phone's main profile, else the reply language (``service.messaging.language``)."""
    default = ctx.settings.default_language
    at = _gender_word(args)
    gender_langs = vocabulary().genders[word_key(args[at])].languages if at is not None else ()
    told = language_of(languages_of_all(ctx.parsed.languages, gender_langs), default)
    if ctx.acting is None and phone_language.remembered(ctx.session, ctx.phone):
        told = None  # picked beats told; ctx.lang is the picked language
    if ctx.acting is None and told:
        ctx.lang = told
    reg = parse_registration(ctx.session, args, ctx.lang)
    ctx.acting = farmers.register(ctx.session, phone=ctx.phone, name=reg.name, gender=reg.gender,
                                  village_id=reg.village.id, crop_ids=reg.crop_ids, land_m2=reg.land_m2,
                                  language=told or ctx.lang, via="sms")
    ctx.lang = ctx.acting.language
    receipt = templates_sms.text("sms.reg.done", ctx.lang, ussd=ctx.settings.ussd_service_code,
                                 name=ctx.acting.name, code=ctx.acting.code, gender=ctx.acting.gender)
    for text in privacy.receipt_texts(receipt, ctx.lang):
        ctx.reply_text(text)


#: ``FormDraft.kind`` of a DELETE waiting for its code (one per phone: the latest ask wins)
ERASE_DRAFT = "erase"


def _mydata(ctx: Context, args: list[str]) -> None:
    farmer = ctx.registered()
    ctx.reply_text(privacy.fit_summary(privacy.summary(ctx.session, farmer), ctx.settings.ussd_service_code))


def _delete(ctx: Context, args: list[str]) -> None:
    """DELETE: hold the erasure of the acting profile under a new code and ask for it; DELETE
    <code>: erase when the code is that of the latest ask for this profile, else
    ``farmers.delete.wrong_code``. A phone without a profile: ``farmers.delete.nothing``."""
    if ctx.acting is None:
        raise Refusal("farmers.delete.nothing")
    farmer = ctx.acting
    if not args:
        code = confirm.hold(ctx.session, ctx.phone, ERASE_DRAFT, {"farmer_id": farmer.id})
        ctx.reply("farmers.delete.ask", name=farmer.name, code=code)
        return
    code = word_key(args[0])[:8]
    held = confirm.take(ctx.session, ctx.phone, ERASE_DRAFT, code)
    if held is None or held.get("farmer_id") != farmer.id:
        raise Refusal("farmers.delete.wrong_code")
    farewell = templates_sms.text("farmers.delete.done", farmer.language, ussd=ctx.settings.ussd_service_code)
    privacy.erase(ctx.session, farmer, now=utcnow(), farewell=farewell, in_reply_to=ctx.inbound.id)
    ctx.acting = None  # the inbound row no longer names the profile


COMMANDS = (
    Command("reg", _reg), Command("lang", _lang), Command("mydata", _mydata), Command("delete", _delete),
    Command("stop", _stop, per_phone=True), Command("start", _start, per_phone=True),
)
