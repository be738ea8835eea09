"""Broadcasts on the web (``docs/staff.md`` §13): compose, preview, confirm, follow the results.

``GET /staff/broadcasts``: the broadcasts of the account's area (those of SMS ``ALERT`` and of the
CLI too) with status, recipients and delivery rate; drafts marked "awaiting confirmation".
``GET /staff/broadcasts/new`` composes: a text per language, kind, audience (district, cluster,
PG, crop, gender, language, role, PG stage, price digest subscribers), send now or at a Dushanbe
time. ``POST /staff/broadcasts/new`` stores the draft and re-renders the form with the preview
(per language the text as sent, encoding, segments, recipients, cost; quiet hours) and the
confirmation. ``GET /staff/broadcasts/<id>``: a draft's preview and confirmation, a scheduled
one's cancel button, a queued one's results per recipient, counts, the delivery rate chart
(``/<id>/rate.svg``), the CSV (``/<id>/results.csv``) and "resend to the failed". POSTs
``/<id>/confirm``, ``/<id>/cancel``, ``/<id>/resend``. Outside the scope: 404. The rules are in
:mod:`service.broadcasts.staff`.
"""
from __future__ import annotations

import datetime as dt

from flask import abort, g, request
from sqlalchemy import select

from handlers.common import db, field, settings
from handlers.staff import web
from service.broadcasts import staff as bc
from service.broadcasts.broadcast import KINDS, STATUSES, Audience, AudienceError, Broadcast
from service.db import utcnow
from service.errors import Refusal
from service.farmers.models import GENDERS
from service.farmers.records import mask
from service.groups.cluster import CommodityCluster
from service.groups.membership import ROLES as MEMBER_ROLES
from service.groups.producer_group import STAGES, ProducerGroup
from service.reference.crops import crops as all_crops
from service.reference.geography import District
from service.reference.names import LANGUAGES
from service.reports import output

bp = web.blueprint("staff_broadcasts", __name__, "/staff/broadcasts")
web.nav_item("staff_broadcasts.index", "bcast.nav", roles=bc.VIEW_ROLES, order=40)

#: the most fields a compose form is read for
MAX_FIELDS = 300
#: the most characters of the PG codes field
MAX_PG_TEXT = 400
CRITERIA = ("district", "cluster", "crop", "gender", "language", "role", "stage")


def _zone():
    return settings().timezone


def _broadcast(broadcast_id: int) -> Broadcast:
    """The broadcast, or 404 when unknown or outside the scope."""
    row = db().get(Broadcast, broadcast_id)
    if row is None or not bc.in_scope(db(), g.scope, row):
        web.not_found()
    return row


def _choices() -> dict:
    s = db()
    lang = g.lang
    districts = [(d.id, d.name(lang)) for d in s.scalars(select(District).order_by(District.id))
                 if g.scope.covers_district(d.id)]
    clusters = [(c.id, c.name(lang)) for c in s.scalars(select(CommodityCluster).order_by(CommodityCluster.id))
                if g.scope.covers_cluster(c.id)]
    pgs = [code for code in s.scalars(select(ProducerGroup.code).where(g.scope.pgs()).order_by(ProducerGroup.code))]
    return {"district": districts, "cluster": clusters,
            "crop": [(c.id, c.name(lang)) for c in all_crops(s)],
            "gender": [(x, web.t(f"gender.{x}")) for x in GENDERS],
            "language": [(x, web.LANGUAGE_NAMES[x]) for x in LANGUAGES],
            "role": [(x, web.t("bcast.role.member") if x == "member" else web.t(f"seat.{x}")) for x in MEMBER_ROLES]
            + [("ec", web.t("bcast.role.ec"))],
            "stage": [(x, web.t(f"stage.{x}")) for x in STAGES], "pgs": pgs}


