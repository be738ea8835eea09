"""USSD screens of joint sales: pledge produce to the cluster's collection centre.

Menu (screen names in brackets), from "Sell produce" of the ``advice`` menu::

    [sell_crop] -> [sell_qty] (kg or t) -> [sell_week] -> [sell_confirm] -> END

Selling needs a profile (``need_register``). A pledge queues the same SMS receipt as ``SELL``.
"""
from __future__ import annotations

import datetime as dt

from service.errors import Refusal
from service.reference import quantity
from service.reference.crops import Crop, crops
from service.sales import joint_sale
from service.ussd.engine import MenuEntry, Option, Screen, Screens, View, back, end, push, stay, yes_no

WEEKS_OFFERED = 3  # this week and the two after (all on one Cyrillic screen)
screen = Screens()


@screen
class SellCrop(Screen):
    """Which crop to pledge (only crops whose cluster has a collection centre for the farmer)."""

    name = "sell_crop"

    def view(self, d, data):
        return View(head=[d.t("advice.ussd.crop")], items=[Option(c.name(d.lang), c.id) for c in crops(d.db)])

    def choose(self, d, data, value):
        try:
            joint_sale.centre_for(d.db, d.farmer, value)
        except Refusal as exc:
            return d.refusal(exc)
        return push("sell_qty", crop=value)


@screen
class SellQuantity(Screen):
    """How much (a number, kg unless ``t`` follows)."""

    name = "sell_qty"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("sales.ussd.qty")])

    def submit(self, d, data, text):
        try:
            value, unit, rest = quantity.read_amount(text.replace("*", " ").split())
            grams = quantity.to_grams(value, unit)
        except Refusal:
            return stay("sales.ussd.bad_qty")
        if rest:
            return stay("sales.ussd.bad_qty")
        return push("sell_week", crop=data["crop"], grams=grams)


@screen
class SellWeek(Screen):
    """Which week: this one or one of the next two."""

    name = "sell_week"

    def view(self, d, data):
        return View(head=[d.t("sales.ussd.week")],
                    items=[Option(d.t(f"sales.ussd.weeks.{n}"), n) for n in range(WEEKS_OFFERED)])

    def choose(self, d, data, value):
        week = joint_sale.monday(d.today()) + dt.timedelta(weeks=value)
        return push("sell_confirm", crop=data["crop"], grams=data["grams"], week=week.isoformat())


@screen
class SellConfirm(Screen):
    """Crop, quantity and week: pledge? Yes queues the SMS receipt."""

    name = "sell_confirm"

    def view(self, d, data):
        week = dt.date.fromisoformat(data["week"])
        crop = d.db.get(Crop, data["crop"])
        return View(head=[d.t("sales.ussd.confirm", crop=crop.name(d.lang), qty=quantity.mass(data["grams"], d.lang),
                              week=week.isocalendar().week, date=week.strftime("%d.%m"))], extras=yes_no(d))

    def choose(self, d, data, value):
        if value == "no":
            return back()
        person = d.farmer
        week = dt.date.fromisoformat(data["week"])
        try:
            pledge = joint_sale.pledge(d.db, person, data["crop"], data["grams"], week, channel="ussd")
        except joint_sale.CentreFull as full:
            return end(d.t("sales.sell.full", centre=joint_sale.market_of(d.db, full.centre).code,
                           free=quantity.mass(full.free_g, d.lang)))
        except Refusal as exc:
            return d.refusal(exc)
        params = joint_sale.receipt(d.db, pledge, d.lang)
        d.sms(d.t(params.pop("key"), **params))
        return end(d.t("sales.ussd.done", id=pledge.id))


ENTRIES = (MenuEntry("advice", "sell", 30, "advice.ussd.menu.sell",
                     lambda d: push("need_register") if d.farmer is None else push("sell_crop")),)
