"""USSD screens of market prices: which crop, then the latest price per market.

Menu (screen names in brackets), from the main menu's "Market prices"::

    [prices_crop] -> [prices]
"""
from __future__ import annotations

from service.prices import market
from service.reference import crops as cropmod
from service.reference.render import price as price_text
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
    """Latest price per market for a crop (the market by its short name), with the change since the
    previous report and its date (``service.reference.render.price``: ``Кӯлоб 1,35 (+0,05) 03.06``)."""

    name = "prices"

    def view(self, d, data):
        crop = d.db.get(cropmod.Crop, data["crop"])
        lines = []
        for line in market.latest_prices(d.db, crop.id):
            tpl = d.t("ussd.prices.line", market="{}", price=price_text(line.price_diram, line.change_diram, d.lang),
                      date=line.observed_on.strftime("%d.%m"))
            lines.append(Option(Part(line.market.name(d.lang, short=True), tpl)))
        head = [d.t("ussd.prices.title", crop=crop.name(d.lang))]
        return View(head=head if lines else [*head, d.t("ussd.prices.none")], items=lines, numbered=False)


ENTRIES = (MenuEntry("main", "prices", 20, "ussd.main.prices", lambda d: push("prices_crop")),)
