"""What every report shares (gender, land, purchasing, yields, stages, messages, active farmers;
``docs/staff.md`` §17, §18): the producer groups it covers, its season and how its rows roll up.

:func:`select_pgs` takes the PGs of a staff account's :class:`~service.staff.scope.Scope`, narrows
them to the ``district``, ``cluster`` and ``pg`` filters and gives the filter choices; a filter
naming something with no PG in the scope raises :class:`OutOfScope` (the page answers 404).
:func:`resolve` adds a season and its local months (or quarters) for the activity reports.

A season is a calendar year in the service's zone (``TIMEZONE``, Asia/Dushanbe); :func:`parse_season`
reads one (:data:`FIRST_SEASON` to the current year, the one rule for every report);
:func:`season_bounds` turns it into UTC instants, :func:`months` into UTC month boundaries.
Stored times are UTC; a row falls in the local month whose UTC start it is at or after and whose
UTC end it is before. :func:`period_index` turns a UTC column into the index of its period with
one SQL ``CASE`` over those boundaries, so that a report groups in SQL on any database and in any
zone. :func:`members_query` selects the memberships counted in a season; :func:`rollup` adds
per-PG rows up per district and cluster and to a total.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, or_, select
from sqlalchemy.orm import Session

from service.farmers.models import Farmer
from service.groups.cluster import CommodityCluster
from service.groups.membership import Membership
from service.groups.producer_group import ProducerGroup, normalise_code
from service.reference.geography import District, Village

#: the first season a filter accepts (the programme's records start in 2016); the last is the
#: current local year
FIRST_SEASON = 2016
#: the longest filter value read from a request, characters
MAX_FILTER_CHARS = 64
LOCAL = ZoneInfo("Asia/Dushanbe")


class OutOfScope(LookupError):
    """A filter names a district, cluster or PG with no producer group in the scope, or is no
    season (a page: 404)."""


@dataclass(frozen=True)
class PG:
    """A producer group a report covers: ``id``, ``code``, ``name``, ``cluster_id`` ("" for none),
    ``district_id``, ``village_id``."""

    id: int
    code: str
    name: str
    cluster_id: str
    district_id: str
    village_id: int | None = None


@dataclass
class Selection:
    """The filters resolved against the scope.

    ``pgs``: the PGs in the scope the filters select (by code); ``scope``: the account's scope;
    ``district``, ``cluster`` (ids), ``pg`` (a PG code), ``season`` (a year, None for none): the
    filters as given, normalised; ``district_names``, ``cluster_names``: the scope's districts and
    clusters in the page language; ``district_choices``, ``cluster_choices``, ``pg_choices``
    (``[(id or code, name)]``) and ``season_choices`` (years, newest first): what the filter form
    offers; ``periods``: the season's periods as ``(label, utc_start, utc_end, local_last_day)``,
    up to the current one (:func:`resolve` only); ``no_cluster``: the name of PGs of no cluster."""

    pgs: list[PG]
    scope: object = None
    district: str = ""
    cluster: str = ""
    pg: str = ""
    season: int | None = None
    district_names: dict[str, str] = field(default_factory=dict)
    cluster_names: dict[str, str] = field(default_factory=dict)
    district_choices: list[tuple[str, str]] = field(default_factory=list)
    cluster_choices: list[tuple[str, str]] = field(default_factory=list)
    pg_choices: list[tuple[str, str]] = field(default_factory=list)
    season_choices: list[int] = field(default_factory=list)
    periods: list[tuple[str, dt.datetime, dt.datetime, dt.date]] = field(default_factory=list)
    no_cluster: str = "—"

    @property
    def pg_ids(self) -> list[int]:
        """The selected PGs' ids."""
        return [p.id for p in self.pgs]

    @property
    def village_ids(self) -> list[int]:
        """The villages of the selected PGs (sorted, each once)."""
        return sorted({p.village_id for p in self.pgs})

    @property
    def narrowed(self) -> bool:
        """True when a district, cluster or PG filter is set (rows of no farmer then never count)."""
        return bool(self.district or self.cluster or self.pg)

    @property
    def start(self) -> dt.datetime:
        """The UTC start of the first period."""
        return self.periods[0][1]

    @property
    def end(self) -> dt.datetime:
        """The UTC end (excluded) of the last period."""
        return self.periods[-1][2]

    def farmers(self):
        """A WHERE clause on ``Farmer``: the farmers in the scope that the filters select. A
        district selects the farmers living there (their village's district, or the district they
        typed with an unlisted village); a cluster or PG the farmers who are or were members
        (``active`` or ``left``) of a selected PG."""
        clause = self.scope.farmers()
        if self.district:
            clause = clause & or_(
                Farmer.village_id.in_(select(Village.id).where(Village.district_id == self.district)),
                Farmer.village_id.is_(None) & (Farmer.unlisted_district_id == self.district))
        if self.cluster or self.pg:
            clause = clause & exists().where(Membership.farmer_id == Farmer.id,
                                             Membership.pg_id.in_(self.pg_ids or [-1]),
                                             Membership.status.in_(("active", "left")))
        return clause


