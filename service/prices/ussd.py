"""USSD screens of market prices: which crop, then the latest price per market.

Menu (screen names in brackets), from the main menu's "Market prices"::

    [prices_crop] -> [prices]
"""
from __future__ import annotations

from service.prices import market
from service.reference import crops as cropmod
from service.reference.geography import Village
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
    """Latest price per market for a crop (the caller's district first, then markets before
    collection centres, then newest first) under the newest report's date, the market by its short
    name, with the change since its previous report (``service.reference.render.price``, as by
    SMS: ``Кӯлоб 1,35 +0,05``) and its own date when older than the newest. Two short-named
    markets fit a Cyrillic screen: the unit (TJS/kg) is said on the crop screen before."""

    name = "prices"

    def view(self, d, data):
        crop = d.db.get(cropmod.Crop, data["crop"])
        latest = market.latest_prices(d.db, crop.id)
        if not latest:
            return View(head=[d.t("ussd.prices.title_none", crop=crop.name(d.lang)), d.t("ussd.prices.none")],
                        items=[], numbered=False)
        newest = max(line.observed_on for line in latest)
        village = d.db.get(Village, d.farmer.village_id) if d.farmer and d.farmer.village_id else None
        # the caller's district first, then markets before collection centres (short names pair up)
        latest.sort(key=lambda ln: (village is None or ln.market.district_id != village.district_id,
                                    ln.market.kind != "market"))
        lines = []
        for line in latest:
            price = price_text(line.price_diram, line.change_diram, d.lang)
            if line.observed_on == newest:
                tpl = d.t("ussd.prices.line", market="{}", price=price)
            else:
                tpl = d.t("ussd.prices.line_older", market="{}", price=price, date=line.observed_on.strftime("%d.%m"))
            lines.append(Option(Part(line.market.name(d.lang, short=True), tpl)))
        head = [d.t("ussd.prices.title", crop=crop.name(d.lang), date=newest.strftime("%d.%m"))]
        return View(head=head, items=lines, numbered=False, dense=True)


ENTRIES = (MenuEntry("main", "prices", 20, "ussd.main.prices", lambda d: push("prices_crop")),)
