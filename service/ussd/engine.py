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

Menus as data: the main menu, My account, the Advice menu and the Executive Committee's menu are :class:`MenuScreen` lists of
the :class:`MenuEntry` lines features contribute (``service/<feature>/ussd.py`` ``ENTRIES``),
numbered in their ``order`` and the same for every caller (a number picks its line from any
page); the screens are the features' own (``screen = Screens()``), handed to a :class:`Ussd`
by the composition root (``service.features.build_ussd``). The engine imports no feature.

Nothing here sends anything: SMS go to the outbox (:func:`service.messaging.message.queue_sms`).
"""
from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

import templates_sms
from service import metrics
from service.errors import Refusal
from service.messaging import language as phone_language
from service.messaging.encoding import fits_ussd, normalise
from service.messaging.message import queue_sms
from service.reference.names import LANGUAGES
from service.reference.phone import InvalidPhone, to_e164
from service.settings import Settings
from service.db import utcnow
from service.ussd.session import UssdHop, UssdSession, text_hash

log = logging.getLogger(__name__)

CON, END = "CON ", "END "
BACK, HOME, MORE, PREV = "0", "00", "98", "99"
#: most options (or information lines) on one screen: docs/message-budgets.md §9.2
MAX_OPTIONS = {"tg": 4, "ru": 4, "uz": 5, "en": 5}

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
    #: the number shown for it in a ``fixed`` list (None: its place in the list)
    number: int | None = None


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
    #: every item keeps its number on every page, and a number picks its item whichever page is
    #: shown (menus: "5" is My account on the first page too)
    fixed: bool = False
    #: the items matter more than the ``00`` and ``99`` hints: on a full page both go before an
    #: item does (a price list: two markets rather than one and the hints; the keys still work)
    dense: bool = False
    #: ``page(items) -> (head, items)``: the head and the items of one page made from the items
    #: on it (a price list dates its head by the page's newest line); None: ``head`` and ``items``
    page: Callable[[list[Option]], tuple[list[str | Part], list[Option]]] | None = None


@dataclass(frozen=True)
class Step:
    """What the engine does after an input: ``go`` is ``push`` (open ``screen`` with
    ``data``), ``stay``, ``back``, ``home`` or ``end`` (close with ``text``);
    ``notice`` is a template key shown above the next screen (with ``params``)."""

    go: str
    screen: str = ""
    data: dict = field(default_factory=dict)
    notice: str = ""
    text: str | Part = ""
    params: dict = field(default_factory=dict)


def push(screen: str, **data) -> Step:
    """Open ``screen`` on top of the current one."""
    return Step("push", screen=screen, data=data)


def stay(notice: str = "", **params) -> Step:
    """Show the current screen again (with a notice: a template key, filled with ``params``)."""
    return Step("stay", notice=notice, params=params)


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
    reminders: the keys work on every screen.) The notice (the reason an input was
    refused) goes above the head, which it never replaces: with fewer hints when needed, then
    fewer items (the others move to the next pages: ``98``), then shorter
    :class:`Part` texts, then without the first lines of a head of several (its last line, the
    question, kept); when even that does not fit, the page is shown without it.
    """
    prefix = END if view.end else CON
    total = len(view.items)
    start = start if 0 <= start < total else 0
    room = max(1, MAX_OPTIONS.get(lang, 4) - len(view.extras))
    most = min(total - start, room)

    def compose(count: int, drop: tuple[str, ...] = (), cut: int | None = None, note: str = "",
                first: int = 0) -> Page:
        lines = [note] if note else []
        head, items = view.head, view.items[start:start + count]
        if view.page is not None and items:
            head, items = view.page(items)
        lines += [_show(h, cut) for h in head[first:]]
        info, options = ([], items + view.extras) if view.numbered else (items, view.extras)
        lines += [_show(o.label, cut) for o in info]
        shown = []
        for opt in options:
            shown.append(opt.value)
            number = opt.number if opt.number is not None else start + len(shown) if view.fixed else len(shown)
            lines.append(f"{number} {_show(opt.label, cut)}")
        if not view.end:
            hints = {"back": not root, "home": not root, "more": start + count < total, "prev": start > 0}
            nav = [_t(f"ussd.nav.{h}", lang) for h in ("back", "home", "more", "prev") if hints[h] and h not in drop]
            if nav:
                lines.append(" ".join(nav))
        return Page(prefix + "\n".join(lines), shown, start, count)

    def fit() -> tuple:
        for count in [*([keep] if 0 < keep <= most else []), *range(most, 0, -1)] or [0]:
            for drop in ((), ("home",), *([("home", "prev")] if view.dense and count > 1 else [])):
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
        # the reason first and the question kept: fewer hints, then fewer items (the rest on the
        # next pages), then shorter names; never the head given up for the notice
        drops = [drop, *(d for d in (("home",), ("home", "prev"), ("home", "prev", "back"))
                         if set(drop) <= set(d) and d != drop)]
        noted = [compose(n, d, cut, note=notice) for n in (range(natural, 0, -1) if natural else [0]) for d in drops]
        labels = [*view.head, *(o.label for o in [*view.items[start:start + max(natural, 1)], *view.extras])]
        longest = max((len(t.value) for t in labels if isinstance(t, Part)), default=0)
        noted += [compose(min(natural, 1), ("home", "prev", "back"), c, note=notice) for c in range(longest - 1, 0, -1)]
        # a head of several lines (a pack and its question): the question, its last line, stays
        noted += [compose(min(natural, 1), d, cut, note=notice, first=k) for k in range(1, len(view.head))
                  for d in drops]
        candidates[:0] = noted
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

    def __init__(self, session: Session, phone: str, state: dict, *, ussd: Ussd, settings: Settings):
        self.db = session
        self.phone = phone
        self.state = state
        self.ussd = ussd
        self.settings = settings
        self.notice = ""
        self.notice_params: dict = {}
        self.ended: str | Part | None = None

    @classmethod
    def start(cls, session: Session, phone: str, *, ussd: Ussd, settings: Settings) -> "Dialogue":
        """A new dialogue for ``phone`` (E.164): who-is-calling (screen ``who``) when the phone
        has several profiles, else the main menu in the profile's language, else the one the
        phone picked before registering (``service.messaging.language``), else the default."""
        found = ussd.directory.profiles(session, phone)
        lang = found[0].language if found else phone_language.remembered(session, phone) or settings.default_language
        state = {"lang": lang if lang in LANGUAGES else "tg", "form": {},
                 "farmer": found[0].id if len(found) == 1 else None,
                 "root": "who" if len(found) > 1 else "main"}
        state["stack"] = [_frame(state["root"])]
        return cls(session, phone, state, ussd=ussd, settings=settings)

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
    def farmer(self):
        """The profile speaking (a ``service.farmers.models.Farmer``), or None (unregistered
        phone or someone new)."""
        fid = self.state.get("farmer")
        found = self.ussd.directory.profile(self.db, fid) if fid else None
        return found if found is not None and found.phone == self.phone else None

    def t(self, key: str, **params) -> str:
        """Template ``key`` in the caller's language (``{ussd}`` is the configured USSD code)."""
        return _t(key, self.lang, ussd=self.settings.ussd_service_code, **params)

    def today(self) -> dt.date:
        """Today's date in the service's ``TIMEZONE``."""
        return self.settings.today(utcnow())

    def restart(self, root: str = "main") -> None:
        """Make ``root`` the bottom of the stack, with nothing above it."""
        self.state.update(root=root, stack=[_frame(root)])

    def restack(self, screens: list[str]) -> None:
        """Make ``screens`` (names, without data) the frames above the root, in order, so that ``0``
        walks back through them (a resumed form: its earlier fields, under the one a push opens)."""
        self.state["stack"] = [self.stack[0], *(_frame(name) for name in screens)]

    def refusal(self, exc: Refusal) -> Step:
        """Close with the text of a domain refusal (a name in it may be shortened)."""
        params = dict(exc.params)
        if "name" in params:
            return end(Part(str(params.pop("name")), self.t(exc.key, name="{}", **params)))
        return end(self.t(exc.key, **params))

    def sms(self, text: str, *, kind: str = "reply", phone: str | None = None, farmer_id: int | None = None,
            language: str | None = None, named: bool | None = None) -> None:
        """Queue an SMS to ``phone`` (default: the caller, for ``farmer_id`` or the profile speaking);
        on a shared phone it names that profile unless ``named`` is False (see ``queue_sms``)."""
        if phone is None and farmer_id is None and self.farmer is not None:
            farmer_id = self.farmer.id
        queue_sms(self.db, phone or self.phone, text, kind=kind, farmer_id=farmer_id, language=language or self.lang,
                  named=named)

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
            screen = self.ussd.screens[frame["s"]]
            if screen.prompt:
                step = screen.submit(self, frame["d"], value) if value else stay("ussd.notice.empty")
            elif frame.get("fixed") and value.isascii() and value.isdigit() and len(value) <= 3 \
                    and 1 <= int(value) <= len(frame["fixed"]):
                step = screen.choose(self, frame["d"], frame["fixed"][int(value) - 1])
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
        self.notice, self.notice_params = step.notice, step.params

    def render(self) -> str:
        """The body for the current screen (``CON``/``END`` + text); records the page shown."""
        notice = self.t(self.notice, **self.notice_params) if self.notice else ""
        self.notice, self.notice_params = "", {}
        if self.ended is not None:
            return layout(View(head=[self.ended], end=True), lang=self.lang).body
        frame = self.stack[-1]
        view = self.ussd.screens[frame["s"]].view(self, frame["d"])
        same = frame["total"] == len(view.items)
        page = layout(view, lang=self.lang, start=frame["start"], notice=notice, root=len(self.stack) == 1,
                      keep=frame["keep"] if same else 0)
        if page.start != frame["start"]:  # the list shrank since: start over
            frame["starts"] = []
        by_number = sorted(enumerate(view.items, 1), key=lambda io: io[1].number or io[0])
        frame.update(start=page.start, count=page.count, keep=page.natural, total=len(view.items), shown=page.shown,
                     fixed=[o.value for _, o in by_number] if view.fixed else None)
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


