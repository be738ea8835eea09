"""SMS keywords of broadcasts: a staff member's field alert, previewed then confirmed.

| Command | Arguments | Effect |
|---|---|---|
| ``ALERT`` | ``<district/cluster/PG> [crop] [gender]: <text>`` | staff accounts whose role and scope cover the target (``service.staff.commands``): the preview (recipients, cost, which languages get which version) and a code |
| ``ALERT OK`` | ``<code>`` | sends the previewed alert (the scheduler tick queues it) |

Audience and versions
    Crop and gender words right after the target narrow the audience when the last of them
    ends with a colon or a language marker follows (``ALERT Vose onion women: Hail tonight``),
    so a text that starts with a crop name (``ALERT Vose Onion thrips seen``) goes to the whole
    target. The text is sent as typed to everybody, whatever its language, unless versions are
    marked ``tg:``, ``ru:``, ``uz:``, ``en:`` (``ALERT Vose tg: Жола ... ru: Град ...``): each
    language gets its own version, the others the text typed before the first marker, else the
    Tajik version (``broadcast.alert_versions``). The preview says which version goes to which
    language, and the place is named in each farmer's language.

Why ALERT asks for a confirmation
    The sender is told the recipients, segments per language and cost *before* sending.
    A typo in the target (a cluster for a PG, a district for a village) reaches thousands of
    farmers and costs real money, while the confirmation costs the sender one SMS round trip
    (seconds), which a hail or frost warning can afford. The preview is kept per staff phone
    (``service.sms.confirm``, a ``FormDraft`` of kind ``alert``) for ``CONFIRM_WITHIN`` with a
    random 4-digit code; a new ALERT replaces it; ``ALERT OK <code>`` must name the code of the
    latest preview, so a late OK cannot send an older text. The confirmed alert is stored due now
    and the next scheduler tick queues it (``SCHEDULER_TICK_SECONDS``, 60 s by default): the
    webhook stays one short transaction whatever the audience size.
"""
from __future__ import annotations

import re

import templates_sms
from service.broadcasts import broadcast
from service.errors import Refusal
from service.messaging.encoding import measure
from service.reference.crops import Crop, find_crop
from service.reference.names import LANGUAGES
from service.reference.render import tjs as money
from service.reference.words import echo, word_key
from service.sms import confirm
from service.sms.engine import MAX_REPLY_SEGMENTS, Command, Context, vocabulary
from service.staff import commands as staff_commands

ALERT_DRAFT = "alert"  # FormDraft.kind of a staff alert waiting for its OK
GENDER_WORDS = {"female": "push.alert_women", "male": "push.alert_men"}
MARKER = re.compile(r"(?:(?<=\s)|^)(tg|ru|uz|en):", re.IGNORECASE)


def split_versions(text: str) -> tuple[str, dict]:
    """``"Hail tg: Жола ru: Град"`` → ``("Hail", {"tg": "Жола", "ru": "Град"})``: the text typed
    before the first language marker and the version after each marker (a later one wins)."""
    parts = MARKER.split(text or "")
    versions = {lang.lower(): body.strip() for lang, body in zip(parts[1::2], parts[2::2])}
    return parts[0].strip(), versions


def _qualifiers(ctx: Context, words: list[str]) -> tuple[list[str], list[str], int]:
    """Crop ids, genders and the number of words they take from ``words`` (after the target);
    none unless the list is closed by a colon or a language marker."""
    crops: list[str] = []
    genders: list[str] = []
    for n, word in enumerate(words):
        if word == ":" or MARKER.match(word):
            return (crops, genders, n + (word == ":")) if n else ([], [], 0)
        core = word.rstrip(":")
        gender = vocabulary().genders.get(word_key(core))
        crop = None if gender else find_crop(ctx.session, core)
        if gender is None and crop is None:
            break
        if gender is not None and gender.value not in genders:
            genders.append(gender.value)
        elif crop is not None and crop.id not in crops:
            crops.append(crop.id)
        if word.endswith(":"):
            return crops, genders, n + 1
    return [], [], 0


