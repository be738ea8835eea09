"""The USSD dialogue: screens, navigation, paging and the per-hop engine.

Contract: ``docs/gateway-africastalking.md`` §2 and ``docs/message-budgets.md`` §9–§10.

* :func:`answer` takes one AT hop and returns the body to send (``CON …`` or
  ``END …``). State lives server-side per ``sessionId`` (:class:`UssdSession`):
  the new input is what follows the previously seen ``text`` plus ``*``, so a
  ``*`` typed inside a name stays in the name. Every answered (``sessionId``,
  ``text``) is stored (:class:`UssdHop`) and a repeat gets the stored body with
  no new side effect, whichever copy of a hop arrives first.
* Limits, checked before any replay: a ``text`` of at most :data:`MAX_TEXT_CHARS`
  characters, a dial-through of at most :data:`MAX_DIAL_STEPS` inputs, a session of at
  most :data:`MAX_SESSION_HOPS` hops; beyond them the caller gets a polite ``END``
  (``ussd.too_long``) in their language at once.
* A :class:`Dialogue` holds the caller's state (language, chosen profile, a
  stack of screen frames, the registration form) as plain JSON. ``feed(value)``
  applies one input, ``render()`` draws the current screen.
* A :class:`Screen` has ``view()`` (what to show: a :class:`View`) and
  ``choose()`` (an option was picked) or ``submit()`` (free text was typed),
  which return a :class:`Step` (push a screen, stay, back, home, end).
* Navigation is the same on every screen: ``0`` back, ``00`` main menu, ``98``
  next page, ``99`` previous page. Lists are paged by measuring: a page holds
  as many items as fit the screen budget (:func:`service.messaging.encoding.fits_ussd`)
  in the caller's language, and a pick refers to the page shown.

Menus (screen names in brackets)::

    [who] a phone with several profiles: who is calling? (names, someone new)
    [main] register / add a person  -> [reg_resume] -> [reg_name] [reg_gender] [reg_district]
                                       [reg_village] [reg_crops] [reg_land] [reg_confirm]
           my group   -> [need_register] | [join] -> [join_code] -> [join_confirm]
                         | [group] (pending status; or [ec], [leave_confirm])
           order inputs -> [orders] ... (service/ussd_orders.py)
           market prices -> [prices_crop] -> [prices]
           my account -> [language]; stop / restart messages; my crops (``service.reminders.ussd``)

Nothing here sends anything: SMS go to the outbox (:func:`service.messaging.message.queue_sms`).
"""
from __future__ import annotations

import copy
import datetime as dt
import logging
from dataclasses import dataclass, field, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

import templates_sms
from service.reference import crops as cropmod
from service.farmers import models as farmermod
from service.reference import geography
from service.prices import market
from service.groups import membership
from service.messaging import optout
from service.groups import producer_group
from service.db import utcnow
from service.messaging.encoding import fits_ussd, normalise
from service.errors import Refusal
from service.farmers.models import Farmer
from service.messaging.message import queue_sms
from service.reference.names import LANGUAGES, fold
from service.reference.phone import InvalidPhone, to_e164
from service.reference.render import hectares, tjs
from service.groups.producer_group import ProducerGroup
from service.ussd.session import FormDraft, UssdHop, UssdSession, text_hash

log = logging.getLogger(__name__)

CON, END = "CON ", "END "
BACK, HOME, MORE, PREV = "0", "00", "98", "99"
#: most options (or information lines) on one screen: docs/message-budgets.md §9.2
MAX_OPTIONS = {"tg": 4, "ru": 4, "uz": 5, "en": 5}
FORM = "register"  # FormDraft.kind of the registration form

# Limits of a hop (README "Limits at the door"), checked before anything is replayed.
#: most characters of a hop's accumulated ``text``: AT's USSD input is at most ~182 characters a
#: hop and a dial-through at most MAX_DIAL_STEPS inputs (20 x 182 = 3,640), rounded up
MAX_TEXT_CHARS = 4000
#: most inputs in the pre-filled path of a new session (a dial-through), each replayed as typed
MAX_DIAL_STEPS = 20
#: most hops answered in one session: AT ends a session after ~180 s and a hop takes ~2 s or more
MAX_SESSION_HOPS = 100
#: most characters kept of the free-text fields of an end-of-session notice
MAX_NOTICE_CHARS = 1000


# ---------------------------------------------------------------------------
# What a screen shows, and what it asks the engine to do next
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """A text with one dynamic value (a name typed by a farmer, a village) that the
    renderer may shorten to fit the screen. ``tpl`` is the fixed text with ``{}``
    where ``value`` goes; ``"{}"`` shows the value alone."""

    value: str
    tpl: str = "{}"

    def show(self, cut: int | None = None) -> str:
        """The text with ``value`` cut to ``cut`` characters (plus ``..``) when longer."""
        value = " ".join(normalise(self.value).split())
        if cut is not None and len(value) > cut:
            value = value[:cut].rstrip() + ".."
        return self.tpl.replace("{}", value, 1)


def _show(text: str | Part, cut: int | None) -> str:
    return text.show(cut) if isinstance(text, Part) else text


@dataclass(frozen=True)
class Option:
    """A line of a list: ``label`` shown, ``value`` (JSON) handed to ``Screen.choose``."""

    label: str | Part
    value: object = None


