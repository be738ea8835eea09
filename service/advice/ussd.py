"""USSD screens of advice and joint sales (registered in ``service.ussd.engine.SCREENS`` on import).

Menu (screen names in brackets), reached from the main menu line "Advice, selling"::

    [advice] tips      -> [advice_crop] -> [advice_topic] -> [advice_tips]
             ask       -> [advice_crop] -> [advice_topic] -> [advice_question] (free text) -> END
             sell      -> [advice_crop] -> [sell_qty] (kg or t) -> [sell_week] -> [sell_confirm] -> END

Tips need no registration; asking and selling do (``need_register``). A pledge
queues the same SMS receipt as ``SELL``.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from config import Config
from service.advice import questions as advice
from service.sales import joint_sale
from service.reference import quantity
from service.reference.crops import Crop, crops
from service.db import utcnow
from service.errors import Refusal
from service.advice.sms import done_params
from service.ussd.engine import Option, Screen, View, _yes_no, back, end, push, screen, stay

MODES = ("tips", "ask", "sell")
WEEKS_OFFERED = 3  # this week and the two after (all on one Cyrillic screen)


def _today() -> dt.date:
    return utcnow().astimezone(ZoneInfo(Config.TIMEZONE)).date()


@screen
class Advice(Screen):
    """Advice and selling: tips, ask an adviser, pledge produce."""

    name = "advice"

    def view(self, d, data):
        return View(items=[Option(d.t(f"advice.ussd.menu.{m}"), m) for m in MODES])

    def choose(self, d, data, value):
        if value != "tips" and d.farmer is None:
            return push("need_register")
        return push("advice_crop", mode=value)


@screen
class AdviceCrop(Screen):
    """Which crop (for tips, a question or a pledge)."""

    name = "advice_crop"

    def view(self, d, data):
        return View(head=[d.t("advice.ussd.crop")], items=[Option(c.name(d.lang), c.id) for c in crops(d.db)])

    def choose(self, d, data, value):
        if data["mode"] != "sell":
            return push("advice_topic", mode=data["mode"], crop=value)
        try:
            joint_sale.centre_for(d.db, d.farmer, value)
        except Refusal as exc:
            return d.refusal(exc)
        return push("sell_qty", crop=value)


@screen
class AdviceTopic(Screen):
    """Which topic (sowing, care, protection, harvest)."""

    name = "advice_topic"

    def view(self, d, data):
        crop = d.db.get(Crop, data["crop"])
        return View(head=[d.t("advice.ussd.topic", crop=crop.name(d.lang))],
                    items=[Option(d.t(f"advice.ussd.topics.{t}"), t) for t in advice.TOPICS])

    def choose(self, d, data, value):
        return push("advice_tips" if data["mode"] == "tips" else "advice_question", crop=data["crop"], topic=value)


@screen
class AdviceTips(Screen):
    """The tips of a crop and topic, as many per page as fit."""

    name = "advice_tips"

    def view(self, d, data):
        keys = advice.tips(data["crop"], data["topic"])
        if not keys:
            return View(head=[d.t("advice.ussd.no_tips")])
        return View(items=[Option(d.t(k)) for k in keys], numbered=False)


@screen
class AdviceQuestion(Screen):
    """The question (free text); sent like ``ASK``."""

    name = "advice_question"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("advice.ussd.question")])

    def submit(self, d, data, text):
        try:
            question = advice.ask(d.db, d.farmer, text, channel="ussd", crop_id=data["crop"], topic=data["topic"])
        except Refusal:
            return stay("ussd.notice.invalid")
        return end(d.t("advice.ask.done" if question.responder_id else "advice.ask.waiting", id=question.id))


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
            return stay("ussd.notice.invalid")
        if rest:
            return stay("ussd.notice.invalid")
        return push("sell_week", crop=data["crop"], grams=grams)


@screen
class SellWeek(Screen):
    """Which week: this one or one of the next two."""

    name = "sell_week"

    def view(self, d, data):
        return View(head=[d.t("sales.ussd.week")],
                    items=[Option(d.t(f"sales.ussd.weeks.{n}"), n) for n in range(WEEKS_OFFERED)])

    def choose(self, d, data, value):
        week = joint_sale.monday(_today()) + dt.timedelta(weeks=value)
        return push("sell_confirm", crop=data["crop"], grams=data["grams"], week=week.isoformat())


@screen
class SellConfirm(Screen):
    """Crop, quantity and week: pledge? Yes queues the SMS receipt."""

    name = "sell_confirm"

    def view(self, d, data):
        week = dt.date.fromisoformat(data["week"])
        crop = d.db.get(Crop, data["crop"])
        return View(head=[d.t("sales.ussd.confirm", crop=crop.name(d.lang), qty=quantity.mass(data["grams"], d.lang),
                              week=week.isocalendar().week, date=week.strftime("%d.%m"))], extras=_yes_no(d))

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
        params = done_params(d.db, pledge, d.lang)
        d.sms(d.t(params.pop("key"), **params))
        return end(d.t("sales.ussd.done", id=pledge.id))