def audience_lines(audience: dict) -> list[tuple[str, str]]:
    """The audience as people read it: ``(criterion label, values by their names)`` per criterion."""
    s = db()
    lang = g.lang
    a = Audience.from_dict(audience)

    def named(model, ids):
        return [(row.name(lang) if (row := s.get(model, i)) is not None else i) for i in ids]

    roles = dict(_choices()["role"]) if a.roles else {}
    out = [(web.t("bcast.district"), named(District, a.districts)),
           (web.t("bcast.cluster"), named(CommodityCluster, a.clusters)), (web.t("bcast.pgs"), list(a.pgs)),
           (web.t("bcast.crop"), [c.name(lang) for c in all_crops(s) if c.id in a.crops]),
           (web.t("bcast.gender"), [web.t(f"gender.{x}") for x in a.genders]),
           (web.t("bcast.language"), [web.LANGUAGE_NAMES.get(x, x) for x in a.languages]),
           (web.t("bcast.role"), [roles.get(x, x) for x in a.roles]),
           (web.t("bcast.stage"), [web.t(f"stage.{x}") for x in a.stages])]
    lines = [(label, ", ".join(values)) for label, values in out if values]
    if a.price_subscribers:
        lines.append((web.t("bcast.prices"), "✓"))
    return lines


def _read_form() -> dict:
    """The compose form as typed (lists for the criteria), each value cut to its limit; 400 for
    an oversized form."""
    if len(request.form) > MAX_FIELDS:
        abort(400)
    form = {"texts": {lang: field(f"text_{lang}", free_text=True, limit=bc.MAX_TEXT + 1) for lang in LANGUAGES},
            "kind": field("kind", limit=10) or "broadcast", "pgs": field("pgs", limit=MAX_PG_TEXT + 1),
            "prices": field("prices", limit=4) == "yes", "when": field("when", limit=4) or "now",
            "date": field("date", limit=10), "time": field("time", limit=5), "draft": field("draft", limit=12)}
    for name in CRITERIA:
        values = request.form.getlist(name)
        if len(values) > bc.MAX_VALUES or any(len(v) > 64 for v in values):
            abort(400)
        form[name] = [v.strip() for v in values if v.strip()]
    return form


def _form_of(row: Broadcast) -> dict:
    """The compose form filled from a stored broadcast."""
    a = Audience.from_dict(row.audience)
    local = row.send_at.astimezone(_zone())
    return {"texts": {lang: row.texts.get(lang, "") for lang in LANGUAGES}, "kind": row.kind,
            "pgs": ", ".join(a.pgs), "prices": a.price_subscribers, "when": "now" if bc.sends_now(row) else "at",
            "date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M"), "draft": str(row.id),
            "district": list(a.districts), "cluster": list(a.clusters), "crop": list(a.crops),
            "gender": list(a.genders), "language": list(a.languages), "role": list(a.roles), "stage": list(a.stages)}


def _empty_form() -> dict:
    return {"texts": {lang: "" for lang in LANGUAGES}, "kind": "broadcast", "pgs": "", "prices": False,
            "when": "now", "date": "", "time": "", "draft": "", **{name: [] for name in CRITERIA}}


def _send_at(form: dict) -> dt.datetime | None:
    """The time asked for (aware UTC) or None for "now"; ``Refusal("bcast.err.time")`` when unreadable."""
    if form["when"] != "at":
        return None
    try:
        day = dt.date.fromisoformat(form["date"])
        hours, minutes = (int(x) for x in form["time"].split(":"))
        local = dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=_zone())
    except ValueError:
        raise Refusal("bcast.err.time") from None
    return local.astimezone(dt.timezone.utc)


def _audience(form: dict) -> Audience:
    codes = [c.strip() for c in form["pgs"].replace(";", ",").split(",") if c.strip()]
    if len(form["pgs"]) > MAX_PG_TEXT or len(codes) > bc.MAX_VALUES:
        raise Refusal("bcast.err.too_many_pgs", limit=bc.MAX_VALUES)
    return Audience(districts=tuple(form["district"]), clusters=tuple(form["cluster"]), pgs=tuple(codes),
                    crops=tuple(form["crop"]), genders=tuple(form["gender"]), languages=tuple(form["language"]),
                    roles=tuple(form["role"]), stages=tuple(form["stage"]), price_subscribers=form["prices"])


def _quiet(when: dt.datetime | None, kind: str) -> dict:
    s = settings()
    now = utcnow()
    at = when or now
    return {"start": s.quiet_start.strftime("%H:%M"), "end": s.quiet_end.strftime("%H:%M"),
            "none": s.quiet_start == s.quiet_end,
            "inside": bc.in_quiet_hours(at, s.quiet_start, s.quiet_end, s.timezone),
            "waits": bc.quiet_at(at, kind, s.quiet_start, s.quiet_end, s.timezone), "scheduled": when is not None}