class Screens:
    """A feature's screens, collected by decorating their classes (``screen = Screens()``,
    then ``@screen class Orders(Screen): ...``); the composition root adds them to a :class:`Ussd`."""

    def __init__(self) -> None:
        self.classes: list[type[Screen]] = []

    def __call__(self, cls: type[Screen]) -> type[Screen]:
        self.classes.append(cls)
        return cls


@dataclass(frozen=True)
class MenuEntry:
    """One line a feature contributes to a menu (:data:`MENUS`).

    ``menu``: one of :data:`MENUS` (``main``, ``account``, ``advice``, ``committee``: the
    Executive Committee's menu); ``key``: the option's value, unique in its menu;
    ``order``: its place (the engine numbers entries in this order: every entry of the main
    menu is shown to every caller, so a number means the same before and after registering);
    ``label``: a template key, or a function of the dialogue giving the text; ``open``: what
    picking it does; ``shown``: whether this caller sees it (only entries after every
    always-shown one may be hidden, so no number shifts); ``lead``: whether it comes first for
    this caller, keeping its number (a caller without a profile sees "6 Register" and "7 Language"
    on the first page of the main menu, above "1 My group").
    """

    menu: str
    key: str
    order: int
    label: str | Callable[["Dialogue"], str]
    open: Callable[["Dialogue"], Step]
    shown: Callable[["Dialogue"], bool] | None = None
    lead: Callable[["Dialogue"], bool] | None = None

    def text(self, d: "Dialogue") -> str:
        """The label for this caller, in their language."""
        return self.label(d) if callable(self.label) else d.t(self.label)

    def visible(self, d: "Dialogue") -> bool:
        """True when this caller sees the entry."""
        return self.shown is None or self.shown(d)


