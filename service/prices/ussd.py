"""USSD screens of market prices: which crop, then the latest price per market.

Menu (screen names in brackets), from the main menu's "Market prices"::

    [prices_crop] -> [prices]

and from My account's "Price SMS" the weekly digest and price alerts (end of this module).
"""
from __future__ import annotations

from service.errors import Refusal
from service.prices import alerts as price_alert
from service.prices import market
from service.reference import crops as cropmod
from service.reference.geography import Village
from service.reference.render import price as price_text
from service.reference.render import tjs
from service.ussd.engine import MenuEntry, Option, Part, Screen, Screens, View, back, end, push, stay, yes_no

screen = Screens()


@screen
class PricesCrop(Screen):
    """Market prices: which crop."""

    name = "prices_crop"

    def view(self, d, data):
        return View(head=[d.t("ussd.prices.crop")], items=[Option(c.name(d.lang), c.id) for c in cropmod.crops(d.db)])

    def choose(self, d, data, value):
        return push("prices", crop=value)


@screen
class Prices(Screen):
    """Latest price per market for a crop in the order of the PRICE reply (the caller's district
    first, each part newest first: ``market.nearest_first``), the market by its short name, with
    the change since its previous report (``service.reference.render.price``, as by SMS:
    ``Кӯлоб 1,35 +0,05``). Each page is headed by the date of its newest line, and a line older
    than that says its own date (``ussd.prices.line_older``). A page holds as many markets as fit the screen (``layout``, dense:
    the ``00`` and ``99`` hints go before a market does; ``docs/message-budgets.md`` §9.3): in
    Tajik and Russian two short lines (``Кӯлоб 1,35 +0,05``), one when a collection centre's longer
    name or an older date leaves no room for a second; up to five in Uzbek and English. The unit
    (TJS/kg) is said on the crop screen before."""

    name = "prices"

    def view(self, d, data):
        crop = d.db.get(cropmod.Crop, data["crop"])
        latest = market.latest_prices(d.db, crop.id)
        if not latest:
            return View(head=[d.t("ussd.prices.title_none", crop=crop.name(d.lang)), d.t("ussd.prices.none")],
                        items=[], numbered=False)
        village = d.db.get(Village, d.farmer.village_id) if d.farmer and d.farmer.village_id else None
        # the order of the PRICE reply: the caller's district first, each part newest first
        latest = market.nearest_first(latest, village.district_id if village else None)

        def page(items: list[Option]) -> tuple[list[str], list[Option]]:
            # the head is dated by the page's newest line; a line says its own date when older
            shown = [latest[o.value] for o in items]
            newest = max(line.observed_on for line in shown)
            head = [d.t("ussd.prices.title", crop=crop.name(d.lang), date=newest.strftime("%d.%m"))]
            return head, [Option(_price_line(d, line, newest), o.value) for line, o in zip(shown, items)]

        head, lines = page([Option("", i) for i in range(len(latest))])
        return View(head=head, items=lines, numbered=False, dense=True, page=page)


def _price_line(d, line: market.PriceLine, newest) -> Part:
    """``<short market name> <TJS> <change>``, and the line's ``dd.mm`` when it is older than
    ``newest`` (the date of the page's head)."""
    price = price_text(line.price_diram, line.change_diram, d.lang)
    if line.observed_on == newest:
        tpl = d.t("ussd.prices.line", market="{}", price=price)
    else:
        tpl = d.t("ussd.prices.line_older", market="{}", price=price, date=line.observed_on.strftime("%d.%m"))
    return Part(line.market.name(d.lang, short=True), tpl)


ENTRIES = (MenuEntry("main", "prices", 20, "ussd.main.prices", lambda d: push("prices_crop")),)


# -- My account -> Price SMS: the weekly digest and price alerts, as PRICES ON/OFF and PRICEALERT --
#
#     [price_sms] -> weekly prices on/off -> END
#                 -> New price alert: [palert_crop] -> [palert_dir] (up/down) -> [palert_price] -> END
#                 -> My price alerts (when there are any): [palert_list] -> [palert_cancel] -> END

def _alert_label(d, alert: price_alert.PriceAlert) -> str:
    crop = d.db.get(cropmod.Crop, alert.crop_id)
    return d.t(f"push.ussd.alert_{alert.direction}", crop=crop.name(d.lang),
               threshold=tjs(alert.threshold_diram, d.lang))


