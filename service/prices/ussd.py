"""USSD screens of market prices: which crop, then the latest price per market.

Menu (screen names in brackets), from the main menu's "Market prices"::

    [prices_crop] -> [prices]
"""
from __future__ import annotations

from service.prices import market
from service.reference import crops as cropmod
from service.reference.render import tjs
from service.ussd.engine import MenuEntry, Option, Part, Screen, Screens, View, push

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
    """Latest price per market for a crop, with the change since the previous report and its date."""

    name = "prices"

    def view(self, d, data):
        crop = d.db.get(cropmod.Crop, data["crop"])
        lines = []
        for line in market.latest_prices(d.db, crop.id):
            params = {"market": "{}", "price": tjs(line.price_diram, d.lang), "date": line.observed_on.strftime("%d.%m")}
            if line.change_diram is None:
                tpl = d.t("ussd.prices.line_first", **params)
            else:
                tpl = d.t("ussd.prices.line", change=tjs(line.change_diram, d.lang, signed=True), **params)
            lines.append(Option(Part(line.market.name(d.lang), tpl)))
        head = [d.t("ussd.prices.title", crop=crop.name(d.lang))]
        return View(head=head if lines else [*head, d.t("ussd.prices.none")], items=lines, numbered=False)


ENTRIES = (MenuEntry("main", "prices", 20, "ussd.main.prices", lambda d: push("prices_crop")),)