@dataclass
class View:
    """A screen's content. ``head``: lines above the list; ``items``: the paged list;
    ``extras``: options repeated on every page after the items; ``numbered`` False
    makes the items information lines rather than choices; ``end`` closes the session."""

    head: list[str | Part] = field(default_factory=list)
    items: list[Option] = field(default_factory=list)
    extras: list[Option] = field(default_factory=list)
    numbered: bool = True
    end: bool = False


@dataclass(frozen=True)
class Step:
    """What the engine does after an input: ``go`` is ``push`` (open ``screen`` with
    ``data``), ``stay``, ``back``, ``home`` or ``end`` (close with ``text``);
    ``notice`` is a template key shown above the next screen."""

    go: str
    screen: str = ""
    data: dict = field(default_factory=dict)
    notice: str = ""
    text: str | Part = ""


def push(screen: str, **data) -> Step:
    """Open ``screen`` on top of the current one."""
    return Step("push", screen=screen, data=data)


def stay(notice: str = "") -> Step:
    """Show the current screen again (with a notice)."""
    return Step("stay", notice=notice)


def back(notice: str = "") -> Step:
    """Return to the previous screen."""
    return Step("back", notice=notice)


def home(notice: str = "") -> Step:
    """Return to the main menu."""
    return Step("home", notice=notice)


def end(text: str | Part) -> Step:
    """Close the session with ``text``."""
    return Step("end", text=text)


# ---------------------------------------------------------------------------
# Layout: measuring pager
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    """A rendered screen: ``body`` with prefix, option values in the order numbered,
    ``count`` items of the list shown from ``start``; ``natural`` items would be
    shown without the notice."""

    body: str
    shown: list
    start: int
    count: int
    natural: int = 0


def layout(view: View, *, lang: str, start: int = 0, notice: str = "", root: bool = True, keep: int = 0) -> Page:
    """Fit ``view`` on one screen from list item ``start``.

    The page is laid out without the notice, so a notice does not renumber it:
    as many items as fit (at most :data:`MAX_OPTIONS` lines with the extras), or
    ``keep`` items when that many still fit (a re-shown page keeps its numbering),
    leaving out the ``00`` hint rather than an item. When one item does not
    fit, the ``99`` hint goes too, then the dynamic :class:`Part` texts are
    shortened, longest first, and last the ``0`` hint goes. (Hints are only
    reminders: the keys work on every screen.) The notice goes above the head,
    else in place of it, else in place of it with fewer items.
    """
    prefix = END if view.end else CON
    total = len(view.items)
    start = start if 0 <= start < total else 0
    room = max(1, MAX_OPTIONS.get(lang, 4) - len(view.extras))
    most = min(total - start, room)

    def compose(count: int, drop: tuple[str, ...] = (), cut: int | None = None, note: str = "",
                head: bool = True) -> Page:
        lines = [note] if note else []
        lines += [_show(h, cut) for h in view.head] if head else []
        items = view.items[start:start + count]
        info, options = ([], items + view.extras) if view.numbered else (items, view.extras)
        lines += [_show(o.label, cut) for o in info]
        shown = []
        for opt in options:
            shown.append(opt.value)
            lines.append(f"{len(shown)} {_show(opt.label, cut)}")
        if not view.end:
            hints = {"back": not root, "home": not root, "more": start + count < total, "prev": start > 0}
            nav = [_t(f"ussd.nav.{h}", lang) for h in ("back", "home", "more", "prev") if hints[h] and h not in drop]
            if nav:
                lines.append(" ".join(nav))
        return Page(prefix + "\n".join(lines), shown, start, count)

    def fit() -> tuple:
        for count in [*([keep] if 0 < keep <= most else []), *range(most, 0, -1)] or [0]:
            for drop in ((), ("home",)):
                if fits_ussd(compose(count, drop).body):
                    return count, drop, None
        count = min(most, 1)
        if fits_ussd(compose(count, ("home", "prev")).body):
            return count, ("home", "prev"), None
        labels = [*view.head, *(o.label for o in [*view.items[start:start + count], *view.extras])]
        longest = max((len(t.value) for t in labels if isinstance(t, Part)), default=0)
        for drop in (("home", "prev"), ("home", "prev", "back")):
            for cut in range(longest - 1, 0, -1):
                if fits_ussd(compose(count, drop, cut).body):
                    return count, drop, cut
        return count, ("home", "prev", "back"), 1

    natural, drop, cut = fit()
    candidates = [compose(natural, drop, cut)]
    if notice:
        candidates[:0] = [compose(natural, drop, cut, note=notice, head=True),
                          compose(natural, drop, cut, note=notice, head=False),
                          *(compose(n, drop, cut, note=notice, head=False) for n in range(natural - 1, 0, -1))]
    page = next((p for p in candidates if fits_ussd(p.body)), candidates[-1])
    return replace(page, natural=natural)


def _t(key: str, lang: str, **params) -> str:
    return templates_sms.text(key, lang, **params)


# ---------------------------------------------------------------------------
# The dialogue
# ---------------------------------------------------------------------------

def _frame(screen: str, data: dict | None = None) -> dict:
    return {"s": screen, "d": data or {}, "start": 0, "starts": [], "count": 0, "keep": 0, "total": 0, "shown": []}


