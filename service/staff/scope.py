"""The area a staff account covers, resolved once per request or command (``docs/staff.md`` §2).

:func:`of` turns an account's role and scope rows into a :class:`Scope`: the districts, clusters,
villages, producer groups and markets it covers. Pages, SMS commands and CLI actions ask the scope
before they show or change anything; what is outside it is treated as absent (a page answers 404).

What each role covers:

* ``admin``: everything (``Scope.everything``);
* ``extension_officer``: their districts, every village, PG, cluster and market in them, and the
  farmers living there (or registered under the district with an unlisted village);
* ``cluster_coordinator``: their clusters, the cluster's PGs and their villages and members, the
  cluster's district markets;
* ``vam_agent``: their villages, the PGs there and the farmers living there;
* ``pg_leader``: their PG, its village and its members;
* ``market_reporter``: their markets only (no farmer, no PG).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import Session

from service.errors import Refusal


@dataclass(frozen=True)
class Scope:
    """The resolved area of one account. ``everything``: an administrator; the sets hold ids
    (``district_ids``, ``cluster_ids``: str; ``village_ids``, ``pg_ids``, ``market_ids``: int)."""

    role: str
    everything: bool = False
    district_ids: frozenset = field(default_factory=frozenset)
    cluster_ids: frozenset = field(default_factory=frozenset)
    village_ids: frozenset = field(default_factory=frozenset)
    pg_ids: frozenset = field(default_factory=frozenset)
    market_ids: frozenset = field(default_factory=frozenset)
    #: farmers are covered by where they live (True) or only by membership of ``pg_ids`` (False)
    by_village: bool = True

    def farmers(self) -> ColumnElement[bool]:
        """A WHERE clause on ``Farmer`` selecting the farmers this scope covers."""
        from service.farmers.models import Farmer
        from service.groups.membership import Membership

        if self.everything:
            return true()
        parts = []
        if self.by_village and self.village_ids:
            parts.append(Farmer.village_id.in_(sorted(self.village_ids)))
        if self.by_village and self.district_ids:
            parts.append(Farmer.village_id.is_(None) & Farmer.unlisted_district_id.in_(sorted(self.district_ids)))
        if self.pg_ids:
            parts.append(exists().where(Membership.farmer_id == Farmer.id, Membership.pg_id.in_(sorted(self.pg_ids))))
        return or_(*parts) if parts else false()

    def pgs(self) -> ColumnElement[bool]:
        """A WHERE clause on ``ProducerGroup`` selecting the PGs this scope covers."""
        from service.groups.producer_group import ProducerGroup

        if self.everything:
            return true()
        return ProducerGroup.id.in_(sorted(self.pg_ids)) if self.pg_ids else false()

    def covers_farmer(self, session: Session, farmer_id: int) -> bool:
        """True when the farmer with this id exists and is in the scope."""
        from service.farmers.models import Farmer

        return session.scalar(select(Farmer.id).where(Farmer.id == farmer_id, self.farmers())) is not None

    def covers_pg(self, pg_id: int) -> bool:
        """True when the PG with this id is in the scope."""
        return self.everything or pg_id in self.pg_ids

    def covers_district(self, district_id: str) -> bool:
        """True when the whole district is in the scope (an administrator, or its extension officer)."""
        return self.everything or district_id in self.district_ids

    def covers_cluster(self, cluster_id: str) -> bool:
        """True when the whole cluster is in the scope."""
        return self.everything or cluster_id in self.cluster_ids

    def covers_village(self, village_id: int) -> bool:
        """True when the village is in the scope."""
        return self.everything or village_id in self.village_ids

    def covers_market(self, market_id: int) -> bool:
        """True when the market's prices are in the scope."""
        return self.everything or market_id in self.market_ids


def area_names(session: Session, rows, lang: str) -> list[str]:
    """How a person names the areas of an account's scope ``rows`` (:class:`StaffScope`-like, with
    ``kind`` and ``ref``) in ``lang``: districts, clusters and villages by their names, PG and market
    codes as they are; a ref no longer in the reference stays as its id. In the rows' order."""
    from service.groups.cluster import CommodityCluster
    from service.reference.geography import District, Village

    models = {"district": District, "cluster": CommodityCluster, "village": Village}
    out = []
    for row in rows:
        model = models.get(row.kind)
        found = None
        if model is Village:
            found = session.get(Village, int(row.ref)) if row.ref.isdigit() else None
        elif model is not None:
            found = session.get(model, row.ref)
        out.append(found.name(lang) if found is not None else row.ref)
    return out