def _parse(ctx: Context, args: list[str]) -> dict:
    """The ALERT message as the draft keeps it: target, crops, genders, text, versions."""
    if not args:
        return {"target": "", "crops": [], "genders": [], "text": "", "versions": {}}
    crops, genders, taken = _qualifiers(ctx, args[1:])
    text, versions = split_versions(ctx.rest(1 + taken))
    return {"target": args[0].rstrip(":"), "crops": crops, "genders": genders, "text": text, "versions": versions}


def _sender(ctx: Context, command: str) -> staff_commands.Sender:
    return staff_commands.sender(ctx.session, ctx.phone, command, not_staff="push.not_staff")


def _found(ctx: Context, data: dict, sender: staff_commands.Sender) -> broadcast.FieldAlert:
    return broadcast.field_alert(ctx.session, ctx.phone, data["target"], data["text"], scope=sender.scope,
                                 price_tjs=ctx.settings.sms_price_tjs, crops=tuple(data["crops"]),
                                 genders=tuple(data["genders"]), versions=data["versions"])


def _cost(preview: broadcast.Preview, lang: str) -> str:
    return money(int(preview.cost_tjs * 100), lang)


def who(ctx: Context, found: broadcast.FieldAlert) -> str:
    """The audience as the preview names it in the reply language: place, crops, genders."""
    parts = [found.places[ctx.lang]]
    implied = {c.split(".")[0] for c in found.audience.clusters}  # a cluster's name says its crop
    parts += [ctx.session.get(Crop, c).name(ctx.lang) for c in found.audience.crops if c not in implied]
    parts += [templates_sms.text(GENDER_WORDS[g], ctx.lang) for g in found.audience.genders]
    return ", ".join(parts)


def versions_line(ctx: Context, found: broadcast.FieldAlert, counts: bool = True) -> str:
    """Which version goes to which language of the recipients, with each language's recipients
    when ``counts``: ``"your text: tg 2, uz 1"`` or ``"tg: tg 2, uz 1; ru: ru 1"`` (``"tg: tg, uz"``
    without counts)."""
    groups: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        entry = found.preview.by_language.get(lang)
        if entry:
            groups.setdefault(found.sources[lang], []).append(f"{lang} {entry['recipients']}" if counts else lang)
    label = {broadcast.TYPED: templates_sms.text("push.alert_typed", ctx.lang)}
    return "; ".join(f"{label.get(src, src)}: {', '.join(items)}" for src, items in groups.items())


def alert(ctx: Context, args: list[str]) -> None:
    """``ALERT <district|cluster|PG> [crop] [gender]: <text>``: tell the staff member who gets
    which version and what it would cost, with a code."""
    sender = _sender(ctx, "alert")
    data = _parse(ctx, args)
    found = _found(ctx, data, sender)
    code = confirm.hold(ctx.session, ctx.phone, ALERT_DRAFT, data)
    p = found.preview

    def preview(counts: bool) -> str:
        return templates_sms.text("push.alert_preview", ctx.lang, target=who(ctx, found), count=p.recipients,
                                  segments=p.segments, langs=versions_line(ctx, found, counts),
                                  cost=_cost(p, ctx.lang), code=code)

    text = preview(True)  # without the counts per language when they would make it a third SMS
    ctx.reply_text(text if measure(text).segments <= MAX_REPLY_SEGMENTS else preview(False))


def alert_send(ctx: Context, args: list[str]) -> None:
    """``ALERT OK <code>``: send the alert of the latest preview (within ``confirm.CONFIRM_WITHIN``)."""
    sender = _sender(ctx, "alert_send")
    code = word_key(args[0]) if args else ""
    data = confirm.take(ctx.session, ctx.phone, ALERT_DRAFT, code)
    if data is None:
        raise Refusal("push.alert_code_unknown", code=echo(code) or "-")
    _, p = broadcast.alert_from_field(ctx.session, ctx.phone, data["target"], data["text"],
                                      scope=sender.scope, actor=sender.actor,
                                      price_tjs=ctx.settings.sms_price_tjs, crops=tuple(data.get("crops", ())),
                                      genders=tuple(data.get("genders", ())), versions=data.get("versions"))
    ctx.reply("push.alert_sent", count=p.recipients, segments=p.segments, cost=_cost(p, ctx.lang))


COMMANDS = (Command("alert", alert, staff=True), Command("alert_send", alert_send, staff=True))