def _compose_page(form: dict, *, preview=None, row=None, error=None, status=200, when=None):
    return web.render("staff/broadcast_new.html", form=form, choices=_choices(), kinds=KINDS, languages=LANGUAGES,
                      preview=preview, row=row, error=error, quiet=_quiet(when, form["kind"]),
                      max_text=bc.MAX_TEXT, max_pg=MAX_PG_TEXT, zone=_zone(), can_send=_can_send()), status


@bp.get("")
def index():
    """The broadcasts of the account's area, newest first (drafts first)."""
    web.require_role(*bc.VIEW_ROLES)
    s = db()
    rows = bc.visible(s, g.scope)
    counts = bc.counts_of(s, [b.id for b in rows if b.status in ("queuing", "queued")])
    drafts = [b for b in rows if b.status == "draft"]
    return web.render("staff/broadcasts.html", rows=rows, drafts=drafts, counts=counts, rate=bc.rate,
                      who=bc.creators(s, rows), zone=_zone(), can_send=_can_send())


def _can_send() -> bool:
    return g.account.role == "admin" or g.account.role in bc.SEND_ROLES


@bp.get("/new")
def new():
    """The compose form (``?draft=<id>`` fills it from a draft, to change it)."""
    web.require_role(*bc.SEND_ROLES)
    draft = request.args.get("draft", "")[:12]
    if draft:
        row = _broadcast(int(draft)) if draft.isdigit() else web.not_found()
        if row.status != "draft":
            web.not_found()
        form = _form_of(row)
        return _compose_page(form, when=row.send_at if form["when"] == "at" else None)
    return _compose_page(_empty_form())


@bp.post("/new")
def preview():
    """Store the draft (new, or the one being changed) and show the form with its preview."""
    web.require_role(*bc.SEND_ROLES)
    s = db()
    form = _read_form()
    draft = None
    if form["draft"]:
        draft = _broadcast(int(form["draft"])) if form["draft"].isdigit() else web.not_found()
    if form["kind"] not in KINDS:
        abort(400)
    now = utcnow()
    try:
        send_at = _send_at(form)
        row = bc.compose(s, g.scope, _audience(form), form["texts"], kind=form["kind"], send_at=send_at,
                         actor=web.actor(), created_by=f"web:{g.account.id}", now=now, draft=draft)
        p = bc.preview(s, Audience.from_dict(row.audience), row.texts, settings().sms_price_tjs)
    except Refusal as refusal:
        s.rollback()
        return _compose_page(form, error=web.refusal_text(refusal), status=400)
    except AudienceError as exc:
        s.rollback()
        what = str(exc).split(":", 1)[-1].strip()  # the values, not the service's English words
        return _compose_page(form, error=web.t("bcast.err.unknown", what=what[:200]), status=400)
    s.commit()
    form["draft"] = str(row.id)
    return _compose_page(form, preview=p, row=row, when=send_at)


@bp.get("/<int:broadcast_id>")
def show(broadcast_id: int):
    """A broadcast: its texts and audience; a draft's preview and confirmation; the results."""
    web.require_role(*bc.VIEW_ROLES)
    s = db()
    row = _broadcast(broadcast_id)
    p = bc.preview(s, Audience.from_dict(row.audience), row.texts, settings().sms_price_tjs) \
        if row.status in ("draft", "scheduled") else None
    res = bc.results(s, row) if row.status in ("queuing", "queued") else None
    form = _form_of(row)
    quiet = _quiet(row.send_at if form["when"] == "at" else None, row.kind)
    description = _description(s, row) if res else ""
    return web.render("staff/broadcast.html", row=row, preview=p, res=res, form=form, quiet=quiet, mask=mask,
                      who=bc.creators(s, [row]), zone=_zone(), description=description, can_send=_can_send(),
                      choices=_choices(), statuses=STATUSES, audience=audience_lines(row.audience))


def _description(s, row: Broadcast) -> str:
    labels, delivered, failed = bc.timeline(s, row, _zone())
    if not labels:
        return web.t("bcast.chart_empty")
    return web.t("bcast.chart_text", start=labels[0], end=labels[-1], delivered=delivered[-1], failed=failed[-1])


