"""USSD screens of joint sales: pledge produce to the cluster's collection centre, change or
cancel an open pledge, report a harvest.

Menus (screen names in brackets), from "Sell produce" and "Report harvest" of the ``advice`` menu::

    [sell_crop] -> [sell_qty] (kg or t) -> [sell_week] -> [sell_confirm] -> END
    [sell_crop] "My pledges" (when there are open ones) -> [my_pledges] -> [pledge]
        -> Change: [sell_qty] -> [sell_week] -> [sell_confirm] -> END
        -> Cancel: [pledge_cancel] -> END
    [yield_crop] -> [yield_qty] (kg, t or c) -> [yield_area] (ha or sotka) -> [yield_confirm] -> END

Selling and reporting need a profile (``need_register``). A pledge, a change and a cancellation
queue the same SMS receipts as ``SELL`` and ``SELL CANCEL``; a pledge of a crop and week that has
an open pledge changes it (``joint_sale.place``). A harvest is recorded like ``YIELD``, its yield
per hectare shown on the confirmation first.
"""
from __future__ import annotations

import datetime as dt

from service.errors import Refusal
from service.reference import quantity
from service.reference.crops import Crop, crops
from service.sales import joint_sale
from service.sales import yields as yield_report
from service.ussd.engine import MenuEntry, Option, Screen, Screens, View, back, end, push, stay, yes_no

WEEKS_OFFERED = 3  # this week and the two after (all on one Cyrillic screen)
screen = Screens()


@screen
class SellCrop(Screen):
    """Which crop to pledge (only crops whose cluster has a collection centre for the farmer)."""

    name = "sell_crop"

    def view(self, d, data):
        mine = d.farmer is not None and joint_sale.open_pledges(d.db, d.farmer, d.today())
        return View(head=[d.t("advice.ussd.crop")], items=[Option(c.name(d.lang), c.id) for c in crops(d.db)],
                    extras=[Option(d.t("sales.ussd.my_pledges"), "mine")] if mine else [])

    def choose(self, d, data, value):
        if value == "mine":
            return push("my_pledges")
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
            grams = quantity.read_mass(text.replace("*", " "))
        except Refusal:
            return stay("sales.ussd.bad_qty")
        return push("sell_week", **{**data, "grams": grams})


@screen
class SellWeek(Screen):
    """Which week: this one or one of the next two."""

    name = "sell_week"

    def view(self, d, data):
        return View(head=[d.t("sales.ussd.week")],
                    items=[Option(d.t(f"sales.ussd.weeks.{n}"), n) for n in range(WEEKS_OFFERED)])

    def choose(self, d, data, value):
        week = joint_sale.monday(d.today()) + dt.timedelta(weeks=value)
        return push("sell_confirm", **{**data, "week": week.isoformat()})


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
            if data.get("change"):
                row = _own_pledge(d, data["change"])
                if row is None:
                    return end(d.t("sales.cancel.not_open", id=data["change"]))
                was = joint_sale.change_pledge(d.db, row, data["grams"], week, d.today())
                placed = joint_sale.Placed(row, was)
            else:
                placed = joint_sale.place(d.db, person, data["crop"], data["grams"], week, channel="ussd")
        except joint_sale.CentreFull as full:
            return end(d.t("sales.sell.full", centre=joint_sale.market_of(d.db, full.centre).name(d.lang, short=True),
                           free=quantity.mass(full.free_g, d.lang)))
        except Refusal as exc:
            return d.refusal(exc)
        params = joint_sale.receipt(d.db, placed.pledge, d.lang, placed.was_g)
        d.sms(d.t(params.pop("key"), **params))
        return end(d.t("sales.ussd.done" if placed.was_g is None else "sales.ussd.changed", id=placed.pledge.id))


def _own_pledge(d, pledge_id: int) -> joint_sale.Pledge | None:
    """The caller's open pledge ``pledge_id``, or None (not theirs, cancelled, or of a past week)."""
    if d.farmer is None:
        return None
    return next((p for p in joint_sale.open_pledges(d.db, d.farmer, d.today()) if p.id == pledge_id), None)


@screen
class MyPledges(Screen):
    """The caller's open pledges (this week or later), to change or cancel one."""

    name = "my_pledges"

    def view(self, d, data):
        mine = joint_sale.open_pledges(d.db, d.farmer, d.today()) if d.farmer is not None else []
        if not mine:
            return View(head=[d.t("sales.ussd.pledges_none")])
        return View(head=[d.t("sales.ussd.pledges_head")],
                    items=[Option(d.t("sales.ussd.pledge_item", **joint_sale.pledge_line(d.db, p, d.lang)), p.id)
                           for p in mine])

    def choose(self, d, data, value):
        return push("pledge", id=value)


