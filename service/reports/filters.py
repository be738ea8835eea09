"""What the stages, messages and active-farmers reports share: their filters (district, cluster,
PG, season) within a staff account's :class:`~service.staff.scope.Scope`, and the local months
(or quarters) of a season as UTC boundaries.

A season is a calendar year in the service's zone (``TIMEZONE``, Asia/Dushanbe). Stored times are
UTC; a row falls in the local month whose UTC start it is at or after and whose UTC end it is
before. :func:`period_index` turns a UTC column into the index of its period with one SQL ``CASE``
over those boundaries, so that a report groups in SQL (``GROUP BY``) on any database and in any
zone, summer time or not.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, or_, select
from sqlalchemy.orm import Session

from service.farmers.models import Farmer
from service.groups.cluster import CommodityCluster
from service.groups.membership import Membership
from service.groups.producer_group import ProducerGroup
from service.reference.geography import District, Village

#: the first season offered (the programme's records start in 2016)
FIRST_SEASON = 2016
#: the longest filter value read from a request, characters
MAX_FILTER_CHARS = 64


class OutOfScope(LookupError):
    """A filter names a district, cluster, PG or season with nothing in the scope (a page: 404)."""


@dataclass(frozen=True)
class PG:
    """A producer group of the selection: ``id``, ``code``, ``name``, ``cluster_id`` ("" for none),
    ``district_id``."""

    id: int
    code: str
    name: str
    cluster_id: str
    district_id: str


@dataclass
class Selection:
    """The filters resolved against the scope.

    ``district``, ``cluster``, ``pg`` (a PG code), ``season`` (a year): the filters as given (""/the
    default season when not given); ``pgs``: the PGs in the scope the filters select;
    ``district_choices``, ``cluster_choices``, ``pg_choices`` (``[(id or code, name)]``) and
    ``season_choices`` (years, newest first): what the filter form offers; ``periods``: the
    season's periods as ``(label, utc_start, utc_end, local_last_day)``, up to the current one;
    ``scope``: the account's scope."""

    scope: object
    district: str
    cluster: str
    pg: str
    season: int
    pgs: list[PG]
    district_choices: list[tuple[str, str]] = field(default_factory=list)
    cluster_choices: list[tuple[str, str]] = field(default_factory=list)
    pg_choices: list[tuple[str, str]] = field(default_factory=list)
    season_choices: list[int] = field(default_factory=list)
    periods: list[tuple[str, dt.datetime, dt.datetime, dt.date]] = field(default_factory=list)

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
                                             Membership.pg_id.in_([p.id for p in self.pgs] or [-1]),
                                             Membership.status.in_(("active", "left")))
        return clause


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


def resolve(session: Session, scope, lang: str, *, zone: ZoneInfo, now: dt.datetime, district: str = "",
            cluster: str = "", pg: str = "", season: str | int = "", quarters: bool = False) -> Selection:
    """Resolve the filters (strings from a request, at most :data:`MAX_FILTER_CHARS` each) within
    ``scope``: district and cluster ids, a PG code, a season year (default: the local year at
    ``now``). Raises :class:`OutOfScope` when one names nothing that has a PG in the scope, or a
    season before :data:`FIRST_SEASON` or after the current one. Three small queries."""
    district, cluster = district.strip().lower()[:MAX_FILTER_CHARS], cluster.strip().lower()[:MAX_FILTER_CHARS]
    pg = pg.strip().upper()[:MAX_FILTER_CHARS]
    this_year = now.astimezone(zone).year
    try:
        year = int(season) if str(season).strip() else this_year
    except ValueError:
        raise OutOfScope(season) from None
    if not FIRST_SEASON <= year <= this_year:
        raise OutOfScope(season)
    rows = session.execute(select(ProducerGroup.id, ProducerGroup.code, ProducerGroup.name, ProducerGroup.cluster_id,
                                  Village.district_id).join(Village, Village.id == ProducerGroup.village_id)
                           .where(scope.pgs()).order_by(ProducerGroup.code)).all()
    every = [PG(r.id, r.code, r.name, r.cluster_id or "", r.district_id) for r in rows]
    district_ids = sorted({p.district_id for p in every} | set(getattr(scope, "district_ids", ()) or ()))
    district_names = {d.id: d.name(lang) for d in session.scalars(select(District).where(District.id.in_(district_ids)))}
    cluster_ids = sorted({p.cluster_id for p in every if p.cluster_id})
    cluster_names = {c.id: c.name(lang) for c in session.scalars(
        select(CommodityCluster).where(CommodityCluster.id.in_(cluster_ids)))}
    if district and district not in district_names:
        raise OutOfScope(district)
    if cluster and cluster not in cluster_names:
        raise OutOfScope(cluster)
    if pg and pg not in {p.code for p in every}:
        raise OutOfScope(pg)
    chosen = [p for p in every if (not district or p.district_id == district) and (not cluster or p.cluster_id == cluster)
              and (not pg or p.code == pg)]
    return Selection(scope=scope, district=district, cluster=cluster, pg=pg, season=year, pgs=chosen,
                     district_choices=sorted(district_names.items(), key=lambda x: (x[1], x[0])),
                     cluster_choices=sorted(cluster_names.items(), key=lambda x: (x[1], x[0])),
                     pg_choices=[(p.code, f"{p.code} · {p.name}") for p in every],
                     season_choices=list(range(this_year, FIRST_SEASON - 1, -1)),
                     periods=months(year, zone, now, quarters))


def tjs(cost: str | None) -> float | None:
    """The amount of a cost as the gateway wrote it when it is in TJS (``"TJS 0.1000"`` → 0.1),
    else None (empty, another currency such as ``"KES 0.10"``, a bare number of unknown currency,
    unreadable)."""
    parts = (cost or "").split()
    if len(parts) != 2 or parts[0].upper() != "TJS":
        return None
    try:
        return float(parts[1])
    except ValueError:
        return None