#: the menus features contribute entries to, and the screen showing each
MENUS = {"main": "main", "account": "account", "advice": "advice", "committee": "committee"}


class MenuScreen(Screen):
    """A menu made of the entries features contribute (:class:`MenuEntry`), in their order."""

    prompt = False

    def __init__(self, name: str) -> None:
        self.name = name

    def view(self, d, data):
        head = d.ussd.heads[self.name](d) if self.name in d.ussd.heads else []
        numbered = list(enumerate(d.ussd.entries(self.name, d), 1))
        numbered.sort(key=lambda ne: not (ne[1].lead is not None and ne[1].lead(d)))  # leads first, numbers kept
        return View(head=head, items=[Option(e.text(d), e.key, number=n) for n, e in numbered], fixed=True)

    def choose(self, d, data, value):
        entry = next((e for e in d.ussd.entries(self.name, d) if e.key == value), None)
        return entry.open(d) if entry is not None else stay("ussd.notice.invalid")


@dataclass(frozen=True)
class Directory:
    """How the engine finds who is calling (contributed by the farmers feature).

    ``profiles(session, phone)``: the profiles of an E.164 phone, main profile first (each with
    ``id``, ``phone``, ``language``); ``profile(session, id)``: one profile or None.
    """

    profiles: Callable[[Session, str], list]
    profile: Callable[[Session, int], object]


