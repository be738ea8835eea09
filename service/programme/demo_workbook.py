"""The demo region as a programme workbook: made from the demo generator, loaded by the importer.

:data:`PATH` (``service/programme/demo-region.xlsx``, shipped in the repository) holds the region of
``service.demo.create_demo`` with :data:`FARMERS` farmers, seed :data:`SEED` and the fixed
:data:`NOW` (81 PGs in 4 clusters, 1,496 farmers, 29% women, 398 EC seats 16% held by women, the VAM
agents serving their districts' villages, the markets and collection centres), plus one lead
farmer with a demonstration plot per cluster (:func:`_lead_farmers`). ``tools/make_demo_workbook.py``
writes it with :func:`build`; a test checks the shipped file equals what :func:`build` gives today.

``flask --app service demo-data`` (default size and seed) loads it with :func:`load`, through the
same import as a staff member's file, then adds what is not programme data (prices, extension
officers: ``service.demo.add_non_programme``).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

PATH = Path(__file__).resolve().parent / "demo-region.xlsx"
SEED = 1
FARMERS = 1496
NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.timezone.utc)
PRACTICES = {"tomato": "drip irrigation and mulching", "onion": "raised beds, bio-fertiliser",
             "rice": "SRI transplanting"}


def _lead_farmers(session: Session) -> None:
    """One lead farmer per cluster (the first ordinary active member of its first PG) with a plot."""
    from service.advice import responders
    from service.advice.demo_plot import DemoPlot
    from service.farmers.models import Farmer
    from service.groups.membership import Membership
    from service.groups.producer_group import ProducerGroup

    clusters = sorted(set(session.scalars(select(ProducerGroup.cluster_id))))
    for cluster in clusters:
        pg = session.scalar(select(ProducerGroup).where(ProducerGroup.cluster_id == cluster)
                            .order_by(ProducerGroup.code).limit(1))
        farmer = session.scalar(select(Farmer).join(Membership, Membership.farmer_id == Farmer.id).where(
            Membership.pg_id == pg.id, Membership.status == "active", Membership.role == "member", Farmer.is_main)
            .order_by(Farmer.id).limit(1))
        if farmer is None:
            continue
        lead = responders.add_lead_farmer(session, farmer, pg=pg)
        crop = cluster.split(".")[0]
        session.add(DemoPlot(lead_id=lead.id, village_id=pg.village_id, crop_id=crop, area_m2=1000,
                             season=NOW.year - 1, practice=PRACTICES.get(crop)))
    session.flush()


def build() -> bytes:
    """The demo workbook as it is written today: the demo generator run in a scratch in-memory
    SQLite database, exported (``service.programme.export``)."""
    from service import demo, features
    from service.db import Base, make_engine, make_sessionmaker
    from service.programme import export

    features.import_models()
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with make_sessionmaker(engine)() as session:
        features.load_reference(session)
        demo.create_demo(session, farmers=FARMERS, seed=SEED, now=NOW, today=NOW.date())
        _lead_farmers(session)
        data = export.rows(session)
    engine.dispose()
    return export.to_xlsx(data)


def load(session: Session, *, actor, today: dt.date):
    """Import :data:`PATH` into ``session`` (not a dry run; the caller commits). Returns the
    :class:`~service.programme.importer.Result`; ``ValueError`` naming the first errors when the
    workbook does not import (a bug: the shipped workbook must always import)."""
    from service.programme import importer, report

    result = importer.run(session, [(PATH.name, PATH.read_bytes())], actor=actor, today=today, dry_run=False,
                          max_bytes=64 * 1024 * 1024)
    if not result.imported:
        first = "; ".join(f"{i.sheet} row {i.row} {i.column}: {report.text(i, 'en')}" for i in result.errors[:5])
        raise ValueError(f"the demo workbook does not import: {first}")
    return result
