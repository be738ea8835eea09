"""SMS keywords of producer groups: joining, leaving, and the Executive Committee's approval.

| Command | Arguments | Effect |
|---|---|---|
| ``JOIN`` | ``<PG code>`` | ``membership.join``; the PG's EC members get a notice (``membership.tell_ec``) |
| ``LEAVE`` | | ``membership.leave`` |
| ``APPROVE`` | ``<member code>`` | EC members only: ``membership.approve``; the farmer is told |
"""
from __future__ import annotations

import templates_sms
from service.errors import Refusal
from service.farmers.models import Farmer
from service.groups import membership
from service.groups.producer_group import ProducerGroup, by_code, normalise_code
from service.messaging.message import queue_sms
from service.reference.words import echo, word_key
from service.sms.engine import Command, Context, member_id


def _join(ctx: Context, args: list[str]) -> None:
    code = normalise_code("".join(args))
    if not code:
        raise Refusal("sms.join.usage")
    me = ctx.registered()
    pg = by_code(ctx.session, code)
    if pg is None:
        raise Refusal("err.pg_unknown", code=echo(code))
    before = membership.current(ctx.session, me)
    m = membership.join(ctx.session, me, pg)
    if before is not None:
        ctx.reply("sms.join.already", pg=pg.code)
    elif m.status == "active":
        ctx.reply("sms.join.done", pg=pg.code)
    else:
        ctx.reply("sms.join.pending", pg=pg.code)
        membership.tell_ec(ctx.session, pg, me)


def _leave(ctx: Context, args: list[str]) -> None:
    m = membership.leave(ctx.session, ctx.registered())
    ctx.reply("sms.leave.done", pg=ctx.session.get(ProducerGroup, m.pg_id).code)


def _approve(ctx: Context, args: list[str]) -> None:
    if not args:
        raise Refusal("sms.approve.usage")
    code = echo(word_key(args[0]))
    approver = ctx.registered()
    applicant = ctx.session.get(Farmer, member_id(code)) if member_id(code) else None
    current = membership.current(ctx.session, applicant) if applicant else None
    was_active = current is not None and current.status == "active"
    m, applicant = membership.approve(ctx.session, approver, code)
    pg = ctx.session.get(ProducerGroup, m.pg_id)
    if was_active:
        ctx.reply("sms.approve.already", name=applicant.name, code=applicant.code)
        return
    ctx.reply("sms.approve.done", name=applicant.name, code=applicant.code, pg=pg.code, gender=applicant.gender)
    queue_sms(ctx.session, applicant.phone,
              templates_sms.text("sms.approve.welcome", applicant.language, name=applicant.name, pg=pg.code),
              kind="notice", farmer_id=applicant.id, language=applicant.language)


COMMANDS = (Command("join", _join), Command("leave", _leave), Command("approve", _approve))