class Dialogue:
    """One caller's dialogue over a database session.

    ``state`` (JSON): ``lang``; ``farmer`` (id of the profile speaking, or None);
    ``root`` (``main``, or ``who`` until a household phone says who is calling);
    ``stack`` (frames: screen name, data, paging, the option values shown);
    ``form`` (the registration form being filled, mirrored in a :class:`FormDraft`).
    """

    def __init__(self, session: Session, phone: str, state: dict):
        self.db = session
        self.phone = phone
        self.state = state
        self.notice = ""
        self.ended: str | Part | None = None

    @classmethod
    def start(cls, session: Session, phone: str, default_language: str) -> "Dialogue":
        """A new dialogue for ``phone`` (E.164): who-is-calling when the phone has
        several profiles, else the main menu in the profile's or ``default_language``."""
        found = farmermod.profiles(session, phone)
        lang = found[0].language if found else default_language
        state = {"lang": lang if lang in LANGUAGES else "tg", "form": {},
                 "farmer": found[0].id if len(found) == 1 else None,
                 "root": "who" if len(found) > 1 else "main"}
        state["stack"] = [_frame(state["root"])]
        return cls(session, phone, state)

    # -- helpers used by screens ------------------------------------------

    @property
    def lang(self) -> str:
        """The caller's language (tg/ru/uz/en)."""
        return self.state["lang"]

    @property
    def stack(self) -> list[dict]:
        """The screen frames, the current one last."""
        return self.state["stack"]

    @property
    def form(self) -> dict:
        """The registration form being filled (name, gender, district, village, crops, land_m2)."""
        return self.state["form"]

    @property
    def farmer(self) -> Farmer | None:
        """The profile speaking, or None (unregistered phone or someone new)."""
        fid = self.state.get("farmer")
        found = self.db.get(Farmer, fid) if fid else None
        return found if found is not None and found.phone == self.phone else None

    def t(self, key: str, **params) -> str:
        """Template ``key`` in the caller's language."""
        return _t(key, self.lang, **params)

    def refusal(self, exc: Refusal) -> Step:
        """Close with the text of a domain refusal (a name in it may be shortened)."""
        params = dict(exc.params)
        if "name" in params:
            return end(Part(str(params.pop("name")), self.t(exc.key, name="{}", **params)))
        return end(self.t(exc.key, **params))

    def sms(self, text: str, *, kind: str = "reply", phone: str | None = None, farmer_id: int | None = None,
            language: str | None = None) -> None:
        """Queue an SMS to ``phone`` (default: the caller, for ``farmer_id`` or the profile speaking)."""
        if phone is None and farmer_id is None and self.farmer is not None:
            farmer_id = self.farmer.id
        queue_sms(self.db, phone or self.phone, text, kind=kind, farmer_id=farmer_id, language=language or self.lang)

    def draft(self) -> FormDraft | None:
        """The phone's saved registration form, if any."""
        return self.db.scalar(select(FormDraft).where(FormDraft.phone == self.phone, FormDraft.kind == FORM))

    def update_form(self, **values) -> None:
        """Set form fields and save the form for a dropped session."""
        self.form.update(values)
        row = self.draft()
        if row is None:
            row = FormDraft(phone=self.phone, kind=FORM)
            self.db.add(row)
        row.data, row.updated_at = dict(self.form), utcnow()

    def drop_form(self) -> None:
        """Forget the form and its saved draft."""
        self.state["form"] = {}
        row = self.draft()
        if row is not None:
            self.db.delete(row)

    # -- engine -------------------------------------------------------------

    def feed(self, raw: str) -> None:
        """Apply one input: navigation keys first, then the current screen's handler."""
        if self.ended is not None:
            return
        value = raw.strip()
        frame = self.stack[-1]
        if value == HOME:
            self.state["stack"] = [_frame(self.state["root"])]
        elif value == BACK:
            if len(self.stack) > 1:
                self.stack.pop()
            else:
                self.notice = "ussd.notice.invalid"
        elif value == MORE:
            if frame["start"] + frame["count"] < frame["total"]:
                frame["starts"].append(frame["start"])
                frame["start"] += frame["count"]
                frame["keep"] = 0
            else:
                self.notice = "ussd.notice.invalid"
        elif value == PREV:
            if frame["starts"]:
                frame["start"] = frame["starts"].pop()
                frame["keep"] = 0
            else:
                self.notice = "ussd.notice.invalid"
        else:
            screen = SCREENS[frame["s"]]
            if screen.prompt:
                step = screen.submit(self, frame["d"], value) if value else stay("ussd.notice.invalid")
            elif value.isascii() and value.isdigit() and len(value) <= 3 and 1 <= int(value) <= len(frame["shown"]):
                step = screen.choose(self, frame["d"], frame["shown"][int(value) - 1])
            else:
                step = stay("ussd.notice.invalid")
            self._apply(step)

    def _apply(self, step: Step) -> None:
        if step.go == "push":
            self.stack.append(_frame(step.screen, step.data))
        elif step.go == "back" and len(self.stack) > 1:
            self.stack.pop()
        elif step.go == "home":
            self.state["stack"] = [_frame(self.state["root"])]
        elif step.go == "end":
            self.ended = step.text
        self.notice = step.notice

    def render(self) -> str:
        """The body for the current screen (``CON``/``END`` + text); records the page shown."""
        notice = self.t(self.notice) if self.notice else ""
        self.notice = ""
        if self.ended is not None:
            return layout(View(head=[self.ended], end=True), lang=self.lang).body
        frame = self.stack[-1]
        view = SCREENS[frame["s"]].view(self, frame["d"])
        same = frame["total"] == len(view.items)
        page = layout(view, lang=self.lang, start=frame["start"], notice=notice, root=len(self.stack) == 1,
                      keep=frame["keep"] if same else 0)
        if page.start != frame["start"]:  # the list shrank since: start over
            frame["starts"] = []
        frame.update(start=page.start, count=page.count, keep=page.natural, total=len(view.items), shown=page.shown)
        return page.body


