"""Commodity clusters: the PGs growing one commodity in one district.

Source: ``docs/programme.md`` §5 (tomato.kulob,
tomato.jomi, onion.vose, rice.balkhi).
"""
from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.db import Base
from service.reference import data
from service.reference.names import pick


class CommodityCluster(Base):
    """A commodity cluster, id ``<crop>.<district>``, with its collection centre market if any."""

    __tablename__ = "commodity_cluster"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    crop_id: Mapped[str] = mapped_column(ForeignKey("crop.id"), index=True)
    district_id: Mapped[str] = mapped_column(ForeignKey("district.id"), index=True)
    names: Mapped[dict]

    def name(self, lang: str) -> str:
        """Display name in ``lang``."""
        return pick(self.names, lang, self.id)


def load(session: Session) -> None:
    """Insert the commodity clusters of ``service.reference.data.CLUSTERS`` (an empty database)."""
    for cid, (crop, district) in data.CLUSTERS.items():
        session.add(CommodityCluster(id=cid, crop_id=crop, district_id=district,
                                     names=data.cluster_names(crop, district)))
    session.flush()
