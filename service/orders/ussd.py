"""USSD screens of collective input orders (main menu "Order inputs").

::

    [orders] continue the saved cart | new order -> [order_crop] -> [order_item] -> [order_qty]
             -> [order_confirm] (unit price, total, saving; Yes places it and queues the receipt SMS)
             | my orders -> [order_mine]

The Executive Committee's menu (``committee``, see ``service.groups.ussd``) gets the order
round lines from here::

    [committee] -> current round -> [round_totals] (totals, then per item packs, kg or units, TJS)
                -> last closed round -> [round_totals]
                -> (the chair) open a round -> [round_open_confirm] | close round N -> [round_close_confirm]

Only an active PG member gets past the entry (:func:`open_orders`); others are told
how to join. The cart (item and packs typed, not yet confirmed) is kept per member
in a :class:`~service.ussd.session.FormDraft` (kind ``order:<member code>``), so a
dropped session can be finished on the next dial.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.groups import membership
from service.reference import crops as cropmod
from service.orders import catalogue as input_catalogue
from service.orders import rounds as order
from service.db import utcnow
from service.errors import Refusal
from service.groups.producer_group import ProducerGroup
from service.orders.catalogue import InputItem
from service.ussd.engine import (Dialogue, MenuEntry, Option, Part, Screen, Screens, Step, View, back, end, home, push,
                                 stay, yes_no)
from service.ussd.session import FormDraft

screen = Screens()


def _cart_kind(d: Dialogue) -> str:
    return f"order:{d.farmer.id}"


def cart(d: Dialogue) -> FormDraft | None:
    """The speaking member's saved cart (``data``: ``item`` id, ``packs``), if any."""
    if d.farmer is None:
        return None
    return d.db.scalar(select(FormDraft).where(FormDraft.phone == d.phone, FormDraft.kind == _cart_kind(d)))


def save_cart(d: Dialogue, item_id: str, packs: int) -> None:
    """Keep the item and packs typed for a dropped session."""
    row = cart(d)
    if row is None:
        row = FormDraft(phone=d.phone, kind=_cart_kind(d))
        d.db.add(row)
    row.data, row.updated_at = {"item": item_id, "packs": packs}, utcnow()


def drop_cart(d: Dialogue) -> None:
    """Forget the saved cart."""
    row = cart(d)
    if row is not None:
        d.db.delete(row)


def open_orders(d: Dialogue) -> Step:
    """The "Order inputs" entry: register first, be an active PG member, then the orders menu."""
    if d.farmer is None:
        return push("need_register")
    try:
        order.active_pg(d.db, d.farmer)
    except Refusal as exc:
        return d.refusal(exc)
    return push("orders")


def _cart_item(d: Dialogue) -> tuple[InputItem, int] | None:
    row = cart(d)
    item = d.db.get(InputItem, (row.data or {}).get("item") or "") if row is not None else None
    return (item, row.data["packs"]) if item is not None and row.data.get("packs") else None


@screen
class Orders(Screen):
    """Orders menu: continue the saved cart (if any), a new order, my orders."""

    name = "orders"

    def view(self, d, data):
        items = []
        saved = _cart_item(d)
        if saved is not None:
            items.append(Option(d.t("orders.ussd.resume", code=saved[0].code, packs=saved[1]), "resume"))
        items += [Option(d.t("orders.ussd.new"), "new"), Option(d.t("orders.ussd.mine"), "mine")]
        return View(items=items)

    def choose(self, d, data, value):
        saved = _cart_item(d)
        if value == "resume" and saved is not None:
            return push("order_confirm", item=saved[0].id, packs=saved[1])
        return push("order_mine" if value == "mine" else "order_crop")


@screen
class OrderCrop(Screen):
    """New order: for which of my crops (every crop when the profile names none)."""

    name = "order_crop"

    def view(self, d, data):
        mine = set(d.farmer.crop_ids) if d.farmer else set()
        crops = [c for c in cropmod.crops(d.db) if not mine or c.id in mine]
        return View(head=[d.t("orders.ussd.crop")], items=[Option(c.name(d.lang), c.id) for c in crops])

    def choose(self, d, data, value):
        return push("order_item", crop=value)