# ---------------------------------------------------------------------------
# Screens
# ---------------------------------------------------------------------------

class Screen:
    """A USSD screen. ``prompt`` screens take free text (``submit``); the others
    take the value of the option picked (``choose``)."""

    name = ""
    prompt = False

    def view(self, d: Dialogue, data: dict) -> View:
        """What to show."""
        raise NotImplementedError

    def choose(self, d: Dialogue, data: dict, value) -> Step:
        """The option with ``value`` was picked."""
        raise NotImplementedError

    def submit(self, d: Dialogue, data: dict, text: str) -> Step:
        """Free text (never empty) was typed."""
        raise NotImplementedError


SCREENS: dict[str, Screen] = {}


def screen(cls: type[Screen]) -> type[Screen]:
    """Register a screen class under its ``name``."""
    SCREENS[cls.name] = cls()
    return cls


def _yes_no(d: Dialogue) -> list[Option]:
    return [Option(d.t("ussd.yes"), "yes"), Option(d.t("ussd.no"), "no")]


def _pg_label(pg: ProducerGroup) -> str:
    return f"{pg.code} {pg.name}"


# -- main menu, who is calling ----------------------------------------------

@screen
class Main(Screen):
    """Main menu: register first for an unknown caller, else my group, prices, account, add a person."""

    name = "main"

    def view(self, d, data):
        keys = ("register", "group", "prices", "account", "advice") if d.farmer is None else \
            ("group", "prices", "orders", "advice", "account", "add_person")
        return View(items=[Option(d.t(f"ussd.main.{k}"), k) for k in keys])

    def choose(self, d, data, value):
        if value in ("register", "add_person"):
            return start_register(d)
        if value == "group":
            return open_group(d)
        if value == "orders":
            return ussd_orders.open_orders(d)
        if value == "advice":
            return push("advice")
        return push("prices_crop" if value == "prices" else "account")


@screen
class Who(Screen):
    """A household phone: who is calling (the profiles, then someone new)."""

    name = "who"

    def view(self, d, data):
        people = [Option(Part(f.name), f.id) for f in farmermod.profiles(d.db, d.phone)]
        return View(head=[d.t("ussd.who.title")], items=people, extras=[Option(d.t("ussd.who.new"), "new")])

    def choose(self, d, data, value):
        if value == "new":
            d.state.update(farmer=None, root="main", stack=[_frame("main")])
            return start_register(d)
        chosen = d.db.get(Farmer, value)
        if chosen is None or chosen.phone != d.phone:
            return stay("ussd.notice.invalid")
        d.state.update(farmer=chosen.id, lang=chosen.language, root="main")
        return home()


# -- registration -------------------------------------------------------------

#: the form's fields in order, with the screen asking each
FORM_STEPS = (("name", "reg_name"), ("gender", "reg_gender"), ("district", "reg_district"),
              ("village", "reg_village"), ("crops_done", "reg_crops"), ("land_m2", "reg_land"))


def next_form_screen(form: dict) -> str:
    """The screen of the first field the form lacks, else the confirmation."""
    return next((name for key, name in FORM_STEPS if not form.get(key)), "reg_confirm")


def start_register(d: Dialogue) -> Step:
    """Begin registering a person on the caller's phone (offering a saved form first)."""
    if len(farmermod.profiles(d.db, d.phone)) >= farmermod.MAX_PROFILES_PER_PHONE:
        return end(d.t("err.too_many_profiles"))
    draft = d.draft()
    if draft is not None and draft.data:
        return push("reg_resume")
    d.state["form"] = {}
    return push("reg_name")


@screen
class RegResume(Screen):
    """A saved half form: continue it or start again."""

    name = "reg_resume"

    def view(self, d, data):
        return View(head=[d.t("ussd.reg.resume")],
                    items=[Option(d.t("ussd.reg.continue"), "continue"), Option(d.t("ussd.reg.restart"), "restart")])

    def choose(self, d, data, value):
        draft = d.draft()
        if value == "continue" and draft is not None:
            d.state["form"] = dict(draft.data)
            return push(next_form_screen(d.form))
        d.drop_form()
        return push("reg_name")


@screen
class RegName(Screen):
    """Registration: the person's name (free text; a typed ``*`` stays in it)."""

    name = "reg_name"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("ussd.reg.name")])

    def submit(self, d, data, text):
        try:
            name = farmermod.clean_name(text)
        except Refusal:
            return stay("ussd.notice.invalid")
        if any(fold(p.name) == fold(name) for p in farmermod.profiles(d.db, d.phone)):
            return stay("ussd.notice.name_taken")
        d.update_form(name=name)
        return push("reg_gender")


@screen
class RegGender(Screen):
    """Registration: woman or man."""

    name = "reg_gender"

    def view(self, d, data):
        return View(head=[d.t("ussd.reg.gender")],
                    items=[Option(d.t(f"ussd.gender.{g}"), g) for g in farmermod.GENDERS])

    def choose(self, d, data, value):
        d.update_form(gender=value)
        return push("reg_district")