@bp.post("/<int:broadcast_id>/confirm")
def confirm(broadcast_id: int):
    """Confirm a draft: send now, or at the Dushanbe time given."""
    web.require_role(*bc.SEND_ROLES)
    s = db()
    row = _broadcast(broadcast_id)
    form = {"when": field("when", limit=4) or "now", "date": field("date", limit=10), "time": field("time", limit=5)}
    now = utcnow()
    try:
        moved = bc.confirm(s, g.scope, row, send_at=_send_at(form), actor=web.actor(), now=now,
                           price_tjs=settings().sms_price_tjs)
    except Refusal as refusal:
        s.rollback()
        return _error_page(row, web.refusal_text(refusal))
    if not moved:
        s.rollback()
        return web.done("bcast.already", "staff_broadcasts.show", broadcast_id=row.id)
    return web.done("bcast.confirmed", "staff_broadcasts.show", broadcast_id=row.id)


def _error_page(row: Broadcast, message: str):
    s = db()
    p = bc.preview(s, Audience.from_dict(row.audience), row.texts, settings().sms_price_tjs) \
        if row.status in ("draft", "scheduled") else None
    form = _form_of(row)
    return web.render("staff/broadcast.html", row=row, preview=p, res=None, form=form, error=message,
                      quiet=_quiet(row.send_at if form["when"] == "at" else None, row.kind), mask=mask,
                      who=bc.creators(s, [row]), zone=_zone(), description="", can_send=_can_send(),
                      choices=_choices(), statuses=STATUSES, audience=audience_lines(row.audience)), 400


@bp.post("/<int:broadcast_id>/cancel")
def cancel(broadcast_id: int):
    """Cancel a scheduled broadcast, or discard a draft."""
    web.require_role(*bc.SEND_ROLES)
    row = _broadcast(broadcast_id)
    if not bc.cancel(db(), row, actor=web.actor()):
        db().rollback()
        return web.done("bcast.not_cancelled", "staff_broadcasts.show", broadcast_id=row.id)
    return web.done("bcast.cancelled", "staff_broadcasts.show", broadcast_id=row.id)


@bp.post("/<int:broadcast_id>/resend")
def resend(broadcast_id: int):
    """Resend to the phones whose message failed, once per round (a double submit adds nothing)."""
    web.require_role(*bc.SEND_ROLES)
    s = db()
    row = _broadcast(broadcast_id)
    round_no = field("round", limit=6)
    if not round_no.isdigit() or int(round_no) < 1:
        abort(400)
    try:
        written = bc.resend_failed(s, row, int(round_no), actor=web.actor(), now=utcnow())
    except Refusal as refusal:
        s.rollback()
        return _error_page(row, web.refusal_text(refusal))
    return web.done("bcast.resent" if written else "bcast.resent_none", "staff_broadcasts.show",
                    broadcast_id=row.id)


@bp.get("/<int:broadcast_id>/rate.svg")
def rate_svg(broadcast_id: int):
    """The delivery rate over time as an SVG line chart (delivered and failed, % of the phones)."""
    web.require_role(*bc.VIEW_ROLES)
    s = db()
    row = _broadcast(broadcast_id)
    labels, delivered, failed = bc.timeline(s, row, _zone())
    svg = output.line_chart(labels, [(web.t("bcast.result.delivered"), delivered),
                                     (web.t("bcast.result.failed"), failed)],
                            axis_label=web.t("bcast.chart_axis"), description=_description(s, row))
    return web.svg(svg)


@bp.get("/<int:broadcast_id>/results.csv")
def results_csv(broadcast_id: int):
    """The per-recipient results as CSV (phones masked, times in Dushanbe)."""
    web.require_role(*bc.VIEW_ROLES)
    s = db()
    row = _broadcast(broadcast_id)
    res = bc.results(s, row)
    zone = _zone()

    def local(at):
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else ""

    header = [web.t(f"bcast.col.{c}") for c in ("phone", "name", "code", "language", "result", "state", "reason",
                                                 "sent_at", "delivered_at", "attempts")]
    rows = [[mask(r.phone), r.name or "", r.code or "", r.language or "", web.t(f"bcast.result.{r.result}"),
             r.state, r.reason or "", local(r.sent_at), local(r.delivered_at), r.attempts] for r in res.recipients]
    return web.download(output.to_csv(header, rows), "csv", f"broadcast-{row.id}")