class Ussd:
    """The USSD application: the screens and menu entries features contribute, and the
    :class:`Directory` of callers. Built once by the composition root (``service.features``);
    read-only afterwards. Raises ``ValueError`` on a screen name or menu key given twice, an
    entry of an unknown menu, or a hidden main-menu entry before a shown one."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.screens: dict[str, Screen] = {name: MenuScreen(name) for name in MENUS.values()}
        self.menus: dict[str, list[MenuEntry]] = {name: [] for name in MENUS}
        #: ``{menu: head(dialogue) -> lines shown above its entries}``
        self.heads: dict[str, Callable[["Dialogue"], list]] = {}

    def add(self, screens: Screens | None = None, entries: tuple[MenuEntry, ...] = (),
            heads: dict[str, Callable[["Dialogue"], list]] | None = None) -> None:
        """Add a feature's screens, menu entries and menu heads (``{menu: head(dialogue) -> lines}``,
        e.g. the member code above My account). Raises ``ValueError`` for a menu head given twice."""
        for menu, head in (heads or {}).items():
            if menu not in self.menus or menu in self.heads:
                raise ValueError(f"menu head {menu!r} unknown or given twice")
            self.heads[menu] = head
        for cls in screens.classes if screens else ():
            if cls.name in self.screens:
                raise ValueError(f"USSD screen {cls.name!r} registered twice")
            self.screens[cls.name] = cls()
        for entry in entries:
            if entry.menu not in self.menus:
                raise ValueError(f"no USSD menu {entry.menu!r}")
            if any(e.key == entry.key for e in self.menus[entry.menu]):
                raise ValueError(f"menu {entry.menu!r} has {entry.key!r} twice")
            self.menus[entry.menu].append(entry)
            self.menus[entry.menu].sort(key=lambda e: e.order)

    def entries(self, menu: str, d: "Dialogue") -> list[MenuEntry]:
        """The entries of ``menu`` this caller sees, in order."""
        return [e for e in self.menus[menu] if e.visible(d)]


def yes_no(d: Dialogue) -> list[Option]:
    """The Yes and No options (values ``"yes"``, ``"no"``) in the caller's language."""
    return [Option(d.t("ussd.yes"), "yes"), Option(d.t("ussd.no"), "no")]


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
        # an empty reply to the first screen, then an input: AT sends "*1" (the empty input first)
        return [new[1:]] if new.startswith("*") else [new]
    if new.startswith(old + "*"):
        return [new[len(old) + 1:]]
    return None


def hop_text(session: Session, *, session_id: str, text: str, service_code: str, history: bool = True,
             has_code: bool = False, starts: bool = False) -> str:
    """The ``text`` :func:`answer` takes (AT's: the session's inputs joined by ``*``) for a
    gateway's raw input (``docs/gateway-ussd-formats.md`` §1–§4).

    ``history`` (the raw input holds every input so far): ``text`` itself, or without the dialled
    ``service_code`` and ``#`` when ``has_code`` (``*415*33*1#`` -> ``33*1``). Latest input only:
    the session's stored ``last_text`` plus ``*`` plus ``text`` (the accumulation the engine keeps
    per session, so a ``*`` typed inside a name stays in the name); the first hop of a session
    (``starts``, or no session row yet) carries the dialled string: its dial-through inputs, or
    ``""``. A latest-input gateway's resent hop cannot be told from the same key typed again:
    it counts as a new input (its copies racing each other still answer once, by the unique hop).
    """
    code = service_code.strip()
    if history:
        return input_path(text, code) if has_code else text
    row = None if starts else session.get(UssdSession, session_id)
    if row is None:
        path = input_path(text.strip(), code)
        return "" if path.startswith("*") or path.endswith("#") else path
    return f"{row.last_text}*{text}" if row.last_text else text


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


def too_long(lang: str, service_code: str = templates_sms.DEFAULT_USSD_CODE) -> str:
    """``END`` "input too long, dial ``service_code`` again" in ``lang``."""
    return END + _t("ussd.too_long", lang if lang in LANGUAGES else "tg", ussd=service_code)


def _language(session: Session, phone: str, row: UssdSession | None, ussd: Ussd, default_language: str) -> str:
    """The caller's language: the session's, else the phone's main profile's, else the one it
    picked before registering, else the default."""
    lang = (row.state or {}).get("lang") if row is not None else None
    if not lang:
        found = ussd.directory.profiles(session, phone) if phone else []
        lang = found[0].language if found else (phone_language.remembered(session, phone) if phone else None)
        lang = lang or default_language
    return lang if lang in LANGUAGES else default_language


