"""USSD screens of the push side: a farmer records sowing and transplanting dates.

Registered into ``service.ussd.engine.SCREENS`` when imported (the last lines of
``service.ussd.engine`` import this module); texts under ``push.ussd.*``::

    [account] my crops -> [crops] -> [crop] (last date, next tip)
        next tips            -> [crop_next] the next reminders, a date and the gist of each
        sowed / transplanted -> [planted_when] today | yesterday -> END confirmation
                                               another day -> [planted_date] -> END confirmation
        not growing it       -> [crop_stop] yes -> END (pending tips dropped)

"Transplanted" is offered for crops whose campaign has a transplanting step
(or that have no campaign). The confirmation is the SMS command's
(:func:`service.reminders.sms.planted_text`), shown on the closing screen.
"""
from __future__ import annotations

import datetime as dt

from service.reminders import campaign
from service.reminders import crop_cycle
from service.reference.crops import Crop, crops
from service.db import utcnow
from service.errors import Refusal
from service.reminders.dates import parse_day, planted_text, short_day
from service.ussd.engine import Dialogue, MenuEntry, Option, Part, Screen, Screens, Step, View, back, end, push, stay

#: how many of a crop cycle's next reminders My crops lists (paged with 98)
NEXT_SHOWN = 5

screen = Screens()


@screen
class Crops(Screen):
    """My crops: every crop, the farmer's own first."""

    name = "crops"

    def view(self, d, data):
        grown = set(d.farmer.crop_ids) if d.farmer else set()
        listed = sorted(crops(d.db), key=lambda c: c.id not in grown)
        return View(head=[d.t("push.ussd.which_crop")], items=[Option(c.name(d.lang), c.id) for c in listed])

    def choose(self, d, data, value):
        return push("crop", crop=value)


@screen
class CropStatus(Screen):
    """One crop: the last reported date and the next tip; sowed, transplanted, not growing it."""

    name = "crop"

    def view(self, d, data):
        crop = d.db.get(Crop, data["crop"])
        name, today = crop.name(d.lang), d.today()
        cycle = crop_cycle.latest_cycle(d.db, d.farmer, crop.id) if d.farmer else None
        if cycle is None:
            head = d.t("push.ussd.crop_new", crop=name)
        else:
            anchor, day = ("T", cycle.transplanted_on) if cycle.transplanted_on else ("S", cycle.sown_on)
            params = {"crop": name, "date": short_day(day, today),
                      "what": d.t("push.what_sown" if anchor == "S" else "push.what_transplanted")}
            due = crop_cycle.next_due(d.db, cycle)
            head = d.t("push.ussd.crop_dates_next", next=short_day(due.astimezone(d.settings.timezone).date(), today), **params) \
                if due else d.t("push.ussd.crop_dates", **params)
        active = campaign.active_for(d.db, crop.id)
        gender = d.farmer.gender if d.farmer else None  # Russian "Посеяла" / "Посеял"
        options = [Option(d.t("push.ussd.sowed", gender=gender), "S")]
        if active is None or active.transplant_days:
            options.append(Option(d.t("push.ussd.transplanted", gender=gender), "T"))
        options.append(Option(d.t("push.ussd.not_growing"), "stop"))
        if cycle is not None and due:
            options.append(Option(d.t("push.ussd.next_tips"), "next"))
        # numbers keep their meaning on every page (4 is the next tips on the first page too)
        return View(head=[head], items=options, fixed=True)

    def choose(self, d, data, value):
        if value == "stop":
            return push("crop_stop", crop=data["crop"])
        if value == "next":
            return push("crop_next", crop=data["crop"])
        return push("planted_when", crop=data["crop"], anchor=value)


@screen
class CropNext(Screen):
    """The next reminders of the crop's cycle: one line each, its local day and the gist of its
    text (``crop_cycle.upcoming``), paged with 98; none left says so."""

    name = "crop_next"

    def view(self, d, data):
        crop = d.db.get(Crop, data["crop"])
        today = d.today()
        cycle = crop_cycle.latest_cycle(d.db, d.farmer, crop.id) if d.farmer else None
        coming = crop_cycle.upcoming(d.db, cycle, utcnow(), zone=d.settings.timezone, limit=NEXT_SHOWN) \
            if cycle else []
        if not coming:
            return View(head=[d.t("push.ussd.next_none", crop=crop.name(d.lang))])
        zone = d.settings.timezone
        lines = [Option(Part(u.event.gist(d.lang), f"{short_day(u.due_at.astimezone(zone).date(), today)} {{}}"))
                 for u in coming]
        return View(head=[d.t("push.ussd.next_head", crop=crop.name(d.lang))], items=lines, numbered=False)


def _record(d: Dialogue, data: dict, day: dt.date) -> Step:
    """Record the date and close with the confirmation (or the refusal)."""
    if d.farmer is None:
        return push("need_register")
    crop = d.db.get(Crop, data["crop"])
    try:
        planting = crop_cycle.record_planting(d.db, d.farmer, crop.id, data["anchor"], day, now=utcnow(), zone=d.settings.timezone)
    except Refusal as exc:
        return d.refusal(exc)
    return end(planted_text(d.lang, crop, data["anchor"], day, planting.next_due, d.settings.timezone, d.today()))


@screen
class PlantedWhen(Screen):
    """When was it sown or transplanted: today, yesterday, another day."""

    name = "planted_when"

    def view(self, d, data):
        return View(head=[d.t("push.ussd.when")],
                    items=[Option(d.t("push.ussd.today"), 0), Option(d.t("push.ussd.yesterday"), 1),
                           Option(d.t("push.ussd.other_day"), "other")])

    def choose(self, d, data, value):
        if value == "other":
            return push("planted_date", **data)
        return _record(d, data, d.today() - dt.timedelta(days=value))


@screen
class PlantedDate(Screen):
    """The date typed as day.month (or any form PLANTED accepts by SMS)."""

    name = "planted_date"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("push.ussd.date_prompt")])

    def submit(self, d, data, text):
        try:
            day = parse_day(text, d.today())
        except Refusal:
            day = None
        if day is None:
            return stay("push.ussd.bad_date")
        return _record(d, data, day)


@screen
class CropStop(Screen):
    """Not growing it: drop the crop's pending tips (asks first)."""

    name = "crop_stop"

    def view(self, d, data):
        crop = d.db.get(Crop, data["crop"])
        return View(head=[d.t("push.ussd.stop_confirm", crop=crop.name(d.lang))],
                    extras=[Option(d.t("ussd.yes"), "yes"), Option(d.t("ussd.no"), "no")])

    def choose(self, d, data, value):
        if value == "no":
            return back()
        if d.farmer is None:
            return push("need_register")
        crop = d.db.get(Crop, data["crop"])
        dropped = crop_cycle.stop_reminders(d.db, d.farmer, crop.id)
        return end(d.t("push.planted_off" if dropped else "push.planted_off_none", crop=crop.name(d.lang)))


#: My account, third line: my crops (planting dates), for a caller with a profile
ENTRIES = (MenuEntry("account", "crops", 30, "push.ussd.my_crops", lambda d: push("crops"),
                     shown=lambda d: d.farmer is not None),)
