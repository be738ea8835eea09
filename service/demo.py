"""Demo region shaped like the case study (``flask --app service demo-data``).

``create_demo(session, farmers=N, seed=S, now=...)`` fills a database that
holds only the reference data with a made-up region matching
``docs/programme.md`` (§4, §11):

* 81 producer groups in the 4 clusters (``KUL01``..``KUL21`` tomato Kulob,
  ``JOM01``..``JOM20`` tomato Jomi, ``VOS01``..``VOS20`` onion Vose',
  ``BAL01``..``BAL20`` rice Balkhi), each with a stage history (at least 40%
  ``performing``), in 14 villages per cluster (the reference jamoat centres
  plus made-up villages), one CBO per village;
* ``N`` farmer profiles (default 1,496) with made-up Tajik names (Uzbek Latin
  names for Uzbek speakers), 29% women, land averaging 1.43 ha (log-normal
  spread, 0.01 ha steps), their cluster's crop (some a second crop), language
  mostly ``tg`` with some ``ru`` and ``uz`` (more ``uz`` in Balkhi);
* memberships: the first five members of a PG hold its Executive Committee
  seats, 7 in 405 left vacant (398 filled with the default, 16% women); of the
  others 95% are active, 2% pending approval, 1.5% left, 1.5% in no PG
  (shares exact, positions random);
* phones ``+992 90 000 1000`` upwards (``+99290`` + 7 digits, so past 9,000
  phones the range simply continues: ``+992900010000``...); ``+992 90 000
  0000``-``0999`` stay free for staff and testers. One time in four, a woman
  generated right after a man of her PG becomes a second profile on his phone
  (a shared household phone, about 4% of the profiles);
* 28 days of market prices up to ``today``: daily buying prices at each
  cluster's collection centre for its crop (tomato at DAHANA and JOMICC, onion
  at VOSECC, rice at BALKHCC: ``service.sales.joint_sale``), twice a week
  (Monday, Thursday) for every crop at the four bazaars. Tomato 2-5 TJS/kg
  and onion 1.35-2.2 TJS/kg by season (``docs/khatlon.md`` §6, §13,
  ``docs/crop-calendars.md`` §3, §4); rice 7.8-8.8 TJS/kg is a guess (no reference);
* harvests reported (``YIELD``, :class:`~service.sales.yields.YieldReport`) of onion and tomato in
  the two seasons before ``today``'s year: every non-member growing the crop and
  :data:`YIELD_MEMBER_SHARE` of the members, membership taken at the report's date, so that the
  members linked to VAM out-yield the non-members by the case study's gains (onion +48%, +40%;
  tomato +64%, +83%: ``docs/programme.md`` §8, R5) over made-up non-member yields
  (:data:`YIELD_CROPS`). Drawn from a random stream of their own: the rest of the region is as
  without them;
* one closed order round per PG in the season before ``today``'s year (1 October, local),
  its lines delivered: :data:`ORDER_SHARE` of the members of that season ordered 1-3 items of
  their crop from the catalogue (``service.orders.catalogue``), at that season's group prices
  :data:`ORDER_SAVING` under the catalogue's retail prices (the case study's over 80% buying
  together and 11% saved, ``docs/programme.md`` §4). Also a random stream of its own.

Everything but the dates depends only on ``seed``; dates are relative to
``now`` (the run time). Rows are written with bulk inserts in chunks of
:data:`CHUNK` farmers, so memory stays flat for a million farmers, in one
transaction (a failed run leaves nothing). The command refuses a database
that already has farmers or producer groups; ``--reset`` first wipes ALL data
(every table, messages and sessions included) and reloads the reference data.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from sqlalchemy import delete, distinct, exists, func, insert, select, text
from sqlalchemy.orm import Session

from service import features
from service.advice import responders as vam_agent
from service.db import Base
from service.farmers.models import Farmer, FarmerCrop
from service.reference.geography import Jamoat, Village
from service.prices.market import Market, MarketPrice, latest_prices
from service.sales.joint_sale import CollectionCentre
from service.groups.membership import EC_ROLES, Membership
from service.groups.producer_group import CBO, STAGES, ProducerGroup, StageAssessment

CHUNK = 5000  # farmers per bulk insert
FIRST_PHONE = 1000  # demo phones are "+99290" + 7 digits from here; below stays free
NEW_PHONE = "+992900000999"  # a phone the demo never registers (for testers)
MAX_FARMERS = 9_000_000

# cluster id: (PG code prefix, number of PGs); 21 + 20 + 20 + 20 = 81
CLUSTERS = {
    "tomato.kulob": ("KUL", 21),
    "tomato.jomi": ("JOM", 20),
    "onion.vose": ("VOS", 20),
    "rice.balkhi": ("BAL", 20),
}
VILLAGES_PER_CLUSTER = 14
STAGE_COUNTS = {"forming": 10, "storming": 14, "norming": 22, "performing": 35}  # 35/81 = 43%
WOMEN_SHARE = 0.29
EC_WOMEN_SHARE = 0.16
EC_VACANT_SHARE = 7 / 405  # 398 of 405 seats filled
MEAN_LAND_HA = 1.43
OTHER_STATUS_SHARES = {"pending": 0.02, "left": 0.015, "none": 0.015}  # the rest is active
LANGUAGE_WEIGHTS = {"rice.balkhi": {"tg": 65, "uz": 25, "ru": 10}, None: {"tg": 87, "ru": 10, "uz": 3}}
SHARED_PHONE_CHANCE = 0.25
SECOND_CROP_CHANCE = 0.15
PRICE_DAYS = 28
#: crop: (non-members' mean yield, kg/ha, made up; the gains of members linked to VAM, % in the two
#: seasons: the case study's, ``docs/programme.md`` §8). Members not linked to VAM get half the gain.
YIELD_CROPS = {"onion": (24_000, (48, 40)), "tomato": (21_000, (64, 83))}
YIELD_MEMBER_SHARE = 0.25  # of the members growing the crop who report a harvest in a season
ORDER_SHARE = 0.82  # of a season's members who order in its round (the case study: over 80%)
ORDER_SAVING = 0.11  # the group price's saving against retail in the demo season (the case study: 11%)

# Made-up villages: (tg, ru, Latin)
MADE_UP_VILLAGES = [
    ("Гулобод", "Гулабад", "Gulobod"), ("Сарчашма", "Сарчашма", "Sarchashma"),
    ("Навбаҳор", "Навбахор", "Navbahor"), ("Боғистон", "Богистон", "Boghiston"),
    ("Обшорон", "Обшорон", "Obshoron"), ("Дашти Мирзо", "Дашти Мирзо", "Dashti Mirzo"),
    ("Себистон", "Себистон", "Sebiston"), ("Анорзор", "Анорзор", "Anorzor"),
    ("Тутзор", "Тутзор", "Tutzor"), ("Сангбулоқ", "Сангбулак", "Sangbuloq"),
    ("Ширинобод", "Ширинабад", "Shirinobod"), ("Нурафшон", "Нурафшон", "Nurafshon"),
    ("Чорбоғ", "Чорбог", "Chorbogh"), ("Сабзазор", "Сабзазор", "Sabzazor"),
    ("Зарбулоқ", "Зарбулак", "Zarbuloq"), ("Оқтеппа", "Октеппа", "Oqteppa"),
    ("Кӯҳдоман", "Кухдоман", "Kuhdoman"), ("Лолазор", "Лолазор", "Lolazor"),
    ("Гулшан", "Гулшан", "Gulshan"), ("Обираҳмат", "Обирахмат", "Obirahmat"),
    ("Мевазор", "Мевазор", "Mevazor"), ("Дӯстобод", "Дустабад", "Dustobod"),
    ("Хушобод", "Хушабад", "Khushobod"), ("Ҷӯйбор", "Джуйбор", "Juybor"),
    ("Бешкапа", "Бешкапа", "Beshkapa"), ("Оқсой", "Аксай", "Oqsoy"),
    ("Чашмасор", "Чашмасор", "Chashmasor"), ("Тоқзор", "Токзор", "Toqzor"),
    ("Саригул", "Саригул", "Sarigul"), ("Регобод", "Регабад", "Regobod"),
    ("Бодомзор", "Бодомзор", "Bodomzor"), ("Оби Сафед", "Оби Сафед", "Obi Safed"),
    ("Ҳасанобод", "Хасанабад", "Hasanobod"), ("Ёрқишлоқ", "Ёркишлак", "Yorqishloq"),
    ("Ситорабод", "Ситорабад", "Sitorabod"), ("Пахтакор", "Пахтакор", "Pakhtakor"),
]

# Made-up people: Tajik names (Cyrillic; Russian speakers get the Russian spelling)
TG_MALE = ["Абдулло", "Акмал", "Алишер", "Баҳром", "Даврон", "Фарҳод", "Фирдавс", "Ҷамшед", "Карим",
           "Комил", "Мансур", "Нуралӣ", "Рустам", "Саидалӣ", "Шералӣ", "Сино", "Умед", "Зафар", "Исмоил",
           "Хуршед", "Дилшод", "Фаридун", "Бахтиёр", "Қодир", "Неъмат", "Бобоҷон", "Сафар", "Ҳусейн"]
TG_FEMALE = ["Мадина", "Нигина", "Зарина", "Гулноза", "Малика", "Парвина", "Сарвиноз", "Шаҳноза",
             "Дилором", "Зебо", "Мунира", "Нилуфар", "Гулчеҳра", "Фарзона", "Манижа", "Меҳрона", "Садоқат",
             "Таҳмина", "Ширин", "Мавҷуда", "Гулбаҳор", "Фотима", "Зулайхо", "Наргис", "Ҳанифа", "Тоҳира"]
TG_FAMILY = ["Раҳим", "Карим", "Назар", "Саид", "Шариф", "Ҳаким", "Юсуф", "Мирзо", "Давлат", "Қурбон",
             "Сафар", "Раҷаб", "Ғафур", "Ҳол", "Одина", "Азиз", "Ашур", "Бобо", "Латиф", "Малик", "Наби",
             "Олим", "Собир", "Шукур", "Умар", "Файз", "Ҷума", "Зариф", "Мурод", "Ниёз"]
TG_TO_RU = str.maketrans({"ҳ": "х", "Ҳ": "Х", "қ": "к", "Қ": "К", "ғ": "г", "Ғ": "Г", "ӣ": "и", "ӯ": "у",
                          "Ӯ": "У", "ҷ": "дж", "Ҷ": "Дж"})
UZ_MALE = ["Otabek", "Sardor", "Jasur", "Bekzod", "Ulug'bek", "Sherzod", "Bobur", "Dilshod", "Akmal",
           "Rustam", "Sanjar", "Farrux", "Jahongir", "Anvar", "Ravshan", "Shuhrat"]
UZ_FEMALE = ["Dilnoza", "Gulnora", "Nodira", "Feruza", "Shahlo", "Zuhra", "Mohira", "Nilufar", "Dildora",
             "Sevara", "Gulchehra", "Maftuna", "Muqaddas", "Barno"]
UZ_FAMILY = ["Yusup", "Karim", "Rahim", "Tursun", "Ergash", "Xolmat", "Nazar", "Sobir", "Qodir", "Abdulla",
             "Jo'ra", "Mirza", "Usmon", "Hamro"]

# TJS per kg in each month (Jan..Dec); ``docs/khatlon.md`` §13 (rice: a guess)
MONTHLY_TJS = {
    "tomato": [4.5, 5.0, 5.0, 4.5, 3.5, 2.5, 2.0, 2.0, 2.5, 3.0, 3.5, 4.0],
    "onion": [1.8, 2.0, 2.2, 1.6, 1.35, 1.35, 1.45, 1.5, 1.5, 1.4, 1.35, 1.6],
    "rice": [8.2, 8.4, 8.6, 8.8, 8.8, 8.8, 8.6, 8.4, 8.4, 8.0, 7.8, 8.0],
}
COLLECTION_CENTRE_FACTOR = 0.92  # centres pay a little under the bazaar
BAZAAR_DAYS = (0, 3)  # Monday, Thursday


def _round(x: float) -> int:
    """Round half up to an int (the case study's rounding)."""
    return math.floor(x + 0.5)


class Quota:
    """Deals exactly ``counts[key]`` of every key, in random order, one per :meth:`draw`.

    Sequential sampling without replacement: memory does not depend on the
    counts, and the totals come out exact (29% women is 29%, not 29% ± noise).
    """

    def __init__(self, rng: random.Random, counts: dict):
        self.rng = rng
        self.left = {k: v for k, v in counts.items() if v > 0}

    def draw(self):
        """The next key; ``IndexError`` when every count is used up."""
        total = sum(self.left.values())
        if total == 0:
            raise IndexError("quota exhausted")
        x = self.rng.randrange(total)
        for key, n in self.left.items():
            if x < n:
                self.left[key] -= 1
                return key
            x -= n
        raise AssertionError("unreachable")


@dataclass
class _Pg:
    """A PG being created: ``size`` farmers to generate for it."""

    id: int
    code: str
    cluster: str
    crop: str
    village_id: int
    size: int
    stage: str
    created: dt.datetime
    nth_in_village: int = 1


@dataclass(frozen=True)
class Pick:
    """A phone offered on the simulator page: ``phone`` (E.164), ``why`` (a key naming the kind of
    phone, e.g. ``chair``, ``cluster.onion.vose``, ``staff``; the page names it in its language)
    and ``detail`` (who it is: name, member code, PG, language; not translated)."""

    phone: str
    why: str
    detail: str = ""

    @property
    def label(self) -> str:
        """``why: detail`` in English, as logs and tests read it."""
        return f"{PICK_NAMES.get(self.why, self.why)}: {self.detail}" if self.detail else PICK_NAMES.get(
            self.why, self.why)


#: the English names of the quick picks' kinds (the page's own strings translate them)
PICK_NAMES = {
    "chair": "chair", "woman member": "woman member", "Russian": "Russian", "Uzbek": "Uzbek",
    "pending approval": "pending approval", "shared phone": "shared phone", "in no PG": "in no PG",
    "cluster.onion.vose": "Vose' onion", "cluster.rice.balkhi": "Balkhi rice",
    "cluster.tomato.kulob": "Kulob tomato", "cluster.tomato.jomi": "Jomi tomato",
    "staff": "staff (SETPRICE, ALERT)", "responder": "responder (ANSWER)", "new": "new phone: not registered",
}


def phone_of(n: int) -> str:
    """The demo phone number ``n`` (``0`` → ``+992900001000``): ``+99290`` + 7 digits."""
    return f"+99290{FIRST_PHONE + n:07d}"


def is_empty(session: Session) -> bool:
    """True when the database has no farmer and no producer group (demo data may be created)."""
    return not (session.scalar(select(exists().where(Farmer.id.isnot(None))))
                or session.scalar(select(exists().where(ProducerGroup.id.isnot(None)))))


def wipe(session: Session) -> None:
    """Delete every row of every table, then load the reference data (and the rest of what
    ``init_db`` loads) again, in the same transaction.

    PostgreSQL gets one ``TRUNCATE``: a row-by-row ``DELETE`` of a million farmers
    runs a foreign-key check per row and takes hours there.
    """
    tables = list(reversed(Base.metadata.sorted_tables))
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            session.execute(delete(table))
    features.load_reference(session)


def create_demo(session: Session, *, farmers: int, seed: int, now: dt.datetime, today: dt.date) -> None:
    """Create the demo region (see the module docstring) in ``session``'s transaction; the caller commits.

    ``farmers``: number of farmer profiles (0..:data:`MAX_FARMERS`); ``seed``:
    makes everything but the dates reproducible; ``now``: aware UTC datetime of
    the run; ``today``: the local date prices end on. The database must hold the
    reference data and no farmers or PGs (``ValueError`` otherwise).
    """
    if not 0 <= farmers <= MAX_FARMERS:
        raise ValueError(f"farmers must be within 0..{MAX_FARMERS}")
    if not is_empty(session):
        raise ValueError("the database already has farmers or producer groups")
    rng = random.Random(seed)
    villages = _villages(session)
    pgs = _producer_groups(session, rng, villages, farmers, now)
    _farmers(session, rng, pgs, farmers, now)
    _prices(session, rng, today, now)
    _responders(session)
    _yields(session, seed, today)
    _orders(session, seed, today)
    staff_accounts(session)


def add_non_programme(session: Session, *, seed: int, now: dt.datetime, today: dt.date) -> None:
    """What the demo region has besides its programme data, for a region loaded from the demo
    workbook (``service.programme.demo_workbook``): :data:`PRICE_DAYS` days of market prices ending
    ``today`` and the demo extension officers (VAM agents left without villages get their districts'
    villages, as in :func:`create_demo`). The caller commits."""
    _prices(session, random.Random(seed), today, now)
    _responders(session)
    _yields(session, seed, today)
    _orders(session, seed, today)
    staff_accounts(session)


# demo extension officers, one per district (made-up names and phones)
EXTENSION_OFFICERS = {"kulob": ("Demo extension Kulob", "+992900000201", "tg"),
                      "jomi": ("Demo extension Jomi", "+992900000202", "ru"),
                      "vose": ("Demo extension Vose", "+992900000203", "tg"),
                      "balkhi": ("Demo extension Balkhi", "+992900000204", "uz")}


#: the demo's staff accounts: ``(username, name, role, scope refs, phone, language)``; the
#: extension officers carry the phones of the demo extension responders above (ASK reaches them,
#: and they send SETPRICE, ALERT, OFFER, ANSWER for their district)
STAFF_ACCOUNTS = (
    *((f"demo.ext.{district}", name, "extension_officer", [district], phone, language)
      for district, (name, phone, language) in EXTENSION_OFFICERS.items()),
    ("demo.coordinator", "Demo coordinator onion Vose", "cluster_coordinator", ["onion.vose"], "+992900000205", "tg"),
    ("demo.reporter", "Demo market reporter Kulob", "market_reporter", ["KULOB", "DAHANA"], "+992900000206", "ru"),
    ("demo.admin", "Demo administrator", "admin", [], "+992900000207", "en"),
)
#: the password of every demo staff account (README: for the demo only, never on a real deployment)
DEMO_STAFF_PASSWORD = "dehqon-demo-only"


def staff_accounts(session: Session) -> int:
    """Create the demo staff accounts of :data:`STAFF_ACCOUNTS` (password :data:`DEMO_STAFF_PASSWORD`),
    each with an audit entry (``account.create``, ``cli:demo-data``); an account whose username or
    phone is already taken is left out. Returns how many were created."""
    from service.audit.log import Actor, record, snapshot
    from service.staff import accounts

    actor = Actor(None, "cli:demo-data", "cli")
    password_hash = None  # one Argon2id hash for all (one password): hashing costs ~0.1 s each
    created = 0
    for username, name, role, scope, phone, language in STAFF_ACCOUNTS:
        taken = session.scalar(select(accounts.StaffAccount.id).where(
            (accounts.StaffAccount.username == username) | (accounts.StaffAccount.phone == phone)))
        if taken is not None:
            continue
        if password_hash is None:
            password_hash = accounts.hash_password(DEMO_STAFF_PASSWORD)
        account = accounts.StaffAccount(username=username, name=name, role=role, phone=phone, language=language,
                                        password_hash=password_hash,
                                        scope_rows=accounts.scope_rows(session, role, scope))
        session.add(account)
        session.flush()
        record(session, actor, "account.create", "staff_account", account.id,
               after=snapshot(account, ("username", "name", "role", "phone", "language", "active", "scope_refs")))
        created += 1
    return created


def _responders(session: Session) -> None:
    """Advice responders: the catalogue's demo VAM agents (``service.orders.catalogue.AGENTS``, which
    supply whole districts) also serve every village of their districts, so they answer its
    questions too; and one demo extension officer per district (so ASK reaches someone in the
    demo region). An agent that already serves villages is left as it is."""
    for agent in vam_agent.vam_agents(session):
        if agent.village_ids or not agent.district_ids:
            continue
        village_ids = list(session.scalars(select(Village.id).where(Village.district_id.in_(agent.district_ids))))
        if village_ids:
            vam_agent.update_vam_agent(session, agent, village_ids=village_ids)
    for district, (name, phone, language) in EXTENSION_OFFICERS.items():
        vam_agent.add_extension(session, name=name, phone=phone, district_id=district, language=language)


def _yields(session: Session, seed: int, today: dt.date) -> None:
    """Insert the demo's yield reports (the module docstring): per crop, season and side (members
    linked to VAM, other members, non-members) the yields are drawn log-normal, then scaled so that
    the side's mean is exactly its target (kg/ha). Reported on 15 September of each season."""
    from service.sales.yields import YieldReport

    rng = random.Random(seed * 7919 + 11)
    seasons = (today.year - 2, today.year - 1)
    growers = session.execute(select(Farmer.id, Farmer.village_id, Farmer.land_m2, FarmerCrop.crop_id)
                              .join(FarmerCrop, FarmerCrop.farmer_id == Farmer.id)
                              .where(FarmerCrop.crop_id.in_(sorted(YIELD_CROPS)))
                              .order_by(Farmer.id, FarmerCrop.crop_id)).all()
    spells: dict[int, list] = {}
    for m in session.execute(select(Membership.farmer_id, Membership.joined_at, Membership.left_at).where(
            Membership.status.in_(("active", "left")), Membership.joined_at.is_not(None))):
        spells.setdefault(m.farmer_id, []).append((m.joined_at, m.left_at))
    linked = {v: bool(vam_agent.vam_agents_of(session, v)) for v in sorted({g.village_id for g in growers if g.village_id})}
    groups: dict[tuple, list] = {}
    for season in seasons:
        at = dt.datetime(season, 9, 15, 6, tzinfo=dt.timezone.utc)
        for g in growers:
            member = any(joined <= at and (left is None or left > at) for joined, left in spells.get(g.id, ()))
            if member and rng.random() >= YIELD_MEMBER_SHARE:
                continue
            vam = linked.get(g.village_id, False)
            side = "vam" if member and vam else "member" if member else "other"
            area = max(100, min(g.land_m2 or 5000, rng.randrange(10, 61) * 100))
            groups.setdefault((g.crop_id, season, side), []).append((g.id, area, member, vam, rng.lognormvariate(0, 0.2), at))
    rows = []
    for (crop, season, side), items in groups.items():
        base, gains = YIELD_CROPS[crop]
        gain = gains[seasons.index(season)]
        target = base * {"other": 1, "vam": 1 + gain / 100, "member": 1 + gain / 200}[side]
        scale = target * len(items) / sum(i[4] for i in items)
        for farmer_id, area, member, vam, raw, at in items:
            grams = max(1, _round(raw * scale * area / 10))  # kg/ha × m² ÷ 10,000 ha/m² × 1,000 g/kg
            rows.append({"farmer_id": farmer_id, "crop_id": crop, "year": season, "grams": grams, "area_m2": area,
                         "entered": f"{crop} {grams // 1000} {area / 10_000:.2f}ha", "is_member": member,
                         "linked_to_vam": vam, "reported_at": at})
    if rows:
        session.execute(insert(YieldReport), rows)


def _orders(session: Session, seed: int, today: dt.date) -> None:
    """Insert the demo's past order round of every PG (the module docstring): :data:`ORDER_SHARE`
    of the PG's members of the season (rounded half up; only those who were members on the
    ordering day can order) placed 1-3 lines of 1-4 packs of items for the PG's crop, delivered."""
    from service.orders.catalogue import InputItem, supplier_for
    from service.orders.rounds import InputOrder, OrderRound

    rng = random.Random(seed * 7919 + 23)
    season = today.year - 1
    at = dt.datetime(season, 10, 1, 4, tzinfo=dt.timezone.utc)  # 09:00 in Dushanbe
    start = dt.datetime(season, 1, 1, tzinfo=dt.timezone.utc) - dt.timedelta(hours=5)
    end = dt.datetime(season + 1, 1, 1, tzinfo=dt.timezone.utc) - dt.timedelta(hours=5)
    items = [i for i in session.scalars(select(InputItem).where(InputItem.active).order_by(InputItem.id))]
    members: dict[int, list] = {}
    for m in session.execute(select(Membership.pg_id, Membership.farmer_id, Membership.joined_at, Membership.left_at)
                             .where(Membership.status.in_(("active", "left")), Membership.joined_at.is_not(None),
                                    Membership.joined_at < end,
                                    Membership.left_at.is_(None) | (Membership.left_at >= start))
                             .order_by(Membership.pg_id, Membership.farmer_id)):
        members.setdefault(m.pg_id, []).append(m)
    lines = []
    for pg in session.scalars(select(ProducerGroup).order_by(ProducerGroup.code)):
        crop = (pg.cluster_id or "").split(".")[0]
        choice = [i for i in items if crop in (i.crop_ids or [])]
        season_members = members.get(pg.id, [])
        could = [m for m in season_members if m.joined_at <= at and (m.left_at is None or m.left_at > at)]
        buyers = rng.sample(could, min(len(could), _round(len(season_members) * ORDER_SHARE)))
        if not buyers or not choice:
            continue
        rnd = OrderRound(pg_id=pg.id, status="closed", opened_at=at, closes_on=(at + dt.timedelta(days=7)).date(),
                         closed_at=at + dt.timedelta(days=7, hours=14))
        session.add(rnd)
        session.flush()
        suppliers = {}
        for m in sorted(buyers, key=lambda b: b.farmer_id):
            for item in rng.sample(choice, min(len(choice), rng.randint(1, 3))):
                if item.id not in suppliers:
                    agent = supplier_for(session, item, pg.village_id)
                    suppliers[item.id] = agent.id if agent else None
                packs = rng.randint(1, 4)
                group = _round(item.retail_diram * (1 - ORDER_SAVING))
                when = at + dt.timedelta(hours=rng.uniform(0, 24 * 6))
                lines.append({"round_id": rnd.id, "farmer_id": m.farmer_id, "item_id": item.id,
                              "supplier_id": suppliers[item.id], "packs": packs,
                              "unit_retail_diram": item.retail_diram, "unit_group_diram": group,
                              "total_diram": group * packs, "saving_diram": (item.retail_diram - group) * packs,
                              "status": "delivered", "pickup_place": None, "pickup_on": None, "via": "sms",
                              "created_at": when, "updated_at": at + dt.timedelta(days=20)})
    if lines:
        session.execute(insert(InputOrder), lines)


def _villages(session: Session) -> dict[str, list[int]]:
    """Village ids per cluster (reference villages of the district first, then made-up ones), with a CBO each."""
    made_up = iter(MADE_UP_VILLAGES)
    result: dict[str, list[int]] = {}
    for cluster in CLUSTERS:
        district = cluster.split(".")[1]
        ids = list(session.scalars(select(Village.id).where(Village.district_id == district).order_by(Village.id)))
        jamoats = list(session.scalars(select(Jamoat.id).where(Jamoat.district_id == district).order_by(Jamoat.id)))
        rows = []
        for i in range(VILLAGES_PER_CLUSTER - len(ids)):
            tg, ru, latin = next(made_up)
            rows.append({"jamoat_id": jamoats[i % len(jamoats)], "district_id": district,
                         "names": {"tg": tg, "ru": ru, "uz": latin, "en": latin}})
        if rows:
            ids += session.scalars(insert(Village).returning(Village.id, sort_by_parameter_order=True), rows).all()
        result[cluster] = ids
    all_ids = [v for ids in result.values() for v in ids]
    names = dict(session.execute(select(Village.id, Village.names).where(Village.id.in_(all_ids))).all())
    session.execute(insert(CBO), [{"name": f"CBO {names[v]['en']}", "village_id": v} for v in all_ids])
    return result


def _sizes(rng: random.Random, total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` uneven whole shares (weights 0.6-1.4, largest remainder)."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    exact = [total * w / sum(weights) for w in weights]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(parts), key=lambda i: exact[i] - sizes[i], reverse=True)
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _producer_groups(session: Session, rng: random.Random, villages: dict[str, list[int]], farmers: int,
                     now: dt.datetime) -> list[_Pg]:
    """Insert the 81 PGs with their stage history; their member counts add up to ``farmers``."""
    n_pgs = sum(n for _, n in CLUSTERS.values())
    sizes = iter(_sizes(rng, farmers, n_pgs))
    stages = Quota(rng, STAGE_COUNTS)
    cbo_of = dict(session.execute(select(CBO.village_id, CBO.id)).all())
    names = dict(session.execute(select(Village.id, Village.names)).all())
    plans = []
    for cluster, (prefix, count) in CLUSTERS.items():
        ids = villages[cluster]
        for i in range(count):
            plans.append(_Pg(id=0, code=f"{prefix}{i + 1:02d}", cluster=cluster, crop=cluster.split(".")[0],
                             village_id=ids[i % len(ids)], size=next(sizes), stage=stages.draw(),
                             created=now - dt.timedelta(days=rng.uniform(500, 1100)),
                             nth_in_village=i // len(ids) + 1))
    rows = [{"code": pg.code, "village_id": pg.village_id, "cbo_id": cbo_of[pg.village_id],
             "name": names[pg.village_id]["tg"] + ("" if pg.nth_in_village == 1 else f" {pg.nth_in_village}"),
             "cluster_id": pg.cluster, "stage": pg.stage, "created_at": pg.created} for pg in plans]
    pg_ids = session.scalars(insert(ProducerGroup).returning(ProducerGroup.id, sort_by_parameter_order=True),
                             rows).all()
    assessments = []
    for pg, pg_id in zip(plans, pg_ids):
        pg.id = pg_id
        reached = STAGES.index(pg.stage)
        step = (now - pg.created) / (reached + 1)  # one assessment per stage, evenly spread until now
        assessments += [{"pg_id": pg_id, "stage": STAGES[k], "assessed_on": (pg.created + k * step).date()}
                        for k in range(reached + 1)]
    session.execute(insert(StageAssessment), assessments)
    return plans


def _name(rng: random.Random, gender: str, language: str, family: str | None = None) -> tuple[str, str]:
    """A made-up full name and its family stem (reuse the stem for a household)."""
    if language == "uz":
        first = rng.choice(UZ_FEMALE if gender == "female" else UZ_MALE)
        family = family or rng.choice(UZ_FAMILY)
        ending = ("yev" if family[-1] in "aeiou" else "ov") + ("a" if gender == "female" else "")
        return f"{first} {family}{ending}", family
    first = rng.choice(TG_FEMALE if gender == "female" else TG_MALE)
    family = family or rng.choice(TG_FAMILY)
    if rng.random() < 0.3:
        surname = family + "зода"
    else:
        surname = family + ("ев" if family[-1] in "аоуэиӣӯ" else "ов") + ("а" if gender == "female" else "")
    full = f"{first} {surname}"
    return (full.translate(TG_TO_RU) if language == "ru" else full), family


def _farmers(session: Session, rng: random.Random, pgs: list[_Pg], total: int, now: dt.datetime) -> None:
    """Stream ``total`` farmers with their crops and memberships into the database in chunks."""
    seats = sum(min(len(EC_ROLES), pg.size) for pg in pgs)
    vacant = _round(seats * EC_VACANT_SHARE)
    filled = seats - vacant
    ordinary = total - filled
    statuses = {s: _round(ordinary * share) for s, share in OTHER_STATUS_SHARES.items()}
    statuses["active"] = ordinary - sum(statuses.values())
    inactive = ordinary - statuses["active"]
    # 29% women overall; 16% of the seats unless the few ordinary members cannot make up the rest
    women = _round(total * WOMEN_SHARE)
    ec_women = min(filled, women, max(_round(filled * EC_WOMEN_SHARE), women - ordinary))
    ordinary_women = women - ec_women
    women_active = _round((filled + statuses["active"]) * WOMEN_SHARE) - ec_women  # 29% of active members
    women_active = min(statuses["active"], ordinary_women, max(ordinary_women - inactive, women_active))
    women_inactive = ordinary_women - women_active

    seat_q = Quota(rng, {True: filled, False: vacant})
    ec_gender_q = Quota(rng, {"female": ec_women, "male": filled - ec_women})
    status_q = Quota(rng, statuses)
    gender_q = {"active": Quota(rng, {"female": women_active, "male": statuses["active"] - women_active}),
                "other": Quota(rng, {"female": women_inactive, "male": inactive - women_inactive})}
    first_id = (session.scalar(select(func.max(Farmer.id))) or 0) + 1
    crops = [c.split(".")[0] for c in CLUSTERS]
    sigma = 0.6
    mu = math.log(MEAN_LAND_HA) - sigma * sigma / 2
    buffer = _Chunk()
    next_phone = 0
    fid = first_id
    for pg in pgs:
        age = now - pg.created
        weights = LANGUAGE_WEIGHTS.get(pg.cluster, LANGUAGE_WEIGHTS[None])
        prev = None  # the previous farmer of this PG: (farmer row, family stem)
        for j in range(pg.size):
            role = "member"
            if j < len(EC_ROLES) and seat_q.draw():
                role, status, gender = EC_ROLES[j], "active", ec_gender_q.draw()
            else:
                status = status_q.draw()
                gender = gender_q["active" if status == "active" else "other"].draw()
            shares_phone = (gender == "female" and role == "member" and prev is not None
                            and prev[0]["gender"] == "male" and prev[0]["is_main"]
                            and rng.random() < SHARED_PHONE_CHANCE)
            if shares_phone:
                phone, language = prev[0]["phone"], prev[0]["language"]
                name, family = _name(rng, gender, language, prev[1])
            else:
                phone, next_phone = phone_of(next_phone), next_phone + 1
                language = rng.choices(list(weights), list(weights.values()))[0]
                name, family = _name(rng, gender, language)
            # founders joined when the PG was set up; the others over its first 70%
            if role != "member":
                created = pg.created
            elif status == "pending":
                created = now - dt.timedelta(days=rng.uniform(1, 12))
            else:
                created = pg.created + age * 0.7 * rng.random()
            row = {"id": fid, "phone": phone, "name": name, "gender": gender, "language": language,
                   "land_ha": min(12.0, max(0.05, rng.lognormvariate(mu, sigma))),  # land_m2 at flush
                   "village_id": pg.village_id, "is_main": not shares_phone, "registered_via": "demo",
                   "created_at": created}
            buffer.farmers.append(row)
            buffer.crops.append({"farmer_id": fid, "crop_id": pg.crop})
            if rng.random() < SECOND_CROP_CHANCE:
                buffer.crops.append({"farmer_id": fid, "crop_id": rng.choice([c for c in crops if c != pg.crop])})
            if status != "none":
                buffer.memberships.append(_membership(rng, fid, pg, role, status, created, now))
            prev = (row, family)
            fid += 1
            if len(buffer.farmers) >= CHUNK:
                buffer.flush(session)
    buffer.flush(session)
    if session.get_bind().dialect.name == "postgresql":  # explicit ids: move the id sequence past them
        session.execute(text("SELECT setval(pg_get_serial_sequence('farmer', 'id'), max(id)) FROM farmer"))


def _membership(rng: random.Random, farmer_id: int, pg: _Pg, role: str, status: str, created: dt.datetime,
                now: dt.datetime) -> dict:
    requested = created + dt.timedelta(hours=rng.uniform(0, 48)) if role == "member" else created
    requested = min(requested, now)
    joined = left = None
    if status in ("active", "left"):
        joined = requested if role != "member" else min(now, requested + dt.timedelta(days=rng.uniform(0, 10)))
    if status == "left":
        left = joined + (now - joined) * rng.uniform(0.1, 0.9)
    return {"farmer_id": farmer_id, "pg_id": pg.id, "role": role, "status": status, "requested_at": requested,
            "joined_at": joined, "left_at": left, "approved_by": None}


class _Chunk:
    """Rows waiting for one bulk insert. Farmers carry a raw ``land_ha`` that :meth:`flush` scales so
    the chunk averages :data:`MEAN_LAND_HA` exactly, then stores as ``land_m2``."""

    def __init__(self):
        self.farmers: list[dict] = []
        self.crops: list[dict] = []
        self.memberships: list[dict] = []

    def flush(self, session: Session) -> None:
        if not self.farmers:
            return
        scale = MEAN_LAND_HA * len(self.farmers) / sum(r["land_ha"] for r in self.farmers)
        for r in self.farmers:
            r["land_m2"] = max(100, _round(r.pop("land_ha") * scale * 100) * 100)  # 0.01 ha steps
        session.execute(insert(Farmer), self.farmers)
        session.execute(insert(FarmerCrop), self.crops)
        if self.memberships:
            # render_nulls: rows with and without dates go in one batch
            session.execute(insert(Membership).execution_options(render_nulls=True), self.memberships)
        self.farmers, self.crops, self.memberships = [], [], []


def _prices(session: Session, rng: random.Random, today: dt.date, now: dt.datetime) -> None:
    """Insert :data:`PRICE_DAYS` days of prices ending ``today`` (diram per kg, 5-diram steps)."""
    rows = []
    centre_crops = dict(session.execute(select(CollectionCentre.market_id, CollectionCentre.crop_id)).all())
    for market in session.scalars(select(Market).order_by(Market.code)):
        centre_crop = centre_crops.get(market.id)
        for crop in ([centre_crop] if centre_crop else sorted(MONTHLY_TJS)):
            level = COLLECTION_CENTRE_FACTOR if centre_crop else rng.uniform(0.95, 1.06)
            walk = 0.0
            for back in range(PRICE_DAYS - 1, -1, -1):
                day = today - dt.timedelta(days=back)
                if not centre_crop and day.weekday() not in BAZAAR_DAYS:
                    continue
                walk = 0.6 * walk + rng.gauss(0, 0.03)
                tjs = _seasonal(crop, day) * level * (1 + walk)
                rows.append({"crop_id": crop, "market_id": market.id, "observed_on": day,
                             "price_diram": _round(tjs * 20) * 5, "source": "demo", "created_at": now})
    if rows:
        session.execute(insert(MarketPrice), rows)


def _seasonal(crop: str, day: dt.date) -> float:
    """The month's price, moving linearly towards the next month's (TJS/kg)."""
    months = MONTHLY_TJS[crop]
    this, following = months[day.month - 1], months[day.month % 12]
    return this + (following - this) * (day.day - 1) / 31


def summary(session: Session) -> dict:
    """Headline figures of the data in the database (as in ``docs/programme.md`` §4).

    Keys: ``pgs`` {cluster: count}, ``performing``, ``villages``, ``cbos``,
    ``farmers``, ``phones``, ``women``, ``avg_land_ha`` (float), ``active``,
    ``pending``, ``ec_filled``, ``ec_seats``, ``ec_women``, ``price_rows``,
    ``prices`` [(crop, market code, TJS float, date)] latest per crop.
    """
    count = lambda q: session.scalar(q) or 0  # noqa: E731
    pgs = dict(session.execute(select(ProducerGroup.cluster_id, func.count()).group_by(ProducerGroup.cluster_id)).all())
    active = select(func.count()).select_from(Membership).where(Membership.status == "active")
    ec = active.where(Membership.role.in_(EC_ROLES))
    prices = []
    for crop in sorted(MONTHLY_TJS):
        lines = latest_prices(session, crop)
        if lines:
            prices.append((crop, lines[0].market.code, lines[0].price_diram / 100, lines[0].observed_on))
    return {
        "pgs": pgs,
        "performing": count(select(func.count()).where(ProducerGroup.stage == "performing")),
        "villages": count(select(func.count(distinct(ProducerGroup.village_id)))),
        "cbos": count(select(func.count()).select_from(CBO)),
        "farmers": count(select(func.count()).select_from(Farmer)),
        "phones": count(select(func.count(distinct(Farmer.phone)))),
        "women": count(select(func.count()).where(Farmer.gender == "female")),
        "avg_land_ha": (session.scalar(select(func.avg(Farmer.land_m2))) or 0) / 10000,
        "active": count(active),
        "pending": count(select(func.count()).where(Membership.status == "pending")),
        "ec_seats": len(EC_ROLES) * sum(pgs.values()),
        "ec_filled": count(ec),
        "ec_women": count(ec.join(Farmer, Farmer.id == Membership.farmer_id).where(Farmer.gender == "female")),
        "price_rows": count(select(func.count()).select_from(MarketPrice)),
        "prices": prices,
    }


def _pct(part: int, whole: int) -> int:
    return _round(100 * part / whole) if whole else 0


def format_summary(s: dict) -> str:
    """The summary as a few English lines for the terminal."""
    clusters = ", ".join(f"{c} {n}" for c, n in sorted(s["pgs"].items()))
    prices = "; ".join(f"{crop} {tjs:.2f} TJS/kg at {code} ({day:%d %b})" for crop, code, tjs, day in s["prices"])
    return "\n".join([
        f"producer groups: {sum(s['pgs'].values())} ({clusters}); "
        f"performing {s['performing']} ({_pct(s['performing'], sum(s['pgs'].values()))}%)",
        f"villages with PGs: {s['villages']}; CBOs: {s['cbos']}",
        f"farmers: {s['farmers']:,} on {s['phones']:,} phones; women {_pct(s['women'], s['farmers'])}%; "
        f"average land {s['avg_land_ha']:.2f} ha",
        f"members: {s['active']:,} active, {s['pending']:,} pending; EC seats filled {s['ec_filled']} "
        f"of {s['ec_seats']}, women {_pct(s['ec_women'], s['ec_filled'])}%",
        f"market prices: {s['price_rows']} rows; latest {prices or 'none'}",
    ])


def quick_picks(session: Session) -> list[Pick]:
    """Phones worth trying in the simulator: an EC chair, a woman member, a Russian and an
    Uzbek speaker, a pending applicant, a shared phone, a farmer in no PG, a member of each
    commodity cluster (Vose' onion, Balkhi rice, Kulob and Jomi tomato), the first of
    an unknown phone, the first staff phone (``service.staff.commands.phones``: an active staff
    account's) and an advice responder.

    Each phone is offered once (the first kind that finds it). Labels describe the phone's
    main profile. Each pick costs a few ``LIMIT 1`` queries, cheap even with a million farmers.
    """
    open_m = (Membership.farmer_id == Farmer.id) & (Membership.status.in_(("pending", "active")))
    member = select(Farmer).join(Membership, open_m).where(Farmer.is_main).order_by(Membership.id).limit(1)
    active = member.where(Membership.status == "active")
    wanted = [
        ("chair", active.where(Membership.role == "chair")),
        ("woman member", active.where(Membership.role == "member", Farmer.gender == "female")),
        ("Russian", select(Farmer).where(Farmer.is_main, Farmer.language == "ru").order_by(Farmer.id).limit(1)),
        ("Uzbek", select(Farmer).where(Farmer.is_main, Farmer.language == "uz").order_by(Farmer.id).limit(1)),
        ("pending approval", member.where(Membership.status == "pending")),
        ("shared phone", select(Farmer).where(~Farmer.is_main).order_by(Farmer.id).limit(1)),
        ("in no PG", select(Farmer).where(Farmer.is_main, ~exists().where(open_m)).order_by(Farmer.id).limit(1)),
    ]
    for cluster in CLUSTERS:
        wanted.append((f"cluster.{cluster}", active.join(ProducerGroup, ProducerGroup.id == Membership.pg_id)
                       .where(ProducerGroup.cluster_id == cluster, Membership.role == "member")))
    picks, seen = [], set()
    for why, query in wanted:
        query = query.where(Farmer.erased_at.is_(None))  # an erased profile has no phone to offer
        found = session.scalar(query.where(Farmer.phone.not_in(seen)) if seen else query)
        if found is None:
            continue
        seen.add(found.phone)
        farmer = session.scalar(select(Farmer).where(Farmer.phone == found.phone, Farmer.is_main)) or found
        n_profiles = session.scalar(select(func.count()).where(Farmer.phone == found.phone, Farmer.erased_at.is_(None)))
        m = session.scalar(select(Membership).where(open_m, Membership.farmer_id == farmer.id))
        pg = session.get(ProducerGroup, m.pg_id).code if m else "no PG"
        more = f", {n_profiles} profiles" if n_profiles > 1 else ""
        picks.append(Pick(farmer.phone, why, f"{farmer.name} (#{farmer.id}, {pg}, {farmer.language}{more})"))
    if session.scalar(select(Farmer.id).where(Farmer.phone == NEW_PHONE).limit(1)) is None:
        seen.add(NEW_PHONE)
        picks.append(Pick(NEW_PHONE, "new"))
    from service.staff import commands as staff_commands

    for phone in [p for p in staff_commands.phones(session) if p not in seen][:1]:
        seen.add(phone)
        account = staff_commands.staff_for(session, phone)
        refs = ", ".join(account.scope_refs)
        picks.append(Pick(phone, "staff", f"{account.name} ({account.role}{': ' + refs if refs else ''})"))
    responder = session.scalar(select(vam_agent.Responder).where(vam_agent.Responder.phone.not_in(seen))
                               .order_by(vam_agent.Responder.role != "vam_agent", vam_agent.Responder.id).limit(1))
    if responder is not None:
        picks.append(Pick(responder.phone, "responder", f"{responder.name} ({responder.role}, {responder.language})"))
    return picks


def phone_owner(session: Session, phone: str) -> str:
    """Who holds ``phone`` (E.164) in the demo region: a responder's or a farmer's name, or ``""``."""
    responder = session.scalar(select(vam_agent.Responder).where(vam_agent.Responder.phone == phone).limit(1))
    if responder is not None:
        return f"{responder.name} ({responder.role})"
    farmer = session.scalar(select(Farmer).where(Farmer.phone == phone).order_by(Farmer.id).limit(1))
    return farmer.name if farmer is not None else ""