def caller_language(session: Session, session_id: str, phone: str, *, ussd: Ussd, default_language: str) -> str:
    """The language to answer a caller in (tg/ru/uz/en): the USSD session's (``session_id``),
    else the main profile's of ``phone`` (E.164, or "" when unknown), else the language the phone
    picked before registering, else ``default_language``.
    Never raises: when the database cannot be read, ``default_language``."""
    try:
        row = session.get(UssdSession, session_id) if session_id else None
        return _language(session, phone, row, ussd, default_language)
    except Exception:
        log.warning("USSD: cannot read the language of session %s", session_id, exc_info=True)
        session.rollback()
        return default_language if default_language in LANGUAGES else "tg"


def _close(row: UssdSession, now: dt.datetime) -> None:
    """Mark the session ended, keeping only its language."""
    row.status, row.ended_at, row.updated_at = "ended", now, now
    row.state = {"lang": row.state["lang"]} if row.state and "lang" in row.state else {}
    flag_modified(row, "state")


def answer(session: Session, hop: Hop, *, ussd: Ussd, settings: Settings) -> str:
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
    default_language, service_code = settings.default_language, settings.ussd_service_code
    row = session.get(UssdSession, hop.session_id)
    limit = over_limit(hop, service_code, new_session=row is None)
    if limit is not None:
        log.warning("USSD session %s: hop over the %s limit (%d characters), answered END",
                    hop.session_id, limit, len(hop.text))
        lang = _language(session, hop.phone, row, ussd, default_language)
        if row is not None and row.status != "ended":
            _close(row, utcnow())
            session.flush()
        metrics.ussd_hop("refused")
        return too_long(lang, service_code)
    stored = stored_answer(session, hop.session_id, hop.text)
    if stored is not None:
        metrics.ussd_hop("repeat")
        return stored
    if row is not None and row.status == "ended":
        metrics.ussd_hop("end")
        return END + _t("ussd.dial_again", (row.state or {}).get("lang") or default_language, ussd=service_code)
    if row is None:
        metrics.ussd_session_started()
        dialogue = Dialogue.start(session, hop.phone, ussd=ussd, settings=settings)
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
        dialogue = Dialogue(session, row.phone, copy.deepcopy(row.state), ussd=ussd, settings=settings)
        dialogue.ended = ""
        body = too_long(dialogue.lang, service_code)
    else:
        dialogue = Dialogue(session, row.phone, copy.deepcopy(row.state), ussd=ussd, settings=settings)
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
    metrics.ussd_hop("end" if dialogue.ended is not None else "continue")
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


def apology(session: Session, hop: Hop, *, ussd: Ussd, default_language: str) -> str:
    """After a failed hop (rolled back): the stored body when a concurrent copy answered
    the same hop (its unique-index race lost, e.g. an ``IntegrityError``), else a polite
    ``END`` in the caller's language."""
    lang = default_language
    try:
        stored = stored_answer(session, hop.session_id, hop.text)
        if stored is not None:
            return stored
        row = session.get(UssdSession, hop.session_id)
        lang = _language(session, hop.phone, row, ussd, default_language)
    except Exception:  # the database itself is failing: answer anyway
        log.exception("USSD apology: cannot read session %s", hop.session_id)
    return END + _t("ussd.error", lang if lang in LANGUAGES else default_language)


def record_end(session: Session, *, session_id: str, phone: str = "", service_code: str = "",
               network_code: str = "", status: str = "", cost: str = "", duration_ms: int | None = None,
               hops_count: int | None = None, final_input: str = "", last_response: str = "",
               error_message: str = "", ended_at: dt.datetime | None = None) -> UssdSession:
    """Store a gateway's end-of-session notice (``docs/gateway-africastalking.md`` §3) on its session
    (made if new), closing it.

    The handler has parsed the wire format: ``duration_ms`` (milliseconds) and ``hops_count`` are
    ints or None, ``ended_at`` an aware UTC datetime or None (now). Texts are cut to their
    columns; ``final_input`` to :data:`MAX_TEXT_CHARS`, ``last_response`` and ``error_message`` to
    :data:`MAX_NOTICE_CHARS` characters. The dialogue state is purged (the language is kept for a
    late hop). Logs a WARNING when ``status`` is ``Failed``.
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
    row.duration_ms, row.hops_count = duration_ms, hops_count
    row.final_input = final_input[:MAX_TEXT_CHARS]
    row.last_response = last_response[:MAX_NOTICE_CHARS] or None
    row.error_message = error_message[:MAX_NOTICE_CHARS] or None
    row.status, row.ended_at, row.updated_at = "ended", ended_at or utcnow(), utcnow()
    row.state = {"lang": row.state["lang"]} if row.state and "lang" in row.state else {}
    if row.end_status == "Failed":
        log.warning("USSD session %s failed at AT: %s", session_id, error_message or "(no errorMessage)")
    session.flush()
    return row
