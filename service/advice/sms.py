"""SMS keywords of advice: questions to responders and their answers.

| Command | Arguments | Effect |
|---|---|---|
| ``ASK`` | ``<question>`` | ``advice.ask``: queued and sent to the responder serving the farmer |
| ``ANSWER`` | ``<number> <text>`` | responders (the questions sent to them) and staff accounts (the questions of their scope's farmers, ``service.staff.commands``): ``advice.answer``, the farmer gets the text |

Free text (questions, answers) is kept as typed, commas included.
"""
from __future__ import annotations

from service.advice import questions as advice
from service.advice import responders as vam_agent
from service.errors import Refusal
from service.sms.engine import Command, Context, member_id
from service.staff import commands as staff_commands

def ask(ctx: Context, args: list[str]) -> None:
    """``ASK <question>``."""
    me = ctx.registered()
    question = advice.ask(ctx.session, me, ctx.rest(), channel="sms")
    ctx.reply("advice.ask.done" if question.responder_id else "advice.ask.waiting", id=question.id)


def answer(ctx: Context, args: list[str]) -> None:
    """``ANSWER <number> <text>``, from a responder's or a staff phone."""
    responders = vam_agent.by_phone(ctx.session, ctx.phone)
    account = staff_commands.staff_for(ctx.session, ctx.phone)
    sender = staff_commands.responder_sender(ctx.session, ctx.phone)
    if ctx.acting is None and responders and account is None:  # a staff account's language is set already
        ctx.lang = responders[0].language
    if not responders and sender is None:
        raise Refusal(staff_commands.NOT_ALLOWED if account is not None else "advice.answer.not_responder")
    number = args[0].lstrip("#№") if args else ""
    if member_id(number) is None:
        raise Refusal("advice.answer.usage")
    question = advice.answer(ctx.session, ctx.phone, int(number), ctx.rest(1),
                             scope=sender.scope if sender else None, actor=sender.actor if sender else None)
    ctx.reply("advice.answer.done", id=question.id)


COMMANDS = (Command("ask", ask), Command("answer", answer, staff=True))
