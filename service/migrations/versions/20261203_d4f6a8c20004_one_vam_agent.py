"""one VAM agent: the supplier table ``vam_agent`` merged into ``responder``

A VAM agent (``docs/programme.md`` §2.2: a person, an agro-shop or a CBO that sells inputs
and gives advice in the village) was entered twice: as a supplier (``vam_agent``, its items
in ``vam_agent_item``, referred to by ``input_order.supplier_id``) and as a responder of role
``vam_agent`` (``responder``, its villages in ``responder_village``). The responder row is now
the one record (``service.advice.responders``, ``service.orders.catalogue``):

* ``responder`` gets ``code`` (unique: the supplier code purchase orders name), a ``name`` of up
  to 120 characters (as ``vam_agent.name`` had) and a ``district_id`` that may be empty (an
  agent that serves no place yet);
* ``responder_district``: the whole districts a VAM agent supplies (was ``vam_agent.district_ids``);
* ``agent_item``: the input items it supplies (was ``vam_agent_item``);
* ``input_order.supplier_id`` refers to ``responder``.

Each ``vam_agent`` row, in code order, is merged into the responder of role ``vam_agent`` with
the same phone when there is one: that row keeps its name (unless it is the supplier's name
cut to 80 characters), kind, language, district and state (differences are logged) and gains
the code, items, villages and districts. Otherwise it
becomes a new responder (district: its first whole district, else its first village's). A
second supplier row with a phone already merged adds its items, villages, districts and order
lines to the same record; its code is dropped (logged: one record has one code, the lowest
wins). Ids in the JSON lists that name no village or district are dropped (logged): no PG
could be routed through them. Every order line keeps its supplier (by the id map).

Downgrade puts the suppliers back: one ``vam_agent`` row per responder with a code, with the
same id (so order lines keep their supplier), its villages and districts as JSON lists and
its items; responders of role ``vam_agent`` that serve no village and that no question ever
reached are removed (supplier-only agents, as the old schema kept them); names over 80
characters are cut in ``responder`` (the full name stays in ``vam_agent``).

Revision ID: d4f6a8c20004
Revises: c3d5f7a90003
Create Date: 2026-12-03 09:00:00

"""
import datetime as dt
import logging
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "d4f6a8c20004"
down_revision: Union[str, Sequence[str], None] = "c3d5f7a90003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

log = logging.getLogger(f"alembic.{revision}")

OLD_FK = "fk_input_order_supplier_id_vam_agent"
NEW_FK = "fk_input_order_supplier_id_responder"
OLD_NAME = 80  # characters of responder.name before this revision

# the tables as this revision reads and writes them (a migration must not change when the models do)
vam_agent = sa.table("vam_agent", sa.column("id", sa.Integer), sa.column("code", sa.String),
                     sa.column("name", sa.String), sa.column("kind", sa.String), sa.column("phone", sa.String),
                     sa.column("language", sa.String), sa.column("district_ids", sa.JSON),
                     sa.column("village_ids", sa.JSON))
vam_agent_item = sa.table("vam_agent_item", sa.column("agent_id", sa.Integer), sa.column("item_id", sa.String))
responder = sa.table("responder", sa.column("id", sa.Integer), sa.column("role", sa.String),
                     sa.column("code", sa.String), sa.column("kind", sa.String), sa.column("name", sa.String),
                     sa.column("phone", sa.String), sa.column("language", sa.String),
                     sa.column("district_id", sa.String), sa.column("active", sa.Boolean),
                     sa.column("created_at", service.db.UTCDateTime()))
responder_village = sa.table("responder_village", sa.column("responder_id", sa.Integer),
                             sa.column("village_id", sa.Integer))
responder_district = sa.table("responder_district", sa.column("responder_id", sa.Integer),
                              sa.column("district_id", sa.String))
agent_item = sa.table("agent_item", sa.column("agent_id", sa.Integer), sa.column("item_id", sa.String))
input_order = sa.table("input_order", sa.column("supplier_id", sa.Integer))
village = sa.table("village", sa.column("id", sa.Integer), sa.column("district_id", sa.String))
district = sa.table("district", sa.column("id", sa.String))
question = sa.table("question", sa.column("responder_id", sa.Integer), sa.column("answered_by", sa.Integer))
question_route = sa.table("question_route", sa.column("responder_id", sa.Integer))