def this_season(now: dt.datetime | None = None, zone: ZoneInfo = LOCAL) -> int:
    """The local year at ``now`` (aware; default: the current time)."""
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).year


def parse_season(value: str | int | None, *, now: dt.datetime | None = None, zone: ZoneInfo = LOCAL) -> int | None:
    """A season filter (``"2025"``) as an int, None when empty. Raises :class:`OutOfScope` for
    anything but a year from :data:`FIRST_SEASON` to the local year at ``now`` (aware; default:
    the current time)."""
    value = str(value if value is not None else "").strip()[:8]
    if not value:
        return None
    if not value.isdigit() or not FIRST_SEASON <= int(value) <= this_season(now, zone):
        raise OutOfScope(value)
    return int(value)


def season_bounds(season: int, tz: ZoneInfo = LOCAL) -> tuple[dt.datetime, dt.datetime]:
    """The aware UTC instants where the local year ``season`` starts and the next one starts."""
    start = dt.datetime(season, 1, 1, tzinfo=tz).astimezone(dt.timezone.utc)
    end = dt.datetime(season + 1, 1, 1, tzinfo=tz).astimezone(dt.timezone.utc)
    return start, end


def months(season: int, zone: ZoneInfo, now: dt.datetime, quarters: bool = False
           ) -> list[tuple[str, dt.datetime, dt.datetime, dt.date]]:
    """The months (``quarters``: the quarters) of the local year ``season`` that have begun by
    ``now`` (aware): ``[(label "2025-03" or "2025 Q1", utc_start, utc_end, local last day)]``."""
    step = 3 if quarters else 1
    out = []
    for first in range(1, 13, step):
        start = dt.datetime(season, first, 1, tzinfo=zone)
        nxt = dt.datetime(season + (first + step > 12), (first + step - 1) % 12 + 1, 1, tzinfo=zone)
        if start > now:
            break
        label = f"{season} Q{(first - 1) // 3 + 1}" if quarters else f"{season}-{first:02d}"
        out.append((label, start.astimezone(dt.timezone.utc), nxt.astimezone(dt.timezone.utc),
                    (nxt - dt.timedelta(days=1)).date()))
    return out


def period_index(column, periods):
    """A SQL expression: the index of the period of ``periods`` (:func:`months`) that the UTC
    ``column`` falls in (NULL before the first or from the end of the last)."""
    return case(*[(column < end, i) for i, (_, _, end, _) in enumerate(periods)], else_=None)


def in_periods(column, periods):
    """A WHERE clause: ``column`` (UTC) within ``periods``."""
    return (column >= periods[0][1]) & (column < periods[-1][2])


def members_query(columns, pg_ids: list[int], season: int | None):
    """A SELECT of ``columns`` over the memberships a report counts in the PGs ``pg_ids``: without a
    season the active ones; in a season the memberships that were active at some time in it
    (joined before it ended, not left before it began: active or since left)."""
    q = select(*columns).where(Membership.pg_id.in_(pg_ids))
    if season is None:
        return q.where(Membership.status == "active")
    start, end = season_bounds(season)
    return q.where(Membership.status.in_(("active", "left")), Membership.joined_at.is_not(None),
                   Membership.joined_at < end, Membership.left_at.is_(None) | (Membership.left_at >= start))


def select_pgs(session: Session, scope, lang: str = "en", *, district: str = "", cluster: str = "", pg: str = "",
               no_cluster: str = "—") -> Selection:
    """The :class:`Selection` of the PGs ``scope`` covers narrowed to ``district``, ``cluster``
    (ids, any case) and ``pg`` (a code, any case, spaces or dashes; empty: all), each read to
    :data:`MAX_FILTER_CHARS` characters. The district choices are the districts of the scope's PGs
    and those the scope names. Raises :class:`OutOfScope` when a filter has nothing in the scope.
    Three queries (the PGs, the district names, the cluster names)."""
    district = (district or "").strip().lower()[:MAX_FILTER_CHARS]
    cluster = (cluster or "").strip().lower()[:MAX_FILTER_CHARS]
    code = normalise_code((pg or "")[:MAX_FILTER_CHARS])
    rows = session.execute(select(ProducerGroup.id, ProducerGroup.code, ProducerGroup.name, ProducerGroup.cluster_id,
                                  Village.district_id, ProducerGroup.village_id)
                           .join(Village, Village.id == ProducerGroup.village_id)
                           .where(scope.pgs()).order_by(ProducerGroup.code)).all()
    every = [PG(r.id, r.code, r.name, r.cluster_id or "", r.district_id, r.village_id) for r in rows]
    district_ids = sorted({p.district_id for p in every} | set(getattr(scope, "district_ids", ()) or ()))
    cluster_ids = sorted({p.cluster_id for p in every if p.cluster_id})
    district_names = {d.id: d.name(lang) for d in session.scalars(select(District).where(District.id.in_(district_ids)))}
    cluster_names = {c.id: c.name(lang) for c in session.scalars(
        select(CommodityCluster).where(CommodityCluster.id.in_(cluster_ids)))}
    if district and district not in district_names:
        raise OutOfScope(district)
    if cluster and cluster not in cluster_names:
        raise OutOfScope(cluster)
    if code and code not in {p.code for p in every}:
        raise OutOfScope(code)
    chosen = [p for p in every if (not district or p.district_id == district) and (not cluster or p.cluster_id == cluster)
              and (not code or p.code == code)]
    by_name = lambda x: (x[1], x[0])  # noqa: E731
    return Selection(chosen, scope, district, cluster, code, None, district_names, cluster_names,
                     sorted(district_names.items(), key=by_name), sorted(cluster_names.items(), key=by_name),
                     [(p.code, f"{p.code} · {p.name}") for p in every], no_cluster=no_cluster)


