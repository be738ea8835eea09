"""The input catalogue: what a producer group can buy together, and who supplies it.

Source: ``docs/khatlon.md`` §11 (starter list; availability unverified).
Each :class:`InputItem` is sold in packs: ``unit`` is kg, L, piece or packet and
``pack_amount`` the content of one pack in base units (grams for kg, millilitres
for L, a count for piece and packet). Prices are per pack in integer diram
(1 TJS = 100 diram): ``retail_diram`` what one farmer pays alone in a shop,
``group_diram`` what the PG pays when it buys in bulk. Farmers order whole packs.

Suppliers are the VAM agents (``docs/programme.md`` §2.2: a person, an agro-shop or a CBO
that sells inputs and gives advice in the village). An agent is one
:class:`~service.advice.responders.Responder` of role ``vam_agent`` (the advice feature's
record: code, kind, name, phone, language, the villages it serves and the whole districts
it supplies), so that entering it once makes it both the supplier of orders and the first
responder to questions. This module adds what it supplies: :class:`AgentItem` rows (table
``agent_item``), set by :func:`set_items`. :func:`supplier_for` picks an order's supplier.
The prices and agents loaded by :func:`load` are DEMO values (``price_source = "demo"``,
made-up phones), to be replaced by staff with ``flask --app service orders item-set`` and
``orders agent-set`` (or ``responders add-vam``).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

import templates_sms
from service.advice import responders
from service.advice.responders import Responder
from service.db import Base, utcnow
from service.errors import Refusal
from service.reference.geography import District, Village
from service.reference.names import pick

CATEGORIES = ("seed", "bio_fertiliser", "bio_pesticide", "equipment")
UNITS = {"kg": 1000, "L": 1000, "piece": 1, "packet": 1}  # unit: base units per unit (g, mL, count)
MAX_PACKS = 999  # packs in one order line: more is a typing error


class InputItem(Base):
    """An orderable input. ``id`` stable (``seed.onion.jayhun``); ``code`` what farmers type
    (``ONJ1``); ``names`` ``{lang: name}``; ``crop_ids`` and ``season_ids`` (``docs/khatlon.md`` §3.2)
    it is for; ``unit`` in :data:`UNITS`; ``pack_amount`` base units per pack; prices in diram
    per pack; ``price_source`` where the prices come from (``demo`` for the loaded ones);
    ``active`` False withdraws it from ordering."""

    __tablename__ = "input_item"
    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    category: Mapped[str] = mapped_column(String(16))
    names: Mapped[dict]
    crop_ids: Mapped[list] = mapped_column(default=list)
    season_ids: Mapped[list] = mapped_column(default=list)
    unit: Mapped[str] = mapped_column(String(8))
    pack_amount: Mapped[int]
    retail_diram: Mapped[int]
    group_diram: Mapped[int]
    price_source: Mapped[str] = mapped_column(String(40), default="demo")
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def name(self, lang: str) -> str:
        """Display name in ``lang``."""
        return pick(self.names, lang, self.code)

    @property
    def pack_size(self) -> Decimal:
        """Content of one pack in ``unit`` (exact: 500 g → ``Decimal("0.5")`` kg)."""
        return Decimal(self.pack_amount) / UNITS[self.unit]

    @property
    def saving_diram(self) -> int:
        """Saving per pack against retail (diram)."""
        return self.retail_diram - self.group_diram


class AgentItem(Base):
    """An input item a VAM agent (a responder of role ``vam_agent``) supplies."""

    __tablename__ = "agent_item"
    agent_id: Mapped[int] = mapped_column(ForeignKey("responder.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("input_item.id", ondelete="CASCADE"), primary_key=True)


def items_of(session: Session, agent: Responder) -> list[InputItem]:
    """The items ``agent`` supplies, by code."""
    return list(session.scalars(select(InputItem).join(AgentItem, AgentItem.item_id == InputItem.id)
                                .where(AgentItem.agent_id == agent.id).order_by(InputItem.code)))


def set_items(session: Session, agent: Responder, items: list[InputItem]) -> None:
    """Make ``agent`` supply exactly ``items``. ``ValueError`` unless it is a VAM agent."""
    if agent.role != "vam_agent":
        raise ValueError(f"responder {agent.id} is not a VAM agent")
    session.flush()
    have = {row.item_id: row for row in session.scalars(select(AgentItem).where(AgentItem.agent_id == agent.id))}
    wanted = {item.id for item in items}
    for item_id, row in have.items():
        if item_id not in wanted:
            session.delete(row)
    session.add_all(AgentItem(agent_id=agent.id, item_id=i) for i in sorted(wanted - set(have)))
    session.flush()


def number(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros (``Decimal("0.500")`` → ``"0.5"``)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pack_label(item: InputItem, lang: str) -> str:
    """One pack as shown to people: ``"0,5 кг"`` (tg/ru use the decimal comma and Cyrillic units)."""
    size = number(item.pack_size)
    size = size.replace(".", ",") if lang in ("tg", "ru") else size
    return templates_sms.text(f"orders.unit.{item.unit}", lang, n=size)


def by_code(session: Session, code: str) -> InputItem | None:
    """The item with this code (any case, spaces dropped), or None."""
    wanted = "".join((code or "").split()).upper()
    return session.scalar(select(InputItem).where(InputItem.code == wanted)) if wanted else None


def items_for(session: Session, crop_ids: list[str], *, active_only: bool = True) -> list[InputItem]:
    """Items for any of ``crop_ids`` (all items when empty), ordered by category then code."""
    found = session.scalars(select(InputItem).order_by(InputItem.code))
    items = [i for i in found if (not active_only or i.active)
             and (not crop_ids or set(i.crop_ids) & set(crop_ids))]
    return sorted(items, key=lambda i: (CATEGORIES.index(i.category), i.code))


def parse_packs(text: str) -> int:
    """A number of packs typed by a farmer: a whole number 1..:data:`MAX_PACKS`.

    Raises ``Refusal("orders.err.qty", max=MAX_PACKS)`` otherwise (``0``, ``-1``, ``1.5``, ``abc``).
    """
    cleaned = (text or "").strip()
    if not (cleaned.isascii() and cleaned.isdigit()) or not 1 <= int(cleaned) <= MAX_PACKS:
        raise Refusal("orders.err.qty", max=MAX_PACKS)
    return int(cleaned)


def supplier_for(session: Session, item: InputItem, village_id: int | None) -> Responder | None:
    """The active VAM agent supplying ``item`` in a village: one serving that village, else one
    supplying its whole district (the lowest code wins); None when nobody does."""
    village = session.get(Village, village_id) if village_id else None
    if village is None:
        return None
    supplying = list(session.scalars(select(Responder).join(AgentItem, AgentItem.agent_id == Responder.id).where(
        AgentItem.item_id == item.id, Responder.role == "vam_agent", Responder.active).order_by(Responder.code)))
    return (next((a for a in supplying if village.id in a.village_ids), None)
            or next((a for a in supplying if village.district_id in a.district_ids), None))


# ---------------------------------------------------------------- demo catalogue

# id: (code, category, crops, seasons, unit, pack amount in base units, retail, group diram per pack,
#      {lang: name}). DEMO prices: plausible, not collected; replace with `orders item-set`.
ALL_CROPS = ["onion", "rice", "tomato"]
ITEMS = {
    "seed.rice.jubilee": ("RIJ1", "seed", ["rice"], ["rice.second"], "kg", 10000, 12000, 10500,
                          {"tg": "Тухми шолӣ Юбилейный", "ru": "Семена риса Юбилейный",
                           "uz": "Sholi urug'i Yubileyniy", "en": "Rice seed Jubilee"}),
    "seed.onion.jayhun": ("ONJ1", "seed", ["onion"], ["onion.early_overwinter"], "kg", 500, 30000, 26000,
                          {"tg": "Тухми пиёз Ҷайҳун", "ru": "Семена лука Джайхун",
                           "uz": "Piyoz urug'i Jayhun", "en": "Onion seed Jayhun"}),
    "seed.onion.meroj": ("ONM1", "seed", ["onion"], ["onion.early_overwinter"], "kg", 500, 28000, 24500,
                         {"tg": "Тухми пиёз Меъроҷ", "ru": "Семена лука Мерож",
                          "uz": "Piyoz urug'i Meroj", "en": "Onion seed Meroj"}),
    "seed.onion.spanish": ("ONS1", "seed", ["onion"], ["onion.spring", "onion.autumn_stored"], "kg", 500,
                           35000, 30000,
                           {"tg": "Тухми пиёзи испанӣ", "ru": "Семена лука испанского",
                            "uz": "Ispan piyoz urug'i", "en": "Onion seed Spanish"}),
    "seed.tomato.local": ("TML1", "seed", ["tomato"], ["tomato.open_early", "tomato.open_late"], "packet", 1,
                          1500, 1200,
                          {"tg": "Тухми помидори маҳаллӣ", "ru": "Семена томата местного",
                           "uz": "Mahalliy pomidor urug'i", "en": "Tomato seed local"}),
    "seed.tomato.turkish_hybrid": ("TMH1", "seed", ["tomato"], ["tomato.open_early", "tomato.open_late"],
                                   "packet", 1, 9000, 7500,
                                   {"tg": "Тухми помидори туркӣ", "ru": "Семена томата турецкого",
                                    "uz": "Turk pomidor urug'i", "en": "Tomato seed Turkish F1"}),
    "seed.tomato.cherry_ty19": ("TMC1", "seed", ["tomato"], ["tomato.greenhouse"], "packet", 1, 12000, 10000,
                                {"tg": "Тухми помидори гелосӣ", "ru": "Семена томата черри",
                                 "uz": "Cherri pomidor urug'i", "en": "Tomato seed cherry TY19"}),
    "fert.compost": ("FCM1", "bio_fertiliser", ALL_CROPS, [], "kg", 50000, 3000, 2500,
                     {"tg": "Компост", "ru": "Компост", "uz": "Kompost", "en": "Compost"}),
    "fert.fym": ("FYM1", "bio_fertiliser", ALL_CROPS, [], "kg", 1000000, 25000, 20000,
                 {"tg": "Пору", "ru": "Навоз", "uz": "Go'ng", "en": "Farmyard manure"}),
    "fert.vermicompost": ("FVC1", "bio_fertiliser", ALL_CROPS, [], "kg", 25000, 7500, 6000,
                          {"tg": "Биогумус", "ru": "Биогумус", "uz": "Biogumus", "en": "Vermicompost"}),
    "pest.trichoderma": ("PTR1", "bio_pesticide", ALL_CROPS, [], "kg", 1000, 6000, 5000,
                         {"tg": "Триходерма", "ru": "Триходерма", "uz": "Trixoderma", "en": "Trichoderma"}),
    "pest.bordeaux": ("PBD1", "bio_pesticide", ["onion", "tomato"], [], "kg", 1000, 4500, 3800,
                      {"tg": "Омехтаи бордоӣ", "ru": "Бордоская смесь", "uz": "Bordo suyuqligi",
                       "en": "Bordeaux mixture"}),
    "pest.lime_sulphur": ("PLS1", "bio_pesticide", ["onion", "tomato"], [], "L", 5000, 5000, 4200,
                          {"tg": "Оҳаку сулфур", "ru": "Известково-серный отвар", "uz": "Ohak-oltingugurt",
                           "en": "Lime-sulphur"}),
    "equip.sri_weeder": ("ESW1", "equipment", ["rice"], [], "piece", 1, 35000, 30000,
                         {"tg": "Алафкаши SRI", "ru": "Прополочник SRI", "uz": "SRI o'toq mashinasi",
                          "en": "SRI rotary weeder"}),
    "equip.poly_film": ("EPF1", "equipment", ALL_CROPS, [], "kg", 10000, 30000, 26000,
                        {"tg": "Плёнкаи полиэтиленӣ", "ru": "Плёнка полиэтиленовая", "uz": "Polietilen plyonka",
                         "en": "Polythene film"}),
    "equip.crates": ("ECR1", "equipment", ALL_CROPS, [], "piece", 1, 2500, 2000,
                     {"tg": "Қуттии ҳосил", "ru": "Ящик для урожая", "uz": "Hosil yashigi", "en": "Produce crate"}),
}

# code: (name, kind, phone, language, districts, item codes). DEMO agents with made-up phones: they
# supply the whole district; ``flask --app service demo-data`` also has them serve its villages.
AGENTS = {
    "VAMKUL": ("Demo VAM agent Kulob", "individual", "+992900000101", "tg", ["kulob"],
               ["TML1", "TMH1", "TMC1", "FCM1", "FYM1", "FVC1", "PTR1", "PBD1", "PLS1", "EPF1", "ECR1"]),
    "SHOPJOMI": ("Demo agro-shop Jomi", "agro_shop", "+992900000102", "ru", ["jomi"],
                 ["TML1", "TMH1", "TMC1", "FCM1", "FVC1", "PTR1", "PBD1", "PLS1", "EPF1", "ECR1"]),
    "CBOVOSE": ("Demo CBO supply Vose", "cbo", "+992900000103", "tg", ["vose"],
                ["ONJ1", "ONM1", "ONS1", "FCM1", "FYM1", "FVC1", "PTR1", "PBD1", "PLS1", "EPF1", "ECR1"]),
    "SHOPBALKH": ("Demo agro-shop Balkh", "agro_shop", "+992900000104", "uz", ["balkhi"],
                  ["RIJ1", "ESW1", "FCM1", "FYM1", "FVC1", "PTR1", "EPF1", "ECR1"]),
}


def load(session: Session) -> int:
    """Add the demo catalogue items and agents that are missing (items by id, agents by code or
    phone); never changes existing rows, so staff edits survive. Returns the number of rows added."""
    added = 0
    have = set(session.scalars(select(InputItem.id)))
    for item_id, (code, category, crops, seasons, unit, amount, retail, group, names) in ITEMS.items():
        if item_id not in have:
            session.add(InputItem(id=item_id, code=code, category=category, crop_ids=crops, season_ids=seasons,
                                  unit=unit, pack_amount=amount, retail_diram=retail, group_diram=group,
                                  names=names, price_source="demo"))
            added += 1
    session.flush()
    agents = responders.vam_agents(session)
    known = {a.code for a in agents} | {a.phone for a in agents}
    for code, (name, kind, phone, language, districts, codes) in AGENTS.items():
        districts = [d for d in districts if session.get(District, d) is not None]
        if code in known or phone in known or not districts:
            continue
        agent = responders.add_vam_agent(session, code=code, name=name, kind=kind, phone=phone, language=language,
                                         district_ids=districts)
        set_items(session, agent, list(session.scalars(select(InputItem).where(InputItem.code.in_(codes)))))
        added += 1
    session.flush()
    return added