def upgrade() -> None:
    """Give ``responder`` the supplier parts, merge every ``vam_agent`` into it, drop ``vam_agent``."""
    with op.batch_alter_table("responder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=16), nullable=True))
        batch_op.alter_column("name", existing_type=sa.String(length=80), type_=sa.String(length=120),
                              existing_nullable=False)
        batch_op.alter_column("district_id", existing_type=sa.String(length=32), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_responder_code"), ["code"])
    op.create_table(
        "responder_district",
        sa.Column("responder_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"],
                                name=op.f("fk_responder_district_district_id_district")),
        sa.ForeignKeyConstraint(["responder_id"], ["responder.id"],
                                name=op.f("fk_responder_district_responder_id_responder"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("responder_id", "district_id", name=op.f("pk_responder_district")),
    )
    with op.batch_alter_table("responder_district", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_responder_district_district_id"), ["district_id"], unique=False)
    op.create_table(
        "agent_item",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=48), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["responder.id"], name=op.f("fk_agent_item_agent_id_responder"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["input_item.id"], name=op.f("fk_agent_item_item_id_input_item"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agent_id", "item_id", name=op.f("pk_agent_item")),
    )

    merged = _merge(op.get_bind())

    with op.batch_alter_table("input_order", schema=None) as batch_op:
        batch_op.drop_constraint(OLD_FK, type_="foreignkey")
    # one statement, so an old id that equals a new one is not moved twice
    op.execute(input_order.update().values(supplier_id=sa.case(merged, value=input_order.c.supplier_id)
                                           if merged else None))
    with op.batch_alter_table("input_order", schema=None) as batch_op:
        batch_op.create_foreign_key(NEW_FK, "responder", ["supplier_id"], ["id"], ondelete="SET NULL")
    op.drop_table("vam_agent_item")
    op.drop_table("vam_agent")


def _ids(values, known: set, what: str, code: str) -> list:
    """The ``values`` of a JSON list that name a row of ``known``, in order, once each; the others logged."""
    kept, dropped = [], []
    for value in values or []:
        if value in known:
            kept += [] if value in kept else [value]
        else:
            dropped.append(value)
    if dropped:
        log.warning("vam_agent %s: no %s %s; left out", code, what, dropped)
    return kept


def _merge(conn) -> dict[int, int]:
    """Merge each ``vam_agent`` row into the responder of its phone (see the module docstring);
    returns {vam_agent id: responder id}."""
    home_of = dict(conn.execute(sa.select(village.c.id, village.c.district_id)).all())
    districts = set(conn.scalars(sa.select(district.c.id)))
    items = {}
    for agent_id, item_id in conn.execute(sa.select(vam_agent_item.c.agent_id, vam_agent_item.c.item_id)):
        items.setdefault(agent_id, []).append(item_id)
    now = dt.datetime.now(dt.timezone.utc)
    merged: dict[int, int] = {}
    for agent in conn.execute(sa.select(vam_agent).order_by(vam_agent.c.code, vam_agent.c.id)).all():
        village_ids = _ids(agent.village_ids, set(home_of), "village", agent.code)
        district_ids = _ids(agent.district_ids, districts, "district", agent.code)
        target = conn.execute(sa.select(responder).where(responder.c.role == "vam_agent",
                                                         responder.c.phone == agent.phone)).first()
        if target is None:
            home = district_ids[0] if district_ids else (home_of[village_ids[0]] if village_ids else None)
            rid = conn.execute(responder.insert().values(
                role="vam_agent", code=agent.code, kind=agent.kind, name=agent.name, phone=agent.phone,
                language=agent.language, district_id=home, active=True, created_at=now)
                .returning(responder.c.id)).scalar_one()
        else:
            rid = target.id
            if target.code is None:
                # a name cut to 80 characters (the old column, or this downgrade) gets its full length back
                cut = len(target.name) == OLD_NAME and agent.name.startswith(target.name)
                name = agent.name if cut else target.name
                conn.execute(responder.update().where(responder.c.id == rid).values(code=agent.code, name=name))
                differ = {k: (getattr(target, k), getattr(agent, k)) for k in ("name", "kind", "language")
                          if getattr(target, k) != getattr(agent, k) and not (k == "name" and cut)}
                if differ:
                    log.warning("vam_agent %s merged into responder %s (%s), which keeps its %s", agent.code, rid,
                                agent.phone, ", ".join(f"{k} {old!r} (supplier: {new!r})"
                                                       for k, (old, new) in differ.items()))
            else:
                log.warning("vam_agent %s has the phone of vam_agent %s: merged into it, code %s dropped",
                            agent.code, target.code, agent.code)
        _add(conn, responder_village, "responder_id", rid, "village_id", village_ids)
        _add(conn, responder_district, "responder_id", rid, "district_id", district_ids)
        _add(conn, agent_item, "agent_id", rid, "item_id", items.get(agent.id, []))
        merged[agent.id] = rid
    return merged


def _add(conn, table, owner: str, owner_id: int, column: str, values: list) -> None:
    """Insert the (owner, value) rows of ``table`` that are not there yet."""
    have = set(conn.scalars(sa.select(table.c[column]).where(table.c[owner] == owner_id)))
    rows = [{owner: owner_id, column: v} for v in dict.fromkeys(values) if v not in have]
    if rows:
        conn.execute(table.insert(), rows)


def downgrade() -> None:
    """Back to a ``vam_agent`` table beside ``responder`` (see the module docstring)."""
    conn = op.get_bind()
    op.create_table(
        "vam_agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("district_ids", sa.JSON(), nullable=False),
        sa.Column("village_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vam_agent")),
        sa.UniqueConstraint("code", name=op.f("uq_vam_agent_code")),
    )
    op.create_table(
        "vam_agent_item",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=48), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["vam_agent.id"], name=op.f("fk_vam_agent_item_agent_id_vam_agent"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["input_item.id"], name=op.f("fk_vam_agent_item_item_id_input_item"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agent_id", "item_id", name=op.f("pk_vam_agent_item")),
    )
    agents = conn.execute(sa.select(responder).where(responder.c.code.is_not(None)).order_by(responder.c.code)).all()
    for a in agents:
        villages = sorted(conn.scalars(sa.select(responder_village.c.village_id)
                                       .where(responder_village.c.responder_id == a.id)))
        districts = sorted(conn.scalars(sa.select(responder_district.c.district_id)
                                        .where(responder_district.c.responder_id == a.id)))
        conn.execute(vam_agent.insert().values(id=a.id, code=a.code, name=a.name, kind=a.kind or "individual",
                                               phone=a.phone, language=a.language, district_ids=districts,
                                               village_ids=villages))
        supplied = sorted(conn.scalars(sa.select(agent_item.c.item_id).where(agent_item.c.agent_id == a.id)))
        if supplied:
            conn.execute(vam_agent_item.insert(), [{"agent_id": a.id, "item_id": i} for i in supplied])
    if agents and conn.dialect.name == "postgresql":  # explicit ids: move the id sequence past them
        op.execute("SELECT setval(pg_get_serial_sequence('vam_agent', 'id'), max(id)) FROM vam_agent")

    with op.batch_alter_table("input_order", schema=None) as batch_op:
        batch_op.drop_constraint(NEW_FK, type_="foreignkey")
    op.execute(input_order.update().where(input_order.c.supplier_id.not_in(sa.select(vam_agent.c.id)))
               .values(supplier_id=None))
    with op.batch_alter_table("input_order", schema=None) as batch_op:
        batch_op.create_foreign_key(OLD_FK, "vam_agent", ["supplier_id"], ["id"], ondelete="SET NULL")
    op.drop_table("agent_item")
    with op.batch_alter_table("responder_district", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responder_district_district_id"))
    op.drop_table("responder_district")

    # supplier-only agents: no village, never sent a question
    reached = sa.union(sa.select(question.c.responder_id), sa.select(question.c.answered_by),
                       sa.select(question_route.c.responder_id)).subquery()
    op.execute(responder.delete().where(
        responder.c.role == "vam_agent",
        responder.c.id.not_in(sa.select(responder_village.c.responder_id)),
        responder.c.id.not_in(sa.select(reached.c.responder_id).where(reached.c.responder_id.is_not(None)))))
    first_village = (sa.select(village.c.district_id)
                     .join(responder_village, responder_village.c.village_id == village.c.id)
                     .where(responder_village.c.responder_id == responder.c.id)
                     .order_by(responder_village.c.village_id).limit(1).scalar_subquery())
    op.execute(responder.update().where(responder.c.district_id.is_(None)).values(district_id=first_village))
    homeless = conn.scalars(sa.select(responder.c.id).where(responder.c.district_id.is_(None))).all()
    if homeless:
        raise RuntimeError(f"responders {homeless} have no district and were sent questions: give them one first")
    op.execute(responder.update().where(sa.func.length(responder.c.name) > OLD_NAME)
               .values(name=sa.func.substr(responder.c.name, 1, OLD_NAME)))
    with op.batch_alter_table("responder", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_responder_code"), type_="unique")
        batch_op.drop_column("code")
        batch_op.alter_column("name", existing_type=sa.String(length=120), type_=sa.String(length=80),
                              existing_nullable=False)
        batch_op.alter_column("district_id", existing_type=sa.String(length=32), nullable=False)