def check_ref(session: Session, kind: str, ref: str) -> str:
    """The stored form of a scope row's ``ref`` of ``kind``, checked to exist; raises
    ``Refusal("staff.err.scope_unknown", ref=...)`` otherwise. PG and market codes are upper-cased."""
    from service.groups.cluster import CommodityCluster
    from service.groups.producer_group import ProducerGroup, normalise_code
    from service.prices.market import Market
    from service.reference.geography import District, Village

    ref = (ref or "").strip()
    found = None
    if kind == "district":
        ref = ref.lower()
        found = session.get(District, ref)
    elif kind == "cluster":
        ref = ref.lower()
        found = session.get(CommodityCluster, ref)
    elif kind == "village":
        found = session.get(Village, int(ref)) if ref.isdigit() else None
    elif kind == "pg":
        ref = normalise_code(ref)
        found = session.scalar(select(ProducerGroup.id).where(ProducerGroup.code == ref))
    elif kind == "market":
        ref = ref.upper()
        found = session.scalar(select(Market.id).where(Market.code == ref))
    else:
        raise ValueError(f"unknown scope kind {kind!r}")
    if found is None:
        raise Refusal("staff.err.scope_unknown", ref=ref[:64])
    return ref


def of(session: Session, account) -> Scope:
    """The :class:`Scope` of a :class:`~service.staff.accounts.StaffAccount` (its role and scope
    rows, resolved to ids; rows naming something that no longer exists cover nothing)."""
    from service.groups.cluster import CommodityCluster
    from service.groups.producer_group import ProducerGroup
    from service.prices.market import Market
    from service.reference.geography import Village

    role = account.role
    if role == "admin":
        return Scope(role=role, everything=True)
    refs = account.scope_refs
    if role == "extension_officer":
        districts = frozenset(refs)
        villages = frozenset(session.scalars(select(Village.id).where(Village.district_id.in_(refs))))
        return Scope(role=role, district_ids=districts, village_ids=villages,
                     cluster_ids=frozenset(session.scalars(select(CommodityCluster.id).where(
                         CommodityCluster.district_id.in_(refs)))),
                     pg_ids=frozenset(session.scalars(select(ProducerGroup.id).where(
                         ProducerGroup.village_id.in_(sorted(villages))))) if villages else frozenset(),
                     market_ids=frozenset(session.scalars(select(Market.id).where(Market.district_id.in_(refs)))))
    if role == "cluster_coordinator":
        pgs = session.execute(select(ProducerGroup.id, ProducerGroup.village_id).where(
            ProducerGroup.cluster_id.in_(refs))).all()
        districts = list(session.scalars(select(CommodityCluster.district_id).where(CommodityCluster.id.in_(refs))))
        return Scope(role=role, cluster_ids=frozenset(refs), pg_ids=frozenset(p.id for p in pgs),
                     village_ids=frozenset(p.village_id for p in pgs), by_village=False,
                     market_ids=frozenset(session.scalars(select(Market.id).where(Market.district_id.in_(districts)))))
    if role == "vam_agent":
        villages = frozenset(int(r) for r in refs if r.isdigit())
        return Scope(role=role, village_ids=villages,
                     pg_ids=frozenset(session.scalars(select(ProducerGroup.id).where(
                         ProducerGroup.village_id.in_(sorted(villages))))))
    if role == "pg_leader":
        pgs = session.execute(select(ProducerGroup.id, ProducerGroup.village_id).where(
            ProducerGroup.code.in_(refs))).all()
        return Scope(role=role, pg_ids=frozenset(p.id for p in pgs), village_ids=frozenset(p.village_id for p in pgs),
                     by_village=False)
    if role == "market_reporter":
        return Scope(role=role, market_ids=frozenset(session.scalars(select(Market.id).where(Market.code.in_(refs)))))
    raise ValueError(f"unknown role {role!r}")


def require(scope: Scope, covered: bool) -> None:
    """Raise ``Refusal("staff.err.out_of_scope")`` unless ``covered`` (a ``Scope.covers_*`` answer)."""
    if not covered:
        raise Refusal("staff.err.out_of_scope")
