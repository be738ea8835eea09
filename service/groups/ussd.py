"""USSD screens of producer groups: my group, joining one, its Executive Committee, leaving.

Menu (screen names in brackets), from the main menu's "My group"::

    [need_register] | [join] -> [join_code] -> [join_confirm]
                    | [group] (pending status; or [ec], [leave_confirm])

The Executive Committee's menu (``committee``, main-menu line 7, shown only to a holder of an
active EC seat) gets "Join requests" from here::

    [committee] -> [ec_requests] -> [ec_request] (Approve | Reject: the applicant is told by
                                   SMS, the other EC members' queued notices are withdrawn)

(the order round lines of that menu are the orders feature's).
"""
from __future__ import annotations

from service.errors import Refusal
from service.groups import committee, membership, producer_group
from service.groups.producer_group import ProducerGroup
from service.farmers.models import Farmer
from service.ussd.engine import Dialogue, MenuEntry, Option, Part, Screen, Screens, Step, View, back, end, push, stay, yes_no

screen = Screens()


def _pg_label(pg: ProducerGroup) -> str:
    return f"{pg.code} {pg.name}"


def _current(d: Dialogue):
    """The caller's current membership (active or pending), or None (no profile, no group)."""
    return membership.current(d.db, d.farmer) if d.farmer else None


def open_group(d: Dialogue) -> Step:
    """The "my group" entry: register first, join, or the group's own menu."""
    person = d.farmer
    if person is None:
        return push("need_register")
    return push("group" if membership.current(d.db, person) else "join")


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
        return View(head=[Part(_pg_label(pg)), d.t("ussd.join.confirm")], extras=yes_no(d))

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
        membership.tell_ec(d.db, pg, person)
        return end(d.t("ussd.join.sent"))


@screen
class Group(Screen):
    """My group: the pending request's status, or the PG with its committee and Leave."""

    name = "group"

    def view(self, d, data):
        m = _current(d)
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
        m = _current(d)
        seats = membership.ec_members(d.db, m.pg_id) if m else []
        lines = [Option(Part(f.name, d.t("ussd.ec.line", role=d.t(f"ussd.role.{s.role}"), name="{}")))
                 for s, f in seats]
        return View(head=[d.t("ussd.ec.title" if seats else "ussd.ec.none")], items=lines, numbered=False)


@screen
class LeaveConfirm(Screen):
    """Leave the PG? (asks first)"""

    name = "leave_confirm"

    def view(self, d, data):
        m = _current(d)
        if m is None:
            return View(head=[d.t("err.not_member")])
        pg = d.db.get(ProducerGroup, m.pg_id)
        return View(head=[Part(_pg_label(pg)), d.t("ussd.leave.confirm")], extras=yes_no(d))

    def choose(self, d, data, value):
        if value == "no":
            return back()
        try:
            committee.leave(d.db, d.farmer, d.today())
        except Refusal as exc:
            return d.refusal(exc)
        return end(d.t("ussd.leave.done"))


# ---- the Executive Committee's menu: join requests (issue 9 item 10) ----

def is_ec(d: Dialogue) -> bool:
    """True when the profile speaking holds an active EC seat (the committee menu is shown)."""
    return d.farmer is not None and membership.ec_seat(d.db, d.farmer) is not None


def _requests_label(d: Dialogue) -> str:
    seat = membership.ec_seat(d.db, d.farmer) if d.farmer else None
    return d.t("ussd.chair.requests", n=len(membership.pending_requests(d.db, seat.pg_id)) if seat else 0)


@screen
class EcRequests(Screen):
    """The PG's pending join requests, oldest first: ``<name> (<member code>)``; a pick opens one."""

    name = "ec_requests"

    def view(self, d, data):
        seat = membership.ec_seat(d.db, d.farmer) if d.farmer else None
        if seat is None:
            return View(head=[d.t("err.not_ec")])
        found = membership.pending_requests(d.db, seat.pg_id)
        return View(head=[d.t("ussd.chair.requests_title" if found else "ussd.chair.requests_none")],
                    items=[Option(Part(f.name, f"{{}} ({f.code})"), m.id) for m, f in found])

    def choose(self, d, data, value):
        return push("ec_request", m=value)


@screen
class EcRequest(Screen):
    """One join request: who and since when; Approve or Reject (by any EC member)."""

    name = "ec_request"

    def view(self, d, data):
        m = d.db.get(membership.Membership, data["m"])
        seat = membership.ec_seat(d.db, d.farmer) if d.farmer else None
        if seat is None or m is None or m.pg_id != seat.pg_id:
            return View(head=[d.t("err.not_ec")])
        person = d.db.get(Farmer, m.farmer_id)
        if m.status != "pending":
            return View(head=[Part(person.name, f"{{}} ({person.code})"), d.t("ussd.chair.decided")])
        asked = d.settings.today(m.requested_at).strftime("%d.%m")
        return View(head=[Part(person.name, f"{{}} ({person.code})"), d.t("ussd.chair.asked", date=asked)],
                    extras=[Option(d.t("ussd.chair.approve"), "yes"), Option(d.t("ussd.chair.reject"), "no")])

    def choose(self, d, data, value):
        m = d.db.get(membership.Membership, data["m"])
        if m is None or d.farmer is None:
            return end(d.t("err.not_ec"))
        person = d.db.get(Farmer, m.farmer_id)
        try:
            m, person, decided = membership.decide(d.db, d.farmer, person.code, accept=value == "yes")
        except Refusal as exc:
            return d.refusal(exc)
        if not decided:
            return end(d.t("ussd.chair.decided"))
        key = "ussd.chair.approved" if m.status == "active" else "ussd.chair.rejected"
        return end(Part(person.name, d.t(key, name="{}")))


ENTRIES = (MenuEntry("main", "group", 10, "ussd.main.group", open_group),
           MenuEntry("main", "committee", 70, "ussd.chair.menu", lambda d: push("committee"), shown=is_ec),
           MenuEntry("committee", "requests", 10, _requests_label, lambda d: push("ec_requests")))
