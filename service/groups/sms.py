"""SMS keywords of producer groups: joining, leaving, and the Executive Committee's approval.

| Command | Arguments | Effect |
|---|---|---|
| ``JOIN`` | ``<PG code>`` | ``membership.join``; the PG's EC members get a notice (``membership.tell_ec``) |
| ``LEAVE`` | | ``committee.leave`` |
| ``APPROVE`` | ``<member code>`` | EC members only: ``membership.decide``; the farmer is told, the other EC members' queued notices are withdrawn |
"""
from __future__ import annotations

import templates_sms
from service.errors import Refusal
from service.groups import committee, membership
from service.groups.producer_group import ProducerGroup, by_code, normalise_code
from service.reference.words import echo, word_key
from service.sms.engine import Command, Context


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
    m = committee.leave(ctx.session, ctx.registered(), ctx.today())
    ctx.reply("sms.leave.done", pg=ctx.session.get(ProducerGroup, m.pg_id).code)


def _approve(ctx: Context, args: list[str]) -> None:
    if not args:
        raise Refusal("sms.approve.usage")
    code = echo(word_key(args[0]))
    approver = ctx.registered()
    m, applicant = membership.find_request(ctx.session, approver, code)
    if m.status == "rejected":
        raise Refusal("err.request_rejected", name=applicant.name, code=applicant.code)
    if m.status != "pending":
        ctx.reply("sms.approve.already", name=applicant.name, code=applicant.code)
        return
    pg = ctx.session.get(ProducerGroup, m.pg_id)
    ctx.reply("sms.approve.done", name=applicant.name, code=applicant.code, pg=pg.code, gender=applicant.gender)
    membership.decide(ctx.session, approver, code, accept=True)  # tells the applicant, withdraws the EC's notices


COMMANDS = (Command("join", _join), Command("leave", _leave), Command("approve", _approve))
