"""USSD screens of the farmers feature: who is calling on a shared phone, registration, language,
and the My account entries (stop or restart messages).

Menu (screen names in brackets)::

    [who] a phone with several profiles: who is calling? (names, someone new)
    main menu "Register" / "Add a person" -> [reg_resume] -> [reg_name] [reg_gender] [reg_district]
                                       [reg_village] ([reg_village_name]: not listed) [reg_crops]
                                       [reg_land] [reg_confirm]
    [need_register] any entry that needs a profile, for a caller without one
    My account: "Language" -> [language]; "Stop messages" / "Restart messages";
                "My data" (a short screen, the summary by SMS); "Delete my data" -> [delete_confirm]
    main menu of a caller without a profile: "6 Register" and "7 Language" first -> [language]
    (the pick is remembered for the phone: ``service.messaging.language``)

The half-filled registration form is kept in the dialogue state and mirrored in a
:class:`~service.ussd.session.FormDraft` of kind :data:`FORM`, so a dropped session resumes it.
"""
from __future__ import annotations

from sqlalchemy import select

import templates_sms
from service.errors import Refusal
from service.farmers import models as farmermod
from service.farmers.models import Farmer
from service.farmers import privacy
from service.messaging import language as phone_language
from service.messaging import optout
from service.reference import crops as cropmod
from service.reference import geography
from service.reference.names import LANGUAGES, fold
from service.reference.render import hectares
from service.db import utcnow
from service.ussd.engine import Dialogue, MenuEntry, Option, Part, Screen, Screens, Step, View, back, end, home, push, stay
from service.ussd.session import FormDraft

FORM = "register"  # FormDraft.kind of the registration form
screen = Screens()


def draft(d: Dialogue) -> FormDraft | None:
    """The phone's saved registration form, if any."""
    return d.db.scalar(select(FormDraft).where(FormDraft.phone == d.phone, FormDraft.kind == FORM))


def update_form(d: Dialogue, **values) -> None:
    """Set form fields and save the form for a dropped session."""
    d.form.update(values)
    row = draft(d)
    if row is None:
        row = FormDraft(phone=d.phone, kind=FORM)
        d.db.add(row)
    row.data, row.updated_at = dict(d.form), utcnow()


def drop_form(d: Dialogue) -> None:
    """Forget the form and its saved draft."""
    d.state["form"] = {}
    row = draft(d)
    if row is not None:
        d.db.delete(row)


@screen
class Who(Screen):
    """A household phone: who is calling (the profiles, then someone new)."""

    name = "who"

    def view(self, d, data):
        # the member code beside each name: the prefix of an SMS for that person (1207 JOIN VOS03)
        people = [Option(Part(f.name, "{} (" + f.code + ")"), f.id) for f in farmermod.profiles(d.db, d.phone)]
        return View(head=[d.t("ussd.who.title")], items=people, extras=[Option(d.t("ussd.who.new"), "new")])

    def choose(self, d, data, value):
        if value == "new":
            d.state["farmer"] = None
            d.restart("main")
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


def _has(form: dict, key: str) -> bool:
    # a village not in the list counts as the village
    return bool(form.get(key) or (key == "village" and form.get("unlisted_village")))


def next_form_screen(form: dict) -> str:
    """The screen of the first field the form lacks, else the confirmation."""
    return next((name for key, name in FORM_STEPS if not _has(form, key)), "reg_confirm")


def screens_before(screen: str) -> list[str]:
    """The form's screens before ``screen`` (all of them before the confirmation), in order."""
    names = [name for _, name in FORM_STEPS]
    return names[:names.index(screen)] if screen in names else names


def start_register(d: Dialogue) -> Step:
    """Begin registering a person on the caller's phone (offering a saved form first)."""
    if len(farmermod.profiles(d.db, d.phone)) >= farmermod.MAX_PROFILES_PER_PHONE:
        return end(d.t("err.too_many_profiles"))
    saved = draft(d)
    if saved is not None and saved.data:
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
        saved = draft(d)
        if value == "continue" and saved is not None:
            d.state["form"] = dict(saved.data)
            missing = next_form_screen(d.form)
            # 0 then goes to the previous field, as if the form had been filled in this session
            d.restack(screens_before(missing))
            return push(missing)
        drop_form(d)
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
        except Refusal as exc:
            return stay(f"ussd.notice.name_{exc.params.get('reason', 'short')}")
        if any(fold(p.name) == fold(name) for p in farmermod.profiles(d.db, d.phone)):
            return stay("ussd.notice.name_taken")
        update_form(d, name=name)
        return push("reg_gender")


