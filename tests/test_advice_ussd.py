"""``POST /ussd`` for advice and joint sales: the tables of ``tests/cases/advice_ussd.py``."""
from __future__ import annotations

import pytest

from cases.advice_ussd import CASES
from test_ussd import _run_case


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_advice_hop(client, session, case, caplog):
    _run_case(client, session, case, caplog)
