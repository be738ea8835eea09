"""USSD screens of advice: tips by crop and topic, and a question to an adviser.

Menu (screen names in brackets), reached from the main menu line "Advice, selling" (the
``advice`` menu, to which the sales feature adds "Sell produce")::

    [advice] tips      -> [advice_crop] -> [advice_topic] -> [advice_tips]
             ask       -> [advice_crop] -> [advice_topic] -> [advice_question] (free text) -> END

Tips need no registration; asking does (``need_register``).
"""
from __future__ import annotations

from service.advice import library
from service.advice import questions as advice
from service.errors import Refusal
from service.reference.crops import Crop, crops
from service.ussd.engine import MenuEntry, Option, Screen, Screens, View, end, push, stay

screen = Screens()


def _ask(d):
    return push("need_register") if d.farmer is None else push("advice_crop", mode="ask")


@screen
class AdviceCrop(Screen):
    """Which crop (for tips, a question or a pledge)."""

    name = "advice_crop"

    def view(self, d, data):
        return View(head=[d.t("advice.ussd.crop")], items=[Option(c.name(d.lang), c.id) for c in crops(d.db)])

    def choose(self, d, data, value):
        return push("advice_topic", mode=data["mode"], crop=value)


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
    """The tips of a crop and topic, as many per page as fit (edited on the staff pages:
    ``library.tip_texts``)."""

    name = "advice_tips"

    def view(self, d, data):
        keys = advice.tips(data["crop"], data["topic"])
        if not keys:
            return View(head=[d.t("advice.ussd.no_tips")])
        return View(items=[Option(text) for text in library.tip_texts(d.db, keys, d.lang)], numbered=False)


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
        except Refusal as exc:
            if exc.key == "advice.ask.too_long":
                return stay("advice.ussd.question_long", **exc.params)
            if exc.key == "advice.ask.usage":
                return stay("ussd.notice.empty")
            return d.refusal(exc)
        return end(d.t("advice.ask.done" if question.responder_id else "advice.ask.waiting", id=question.id))


ENTRIES = (
    MenuEntry("main", "advice", 40, "ussd.main.advice", lambda d: push("advice")),
    MenuEntry("advice", "tips", 10, "advice.ussd.menu.tips", lambda d: push("advice_crop", mode="tips")),
    MenuEntry("advice", "ask", 20, "advice.ussd.menu.ask", _ask),
)