@screen
class PriceSms(Screen):
    """Price SMS of the profile speaking: the weekly digest on or off, a new alert, its alerts."""

    name = "price_sms"

    def view(self, d, data):
        if d.farmer is None:
            return View(head=[d.t("ussd.group.need_register")])
        on = price_alert.is_subscribed(d.db, d.farmer)
        items = [Option(d.t("push.ussd.digest_off" if on else "push.ussd.digest_on"), "digest"),
                 Option(d.t("push.ussd.alert_new"), "new")]
        if price_alert.open_alerts(d.db, d.farmer):
            items.append(Option(d.t("push.ussd.my_alerts"), "mine"))
        return View(items=items)

    def choose(self, d, data, value):
        if value == "new":
            return push("palert_crop")
        if value == "mine":
            return push("palert_list")
        on = not price_alert.is_subscribed(d.db, d.farmer)
        price_alert.subscribe_prices(d.db, d.farmer, on)
        return end(d.t("push.prices_on" if on else "push.prices_off"))


@screen
class AlertCrop(Screen):
    """A new price alert: which crop."""

    name = "palert_crop"

    def view(self, d, data):
        return View(head=[d.t("push.ussd.alert_crop")],
                    items=[Option(c.name(d.lang), c.id) for c in cropmod.crops(d.db)])

    def choose(self, d, data, value):
        return push("palert_dir", crop=value)


@screen
class AlertDirection(Screen):
    """When to send it: the price goes up to, or falls to, a threshold."""

    name = "palert_dir"

    def view(self, d, data):
        crop = d.db.get(cropmod.Crop, data["crop"])
        return View(head=[d.t("push.ussd.alert_dir", crop=crop.name(d.lang))],
                    items=[Option(d.t(f"push.ussd.dir_{way}"), way) for way in price_alert.DIRECTIONS])

    def choose(self, d, data, value):
        return push("palert_price", crop=data["crop"], direction=value)


@screen
class AlertPrice(Screen):
    """The threshold in TJS per kg (``2,50``); sets the alert like ``PRICEALERT`` (any market; one of
    that crop and direction not fired yet is replaced)."""

    name = "palert_price"
    prompt = True

    def view(self, d, data):
        crop = d.db.get(cropmod.Crop, data["crop"])
        return View(head=[d.t("push.ussd.alert_price", crop=crop.name(d.lang))])

    def submit(self, d, data, text):
        try:
            diram = market.parse_tjs(text)
        except Refusal:
            return stay("push.ussd.bad_price")
        if d.farmer is None:
            return push("need_register")
        alert = price_alert.set_price_alert(d.db, d.farmer, data["crop"], diram, data["direction"])
        return end(d.t("push.ussd.alert_set", alert=_alert_label(d, alert)))


@screen
class AlertList(Screen):
    """The profile's price alerts that have not fired, to cancel one."""

    name = "palert_list"

    def view(self, d, data):
        alerts = price_alert.open_alerts(d.db, d.farmer) if d.farmer is not None else []
        if not alerts:
            return View(head=[d.t("push.ussd.alerts_none")])
        return View(items=[Option(_alert_label(d, a), a.id) for a in alerts])

    def choose(self, d, data, value):
        return push("palert_cancel", id=value)


@screen
class AlertCancel(Screen):
    """Cancel this alert? Yes deletes it."""

    name = "palert_cancel"

    def _alert(self, d, data):
        alerts = price_alert.open_alerts(d.db, d.farmer) if d.farmer is not None else []
        return next((a for a in alerts if a.id == data["id"]), None)

    def view(self, d, data):
        alert = self._alert(d, data)
        if alert is None:
            return View(head=[d.t("push.ussd.alerts_none")])
        return View(head=[d.t("push.ussd.alert_cancel", alert=_alert_label(d, alert))], extras=yes_no(d))

    def choose(self, d, data, value):
        alert = self._alert(d, data)
        if value == "no" or alert is None:
            return back()
        label = _alert_label(d, alert)
        price_alert.cancel_alerts(d.db, d.farmer, alert_id=alert.id)
        return end(d.t("push.ussd.alert_cancelled", alert=label))


#: My account, fourth line: price SMS, for a caller with a profile
ENTRIES = (*ENTRIES, MenuEntry("account", "price_sms", 40, "push.ussd.price_sms", lambda d: push("price_sms"),
                               shown=lambda d: d.farmer is not None))