def resolve(session: Session, scope, lang: str, *, zone: ZoneInfo, now: dt.datetime, district: str = "",
            cluster: str = "", pg: str = "", season: str | int = "", quarters: bool = False) -> Selection:
    """:func:`select_pgs` with a season (:func:`parse_season`; default: the local year at ``now``),
    the seasons offered (newest first) and the season's :func:`months` (``quarters``: quarters)
    begun by ``now``. Raises :class:`OutOfScope` for a filter outside the scope or a bad season."""
    year = parse_season(season, now=now, zone=zone) or this_season(now, zone)
    sel = select_pgs(session, scope, lang, district=district, cluster=cluster, pg=pg)
    sel.season = year
    sel.season_choices = list(range(this_season(now, zone), FIRST_SEASON - 1, -1))
    sel.periods = months(year, zone, now, quarters)
    return sel


def rollup(sel: Selection, row_of: Callable[[PG], object], new: Callable[..., object]):
    """``(total, districts, clusters, pgs)``: ``row_of(pg)`` for each selected PG, added (``add``)
    into a row per district and per cluster (``new(level, key, name, district_id, cluster_id)``)
    and into the total; districts and clusters sorted by name."""
    total = new("total", "", "", "", "")
    districts: dict[str, object] = {}
    clusters: dict[str, object] = {}
    rows = []
    for p in sel.pgs:
        row = row_of(p)
        rows.append(row)
        total.add(row)
        districts.setdefault(p.district_id, new("district", p.district_id,
                                                sel.district_names.get(p.district_id, p.district_id),
                                                p.district_id, "")).add(row)
        clusters.setdefault(p.cluster_id, new("cluster", p.cluster_id,
                                              sel.cluster_names.get(p.cluster_id, sel.no_cluster),
                                              p.district_id, p.cluster_id)).add(row)
    order = lambda r: (r.name, r.key)  # noqa: E731
    return total, sorted(districts.values(), key=order), sorted(clusters.values(), key=order), rows


def pct(part, whole) -> int:
    """``part`` as a whole percentage of ``whole``, rounded half up (the case study's rounding;
    0 when ``whole`` is 0). Exact for ints and Fractions."""
    if not whole:
        return 0
    return math.floor(Fraction(part) * 100 / Fraction(whole) + Fraction(1, 2))


@dataclass
class Line:
    """The head of a rolled-up report line: ``level`` (``total``/``district``/``cluster``/``pg``),
    ``key`` (district id, cluster id, ``""`` for PGs of no cluster, or PG code), ``name`` in the
    page language, ``district_id``/``cluster_id`` where it sits. A report's row adds its counts as
    further fields; :meth:`add` sums every field after these five (numbers)."""

    level: str
    key: str
    name: str
    district_id: str = ""
    cluster_id: str = ""

    def add(self, other: "Line") -> None:
        """Add ``other``'s counts to this row's."""
        for f in fields(self)[5:]:
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Rolled:
    """A report rolled up by :func:`rollup`: ``total``, ``districts``, ``clusters``, ``pgs`` (rows),
    the ``selection``, the ``season`` asked for (None: none) and the ``seasons`` a filter offers
    (years, newest first)."""

    total: Line
    districts: list
    clusters: list
    pgs: list
    selection: Selection
    season: int | None = None
    seasons: tuple[int, ...] = ()

    def rows(self) -> list:
        """Every row for a download: the total, then districts, clusters, PGs."""
        return [self.total, *self.districts, *self.clusters, *self.pgs]


def chart_rows(rep) -> list:
    """The rows a report's chart draws: the clusters (the districts when there is only one cluster
    and several districts), then the total."""
    rows = rep.clusters if len(rep.clusters) > 1 or len(rep.districts) <= 1 else rep.districts
    return [*rows, rep.total]
