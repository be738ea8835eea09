"""SMS keywords of broadcasts: a staff member's field alert, previewed then confirmed.

| Command | Arguments | Effect |
|---|---|---|
| ``ALERT`` | ``<district/cluster/PG> <text>`` | staff only: the preview (recipients, SMS per language, cost) and a code |
| ``ALERT OK`` | ``<code>`` | sends the previewed alert (the scheduler tick queues it) |

Why ALERT asks for a confirmation
    The sender is told the recipients, segments per language and cost *before* sending.
    A typo in the target (a cluster for a PG, a district for a village) reaches thousands of
    farmers and costs real money, while the confirmation costs the sender one SMS round trip
    (seconds), which a hail or frost warning can afford. The preview is kept per staff phone
    (a ``FormDraft`` of kind ``alert``) for :data:`CONFIRM_WITHIN` with a random 4-digit code;
    a new ALERT replaces it; ``ALERT OK <code>`` must name the code of the latest preview, so a
    late OK cannot send an older text. The confirmed alert is stored due now and the next
    scheduler tick queues it (``SCHEDULER_TICK_SECONDS``, 60 s by default): the webhook stays
    one short transaction whatever the audience size.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select

import templates_sms
from service.broadcasts import broadcast
from service.db import utcnow
from service.errors import Refusal
from service.reference.render import tjs as money
from service.reference.words import echo, word_key
from service.sms.engine import Command, Context
from service.ussd.session import FormDraft

CONFIRM_WITHIN = dt.timedelta(minutes=30)
ALERT_DRAFT = "alert"  # FormDraft.kind of a staff alert waiting for its OK


def _draft(ctx: Context) -> FormDraft | None:
    return ctx.session.scalar(select(FormDraft).where(FormDraft.phone == ctx.phone, FormDraft.kind == ALERT_DRAFT))


def _cost(preview: broadcast.Preview, lang: str) -> str:
    return money(int(preview.cost_tjs * 100), lang)


def alert(ctx: Context, args: list[str]) -> None:
    """``ALERT <district|cluster|PG> <text>``: tell the staff member what it would cost, with a code."""
    target, text = (args[0], ctx.rest(1)) if args else ("", "")
    found = broadcast.field_alert(ctx.session, ctx.phone, target, text,
                                  staff_phones=sorted(ctx.settings.staff_phones),
                                  price_tjs=ctx.settings.sms_price_tjs)
    code = str(1000 + secrets.randbelow(9000))
    row = _draft(ctx)
    if row is None:
        row = FormDraft(phone=ctx.phone, kind=ALERT_DRAFT)
        ctx.session.add(row)
    row.data, row.updated_at = {"target": target, "text": text, "code": code}, utcnow()
    p = found.preview
    langs = ", ".join(f"{lang} {p.by_language[lang]['recipients']}x{p.by_language[lang]['segments']}"
                      for lang in templates_sms.LANGUAGES if lang in p.by_language)
    ctx.reply("push.alert_preview", target=found.label.upper(), count=p.recipients, segments=p.segments,
              langs=langs, cost=_cost(p, ctx.lang), code=code)


def alert_send(ctx: Context, args: list[str]) -> None:
    """``ALERT OK <code>``: send the alert of the latest preview (within :data:`CONFIRM_WITHIN`)."""
    if ctx.phone not in ctx.settings.staff_phones:
        raise Refusal("push.not_staff")
    code = word_key(args[0]) if args else ""
    row = _draft(ctx)
    if row is None or row.data.get("code") != code or utcnow() - row.updated_at > CONFIRM_WITHIN:
        raise Refusal("push.alert_code_unknown", code=echo(code) or "-")
    _, p = broadcast.alert_from_field(ctx.session, ctx.phone, row.data["target"], row.data["text"],
                                      staff_phones=sorted(ctx.settings.staff_phones),
                                      price_tjs=ctx.settings.sms_price_tjs)
    ctx.session.delete(row)
    ctx.reply("push.alert_sent", count=p.recipients, segments=p.segments, cost=_cost(p, ctx.lang))


COMMANDS = (Command("alert", alert), Command("alert_send", alert_send))