@screen
class RegDistrict(Screen):
    """Registration: the district."""

    name = "reg_district"

    def view(self, d, data):
        return View(head=[d.t("ussd.reg.district")],
                    items=[Option(Part(x.name(d.lang)), x.id) for x in geography.districts(d.db)])

    def choose(self, d, data, value):
        if d.form.get("district") != value:
            d.update_form(district=value, village=None)
        return push("reg_village")


@screen
class RegVillage(Screen):
    """Registration: the village, from the district's list."""

    name = "reg_village"

    def view(self, d, data):
        villages = geography.villages_of(d.db, d.form.get("district") or "")
        return View(head=[d.t("ussd.reg.village")], items=[Option(Part(v.name(d.lang)), v.id) for v in villages])

    def choose(self, d, data, value):
        d.update_form(village=value)
        return push("reg_crops")


@screen
class RegCrops(Screen):
    """Registration: crops grown, ticked on and off (``+``), then Done."""

    name = "reg_crops"

    def view(self, d, data):
        picked = set(d.form.get("crops") or [])
        items = [Option(("+" if c.id in picked else "") + c.name(d.lang), c.id) for c in cropmod.crops(d.db)]
        return View(head=[d.t("ussd.reg.crops")], items=items, extras=[Option(d.t("ussd.reg.crops_done"), "done")])

    def choose(self, d, data, value):
        picked = list(d.form.get("crops") or [])
        if value != "done":
            d.update_form(crops=[c for c in picked if c != value] if value in picked else [*picked, value])
            return stay()
        if not picked:
            return stay("ussd.notice.pick_crop")
        d.update_form(crops_done=True)
        return push("reg_land")


@screen
class RegLand(Screen):
    """Registration: land farmed in hectares."""

    name = "reg_land"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("ussd.reg.land")])

    def submit(self, d, data, text):
        try:
            d.update_form(land_m2=farmermod.parse_land_ha(text))
        except Refusal:
            return stay("ussd.notice.invalid")
        return push("reg_confirm")


@screen
class RegConfirm(Screen):
    """Registration: name, village and land; Save registers and queues the SMS receipt."""

    name = "reg_confirm"

    def view(self, d, data):
        form = d.form
        village = d.db.get(geography.Village, form.get("village") or 0)
        land = hectares(form.get("land_m2") or 0, d.lang)
        return View(head=[Part(form.get("name", "")),
                          Part(village.name(d.lang) if village else "", d.t("ussd.reg.summary", village="{}", land=land))],
                    extras=[Option(d.t("ussd.reg.save"), "yes"), Option(d.t("ussd.reg.cancel"), "no")])

    def choose(self, d, data, value):
        if value == "no":
            d.drop_form()
            return home("ussd.notice.cancelled")
        form = d.form
        missing = next_form_screen(form)
        if missing != "reg_confirm":  # never commit a half form
            return push(missing)
        try:
            person = farmermod.register(d.db, phone=d.phone, name=form["name"], gender=form["gender"],
                                        village_id=form["village"], crop_ids=form["crops"],
                                        land_m2=form["land_m2"], language=d.lang, via="ussd")
        except Refusal as exc:
            d.drop_form()
            return d.refusal(exc)
        d.drop_form()
        d.sms(d.t("ussd.sms.registered", name=person.name, code=person.code), farmer_id=person.id)
        return end(d.t("ussd.reg.done", code=person.code))


# -- my group ---------------------------------------------------------------------

def open_group(d: Dialogue) -> Step:
    """The "my group" entry: register first, join, or the group's own menu."""
    person = d.farmer
    if person is None:
        return push("need_register")
    return push("group" if membership.current(d.db, person) else "join")


@screen
class NeedRegister(Screen):
    """My group for a caller without a profile: register first."""

    name = "need_register"

    def view(self, d, data):
        return View(head=[d.t("ussd.group.need_register")], items=[Option(d.t("ussd.main.register"), "register")])

    def choose(self, d, data, value):
        return start_register(d)


@screen
class Join(Screen):
    """My group without a membership: the PGs of the caller's village, or by code."""

    name = "join"

    def view(self, d, data):
        person = d.farmer
        pgs = producer_group.of_village(d.db, person.village_id) if person and person.village_id else []
        return View(head=[d.t("ussd.join.title" if pgs else "ussd.join.none")],
                    items=[Option(Part(pg.name), pg.id) for pg in pgs],
                    extras=[Option(d.t("ussd.join.by_code"), "code")])

    def choose(self, d, data, value):
        return push("join_code") if value == "code" else push("join_confirm", pg=value)


@screen
class JoinCode(Screen):
    """Join by PG code (free text)."""

    name = "join_code"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("ussd.join.code")])

    def submit(self, d, data, text):
        pg = producer_group.by_code(d.db, text)
        return push("join_confirm", pg=pg.id) if pg else stay("ussd.notice.pg_unknown")