@screen
class OrderItem(Screen):
    """New order: the items for the crop, by code and name."""

    name = "order_item"

    def view(self, d, data):
        items = input_catalogue.items_for(d.db, [data["crop"]])
        if not items:
            return View(head=[d.t("orders.ussd.none")])
        return View(head=[d.t("orders.ussd.item")],
                    items=[Option(Part(i.name(d.lang), f"{i.code} {{}}"), i.id) for i in items])

    def choose(self, d, data, value):
        return push("order_qty", item=value)


@screen
class OrderQty(Screen):
    """New order: the pack with its group and retail price; how many packs (free text)."""

    name = "order_qty"
    prompt = True

    def view(self, d, data):
        item = d.db.get(InputItem, data["item"])
        return View(head=[d.t("orders.ussd.pack", code=item.code, pack=input_catalogue.pack_label(item, d.lang),
                              price=order.money(item.group_diram, d.lang),
                              retail=order.money(item.retail_diram, d.lang)),
                          d.t("orders.ussd.qty")])

    def submit(self, d, data, text):
        try:
            packs = input_catalogue.parse_packs(text)
        except Refusal:
            return stay("orders.ussd.bad_qty")
        save_cart(d, data["item"], packs)
        return push("order_confirm", item=data["item"], packs=packs)


@screen
class OrderConfirm(Screen):
    """New order: packs × unit price = total, the saving against retail; Yes places it."""

    name = "order_confirm"

    def view(self, d, data):
        item, packs = d.db.get(InputItem, data["item"]), data["packs"]
        return View(head=[d.t("orders.ussd.sum", code=item.code, packs=packs, price=order.money(item.group_diram, d.lang),
                              total=order.money(item.group_diram * packs, d.lang)),
                          d.t("orders.ussd.saving", saving=order.money(item.saving_diram * packs, d.lang))],
                    extras=[Option(d.t("ussd.yes"), "yes"), Option(d.t("ussd.no"), "no")])

    def choose(self, d, data, value):
        if value == "no":
            drop_cart(d)
            return home("ussd.notice.cancelled")
        if d.farmer is None:
            return push("need_register")
        try:
            placed = order.place_order(d.db, d.farmer, d.db.get(InputItem, data["item"]), data["packs"], utcnow(),
                                       via="ussd", policy=order.Policy.of(d.settings))
        except Refusal as exc:
            return d.refusal(exc)
        drop_cart(d)
        d.sms(order.receipt_text(d.db, placed, d.lang))
        return end(d.t("orders.ussd.done", order=placed.id))


@screen
class OrderMine(Screen):
    """My orders not yet delivered or cancelled, one per line, newest first."""

    name = "order_mine"

    def view(self, d, data):
        found = order.orders_of(d.db, d.farmer) if d.farmer else []
        lines = [Option(order.order_line(d.db, o, d.lang)) for o in found]
        return View(head=[d.t("orders.ussd.mine_title" if lines else "orders.ussd.mine_none")], items=lines,
                    numbered=False)


# ---- the Executive Committee's menu: order rounds (issue 9 item 10) ----

def _seat(d: Dialogue, *, chair: bool = False):
    """The speaking profile's active EC seat (the chair's when ``chair``), or None."""
    seat = membership.ec_seat(d.db, d.farmer) if d.farmer else None
    return seat if seat is not None and (not chair or seat.role == "chair") else None


def _is_chair(d: Dialogue) -> bool:
    return _seat(d, chair=True) is not None


def _open_now(d: Dialogue, pg_id: int) -> order.OrderRound | None:
    """The PG's open round still taking orders (one past its closing day counts as closed)."""
    rnd = order.open_round_of(d.db, pg_id)
    policy = order.Policy.of(d.settings)
    return rnd if rnd is not None and order.local_today(utcnow(), policy) <= rnd.closes_on else None


def _round_label(d: Dialogue) -> str:
    seat = _seat(d, chair=True)
    rnd = _open_now(d, seat.pg_id) if seat else None
    return d.t("orders.chair.close", round=rnd.id) if rnd else d.t("orders.chair.open")


def _round_entry(d: Dialogue) -> Step:
    seat = _seat(d, chair=True)
    if seat is None:
        return end(d.t("orders.err.not_chair"))
    return push("round_close_confirm" if _open_now(d, seat.pg_id) else "round_open_confirm")


