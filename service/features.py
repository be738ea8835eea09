"""The composition root of the domain: which features this service runs, and the applications
built from what they contribute.

A feature is a package of ``service/`` named by a programme noun. It may hold ``ussd.py``
(``screen``: its :class:`~service.ussd.engine.Screens`; ``ENTRIES``: its menu lines) and
``sms.py`` (``COMMANDS``: its :class:`~service.sms.engine.Command` list). The channel engines
never import a feature: :func:`build_ussd` and :func:`build_sms` hand them what the features
contribute, once, when the app is made. Adding a main-menu item is therefore a
:class:`~service.ussd.engine.MenuEntry` in the feature's ``ussd.py`` and its text in
``templates_sms``; nothing here changes.
"""
from __future__ import annotations

import importlib

from sqlalchemy.orm import Session

from service.advice import sms as advice_sms
from service.advice import ussd as advice_ussd
from service.broadcasts import sms as broadcasts_sms
from service.farmers import models as farmers
from service.farmers import sms as farmers_sms
from service.farmers import ussd as farmers_ussd
from service.groups import cluster
from service.groups import sms as groups_sms
from service.groups import ussd as groups_ussd
from service.orders import catalogue
from service.orders import sms as orders_sms
from service.orders import ussd as orders_ussd
from service.prices import market
from service.prices import sms as prices_sms
from service.prices import ussd as prices_ussd
from service.reference import data
from service.reminders import campaign
from service.reminders import sms as reminders_sms
from service.reminders import ussd as reminders_ussd
from service.sales import joint_sale
from service.sales import sms as sales_sms
from service.sales import ussd as sales_ussd
from service.sms.engine import Keywords
from service.staff import commands as staff_commands
from service.ussd.engine import Directory, Ussd

#: the features' USSD modules (each with ``screen`` and ``ENTRIES``), in the order they are added
USSD_FEATURES = (farmers_ussd, groups_ussd, prices_ussd, orders_ussd, advice_ussd, sales_ussd, reminders_ussd)
#: the features' SMS modules (each with ``COMMANDS``)
SMS_FEATURES = (farmers_sms, groups_sms, prices_sms, orders_sms, advice_sms, sales_sms, reminders_sms,
                broadcasts_sms)

#: every module that declares models, so ``Base.metadata`` is complete (migrations, tests)
MODEL_MODULES = (
    "service.advice.demo_plot", "service.advice.library", "service.advice.questions", "service.advice.responders",
    "service.audit.log", "service.broadcasts.broadcast",
    "service.farmers.models", "service.groups.cluster", "service.groups.cluster_committee", "service.groups.committee", "service.groups.membership",
    "service.groups.producer_group", "service.heartbeat", "service.messaging.gateway_state", "service.messaging.language", "service.messaging.message",
    "service.messaging.optout", "service.orders.catalogue", "service.orders.rounds",
    "service.prices.alerts", "service.prices.market", "service.reference.crops",
    "service.reference.geography", "service.reminders.campaign", "service.reminders.crop_cycle",
    "service.sales.joint_sale", "service.sales.yields", "service.scheduler_lock", "service.staff.accounts",
    "service.ussd.session",
)


def import_models() -> None:
    """Import every module that declares models (:data:`MODEL_MODULES`)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def build_ussd() -> Ussd:
    """The USSD application with every feature's screens and menu entries. Raises ``ValueError``
    when two features claim one screen name or menu key."""
    app = Ussd(Directory(profiles=farmers.profiles, profile=lambda session, fid: session.get(farmers.Farmer, fid)))
    for module in USSD_FEATURES:
        app.add(module.screen, getattr(module, "ENTRIES", ()), getattr(module, "HEADS", None))
    return app


def build_sms() -> Keywords:
    """The SMS keyword table with every feature's commands. Raises ``ValueError`` when two
    features claim one command or a command has no words in ``keywords.toml``."""
    keywords = Keywords(profiles=farmers.profiles, staff_language=staff_commands.language_for)
    for module in SMS_FEATURES:
        keywords.add(module.COMMANDS)
    return keywords


def load_reference(session: Session) -> bool:
    """Load what every database must hold, each part only where missing: the reference data of
    the service area, the built-in campaigns, the demo input catalogue and its agents, the
    collection centres, today's market names. Returns True when the reference data itself was loaded (an empty database)."""
    loaded = data.load(session)
    if loaded:
        cluster.load(session)
        market.load(session)
    market.refresh_names(session)
    campaign.load_seed(session)
    catalogue.load(session)
    joint_sale.load(session)
    return loaded