@screen
class PledgeScreen(Screen):
    """One open pledge: crop, quantity and week; change it or cancel it."""

    name = "pledge"

    def view(self, d, data):
        row = _own_pledge(d, data["id"])
        if row is None:
            return View(head=[d.t("sales.cancel.not_open", id=data["id"])])
        return View(head=[d.t("sales.ussd.pledge_head", **joint_sale.pledge_line(d.db, row, d.lang))],
                    items=[Option(d.t("sales.ussd.change"), "change"), Option(d.t("sales.ussd.cancel"), "cancel")])

    def choose(self, d, data, value):
        row = _own_pledge(d, data["id"])
        if row is None:
            return stay()
        if value == "cancel":
            return push("pledge_cancel", id=row.id)
        return push("sell_qty", crop=row.crop_id, change=row.id)


@screen
class PledgeCancel(Screen):
    """Cancel this pledge? Yes cancels it and queues the SMS receipt of ``SELL CANCEL``."""

    name = "pledge_cancel"

    def view(self, d, data):
        return View(head=[d.t("sales.ussd.cancel_confirm", id=data["id"])], extras=yes_no(d))

    def choose(self, d, data, value):
        if value == "no":
            return back()
        row = _own_pledge(d, data["id"])
        if row is None:
            return end(d.t("sales.cancel.not_open", id=data["id"]))
        joint_sale.cancel_pledge(d.db, row, d.today())
        d.sms(d.t("sales.cancel.done", **joint_sale.pledge_line(d.db, row, d.lang)))
        return end(d.t("sales.ussd.cancelled", id=row.id))


# ---------------------------------------------------------------- yields

@screen
class YieldCrop(Screen):
    """Report a harvest: which crop."""

    name = "yield_crop"

    def view(self, d, data):
        return View(head=[d.t("yields.ussd.crop")], items=[Option(c.name(d.lang), c.id) for c in crops(d.db)])

    def choose(self, d, data, value):
        return push("yield_qty", crop=value)


@screen
class YieldQuantity(Screen):
    """How much was harvested (kg unless ``t`` or ``c`` follows)."""

    name = "yield_qty"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("yields.ussd.qty")])

    def submit(self, d, data, text):
        try:
            grams = quantity.read_mass(text.replace("*", " "))
        except Refusal:
            return stay("yields.ussd.bad_qty")
        return push("yield_area", crop=data["crop"], grams=grams)


@screen
class YieldArea(Screen):
    """From how much land (ha unless ``sotka`` follows)."""

    name = "yield_area"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("yields.ussd.area")])

    def submit(self, d, data, text):
        try:
            m2 = quantity.read_area(text.replace("*", " "))
        except Refusal:
            return stay("yields.ussd.bad_area")
        try:
            yield_report.check(data["grams"], m2)
        except Refusal as refused:
            return stay("yields.ussd.too_high" if refused.key == "yields.too_high" else "yields.ussd.bad_area")
        return push("yield_confirm", crop=data["crop"], grams=data["grams"], m2=m2)


@screen
class YieldConfirm(Screen):
    """Crop, quantity, area and the yield per hectare: record it? Yes records it like ``YIELD``."""

    name = "yield_confirm"

    def view(self, d, data):
        crop = d.db.get(Crop, data["crop"])
        return View(head=[d.t("yields.ussd.confirm", crop=crop.name(d.lang), qty=quantity.mass(data["grams"], d.lang),
                              area=quantity.area(data["m2"], d.lang),
                              per_ha=quantity.per_hectare(data["grams"], data["m2"], d.lang))], extras=yes_no(d))

    def choose(self, d, data, value):
        if value == "no":
            return back()
        try:
            report = yield_report.record(d.db, d.farmer, data["crop"], data["grams"], data["m2"], year=d.today().year,
                                         entered=f"{quantity.mass(data['grams'], 'en')} "
                                                 f"{quantity.area(data['m2'], 'en')} (USSD)")
        except Refusal as exc:
            return d.refusal(exc)
        crop = d.db.get(Crop, report.crop_id)
        return end(d.t("yields.done", crop=crop.name(d.lang), qty=quantity.mass(report.grams, d.lang),
                       area=quantity.area(report.area_m2, d.lang),
                       per_ha=quantity.per_hectare(report.grams, report.area_m2, d.lang)))


ENTRIES = (MenuEntry("advice", "sell", 30, "advice.ussd.menu.sell",
                     lambda d: push("need_register") if d.farmer is None else push("sell_crop")),
           MenuEntry("advice", "yield", 40, "yields.ussd.menu",
                     lambda d: push("need_register") if d.farmer is None else push("yield_crop")))
