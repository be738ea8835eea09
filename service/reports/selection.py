"""What the farming reports share (land, collective purchasing, yields; ``docs/staff.md`` §17):
the producer groups a report covers and how its rows roll up.

:func:`select_pgs` takes the PGs of a staff account's :class:`~service.staff.scope.Scope`, narrows
them to the ``district``, ``cluster`` and ``pg`` filters and gives the filter choices; a filter
naming something with no PG in the scope raises :class:`OutOfScope` (the page answers 404).
:func:`season_bounds` turns a season (a local calendar year, ``TIMEZONE``) into UTC instants;
:func:`members_query` selects the memberships counted in a season. :func:`rollup` adds per-PG rows
up per district and cluster and to a total.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.groups.cluster import CommodityCluster
from service.groups.membership import Membership
from service.groups.producer_group import ProducerGroup, normalise_code
from service.reference.geography import District, Village

#: seasons a filter accepts (a year outside is a bad filter)
FIRST_SEASON, LAST_SEASON = 2000, 2100
LOCAL = ZoneInfo("Asia/Dushanbe")


class OutOfScope(LookupError):
    """A filter names a district, cluster or PG with no producer group in the scope, or is no season."""


@dataclass(frozen=True)
class Pg:
    """A PG a report covers: ids, ``code``, ``name``, and where it sits."""

    id: int
    code: str
    name: str
    cluster_id: str
    district_id: str
    village_id: int


@dataclass
class Selection:
    """The PGs after the filters (``pgs``, by code), the names of the scope's districts and clusters
    in the page language, and the filter choices ``[(value, label)]`` within the scope."""

    pgs: list[Pg]
    district_names: dict[str, str] = field(default_factory=dict)
    cluster_names: dict[str, str] = field(default_factory=dict)
    district_choices: list[tuple[str, str]] = field(default_factory=list)
    cluster_choices: list[tuple[str, str]] = field(default_factory=list)
    pg_choices: list[tuple[str, str]] = field(default_factory=list)
    no_cluster: str = "—"

    @property
    def pg_ids(self) -> list[int]:
        """The selected PGs' ids."""
        return [p.id for p in self.pgs]

    @property
    def village_ids(self) -> list[int]:
        """The villages of the selected PGs (sorted, each once)."""
        return sorted({p.village_id for p in self.pgs})


def parse_season(value: str) -> int | None:
    """A season filter (``"2025"``) as an int, None when empty. Raises :class:`OutOfScope` for
    anything but a year from :data:`FIRST_SEASON` to :data:`LAST_SEASON`."""
    value = (value or "").strip()[:8]
    if not value:
        return None
    if not value.isdigit() or not FIRST_SEASON <= int(value) <= LAST_SEASON:
        raise OutOfScope(value)
    return int(value)


def season_bounds(season: int, tz: ZoneInfo = LOCAL) -> tuple[dt.datetime, dt.datetime]:
    """The aware UTC instants where the local year ``season`` starts and the next one starts."""
    start = dt.datetime(season, 1, 1, tzinfo=tz).astimezone(dt.timezone.utc)
    end = dt.datetime(season + 1, 1, 1, tzinfo=tz).astimezone(dt.timezone.utc)
    return start, end


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
    (ids) and ``pg`` (a code; empty: all). Raises :class:`OutOfScope` when a filter has no PG in
    the scope. Three queries (the PGs, the district names, the cluster names)."""
    rows = session.execute(select(ProducerGroup.id, ProducerGroup.code, ProducerGroup.name, ProducerGroup.cluster_id,
                                  ProducerGroup.village_id, Village.district_id)
                           .join(Village, Village.id == ProducerGroup.village_id)
                           .where(scope.pgs()).order_by(ProducerGroup.code)).all()
    pgs = [Pg(r.id, r.code, r.name, r.cluster_id or "", r.district_id, r.village_id) for r in rows]
    district_ids = sorted({p.district_id for p in pgs})
    cluster_ids = sorted({p.cluster_id for p in pgs if p.cluster_id})
    district_names = {d.id: d.name(lang) for d in session.scalars(select(District).where(District.id.in_(district_ids)))}
    cluster_names = {c.id: c.name(lang) for c in session.scalars(
        select(CommodityCluster).where(CommodityCluster.id.in_(cluster_ids)))}
    code = normalise_code(pg) if pg else ""
    if district and district not in district_names:
        raise OutOfScope(district)
    if cluster and cluster not in cluster_names:
        raise OutOfScope(cluster)
    if code and code not in {p.code for p in pgs}:
        raise OutOfScope(code)
    chosen = [p for p in pgs if (not district or p.district_id == district) and (not cluster or p.cluster_id == cluster)
              and (not code or p.code == code)]
    by_name = lambda x: (x[1], x[0])  # noqa: E731
    return Selection(chosen, district_names, cluster_names,
                     sorted(district_names.items(), key=by_name), sorted(cluster_names.items(), key=by_name),
                     [(p.code, f"{p.code} · {p.name}") for p in pgs], no_cluster)


def rollup(sel: Selection, row_of: Callable[[Pg], object], new: Callable[..., object]):
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