@screen
class RegGender(Screen):
    """Registration: woman or man."""

    name = "reg_gender"

    def view(self, d, data):
        return View(head=[d.t("ussd.reg.gender")],
                    items=[Option(d.t(f"ussd.gender.{g}"), g) for g in farmermod.GENDERS])

    def choose(self, d, data, value):
        update_form(d, gender=value)
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
            update_form(d, district=value, village=None, unlisted_village=None)
        return push("reg_village")


@screen
class RegVillage(Screen):
    """Registration: the village, from the district's list; its last line is "Other village"
    (not listed: typed on :class:`RegVillageName`). The line is last, not an extra of every page,
    so the pages of the list are those they were without it."""

    name = "reg_village"

    def view(self, d, data):
        villages = geography.villages_of(d.db, d.form.get("district") or "")
        return View(head=[d.t("ussd.reg.village")], items=[*(Option(Part(v.name(d.lang)), v.id) for v in villages),
                                                           Option(d.t("ussd.reg.village_other"), "other")])

    def choose(self, d, data, value):
        if value == "other":
            return push("reg_village_name")
        update_form(d, village=value, unlisted_village=None)
        return push("reg_crops")


@screen
class RegVillageName(Screen):
    """Registration: the name of a village that is not in the list (free text), kept as typed for
    staff to review (``Farmer.unlisted_village``)."""

    name = "reg_village_name"
    prompt = True

    def view(self, d, data):
        return View(head=[d.t("ussd.reg.village_name")])

    def submit(self, d, data, text):
        try:
            name = farmermod.clean_village(text)
        except Refusal:
            return stay("ussd.notice.village")
        update_form(d, village=None, unlisted_village=name)
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
            update_form(d, crops=[c for c in picked if c != value] if value in picked else [*picked, value])
            return stay()
        if not picked:
            return stay("ussd.notice.pick_crop")
        update_form(d, crops_done=True)
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
            update_form(d, land_m2=farmermod.parse_land_ha(text))
        except Refusal:
            return stay("ussd.notice.land")
        return push("reg_confirm")


@screen
class RegConfirm(Screen):
    """Registration: name, village and land; Save registers and queues the SMS receipt."""

    name = "reg_confirm"

    def view(self, d, data):
        form = d.form
        village = d.db.get(geography.Village, form.get("village") or 0)
        place = village.name(d.lang) if village else form.get("unlisted_village") or ""
        land = hectares(form.get("land_m2") or 0, d.lang)
        return View(head=[Part(form.get("name", "")),
                          Part(place, d.t("ussd.reg.summary", village="{}", land=land))],
                    extras=[Option(d.t("ussd.reg.save"), "yes"), Option(d.t("ussd.reg.cancel"), "no")])

    def choose(self, d, data, value):
        if value == "no":
            drop_form(d)
            return home("ussd.notice.cancelled")
        form = d.form
        missing = next_form_screen(form)
        if missing != "reg_confirm":  # never commit a half form
            return push(missing)
        try:
            person = farmermod.register(d.db, phone=d.phone, name=form["name"], gender=form["gender"],
                                        village_id=form.get("village"), crop_ids=form["crops"],
                                        land_m2=form["land_m2"], language=d.lang, via="ussd",
                                        unlisted_village=form.get("unlisted_village"), district_id=form.get("district"))
        except Refusal as exc:
            drop_form(d)
            return d.refusal(exc)
        drop_form(d)
        receipt = d.t("ussd.sms.registered", name=person.name, code=person.code, gender=person.gender)
        for text in privacy.receipt_texts(receipt, d.lang):
            d.sms(text, farmer_id=person.id)
        return end(d.t("ussd.reg.done", code=person.code))


# -- language ------------------------------------------------------------------------