@screen
class JoinConfirm(Screen):
    """Join this PG? Queues SMS to the caller and to the PG's EC members."""

    name = "join_confirm"

    def view(self, d, data):
        pg = d.db.get(ProducerGroup, data["pg"])
        return View(head=[Part(_pg_label(pg)), d.t("ussd.join.confirm")], extras=_yes_no(d))

    def choose(self, d, data, value):
        person, pg = d.farmer, d.db.get(ProducerGroup, data["pg"])
        if value == "no":
            return back()
        if person is None:
            return push("need_register")
        before = membership.current(d.db, person)
        if before is not None and before.pg_id == pg.id:  # already asked: nothing new to send
            return end(d.t("ussd.join.sent" if before.status == "pending" else "ussd.join.active"))
        try:
            joined = membership.join(d.db, person, pg)
        except Refusal as exc:
            return d.refusal(exc)
        if joined.status == "active":
            d.sms(d.t("ussd.sms.join_active", pg=pg.code))
            return end(d.t("ussd.join.active"))
        d.sms(d.t("ussd.sms.join_pending", pg=pg.code))
        told = set()
        for _, ec in membership.ec_members(d.db, pg.id):
            if ec.phone not in told:
                told.add(ec.phone)
                d.sms(_t("ussd.sms.join_ec", ec.language, name=person.name, code=person.code, pg=pg.code),
                      kind="notice", phone=ec.phone, farmer_id=ec.id, language=ec.language)
        return end(d.t("ussd.join.sent"))


@screen
class Group(Screen):
    """My group: the pending request's status, or the PG with its committee and Leave."""

    name = "group"

    def view(self, d, data):
        person = d.farmer
        m = membership.current(d.db, person) if person else None
        if m is None:
            return View(head=[d.t("err.not_member")])
        pg = d.db.get(ProducerGroup, m.pg_id)
        if m.status == "pending":
            return View(head=[Part(_pg_label(pg), d.t("ussd.group.pending", pg="{}"))])
        return View(head=[Part(_pg_label(pg))],
                    extras=[Option(d.t("ussd.group.ec"), "ec"), Option(d.t("ussd.group.leave"), "leave")])

    def choose(self, d, data, value):
        return push("ec" if value == "ec" else "leave_confirm")


@screen
class ExecutiveCommittee(Screen):
    """The Executive Committee of the caller's PG: role and name, one per line."""

    name = "ec"

    def view(self, d, data):
        person = d.farmer
        m = membership.current(d.db, person) if person else None
        seats = membership.ec_members(d.db, m.pg_id) if m else []
        lines = [Option(Part(f.name, d.t("ussd.ec.line", role=d.t(f"ussd.role.{s.role}"), name="{}")))
                 for s, f in seats]
        return View(head=[d.t("ussd.ec.title" if seats else "ussd.ec.none")], items=lines, numbered=False)


@screen
class LeaveConfirm(Screen):
    """Leave the PG? (asks first)"""

    name = "leave_confirm"

    def view(self, d, data):
        person = d.farmer
        m = membership.current(d.db, person) if person else None
        if m is None:
            return View(head=[d.t("err.not_member")])
        pg = d.db.get(ProducerGroup, m.pg_id)
        return View(head=[Part(_pg_label(pg)), d.t("ussd.leave.confirm")], extras=_yes_no(d))

    def choose(self, d, data, value):
        if value == "no":
            return back()
        try:
            membership.leave(d.db, d.farmer)
        except Refusal as exc:
            return d.refusal(exc)
        return end(d.t("ussd.leave.done"))


# -- market prices ------------------------------------------------------------------

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


# -- my account -----------------------------------------------------------------------

@screen
class Account(Screen):
    """My account: language, stop or restart SMS."""

    name = "account"

    def view(self, d, data):
        stopped = optout.is_suppressed(d.db, d.phone)
        crops = [Option(d.t("push.ussd.my_crops"), "crops")] if d.farmer is not None else []  # service/ussd_push.py
        return View(items=[Option(d.t("ussd.account.language", name=d.t("lang_name")), "language"),
                           Option(d.t("ussd.account.restart" if stopped else "ussd.account.stop"),
                                  "restart" if stopped else "stop"), *crops])

    def choose(self, d, data, value):
        if value == "crops":
            return push("crops")
        if value == "language":
            return push("language")
        if value == "stop":
            if optout.opt_out(d.db, d.phone, "ussd"):
                d.sms(d.t("ussd.sms.stopped"), kind="stop_confirm")
            return end(d.t("ussd.account.stopped"))
        if optout.opt_in(d.db, d.phone):
            d.sms(d.t("ussd.sms.restarted"), kind="reply")
        return end(d.t("ussd.account.restarted"))


@screen
class Language(Screen):
    """Pick a language; the next screen is already in it."""

    name = "language"

    def view(self, d, data):
        return View(head=[d.t("ussd.account.pick_language")],
                    items=[Option(_t("lang_name", code), code) for code in LANGUAGES])

    def choose(self, d, data, value):
        d.state["lang"] = value
        if d.farmer is not None:
            farmermod.set_language(d.db, d.farmer, value)
        return back("ussd.notice.lang_set")


# ---------------------------------------------------------------------------
# Hops and end-of-session notices
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Hop:
    """One USSD hop as AT posted it: ``phone`` already E.164, ``text`` as received ("" when missing)."""

    session_id: str
    phone: str
    text: str = ""
    service_code: str = ""
    network_code: str = ""