def item_line(d: Dialogue, t: order.ItemTotal) -> str:
    """One item of a round's totals: ``ONJ1 x4: 2 кг, 104,00`` (packs, the quantity in the item's
    unit, TJS)."""
    qty = input_catalogue.number(t.item.pack_size * t.packs)
    qty = qty.replace(".", ",") if d.lang in ("tg", "ru") else qty
    return d.t("orders.chair.item", code=t.item.code, packs=t.packs, qty=d.t(f"orders.unit.{t.item.unit}", n=qty),
               total=order.money(t.total_diram, d.lang))


@screen
class RoundTotals(Screen):
    """The totals of the PG's open round (``which`` ``open``) or of its last closed one
    (``last``): round, closing day, farmers, TJS; then one line per item."""

    name = "round_totals"

    def view(self, d, data):
        seat = _seat(d)
        if seat is None:
            return View(head=[d.t("err.not_ec")])
        if data.get("which") == "last":
            rnd = order.last_closed_round(d.db, seat.pg_id)
            none, key = "orders.chair.no_closed", "orders.chair.head_closed"
        else:
            rnd = order.open_round_of(d.db, seat.pg_id)
            none, key = "orders.err.no_round", "orders.chair.head_open"
        if rnd is None:
            return View(head=[d.t(none)])
        t = order.round_totals(d.db, rnd)
        on = rnd.closes_on if rnd.status == "open" else d.settings.today(rnd.closed_at)
        head = d.t(key, round=rnd.id, date=order.day(on), farmers=t.farmers, total=order.money(t.total_diram, d.lang))
        return View(head=[head], items=[Option(item_line(d, i)) for i in t.items], numbered=False)


@screen
class RoundOpenConfirm(Screen):
    """The chair opens a round closing in ``ORDER_ROUND_DAYS`` days: asks first."""

    name = "round_open_confirm"

    def view(self, d, data):
        policy = order.Policy.of(d.settings)
        closes = order.local_today(utcnow(), policy) + dt.timedelta(days=policy.days)
        return View(head=[d.t("orders.chair.open_confirm", date=order.day(closes), days=policy.days)],
                    extras=yes_no(d))

    def choose(self, d, data, value):
        if value == "no":
            return back()
        seat = _seat(d, chair=True)
        if seat is None:
            return end(d.t("orders.err.not_chair"))
        pg = d.db.get(ProducerGroup, seat.pg_id)
        try:
            rnd = order.open_round(d.db, pg, utcnow(), by=d.farmer, policy=order.Policy.of(d.settings))
        except Refusal as exc:
            return d.refusal(exc)
        return end(d.t("orders.open.done", round=rnd.id, pg=pg.code, date=order.day(rnd.closes_on)))


@screen
class RoundCloseConfirm(Screen):
    """The chair closes the open round: its totals, then Yes closes it (the chair gets the
    totals by SMS; every farmer who ordered is told)."""

    name = "round_close_confirm"

    def view(self, d, data):
        seat = _seat(d, chair=True)
        rnd = order.open_round_of(d.db, seat.pg_id) if seat else None
        if rnd is None:
            return View(head=[d.t("orders.err.no_round")])
        t = order.round_totals(d.db, rnd)
        return View(head=[d.t("orders.chair.close_confirm", round=rnd.id, farmers=t.farmers,
                              total=order.money(t.total_diram, d.lang))], extras=yes_no(d))

    def choose(self, d, data, value):
        if value == "no":
            return back()
        seat = _seat(d, chair=True)
        rnd = order.open_round_of(d.db, seat.pg_id) if seat else None
        if rnd is None:
            return end(d.t("orders.err.no_round"))
        order.close_round(d.db, rnd, utcnow(), by=d.farmer, tell_chair=False)
        d.sms(order.totals_text(d.db, rnd, d.lang), kind="notice")
        return end(d.t("orders.chair.closed", round=rnd.id, farmers=order.round_totals(d.db, rnd).farmers))


ENTRIES = (MenuEntry("main", "orders", 30, "ussd.main.orders", open_orders),
           MenuEntry("committee", "current", 20, "orders.chair.current", lambda d: push("round_totals", which="open")),
           MenuEntry("committee", "last", 30, "orders.chair.last", lambda d: push("round_totals", which="last")),
           MenuEntry("committee", "round", 40, _round_label, _round_entry, shown=_is_chair))