@screen
class Language(Screen):
    """Pick a language; the next screen is already in it."""

    name = "language"

    def view(self, d, data):
        return View(head=[d.t("ussd.account.pick_language")],
                    items=[Option(templates_sms.text("lang_name", code), code) for code in LANGUAGES])

    def choose(self, d, data, value):
        d.state["lang"] = value
        if d.farmer is not None:
            farmermod.set_language(d.db, d.farmer, value)
        else:  # not registered (yet): the phone's language, the next dial's and a registration's
            phone_language.remember(d.db, d.phone, value)
        return back("ussd.notice.lang_set")


@screen
class NeedRegister(Screen):
    """An entry that needs a profile, for a caller without one: register first."""

    name = "need_register"

    def view(self, d, data):
        return View(head=[d.t("ussd.group.need_register")], items=[Option(d.t("ussd.main.register"), "register")])

    def choose(self, d, data, value):
        return start_register(d)


# -- my account: stop or restart messages -------------------------------------------

def _stopped(d: Dialogue) -> bool:
    return optout.is_suppressed(d.db, d.phone)


def _stop_or_restart(d: Dialogue) -> Step:
    if not _stopped(d):
        if optout.opt_out(d.db, d.phone, "ussd"):
            d.sms(d.t("ussd.sms.stopped"), kind="stop_confirm")
        return end(d.t("ussd.account.stopped"))
    if optout.opt_in(d.db, d.phone):
        d.sms(d.t("ussd.sms.restarted"), kind="reply", named=False)  # the whole phone's messages
    return end(d.t("ussd.account.restarted"))


def _my_data(d: Dialogue) -> Step:
    """A short screen (code and counts) and the whole summary by SMS."""
    if d.farmer is None:
        return push("need_register")
    s = privacy.summary(d.db, d.farmer)
    d.sms(privacy.fit_summary(s, d.settings.ussd_service_code))
    return end(d.t("farmers.ussd.mydata_shown", code=s.code, orders=s.orders, pledges=s.pledges,
                   questions=s.questions))


@screen
class DeleteConfirm(Screen):
    """Delete my data: are you sure? Yes erases the profile speaking (``privacy.erase``) after
    queueing the last confirmation SMS."""

    name = "delete_confirm"

    def view(self, d, data):
        return View(head=[d.t("farmers.ussd.delete_confirm")],
                    items=[Option(d.t("farmers.ussd.delete_yes"), "yes"), Option(d.t("farmers.ussd.delete_no"), "no")])

    def choose(self, d, data, value):
        farmer = d.farmer
        if value != "yes" or farmer is None:
            return back()
        farewell = d.t("farmers.delete.done")
        privacy.erase(d.db, farmer, now=utcnow(), farewell=farewell)
        d.state.update(farmer=None, form={})
        return end(d.t("farmers.ussd.deleted"))


def _delete(d: Dialogue) -> Step:
    return push("delete_confirm") if d.farmer is not None else push("need_register")


def _language_label(d: Dialogue) -> str:
    return d.t("ussd.account.language", name=d.t("lang_name"))


def _unregistered(d: Dialogue) -> bool:
    return d.farmer is None


#: main menu: the sixth line registers a person ("Register" before the phone has a profile,
#: "Add a person" after), so every number means the same before and after registering; a caller
#: without a profile sees it first, with "7 Language" (in all four languages) under it
ENTRIES = (
    MenuEntry("main", "register", 60, lambda d: d.t("ussd.main.register" if d.farmer is None else "ussd.main.add_person"),
              start_register, lead=_unregistered),
    MenuEntry("main", "language", 70, "ussd.main.language", lambda d: push("language"), shown=_unregistered,
              lead=_unregistered),
    MenuEntry("main", "account", 50, "ussd.main.account", lambda d: push("account")),
    MenuEntry("account", "language", 10, _language_label, lambda d: push("language")),
    MenuEntry("account", "stop", 20, lambda d: d.t("ussd.account.restart" if _stopped(d) else "ussd.account.stop"),
              _stop_or_restart),
    MenuEntry("account", "mydata", 60, "farmers.ussd.mydata", _my_data),
    MenuEntry("account", "delete", 70, "farmers.ussd.delete", _delete),
)

#: My account shows the member code of the profile speaking (the prefix of an SMS for them)
HEADS = {"account": lambda d: [d.t("ussd.account.code", code=d.farmer.code)] if d.farmer is not None else []}