def input_path(text: str, service_code: str) -> str:
    """The caller's inputs in ``text``: ``""`` for a start (empty, or the dialled code with
    or without ``#``); a dial-through (``*384*7*1*2#``) loses the code and ``#``."""
    code = (service_code or "").strip().rstrip("#")
    if text.rstrip("#") in ("", code):
        return ""
    if code and text.startswith(code + "*"):
        return text[len(code) + 1:].removesuffix("#")
    return text


def new_input(last_text: str, text: str, service_code: str) -> list[str] | None:
    """The input a hop adds to the previous one: ``[]`` (nothing new, e.g. a repeated
    start), ``[value]`` (what follows the previous text plus ``*``), or None when
    ``text`` does not continue the previous text."""
    old, new = input_path(last_text, service_code), input_path(text, service_code)
    if new == old:
        return []
    if old == "":
        return [new]
    if new.startswith(old + "*"):
        return [new[len(old) + 1:]]
    return None


def stored_answer(session: Session, session_id: str, text: str) -> str | None:
    """The body already sent for (``session_id``, ``text``), or None (looked up by :func:`text_hash`)."""
    return session.scalar(select(UssdHop.response).where(UssdHop.session_id == session_id,
                                                         UssdHop.text_hash == text_hash(text)))


def over_limit(hop: Hop, service_code: str, *, new_session: bool) -> str | None:
    """Which limit ``hop`` breaks before anything is replayed: ``"text"`` (more than
    :data:`MAX_TEXT_CHARS` characters), ``"steps"`` (a new session whose pre-filled path has
    more than :data:`MAX_DIAL_STEPS` inputs), or None. The hop count of an existing session
    (:data:`MAX_SESSION_HOPS`) is checked by :func:`answer`."""
    if len(hop.text) > MAX_TEXT_CHARS:
        return "text"
    if new_session and input_path(hop.text, service_code).count("*") >= MAX_DIAL_STEPS:
        return "steps"
    return None


def too_long(lang: str) -> str:
    """``END`` "input too long, dial again" in ``lang``."""
    return END + _t("ussd.too_long", lang if lang in LANGUAGES else "tg")


def _language(session: Session, phone: str, row: UssdSession | None, default_language: str) -> str:
    """The caller's language: the session's, else the phone's main profile's, else the default."""
    lang = (row.state or {}).get("lang") if row is not None else None
    if not lang:
        person = farmermod.main_profile(session, phone)
        lang = person.language if person else default_language
    return lang if lang in LANGUAGES else default_language


def caller_language(session: Session, session_id: str, phone: str, default_language: str) -> str:
    """The language to answer a caller in (tg/ru/uz/en): the USSD session's (``session_id``),
    else the main profile's of ``phone`` (E.164, or "" when unknown), else ``default_language``.
    Never raises: when the database cannot be read, ``default_language``."""
    try:
        row = session.get(UssdSession, session_id) if session_id else None
        return _language(session, phone, row, default_language)
    except Exception:
        log.warning("USSD: cannot read the language of session %s", session_id, exc_info=True)
        session.rollback()
        return default_language if default_language in LANGUAGES else "tg"


def _close(row: UssdSession, now: dt.datetime) -> None:
    """Mark the session ended, keeping only its language."""
    row.status, row.ended_at, row.updated_at = "ended", now, now
    row.state = {"lang": row.state["lang"]} if row.state and "lang" in row.state else {}
    flag_modified(row, "state")


def answer(session: Session, hop: Hop, *, default_language: str, service_code: str) -> str:
    """Answer one hop (``CON …``/``END …``) and record it, in the caller's transaction.

    A hop over the limits (:func:`over_limit`) gets :func:`too_long` at once: nothing is
    replayed or stored, an open session is closed. A repeated (``sessionId``, ``text``)
    returns the stored body and changes nothing, also when the session has ended since (the
    session row is read before the stored answer, so a concurrent copy that ends the session
    cannot slip in between); a new text on an ended session gets a short ``END`` asking to
    dial again; the hop after :data:`MAX_SESSION_HOPS` answered hops gets :func:`too_long`
    (stored, the session closed). May raise anything the database raises: the caller rolls
    back and uses :func:`apology` (a copy that lost the race to a unique index finds the
    stored answer there).
    """
    row = session.get(UssdSession, hop.session_id)
    limit = over_limit(hop, service_code, new_session=row is None)
    if limit is not None:
        log.warning("USSD session %s: hop over the %s limit (%d characters), answered END",
                    hop.session_id, limit, len(hop.text))
        lang = _language(session, hop.phone, row, default_language)
        if row is not None and row.status != "ended":
            _close(row, utcnow())
            session.flush()
        return too_long(lang)
    stored = stored_answer(session, hop.session_id, hop.text)
    if stored is not None:
        return stored
    if row is not None and row.status == "ended":
        return END + _t("ussd.dial_again", (row.state or {}).get("lang") or default_language)
    if row is None:
        dialogue = Dialogue.start(session, hop.phone, default_language)
        row = UssdSession(session_id=hop.session_id, phone=hop.phone, service_code=hop.service_code[:40] or None,
                          network_code=hop.network_code[:12] or None, state={}, last_text="")
        session.add(row)
        session.flush()
        body = dialogue.render()
        path = input_path(hop.text, service_code)
        for value in path.split("*") if path else []:  # a dial-through, as if typed hop by hop
            dialogue.feed(value)
            body = dialogue.render()
    elif session.scalar(select(func.count()).select_from(UssdHop)
                        .where(UssdHop.session_id == hop.session_id)) >= MAX_SESSION_HOPS:
        log.warning("USSD session %s: more than %d hops, answered END", hop.session_id, MAX_SESSION_HOPS)
        dialogue = Dialogue(session, row.phone, copy.deepcopy(row.state))
        dialogue.ended = ""
        body = too_long(dialogue.lang)
    else:
        dialogue = Dialogue(session, row.phone, copy.deepcopy(row.state))
        inputs = new_input(row.last_text, hop.text, service_code)
        if inputs is None:
            dialogue.notice = "ussd.notice.invalid"
        for value in inputs or []:
            dialogue.feed(value)
        body = dialogue.render()
    now = utcnow()
    row.farmer_id = dialogue.state.get("farmer")
    row.last_text, row.updated_at = hop.text, now
    row.state = dialogue.state
    flag_modified(row, "state")
    if dialogue.ended is not None:
        _close(row, now)
    session.add(UssdHop(session_id=hop.session_id, text=hop.text, text_hash=text_hash(hop.text), response=body))
    session.flush()
    return body


