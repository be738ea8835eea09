"""SMS keywords of collective input orders .

| Command | Arguments | Who | Effect |
|---|---|---|---|
| ``ORDER`` | ``<item code> <packs>`` | active PG member | places an order line in the PG's open round (opened if none); the reply is the receipt |
| ``MYORDERS`` | | registered | the farmer's orders not yet delivered or cancelled |
| ``CANCEL`` | ``<order number>`` | the orderer | cancels a ``placed`` order while its round is open |
| ``TOTALS`` | | EC member | running totals of the PG's open round (anyone else gets MYORDERS) |
| ``CLOSE`` | | EC chair | closes the PG's open round; the reply is its totals |
| ``OPEN`` | ``[days]`` | EC chair | opens a round closing in ``days`` (default ``ORDER_ROUND_DAYS``) |

Every refusal is a ``Refusal`` answered in the farmer's language; nothing changes then.
"""
from __future__ import annotations

from service.orders import catalogue as input_catalogue
from service.groups import membership
from service.orders import rounds as order
from service.db import utcnow
from service.errors import Refusal
from service.groups.producer_group import ProducerGroup
from service.reference.crops import find_crop
from service.reference.words import name_words
from service.sms.engine import Command, Context


def _codes(ctx: Context) -> str:
    """Item codes for the acting farmer's crops (all items when they named none)."""
    crops = ctx.acting.crop_ids if ctx.acting else []
    return ", ".join(i.code for i in input_catalogue.items_for(ctx.session, crops))


#: punctuation glued to an item code or a number of packs (``ONJ1,`` ``2!``)
_GLUED = ".,;:!?\"'()«»"


def _crop_named(ctx: Context, args: list[str]) -> None:
    """When the words without a digit name a crop (``ЗАКАЗ помидоров 2``: a crop, not an item
    code), ``Refusal("orders.err.crop_codes")`` with that crop's item codes; else nothing."""
    words = [w for w in args if not any(ch.isdigit() for ch in w)]
    crop = find_crop(ctx.session, " ".join(words)) if words else None
    if crop is None:
        return
    codes = [i.code for i in input_catalogue.items_for(ctx.session, [crop.id])]
    if codes:
        raise Refusal("orders.err.crop_codes", crop=crop.name(ctx.lang), code=codes[0], codes=", ".join(codes))


def order_cmd(ctx: Context, args: list[str]) -> None:
    """``ORDER <item code> <packs>`` (the two words in either order)."""
    me = ctx.registered()
    order.active_pg(ctx.session, me)
    args = [w.strip(_GLUED) for w in args]
    args = [w for w in args if w and name_words(w)]  # fillers and stray punctuation dropped
    code, packs = args if len(args) == 2 else ("", "")
    if code.isdigit() and not packs.isdigit():
        code, packs = packs, code
    item = input_catalogue.by_code(ctx.session, code)
    if item is None:
        _crop_named(ctx, args)
    if len(args) != 2:
        example = _codes(ctx).split(", ")[0]
        raise Refusal("orders.usage", code=example, codes=_codes(ctx))
    if item is None:
        raise Refusal("orders.err.item_unknown", code=code[:12], codes=_codes(ctx))
    placed = order.place_order(ctx.session, me, item, input_catalogue.parse_packs(packs), utcnow(), via="sms",
                             policy=order.Policy.of(ctx.settings))
    ctx.reply_text(order.receipt_text(ctx.session, placed, ctx.lang))


def myorders_cmd(ctx: Context, args: list[str]) -> None:
    """``MYORDERS``: the farmer's open orders."""
    ctx.reply_text(order.my_orders_text(ctx.session, ctx.registered(), ctx.lang))


def cancel_cmd(ctx: Context, args: list[str]) -> None:
    """``CANCEL <order number>``."""
    if len(args) != 1:
        raise Refusal("orders.cancel.usage")
    cancelled = order.cancel_order(ctx.session, ctx.registered(), args[0], utcnow(),
                                   order.Policy.of(ctx.settings))
    ctx.reply("orders.cancel.done", order=cancelled.id)


def _ec_pg(ctx: Context, *, chair: bool) -> ProducerGroup:
    """The PG of the acting farmer's active EC seat (the chair's when ``chair``);
    ``Refusal("orders.err.not_chair")`` / ``Refusal("err.not_ec")`` otherwise."""
    m = membership.current(ctx.session, ctx.registered())
    if m is None or m.status != "active" or m.role not in (("chair",) if chair else membership.EC_ROLES):
        raise Refusal("orders.err.not_chair" if chair else "err.not_ec")
    return ctx.session.get(ProducerGroup, m.pg_id)


def totals_cmd(ctx: Context, args: list[str]) -> None:
    """``TOTALS``: an EC member gets the open round's totals; anyone else their own orders."""
    me = ctx.registered()
    m = membership.current(ctx.session, me)
    if m is None or m.status != "active" or m.role not in membership.EC_ROLES:
        myorders_cmd(ctx, args)
        return
    rnd = order.open_round_of(ctx.session, m.pg_id)
    if rnd is None:
        raise Refusal("orders.err.no_round")
    ctx.reply_text(order.totals_text(ctx.session, rnd, ctx.lang))


def close_cmd(ctx: Context, args: list[str]) -> None:
    """``CLOSE``: the chair closes the open round and gets its totals as the reply."""
    pg = _ec_pg(ctx, chair=True)
    rnd = order.open_round_of(ctx.session, pg.id)
    if rnd is None:
        raise Refusal("orders.err.no_round")
    order.close_round(ctx.session, rnd, utcnow(), by=ctx.acting, tell_chair=False)
    ctx.reply_text(order.totals_text(ctx.session, rnd, ctx.lang))


def open_cmd(ctx: Context, args: list[str]) -> None:
    """``OPEN [days]``: the chair opens a round."""
    pg = _ec_pg(ctx, chair=True)
    days = None
    if args:
        if len(args) > 1 or not (args[0].isascii() and args[0].isdigit()):
            raise Refusal("orders.err.days", max=order.MAX_ROUND_DAYS)
        days = int(args[0])
    rnd = order.open_round(ctx.session, pg, utcnow(), days=days, by=ctx.acting,
                           policy=order.Policy.of(ctx.settings))
    ctx.reply("orders.open.done", round=rnd.id, pg=pg.code, date=order.day(rnd.closes_on))


COMMANDS = (Command("order", order_cmd), Command("myorders", myorders_cmd), Command("cancel", cancel_cmd),
            Command("totals", totals_cmd), Command("close", close_cmd), Command("open", open_cmd))