def unavailable(lang: str) -> str:
    """``END`` "service unavailable" (no session or phone to work with)."""
    return END + _t("ussd.unavailable", lang)


def concurrent_answer(session: Session, hop: Hop) -> str | None:
    """After a failed hop (rolled back): the body a concurrent copy of the same hop stored, or
    None (also when the database cannot be read). A copy that lost the race to a unique index
    (``IntegrityError`` on ``ussd_hop`` or ``ussd_session``) finds the winner's answer here."""
    try:
        return stored_answer(session, hop.session_id, hop.text)
    except Exception:
        session.rollback()
        return None


def apology(session: Session, hop: Hop, default_language: str) -> str:
    """After a failed hop (rolled back): the stored body when a concurrent copy answered
    the same hop (its unique-index race lost, e.g. an ``IntegrityError``), else a polite
    ``END`` in the caller's language."""
    lang = default_language
    try:
        stored = stored_answer(session, hop.session_id, hop.text)
        if stored is not None:
            return stored
        row = session.get(UssdSession, hop.session_id)
        lang = _language(session, hop.phone, row, default_language)
    except Exception:  # the database itself is failing: answer anyway
        log.exception("USSD apology: cannot read session %s", hop.session_id)
    return END + _t("ussd.error", lang if lang in LANGUAGES else default_language)


INT_MAX = 2**31 - 1  # the INTEGER columns of UssdSession


def _int(raw: str | None) -> int | None:
    """A count or duration AT sent as text (``"5"``, ``"1200.0"``); None when missing, not a
    number, or outside 0..INT_MAX (a junk value must not cost the whole record)."""
    try:
        value = int(float((raw or "").strip()))
    except (ValueError, OverflowError):
        return None
    return value if 0 <= value <= INT_MAX else None


def _when(raw: str | None) -> dt.datetime:
    try:
        return dt.datetime.strptime((raw or "").strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return utcnow()


def record_end(session: Session, *, session_id: str, phone: str = "", service_code: str = "",
               network_code: str = "", status: str = "", cost: str = "", duration_ms: str = "",
               hops_count: str = "", final_input: str = "", last_response: str = "", error_message: str = "",
               date: str = "") -> UssdSession:
    """Store AT's end-of-session notice (``docs/gateway-africastalking.md`` §3) on its session (made if new), closing it.

    Every value is the raw string AT posted; numbers are parsed leniently (``"1234"``,
    ``"1234.0"``; else None); ``date`` ``YYYY-MM-DD HH:MM:SS`` is taken as UTC (else now).
    Texts are cut to their columns; ``final_input`` to :data:`MAX_TEXT_CHARS`, ``last_response``
    and ``error_message`` to :data:`MAX_NOTICE_CHARS` characters.
    The dialogue state is purged (the language is kept for a late hop). Logs a
    WARNING when ``status`` is ``Failed``.
    """
    try:
        e164 = to_e164(phone)
    except InvalidPhone:
        e164 = (phone or "").strip()[:20]
    row = session.get(UssdSession, session_id)
    if row is None:
        row = UssdSession(session_id=session_id, phone=e164, state={},
                          last_text=(final_input or "")[:MAX_TEXT_CHARS])
        session.add(row)
    row.service_code = row.service_code or service_code[:40] or None
    row.network_code = row.network_code or network_code[:12] or None
    row.end_status = status.strip()[:16] or None
    row.cost = cost.strip()[:32] or None
    row.duration_ms, row.hops_count = _int(duration_ms), _int(hops_count)
    row.final_input = final_input[:MAX_TEXT_CHARS]
    row.last_response = last_response[:MAX_NOTICE_CHARS] or None
    row.error_message = error_message[:MAX_NOTICE_CHARS] or None
    row.status, row.ended_at, row.updated_at = "ended", _when(date), utcnow()
    row.state = {"lang": row.state["lang"]} if row.state and "lang" in row.state else {}
    if row.end_status == "Failed":
        log.warning("USSD session %s failed at AT: %s", session_id, error_message or "(no errorMessage)")
    session.flush()
    return row


# screens of other modules (they import this one and register in SCREENS): input orders,
# advice and joint sales, my crops (planting dates)
from service.advice import ussd as ussd_advice  # noqa: E402,F401
from service.orders import ussd as ussd_orders
from service.reminders import ussd as ussd_push
